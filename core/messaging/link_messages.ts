/**
 * Link-layer messages: round-trip probes and their echoes. They never reach
 * the node's core; the daemon answers them on the link they arrived on.
 *
 * @module
 */

import { z } from "zod";

/** A probe: "echo this send time back to me on this link". */
export const linkProbeSchema = z.strictObject({
  type: z.literal("link-probe"),
  /** The prober's monotonic send time, in ms. */
  t: z.number().finite(),
});

/** The echo of a probe, sent back on the link the probe came in on. */
export const linkEchoSchema = z.strictObject({
  type: z.literal("link-echo"),
  t: z.number().finite(),
});

/** Any link-layer message. */
export const linkMessageSchema = z.discriminatedUnion("type", [linkProbeSchema, linkEchoSchema]);

/** A link-layer message. */
export type LinkMessage = z.output<typeof linkMessageSchema>;

/** Whether a decoded frame body is meant for the link layer (by its type tag). */
export function isLinkMessage(body: unknown): boolean {
  const type = (body as { type?: unknown } | null)?.type;
  return type === "link-probe" || type === "link-echo";
}
