/**
 * The node configuration file (`vigil run --config FILE`): JSON describing this
 * node, its peers, timing, and the initial cluster configuration.
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
import { z } from "zod";
import { type Cib, cibSchema, formatIssues } from "../cib/cib.ts";
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

/** Schema of one configured node. */
export const nodeEntrySchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/),
  /** Address the node's heartbeats are sent to (UDP unicast). */
  address: z.string().min(1),
  /** UDP port of the node. */
  port: z.number().int().min(1).max(65535),
  /** HOST:PORT of the node's HTTP API. */
  api: hostPort,
  priority: z.number().int().default(0),
  votes: z.number().int().min(0).default(1),
});

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
  }).default({}),
}).superRefine((cfg, ctx) => {
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

/** The CIB a node starts with when it has none on disk (epoch 1, empty status). */
export function initialCib(cfg: NodeConfigFile, file = "configuration"): Cib {
  const parsed = cibSchema.safeParse({
    version: { adminEpoch: 0, epoch: 1, numUpdates: 0 },
    config: {
      options: {
        stickiness: cfg.options.stickiness ?? 100,
        noQuorumPolicy: cfg.options.noQuorumPolicy ?? "stop",
        migrationThreshold: cfg.options.migrationThreshold ?? 3,
      },
      nodes: cfg.nodes.map((n) => ({ name: n.name, priority: n.priority, votes: n.votes })),
      resources: cfg.resources.map((r) => ({
        id: r.id,
        agent: r.agent,
        params: r.params,
        monitorMs: r.monitor,
        location: r.location,
        ...(r.stickiness !== undefined ? { stickiness: r.stickiness } : {}),
      })),
    },
    status: {},
  });
  if (!parsed.success) {
    // Paths are relative to the CIB; map the common ones back to the file's names.
    const text = formatIssues(parsed.error).replaceAll("config.resources", "resources");
    throw new ConfigError(`${file}: invalid configuration:\n${indent(text)}`);
  }
  return parsed.data;
}

function indent(text: string): string {
  return text.split("\n").map((l) => `  ${l}`).join("\n");
}
