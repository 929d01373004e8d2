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

import { createSocket, type RemoteInfo } from "node:dgram";
import { MAX_FRAME_BYTES } from "../wire/frame.ts";
import {
  describeError,
  emptyCounters,
  errorLimiter,
  formatHostPort,
  type LinkCounters,
  type LinkSpec,
  type Transport,
  type TransportHandlers,
} from "../messaging/transport.ts";
import { type InterfaceTable, type ResolvedInterface, resolveInterface } from "./interfaces.ts";
import {
  bindUdpSocket,
  closeUdpSocket,
  countSend,
  DatagramSender,
  deliver,
  type UdpLinkOptions,
  udpSource,
} from "./udp_unicast.ts";

/** The spec of a multicast link. */
export type McastSpec = Extract<LinkSpec, { type: "mcast" }>;

/** Options of {@link openUdpMulticast}. */
export interface UdpMulticastOptions extends UdpLinkOptions {
  /** The host's interfaces (default: node:os `networkInterfaces()`). */
  interfaces?: InterfaceTable;
}

/** An open multicast link; made by {@link openUdpMulticast}. */
class UdpMulticastTransport implements Transport {
  readonly spec: McastSpec;
  readonly #handlers: TransportHandlers;
  readonly #report: (message: string) => void;
  readonly #iface: ResolvedInterface;
  readonly #receiver = createSocket({ type: "udp4", reuseAddr: true });
  readonly #sender = new DatagramSender(createSocket({ type: "udp4", reuseAddr: false }));
  readonly #counters = emptyCounters();
  /** "ADDR:PORT" of the send socket: the source of our own multicasts. */
  #ownSource = "";
  #closed = false;

  constructor(
    spec: McastSpec,
    handlers: TransportHandlers,
    iface: ResolvedInterface,
    now: () => number,
  ) {
    this.spec = spec;
    this.#handlers = handlers;
    this.#iface = iface;
    this.#report = errorLimiter(spec.name, (m) => handlers.onError(m), now);
  }

  async open(): Promise<void> {
    const { group, ttl, loop } = this.spec;
    const address = this.#iface.address;
    try {
      await bindUdpSocket(this.#receiver, this.spec.port, group);
      step(`join ${group} on ${address}`, () => this.#receiver.addMembership(group, address));
      await bindUdpSocket(this.#sender.socket, 0, address);
      step(
        `use ${address} for multicast`,
        () => this.#sender.socket.setMulticastInterface(address),
      );
      step(`set multicast TTL ${ttl}`, () => this.#sender.socket.setMulticastTTL(ttl));
      step(`set multicast loopback ${loop}`, () => this.#sender.socket.setMulticastLoopback(loop));
    } catch (e) {
      await this.close();
      throw e;
    }
    this.#ownSource = formatHostPort(address, this.#sender.socket.address().port);
    for (const socket of [this.#receiver, this.#sender.socket]) {
      socket.on("error", (e: Error) => this.#report(`socket error: ${describeError(e)}`));
    }
    this.#receiver.on("message", (msg: Uint8Array, rinfo: RemoteInfo) => this.#receive(msg, rinfo));
  }

  send(bytes: Uint8Array): void {
    if (this.#closed) {
      this.#counters.sendErrors++;
      return;
    }
    if (bytes.length === 0 || bytes.length > MAX_FRAME_BYTES) {
      this.#counters.sendErrors++;
      this.#report(`not sending a frame of ${bytes.length} bytes (1..${MAX_FRAME_BYTES})`);
      return;
    }
    const to = { address: this.spec.group, port: this.spec.port };
    this.#sender.send(bytes, to, (e) => countSend(this.#counters, this.#report, e, bytes, to));
  }

  counters(): LinkCounters {
    return { ...this.#counters };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Closing the socket leaves the group.
    await Promise.all([this.#receiver, this.#sender.socket].map(closeUdpSocket));
  }

  #receive(msg: Uint8Array, rinfo: RemoteInfo): void {
    const source = udpSource(rinfo);
    if (this.#closed || source === this.#ownSource) return;
    if (msg.length === 0 || msg.length > MAX_FRAME_BYTES) {
      this.#counters.framingErrors++;
      return;
    }
    deliver(this.#counters, this.#handlers, this.#report, msg, source);
  }
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
  const transport = new UdpMulticastTransport(
    spec,
    handlers,
    iface,
    options.now ?? (() => performance.now()),
  );
  await transport.open();
  return transport;
}
