/**
 * Counters of received frames dropped by the wire layer, by reason.
 *
 * @module
 */

import type { DropReason } from "./frame.ts";
import type { ReplayVerdict } from "./replay.ts";

/** Every reason a received frame can be dropped: decoding failures and replay verdicts. */
export type DropCountReason =
  | DropReason
  | Exclude<ReplayVerdict, "accept">
  | "bad-body"
  | "unknown-node"
  | "other-recipient";

const REASONS: readonly DropCountReason[] = [
  "too-short",
  "too-large",
  "bad-magic",
  "unknown-key",
  "bad-digest",
  "bad-json",
  "bad-header",
  "bad-body",
  "unknown-node",
  "old-incarnation",
  "duplicate",
  "replayed",
  "other-recipient",
];

/** Running count of dropped frames per reason (for metrics and status output). */
export class DropCounters {
  readonly #counts = new Map<DropCountReason, number>(REASONS.map((r) => [r, 0]));

  /**
   * Record one dropped frame.
   *
   * @param reason why it was dropped.
   */
  count(reason: DropCountReason): void {
    this.#counts.set(reason, (this.#counts.get(reason) ?? 0) + 1);
  }

  /** @returns a copy of the counts, every reason present (zero if never seen). */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.#counts);
  }

  /** @returns total dropped frames over all reasons. */
  total(): number {
    let sum = 0;
    for (const n of this.#counts.values()) sum += n;
    return sum;
  }
}
