/**
 * Cluster messages between nodes, and their zod schemas (the edge check applied
 * to every decoded frame body before it reaches a core).
 *
 * @module
 */

import { z } from "zod";
import { cibVersionSchema, resourceStatusSchema } from "../cib/cib.ts";
import { cibUpdateSchema } from "../cib/cib_update.ts";
import { type ReplicationMessage, replicationMessageSchema } from "../cib/replication/messages.ts";
import { type CibDocument, cibDocumentSchema } from "../cib/schema/document.ts";
import { cibStatusSchema, type CibStatusSection } from "../cib/schema/status.ts";
import { type ChannelPacket, channelPacketSchema } from "../messaging/reliable_channel.ts";
import { lrmReportSchema } from "./lrm_report.ts";

const name = z.string().min(1).max(64);
const membershipSchema = z.strictObject({
  members: z.array(name).max(256),
  generation: z.number().int().min(0),
});

/** A heartbeat: liveness plus everything peers need to agree and coordinate. */
export const heartbeatSchema = z.strictObject({
  type: z.literal("hb"),
  membership: z.strictObject({
    view: z.array(name).max(256),
    proposal: membershipSchema,
    agreedGeneration: z.number().int().min(0),
    ready: z.boolean(),
    active: z.array(name).max(4096),
  }),
  dc: name.nullable(),
  cibVersion: cibVersionSchema,
  /** The sender's LRM table, operation history (lrm_report.ts) and its change counter. */
  lrm: z.strictObject({
    seq: z.number().int().min(0),
    resources: z.record(z.string(), resourceStatusSchema),
    history: lrmReportSchema.optional(),
  }),
  /** Recently completed DC actions with success flags and rc (-1: unknown), for lost results. */
  done: z.array(z.tuple([z.string(), z.boolean(), z.number().int()])).max(64),
  /** The sender is shutting down cleanly (it stops its resources, then leaves). */
  leaving: z.boolean().optional(),
  /** What the sender's quorum devices say: votes for its partition, health score. */
  devices: z.strictObject({
    votes: z.number().int().min(0).max(64),
    score: z.number().finite(),
    /** The agreed membership generation the reading was taken under. */
    generation: z.number().int().min(0).nullable(),
  }).optional(),
});

/** The DC asks a node to run one action. */
export const operationRequestSchema = z.strictObject({
  type: z.literal("op"),
  actionId: z.string().min(1).max(200),
  resource: z.string().min(1).max(255),
  action: z.enum(["start", "stop", "monitor"]),
  agent: z.string().min(1).max(128),
  params: z.record(z.string(), z.unknown()),
  /** The resource's recurring monitor interval (set up by a start or a probe). */
  monitorMs: z.number().int().min(0),
  /** A monitor's interval: 0 for a probe or one-shot check, else the recurring monitor's. */
  intervalMs: z.number().int().min(0).default(0),
  /** A probe: finds out whether the resource runs here ("not running" is its success). */
  probe: z.boolean().default(false),
});

/** A node reports the result of an action to the DC. */
export const operationResultSchema = z.strictObject({
  type: z.literal("op-result"),
  actionId: z.string().min(1).max(200),
  ok: z.boolean(),
  rc: z.number().int(),
  lrm: z.strictObject({
    seq: z.number().int().min(0),
    resources: z.record(z.string(), resourceStatusSchema),
    history: lrmReportSchema.optional(),
  }),
});

/**
 * A configuration change as it travels to the DC and is applied there: the
 * administrative update and the wall-clock time (ms since the epoch) at which
 * the origin took it, so every node computes the same result (move lifetimes).
 */
export const cibPatchSchema = z.strictObject({
  update: cibUpdateSchema,
  at: z.number().int().min(0),
});

/** A configuration change as the replica carries it. */
export type CibPatch = z.output<typeof cibPatchSchema>;

/** A CIB replication message (core/cib/replication/messages.ts) between replicas. */
export type CibReplicationMessage = ReplicationMessage<CibDocument, CibPatch, CibStatusSection>;

/** One CIB replication message, wrapped for the reliable channel. */
export const cibReplicationSchema = z.strictObject({
  type: z.literal("cib-repl"),
  msg: replicationMessageSchema(cibDocumentSchema, cibPatchSchema, cibStatusSchema),
});

/**
 * Ask the receiver to forget a resource's fail count and last failure
 * (`vigil resource cleanup`), so the policy engine may place it there again.
 */
export const cleanupSchema = z.strictObject({
  type: z.literal("cleanup"),
  resource: z.string().min(1).max(255),
});

/**
 * Messages that need reliable, ordered delivery: they travel inside the
 * reliable channel's packets and are checked again after reassembly.
 */
export const reliableMessageSchema = z.discriminatedUnion("type", [
  operationRequestSchema,
  operationResultSchema,
  cibReplicationSchema,
  cleanupSchema,
]);

/** Any frame body for the node's core: a heartbeat, or a reliable-channel packet. */
export const messageSchema: z.ZodType<Heartbeat | ChannelPacket> = z.union([
  heartbeatSchema,
  channelPacketSchema,
]);

/** A heartbeat. */
export type Heartbeat = z.output<typeof heartbeatSchema>;
/** An action request from the DC. */
export type OperationRequestMessage = z.output<typeof operationRequestSchema>;
/** An action result for the DC. */
export type OperationResultMessage = z.output<typeof operationResultSchema>;
/** A message carried by the reliable channel. */
export type ReliableMessage = z.output<typeof reliableMessageSchema>;
/** Any frame body for the node's core. */
export type Message = Heartbeat | ChannelPacket;
