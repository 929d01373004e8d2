/**
 * UDP multicast link (Heartbeat's `mcast eth0 239.0.0.1 694 1 0`): every frame
 * goes to a multicast group, joined on one interface.
 *
 * Sockets:
 * - receive: bound to `GROUP:port` with SO_REUSEADDR (the usual multicast
 *   practice, so other listeners of the group on the host can coexist); binding
 *   the group address rather than 0.0.0.0 keeps out unicast and other groups'
 *   traffic to the same port. It joins the group on the interface's address.
 *   Linux delivers a group's datagrams to every socket bound to it, whichever
 *   interface they arrived on, so two links joining one group on two interfaces
 *   both see frames from either (receivers deduplicate anyway).
 * - send: bound to `INTERFACE-ADDRESS:ephemeral`, with IP_MULTICAST_IF set to
 *   that address (no route to 224.0.0.0/4 is needed), the spec's TTL and
 *   loopback.
 *
 * With loopback on, the host receives its own multicasts; they are recognised by
 * their source (the send socket's address and port) and dropped.
 *
 * @example
 * ```ts
 * const link = await openUdpMulticast(
 *   { type: "mcast", name: "m0", interface: "eth0", group: "239.0.0.1", port: 694, ttl: 1, loop: false },
 *   { onFrame: (bytes, source) => {}, onError: console.warn },
 * );
 * link.send(frame); // to 239.0.0.1:694 through eth0
 * ```
 * @module
 */

import {
  describeError,
  type LinkSpec,
  type Transport,
  type TransportHandlers,
} from "../messaging/transport.ts";
import { type InterfaceTable, resolveInterface } from "./interfaces.ts";
import { UdpGroupTransport } from "./udp_group_link.ts";
import { bindUdpSocket, type UdpLinkOptions } from "./udp_unicast.ts";

/** The spec of a multicast link. */
export type McastSpec = Extract<LinkSpec, { type: "mcast" }>;

/** Options of {@link openUdpMulticast}. */
export interface UdpMulticastOptions extends UdpLinkOptions {
  /** The host's interfaces (default: node:os `networkInterfaces()`). */
  interfaces?: InterfaceTable;
}

/** Runs one socket option call, rethrowing its error with what was being done. */
function step(what: string, action: () => unknown): void {
  try {
    action();
  } catch (e) {
    throw new Error(`cannot ${what}: ${describeError(e)}`, { cause: e });
  }
}

/**
 * Opens a multicast link: joins `spec.group` on the interface named (or
 * addressed) by `spec.interface`.
 *
 * @throws Error (a rejection) when the interface does not exist or has no IPv4
 *   address, a socket cannot be bound, or the group cannot be joined.
 */
export async function openUdpMulticast(
  spec: McastSpec,
  handlers: TransportHandlers,
  options: UdpMulticastOptions = {},
): Promise<Transport> {
  const iface = resolveInterface(spec.interface, options.interfaces);
  const { group, ttl, loop } = spec;
  const address = iface.address;
  const transport = new UdpGroupTransport({
    spec,
    handlers,
    iface,
    destination: { address: group, port: spec.port },
    reuseAddr: true,
    setUp: async (receiver, sender) => {
      await bindUdpSocket(receiver, spec.port, group);
      step(`join ${group} on ${address}`, () => receiver.addMembership(group, address));
      await bindUdpSocket(sender, 0, address);
      step(`use ${address} for multicast`, () => sender.setMulticastInterface(address));
      step(`set multicast TTL ${ttl}`, () => sender.setMulticastTTL(ttl));
      step(`set multicast loopback ${loop}`, () => sender.setMulticastLoopback(loop));
    },
    now: options.now ?? (() => performance.now()),
  });
  await transport.open();
  return transport;
}
