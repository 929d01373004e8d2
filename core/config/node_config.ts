/**
 * The node configuration file (`vigil run --config FILE`): JSON describing this
 * node, its peers, timing, and the initial cluster configuration: either the
 * simple `resources` / `options` syntax, or `cib`, a Vigil JSON or Pacemaker XML
 * CIB file (relative to the configuration file).
 *
 * Validated with zod at the edge; errors name the file and the exact field.
 *
 * @example
 * ```json
 * {
 *   "node": "n1",
 *   "nodes": [{ "name": "n1", "address": "127.0.0.1", "port": 7401, "api": "127.0.0.1:7501" }],
 *   "authkeys": "/etc/vigil/authkeys",
 *   "stateDir": "/var/lib/vigil",
 *   "keepalive": "100ms",
 *   "deadtime": "500ms",
 *   "resources": [{ "id": "web", "agent": "HttpService", "params": { "port": 8080 } }]
 * }
 * ```
 * @module
 */

import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { z } from "zod";
import { formatIssues } from "../cib/cib.ts";
import { readCibSource } from "../cib/cib_source.ts";
import { type CibDocument, cibDocumentSchema } from "../cib/schema/document.ts";
import { parseDuration } from "../duration.ts";

const duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === undefined) {
    ctx.addIssue({
      code: "custom",
      message: `not a duration: ${JSON.stringify(value)} (use "2", "200ms", "1.5s")`,
    });
    return z.NEVER;
  }
  return ms;
});

const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, "expected HOST:PORT");

/** API address used when a node's entry names none. */
export const DEFAULT_API = "127.0.0.1:7501";

const port = z.number().int().min(1).max(65535);
const linkName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$/).optional();

/** Serial line speeds a link may use (Heartbeat's `baud`). */
export const SERIAL_BAUD_RATES = [9600, 19200, 38400, 57600, 115200, 230400, 460800] as const;

/**
 * Schema of one link: a medium heartbeats and cluster messages travel over.
 * Every frame goes out on every link; a peer is dead only when it is silent on
 * all of them for deadtime.
 */
export const linkSchema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("ucast"),
    name: linkName,
    /** ADDR:PORT this node listens on. */
    bind: hostPort,
    /** ADDR:PORT of every peer (an entry equal to `bind` is ignored, as Heartbeat does). */
    peers: z.array(hostPort).min(1).max(256),
  }),
  z.strictObject({
    type: z.literal("bcast"),
    name: linkName,
    /** Interface name (eth0) or its IPv4 address. */
    interface: z.string().min(1),
    port: port.default(694),
  }),
  z.strictObject({
    type: z.literal("mcast"),
    name: linkName,
    interface: z.string().min(1),
    group: z.string().regex(
      /^(22[4-9]|23[0-9])\.\d{1,3}\.\d{1,3}\.\d{1,3}$/,
      "expected an IPv4 multicast group (224.0.0.0 to 239.255.255.255)",
    ),
    port: port.default(694),
    ttl: z.number().int().min(0).max(255).default(1),
    loop: z.boolean().default(false),
  }),
  z.strictObject({
    type: z.literal("serial"),
    name: linkName,
    /** The tty device, e.g. /dev/ttyS0. */
    device: z.string().min(1),
    baud: z.number().int().refine(
      (b) => (SERIAL_BAUD_RATES as readonly number[]).includes(b),
      `expected one of ${SERIAL_BAUD_RATES.join(", ")}`,
    ).default(19200),
  }),
]);

/** A link as written in the configuration. */
export type LinkConfig = z.output<typeof linkSchema>;

/** A link with its name resolved (what the daemon opens). */
export type ResolvedLink = LinkConfig & { name: string };

/** Schema of one configured node. */
export const nodeEntrySchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/),
  /** Address of the node on the implicit unicast link (shorthand for a `ucast` link). */
  address: z.string().min(1).optional(),
  /** UDP port of the node on the implicit unicast link. */
  port: port.optional(),
  /** HOST:PORT of the node's HTTP API. */
  api: hostPort.optional(),
  priority: z.number().int().default(0),
  votes: z.number().int().min(0).default(1),
});

/** Schema of the quorum settings (corosync's votequorum options and quorum devices). */
export const quorumConfigSchema = z.strictObject({
  /** Two-node cluster: one node alone is quorate (implies waitForAll unless set false). */
  twoNode: z.boolean().default(false),
  /** Not quorate after boot until all nodes were seen together once. */
  waitForAll: z.boolean().optional(),
  /** Overrides the sum of configured votes. */
  expectedVotes: z.number().int().min(1).optional(),
  /** Quorum devices: a built-in name ("ping", "qdisk") or a plugin file path. */
  devices: z.array(z.strictObject({
    plugin: z.string().min(1),
    params: z.record(z.string(), z.unknown()).default({}),
  })).max(8).default([]),
});

/** Schema of Heartbeat 3.0.6 compatibility (a Vigil node seen as a Heartbeat node). */
export const heartbeatCompatSchema = z.strictObject({
  /** Names of the Heartbeat nodes to watch. */
  nodes: z.array(z.string().min(1).max(64)).min(1).max(64),
  /** Heartbeat's udpport. */
  port: port.default(694),
  /** Address to bind (default: all). */
  bind: z.string().min(1).optional(),
  /** Broadcast addresses or interface names to send our status to. */
  broadcast: z.array(z.string().min(1)).max(16).default([]),
  /** Unicast addresses to send our status to. */
  unicast: z.array(z.string().min(1)).max(64).default([]),
});

/** Schema of the `fencing` section: a fence driver and its device parameters. */
export const fencingConfigSchema = z.strictObject({
  /** `test-fence` or a fence-driver plugin's name. */
  driver: z.string().min(1).max(128),
  /** The device's parameters (the driver's schema checks them). */
  params: z.record(z.string(), z.unknown()).default({}),
  /** Timeout of one fence call (default: the driver's). */
  timeout: duration.optional(),
});

/** The `fencing` section, defaults applied. */
export type FencingConfig = z.output<typeof fencingConfigSchema>;

/** Schema of the node configuration file. */
export const nodeConfigFileSchema = z.strictObject({
  node: z.string().min(1),
  nodes: z.array(nodeEntrySchema).min(1),
  authkeys: z.string().min(1),
  stateDir: z.string().min(1),
  keepalive: duration.default(1000),
  deadtime: duration.default(5000),
  warntime: duration.optional(),
  initdead: duration.optional(),
  /** Media; when absent, nodes' address and port form one unicast link. */
  links: z.array(linkSchema).max(8).default([]),
  quorum: quorumConfigSchema.default({ twoNode: false, devices: [] }),
  heartbeatCompat: heartbeatCompatSchema.optional(),
  /** Also append log lines to this file (Heartbeat's logfile). */
  logFile: z.string().min(1).optional(),
  /**
   * Directory of third-party plugins (resource agents, fence drivers, quorum devices),
   * relative to this file; default: $VIGIL_PLUGIN_DIR, /etc/vigil/plugins, and a
   * `plugins` directory next to the vigil binary.
   */
  pluginDir: z.string().min(1).optional(),
  resources: z.array(z.strictObject({
    id: z.string(),
    agent: z.string(),
    params: z.record(z.string(), z.unknown()).default({}),
    monitor: duration.default(0),
    location: z.record(z.string(), z.union([z.number(), z.string()])).default({}),
    stickiness: z.union([z.number(), z.string()]).optional(),
  })).default([]),
  options: z.strictObject({
    stickiness: z.union([z.number(), z.string()]).optional(),
    noQuorumPolicy: z.enum(["stop", "freeze", "ignore"]).optional(),
    migrationThreshold: z.number().int().min(0).optional(),
    /** Fence nodes before recovering their resources (default: true when `fencing` is set). */
    stonithEnabled: z.boolean().optional(),
  }).default({}),
  /**
   * The fence device the DC fences nodes with: `driver` is `test-fence` (built in) or the
   * name of a fence-driver plugin; `params` are checked against the driver's schema.
   */
  fencing: fencingConfigSchema.optional(),
  /**
   * The initial CIB as a file instead of `resources` and `options`: a Vigil JSON
   * document or a Pacemaker CIB XML, relative to this file. Used only while the
   * node has no CIB of its own on disk.
   */
  cib: z.string().min(1).optional(),
}).superRefine((cfg, ctx) => {
  if (cfg.cib !== undefined && (cfg.resources.length > 0 || Object.keys(cfg.options).length > 0)) {
    ctx.addIssue({
      code: "custom",
      path: ["cib"],
      message: "give either cib (a CIB file) or resources/options, not both",
    });
  }
  const names = cfg.nodes.map((n) => n.name);
  if (!names.includes(cfg.node)) {
    ctx.addIssue({
      code: "custom",
      path: ["node"],
      message: `"${cfg.node}" is not one of nodes[].name (${names.join(", ")})`,
    });
  }
  names.forEach((n, i) => {
    if (names.indexOf(n) !== i) {
      ctx.addIssue({ code: "custom", path: ["nodes", i, "name"], message: `duplicate node ${n}` });
    }
  });
  const self = cfg.nodes.find((n) => n.name === cfg.node);
  cfg.nodes.forEach((n, i) => {
    if ((n.address === undefined) !== (n.port === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: ["nodes", i, n.address === undefined ? "address" : "port"],
        message: "address and port go together (they form the implicit unicast link)",
      });
    }
  });
  // A node may talk only Heartbeat (heartbeatCompat): that is a medium too.
  if (self && cfg.links.length === 0 && self.address === undefined && !cfg.heartbeatCompat) {
    ctx.addIssue({
      code: "custom",
      path: ["links"],
      message: `no link: give links[], or an address and port to node ${cfg.node}`,
    });
  }
  const linkNames = resolveLinkNames(cfg.links, self?.address !== undefined);
  linkNames.forEach((n, i) => {
    if (linkNames.indexOf(n) !== i) {
      ctx.addIssue({ code: "custom", path: ["links", i, "name"], message: `duplicate link ${n}` });
    }
  });
  if (cfg.deadtime <= cfg.keepalive) {
    ctx.addIssue({
      code: "custom",
      path: ["deadtime"],
      message: `deadtime (${cfg.deadtime} ms) must exceed keepalive (${cfg.keepalive} ms)`,
    });
  }
});

/** A validated node configuration. */
export type NodeConfigFile = z.output<typeof nodeConfigFileSchema>;

function resolveLinkNames(links: readonly LinkConfig[], implicit: boolean): string[] {
  const names = links.map((l, i) => l.name ?? `${l.type}${i}`);
  return implicit ? ["udp", ...names] : names;
}

/**
 * The links this node opens: the configured ones plus, when the nodes have
 * addresses, the implicit unicast link "udp" between them.
 */
export function resolveLinks(cfg: NodeConfigFile): ResolvedLink[] {
  const self = cfg.nodes.find((n) => n.name === cfg.node)!;
  const out: ResolvedLink[] = [];
  const peers = cfg.nodes.filter((n) => n.name !== cfg.node && n.address !== undefined);
  // A one-node cluster has nobody to talk to on the implicit link.
  if (self.address !== undefined && self.port !== undefined && peers.length > 0) {
    out.push({
      type: "ucast",
      name: "udp",
      bind: `${self.address}:${self.port}`,
      peers: peers.map((n) => `${n.address}:${n.port}`),
    });
  }
  const names = resolveLinkNames(cfg.links, false);
  cfg.links.forEach((l, i) => out.push({ ...l, name: names[i] }));
  return out;
}

/** A configuration file that could not be read or validated. */
export class ConfigError extends Error {}

/** Parses configuration text; `file` names the source in errors. */
export function parseNodeConfig(text: string, file: string): NodeConfigFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  const parsed = nodeConfigFileSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(`${file}: invalid configuration:\n${indent(formatIssues(parsed.error))}`);
  }
  return parsed.data;
}

/** Reads and validates a configuration file. */
export function loadNodeConfig(file: string): NodeConfigFile {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError(`${file}: cannot read: ${(e as Error).message}`);
  }
  return parseNodeConfig(text, file);
}

/**
 * The CIB a node starts with when it has none on disk (epoch 1, empty status):
 * the `cib` file when one is given, else built from `resources` and `options`.
 * Each resource becomes a primitive with a `monitor` operation at its interval
 * (when one is given), a location constraint `${resource}-on-${node}` per
 * location score, and meta stickiness; nodes carry priority and votes.
 *
 * @param file the configuration file's path: names it in errors and anchors `cib`
 * @param warn told about every part of a Pacemaker CIB that was not imported
 */
export function initialCib(
  cfg: NodeConfigFile,
  file = "configuration",
  warn: (line: string) => void = () => {},
): CibDocument {
  if (cfg.cib !== undefined) return cibFromFile(cfg, file, warn);
  const locations = cfg.resources.flatMap((r) =>
    Object.entries(r.location).map(([node, score]) => ({
      id: `${r.id}-on-${node}`,
      resource: r.id,
      node,
      score,
    }))
  );
  const parsed = cibDocumentSchema.safeParse({
    version: { adminEpoch: 0, epoch: 1, numUpdates: 0 },
    config: {
      options: {
        ...(cfg.options.stickiness !== undefined ? { stickiness: cfg.options.stickiness } : {}),
        ...(cfg.options.noQuorumPolicy !== undefined
          ? { noQuorumPolicy: cfg.options.noQuorumPolicy }
          : {}),
        ...(cfg.options.migrationThreshold !== undefined
          ? { migrationThreshold: cfg.options.migrationThreshold }
          : {}),
        // Fencing is on when a fence device is configured, unless turned off.
        stonithEnabled: cfg.options.stonithEnabled ?? cfg.fencing !== undefined,
      },
      nodes: cfg.nodes.map((n) => ({ name: n.name, priority: n.priority, votes: n.votes })),
      resources: cfg.resources.map((r) => ({
        kind: "primitive",
        id: r.id,
        agent: r.agent,
        params: r.params,
        ...(r.stickiness !== undefined ? { meta: { stickiness: r.stickiness } } : {}),
        operations: r.monitor > 0 ? [{ name: "monitor", intervalMs: r.monitor }] : [],
      })),
      constraints: { locations },
    },
    status: { nodes: {} },
  });
  if (!parsed.success) {
    // Paths are relative to the CIB; map the common ones back to the file's names.
    const text = formatIssues(parsed.error)
      .replaceAll("config.resources", "resources")
      .replaceAll("config.options", "options")
      .replaceAll("config.nodes", "nodes");
    throw new ConfigError(`${file}: invalid configuration:\n${indent(text)}`);
  }
  return parsed.data;
}

/** The initial CIB from the `cib` file; its nodes must be the configured nodes. */
function cibFromFile(
  cfg: NodeConfigFile,
  file: string,
  warn: (line: string) => void,
): CibDocument {
  const path = resolve(dirname(file), cfg.cib!);
  let doc: CibDocument;
  try {
    const source = readCibSource(path);
    for (const u of source.unsupported) warn(`${path}: not imported: ${u.path}: ${u.what}`);
    doc = source.cib;
  } catch (e) {
    throw new ConfigError(`${file}: cib: ${(e as Error).message}`);
  }
  const names = cfg.nodes.map((n) => n.name);
  if (doc.config.nodes.length === 0) {
    // A CIB without a node list runs on the configured nodes.
    return {
      ...doc,
      config: {
        ...doc.config,
        nodes: cfg.nodes.map((n) => ({
          name: n.name,
          priority: n.priority,
          votes: n.votes,
          standby: false,
          maintenance: false,
          attributes: {},
        })),
      },
    };
  }
  const inCib = doc.config.nodes.map((n) => n.name);
  const differ = names.some((n) => !inCib.includes(n)) || inCib.some((n) => !names.includes(n));
  if (differ) {
    throw new ConfigError(
      `${file}: cib: ${path} names nodes ${inCib.join(", ")}, but nodes[] are ${
        names.join(", ")
      } (they must be the same)`,
    );
  }
  return doc;
}

function indent(text: string): string {
  return text.split("\n").map((l) => `  ${l}`).join("\n");
}
