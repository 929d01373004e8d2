/**
 * What broadcast and multicast links share: one socket receives on a group
 * address (the subnet's broadcast address, or a multicast group), one socket
 * bound to the interface's address sends every frame to that group, and the
 * host's own frames, which come back, are recognised by their source and dropped.
 *
 * The two media differ only in how the sockets are set up (SO_BROADCAST, or a
 * group membership with TTL and loopback); {@link UdpGroupTransport} takes that
 * as a function.
 *
 * @module
 */

import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { MAX_FRAME_BYTES } from "../wire/frame.ts";
import {
  describeError,
  emptyCounters,
  errorLimiter,
  formatHostPort,
  type HostPort,
  type LinkCounters,
  type LinkSpec,
  sendable,
  type Transport,
  type TransportHandlers,
} from "../messaging/transport.ts";
import type { ResolvedInterface } from "./interfaces.ts";
import { closeUdpSocket, countSend, DatagramSender, deliver, udpSource } from "./udp_unicast.ts";

/** How one medium sets its sockets up (bind, options, group membership). */
export type GroupSocketSetup = (receiver: Socket, sender: Socket) => Promise<void>;

/** Options of a {@link UdpGroupTransport}. */
export interface UdpGroupOptions<S extends LinkSpec> {
  /** The link's spec. */
  spec: S;
  /** Where frames and errors go. */
  handlers: TransportHandlers;
  /** The interface the link runs on. */
  iface: ResolvedInterface;
  /** Where every frame is sent. */
  destination: HostPort;
  /** Whether the receive socket shares its address (multicast practice). */
  reuseAddr: boolean;
  /** Binds and configures both sockets. */
  setUp: GroupSocketSetup;
  /** Monotonic clock, ms (for rate-limited error reports). */
  now: () => number;
}

/** A link that sends every frame to one group address and receives on it. */
export class UdpGroupTransport<S extends LinkSpec> implements Transport {
  readonly spec: S;
  readonly #opts: UdpGroupOptions<S>;
  readonly #report: (message: string) => void;
  readonly #receiver: Socket;
  readonly #sender = new DatagramSender(createSocket({ type: "udp4", reuseAddr: false }));
  readonly #counters = emptyCounters();
  /** "ADDR:PORT" of the send socket: the source of our own frames. */
  #ownSource = "";
  #closed = false;

  /** Creates the sockets; nothing is bound until {@link open}. */
  constructor(opts: UdpGroupOptions<S>) {
    this.spec = opts.spec;
    this.#opts = opts;
    this.#receiver = createSocket({ type: "udp4", reuseAddr: opts.reuseAddr });
    this.#report = errorLimiter(opts.spec.name, (m) => opts.handlers.onError(m), opts.now);
  }

  /** Binds and configures the sockets; on failure closes them and rethrows. */
  async open(): Promise<void> {
    try {
      await this.#opts.setUp(this.#receiver, this.#sender.socket);
    } catch (e) {
      await this.close();
      throw e;
    }
    this.#ownSource = formatHostPort(this.#opts.iface.address, this.#sender.socket.address().port);
    for (const socket of [this.#receiver, this.#sender.socket]) {
      socket.on("error", (e: Error) => this.#report(`socket error: ${describeError(e)}`));
    }
    this.#receiver.on("message", (msg: Uint8Array, rinfo: RemoteInfo) => this.#receive(msg, rinfo));
  }

  /** Sends one frame to the group (`to` does not apply: everyone gets it). */
  send(bytes: Uint8Array): void {
    if (!sendable(this.#closed, this.#counters, this.#report, bytes)) return;
    const to = this.#opts.destination;
    this.#sender.send(bytes, to, (e) => countSend(this.#counters, this.#report, e, bytes, to));
  }

  /** A snapshot of the counters. */
  counters(): LinkCounters {
    return { ...this.#counters };
  }

  /** Closes both sockets (a multicast socket leaves its group). Idempotent. */
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
    deliver(this.#counters, this.#opts.handlers, this.#report, msg, source);
  }
}
