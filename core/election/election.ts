/**
 * DC election: one Designated Coordinator per agreed membership.
 *
 * Deterministic, so it needs no extra round of messages: every member of an
 * agreed membership computes the same winner from the same inputs. Preference:
 * highest configured priority, then the lowest node name. While the membership
 * is in transition there is no DC, so a node that stops being DC stops
 * coordinating at once.
 *
 * @example
 * ```ts
 * const e = new Election("n2");
 * e.update({ members: ["n1", "n2"], generation: 3 }, {}); // { dc: "n1", changed: true }
 * ```
 * @module
 */

import type { Membership } from "../membership/membership.ts";

/** The result of one election update. */
export interface ElectionResult {
  /** The DC of the agreed membership, or null while in transition. */
  dc: string | null;
  /** Whether the DC changed with this update. */
  changed: boolean;
}

/** Picks the DC among `members`: highest priority, then lowest name. */
export function electDc(
  members: readonly string[],
  priority: Readonly<Record<string, number>> = {},
): string {
  if (members.length === 0) throw new Error("cannot elect a DC from no members");
  return [...members].sort((a, b) =>
    (priority[b] ?? 0) - (priority[a] ?? 0) || (a < b ? -1 : 1)
  )[0];
}

/** Tracks the DC of one node's agreed membership. */
export class Election {
  /** This node's name. */
  readonly self: string;
  #dc: string | null = null;
  #generation = -1;

  /** Creates the tracker for node `self`. */
  constructor(self: string) {
    this.self = self;
  }

  /** The current DC, or null while there is none. */
  get dc(): string | null {
    return this.#dc;
  }

  /** Whether this node is the DC. */
  get isDc(): boolean {
    return this.#dc === this.self;
  }

  /** The membership generation in which the current DC was elected. */
  get generation(): number {
    return this.#generation;
  }

  /** Re-elects on a membership change (null membership: in transition, no DC). */
  update(
    membership: Membership | null,
    priority: Readonly<Record<string, number>>,
  ): ElectionResult {
    const dc = membership ? electDc(membership.members, priority) : null;
    const changed = dc !== this.#dc;
    this.#dc = dc;
    this.#generation = membership?.generation ?? -1;
    return { dc, changed };
  }
}
