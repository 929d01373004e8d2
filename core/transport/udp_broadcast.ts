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

/** The spec of a broadcast link. */
export type BcastSpec = Extract<LinkSpec, { type: "bcast" }>;

/** Options of {@link openUdpBroadcast}. */
export interface UdpBroadcastOptions extends UdpLinkOptions {
  /** The host's interfaces (default: node:os `networkInterfaces()`). */
  interfaces?: InterfaceTable;
}

/** An open broadcast link; made by {@link openUdpBroadcast}. */
class UdpBroadcastTransport implements Transport {
  readonly spec: BcastSpec;
  readonly #handlers: TransportHandlers;
  readonly #report: (message: string) => void;
  readonly #iface: ResolvedInterface;
  readonly #receiver = createSocket({ type: "udp4", reuseAddr: false });
  readonly #sender = new DatagramSender(createSocket({ type: "udp4", reuseAddr: false }));
  readonly #counters = emptyCounters();
  /** "ADDR:PORT" of the send socket: the source of our own broadcasts. */
  #ownSource = "";
  #closed = false;

  constructor(
    spec: BcastSpec,
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
    try {
      await bindUdpSocket(this.#receiver, this.spec.port, this.#iface.broadcast);
      await bindUdpSocket(this.#sender.socket, 0, this.#iface.address);
      this.#sender.socket.setBroadcast(true);
    } catch (e) {
      await this.close();
      throw e;
    }
    this.#ownSource = formatHostPort(this.#iface.address, this.#sender.socket.address().port);
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
    const to = { address: this.#iface.broadcast, port: this.spec.port };
    this.#sender.send(bytes, to, (e) => countSend(this.#counters, this.#report, e, bytes, to));
  }

  counters(): LinkCounters {
    return { ...this.#counters };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
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
  const transport = new UdpBroadcastTransport(
    spec,
    handlers,
    iface,
    options.now ?? (() => performance.now()),
  );
  await transport.open();
  return transport;
}
