/**
 * Wire format of the reliable channel: the packets one {@link ReliableChannel} puts in the body of
 * an authenticated frame, their zod schema and its bounds.
 *
 * A stream is named by the sender's incarnation `inc` and a per-receiver `epoch`; data and acks
 * carry the name of the stream they belong to, so packets of an earlier stream are recognised.
 *
 * @example
 * ```ts
 * const parsed = channelPacketSchema.safeParse(frame.body);
 * if (parsed.success) channel.receive(frame.from, parsed.data, now);
 * ```
 * @module
 */

import { z } from "zod";

/** Most UTF-16 code units in one fragment's `data` (also the default fragment size). */
export const MAX_FRAGMENT_CHARS = 16000;
/** Most sequence numbers listed in one ack's `sack`. */
export const MAX_SACK = 64;
/** Most fragments one message may be split into. */
export const MAX_FRAGMENTS = 65536;

/**
 * Packets the channel puts on the wire; carried inside an authenticated frame as the message body.
 *
 * - `rel-data`: fragment `frag` (0-based) of a message split into `frags`, at sequence number `seq`
 *   of the sender's stream (`inc`, `epoch`).
 * - `rel-ack`: the receiver's state of the stream (`inc`, `epoch`) named after its sender:
 *   everything up to `cum` is taken in order, `sack` lists seqs held above `cum`.
 * - `rel-reset`: the receiver refuses stream (`inc`, `epoch`) for good (it reset that peer, or
 *   the stream is older than one it has seen): the sender must start a new epoch.
 */
export type ChannelPacket =
  | {
    type: "rel-data";
    inc: number;
    epoch: number;
    seq: number;
    frag: number;
    frags: number;
    data: string;
  }
  | { type: "rel-ack"; inc: number; epoch: number; cum: number; sack: number[] }
  | { type: "rel-reset"; inc: number; epoch: number };

/** A `rel-data` packet. */
export type DataPacket = Extract<ChannelPacket, { type: "rel-data" }>;

const positive = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const natural = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

const dataSchema = z.strictObject({
  type: z.literal("rel-data"),
  inc: positive,
  epoch: positive,
  seq: positive,
  frag: natural,
  frags: z.number().int().min(1).max(MAX_FRAGMENTS),
  data: z.string().max(MAX_FRAGMENT_CHARS),
}).refine((p) => p.frag < p.frags, { message: "frag must be below frags", path: ["frag"] });

const ackSchema = z.strictObject({
  type: z.literal("rel-ack"),
  inc: positive,
  epoch: positive,
  cum: natural,
  sack: z.array(positive).max(MAX_SACK),
});

const resetSchema = z.strictObject({
  type: z.literal("rel-reset"),
  inc: positive,
  epoch: positive,
});

/** Strict schema of {@link ChannelPacket}: integer bounds, sack length, fragment size, no extra keys. */
export const channelPacketSchema: z.ZodType<ChannelPacket> = z.discriminatedUnion("type", [
  dataSchema,
  ackSchema,
  resetSchema,
]);

/** Orders two stream names: negative if `a` is older than `b`, 0 if equal, positive if newer. */
export function compareStreams(
  a: { inc: number; epoch: number },
  b: { inc: number; epoch: number },
): number {
  return a.inc !== b.inc ? a.inc - b.inc : a.epoch - b.epoch;
}
