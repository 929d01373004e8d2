/**
 * The fencing interface the transition engine's fence actions go through, and a shell
 * implementation that runs a fence driver.
 *
 * The engine is pure: it emits a `fence` dispatch; the daemon hands it to a
 * {@link FencingInterface}, which answers at once with a request id and reports the
 * outcome later through its completion callback; the daemon feeds that back to the
 * engine as `fenced(target, ok, now)`. Only a confirmed fence (`ok`) lets the engine
 * complete the action and run what depends on it.
 *
 * {@link DriverFencing} runs one fence-driver definition (plugins/fence_driver.ts) with
 * its parsed parameters: requests for the same target run one after another (two
 * power operations on one outlet must not interleave), requests for different targets
 * run in parallel, each bounded by its timeout. A request identical to one still
 * waiting in that target's queue is merged with it.
 *
 * @example
 * ```ts
 * const fencing = new DriverFencing({
 *   driver: testFenceDriver,
 *   params: parseFenceDriverParams(testFenceDriver, { stateFile }, "n1.json: fencing"),
 *   onComplete: (c) => step({ type: "fenced", now: Date.now(), target: c.target, ok: c.ok }),
 * });
 * fencing.fence("n2", "reboot", Date.now()); // "fence-1"
 * await fencing.close();
 * ```
 * @module
 */

import {
  type FenceAction,
  type FenceDriverDefinition,
  runFenceAction,
} from "../../plugins/fence_driver.ts";

/** Where the transition engine's fence requests go. */
export interface FencingInterface {
  /**
   * Asks for `target` to be fenced with `action`. Returns at once with the request's id;
   * the outcome is reported later (never synchronously, never more than once per id).
   */
  fence(target: string, action: FenceAction, now: number): string;
}

/** The outcome of one fencing request. */
export interface FenceCompletion {
  /** The id {@link FencingInterface.fence} returned. */
  requestId: string;
  /** The node fenced (or not). */
  target: string;
  /** The action asked for. */
  action: FenceAction;
  /** True only when the device confirmed the action. */
  ok: boolean;
  /** True when the driver call was cut off at its timeout. */
  timedOut: boolean;
  /** One sentence for the log and the fencing history. */
  detail: string;
  /** The `now` the request was made at. */
  requestedAt: number;
}

/** How {@link DriverFencing} runs a driver. */
export interface DriverFencingOptions<P> {
  /** The fence driver. */
  driver: FenceDriverDefinition<P>;
  /** Its device parameters, already parsed with its schema. */
  params: P;
  /** Timeout of each fence call (default: the driver's `timeouts.fence`). */
  timeoutMs?: number;
  /** Called once per request with its outcome (asynchronously). */
  onComplete: (completion: FenceCompletion) => void;
  /** Receives the driver's output lines, prefixed with the request id. */
  log?: (line: string) => void;
  /** Most requests waiting or running per target (default 4); more fail at once. */
  maxQueuedPerTarget?: number;
  /** Most targets with requests at a time (default 1024); more fail at once. */
  maxTargets?: number;
}

/** Default bound on requests per target. */
export const DEFAULT_MAX_QUEUED_PER_TARGET = 4;
/** Default bound on targets with requests. */
export const DEFAULT_MAX_FENCE_TARGETS = 1024;

interface Request {
  id: string;
  target: string;
  action: FenceAction;
  requestedAt: number;
  running: boolean;
}

/** Runs a fence driver for the transition engine, one request per target at a time. */
export class DriverFencing<P> implements FencingInterface {
  readonly #opts: DriverFencingOptions<P>;
  readonly #maxPerTarget: number;
  readonly #maxTargets: number;
  /** Per target: the request running (first) and those waiting behind it. */
  readonly #queues = new Map<string, Request[]>();
  readonly #controller = new AbortController();
  readonly #running = new Set<Promise<void>>();
  #counter = 0;
  #closed = false;

  /** Creates the interface; nothing runs until {@link fence} is called. */
  constructor(opts: DriverFencingOptions<P>) {
    this.#opts = opts;
    this.#maxPerTarget = opts.maxQueuedPerTarget ?? DEFAULT_MAX_QUEUED_PER_TARGET;
    this.#maxTargets = opts.maxTargets ?? DEFAULT_MAX_FENCE_TARGETS;
    if (!Number.isInteger(this.#maxPerTarget) || this.#maxPerTarget < 1) {
      throw new RangeError(`maxQueuedPerTarget must be >= 1, got ${this.#maxPerTarget}`);
    }
    if (!Number.isInteger(this.#maxTargets) || this.#maxTargets < 1) {
      throw new RangeError(`maxTargets must be >= 1, got ${this.#maxTargets}`);
    }
  }

  /** Requests waiting or running for `target` (or for every target). */
  pending(target?: string): number {
    if (target !== undefined) return this.#queues.get(target)?.length ?? 0;
    let n = 0;
    for (const q of this.#queues.values()) n += q.length;
    return n;
  }

  /** Queues a fence of `target`; see {@link FencingInterface.fence}. */
  fence(target: string, action: FenceAction, now: number): string {
    const queue = this.#queues.get(target);
    // Merge with an identical request still waiting: one power cycle serves both.
    const waiting = queue?.find((r) => !r.running && r.action === action);
    if (waiting) return waiting.id;
    const request: Request = {
      id: `fence-${++this.#counter}`,
      target,
      action,
      requestedAt: now,
      running: false,
    };
    const refuse = this.#closed
      ? "fencing is shut down"
      : queue && queue.length >= this.#maxPerTarget
      ? `${queue.length} requests for ${target} already queued`
      : !queue && this.#queues.size >= this.#maxTargets
      ? `requests for ${this.#queues.size} targets already queued`
      : null;
    if (refuse !== null) {
      // Reported asynchronously like every other outcome: the caller may be mid-step.
      this.#track(Promise.resolve().then(() => this.#report(request, false, false, refuse)));
      return request.id;
    }
    if (queue) {
      queue.push(request);
    } else {
      this.#queues.set(target, [request]);
      this.#track(this.#drain(target));
    }
    return request.id;
  }

  /**
   * Stops: running driver calls are aborted (reported as failed), waiting requests fail,
   * and later requests fail at once. Resolves when every outcome has been reported.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#controller.abort(new Error("fencing is shut down"));
    // Bounded: each round waits for the calls running now; no new ones start once closed.
    for (let round = 0; round < 10 && this.#running.size > 0; round++) {
      await Promise.allSettled([...this.#running]);
    }
  }

  #track(p: Promise<void>): void {
    const tracked = p.catch(() => {}).finally(() => this.#running.delete(tracked));
    this.#running.add(tracked);
  }

  /** Runs `target`'s requests in order until its queue is empty. */
  async #drain(target: string): Promise<void> {
    const queue = this.#queues.get(target)!;
    // Each turn removes one request; the queue is bounded by maxQueuedPerTarget.
    while (queue.length > 0) {
      const request = queue[0];
      request.running = true;
      if (this.#closed) {
        this.#report(request, false, false, "fencing is shut down");
      } else {
        const log = this.#opts.log ?? (() => {});
        const outcome = await runFenceAction(this.#opts.driver, request.action, {
          params: this.#opts.params,
          target,
          ...(this.#opts.timeoutMs !== undefined ? { timeoutMs: this.#opts.timeoutMs } : {}),
          log: (line) => log(`${request.id} ${request.action} ${target}: ${line}`),
          signal: this.#controller.signal,
        });
        this.#report(request, outcome.ok, outcome.timedOut, outcome.detail);
      }
      queue.shift();
    }
    this.#queues.delete(target);
  }

  #report(request: Request, ok: boolean, timedOut: boolean, detail: string): void {
    try {
      this.#opts.onComplete({
        requestId: request.id,
        target: request.target,
        action: request.action,
        ok,
        timedOut,
        detail,
        requestedAt: request.requestedAt,
      });
    } catch (err) {
      // A throwing callback must not stall the target's queue.
      this.#opts.log?.(`${request.id}: completion handler threw: ${String(err)}`);
    }
  }
}
