/**
 * The walking skeleton's flat shapes that remain in use: the LRM's status table
 * (`resource -> {state, failCount, lastRc}`, carried in heartbeats), the version
 * schema of messages, and the path formatting shared by every zod edge check.
 * The CIB itself is the document in core/cib/schema/document.ts.
 *
 * @module
 */

import { z } from "zod";
import { parseScore } from "../score.ts";
import type { CibVersion } from "./version.ts";

const scoreSchema = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const score = parseScore(value);
  if (score === undefined) {
    ctx.addIssue({ code: "custom", message: `not a score: ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return score;
});

const nameSchema = z.string().regex(
  /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/,
  "a name of letters, digits, _ . -",
);

/** Schema of one resource (a primitive) in the configuration. */
export const resourceConfigSchema = z.strictObject({
  id: nameSchema,
  agent: z.string().min(1),
  params: z.record(z.string(), z.unknown()).default({}),
  /** Interval of the recurring monitor in ms (0: none). */
  monitorMs: z.number().int().min(0).default(0),
  /** Location preferences: node name to score. */
  location: z.record(z.string(), scoreSchema).default({}),
  /** Per-resource stickiness overriding the cluster default. */
  stickiness: scoreSchema.optional(),
});

/** Schema of cluster-wide options. */
export const clusterOptionsSchema = z.strictObject({
  /** Default resource-stickiness. */
  stickiness: scoreSchema.default(100),
  /** What a partition without quorum does with its resources. */
  noQuorumPolicy: z.enum(["stop", "freeze", "ignore"]).default("stop"),
  /** Failures after which a resource is banned from a node (0: never). */
  migrationThreshold: z.number().int().min(0).default(3),
});

/** Schema of a configured node. */
export const nodeConfigSchema = z.strictObject({
  name: nameSchema,
  priority: z.number().int().default(0),
  votes: z.number().int().min(0).default(1),
  standby: z.boolean().default(false),
});

/** Schema of the configuration section. */
export const cibConfigSchema = z.strictObject({
  options: clusterOptionsSchema.default({
    stickiness: 100,
    noQuorumPolicy: "stop",
    migrationThreshold: 3,
  }),
  nodes: z.array(nodeConfigSchema),
  resources: z.array(resourceConfigSchema).default([]),
});

/** The states a resource can be in on one node. */
export const resourceStateSchema = z.enum(["stopped", "starting", "started", "stopping", "failed"]);

/** Schema of one resource's status on one node. */
export const resourceStatusSchema = z.strictObject({
  state: resourceStateSchema,
  failCount: z.number().int().min(0),
  lastRc: z.number().int(),
});

/** Schema of a version triple. */
export const cibVersionSchema = z.strictObject({
  adminEpoch: z.number().int().min(0),
  epoch: z.number().int().min(0),
  numUpdates: z.number().int().min(0),
});

/** Schema of the whole CIB. */
export const cibSchema = z.strictObject({
  version: cibVersionSchema,
  config: cibConfigSchema,
  /** Per node, per resource status as last reported by that node's LRM. */
  status: z.record(z.string(), z.record(z.string(), resourceStatusSchema)),
});

/** A configured resource. */
export type ResourceConfig = z.output<typeof resourceConfigSchema>;
/** Cluster-wide options. */
export type ClusterOptions = z.output<typeof clusterOptionsSchema>;
/** A configured node. */
export type NodeConfig = z.output<typeof nodeConfigSchema>;
/** The configuration section. */
export type CibConfig = z.output<typeof cibConfigSchema>;
/** One resource's state on one node. */
export type ResourceState = z.output<typeof resourceStateSchema>;
/** One resource's status on one node. */
export type ResourceStatus = z.output<typeof resourceStatusSchema>;
/** Status of all resources on all nodes. */
export type CibStatus = Record<string, Record<string, ResourceStatus>>;
/** The whole CIB. */
export interface Cib {
  /** Version triple. */
  version: CibVersion;
  /** Configuration. */
  config: CibConfig;
  /** Status. */
  status: CibStatus;
}

/** States in which a resource may be running on a node (so it must not start elsewhere). */
export function isActiveState(state: ResourceState): boolean {
  return state !== "stopped";
}

/** Formats zod issues as "path: message" lines, naming the exact field. */
export function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => `${i.path.length ? formatPath(i.path) : "(root)"}: ${i.message}`)
    .join("\n");
}

/** Formats a zod path like `resources[3].params.port`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}
