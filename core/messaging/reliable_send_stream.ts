/**
 * The sending half of one reliable stream to one peer: fragment queue, window, retransmission
 * timers with back-off, and what the peer's acks say. Pure; used by {@link ReliableChannel}.
 *
 * @module
 */

import { assertInvariant as assert } from "./reliable_invariant.ts";
import type { ChannelPacket, DataPacket } from "./reliable_packet.ts";

/** Timing and bounds of a {@link SendStream}. */
export interface SendLimits {
  /** The sender's incarnation, stamped on every data packet. */
  incarnation: number;
  /** First retransmission timeout (ms). */
  retransmitMs: number;
  /** Cap of the doubled retransmission timeout (ms). */
  maxRetransmitMs: number;
  /** Most fragments in flight unacknowledged. */
  windowMessages: number;
  /** Most UTF-16 code units per fragment. */
  maxFragmentChars: number;
}

/** Cumulative send counters, kept across stream resets. */
export interface SendCounters {
  /** Fragments transmitted for the first time. */
  sent: number;
  /** Fragment retransmissions (timeout or fast). */
  retransmitted: number;
}

/** A fragment on the wire, waiting for its ack. */
interface Flight {
  packet: DataPacket;
  /** When it is retransmitted unless acked first. */
  due: number;
  /** Current retransmission timeout, doubled on each timeout. */
  rto: number;
  /** Last fast retransmission, so it happens at most once per timeout period. */
  fastAt: number;
  /** The receiver holds it above its cumulative ack; it never drops what it holds. */
  sacked: boolean;
}

/** Taken fragments are cut from the queue array once at least this many and half of it. */
const COMPACT_AFTER = 1024;

/** One peer's outgoing stream (`epoch` of this incarnation): queue, in-flight window, timers. */
export class SendStream {
  /** Current epoch; grows on every reset so the receiver can tell the new stream from the old. */
  epoch = 1;
  /** Messages not yet fully acknowledged (queued or in flight). */
  queuedMessages = 0;
  readonly #limits: SendLimits;
  readonly #counters: SendCounters;
  readonly #transmit: (packet: ChannelPacket) => void;
  #nextSeq = 1;
  #acked = 0;
  #unsent: DataPacket[] = [];
  #unsentHead = 0;
  /** Seqs acked+1 .. acked+size, in ascending insertion order. */
  readonly #inFlight = new Map<number, Flight>();

  /** Creates an empty stream at epoch 1; `transmit` puts one packet on the wire to the peer. */
  constructor(
    limits: SendLimits,
    counters: SendCounters,
    transmit: (packet: ChannelPacket) => void,
  ) {
    this.#limits = limits;
    this.#counters = counters;
    this.#transmit = transmit;
  }

  /** Fragments currently in flight. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Splits one message's JSON into fragments at consecutive seqs and sends what the window allows. */
  enqueue(json: string, now: number): void {
    const size = this.#limits.maxFragmentChars;
    const frags = Math.max(1, Math.ceil(json.length / size));
    const { incarnation: inc } = this.#limits;
    for (let frag = 0; frag < frags; frag++) {
      const data = json.slice(frag * size, (frag + 1) * size);
      this.#unsent.push({
        type: "rel-data",
        inc,
        epoch: this.epoch,
        seq: this.#nextSeq++,
        frag,
        frags,
        data,
      });
    }
    this.queuedMessages++;
    this.#pump(now);
  }

  /** Drops everything and starts the next epoch from seq 1; returns how many messages were dropped. */
  reset(): number {
    const dropped = this.queuedMessages;
    this.epoch++;
    this.queuedMessages = 0;
    this.#nextSeq = 1;
    this.#acked = 0;
    this.#unsent = [];
    this.#unsentHead = 0;
    this.#inFlight.clear();
    return dropped;
  }

  /**
   * Applies an ack of this epoch: frees what `cum` covers, marks what `sack` holds, fast-retransmits
   * the holes below the highest sacked seq, and refills the window. Returns false (and changes
   * nothing) if the ack covers seqs never sent, which an honest receiver cannot do.
   */
  onAck(cum: number, sack: readonly number[], now: number): boolean {
    if (cum > this.#acked + this.#inFlight.size) return false;
    if (cum > this.#acked) {
      // Map iteration is in seq order; deleting the entry being visited is safe.
      for (const [seq, flight] of this.#inFlight) {
        if (seq > cum) break;
        this.#inFlight.delete(seq);
        if (flight.packet.frag === flight.packet.frags - 1) this.queuedMessages--;
      }
      this.#acked = cum;
    }
    let highestSacked = 0;
    for (const seq of sack) {
      const flight = this.#inFlight.get(seq);
      if (flight === undefined) continue;
      flight.sacked = true;
      highestSacked = Math.max(highestSacked, seq);
    }
    for (const [seq, flight] of this.#inFlight) {
      if (seq >= highestSacked) break;
      if (!flight.sacked && now - flight.fastAt >= flight.rto) {
        flight.fastAt = now;
        this.#retransmit(flight, now);
      }
    }
    this.#pump(now);
    assert(this.queuedMessages >= 0, "acked more messages than were queued");
    return true;
  }

  /** Retransmits every unsacked fragment whose timeout passed, doubling its timeout up to the cap. */
  onTimer(now: number): void {
    for (const flight of this.#inFlight.values()) {
      if (flight.sacked || flight.due > now) continue;
      flight.rto = Math.min(flight.rto * 2, this.#limits.maxRetransmitMs);
      this.#retransmit(flight, now);
    }
  }

  /** Earliest retransmission time, or null when nothing awaits an ack. */
  nextDue(): number | null {
    let due: number | null = null;
    for (const flight of this.#inFlight.values()) {
      if (!flight.sacked && (due === null || flight.due < due)) due = flight.due;
    }
    return due;
  }

  #retransmit(flight: Flight, now: number): void {
    flight.due = now + flight.rto;
    this.#counters.retransmitted++;
    this.#transmit(flight.packet);
  }

  /** Sends queued fragments while the window has room. */
  #pump(now: number): void {
    const { windowMessages, retransmitMs: rto } = this.#limits;
    while (this.#inFlight.size < windowMessages && this.#unsentHead < this.#unsent.length) {
      const packet = this.#unsent[this.#unsentHead++];
      assert(packet.seq === this.#acked + this.#inFlight.size + 1, "in-flight seqs not contiguous");
      this.#inFlight.set(packet.seq, {
        packet,
        due: now + rto,
        rto,
        fastAt: -Infinity,
        sacked: false,
      });
      this.#counters.sent++;
      this.#transmit(packet);
    }
    if (this.#unsentHead >= COMPACT_AFTER && this.#unsentHead * 2 >= this.#unsent.length) {
      this.#unsent = this.#unsent.slice(this.#unsentHead);
      this.#unsentHead = 0;
    }
  }
}
