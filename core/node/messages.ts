/**
 * Cluster messages between nodes, and their zod schemas (the edge check applied
 * to every decoded frame body before it reaches a core).
 *
 * @module
 */

import { z } from "zod";
import { cibSchema, cibVersionSchema, resourceStatusSchema } from "../cib/cib.ts";
import { type ChannelPacket, channelPacketSchema } from "../messaging/reliable_channel.ts";

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
  /** The sender's LRM table and its change counter. */
  lrm: z.strictObject({
    seq: z.number().int().min(0),
    resources: z.record(z.string(), resourceStatusSchema),
  }),
  /** Recently completed DC actions with success flags, for lost results. */
  done: z.array(z.tuple([z.string(), z.boolean()])).max(64),
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
  resource: name,
  action: z.enum(["start", "stop"]),
  agent: z.string().min(1).max(128),
  params: z.record(z.string(), z.unknown()),
  monitorMs: z.number().int().min(0),
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
  }),
});

/** A full CIB copy, pushed by the DC or sent on request. */
export const cibPushSchema = z.strictObject({ type: z.literal("cib"), cib: cibSchema });

/** A request for the receiver's CIB. */
export const cibRequestSchema = z.strictObject({ type: z.literal("cib-req") });

/**
 * Messages that need reliable, ordered delivery: they travel inside the
 * reliable channel's packets and are checked again after reassembly.
 */
export const reliableMessageSchema = z.discriminatedUnion("type", [
  operationRequestSchema,
  operationResultSchema,
  cibPushSchema,
  cibRequestSchema,
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
