/**
 * The files a lab node needs: a shared authkeys file (mode 600) and one JSON
 * configuration per node (`vigil run --config FILE`), all in one temporary directory.
 *
 * Every node gets its API at {@link API_ADDRESS} on its own namespace's loopback and a
 * state directory `<dir>/state-<node>`; nodes have no address/port (no implicit link):
 * the test gives the links.
 *
 * @example
 * ```ts
 * const dir = makeLabDir();
 * const authkeys = writeAuthkeys(dir);
 * const file = writeNodeConfig(dir, nodeConfig({ dir, authkeys, node: "n1", nodes: ["n1", "n2"],
 *   keepalive: "100ms", deadtime: "500ms", links: [] }));
 * ```
 * @module
 */

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { API_ADDRESS } from "./node_process.ts";

/** What differs between the lab nodes' configurations. */
export interface LabNodeConfig {
  /** The temporary directory (state directories go below it). */
  dir: string;
  /** Path of the authkeys file. */
  authkeys: string;
  /** This node. */
  node: string;
  /** All nodes. */
  nodes: readonly string[];
  /** Heartbeat interval ("100ms"). */
  keepalive: string;
  /** Silence before a node is lost ("500ms"). */
  deadtime: string;
  /** The links (the daemon's `links` array). */
  links: readonly Record<string, unknown>[];
  /** Anything else of the configuration (quorum, resources, options). */
  extra?: Record<string, unknown>;
}

/** Creates the lab's temporary directory. */
export function makeLabDir(): string {
  return mkdtempSync(join(tmpdir(), "vigil-netns-"));
}

/** Removes the lab's temporary directory; never throws. */
export function removeLabDir(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch (e) {
    console.error(`cannot remove ${dir}: ${e}`);
  }
}

/** Writes `<dir>/authkeys` (mode 600, one sha256 key). */
export function writeAuthkeys(dir: string): string {
  const file = join(dir, "authkeys");
  writeFileSync(file, "auth 1\n1 sha256 vigil-netns-lab-secret\n", { mode: 0o600 });
  return file;
}

/** The configuration document of one node. */
export function nodeConfig(c: LabNodeConfig): Record<string, unknown> {
  return {
    node: c.node,
    nodes: c.nodes.map((name) => ({ name, ...(name === c.node ? { api: API_ADDRESS } : {}) })),
    authkeys: c.authkeys,
    stateDir: join(c.dir, `state-${c.node}`),
    keepalive: c.keepalive,
    deadtime: c.deadtime,
    links: c.links,
    ...c.extra,
  };
}

/** Writes `<dir>/<node>.json` and returns its path. */
export function writeNodeConfig(dir: string, config: Record<string, unknown>): string {
  const node = config.node;
  if (typeof node !== "string") throw new Error("writeNodeConfig: config.node is not a string");
  const file = join(dir, `${node}.json`);
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}
