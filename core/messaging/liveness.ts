/**
 * Liveness of peers from heartbeats: a pure tracker driven by the caller's clock.
 *
 * A peer is alive from the first heartbeat heard until it has been silent for
 * `deadtimeMs`. `warntimeMs` marks a heartbeat as late (worth a log line) before
 * the peer is declared dead.
 *
 * @example
 * ```ts
 * const live = new Liveness({ deadtimeMs: 500, warntimeMs: 300 });
 * live.heard("n2", 0); // ["n2"] came up
 * live.tick(600).dead; // ["n2"]
 * ```
 * @module
 */

/** Timing of liveness decisions, in milliseconds. */
export interface LivenessTiming {
  /** Silence after which a peer is declared dead. */
  deadtimeMs: number;
  /** Silence after which a heartbeat is reported late (0 disables). */
  warntimeMs: number;
}

/** What a tick found: peers newly declared dead and peers newly late. */
export interface LivenessTick {
  /** Peers silent for deadtime, removed from the alive set. */
  dead: string[];
  /** Peers silent for warntime, reported once per silence. */
  late: string[];
}

/** Tracks when each peer was last heard and which peers are alive. */
export class Liveness {
  readonly #timing: LivenessTiming;
  readonly #lastHeard = new Map<string, number>();
  readonly #warned = new Set<string>();

  /** Creates a tracker; deadtime must exceed warntime when warntime is set. */
  constructor(timing: LivenessTiming) {
    if (timing.deadtimeMs <= 0) throw new RangeError("deadtime must be positive");
    this.#timing = timing;
  }

  /** Records a heartbeat from `peer` at `now`; returns true when the peer just came alive. */
  heard(peer: string, now: number): boolean {
    const cameUp = !this.#lastHeard.has(peer);
    this.#lastHeard.set(peer, now);
    this.#warned.delete(peer);
    return cameUp;
  }

  /** Advances time: declares silent peers dead and reports late ones. */
  tick(now: number): LivenessTick {
    const dead: string[] = [];
    const late: string[] = [];
    for (const [peer, last] of this.#lastHeard) {
      const silence = now - last;
      if (silence >= this.#timing.deadtimeMs) {
        dead.push(peer);
      } else if (
        this.#timing.warntimeMs > 0 && silence >= this.#timing.warntimeMs && !this.#warned.has(peer)
      ) {
        this.#warned.add(peer);
        late.push(peer);
      }
    }
    for (const peer of dead) this.forget(peer);
    return { dead, late };
  }

  /** Earliest time a peer becomes late or dead without news, or null if none is alive. */
  nextDeadline(): number | null {
    let next: number | null = null;
    const { deadtimeMs, warntimeMs } = this.#timing;
    for (const [peer, last] of this.#lastHeard) {
      const at = warntimeMs > 0 && !this.#warned.has(peer) ? last + warntimeMs : last + deadtimeMs;
      if (next === null || at < next) next = at;
    }
    return next;
  }

  /** Drops a peer (it is dead, or restarted with a new incarnation). */
  forget(peer: string): void {
    this.#lastHeard.delete(peer);
    this.#warned.delete(peer);
  }

  /** Peers currently alive, sorted. */
  alive(): string[] {
    return [...this.#lastHeard.keys()].sort();
  }

  /** Whether `peer` is alive. */
  isAlive(peer: string): boolean {
    return this.#lastHeard.has(peer);
  }

  /** When `peer` was last heard, if alive. */
  lastHeard(peer: string): number | undefined {
    return this.#lastHeard.get(peer);
  }
}
