/**
 * UDP unicast link (Heartbeat's `ucast`): listen on one address, send every
 * frame to each configured peer.
 *
 * Sockets: one receive socket bound to `bind`, and one send socket per
 * destination, bound to the bind address with an ephemeral port. Separate send
 * sockets are a workaround for Bun: after a send to a dead peer's port, the ICMP
 * port-unreachable makes the next send on the same socket fail with
 * ECONNREFUSED, whoever it is to; one socket per destination keeps a dead peer
 * from silencing the others. Frames therefore leave from `ADDR:ephemeral`, and
 * that is the `source` a receiver sees; send sockets also receive, so a reply
 * sent with `to` set to such a source reaches the peer.
 *
 * This module also holds the small UDP helpers the broadcast and multicast
 * links share ({@link bindUdpSocket}, {@link closeUdpSocket}, {@link DatagramSender}).
 *
 * @example
 * ```ts
 * const link = await openUdpUnicast(
 *   { type: "ucast", name: "net0", bind: "10.0.0.1:694", peers: ["10.0.0.1:694", "10.0.0.2:694"] },
 *   { onFrame: (bytes, source) => {}, onError: console.warn },
 * );
 * link.send(frame); // to 10.0.0.2:694 (the node's own address is skipped)
 * ```
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
  parseHostPort,
  sendable,
  type Transport,
  type TransportHandlers,
} from "../messaging/transport.ts";
import { localIPv4Addresses } from "./interfaces.ts";

/** The spec of a unicast link. */
export type UcastSpec = Extract<LinkSpec, { type: "ucast" }>;

/** Test and runtime hooks of the UDP links. */
export interface UdpLinkOptions {
  /** Clock for rate-limiting error reports (default `performance.now`). */
  now?: () => number;
}

/** Most destinations reached through `to` that keep their own send socket. */
export const MAX_REPLY_SOCKETS = 32;
/** Most recently seen sources remembered as valid `to` targets. */
export const MAX_SEEN_SOURCES = 256;

/**
 * Binds a UDP socket, turning the runtime's error into a sentence for users.
 *
 * @throws Error such as "cannot listen on 10.0.0.1:694: address already in use".
 */
export function bindUdpSocket(socket: Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(new Error(bindErrorText(e, address, port), { cause: e }));
    socket.once("error", onError);
    socket.bind(port, address, () => {
      socket.off("error", onError);
      resolve();
    });
  });
}

function bindErrorText(e: Error, address: string, port: number): string {
  const where = formatHostPort(address, port);
  switch ((e as { code?: string }).code) {
    case "EADDRINUSE":
      return `cannot listen on ${where}: address already in use (another process or link has it)`;
    case "EADDRNOTAVAIL":
      return `cannot bind ${where}: ${address} is not an address of this host`;
    case "EACCES":
      return `cannot bind ${where}: permission denied (ports below 1024 need root)`;
    default:
      return `cannot bind ${where}: ${describeError(e)}`;
  }
}

/** Closes a UDP socket; resolves when closed (or at once if it already was). */
export function closeUdpSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // Already closed.
    }
  });
}

/** Most datagrams waiting in one {@link DatagramSender}'s queue. */
export const MAX_QUEUED_DATAGRAMS = 256;
/** A send whose callback has not come back after this long is given up. */
const SEND_STALL_MS = 1000;

/** One datagram waiting to be sent. */
interface QueuedDatagram {
  bytes: Uint8Array;
  to: HostPort;
  done: (error: Error | null) => void;
}

/**
 * Sends datagrams on one socket strictly one after the other, in order.
 *
 * Deno's node:dgram puts a burst of `send` calls made in one tick on the wire in
 * reverse order (observed with Deno 2.9: 20 sends arrive as 19..0); waiting for
 * each send's callback before the next keeps frames in the order they were sent.
 * The queue is bounded ({@link MAX_QUEUED_DATAGRAMS}); a send whose callback never
 * comes back is given up after a second so the queue cannot stall for good.
 */
export class DatagramSender {
  /** The socket sent on. */
  readonly socket: Socket;
  /** Local port once bound (0 before). */
  port = 0;
  readonly #queue: QueuedDatagram[] = [];
  #busySince: number | undefined;

  /** Wraps `socket` (bound or not; dgram queues sends until it is bound). */
  constructor(socket: Socket) {
    this.socket = socket;
  }

  /**
   * Queues one datagram; `done` is called once with the outcome (an error or
   * null). Never throws: a full queue or a closed socket is reported through `done`.
   */
  send(bytes: Uint8Array, to: HostPort, done: (error: Error | null) => void): void {
    if (this.#busySince !== undefined && performance.now() - this.#busySince > SEND_STALL_MS) {
      this.#busySince = undefined; // The runtime lost a callback: do not wait for it forever.
    }
    if (this.#queue.length >= MAX_QUEUED_DATAGRAMS) {
      done(new Error(`send queue full (${MAX_QUEUED_DATAGRAMS} datagrams)`));
      return;
    }
    this.#queue.push({ bytes, to, done });
    this.#next();
  }

  #next(): void {
    if (this.#busySince !== undefined) return;
    const item = this.#queue.shift();
    if (item === undefined) return;
    const started = performance.now();
    this.#busySince = started;
    let settled = false;
    const finish = (error: Error | null) => {
      if (settled) return;
      settled = true;
      if (this.#busySince === started) this.#busySince = undefined;
      item.done(error);
      this.#next();
    };
    try {
      this.socket.send(item.bytes, item.to.port, item.to.address, (e) => finish(e ?? null));
    } catch (e) {
      finish(e instanceof Error ? e : new Error(String(e)));
    }
  }
}

/** The "ADDR:PORT" a datagram came from. */
export function udpSource(rinfo: RemoteInfo): string {
  return formatHostPort(rinfo.address, rinfo.port);
}

/** An open unicast link; made by {@link openUdpUnicast}. */
class UdpUnicastTransport implements Transport {
  readonly spec: UcastSpec;
  readonly #handlers: TransportHandlers;
  readonly #report: (message: string) => void;
  readonly #bind: HostPort;
  readonly #wildcard: boolean;
  readonly #localAddresses: Set<string>;
  readonly #receiver: Socket;
  /** Configured peers (self excluded), by "ADDR:PORT". */
  readonly #peers = new Map<string, HostPort>();
  /** Send sockets of configured peers, by "ADDR:PORT". */
  readonly #senders = new Map<string, DatagramSender>();
  /** Send sockets of `to` destinations that are not configured peers; LRU order. */
  readonly #replySenders = new Map<string, DatagramSender>();
  /** Sources seen on this link; LRU order. */
  readonly #seen = new Set<string>();
  readonly #counters = emptyCounters();
  #closed = false;

  constructor(spec: UcastSpec, handlers: TransportHandlers, now: () => number) {
    this.spec = spec;
    this.#handlers = handlers;
    this.#report = errorLimiter(spec.name, (m) => handlers.onError(m), now);
    this.#bind = parseHostPort(spec.bind);
    this.#wildcard = this.#bind.address === "0.0.0.0";
    this.#localAddresses = new Set(this.#wildcard ? localIPv4Addresses() : [this.#bind.address]);
    for (const text of spec.peers) {
      const peer = parseHostPort(text);
      const key = formatHostPort(peer.address, peer.port);
      if (!this.#isSelf(peer)) this.#peers.set(key, peer);
    }
    this.#receiver = createSocket({ type: "udp4", reuseAddr: false });
  }

  async open(): Promise<void> {
    try {
      await bindUdpSocket(this.#receiver, this.#bind.port, this.#bind.address);
      this.#watch(this.#receiver);
      for (const key of this.#peers.keys()) {
        const sender = this.#newSender();
        this.#senders.set(key, sender);
        await bindUdpSocket(sender.socket, 0, this.#bind.address);
        sender.port = sender.socket.address().port;
        this.#watch(sender.socket);
      }
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  send(bytes: Uint8Array, to?: string): void {
    if (!sendable(this.#closed, this.#counters, this.#report, bytes)) return;
    if (to === undefined) {
      for (const [key, peer] of this.#peers) this.#sendVia(this.#senders.get(key)!, bytes, peer);
      return;
    }
    const configured = this.#peers.get(to);
    if (configured) return this.#sendVia(this.#senders.get(to)!, bytes, configured);
    if (!this.#seen.has(to)) {
      this.#counters.sendErrors++;
      this.#report(`not sending to ${to}: not a peer and not seen on this link`);
      return;
    }
    this.#sendVia(this.#replySender(to), bytes, parseHostPort(to));
  }

  counters(): LinkCounters {
    return { ...this.#counters };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const sockets = [
      this.#receiver,
      ...[...this.#senders.values(), ...this.#replySenders.values()].map((s) => s.socket),
    ];
    this.#senders.clear();
    this.#replySenders.clear();
    await Promise.all(sockets.map(closeUdpSocket));
  }

  #isSelf(peer: HostPort): boolean {
    return peer.port === this.#bind.port && this.#localAddresses.has(peer.address);
  }

  /** Whether a datagram came from one of this link's own send sockets. */
  #isOwn(rinfo: RemoteInfo): boolean {
    if (!this.#localAddresses.has(rinfo.address)) return false;
    if (rinfo.port === this.#bind.port) return true;
    for (const s of this.#senders.values()) if (s.port === rinfo.port) return true;
    for (const s of this.#replySenders.values()) if (s.port === rinfo.port) return true;
    return false;
  }

  #newSender(): DatagramSender {
    return new DatagramSender(createSocket({ type: "udp4", reuseAddr: false }));
  }

  /** The send socket for a `to` destination that is not a configured peer (bounded LRU). */
  #replySender(key: string): DatagramSender {
    let sender = this.#replySenders.get(key);
    if (sender) {
      this.#replySenders.delete(key);
      this.#replySenders.set(key, sender);
      return sender;
    }
    if (this.#replySenders.size >= MAX_REPLY_SOCKETS) {
      const [oldest, old] = this.#replySenders.entries().next().value!;
      this.#replySenders.delete(oldest);
      closeUdpSocket(old.socket);
    }
    sender = this.#newSender();
    const fresh = sender;
    this.#replySenders.set(key, fresh);
    // Not awaited: dgram queues sends until the bind completes.
    bindUdpSocket(fresh.socket, 0, this.#bind.address).then(
      () => {
        fresh.port = fresh.socket.address().port;
        this.#watch(fresh.socket);
      },
      (e) => this.#report(describeError(e)),
    );
    return fresh;
  }

  /** Delivers datagrams arriving on `socket` and reports its errors. */
  #watch(socket: Socket): void {
    socket.on("message", (msg: Uint8Array, rinfo: RemoteInfo) => this.#receive(msg, rinfo));
    socket.on("error", (e: Error) => this.#report(`socket error: ${describeError(e)}`));
  }

  #receive(msg: Uint8Array, rinfo: RemoteInfo): void {
    if (this.#closed || this.#isOwn(rinfo)) return;
    if (msg.length === 0 || msg.length > MAX_FRAME_BYTES) {
      this.#counters.framingErrors++;
      return;
    }
    const source = udpSource(rinfo);
    this.#seen.delete(source);
    this.#seen.add(source);
    if (this.#seen.size > MAX_SEEN_SOURCES) this.#seen.delete(this.#seen.values().next().value!);
    deliver(this.#counters, this.#handlers, this.#report, msg, source);
  }

  #sendVia(sender: DatagramSender, bytes: Uint8Array, to: HostPort): void {
    sender.send(bytes, to, (e) => countSend(this.#counters, this.#report, e, bytes, to));
  }
}

/**
 * Counts one received frame and hands it to `onFrame`; a throwing handler is
 * reported, not propagated into the socket's event loop.
 */
export function deliver(
  counters: LinkCounters,
  handlers: TransportHandlers,
  report: (message: string) => void,
  bytes: Uint8Array,
  source: string,
): void {
  counters.packetsIn++;
  counters.bytesIn += bytes.length;
  try {
    handlers.onFrame(bytes, source);
  } catch (e) {
    report(`frame handler failed: ${describeError(e)}`);
  }
}

/** Counts the outcome of one datagram send of `bytes` to `to` (error or success). */
export function countSend(
  counters: LinkCounters,
  report: (message: string) => void,
  error: Error | null,
  bytes: Uint8Array,
  to: HostPort,
): void {
  if (error) {
    counters.sendErrors++;
    report(`send to ${formatHostPort(to.address, to.port)} failed: ${describeError(error)}`);
  } else {
    counters.packetsOut++;
    counters.bytesOut += bytes.length;
  }
}

/**
 * Opens a unicast link.
 *
 * @throws Error (a rejection) naming the cause when the receive address cannot be
 *   bound or a send socket cannot be created; the spec must already be valid.
 */
export async function openUdpUnicast(
  spec: UcastSpec,
  handlers: TransportHandlers,
  options: UdpLinkOptions = {},
): Promise<Transport> {
  const transport = new UdpUnicastTransport(
    spec,
    handlers,
    options.now ?? (() => performance.now()),
  );
  await transport.open();
  return transport;
}
