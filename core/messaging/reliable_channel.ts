/**
 * Reliable, ordered cluster messages over lossy, duplicating, reordering links: a pure state
 * machine in the style of etcd's raft package. Events go in (`send`, `receive`, `tick`,
 * `resetPeer`), packets and events come out (`drain`); no I/O, no clock (`now` is passed in).
 *
 * Semantics:
 * - **Streams.** Each sender has one stream per peer, named (`inc`, `epoch`): its incarnation and
 *   an epoch that grows on every reset of that stream. The receiver keeps, per sender, the
 *   newest name seen. Data of an older stream is refused; data of a newer one replaces the
 *   receive state, delivery starting again at seq 1, and emits `stream-reset` (reason
 *   `peer-restarted` if `inc` grew, else `peer-reset`), except for the first stream seen from
 *   a peer. A refused data packet is answered with `rel-reset`, and a sender told its current
 *   stream is refused starts a new epoch, drops what was queued and emits `stream-refused`.
 * - **Fragments.** Seqs count fragments: a payload's JSON is cut into k fragments of at most
 *   `maxFragmentBytes` UTF-16 code units at k consecutive seqs (the default 16000 keeps a frame
 *   under the wire's 60000 bytes even at 3 UTF-8 bytes per unit). Fragments are taken in seq
 *   order and a message is delivered once all of its fragments are in, JSON.parse'd, exactly
 *   once. Broken framing or JSON on an authenticated stream is dropped and counted (`corrupt`).
 * - **Acks.** `cum` is the highest seq taken in order; `sack` lists up to 64 seqs held above it.
 *   A fragment that opens a new hole is acked at once (a retransmission request); other acks,
 *   duplicates' included (the first ack may have been lost), are coalesced: one per peer when
 *   `ackDelayMs` has passed. The sender retransmits holes below the highest sacked seq at
 *   once (at most once per timeout period) and any unsacked fragment on its timeout, which
 *   doubles from `retransmitMs` up to `maxRetransmitMs`. A receiver never drops a fragment it
 *   sacked, so sacked fragments are not retransmitted.
 * - **Bounds.** In flight per peer: `windowMessages` fragments. Queued per peer (in flight
 *   included): `maxQueuedMessages` messages; a `send` beyond it resets the stream (new epoch),
 *   drops the queue, emits `overflow`, then queues the new message, so the receiver sees a
 *   `stream-reset` when it arrives. Held out of order: `maxReorderBuffer` fragments (more are
 *   dropped and retransmitted later). Message size: `maxMessageBytes` UTF-16 code units.
 * - **Resets by the shell.** `resetPeer` when a peer is declared dead or its frame incarnation
 *   grew (it restarted and lost its receive state): the stream to it starts a new epoch and
 *   its stream to us is closed, its packets refused until a newer stream arrives.
 * - Nothing here throws on a packet that passed {@link channelPacketSchema}; internal invariants
 *   are asserted and their failure is a bug.
 *
 * @example
 * ```ts
 * const ch = new ReliableChannel({ self: "n1", incarnation: 7 });
 * ch.send("n2", { op: "cib-update", version: 12 }, now);
 * for (const { to, packet } of ch.drain().packets) transport.send(to, packet);
 * // on a frame: ch.receive(frame.from, channelPacketSchema.parse(frame.body), now)
 * // on a timer: ch.tick(now), then sleep until ch.nextDeadline()
 * ```
 * @module
 */

import { assertInvariant as assert } from "./reliable_invariant.ts";
import {
  type ChannelPacket,
  compareStreams,
  type DataPacket,
  MAX_FRAGMENT_CHARS,
  MAX_FRAGMENTS,
} from "./reliable_packet.ts";
import { type ReceiveCounters, ReceiveStream } from "./reliable_receive_stream.ts";
import { type SendCounters, SendStream } from "./reliable_send_stream.ts";

export { type ChannelPacket, channelPacketSchema } from "./reliable_packet.ts";

/** Configuration of a {@link ReliableChannel}; times in ms, sizes in UTF-16 code units. */
export interface ReliableChannelOptions {
  /** This node's name. */
  self: string;
  /** The sender's incarnation (boot generation, >= 1). Receivers reset a peer's stream when it grows. */
  incarnation: number;
  /** First retransmit timeout (default 200); backs off x2 up to maxRetransmitMs (default 2000). */
  retransmitMs?: number;
  /** Cap of the retransmit timeout (default 2000). */
  maxRetransmitMs?: number;
  /** Max fragments in flight unacked per peer (default 64). */
  windowMessages?: number;
  /** Per-peer queue bound in messages, in flight included (default 1024). */
  maxQueuedMessages?: number;
  /** Payload JSON is split into fragments of at most this many UTF-16 chars (default 16000). */
  maxFragmentBytes?: number;
  /** Refuse payloads whose JSON is larger, in UTF-16 chars (default 4 MiB). */
  maxMessageBytes?: number;
  /** Out-of-order fragments kept per peer (default 256). */
  maxReorderBuffer?: number;
  /** How long an ack may wait to be coalesced with later ones (default 10). */
  ackDelayMs?: number;
}

/** What the channel tells its user; drained with the packets. */
export type ChannelEvent =
  /** A message from `from`, in order, exactly once. */
  | { type: "delivered"; from: string; payload: unknown }
  /** Receiver side: a newer stream from `peer` began; earlier messages from it may be missing. */
  | { type: "stream-reset"; peer: string; reason: "peer-restarted" | "peer-reset" }
  /** Sender side: queue bound hit; the stream to `peer` was reset and `dropped` messages dropped. */
  | { type: "overflow"; peer: string; dropped: number }
  /** Sender side: `peer` refused our stream (it reset us); new epoch, `dropped` messages dropped. */
  | { type: "stream-refused"; peer: string; dropped: number };

/** Counters of one peer for /status. */
export interface ChannelPeerStats {
  /** Fragments sent to the peer for the first time. */
  sent: number;
  /** Fragments retransmitted to the peer. */
  retransmitted: number;
  /** Messages delivered from the peer. */
  delivered: number;
  /** Messages to the peer not yet fully acknowledged (in flight included). */
  queued: number;
  /** Fragments to the peer in flight. */
  inFlight: number;
  /** Duplicate or stale fragments from the peer dropped. */
  duplicates: number;
  /** Fragments from the peer that arrived out of order and were held (cumulative). */
  outOfOrder: number;
  /** Fragments or messages from the peer dropped for broken framing or JSON. */
  corrupt: number;
}

type Counters = SendCounters & ReceiveCounters & { delivered: number };

type Options = Required<ReliableChannelOptions>;

/** Defaults of the optional settings. */
const DEFAULTS: Omit<Options, "self" | "incarnation"> = {
  retransmitMs: 200,
  maxRetransmitMs: 2000,
  windowMessages: 64,
  maxQueuedMessages: 1024,
  maxFragmentBytes: MAX_FRAGMENT_CHARS,
  maxMessageBytes: 4 * 1024 * 1024,
  maxReorderBuffer: 256,
  ackDelayMs: 10,
};

/** Settings that must be positive safe integers. */
const POSITIVE_INTEGER_OPTIONS = [
  "incarnation",
  "retransmitMs",
  "windowMessages",
  "maxQueuedMessages",
  "maxFragmentBytes",
  "maxMessageBytes",
  "maxReorderBuffer",
] as const;

/** Largest number of undrained packets: more means the shell forgot to call drain(). */
const MAX_UNDRAINED = 1_000_000;

/** Reliable, ordered, exactly-once delivery of JSON messages to and from peers. See the module doc. */
export class ReliableChannel {
  readonly #opts: Options;
  readonly #sending = new Map<string, SendStream>();
  readonly #receiving = new Map<string, ReceiveStream>();
  readonly #counters = new Map<string, Counters>();
  #packets: { to: string; packet: ChannelPacket }[] = [];
  #events: ChannelEvent[] = [];

  /** Creates a channel; throws RangeError on options out of range. */
  constructor(opts: ReliableChannelOptions) {
    // Keys given as undefined keep their default.
    const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
    const o = { ...DEFAULTS, ...given } as Options;
    this.#opts = o;
    const check = (ok: boolean, what: string) => {
      if (!ok) throw new RangeError(`ReliableChannel: ${what}`);
    };
    check(typeof o.self === "string" && o.self !== "", "self must be a non-empty name");
    for (const key of POSITIVE_INTEGER_OPTIONS) {
      check(Number.isSafeInteger(o[key]) && o[key] >= 1, `${key} must be a positive integer`);
    }
    check(o.maxRetransmitMs >= o.retransmitMs, "maxRetransmitMs must be >= retransmitMs");
    check(Number.isFinite(o.ackDelayMs) && o.ackDelayMs >= 0, "ackDelayMs must be >= 0");
    check(o.maxFragmentBytes <= MAX_FRAGMENT_CHARS, `maxFragmentBytes above ${MAX_FRAGMENT_CHARS}`);
    check(
      Math.ceil(o.maxMessageBytes / o.maxFragmentBytes) <= MAX_FRAGMENTS,
      `maxMessageBytes / maxFragmentBytes above ${MAX_FRAGMENTS} fragments`,
    );
  }

  /**
   * Queues a JSON-serialisable payload for `to`. Returns false (and queues nothing) if its JSON is
   * larger than maxMessageBytes; throws TypeError if it has no JSON form (undefined, a function).
   */
  send(to: string, payload: unknown, now: number): boolean {
    const json = JSON.stringify(payload) as string | undefined;
    if (json === undefined) {
      throw new TypeError(`ReliableChannel.send: payload to ${to} is not JSON`);
    }
    if (json.length > this.#opts.maxMessageBytes) return false;
    const stream = this.#sendStream(to);
    if (stream.queuedMessages >= this.#opts.maxQueuedMessages) {
      this.#events.push({ type: "overflow", peer: to, dropped: stream.reset() });
    }
    stream.enqueue(json, now);
    assert(stream.queuedMessages <= this.#opts.maxQueuedMessages, `queue to ${to} above its bound`);
    return true;
  }

  /** Feeds a packet received from `from` (already authenticated and validated with channelPacketSchema). */
  receive(from: string, packet: ChannelPacket, now: number): void {
    if (packet.type === "rel-data") return this.#onData(from, packet, now);
    const stream = this.#sending.get(from);
    // Acks and refusals of an earlier stream of ours are stale: ignore them.
    if (!stream || packet.inc !== this.#opts.incarnation || packet.epoch !== stream.epoch) return;
    if (packet.type === "rel-ack") {
      if (!stream.onAck(packet.cum, packet.sack, now)) this.#countersOf(from).corrupt++;
    } else {
      this.#events.push({ type: "stream-refused", peer: from, dropped: stream.reset() });
    }
  }

  /** Advances time: retransmissions and delayed acks that are due. */
  tick(now: number): void {
    for (const stream of this.#sending.values()) stream.onTimer(now);
    for (const [peer, stream] of this.#receiving) {
      if (stream.ackDue !== null && stream.ackDue <= now) this.#sendAck(peer, stream);
    }
  }

  /**
   * The peer is gone (declared dead) or we must start over with it (it restarted): drops what is
   * queued for it and starts a new epoch, so its receiver resets instead of waiting for a gap
   * forever; forgets the receive state from it and refuses its current stream from now on.
   */
  resetPeer(peer: string): void {
    this.#sending.get(peer)?.reset();
    this.#receiving.get(peer)?.close();
  }

  /** Takes the packets to send and the events produced since the last drain. */
  drain(): { packets: { to: string; packet: ChannelPacket }[]; events: ChannelEvent[] } {
    const out = { packets: this.#packets, events: this.#events };
    this.#packets = [];
    this.#events = [];
    return out;
  }

  /** Earliest time at which tick() has work (retransmit or ack due), or null. */
  nextDeadline(): number | null {
    let deadline: number | null = null;
    const consider = (t: number | null) => {
      if (t !== null && (deadline === null || t < deadline)) deadline = t;
    };
    for (const stream of this.#sending.values()) consider(stream.nextDue());
    for (const stream of this.#receiving.values()) consider(stream.ackDue);
    return deadline;
  }

  /** Counters per peer: fragments sent/retransmitted/in flight, messages delivered/queued, drops. */
  stats(): Record<string, ChannelPeerStats> {
    const out: Record<string, ChannelPeerStats> = {};
    for (const [peer, c] of this.#counters) {
      const stream = this.#sending.get(peer);
      out[peer] = {
        sent: c.sent,
        retransmitted: c.retransmitted,
        delivered: c.delivered,
        queued: stream?.queuedMessages ?? 0,
        inFlight: stream?.inFlight ?? 0,
        duplicates: c.duplicates,
        outOfOrder: c.outOfOrder,
        corrupt: c.corrupt,
      };
    }
    return out;
  }

  #onData(from: string, packet: DataPacket, now: number): void {
    let stream = this.#receiving.get(from);
    const order = stream ? compareStreams(packet, stream) : 1;
    if (order < 0 || (order === 0 && !stream?.open)) {
      this.#countersOf(from).duplicates++;
      this.#transmit(from, { type: "rel-reset", inc: packet.inc, epoch: packet.epoch });
      return;
    }
    if (stream === undefined || order > 0) {
      if (stream) {
        const reason = packet.inc > stream.inc ? "peer-restarted" : "peer-reset";
        this.#events.push({ type: "stream-reset", peer: from, reason });
      }
      stream = this.#newReceiveStream(from, packet);
    }
    const verdict = stream.accept(packet);
    assert(stream.held <= this.#opts.maxReorderBuffer, `reorder buffer of ${from} above its bound`);
    if (verdict === "gap") this.#sendAck(from, stream);
    else if (verdict !== "buffer-full") stream.ackDue ??= now + this.#opts.ackDelayMs;
  }

  #newReceiveStream(from: string, name: { inc: number; epoch: number }): ReceiveStream {
    const counters = this.#countersOf(from);
    const limits = {
      maxReorderBuffer: this.#opts.maxReorderBuffer,
      maxMessageChars: this.#opts.maxMessageBytes,
    };
    const stream = new ReceiveStream(name, limits, counters, (json) => {
      let payload: unknown;
      try {
        payload = JSON.parse(json);
      } catch {
        counters.corrupt++;
        return;
      }
      counters.delivered++;
      this.#events.push({ type: "delivered", from, payload });
    });
    this.#receiving.set(from, stream);
    return stream;
  }

  #sendStream(to: string): SendStream {
    let stream = this.#sending.get(to);
    if (stream === undefined) {
      const o = this.#opts;
      const limits = {
        incarnation: o.incarnation,
        retransmitMs: o.retransmitMs,
        maxRetransmitMs: o.maxRetransmitMs,
        windowMessages: o.windowMessages,
        maxFragmentChars: o.maxFragmentBytes,
      };
      stream = new SendStream(limits, this.#countersOf(to), (packet) => this.#transmit(to, packet));
      this.#sending.set(to, stream);
    }
    return stream;
  }

  #sendAck(peer: string, stream: ReceiveStream): void {
    stream.ackDue = null;
    this.#transmit(peer, stream.ack());
  }

  #transmit(to: string, packet: ChannelPacket): void {
    assert(this.#packets.length < MAX_UNDRAINED, "packets pile up: drain() is not being called");
    this.#packets.push({ to, packet });
  }

  #countersOf(peer: string): Counters {
    let c = this.#counters.get(peer);
    if (c === undefined) {
      c = { sent: 0, retransmitted: 0, delivered: 0, duplicates: 0, outOfOrder: 0, corrupt: 0 };
      this.#counters.set(peer, c);
    }
    return c;
  }
}
