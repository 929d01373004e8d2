/**
 * The local resource manager's bookkeeping: what each resource is doing on this
 * node, which operations are running, and which DC actions are done.
 *
 * Pure: it decides which operation to run next and records results; the shell
 * runs the agents (see executor.ts) and feeds results back.
 *
 * One operation runs per resource at a time; a request that arrives while one
 * is running waits in that resource's queue (bounded).
 *
 * @module
 */

import type { ResourceState, ResourceStatus } from "../cib/cib.ts";

/** The operations the LRM runs. */
export type LrmAction = "start" | "stop" | "monitor";

/** Why an operation runs. */
export type OperationOrigin = "dc" | "probe" | "monitor" | "self-stop";

/** An operation for the shell to run. */
export interface LrmOperation {
  /** Unique id of this run. */
  opId: string;
  /** Resource id. */
  resource: string;
  /** Operation. */
  action: LrmAction;
  /** Agent name. */
  agent: string;
  /** Agent parameters. */
  params: Record<string, unknown>;
  /** Why it runs. */
  origin: OperationOrigin;
  /** The DC action it carries out, for origin "dc". */
  actionId?: string;
  /** The DC that asked, for origin "dc". */
  requestedBy?: string;
}

/** The result of an operation, as the LRM records it. */
export interface LrmOutcome {
  /** The finished operation. */
  op: LrmOperation;
  /** Agent exit code (OCF). */
  rc: number;
  /** Whether it achieved what was asked (start: running, stop: stopped, monitor: expected state). */
  ok: boolean;
  /** State before the operation. */
  before: ResourceState;
  /** State after. */
  after: ResourceState;
}

interface LrmResource {
  status: ResourceStatus;
  agent: string;
  params: Record<string, unknown>;
  monitorMs: number;
  nextMonitorAt: number;
  running: LrmOperation | null;
  queue: LrmOperation[];
}

const MAX_QUEUE = 8;
const MAX_DONE = 64;
const OCF_NOT_RUNNING = 7;

/** The LRM table of one node. */
export class LrmState {
  readonly #resources = new Map<string, LrmResource>();
  readonly #done = new Map<string, boolean>();
  /** When each remembered action completed (its results are advertised for a while only). */
  readonly #doneAt = new Map<string, number>();
  #seq = 0;
  #opCounter = 0;

  /** Change counter of the table (raised on every state change). */
  get seq(): number {
    return this.#seq;
  }

  /** The table as reported to the DC. */
  table(): Record<string, ResourceStatus> {
    return Object.fromEntries([...this.#resources].map(([id, r]) => [id, { ...r.status }]));
  }

  /**
   * Recently completed DC actions with their success: those completed within
   * `maxAgeMs` of `now` (all remembered ones by default).
   */
  done(now = Infinity, maxAgeMs = Infinity): [string, boolean][] {
    const out: [string, boolean][] = [];
    for (const [id, ok] of this.#done) {
      if (now - (this.#doneAt.get(id) ?? -Infinity) <= maxAgeMs) out.push([id, ok]);
    }
    return out;
  }

  /** Whether a DC action is running, queued or done here. */
  knows(actionId: string): boolean {
    if (this.#done.has(actionId)) return true;
    for (const r of this.#resources.values()) {
      if (r.running?.actionId === actionId || r.queue.some((q) => q.actionId === actionId)) {
        return true;
      }
    }
    return false;
  }

  /** Result of a completed DC action, if still remembered. */
  doneResult(actionId: string): boolean | undefined {
    return this.#done.get(actionId);
  }

  /** Resources not cleanly stopped (running, starting, stopping or failed). */
  active(): string[] {
    return [...this.#resources].filter(([, r]) => r.status.state !== "stopped").map(([id]) => id)
      .sort();
  }

  /** Whether any operation is running or queued. */
  busy(): boolean {
    for (const r of this.#resources.values()) if (r.running || r.queue.length) return true;
    return false;
  }

  /**
   * Asks for an operation; returns it when it can start now, or null when it
   * waits behind the resource's running operation (or the queue is full).
   */
  request(
    req: Omit<LrmOperation, "opId">,
    monitorMs: number,
  ): LrmOperation | null {
    const r = this.#resource(req.resource, req.agent, req.params);
    if (req.action === "start" || req.origin === "probe") {
      r.agent = req.agent;
      r.params = req.params;
      r.monitorMs = monitorMs;
    }
    // Stop and monitor use what the resource was started with.
    const op: LrmOperation = req.action === "start" || req.origin === "probe"
      ? { ...req, opId: `op${++this.#opCounter}` }
      : { ...req, agent: r.agent, params: r.params, opId: `op${++this.#opCounter}` };
    if (r.running) {
      if (r.queue.length >= MAX_QUEUE) return null;
      r.queue.push(op);
      return null;
    }
    return this.#begin(r, op);
  }

  /** Records an operation's result; returns the outcome and the next queued operation. */
  complete(opId: string, rc: number, now: number): { outcome?: LrmOutcome; next?: LrmOperation } {
    for (const [, r] of this.#resources) {
      if (r.running?.opId !== opId) continue;
      const op = r.running;
      const before = r.status.state;
      const after = nextState(op, rc, before);
      const ok = op.action === "start"
        ? rc === 0
        : op.action === "stop"
        ? rc === 0
        : after !== "failed";
      const failed = after === "failed" && !(op.action === "monitor" && before === "failed");
      r.status = {
        state: after,
        failCount: r.status.failCount + (failed ? 1 : 0),
        lastRc: rc,
      };
      if (after === "started") r.nextMonitorAt = now + r.monitorMs;
      if (op.actionId) {
        this.#done.set(op.actionId, ok);
        this.#doneAt.set(op.actionId, now);
        if (this.#done.size > MAX_DONE) {
          const oldest = this.#done.keys().next().value!;
          this.#done.delete(oldest);
          this.#doneAt.delete(oldest);
        }
      }
      this.#seq++;
      r.running = null;
      const queued = r.queue.shift();
      return {
        outcome: { op, rc, ok, before, after },
        next: queued ? this.#begin(r, queued) : undefined,
      };
    }
    return {};
  }

  /** Recurring monitors that are due at `now` (and are then started). */
  dueMonitors(now: number): LrmOperation[] {
    const out: LrmOperation[] = [];
    for (const [id, r] of this.#resources) {
      if (r.status.state !== "started" || r.monitorMs <= 0 || r.running || r.queue.length) continue;
      if (now < r.nextMonitorAt) continue;
      r.nextMonitorAt = now + r.monitorMs;
      out.push(this.#begin(r, {
        opId: `op${++this.#opCounter}`,
        resource: id,
        action: "monitor",
        agent: r.agent,
        params: r.params,
        origin: "monitor",
      }));
    }
    return out;
  }

  /** When the next recurring monitor falls due, or null if none is scheduled. */
  nextMonitorAt(): number | null {
    let next: number | null = null;
    for (const r of this.#resources.values()) {
      if (r.status.state !== "started" || r.monitorMs <= 0 || r.running || r.queue.length) continue;
      if (next === null || r.nextMonitorAt < next) next = r.nextMonitorAt;
    }
    return next;
  }

  /**
   * Stop operations for every active resource (used when the node must give
   * everything up), or only for those in `only`.
   */
  stopAll(only?: ReadonlySet<string>): LrmOperation[] {
    const out: LrmOperation[] = [];
    for (const [id, r] of this.#resources) {
      if (only && !only.has(id)) continue;
      if (r.queue.some((q) => q.action === "stop")) continue;
      if (r.running?.action === "stop") continue;
      // A resource with an operation in flight (a start, a monitor) may be
      // running once it ends: queue the stop behind it.
      if (!r.running && r.status.state === "stopped") continue;
      const op = this.request(
        { resource: id, action: "stop", agent: r.agent, params: r.params, origin: "self-stop" },
        r.monitorMs,
      );
      if (op) out.push(op);
    }
    return out;
  }

  #resource(id: string, agent: string, params: Record<string, unknown>): LrmResource {
    let r = this.#resources.get(id);
    if (!r) {
      r = {
        status: { state: "stopped", failCount: 0, lastRc: OCF_NOT_RUNNING },
        agent,
        params,
        monitorMs: 0,
        nextMonitorAt: 0,
        running: null,
        queue: [],
      };
      this.#resources.set(id, r);
    }
    return r;
  }

  #begin(r: LrmResource, op: LrmOperation): LrmOperation {
    r.running = op;
    const transient: ResourceState | null = op.action === "start"
      ? "starting"
      : op.action === "stop"
      ? "stopping"
      : null;
    if (transient && r.status.state !== transient) {
      r.status = { ...r.status, state: transient };
      this.#seq++;
    }
    return op;
  }
}

function nextState(op: LrmOperation, rc: number, before: ResourceState): ResourceState {
  switch (op.action) {
    case "start":
      return rc === 0 ? "started" : "failed";
    case "stop":
      return rc === 0 ? "stopped" : "failed";
    case "monitor":
      if (rc === 0) return "started";
      if (rc === OCF_NOT_RUNNING) {
        // A probe that finds nothing is a clean "stopped"; a recurring monitor
        // that finds a started resource gone is a failure.
        return op.origin === "probe" || before === "stopped" ? "stopped" : "failed";
      }
      return "failed";
  }
}
