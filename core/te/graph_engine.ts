/**
 * The transition engine for the new policy engine's graph
 * ({@link GraphAction}[] from core/pe/scheduler): carries out one transition on the
 * cluster as a pure state machine. Time comes in as `now`; what to send comes out as
 * {@link GraphDispatch}es; results, fence confirmations, membership and CIB changes
 * come back in as events.
 *
 * Rules:
 * - An action runs once every action in its `inputs` has completed; independent actions
 *   run in parallel, at most `maxInFlightPerNode` operations per node at a time (the rest
 *   wait in a per-node queue, in the order they became ready).
 * - `resource` actions are sent to their node's LRM; `probe` actions become one
 *   interval-0 `monitor` per listed resource and complete when all of them have;
 *   `shutdown` actions are sent to their node; `pseudo` actions complete as soon as their
 *   inputs have; `fence` actions go to the fencing interface and complete only when a
 *   fence of that node is confirmed ({@link GraphTransitionEngine.fenced} with ok).
 * - Nothing is ever sent to a node outside the membership: such an operation fails.
 * - Operations in flight are re-sent every `resendMs` without a result (delivery is
 *   unreliable; the LRM de-duplicates by operation id) and fail at their deadline.
 * - A failed or timed-out action, a failed fence, a membership change or a CIB change
 *   aborts the transition: nothing new is dispatched, operations and fences in flight
 *   are awaited up to their deadlines, and then the engine is idle (`aborted`, with the
 *   reason) so that the DC asks the policy engine again.
 * - A malformed graph (unknown or duplicate ids, missing inputs, a cycle, a resource
 *   action without a node, too many actions) is rejected by {@link GraphTransitionEngine.start}
 *   with a {@link GraphError} that names the action.
 *
 * @example
 * ```ts
 * const te = new GraphTransitionEngine({
 *   resendMs: 1_000,
 *   operationTimeoutMs: () => 20_000,
 *   fenceTimeoutMs: () => 60_000,
 * });
 * let out = te.start(1, graph, now, { members: ["n1", "n2"] });
 * // send each out[i] (kind "operation" to out[i].node's LRM, kind "fence" to the fencing
 * // interface), then feed back: te.result(opId, ok, now), te.fenced(node, ok, now), te.tick(now)
 * if (!te.busy) console.log(te.state, te.reason); // "finished" | "aborted", why
 * ```
 * @module
 */

import type { GraphAction } from "../pe/scheduler/graph.ts";
import { FENCE_ACTIONS, type FenceAction } from "../../plugins/fence_driver.ts";

/** Where the engine is: never started, running, draining after an abort, or done. */
export type GraphEngineState = "idle" | "running" | "aborting" | "finished" | "aborted";

/**
 * Progress of one graph action. `cancelled`: it had begun when the transition was
 * aborted, and some of its operations (a probe's) were never sent, so it cannot complete.
 */
export type GraphActionProgress = "pending" | "in-flight" | "done" | "failed" | "cancelled";

/** What an LRM operation is about: the input of the timeout function. */
export interface OperationTarget {
  /** The node whose LRM runs it. */
  node: string;
  /** The resource (primitive instance id). */
  resource: string;
  /** start, stop, monitor, ... (probes are `monitor` with interval 0). */
  operation: string;
  /** Interval of a recurring operation in ms (0: not recurring). */
  intervalMs: number;
  /** True for one resource of a probe action (rc "not running" is a success). */
  probe: boolean;
}

/** An agent operation to send to a node's LRM (first time or again). */
export interface OperationDispatch extends OperationTarget {
  /** Discriminates the dispatch. */
  kind: "operation";
  /** The transition it belongs to. */
  transition: number;
  /**
   * Unique within the transition: `"ID"` for a resource action, `"ID/I"` for resource
   * `I` of probe action `ID`. Results come back with it ({@link GraphTransitionEngine.result}).
   */
  opId: string;
  /** The graph action's id. */
  actionId: number;
  /** The graph action's key (`web_start_0`), for logs. */
  key: string;
  /** The engine's deadline for it, counted from its first dispatch. */
  timeoutMs: number;
  /** True when this is a re-send of an operation already dispatched. */
  resend: boolean;
}

/** A request that a node stop its cluster stack (first time or again). */
export interface ShutdownDispatch {
  /** Discriminates the dispatch. */
  kind: "shutdown";
  /** The transition it belongs to. */
  transition: number;
  /** Unique within the transition (`"ID"`); the node answers with it. */
  opId: string;
  /** The graph action's id. */
  actionId: number;
  /** The node to shut down. */
  node: string;
  /** The engine's deadline for it, counted from its first dispatch. */
  timeoutMs: number;
  /** True when this is a re-send. */
  resend: boolean;
}

/** A fencing request for the fencing interface (sent once; the interface reports back). */
export interface FenceDispatch {
  /** Discriminates the dispatch. */
  kind: "fence";
  /** The transition it belongs to. */
  transition: number;
  /** The graph action's id. */
  actionId: number;
  /** The node to fence. */
  target: string;
  /** reboot, off or on. */
  action: FenceAction;
  /** The engine's deadline for the confirmation, counted from the dispatch. */
  timeoutMs: number;
}

/** Something the engine wants done now. */
export type GraphDispatch = OperationDispatch | ShutdownDispatch | FenceDispatch;

/** Timing, bounds and checks of the engine. */
export interface GraphEngineOptions {
  /** Re-send an operation in flight after this long without a result (ms, > 0). */
  resendMs: number;
  /** Deadline of an LRM operation from its first dispatch (ms, > 0). */
  operationTimeoutMs: (op: OperationTarget) => number;
  /** Deadline of a fence confirmation from its dispatch (ms, > 0). */
  fenceTimeoutMs: (target: string, action: FenceAction) => number;
  /** Deadline of a shutdown from its dispatch (ms, > 0; default 120 s). */
  shutdownTimeoutMs?: (node: string) => number;
  /** Most operations in flight on one node at a time (default 8). */
  maxInFlightPerNode?: number;
  /** Largest graph accepted, in actions (default 100,000). */
  maxActions?: number;
  /** Most LRM operations in one graph, probes counted per resource (default 1,000,000). */
  maxOperations?: number;
  /** Check every invariant after every event (O(graph) each; for tests and simulations). */
  checkInvariants?: boolean;
}

/** Counters since the engine was created. */
export interface GraphEngineStats {
  /** Operations, shutdowns and fences dispatched for the first time. */
  dispatched: number;
  /** Re-sends. */
  resent: number;
  /** Actions completed successfully (pseudo actions included). */
  completed: number;
  /** Actions that failed or timed out. */
  failed: number;
  /** Transitions aborted. */
  aborted: number;
}

/** A graph the engine refuses to run; the message names the action and what is wrong. */
export class GraphError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "GraphError";
  }
}

/** Default bound on in-flight operations per node. */
export const DEFAULT_MAX_IN_FLIGHT_PER_NODE = 8;
/** Default bound on the number of actions in one graph. */
export const DEFAULT_MAX_ACTIONS = 100_000;
/** Default bound on the number of LRM operations in one graph. */
export const DEFAULT_MAX_OPERATIONS = 1_000_000;
/** Default deadline of a shutdown action. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 120_000;
/** Longest detail kept in an abort reason. */
const MAX_DETAIL_CHARS = 300;

type OpState = "queued" | "sent" | "done" | "failed" | "dropped";

/** One message-carried unit: an LRM operation or a shutdown request. */
interface Op {
  opId: string;
  action: Tracked;
  target: OperationTarget | null;
  node: string;
  state: OpState;
  firstSentAt: number;
  lastSentAt: number;
  timeoutMs: number;
}

interface Tracked {
  action: GraphAction;
  progress: GraphActionProgress;
  /** Inputs not yet done. */
  waitingFor: number;
  /** Actions that list this one as an input. */
  dependants: Tracked[];
  /** LRM operations / shutdown request (empty for pseudo and fence actions). */
  ops: Op[];
  /** Ops not yet done. */
  opsLeft: number;
  /** Fence actions: when the request was dispatched, and its deadline. */
  fenceSentAt: number;
  fenceTimeoutMs: number;
}

/** Runs one transition graph at a time. */
export class GraphTransitionEngine {
  readonly #opts: Required<Omit<GraphEngineOptions, "shutdownTimeoutMs">> & {
    shutdownTimeoutMs: (node: string) => number;
  };
  #transition = 0;
  #state: GraphEngineState = "idle";
  #reason: string | null = null;
  #members = new Set<string>();
  #actions = new Map<number, Tracked>();
  #ops = new Map<string, Op>();
  /** Operations waiting for a slot on their node, FIFO. */
  #queues = new Map<string, Op[]>();
  #sentPerNode = new Map<string, number>();
  /** Fence actions in flight. */
  #fences = new Set<Tracked>();
  #sentOps = 0;
  #notDone = 0;
  #abortedAt = -1;
  #stats: GraphEngineStats = { dispatched: 0, resent: 0, completed: 0, failed: 0, aborted: 0 };

  /** Creates an idle engine. */
  constructor(opts: GraphEngineOptions) {
    const maxInFlightPerNode = opts.maxInFlightPerNode ?? DEFAULT_MAX_IN_FLIGHT_PER_NODE;
    const maxActions = opts.maxActions ?? DEFAULT_MAX_ACTIONS;
    const maxOperations = opts.maxOperations ?? DEFAULT_MAX_OPERATIONS;
    if (!(opts.resendMs > 0)) throw new RangeError(`resendMs must be > 0, got ${opts.resendMs}`);
    for (
      const [name, v] of [
        ["maxInFlightPerNode", maxInFlightPerNode],
        ["maxActions", maxActions],
        ["maxOperations", maxOperations],
      ] as const
    ) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be >= 1, got ${v}`);
    }
    this.#opts = {
      resendMs: opts.resendMs,
      operationTimeoutMs: opts.operationTimeoutMs,
      fenceTimeoutMs: opts.fenceTimeoutMs,
      shutdownTimeoutMs: opts.shutdownTimeoutMs ?? (() => DEFAULT_SHUTDOWN_TIMEOUT_MS),
      maxInFlightPerNode,
      maxActions,
      maxOperations,
      checkInvariants: opts.checkInvariants ?? false,
    };
  }

  /** Id of the current (or last) transition; 0 before the first. */
  get transition(): number {
    return this.#transition;
  }

  /** Where the engine is. */
  get state(): GraphEngineState {
    return this.#state;
  }

  /** True while a transition runs or drains after an abort (then {@link start} is refused). */
  get busy(): boolean {
    return this.#state === "running" || this.#state === "aborting";
  }

  /** Why the current (or last) transition was aborted, or null. */
  get reason(): string | null {
    return this.#reason;
  }

  /** Counters since creation. */
  get stats(): Readonly<GraphEngineStats> {
    return { ...this.#stats };
  }

  /** Operations (and shutdowns) currently in flight on `node`. */
  inFlightOn(node: string): number {
    return this.#sentPerNode.get(node) ?? 0;
  }

  /** Progress of each action of the current transition, by id. */
  progress(): Map<number, GraphActionProgress> {
    return new Map([...this.#actions].map(([id, t]) => [id, t.progress]));
  }

  /**
   * Starts transition `transitionId` (an integer above the previous one) on `graph`.
   *
   * @returns the first dispatches
   * @throws {GraphError} when the graph is malformed (nothing is started then)
   * @throws Error when the previous transition is still busy
   */
  start(
    transitionId: number,
    graph: readonly GraphAction[],
    now: number,
    ctx: { members: readonly string[] },
  ): GraphDispatch[] {
    if (this.busy) throw new Error(`transition ${this.#transition} is still ${this.#state}`);
    if (!Number.isSafeInteger(transitionId) || transitionId <= this.#transition) {
      throw new Error(
        `transition id ${transitionId} must be an integer above ${this.#transition}`,
      );
    }
    const actions = this.#validate(graph);
    this.#transition = transitionId;
    this.#state = "running";
    this.#reason = null;
    this.#abortedAt = -1;
    this.#members = new Set(ctx.members);
    this.#actions = actions;
    this.#ops = new Map();
    this.#queues = new Map();
    this.#sentPerNode = new Map();
    this.#fences = new Set();
    this.#sentOps = 0;
    this.#notDone = actions.size;
    const out: GraphDispatch[] = [];
    // Everything without inputs is ready; complete them in id order (deterministic).
    const ready = [...actions.values()].filter((t) => t.waitingFor === 0)
      .sort((a, b) => a.action.id - b.action.id);
    for (const t of ready) this.#begin(t, now, out);
    return this.#settle(now, out);
  }

  /**
   * The result of operation `opId` (a dispatch's `opId`). Duplicates, late results and
   * unknown ids are ignored. A failure aborts the transition.
   */
  result(opId: string, ok: boolean, now: number, detail?: string): GraphDispatch[] {
    const op = this.#ops.get(opId);
    if (!op || op.state !== "sent") return [];
    const out: GraphDispatch[] = [];
    this.#release(op, ok ? "done" : "failed");
    if (ok) {
      this.#opDone(op, now, out);
    } else {
      const why = detail ? `: ${detail.slice(0, MAX_DETAIL_CHARS)}` : "";
      this.#fail(op.action, `${describe(op)} failed${why}`, now);
    }
    return this.#settle(now, out);
  }

  /**
   * The fencing interface's report on `node`: `ok` only when the fence was confirmed.
   * Completes (or, when not ok, fails) every fence action of `node` in flight.
   */
  fenced(node: string, ok: boolean, now: number, detail?: string): GraphDispatch[] {
    const out: GraphDispatch[] = [];
    for (const t of [...this.#fences]) {
      if (t.action.node !== node) continue;
      this.#fences.delete(t);
      if (ok) {
        this.#complete(t, now, out);
      } else {
        const why = detail ? `: ${detail.slice(0, MAX_DETAIL_CHARS)}` : "";
        this.#fail(t, `fencing of ${node} (${t.action.key}) failed${why}`, now);
      }
    }
    return this.#settle(now, out);
  }

  /**
   * A new agreed membership. Aborts a running transition (the policy engine must look
   * again); operations in flight on nodes that left fail at once (no result will come).
   * Call it once per new membership, not on every tick.
   */
  membershipChanged(members: readonly string[], now: number): GraphDispatch[] {
    const next = new Set(members);
    const left = [...this.#members].filter((m) => !next.has(m));
    const joined = [...next].filter((m) => !this.#members.has(m));
    this.#members = next;
    if (!this.busy) return [];
    const diff = [
      ...(left.length ? [`left: ${left.join(", ")}`] : []),
      ...(joined.length ? [`joined: ${joined.join(", ")}`] : []),
    ];
    this.#abort(`membership changed${diff.length ? ` (${diff.join("; ")})` : ""}`, now);
    for (const op of this.#ops.values()) {
      if (op.state === "sent" && !next.has(op.node)) {
        this.#release(op, "failed");
        this.#markFailed(op.action);
      }
    }
    return this.#settle(now, []);
  }

  /** The CIB changed in a way the transition did not cause: aborts a running transition. */
  cibChanged(now: number, why = "CIB changed"): GraphDispatch[] {
    if (this.busy) this.#abort(why, now);
    return this.#settle(now, []);
  }

  /** Aborts a running transition (e.g. the node stops being DC or shuts down). */
  abort(reason: string, now: number): GraphDispatch[] {
    if (this.busy) this.#abort(reason, now);
    return this.#settle(now, []);
  }

  /**
   * Advances time: operations and fences past their deadline fail (aborting), and
   * operations in flight without a result for `resendMs` are re-sent.
   */
  tick(now: number): GraphDispatch[] {
    if (!this.busy) return [];
    const out: GraphDispatch[] = [];
    for (const op of this.#ops.values()) {
      if (op.state !== "sent") continue;
      if (!this.#members.has(op.node)) {
        // Unreachable: membershipChanged fails these. Kept as a guard.
        this.#release(op, "failed");
        this.#fail(op.action, `${describe(op)}: ${op.node} is not a member`, now);
      } else if (now - op.firstSentAt >= op.timeoutMs) {
        this.#release(op, "failed");
        this.#fail(op.action, `${describe(op)} timed out after ${op.timeoutMs} ms`, now);
      } else if (now - op.lastSentAt >= this.#opts.resendMs) {
        op.lastSentAt = now;
        this.#stats.resent++;
        out.push(this.#dispatchOf(op, true));
      }
    }
    for (const t of [...this.#fences]) {
      if (now - t.fenceSentAt < t.fenceTimeoutMs) continue;
      this.#fences.delete(t);
      this.#fail(t, `fencing of ${t.action.node} timed out after ${t.fenceTimeoutMs} ms`, now);
    }
    return this.#settle(now, out);
  }

  // --- internals ------------------------------------------------------------

  /** Checks the graph and builds the tracking table. */
  #validate(graph: readonly GraphAction[]): Map<number, Tracked> {
    if (!Array.isArray(graph)) throw new GraphError("graph: expected an array of actions");
    if (graph.length > this.#opts.maxActions) {
      throw new GraphError(
        `graph: ${graph.length} actions, more than the limit of ${this.#opts.maxActions}`,
      );
    }
    const actions = new Map<number, Tracked>();
    let operations = 0;
    for (const [index, a] of graph.entries()) {
      const where = `graph[${index}]${a && typeof a.key === "string" ? ` (${a.key})` : ""}`;
      if (a === null || typeof a !== "object") throw new GraphError(`${where}: not an action`);
      if (!Number.isSafeInteger(a.id) || a.id < 0) {
        throw new GraphError(`${where}: id must be a non-negative integer, got ${a.id}`);
      }
      if (actions.has(a.id)) throw new GraphError(`${where}: duplicate id ${a.id}`);
      if (!Array.isArray(a.inputs)) throw new GraphError(`${where}: inputs must be an array`);
      const needNode = a.type === "resource" || a.type === "probe" || a.type === "fence" ||
        a.type === "shutdown";
      if (!["resource", "pseudo", "fence", "shutdown", "probe"].includes(a.type)) {
        throw new GraphError(`${where}: unknown type ${JSON.stringify(a.type)}`);
      }
      if (needNode && (typeof a.node !== "string" || a.node === "")) {
        throw new GraphError(`${where}: a ${a.type} action needs a node`);
      }
      if (a.type === "resource") {
        if (typeof a.resource !== "string" || a.resource === "") {
          throw new GraphError(`${where}: a resource action needs a resource`);
        }
        if (typeof a.task !== "string" || a.task === "") {
          throw new GraphError(`${where}: a resource action needs a task`);
        }
        const interval = a.intervalMs ?? 0;
        if (!Number.isSafeInteger(interval) || interval < 0) {
          throw new GraphError(`${where}: intervalMs must be a non-negative integer`);
        }
        operations++;
      } else if (a.type === "probe") {
        const list = a.resources;
        if (!Array.isArray(list) || list.some((r) => typeof r !== "string" || r === "")) {
          throw new GraphError(`${where}: a probe action needs a list of resources`);
        }
        operations += list.length;
      } else if (a.type === "fence") {
        if (!(FENCE_ACTIONS as readonly string[]).includes(a.fenceAction ?? "")) {
          throw new GraphError(
            `${where}: fenceAction must be one of ${FENCE_ACTIONS.join(", ")}, got ${
              JSON.stringify(a.fenceAction)
            }`,
          );
        }
      } else if (a.type === "shutdown") {
        operations++;
      }
      if (operations > this.#opts.maxOperations) {
        throw new GraphError(
          `graph: more than ${this.#opts.maxOperations} operations (at ${where})`,
        );
      }
      actions.set(a.id, {
        action: a,
        progress: "pending",
        waitingFor: 0,
        dependants: [],
        ops: [],
        opsLeft: 0,
        fenceSentAt: 0,
        fenceTimeoutMs: 0,
      });
    }
    for (const t of actions.values()) {
      const seen = new Set<number>();
      for (const input of t.action.inputs) {
        const where = `action ${t.action.id} (${t.action.key})`;
        if (input === t.action.id) throw new GraphError(`${where}: waits for itself`);
        const first = actions.get(input);
        if (!first) throw new GraphError(`${where}: input ${input} does not exist`);
        if (seen.has(input)) continue;
        seen.add(input);
        t.waitingFor++;
        first.dependants.push(t);
      }
    }
    assertAcyclic(actions);
    return actions;
  }

  /** `t`'s inputs are all done: start it (pseudo actions complete at once). */
  #begin(t: Tracked, now: number, out: GraphDispatch[]): void {
    assert(t.progress === "pending" && t.waitingFor === 0, `begin ${t.action.id} not ready`);
    if (this.#state !== "running") return;
    const a = t.action;
    switch (a.type) {
      case "pseudo":
        this.#complete(t, now, out);
        return;
      case "fence": {
        t.progress = "in-flight";
        const action = a.fenceAction as FenceAction;
        t.fenceSentAt = now;
        t.fenceTimeoutMs = positive(this.#opts.fenceTimeoutMs(a.node!, action), "fence");
        this.#fences.add(t);
        this.#stats.dispatched++;
        out.push({
          kind: "fence",
          transition: this.#transition,
          actionId: a.id,
          target: a.node!,
          action,
          timeoutMs: t.fenceTimeoutMs,
        });
        return;
      }
      case "resource":
        this.#enqueue(t, String(a.id), {
          node: a.node!,
          resource: a.resource!,
          operation: a.task,
          intervalMs: a.intervalMs ?? 0,
          probe: false,
        });
        break;
      case "probe":
        for (const [i, resource] of a.resources!.entries()) {
          this.#enqueue(t, `${a.id}/${i}`, {
            node: a.node!,
            resource,
            operation: "monitor",
            intervalMs: 0,
            probe: true,
          });
        }
        break;
      case "shutdown":
        this.#enqueue(t, String(a.id), null);
        break;
    }
    t.progress = "in-flight";
    // A probe of nothing has nothing to wait for.
    if (t.opsLeft === 0) this.#complete(t, now, out);
  }

  #enqueue(t: Tracked, opId: string, target: OperationTarget | null): void {
    const node = t.action.node!;
    const timeoutMs = target
      ? positive(this.#opts.operationTimeoutMs(target), "operation")
      : positive(this.#opts.shutdownTimeoutMs(node), "shutdown");
    const op: Op = {
      opId,
      action: t,
      target,
      node,
      state: "queued",
      firstSentAt: 0,
      lastSentAt: 0,
      timeoutMs,
    };
    t.ops.push(op);
    t.opsLeft++;
    this.#ops.set(opId, op);
    let q = this.#queues.get(node);
    if (!q) this.#queues.set(node, q = []);
    q.push(op);
  }

  #opDone(op: Op, now: number, out: GraphDispatch[]): void {
    const t = op.action;
    t.opsLeft--;
    assert(t.opsLeft >= 0, `action ${t.action.id}: more results than operations`);
    if (t.opsLeft === 0 && t.progress === "in-flight") this.#complete(t, now, out);
  }

  /** Marks `t` done and begins every dependant whose inputs are now all done. */
  #complete(t: Tracked, now: number, out: GraphDispatch[]): void {
    assert(t.progress !== "done" && t.progress !== "failed", `complete ${t.action.id} twice`);
    t.progress = "done";
    this.#notDone--;
    this.#stats.completed++;
    // Iterative: a long chain of pseudo actions must not overflow the stack.
    const stack: Tracked[] = [t];
    while (stack.length > 0) {
      const done = stack.pop()!;
      for (const d of done.dependants) {
        d.waitingFor--;
        assert(d.waitingFor >= 0, `action ${d.action.id}: input counter below zero`);
        if (d.waitingFor !== 0 || this.#state !== "running") continue;
        if (d.action.type === "pseudo") {
          d.progress = "done";
          this.#notDone--;
          this.#stats.completed++;
          stack.push(d);
        } else {
          this.#begin(d, now, out);
        }
      }
    }
  }

  #markFailed(t: Tracked): void {
    if (t.progress === "failed") return;
    assert(t.progress !== "done", `action ${t.action.id} failed after it was done`);
    assert(t.progress !== "pending", `action ${t.action.id} failed before it began`);
    t.progress = "failed";
    this.#stats.failed++;
  }

  #fail(t: Tracked, reason: string, now: number): void {
    this.#markFailed(t);
    this.#abort(reason, now);
  }

  #abort(reason: string, now: number): void {
    if (this.#state !== "running") return;
    this.#state = "aborting";
    this.#reason = reason;
    this.#abortedAt = now;
    this.#stats.aborted++;
    // Nothing new: operations still waiting for a slot are never sent.
    for (const q of this.#queues.values()) {
      for (const op of q) {
        op.state = "dropped";
        const t = op.action;
        if (t.progress !== "in-flight") continue;
        // Begun but none of its operations went out: it never ran.
        t.progress = t.ops.every((o) => o.state === "dropped") ? "pending" : "cancelled";
      }
    }
    this.#queues.clear();
  }

  /** Takes `op` out of flight. */
  #release(op: Op, to: "done" | "failed"): void {
    assert(op.state === "sent", `release ${op.opId} in state ${op.state}`);
    op.state = to;
    this.#sentOps--;
    const n = (this.#sentPerNode.get(op.node) ?? 0) - 1;
    assert(n >= 0, `in-flight count of ${op.node} below zero`);
    if (n === 0) this.#sentPerNode.delete(op.node);
    else this.#sentPerNode.set(op.node, n);
  }

  /** Sends queued operations where slots are free, then decides whether the transition ended. */
  #settle(now: number, out: GraphDispatch[]): GraphDispatch[] {
    if (this.#state === "running") this.#pump(now, out);
    if (this.#state === "running" && this.#notDone === 0) {
      this.#state = "finished";
    } else if (
      this.#state === "aborting" && this.#sentOps === 0 && this.#fences.size === 0
    ) {
      this.#state = "aborted";
    }
    if (this.#state === "running") {
      // Something must be in flight or queued, or the graph could never finish.
      assert(
        this.#sentOps > 0 || this.#fences.size > 0,
        `transition ${this.#transition} is stuck: ${this.#notDone} actions left, none in flight`,
      );
    }
    if (this.#opts.checkInvariants) this.#checkInvariants(now);
    return out;
  }

  #pump(now: number, out: GraphDispatch[]): void {
    const cap = this.#opts.maxInFlightPerNode;
    // Node order: sorted, so that dispatch order does not depend on Map history.
    for (const node of [...this.#queues.keys()].sort()) {
      const q = this.#queues.get(node)!;
      let i = 0;
      while (i < q.length && this.#state === "running" && this.inFlightOn(node) < cap) {
        const op = q[i++];
        if (!this.#members.has(node)) {
          // Never sent: the node is not a member. The operation fails; abort.
          this.#fail(op.action, `${describe(op)}: ${node} is not a member`, now);
          op.state = "failed";
          break;
        }
        op.state = "sent";
        op.firstSentAt = now;
        op.lastSentAt = now;
        this.#sentOps++;
        this.#sentPerNode.set(node, this.inFlightOn(node) + 1);
        this.#stats.dispatched++;
        out.push(this.#dispatchOf(op, false));
      }
      if (this.#state !== "running") return; // #abort cleared the queues
      q.splice(0, i);
      if (q.length === 0) this.#queues.delete(node);
    }
  }

  #dispatchOf(op: Op, resend: boolean): OperationDispatch | ShutdownDispatch {
    const a = op.action.action;
    if (op.target === null) {
      return {
        kind: "shutdown",
        transition: this.#transition,
        opId: op.opId,
        actionId: a.id,
        node: op.node,
        timeoutMs: op.timeoutMs,
        resend,
      };
    }
    return {
      kind: "operation",
      transition: this.#transition,
      opId: op.opId,
      actionId: a.id,
      key: a.key,
      ...op.target,
      timeoutMs: op.timeoutMs,
      resend,
    };
  }

  /** Every invariant of the tracking state (O(graph)). */
  #checkInvariants(now: number): void {
    const perNode = new Map<string, number>();
    let sent = 0;
    for (const op of this.#ops.values()) {
      if (op.state !== "sent") continue;
      sent++;
      perNode.set(op.node, (perNode.get(op.node) ?? 0) + 1);
      assert(this.#members.has(op.node), `${op.opId} in flight on non-member ${op.node}`);
      assert(op.firstSentAt <= now && op.lastSentAt <= now, `${op.opId} sent in the future`);
      assert(
        this.#abortedAt < 0 || op.firstSentAt <= this.#abortedAt,
        `${op.opId} first sent after the abort`,
      );
    }
    assert(sent === this.#sentOps, `in-flight count ${this.#sentOps} != ${sent}`);
    for (const [node, n] of perNode) {
      assert(this.inFlightOn(node) === n, `in-flight count of ${node} is wrong`);
      assert(n <= this.#opts.maxInFlightPerNode, `${n} operations in flight on ${node}`);
    }
    let notDone = 0;
    for (const t of this.#actions.values()) {
      if (t.progress !== "done") notDone++;
      if (t.progress === "pending") continue;
      // Nothing runs (or completes) before everything it waits for completed.
      for (const input of t.action.inputs) {
        assert(
          this.#actions.get(input)!.progress === "done",
          `action ${t.action.id} ${t.progress} before its input ${input} is done`,
        );
      }
    }
    assert(notDone === this.#notDone, `not-done count ${this.#notDone} != ${notDone}`);
    if (this.#state === "finished") assert(notDone === 0, "finished with actions left");
    if (this.#state === "aborted" || this.#state === "finished") {
      assert(sent === 0 && this.#fences.size === 0, `${this.#state} with actions in flight`);
    }
    if (this.#state === "aborting" || this.#state === "aborted") {
      assert(this.#reason !== null && this.#queues.size === 0, "abort without reason or queue");
    }
  }
}

/** Kahn's algorithm over the input edges; a cycle is named in the error. */
function assertAcyclic(actions: Map<number, Tracked>): void {
  const waiting = new Map<Tracked, number>();
  const ready: Tracked[] = [];
  for (const t of actions.values()) {
    waiting.set(t, t.waitingFor);
    if (t.waitingFor === 0) ready.push(t);
  }
  let visited = 0;
  while (ready.length > 0) {
    const t = ready.pop()!;
    visited++;
    for (const d of t.dependants) {
      const n = waiting.get(d)! - 1;
      waiting.set(d, n);
      if (n === 0) ready.push(d);
    }
  }
  if (visited === actions.size) return;
  // Walk back along unfinished inputs from any action left: it reaches a cycle.
  const left = [...actions.values()].find((t) => waiting.get(t)! > 0)!;
  const path: Tracked[] = [];
  const onPath = new Map<Tracked, number>();
  let at: Tracked = left;
  for (let step = 0; step <= actions.size && !onPath.has(at); step++) {
    onPath.set(at, path.length);
    path.push(at);
    const next = at.action.inputs.map((i) => actions.get(i)!).find((p) => waiting.get(p)! > 0);
    if (!next) break;
    at = next;
  }
  const cycle = path.slice(onPath.get(at) ?? 0).map((t) => `${t.action.id} (${t.action.key})`);
  throw new GraphError(`graph has a cycle: ${cycle.join(" waits for ")} waits for ${cycle[0]}`);
}

function describe(op: Op): string {
  const a = op.action.action;
  if (op.target === null) return `shutdown of ${op.node} (${a.key})`;
  const what = op.target.probe ? "probe" : op.target.operation;
  return `${what} of ${op.target.resource} on ${op.node} (${a.key})`;
}

function positive(ms: number, what: string): number {
  if (!(ms > 0) || !Number.isFinite(ms)) throw new RangeError(`${what} timeout must be > 0: ${ms}`);
  return ms;
}

function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`GraphTransitionEngine invariant broken: ${message}`);
}
