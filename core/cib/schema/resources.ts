/**
 * Configured resources: primitives (one agent instance), groups (primitives kept
 * together and started in order) and clones (copies of a primitive or group on
 * several nodes). Meta attributes are typed; instance parameters are the agent's.
 *
 * @example
 * ```ts
 * resourceSchema.parse({
 *   id: "vip", agent: "ocf:heartbeat:IPaddr2", params: { ip: "10.0.0.1" },
 *   operations: [{ name: "monitor", intervalMs: "10s" }],
 * });
 * ```
 * @module
 */

import { z } from "zod";
import { durationMsSchema, idSchema, scoreSchema } from "./common.ts";

/** Roles a resource can be asked to be in (target-role) or constraints can name. */
export const roleSchema = z.enum(["Started", "Stopped", "Promoted", "Unpromoted"]);

/** What the cluster does when an operation fails. */
export const onFailSchema = z.enum([
  "ignore",
  "block",
  "stop",
  "restart",
  "fence",
  "standby",
  "demote",
]);

/** Schema of one configured operation (Pacemaker's `<op>`). */
export const operationSchema = z.strictObject({
  /** Pacemaker's op id, kept for round trips. */
  id: idSchema.optional(),
  /** The action: start, stop, monitor, promote, demote, notify, ... */
  name: z.string().regex(/^[a-z][a-z_-]*$/, "an action name like start, stop or monitor"),
  /** Interval of a recurring operation in ms (0: not recurring). */
  intervalMs: durationMsSchema.default(0),
  /** Timeout in ms; the agent's default when absent. */
  timeoutMs: durationMsSchema.optional(),
  /** What to do when it fails; Pacemaker's default depends on the action. */
  onFail: onFailSchema.optional(),
  /** Run this (monitor) only in this role. */
  role: roleSchema.optional(),
  /** Disabled operations are kept in the configuration but not run. */
  enabled: z.boolean().default(true),
  /** Monitor depth (OCF_CHECK_LEVEL). */
  depth: z.number().int().min(0).default(0),
});

/** Meta attributes every resource kind accepts (children inherit them). */
const commonMetaShape = {
  /** The role the cluster should keep the resource in. */
  targetRole: roleSchema.optional(),
  /** Preference for staying where it runs (cluster default when absent). */
  stickiness: scoreSchema.optional(),
  /** Failures on a node before it is banned there (cluster default when absent). */
  migrationThreshold: z.number().int().min(0).optional(),
  /** How long until a failure is forgotten, in ms (cluster default when absent). */
  failureTimeoutMs: durationMsSchema.optional(),
  /** Higher-priority resources are placed first and win contention. */
  priority: z.number().int().default(0),
  /** An unmanaged resource is monitored but never started or stopped. */
  isManaged: z.boolean().default(true),
  /** What to do when it is found active on several nodes. */
  multipleActive: z.enum(["stop_start", "stop_only", "block", "stop_unexpected"]).default(
    "stop_start",
  ),
  /** What must hold before it may start: quorum, fencing of unclean nodes, nothing. */
  requires: z.enum(["nothing", "quorum", "fencing", "unfencing"]).optional(),
};

/** Schema of a primitive's meta attributes. */
export const primitiveMetaSchema = z.strictObject(commonMetaShape);

/** Schema of a primitive: one agent instance. */
export const primitiveSchema = z.strictObject({
  /** Discriminates the resource kind (may be omitted for primitives). */
  kind: z.literal("primitive"),
  id: idSchema,
  /**
   * The agent: a built-in or plugin name (`Dummy`), or `ocf:PROVIDER:TYPE`, `lsb:NAME`,
   * `heartbeat:NAME` (Heartbeat v1 resource.d), `stonith:TYPE`.
   */
  agent: z.string().min(1),
  /** Instance parameters, given to the agent. */
  params: z.record(z.string().min(1), z.union([z.string(), z.number(), z.boolean()])).default(
    {},
  ),
  meta: primitiveMetaSchema.default({
    priority: 0,
    isManaged: true,
    multipleActive: "stop_start",
  }),
  operations: z.array(operationSchema).default([]),
});

/** A resource whose `kind` is missing is a primitive. */
function defaultKind(value: unknown): unknown {
  if (typeof value === "object" && value !== null && !("kind" in value)) {
    return { kind: "primitive", ...value };
  }
  return value;
}

/** Schema of a group's meta attributes. */
export const groupMetaSchema = z.strictObject(commonMetaShape);

/** Schema of a group: members kept on one node, started in order, stopped in reverse. */
export const groupSchema = z.strictObject({
  kind: z.literal("group"),
  id: idSchema,
  meta: groupMetaSchema.default({ priority: 0, isManaged: true, multipleActive: "stop_start" }),
  members: z.array(z.preprocess(defaultKind, primitiveSchema)).min(1),
});

/** Schema of a clone's meta attributes. */
export const cloneMetaSchema = z.strictObject({
  ...commonMetaShape,
  /** How many instances in total (default: the number of nodes). */
  cloneMax: z.number().int().min(0).optional(),
  /** How many instances on one node. */
  cloneNodeMax: z.number().int().min(1).default(1),
  /** Instances are distinct (numbered) rather than interchangeable. */
  globallyUnique: z.boolean().default(false),
  /** Order/colocate against the peer clone's instance on the same node only. */
  interleave: z.boolean().default(false),
  /** Start instances one after another instead of in parallel. */
  ordered: z.boolean().default(false),
  /** Send notifications before and after instances start and stop. */
  notify: z.boolean().default(false),
  /** Instances can be promoted (room for promotable clones; not scheduled yet). */
  promotable: z.boolean().default(false),
  /** How many instances may be promoted in total. */
  promotedMax: z.number().int().min(0).default(1),
  /** How many instances may be promoted on one node. */
  promotedNodeMax: z.number().int().min(0).default(1),
});

/** Schema of a clone: copies of a primitive or a group. */
export const cloneSchema = z.strictObject({
  kind: z.literal("clone"),
  id: idSchema,
  meta: cloneMetaSchema.default({
    priority: 0,
    isManaged: true,
    multipleActive: "stop_start",
    cloneNodeMax: 1,
    globallyUnique: false,
    interleave: false,
    ordered: false,
    notify: false,
    promotable: false,
    promotedMax: 1,
    promotedNodeMax: 1,
  }),
  /** What is cloned. */
  resource: z.preprocess(defaultKind, z.discriminatedUnion("kind", [primitiveSchema, groupSchema])),
});

/** Schema of any top-level resource. */
export const resourceSchema = z.preprocess(
  defaultKind,
  z.discriminatedUnion("kind", [primitiveSchema, groupSchema, cloneSchema]),
);

/** A configured operation. */
export type Operation = z.output<typeof operationSchema>;
/** A resource role. */
export type Role = z.output<typeof roleSchema>;
/** An on-fail policy. */
export type OnFail = z.output<typeof onFailSchema>;
/** A primitive, defaults applied. */
export type Primitive = z.output<typeof primitiveSchema>;
/** A group, defaults applied. */
export type Group = z.output<typeof groupSchema>;
/** A clone, defaults applied. */
export type Clone = z.output<typeof cloneSchema>;
/** Any top-level resource. */
export type Resource = Primitive | Group | Clone;
