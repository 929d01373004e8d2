/**
 * The receiving half of one reliable stream from one peer: in-order acceptance, a bounded
 * reorder buffer, reassembly of fragments and the ack that describes it. Pure; used by
 * {@link ReliableChannel}.
 *
 * @module
 */

import { assertInvariant as assert } from "./reliable_invariant.ts";
import { type ChannelPacket, type DataPacket, MAX_SACK } from "./reliable_packet.ts";

/** Bounds of a {@link ReceiveStream}. */
export interface ReceiveLimits {
  /** Most fragments held above the cumulative ack. */
  maxReorderBuffer: number;
  /** Most UTF-16 code units of one reassembled message. */
  maxMessageChars: number;
}

/** Cumulative receive counters, kept across stream resets. */
export interface ReceiveCounters {
  /** Fragments received again (already taken or held), or of a refused stream. */
  duplicates: number;
  /** Fragments that arrived above a hole and were held. */
  outOfOrder: number;
  /** Fragments or messages dropped because their framing or JSON was broken. */
  corrupt: number;
}

/** What {@link ReceiveStream.accept} did with a fragment, so the caller knows when to ack. */
export type AcceptVerdict = "taken" | "held" | "gap" | "duplicate" | "buffer-full";

/** One peer's incoming stream (`inc`, `epoch`): what was taken in order and what is held above. */
export class ReceiveStream {
  /** Sender incarnation of this stream. */
  readonly inc: number;
  /** Sender epoch of this stream. */
  readonly epoch: number;
  /** False once closed by a local reset: its packets are refused from then on. */
  open = true;
  /** When the coalesced ack is due, or null if none is pending. */
  ackDue: number | null = null;
  readonly #limits: ReceiveLimits;
  readonly #counters: ReceiveCounters;
  readonly #deliver: (json: string) => void;
  /** Highest seq taken in order (fragments 1..cum). */
  #cum = 0;
  /** Highest seq taken or held, to notice a new hole. */
  #highest = 0;
  readonly #held = new Map<number, DataPacket>();
  /** Fragments of the message being reassembled, in order. */
  #partial: string[] = [];
  #partialFrags = 0;
  #partialChars = 0;

  /** Creates an empty stream; `deliver` gets each reassembled message's JSON, in order. */
  constructor(
    name: { inc: number; epoch: number },
    limits: ReceiveLimits,
    counters: ReceiveCounters,
    deliver: (json: string) => void,
  ) {
    this.inc = name.inc;
    this.epoch = name.epoch;
    this.#limits = limits;
    this.#counters = counters;
    this.#deliver = deliver;
  }

  /** Fragments held out of order right now. */
  get held(): number {
    return this.#held.size;
  }

  /**
   * Takes a fragment of this stream. A fragment at cum+1 is taken with everything held after it;
   * one above is held if the buffer has room ("gap" when it opens a new hole: ack at once).
   */
  accept(packet: DataPacket): AcceptVerdict {
    assert(this.open, "accept on a closed stream");
    const { seq } = packet;
    if (seq <= this.#cum || this.#held.has(seq)) {
      this.#counters.duplicates++;
      return "duplicate";
    }
    if (seq > this.#cum + 1) {
      if (this.#held.size >= this.#limits.maxReorderBuffer) return "buffer-full";
      this.#held.set(seq, packet);
      this.#counters.outOfOrder++;
      const opensHole = seq > this.#highest + 1;
      this.#highest = Math.max(this.#highest, seq);
      return opensHole ? "gap" : "held";
    }
    this.#take(packet);
    for (let next = this.#held.get(this.#cum + 1); next; next = this.#held.get(this.#cum + 1)) {
      this.#held.delete(next.seq);
      this.#take(next);
    }
    this.#highest = Math.max(this.#highest, this.#cum);
    return "taken";
  }

  /** The ack describing this stream: cumulative seq plus the lowest held seqs. */
  ack(): ChannelPacket {
    const sack = [...this.#held.keys()].sort((a, b) => a - b).slice(0, MAX_SACK);
    return { type: "rel-ack", inc: this.inc, epoch: this.epoch, cum: this.#cum, sack };
  }

  /** Closes the stream after a local reset: forgets buffers; its packets are refused from now on. */
  close(): void {
    this.open = false;
    this.ackDue = null;
    this.#held.clear();
    this.#partial = [];
    this.#partialChars = 0;
  }

  /** Appends the fragment at cum+1 to the message being reassembled; delivers it when complete. */
  #take(packet: DataPacket): void {
    assert(packet.seq === this.#cum + 1, `took seq ${packet.seq} after ${this.#cum}`);
    this.#cum = packet.seq;
    const expected = this.#partial.length;
    if (packet.frag !== expected || (expected > 0 && packet.frags !== this.#partialFrags)) {
      // Broken framing on an authenticated stream: drop the message it interrupts and resync
      // at the next first fragment.
      if (expected > 0) this.#counters.corrupt++;
      this.#dropPartial();
      if (packet.frag !== 0) {
        this.#counters.corrupt++;
        return;
      }
    }
    this.#partial.push(packet.data);
    this.#partialFrags = packet.frags;
    this.#partialChars += packet.data.length;
    if (this.#partialChars > this.#limits.maxMessageChars) {
      this.#counters.corrupt++;
      this.#dropPartial();
    } else if (this.#partial.length === packet.frags) {
      const json = this.#partial.join("");
      this.#dropPartial();
      this.#deliver(json);
    }
  }

  #dropPartial(): void {
    this.#partial = [];
    this.#partialChars = 0;
  }
}
