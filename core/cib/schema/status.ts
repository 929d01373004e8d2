/**
 * The status section: per node, what the cluster layer knows (membership, join
 * state, shutdown request), transient attributes, fail counts, and the history of
 * operations its LRM ran per resource, from which the policy engine derives where
 * each resource is active. The DC rebuilds it from probes; it is never trusted
 * from disk.
 *
 * @module
 */

import { z } from "zod";
import { attributesSchema, idSchema, scoreSchema } from "./common.ts";

/**
 * Execution status of an operation (Pacemaker's op-status), independent of the
 * agent's exit code: `done` means the agent ran and `rc` is what it said.
 */
export const opStatusSchema = z.enum([
  "pending",
  "done",
  "cancelled",
  "timeout",
  "not-supported",
  "error",
  "error-hard",
  "error-fatal",
  "not-installed",
  "not-connected",
  "invalid",
]);

/** Schema of one recorded operation (Pacemaker's `lrm_rsc_op`). */
export const operationRecordSchema = z.strictObject({
  /** The record id (Pacemaker: `RSC_last_0`, `RSC_monitor_10000`, `RSC_last_failure_0`). */
  id: z.string().min(1).optional(),
  /** The action: start, stop, monitor, promote, demote, notify, ... */
  operation: z.string().min(1),
  intervalMs: z.number().int().min(0).default(0),
  /** Increases with every operation the LRM runs on this node (orders the history). */
  callId: z.number().int(),
  /** The agent's exit code (OCF numbering). */
  rc: z.number().int(),
  /** The code the scheduler expected (7 for a probe of a stopped resource, else 0). */
  expectedRc: z.number().int().optional(),
  status: opStatusSchema.default("done"),
  /** When the result last changed (seconds since the epoch). */
  lastRcChange: z.number().int().min(0).optional(),
  /** How long the agent ran, in ms. */
  execMs: z.number().int().min(0).optional(),
  /** How long it waited to run, in ms. */
  queueMs: z.number().int().min(0).optional(),
  /** The tail of the agent's output. */
  output: z.string().max(64 * 1024).optional(),
});

/** Schema of one resource's history on one node. */
export const resourceHistorySchema = z.strictObject({
  /** The agent spec it ran with (class:provider:type or a Vigil agent name). */
  agent: z.string().min(1),
  operations: z.array(operationRecordSchema).default([]),
});

/** Schema of a failure count on one node. */
export const failureSchema = z.strictObject({
  /** Failures counted (INFINITY after a fatal start failure). */
  count: scoreSchema,
  /** When the last failure happened (seconds since the epoch). */
  lastFailure: z.number().int().min(0).optional(),
});

/** Schema of one node's status. */
export const nodeStatusSchema = z.strictObject({
  /**
   * The node is in the cluster membership (Pacemaker's in_ccm). Absent means the
   * cluster layer has never seen it, which Pacemaker treats as unclean.
   */
  inMembership: z.boolean().optional(),
  /** Its controller is up (Pacemaker's crmd="online"). */
  online: z.boolean().default(false),
  /** Where it is in joining the DC. */
  join: z.enum(["member", "down", "pending", "banned"]).default("down"),
  /** What the DC expects of it: member, or down after a clean shutdown. */
  expected: z.enum(["member", "down"]).default("down"),
  /** When it asked to shut down (seconds since the epoch; 0: not shutting down). */
  shutdown: z.number().int().min(0).default(0),
  /** Transient node attributes (cleared when the node leaves). */
  attributes: attributesSchema.default({}),
  /** Fail counts per resource id. */
  failures: z.record(idSchema, failureSchema).default({}),
  /** Operation history per resource id. */
  resources: z.record(z.string().min(1), resourceHistorySchema).default({}),
});

/** Schema of the status section. */
export const cibStatusSchema = z.strictObject({
  /** Whether the partition this CIB describes has quorum (simulation input). */
  haveQuorum: z.boolean().optional(),
  /** The DC's node name, when one is elected. */
  dc: z.string().min(1).optional(),
  /** "Now" for a simulation of a captured CIB (seconds since the epoch). */
  executionDate: z.number().int().min(0).optional(),
  nodes: z.record(z.string().min(1), nodeStatusSchema).default({}),
});

/** One recorded operation. */
export type OperationRecord = z.output<typeof operationRecordSchema>;
/** One resource's history on one node. */
export type ResourceHistory = z.output<typeof resourceHistorySchema>;
/** One node's status. */
export type NodeStatus = z.output<typeof nodeStatusSchema>;
/** The status section. */
export type CibStatusSection = z.output<typeof cibStatusSchema>;
