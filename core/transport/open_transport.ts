/**
 * Opening a link from its spec: validates the spec, then dispatches on its type
 * to the UDP unicast, broadcast, multicast or serial line transport.
 *
 * Every failure is one Error whose message names the link and says what is
 * wrong, for the user to read in a log, e.g.
 * `link net0 (ucast): cannot listen on 10.0.0.1:694: address already in use (...)`
 * or `link eth9 (bcast): no such interface "eth9" (...)`.
 *
 * @example
 * ```ts
 * const link = await openTransport(
 *   { type: "bcast", name: "eth0", interface: "eth0", port: 694 },
 *   { onFrame: (bytes, source) => {}, onError: (message) => console.warn(message) },
 * );
 * link.send(frame);
 * await link.close();
 * ```
 * @module
 */

import { describeError, linkSpecSchema, type OpenTransport } from "../messaging/transport.ts";
import { openSerialLine } from "./serial_line.ts";
import { openUdpBroadcast } from "./udp_broadcast.ts";
import { openUdpMulticast } from "./udp_multicast.ts";
import { openUdpUnicast } from "./udp_unicast.ts";

/** What a spec's `name` and `type` are, for messages, without trusting the spec. */
function labelOf(spec: unknown): string {
  const s = (typeof spec === "object" && spec !== null ? spec : {}) as Record<string, unknown>;
  const name = typeof s.name === "string" && s.name !== "" ? s.name : "(unnamed)";
  const type = typeof s.type === "string" ? s.type : "?";
  return `link ${name} (${type})`;
}

/**
 * Opens the link `spec` describes.
 *
 * @throws Error (a rejection) `link NAME (TYPE): CAUSE` when the spec is invalid
 *   (the field is named), an address is in use or not on this host, an interface
 *   does not exist, a serial device is missing or not a tty.
 */
export const openTransport: OpenTransport = async (spec, handlers) => {
  const label = labelOf(spec);
  const parsed = linkSpecSchema.safeParse(spec);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .map((i) => `${i.path.length > 0 ? i.path.join(".") : "spec"}: ${i.message}`)
      .join("; ");
    throw new Error(`${label}: invalid spec: ${issues}`);
  }
  const valid = parsed.data;
  try {
    switch (valid.type) {
      case "ucast":
        return await openUdpUnicast(valid, handlers);
      case "bcast":
        return await openUdpBroadcast(valid, handlers);
      case "mcast":
        return await openUdpMulticast(valid, handlers);
      case "serial":
        return await openSerialLine(valid, handlers);
    }
  } catch (e) {
    throw new Error(`${label}: ${describeError(e)}`, { cause: e });
  }
};
