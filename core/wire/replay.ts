/**
 * Replay filter for authenticated frames: pure, no clock.
 *
 * @module
 */

/** Verdict of {@link ReplayWindow.check}. */
export type ReplayVerdict = "accept" | "old-incarnation" | "duplicate" | "replayed";

/** Width of the per-sender window of remembered sequence numbers. */
const WINDOW = 64;
const WINDOW_MASK = (1n << BigInt(WINDOW)) - 1n;

/** What is remembered about one sender. */
interface SenderState {
  incarnation: number;
  /** Highest sequence number accepted in this incarnation. */
  highest: number;
  /** Bit i set means `highest - i` has been accepted (bit 0 is `highest` itself). */
  seen: bigint;
}

/**
 * Per-sender sliding-window replay filter (as in IPsec anti-replay).
 *
 * For each sender it remembers the highest incarnation seen and, within it, the
 * highest sequence number plus a 64-entry bitmap of the sequence numbers just below.
 * Modest reordering (within 64) is accepted once; a repeat of a sequence number
 * inside the window is a "duplicate" (normal when a frame travels on several
 * links); anything older than the window is "replayed"; a lower incarnation is
 * "old-incarnation"; a higher one starts a fresh window.
 *
 * Incarnations are meant to be persisted by the caller ({@link incarnations} and
 * {@link remember}), so that frames of a peer's earlier boot stay rejected after
 * this node restarts.
 *
 * Memory is bounded by `maxPeers`: when a new sender arrives and the table is full, the
 * sender least recently updated (by an accepted frame) is forgotten. A forgotten
 * sender's next frame is accepted as if first seen, so `maxPeers` should exceed the
 * cluster size.
 */
export class ReplayWindow {
  // Map iteration order doubles as the LRU order: accepted senders are re-inserted last.
  readonly #senders = new Map<string, SenderState>();
  readonly #maxPeers: number;

  /** @param maxPeers how many senders to remember at most (positive integer). */
  constructor(maxPeers = 256) {
    if (!Number.isInteger(maxPeers) || maxPeers < 1) {
      throw new RangeError(`ReplayWindow: maxPeers must be a positive integer, got ${maxPeers}`);
    }
    this.#maxPeers = maxPeers;
  }

  /** Number of senders currently remembered. */
  get size(): number {
    return this.#senders.size;
  }

  /**
   * Decide whether a frame is fresh, and if so record it.
   *
   * @param from sender node name.
   * @param incarnation sender's boot generation (positive safe integer).
   * @param seq per-incarnation sequence number (positive safe integer).
   * @returns "accept" (recorded), "old-incarnation", "duplicate" or "replayed" (state unchanged).
   */
  check(from: string, incarnation: number, seq: number): ReplayVerdict {
    // Callers pass validated frame headers; anything else is a programming error.
    if (!Number.isSafeInteger(incarnation) || incarnation < 1) {
      throw new RangeError(`ReplayWindow: bad incarnation ${incarnation}`);
    }
    if (!Number.isSafeInteger(seq) || seq < 1) {
      throw new RangeError(`ReplayWindow: bad seq ${seq}`);
    }

    const state = this.#senders.get(from);
    if (state === undefined || incarnation > state.incarnation) {
      this.#touch(from, { incarnation, highest: seq, seen: 1n });
      return "accept";
    }
    if (incarnation < state.incarnation) return "old-incarnation";

    if (seq > state.highest) {
      const shift = seq - state.highest;
      state.seen = shift >= WINDOW ? 1n : ((state.seen << BigInt(shift)) | 1n) & WINDOW_MASK;
      state.highest = seq;
      this.#touch(from, state);
      return "accept";
    }
    const age = state.highest - seq;
    if (age >= WINDOW) return "replayed";
    const bit = 1n << BigInt(age);
    if ((state.seen & bit) !== 0n) return "duplicate";
    state.seen |= bit;
    this.#touch(from, state);
    return "accept";
  }

  /** The highest incarnation seen of every remembered sender (what to persist). */
  incarnations(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [from, s] of this.#senders) out[from] = s.incarnation;
    return out;
  }

  /**
   * Seeds a sender's incarnation from persisted state: lower incarnations are
   * rejected from now on; any sequence number of this one is accepted once.
   * Does nothing if a newer incarnation is already known.
   */
  remember(from: string, incarnation: number): void {
    if (!Number.isSafeInteger(incarnation) || incarnation < 1) {
      throw new RangeError(`ReplayWindow: bad incarnation ${incarnation}`);
    }
    const state = this.#senders.get(from);
    if (state && state.incarnation >= incarnation) return;
    this.#touch(from, { incarnation, highest: 0, seen: 0n });
  }

  /** Store `state` as the most recently updated sender, evicting the oldest if full. */
  #touch(from: string, state: SenderState): void {
    if (!this.#senders.delete(from) && this.#senders.size >= this.#maxPeers) {
      const oldest = this.#senders.keys().next().value;
      if (oldest !== undefined) this.#senders.delete(oldest);
    }
    this.#senders.set(from, state);
  }
}
