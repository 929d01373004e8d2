/**
 * The local resource manager's bookkeeping: what each resource is doing on this
 * node, which operations are running, and which DC actions are done; plus the
 * history the status page and the CIB show: the last run of each operation per
 * interval (rc, status, duration, output tail), the fail count and the last failure.
 *
 * Pure: it decides which operation to run next and records results; the shell
 * runs the agents (see executor.ts) and feeds results back.
 *
 * One operation runs per resource at a time; a request that arrives while one
 * is running waits in that resource's queue (bounded).
 *
 * @example
 * ```ts
 * const lrm = new LrmState();
 * const op = lrm.request({ resource: "web", action: "start", agent: "Dummy", params: {},
 *   origin: "dc", actionId: "n1:1:1:web_start_n1", requestedBy: "n1" }, 10_000)!;
 * lrm.complete(op.opId, 0, 5, { status: "done", durationMs: 4, output: "" });
 * lrm.details().web.ops[0].rcText; // "ok"
 * ```
 * @module
 */

import type { ResourceState, ResourceStatus } from "../cib/cib.ts";
import { isRunningCode, OCF_CODES } from "./ocf_codes.ts";
import { tailBytes } from "./output_tail.ts";
import {
  type FailureRecord,
  historyKey,
  type LrmAction,
  makeRecord,
  MAX_RECORD_OUTPUT_BYTES,
  type OperationDetail,
  type OperationOrigin,
  type OperationRecord,
} from "./operation_record.ts";

export type { FailureRecord, LrmAction, OperationDetail, OperationOrigin, OperationRecord };
export { MAX_RECORD_OUTPUT_BYTES };

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
  /** Interval of a recurring monitor, ms (absent: a one-shot operation or a probe). */
  intervalMs?: number;
  /** The operation's timeout, ms (absent: the agent's default for the action). */
  timeoutMs?: number;
  /** Monitor depth (OCF_CHECK_LEVEL), for monitors. */
  depth?: number;
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

/** How the recurring monitor of a resource runs (besides its interval). */
export interface MonitorSettings {
  /** Timeout of each recurring monitor, ms (absent: the agent's default). */
  timeoutMs?: number;
  /** Depth of each recurring monitor (OCF_CHECK_LEVEL; absent: 0). */
  depth?: number;
}

/** A configured resource, as {@link LrmState.probeAll} needs it. */
export interface ProbeTarget {
  /** Resource id. */
  id: string;
  /** Agent name. */
  agent: string;
  /** Agent parameters. */
  params: Record<string, unknown>;
  /** Interval of its recurring monitor, ms (0: none). */
  monitorMs: number;
}

/** Everything the LRM knows about one resource here, for the status page and the CIB. */
export interface LrmResourceDetail extends ResourceStatus {
  /** The agent it runs with. */
  agent: string;
  /** Interval of its recurring monitor, ms (0: none). */
  monitorMs: number;
  /** The operation running now, if any. */
  running: { opId: string; action: LrmAction; origin: OperationOrigin } | null;
  /** How many operations wait behind it. */
  queued: number;
  /** The last failed operation, or null (also after a cleanup). */
  lastFailure: FailureRecord | null;
  /** The last run of each operation and interval, oldest call first. */
  ops: OperationRecord[];
}

interface LrmResource {
  status: ResourceStatus;
  agent: string;
  params: Record<string, unknown>;
  monitorMs: number;
  monitor: MonitorSettings;
  nextMonitorAt: number;
  running: LrmOperation | null;
  queue: LrmOperation[];
  /** Last record per {@link historyKey}. */
  history: Map<string, OperationRecord>;
  lastFailure: FailureRecord | null;
}

const MAX_QUEUE = 8;
const MAX_DONE = 64;
/** History keys kept per resource (action x interval); the oldest call is dropped beyond. */
const MAX_HISTORY = 16;

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
   * Every resource with its state, fail count, last failure and the last run of each
   * operation (with output tails): what the status page shows and the CIB status records.
   *
   * @param opts `outputBytes`: cut each record's output to its last this many bytes
   *   (0: no output), e.g. for a compact copy in the CIB; default: as kept (at most
   *   {@link MAX_RECORD_OUTPUT_BYTES})
   */
  details(opts: { outputBytes?: number } = {}): Record<string, LrmResourceDetail> {
    const cut = opts.outputBytes;
    if (cut !== undefined && !(Number.isInteger(cut) && cut >= 0)) {
      throw new RangeError(`outputBytes must be a non-negative integer, got ${cut}`);
    }
    const output = (text: string) =>
      cut === undefined || text.length === 0 ? text : cut === 0 ? "" : tailBytes(text, cut);
    const out: Record<string, LrmResourceDetail> = {};
    for (const [id, r] of [...this.#resources].sort(([a], [b]) => (a < b ? -1 : 1))) {
      out[id] = {
        ...r.status,
        agent: r.agent,
        monitorMs: r.monitorMs,
        running: r.running
          ? { opId: r.running.opId, action: r.running.action, origin: r.running.origin }
          : null,
        queued: r.queue.length,
        lastFailure: r.lastFailure ? { ...r.lastFailure } : null,
        ops: [...r.history.values()].sort((a, b) => a.callId - b.callId)
          .map((o) => ({ ...o, output: output(o.output) })),
      };
    }
    return out;
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
   *
   * A start or a probe also sets how the resource is monitored from then on:
   * `monitorMs` (0: no recurring monitor) and `monitor` (timeout and depth).
   */
  request(
    req: Omit<LrmOperation, "opId">,
    monitorMs: number,
    monitor: MonitorSettings = {},
  ): LrmOperation | null {
    const r = this.#resource(req.resource, req.agent, req.params);
    if (req.action === "start" || req.origin === "probe") {
      r.agent = req.agent;
      r.params = req.params;
      r.monitorMs = monitorMs;
      r.monitor = { ...monitor };
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

  /**
   * Probes (one-shot monitors, interval 0) of the given resources, to learn what runs
   * here: at start-up and when this node joins a membership. A resource with an
   * operation running or queued is skipped (that operation will tell).
   */
  probeAll(resources: readonly ProbeTarget[]): LrmOperation[] {
    const out: LrmOperation[] = [];
    for (const t of resources) {
      const r = this.#resources.get(t.id);
      if (r && (r.running || r.queue.length)) continue;
      const op = this.request(
        { resource: t.id, action: "monitor", agent: t.agent, params: t.params, origin: "probe" },
        t.monitorMs,
        r?.monitor,
      );
      if (op) out.push(op);
    }
    return out;
  }

  /**
   * Records an operation's result; returns the outcome and the next queued operation.
   *
   * @param opId the finished run
   * @param rc its OCF code (or raw exit code)
   * @param now the core's clock
   * @param detail what the shell knows besides the rc (status, duration, output, start)
   */
  complete(
    opId: string,
    rc: number,
    now: number,
    detail?: OperationDetail,
  ): { outcome?: LrmOutcome; next?: LrmOperation } {
    for (const [, r] of this.#resources) {
      if (r.running?.opId !== opId) continue;
      const op = r.running;
      const before = r.status.state;
      const after = nextState(op, rc, before);
      const ok = op.action === "monitor" ? after !== "failed" : rc === OCF_CODES.OK;
      const failed = after === "failed" && !(op.action === "monitor" && before === "failed");
      r.status = {
        state: after,
        failCount: r.status.failCount + (failed ? 1 : 0),
        lastRc: rc,
      };
      this.#record(r, op, rc, now, ok, detail);
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

  /**
   * Forgets the failures of `resource` here (fail count 0, no last failure), as
   * `crm_resource --cleanup` does, so the policy engine may place it here again.
   *
   * @returns false when the resource is unknown here
   */
  cleanup(resource: string): boolean {
    const r = this.#resources.get(resource);
    if (!r) return false;
    if (r.status.failCount !== 0 || r.lastFailure) {
      r.status = { ...r.status, failCount: 0 };
      r.lastFailure = null;
      this.#seq++;
    }
    return true;
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
        intervalMs: r.monitorMs,
        ...(r.monitor.timeoutMs !== undefined ? { timeoutMs: r.monitor.timeoutMs } : {}),
        ...(r.monitor.depth !== undefined ? { depth: r.monitor.depth } : {}),
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
        status: { state: "stopped", failCount: 0, lastRc: OCF_CODES.NOT_RUNNING },
        agent,
        params,
        monitorMs: 0,
        monitor: {},
        nextMonitorAt: 0,
        running: null,
        queue: [],
        history: new Map(),
        lastFailure: null,
      };
      this.#resources.set(id, r);
    }
    return r;
  }

  #record(
    r: LrmResource,
    op: LrmOperation,
    rc: number,
    now: number,
    ok: boolean,
    detail: OperationDetail | undefined,
  ): void {
    const callId = Number(op.opId.slice(2));
    const intervalMs = op.origin === "monitor" ? op.intervalMs ?? r.monitorMs : 0;
    const record = makeRecord(
      { callId, opId: op.opId, action: op.action, intervalMs, origin: op.origin },
      rc,
      now,
      detail,
    );
    const key = historyKey(op.action, intervalMs);
    r.history.delete(key); // re-inserted last: the map stays in call order
    r.history.set(key, record);
    if (r.history.size > MAX_HISTORY) r.history.delete(r.history.keys().next().value!);
    if (!ok) {
      r.lastFailure = {
        at: record.startedAt + record.durationMs,
        action: op.action,
        intervalMs,
        rc,
        rcText: record.rcText,
        status: record.status,
        callId,
      };
    }
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
      return rc === OCF_CODES.OK ? "started" : "failed";
    case "stop":
      return rc === OCF_CODES.OK ? "stopped" : "failed";
    case "monitor":
      // Promoted and degraded count as running: Vigil has no roles (yet) to tell apart.
      if (isRunningCode(rc)) return "started";
      if (rc === OCF_CODES.NOT_RUNNING) {
        // A probe that finds nothing is a clean "stopped"; a recurring monitor
        // that finds a started resource gone is a failure.
        return op.origin === "probe" || before === "stopped" ? "stopped" : "failed";
      }
      return "failed";
  }
}
