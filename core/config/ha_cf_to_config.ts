/**
 * Heartbeat's ha.cf as Vigil's node configuration: maps a parsed {@link HaCf}
 * to a {@link NodeConfigFile}, validated by the same schema as the JSON file,
 * so `vigil run` sees exactly what the JSON path would give it.
 *
 * What ha.cf does not say comes from the options: which node this is (default:
 * the host name, lowercased, as Heartbeat uses `uname -n`), the authkeys path
 * (default: `authkeys` next to ha.cf), the state directory and the API address.
 * Resolving an interface's address is I/O, so it is injected too.
 *
 * How the media map:
 * - `bcast dev…`: one bcast link per interface, on udpport.
 * - `ucast dev peer`: one ucast link per interface, bound to the interface's
 *   address on udpport, with every peer named for it. A line pointing at this
 *   node is skipped, as Heartbeat does, so one file serves every node.
 * - `mcast dev group port ttl loop`: an mcast link with its own port.
 * - `serial dev…`: one serial link per device at the `baud` in effect.
 *
 * @example
 * ```ts
 * const imported = loadHaCf("/etc/ha.d/ha.cf", { node: "node1" });
 * imported.config.links; // [{ type: "bcast", name: "bcast:eth1", interface: "eth1", port: 694 }]
 * imported.warnings; // ["/etc/ha.d/ha.cf:3: debugfile: ignored (no effect in Vigil): ..."]
 * ```
 * @module
 */

import { readFileSync } from "node:fs";
import { hostname as osHostname, networkInterfaces } from "node:os";
import { dirname, join } from "node:path";
import { formatIssues } from "../cib/cib.ts";
import { type AutoFailback, type HaCf, type HaCfMedium, parseHaCf } from "./ha_cf.ts";
import {
  ConfigError,
  DEFAULT_API,
  type LinkConfig,
  type NodeConfigFile,
  nodeConfigFileSchema,
} from "./node_config.ts";

/** Longest single ping wait taken from deadping. */
const PING_TIMEOUT_CAP_MS = 2000;

/** Where a node keeps its state when the options name no directory. */
export const DEFAULT_STATE_DIR = "/var/lib/vigil";

/** Vigil's limits that Heartbeat does not have. */
const MAX_LINKS = 8;
const MAX_QUORUM_DEVICES = 8;

const LINK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$/;

/** What ha.cf does not say: this node, file locations, and how to look at interfaces. */
export interface HaCfImportOptions {
  /** This node's name (default: `hostname()` lowercased); must be in a `node` line. */
  node?: string;
  /** The machine's host name (Heartbeat's `uname -n`). */
  hostname: () => string;
  /** Path of the authkeys file (default: `authkeys` in ha.cf's directory). */
  authkeys?: string;
  /** State directory (default {@link DEFAULT_STATE_DIR}). */
  stateDir?: string;
  /** HOST:PORT of this node's HTTP API (default {@link DEFAULT_API}). */
  api?: string;
  /** IPv4 address of a network interface on this machine, or undefined when it has none. */
  interfaceAddress: (device: string) => string | undefined;
}

/** An imported ha.cf. */
export interface HaCfImport {
  /** The node configuration, as `parseNodeConfig` would return it for the same JSON. */
  config: NodeConfigFile;
  /** `file:line: ...` for everything read but not carried over, and other cautions. */
  warnings: string[];
  /** True when crm/pacemaker is off: resources are to be imported from haresources. */
  haresources: boolean;
  /** Heartbeat's auto_failback, for the haresources import (the preferred node). */
  autoFailback: AutoFailback;
}

/**
 * Maps a parsed ha.cf to a node configuration. Throws a {@link ConfigError}
 * naming the file (and line) when this node or a ucast interface cannot be
 * resolved, or when the result breaks a Vigil limit.
 */
export function haCfToNodeConfig(cf: HaCf, opts: HaCfImportOptions): HaCfImport {
  const file = cf.file;
  const warnings = [...cf.warnings];
  const node = (opts.node ?? opts.hostname()).toLowerCase();
  const names = cf.nodes.map((n) => n.value);
  if (!names.includes(node)) {
    throw new ConfigError(
      `${file}: this node "${node}" is not in a node line (${names.join(", ")}); ` +
        `Heartbeat names nodes by \`uname -n\`, or give the node name explicitly`,
    );
  }
  const api = opts.api ?? DEFAULT_API;
  const links = mapMedia(cf, node, opts, warnings);
  // One ping waits at most this long; deadping (when a ping node counts as
  // lost) is longer, and the device is read again every interval anyway.
  const timeoutMs = Math.max(10, Math.min(cf.timing.deadpingMs, PING_TIMEOUT_CAP_MS));
  const devices = [
    ...cf.pings.map((p) => ({ plugin: "ping", params: { hosts: [...p.value], timeoutMs } })),
    ...cf.pingGroups.map((g) => ({
      plugin: "ping",
      params: { hosts: [...g.value.hosts], group: true, timeoutMs },
    })),
  ];
  if (devices.length > MAX_QUORUM_DEVICES) {
    const extra = [...cf.pings, ...cf.pingGroups].sort((a, b) => a.line - b.line)[
      MAX_QUORUM_DEVICES
    ];
    throw new ConfigError(
      `${file}:${extra.line}: too many ping and ping_group lines ` +
        `(Vigil takes at most ${MAX_QUORUM_DEVICES} quorum devices; list several hosts per line)`,
    );
  }
  // Heartbeat's stickiness lives in auto_failback only when it manages resources itself
  // (haresources); with crm on, the resources and their stickiness come from the CIB.
  let options: Record<string, unknown> = {};
  if (cf.haresources) {
    options = { stickiness: cf.autoFailback === "off" ? "INFINITY" : 0 };
  } else if (cf.autoFailbackLine !== undefined) {
    warnings.push(
      `${file}:${cf.autoFailbackLine}: auto_failback: ignored (no effect in Vigil): with crm ` +
        `on, as in Heartbeat, resource stickiness comes from the cluster configuration`,
    );
  }
  const twoNode = names.length === 2;
  const t = cf.timing;
  const raw = {
    node,
    nodes: names.map((name) => (name === node ? { name, api } : { name })),
    authkeys: opts.authkeys ?? join(dirname(file), "authkeys"),
    stateDir: opts.stateDir ?? DEFAULT_STATE_DIR,
    keepalive: `${t.keepaliveMs}ms`,
    deadtime: `${t.deadtimeMs}ms`,
    warntime: `${t.warntimeMs}ms`,
    initdead: `${t.initdeadMs}ms`,
    links,
    // Two Heartbeat nodes keep running alone (its "twonodes" tie-breaker); a booting
    // node does not wait for its peer beyond initdead.
    quorum: twoNode ? { twoNode, waitForAll: false, devices } : { twoNode, devices },
    ...(cf.logFile && cf.logFile.value !== "/dev/null" ? { logFile: cf.logFile.value } : {}),
    options,
  };
  const parsed = nodeConfigFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = formatIssues(parsed.error).split("\n").map((l) => `  ${l}`).join("\n");
    throw new ConfigError(`${file}: the configuration made from it is invalid:\n${issues}`);
  }
  return {
    config: parsed.data,
    warnings,
    haresources: cf.haresources,
    autoFailback: cf.autoFailback,
  };
}

/** Parses ha.cf text and maps it (see {@link parseHaCf} and {@link haCfToNodeConfig}). */
export function importHaCf(text: string, file: string, opts: HaCfImportOptions): HaCfImport {
  return haCfToNodeConfig(parseHaCf(text, file), opts);
}

/**
 * Reads an ha.cf file and maps it. The host name and interface addresses
 * default to this machine's (`os.hostname()`, `os.networkInterfaces()`).
 * Errors name the file.
 */
export function loadHaCf(file: string, opts: Partial<HaCfImportOptions> = {}): HaCfImport {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError(`${file}: cannot read: ${(e as Error).message}`);
  }
  return importHaCf(text, file, {
    ...opts,
    hostname: opts.hostname ?? osHostname,
    interfaceAddress: opts.interfaceAddress ?? systemInterfaceAddress,
  });
}

/** The first IPv4 address of a network interface of this machine, or undefined. */
export function systemInterfaceAddress(device: string): string | undefined {
  const addresses = networkInterfaces()[device] ?? [];
  return addresses.find((a) => a.family === "IPv4")?.address;
}

function mapMedia(
  cf: HaCf,
  node: string,
  opts: HaCfImportOptions,
  warnings: string[],
): LinkConfig[] {
  const file = cf.file;
  const address = new Map<string, string | undefined>();
  const addressOf = (device: string) => {
    if (!address.has(device)) address.set(device, opts.interfaceAddress(device));
    return address.get(device);
  };
  // "This machine" for ucast: any address of an interface the file names, or our own names.
  const self = new Set<string>([node, opts.hostname().toLowerCase()]);
  for (const m of cf.media) {
    if (m.type !== "serial") {
      const a = addressOf(m.device);
      if (a !== undefined) self.add(a);
    }
  }

  // Links in the order of their first line; ucast lines of one interface form one link.
  const drafts: { link: LinkConfig; line: number; device?: string }[] = [];
  const ucastPeers = new Map<string, string[]>();
  for (const m of cf.media) {
    if (m.type !== "ucast") {
      drafts.push({ link: linkOf(m), line: m.line });
      continue;
    }
    let peers = ucastPeers.get(m.device);
    if (peers === undefined) {
      const bind = addressOf(m.device);
      if (bind === undefined) {
        throw new ConfigError(
          `${file}:${m.line}: ucast: interface "${m.device}" has no IPv4 address on this ` +
            `machine (the ucast link listens on it)`,
        );
      }
      peers = [];
      ucastPeers.set(m.device, peers);
      const link: LinkConfig = {
        type: "ucast",
        ...named("ucast", m.device),
        bind: `${bind}:${m.port}`,
        peers,
      };
      drafts.push({ link, line: m.line, device: m.device });
    }
    if (self.has(m.peer.toLowerCase())) continue; // This node's own line: Heartbeat skips it.
    peers.push(`${m.peer}:${m.port}`);
  }
  const links: LinkConfig[] = [];
  const usedNames = new Set<string>();
  for (const { link, line, device } of drafts) {
    if (link.type === "ucast" && link.peers.length === 0) {
      warnings.push(
        `${file}:${line}: ucast ${device}: every line for this interface points at this node, ` +
          `so it has no peer; no link is made for it`,
      );
      continue;
    }
    if (links.length === MAX_LINKS) {
      throw new ConfigError(
        `${file}:${line}: too many links (Vigil opens at most ${MAX_LINKS}; ` +
          `the ucast lines of one interface count as one)`,
      );
    }
    if (link.name !== undefined) link.name = uniqueName(link.name, usedNames);
    links.push(link);
  }
  if (links.length === 0) {
    throw new ConfigError(
      `${file}: No heartbeat media defined for this node (every ucast line points at it)`,
    );
  }
  return links;
}

function linkOf(m: Exclude<HaCfMedium, { type: "ucast" }>): LinkConfig {
  switch (m.type) {
    case "bcast":
      return { type: "bcast", ...named("bcast", m.device), interface: m.device, port: m.port };
    case "mcast":
      return {
        type: "mcast",
        ...named("mcast", `${m.device}:${m.group}`),
        interface: m.device,
        group: m.group,
        port: m.port,
        ttl: m.ttl,
        loop: m.loop,
      };
    case "serial":
      return { type: "serial", ...named("serial", m.device), device: m.device, baud: m.baud };
  }
}

/** `{ name: "type:device" }` when that is a valid link name; else {} (Vigil names it). */
function named(type: string, device: string): { name?: string } {
  const name = `${type}:${device}`;
  return LINK_NAME.test(name) ? { name } : {};
}

function uniqueName(name: string, used: Set<string>): string {
  let candidate = name;
  for (let i = 2; used.has(candidate) && i < 100; i++) candidate = `${name}-${i}`;
  used.add(candidate);
  return candidate;
}
