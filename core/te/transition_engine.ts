/**
 * The transition engine: carries out one transition graph on the cluster.
 *
 * A pure state machine. It dispatches each action once everything it depends
 * on has completed (in parallel where the graph allows), re-sends actions whose
 * result has not arrived (delivery is unreliable; the LRM ignores duplicates),
 * fails actions that time out or whose node leaves the membership, and aborts
 * on any failure: nothing new is dispatched, in-flight actions are waited for,
 * and then the engine is idle so the DC can ask the policy engine again.
 *
 * @example
 * ```ts
 * const te = new TransitionEngine({ resendMs: 200 });
 * te.start(1, [stopA, startB], 0); // dispatches stopA
 * te.result(stopA.id, true, 10); // dispatches startB
 * ```
 * @module
 */

import type { PlannedAction } from "../pe/policy_engine.ts";

/** Progress of one action. */
export type ActionProgress = "pending" | "in-flight" | "done" | "failed";

/** An action to send to its node now (first time or again). */
export interface Dispatch {
  /** Transition the action belongs to. */
  transition: number;
  /** The action. */
  action: PlannedAction;
  /** Whether this is a re-send. */
  resend: boolean;
}

/** Timing of the engine. */
export interface TransitionTiming {
  /** Re-send an in-flight action after this long without a result. */
  resendMs: number;
  /** Deadline of an action from its first dispatch (default: 60 s). */
  timeoutMs?: (action: PlannedAction) => number;
}

interface Tracked {
  action: PlannedAction;
  progress: ActionProgress;
  firstSentAt: number;
  lastSentAt: number;
}

/** Runs one transition at a time. */
export class TransitionEngine {
  readonly #timing: TransitionTiming;
  #id = 0;
  #actions = new Map<string, Tracked>();
  #aborted: string | null = null;
  #completed = 0;

  /** Creates an idle engine. */
  constructor(timing: TransitionTiming) {
    this.#timing = timing;
  }

  /** Id of the current (or last) transition. */
  get transition(): number {
    return this.#id;
  }

  /** True while a transition has actions that are pending or in flight. */
  get busy(): boolean {
    for (const t of this.#actions.values()) {
      if (t.progress === "in-flight") return true;
      if (t.progress === "pending" && this.#aborted === null) return true;
    }
    return false;
  }

  /** Why the current transition was aborted, or null. */
  get abortReason(): string | null {
    return this.#aborted;
  }

  /** Number of actions completed successfully since creation. */
  get completedActions(): number {
    return this.#completed;
  }

  /** Progress of each action of the current transition. */
  progress(): Record<string, ActionProgress> {
    return Object.fromEntries([...this.#actions].map(([id, t]) => [id, t.progress]));
  }

  /** Starts transition `id`; the previous one must be idle. Returns the first dispatches. */
  start(id: number, actions: readonly PlannedAction[], now: number): Dispatch[] {
    if (this.busy) throw new Error(`transition ${this.#id} is still busy`);
    const ids = new Set(actions.map((a) => a.id));
    for (const a of actions) {
      for (const dep of a.after) {
        if (!ids.has(dep)) throw new Error(`action ${a.id} depends on unknown ${dep}`);
      }
    }
    this.#id = id;
    this.#aborted = null;
    this.#actions = new Map(
      actions.map((a) => [a.id, { action: a, progress: "pending", firstSentAt: 0, lastSentAt: 0 }]),
    );
    return this.#dispatchReady(now);
  }

  /** Records the result of an action; failures abort the transition. */
  result(actionId: string, ok: boolean, now: number): Dispatch[] {
    const t = this.#actions.get(actionId);
    if (!t || t.progress !== "in-flight") return [];
    t.progress = ok ? "done" : "failed";
    if (ok) this.#completed++;
    else this.abort(`action ${actionId} failed`);
    return this.#dispatchReady(now);
  }

  /** Stops dispatching; in-flight actions are still waited for. */
  abort(reason: string): void {
    if (this.#aborted === null) this.#aborted = reason;
  }

  /**
   * Advances time: fails actions past their deadline or on nodes outside
   * `members`, and re-sends in-flight actions that are overdue.
   */
  tick(now: number, members: readonly string[]): Dispatch[] {
    const out: Dispatch[] = [];
    for (const t of this.#actions.values()) {
      if (t.progress !== "in-flight") continue;
      const deadline = this.#timing.timeoutMs?.(t.action) ?? 60_000;
      if (!members.includes(t.action.node)) {
        t.progress = "failed";
        this.abort(`node ${t.action.node} left during ${t.action.id}`);
      } else if (now - t.firstSentAt >= deadline) {
        t.progress = "failed";
        this.abort(`action ${t.action.id} timed out after ${deadline} ms`);
      } else if (now - t.lastSentAt >= this.#timing.resendMs) {
        t.lastSentAt = now;
        out.push({ transition: this.#id, action: t.action, resend: true });
      }
    }
    return [...out, ...this.#dispatchReady(now)];
  }

  #dispatchReady(now: number): Dispatch[] {
    if (this.#aborted !== null) return [];
    const out: Dispatch[] = [];
    for (const t of this.#actions.values()) {
      if (t.progress !== "pending") continue;
      const ready = t.action.after.every((dep) => this.#actions.get(dep)?.progress === "done");
      if (!ready) continue;
      t.progress = "in-flight";
      t.firstSentAt = now;
      t.lastSentAt = now;
      out.push({ transition: this.#id, action: t.action, resend: false });
    }
    return out;
  }
}
