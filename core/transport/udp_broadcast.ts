/**
 * UDP broadcast link (Heartbeat's `bcast eth0`): every frame goes to the
 * interface's directed broadcast address.
 *
 * Sockets:
 * - receive: bound to `BROADCAST:port` (not 0.0.0.0), so it gets only the
 *   broadcasts of this interface's subnet: several broadcast links on one node,
 *   one per interface, stay apart, and unicast traffic to the port is not mixed in;
 * - send: bound to `INTERFACE-ADDRESS:ephemeral` with SO_BROADCAST, so frames
 *   leave through that interface with its address as source.
 *
 * The host receives its own broadcasts; they are recognised by their source (the
 * send socket's address and port) and dropped.
 *
 * @example
 * ```ts
 * const link = await openUdpBroadcast(
 *   { type: "bcast", name: "eth0", interface: "eth0", port: 694 },
 *   { onFrame: (bytes, source) => {}, onError: console.warn },
 * );
 * link.send(frame); // to 10.0.0.255:694
 * ```
 * @module
 */

import type { LinkSpec, Transport, TransportHandlers } from "../messaging/transport.ts";
import { type InterfaceTable, resolveInterface } from "./interfaces.ts";
import { UdpGroupTransport } from "./udp_group_link.ts";
import { bindUdpSocket, type UdpLinkOptions } from "./udp_unicast.ts";

/** The spec of a broadcast link. */
export type BcastSpec = Extract<LinkSpec, { type: "bcast" }>;

/** Options of {@link openUdpBroadcast}. */
export interface UdpBroadcastOptions extends UdpLinkOptions {
  /** The host's interfaces (default: node:os `networkInterfaces()`). */
  interfaces?: InterfaceTable;
}

/**
 * Opens a broadcast link on the interface named (or addressed) by `spec.interface`.
 *
 * @throws Error (a rejection) when the interface does not exist, has no IPv4
 *   address, has a /31 or /32 address (no broadcast), or a socket cannot be bound.
 */
export async function openUdpBroadcast(
  spec: BcastSpec,
  handlers: TransportHandlers,
  options: UdpBroadcastOptions = {},
): Promise<Transport> {
  const iface = resolveInterface(spec.interface, options.interfaces);
  if (iface.prefix > 30) {
    throw new Error(
      `interface ${iface.name} has the address ${iface.address}/${iface.prefix}: ` +
        `a subnet with no broadcast address`,
    );
  }
  const transport = new UdpGroupTransport({
    spec,
    handlers,
    iface,
    destination: { address: iface.broadcast, port: spec.port },
    reuseAddr: false,
    setUp: async (receiver, sender) => {
      await bindUdpSocket(receiver, spec.port, iface.broadcast);
      await bindUdpSocket(sender, 0, iface.address);
      sender.setBroadcast(true);
    },
    now: options.now ?? (() => performance.now()),
  });
  await transport.open();
  return transport;
}
