/**
 * A deterministic simulation of a small cluster whose DC runs the real policy engine
 * (core/pe/scheduler) and the graph transition engine, with virtual time and a seeded
 * random generator: LRMs execute operations with random delays, failures and hangs;
 * messages are lost; resources fail on their own; the configuration changes; nodes are
 * killed mid-transition (a crash, or with fencing enabled also a hang that leaves
 * their resources running) and come back later.
 *
 * After every event it checks that no single-instance resource is active (or may be:
 * starting, stopping, failed, or on a lost node that was not fenced) on two nodes.
 * After the faults stop, it checks that the placement converges: the policy engine
 * has nothing left to do and every resource runs where the placement says.
 *
 * The DC's status rules: a member's status is its LRM history; a node that left keeps
 * its last reported history. With fencing, a node that left is unclean until the
 * engine's fence is confirmed, which clears its status (expected down). Without
 * fencing, a node's death is a crash (its resources die with it) and the DC clears
 * its status once it is out of the membership.
 *
 * @module
 */

import type { OperationRecord } from "../../core/cib/schema/status.ts";
import { type GraphAction, schedule } from "../../core/pe/scheduler/policy_engine.ts";
import {
  type GraphDispatch,
  GraphTransitionEngine,
  type OperationDispatch,
} from "../../core/te/graph_engine.ts";
import { Rng } from "../sim/rng.ts";
import { FENCE_DEVICE, simCib, type SimConfig, type SimNodeStatus } from "./sim_cib.ts";

/** What a simulation run is asked to do. */
export interface SimOptions {
  /** The seed; the same seed replays exactly. */
  seed: number;
  /** stonith-enabled with a (simulated) fence device. */
  stonith: boolean;
  /**
   * Deliberate bugs, to show the checks catch them: `lenient-probes` reports a probe
   * that finds the resource running as a success; `fake-fencing` confirms fences
   * without powering the target off.
   */
  bug?: "lenient-probes" | "fake-fencing";
}

/** What a run saw. */
export interface SimReport {
  /** The seed it ran with. */
  seed: number;
  /** Safety violations (empty when none); the run stops at the first. */
  violations: string[];
  /** Whether the placement converged after the faults stopped. */
  converged: boolean;
  /** If not, why (nodes down, actions the PE still plans, resources elsewhere). */
  convergenceProblem: string;
  /** Transitions started. */
  transitions: number;
  /** Transitions that finished. */
  finished: number;
  /** Transitions aborted (the rest were abandoned by a DC change). */
  aborted: number;
  /** Abort reasons by kind (op failed, op timeout, membership, cib, fence failed, ...). */
  abortKinds: Record<string, number>;
  /** Nodes killed. */
  kills: number;
  /** Fence requests. */
  fences: number;
  /** Fence requests that failed. */
  fenceFailures: number;
  /** Operations that failed or hung. */
  opFailures: number;
  /** Starts the LRMs began. */
  startsBegun: number;
  /** Nodes that booted running a resource the cluster did not know of. */
  rogueStarts: number;
  /** Simulation events processed. */
  events: number;
}

/** Virtual times (ms). */
const FAULT_END_MS = 25_000;
const END_MS = 70_000;
const DC_TICK_MS = 50;
const OP_DEADLINE_MS = 1_500;
const FENCE_DEADLINE_MS = 2_000;
const HANG_MS = 2_500;
const MAX_EVENTS = 200_000;
const MAX_HISTORY = 12;
const INFINITY = 1_000_000;

type Power = "up" | "lost" | "off";

interface LrmResource {
  state: "stopped" | "started" | "failed";
  /** The operation running on it, if any (its name: start, stop, monitor). */
  busy: string | null;
  /** Operations waiting for it (serialized per resource), bounded by the engine's cap. */
  queue: Array<() => void>;
}

interface SimNode {
  name: string;
  power: Power;
  lrm: Map<string, LrmResource>;
  history: Record<string, OperationRecord[]>;
  failures: Record<string, number>;
  callId: number;
  /** Operation key -> result once known (re-sends are answered from here). */
  results: Map<string, boolean>;
  /** Operation keys accepted (running or queued). */
  accepted: Set<string>;
  /** Bumped on every crash/reboot/fence: operations of an earlier life are void. */
  life: number;
}

interface SimEvent {
  at: number;
  seq: number;
  run: () => void;
}

/** A binary min-heap of events by (time, insertion order). */
class EventQueue {
  #heap: SimEvent[] = [];
  #seq = 0;

  get size(): number {
    return this.#heap.length;
  }

  push(at: number, run: () => void): void {
    const h = this.#heap;
    h.push({ at, seq: this.#seq++, run });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  pop(): SimEvent | undefined {
    const h = this.#heap;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < h.length && less(h[l], h[m])) m = l;
        if (r < h.length && less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

function less(a: SimEvent, b: SimEvent): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** Runs one seeded simulation and returns what it saw. */
export function runSimulation(opts: SimOptions): SimReport {
  return new Simulation(opts).run();
}

class Simulation {
  readonly rng: Rng;
  readonly opts: SimOptions;
  readonly events = new EventQueue();
  readonly config: SimConfig;
  readonly nodes = new Map<string, SimNode>();
  /** What the DC (whoever it is) knows of each node: the replicated status section. */
  readonly known: Record<string, SimNodeStatus> = {};
  /** The agreed membership (changes a detection delay after a node dies or returns). */
  members = new Set<string>();
  now = 0;
  dc: string | null = null;
  dcEpoch = 0;
  engine: GraphTransitionEngine;
  transitionCounter = 0;
  dirty = true;
  /** The current transition's graph. */
  graph: GraphAction[] = [];
  report: SimReport;

  constructor(opts: SimOptions) {
    this.opts = opts;
    this.rng = new Rng(opts.seed);
    const names = ["n1", "n2", "n3", "n4"];
    const resources = ["r1", "r2", "r3", "r4", "r5"];
    const prefer: Record<string, Record<string, number>> = {};
    for (const r of resources) {
      if (this.rng.chance(0.6)) prefer[r] = { [this.rng.pick(names)]: this.rng.int(10, 200) };
    }
    this.config = { nodes: names, stonith: opts.stonith, resources, prefer, epoch: 1 };
    for (const name of names) {
      this.nodes.set(name, {
        name,
        power: "up",
        lrm: new Map(),
        history: {},
        failures: {},
        callId: 0,
        results: new Map(),
        accepted: new Set(),
        life: 0,
      });
      this.known[name] = { inMembership: true, expected: "member", history: {}, failures: {} };
      this.members.add(name);
    }
    this.engine = this.newEngine();
    this.dc = this.electDc();
    this.report = {
      seed: opts.seed,
      violations: [],
      converged: false,
      convergenceProblem: "",
      transitions: 0,
      finished: 0,
      aborted: 0,
      abortKinds: {},
      kills: 0,
      fences: 0,
      fenceFailures: 0,
      opFailures: 0,
      startsBegun: 0,
      rogueStarts: 0,
      events: 0,
    };
  }

  newEngine(): GraphTransitionEngine {
    return new GraphTransitionEngine({
      resendMs: 200,
      operationTimeoutMs: () => OP_DEADLINE_MS,
      fenceTimeoutMs: () => FENCE_DEADLINE_MS,
      maxInFlightPerNode: 3,
      checkInvariants: true,
    });
  }

  get faulty(): boolean {
    return this.now < FAULT_END_MS;
  }

  run(): SimReport {
    this.events.push(0, () => this.dcTick());
    // Faults: kills, resource failures and configuration changes, at random times.
    for (let t = this.rng.int(500, 3_000); t < FAULT_END_MS; t += this.rng.int(1_500, 4_500)) {
      const kind = this.rng.next();
      if (kind < 0.5) this.events.push(t, () => this.kill());
      else if (kind < 0.8) this.events.push(t, () => this.resourceFails());
      else this.events.push(t, () => this.changeConfig());
    }
    let count = 0;
    for (; count < MAX_EVENTS; count++) {
      const e = this.events.pop();
      if (!e || e.at > END_MS) break;
      this.now = e.at;
      e.run();
      this.checkSafety();
      if (this.report.violations.length > 0) break;
    }
    this.report.events = count;
    if (this.report.violations.length === 0) this.checkConvergence();
    return this.report;
  }

  // --- the DC -------------------------------------------------------------

  electDc(): string | null {
    for (const name of [...this.members].sort()) {
      if (this.nodes.get(name)!.power === "up") return name;
    }
    return null;
  }

  dcTick(): void {
    this.events.push(this.now + DC_TICK_MS, () => this.dcTick());
    if (this.dc === null || this.nodes.get(this.dc)!.power !== "up") return;
    const wasBusy = this.engine.busy;
    this.send(this.engine.tick(this.now));
    this.noteEnd(wasBusy);
    if (this.engine.busy || !this.dirty) return;
    this.dirty = false;
    const cib = simCib(this.config, this.statusForPe());
    const result = schedule(cib);
    if (result.actions.length === 0) return;
    this.report.transitions++;
    this.graph = result.actions;
    const out = this.engine.start(++this.transitionCounter, result.actions, this.now, {
      members: [...this.members],
    });
    this.send(out);
    this.noteEnd(true);
  }

  /** Counts a transition that just ended. */
  noteEnd(wasBusy: boolean): void {
    if (!wasBusy || this.engine.busy) return;
    this.dirty = true;
    if (this.engine.state === "finished") {
      this.report.finished++;
      return;
    }
    this.report.aborted++;
    const reason = this.engine.reason ?? "";
    const kind = /^membership/.test(reason)
      ? "membership"
      : /^CIB|config|resource failed/.test(reason)
      ? "cib"
      : /^fencing.*timed out/.test(reason)
      ? "fence timeout"
      : /^fencing/.test(reason)
      ? "fence failed"
      : /timed out/.test(reason)
      ? "op timeout"
      : /not a member/.test(reason)
      ? "non-member"
      : "op failed";
    this.report.abortKinds[kind] = (this.report.abortKinds[kind] ?? 0) + 1;
  }

  /** The status section the DC plans from. */
  statusForPe(): Record<string, SimNodeStatus> {
    for (const [name, node] of this.nodes) {
      // Members report their LRM history; others keep what was last reported.
      if (this.members.has(name) && node.power === "up") {
        this.known[name] = {
          inMembership: true,
          expected: "member",
          history: structuredClone(node.history),
          failures: { ...node.failures },
        };
      } else {
        this.known[name] = { ...this.known[name], inMembership: false };
      }
    }
    return this.known;
  }

  /** Carries the engine's dispatches out. */
  send(out: GraphDispatch[]): void {
    const epoch = this.dcEpoch;
    for (const d of out) {
      if (d.kind === "fence") {
        this.fence(d.target, epoch);
        continue;
      }
      if (!this.members.has(d.node)) {
        this.report.violations.push(`t=${this.now}: dispatch to non-member ${d.node}`);
        continue;
      }
      if (d.kind !== "operation") continue; // no shutdown actions in this simulation
      const key = `${epoch}:${d.transition}:${d.opId}`;
      if (this.lossy()) continue;
      const life = this.nodes.get(d.node)!.life;
      this.events.push(this.now + this.rng.int(1, 20), () => this.receive(d, key, epoch, life));
    }
  }

  lossy(): boolean {
    return this.faulty && this.rng.chance(0.08);
  }

  /** A result arrives at the DC. */
  deliverResult(epoch: number, d: OperationDispatch, ok: boolean): void {
    if (epoch !== this.dcEpoch || this.dc === null) return;
    if (this.nodes.get(this.dc)!.power !== "up") return;
    if (d.transition !== this.engine.transition) return;
    const wasBusy = this.engine.busy;
    this.send(this.engine.result(d.opId, ok, this.now));
    this.noteEnd(wasBusy);
  }

  /** Something changed that no transition caused. */
  unexpectedChange(why: string): void {
    this.dirty = true;
    if (this.dc === null) return;
    const wasBusy = this.engine.busy;
    this.send(this.engine.cibChanged(this.now, why));
    this.noteEnd(wasBusy);
  }

  // --- LRMs ---------------------------------------------------------------

  receive(d: OperationDispatch, key: string, epoch: number, life: number): void {
    const node = this.nodes.get(d.node)!;
    if (node.power !== "up" || node.life !== life) return;
    const known = node.results.get(key);
    if (known !== undefined) {
      this.reply(node, epoch, d, known);
      return;
    }
    if (node.accepted.has(key)) return;
    node.accepted.add(key);
    let res = node.lrm.get(d.resource);
    if (!res) node.lrm.set(d.resource, res = { state: "stopped", busy: null, queue: [] });
    const run = () => this.execute(node, res!, d, key, epoch, life);
    if (res.busy !== null) res.queue.push(run);
    else run();
  }

  execute(
    node: SimNode,
    res: LrmResource,
    d: OperationDispatch,
    key: string,
    epoch: number,
    life: number,
  ): void {
    if (node.life !== life) return;
    res.busy = d.operation;
    const record: OperationRecord = {
      operation: d.operation,
      intervalMs: d.intervalMs,
      callId: ++node.callId,
      rc: 0,
      expectedRc: d.probe ? 7 : 0,
      status: "pending",
    };
    if (d.operation === "start" || d.operation === "stop") {
      this.addHistory(node, d.resource, record);
      if (d.operation === "start") this.report.startsBegun++;
    }
    // Faults only while faults run; stops fail only where fencing can clean up.
    const fail = this.faulty && !d.probe && d.intervalMs === 0 &&
      this.rng.chance(d.operation === "stop" ? (this.opts.stonith ? 0.04 : 0) : 0.08);
    const hang = this.faulty && !d.probe && d.intervalMs === 0 && !fail &&
      (d.operation === "start" || this.opts.stonith) && this.rng.chance(0.04);
    const delay = hang ? HANG_MS : d.intervalMs > 0 || d.probe ? 5 : this.rng.int(10, 300);
    this.events.push(this.now + delay, () => {
      if (node.life !== life) return;
      const ok = this.complete(node, res, d, record, fail || hang);
      node.results.set(key, ok);
      node.accepted.delete(key);
      res.busy = null;
      this.reply(node, epoch, d, ok);
      res.queue.shift()?.();
    });
  }

  /** Applies an operation's outcome to the resource and the history; returns `ok`. */
  complete(
    node: SimNode,
    res: LrmResource,
    d: OperationDispatch,
    record: OperationRecord,
    failed: boolean,
  ): boolean {
    if (d.probe) {
      const rc = res.state === "started" ? 0 : res.state === "stopped" ? 7 : 1;
      this.addHistory(node, d.resource, { ...record, rc, status: "done" });
      // Only "not running" is what the graph assumed; anything else must abort it.
      return rc === 7 || (this.opts.bug === "lenient-probes" && rc === 0);
    }
    if (d.intervalMs > 0) {
      const rc = res.state === "started" ? 0 : 7;
      this.addHistory(node, d.resource, { ...record, rc, status: "done" });
      return rc === 0;
    }
    const i = node.history[d.resource]?.indexOf(record) ?? -1;
    const done: OperationRecord = { ...record, rc: failed ? 1 : 0, status: "done" };
    if (i >= 0) node.history[d.resource][i] = done;
    else this.addHistory(node, d.resource, done);
    if (failed) {
      this.report.opFailures++;
      res.state = "failed";
      const count = d.operation === "start" ? INFINITY : (node.failures[d.resource] ?? 0) + 1;
      node.failures[d.resource] = Math.min(INFINITY, count);
      return false;
    }
    if (d.operation === "start") res.state = "started";
    else if (d.operation === "stop") res.state = "stopped";
    return true;
  }

  addHistory(node: SimNode, rsc: string, record: OperationRecord): void {
    const list = node.history[rsc] ??= [];
    list.push(record);
    if (list.length > MAX_HISTORY) list.splice(0, list.length - MAX_HISTORY);
  }

  reply(node: SimNode, epoch: number, d: OperationDispatch, ok: boolean): void {
    if (node.power !== "up" || this.lossy()) return;
    this.events.push(this.now + this.rng.int(1, 20), () => {
      if (this.nodes.get(node.name)!.power !== "up") return;
      this.deliverResult(epoch, d, ok);
    });
  }

  // --- faults -------------------------------------------------------------

  kill(): void {
    const up = [...this.nodes.values()].filter((n) => n.power === "up");
    // Keep at least two nodes up; at most two down at once.
    if (up.length <= 2) return;
    const node = this.rng.pick(up);
    this.report.kills++;
    // With fencing, half the deaths are hangs: the node keeps its resources running.
    if (this.opts.stonith && this.rng.chance(0.5)) {
      node.power = "lost";
      this.events.push(this.now + this.rng.int(3_000, 8_000), () => this.heal(node));
    } else {
      this.powerOff(node);
      this.events.push(this.now + this.rng.int(2_000, 6_000), () => this.boot(node));
    }
    this.events.push(this.now + this.rng.int(100, 600), () => this.leave(node.name));
  }

  /** The node's resources die with it. */
  powerOff(node: SimNode): void {
    node.power = "off";
    node.life++;
    node.lrm.clear();
    node.history = {};
    node.failures = {};
    node.results.clear();
    node.accepted.clear();
  }

  /** The membership notices that `name` is gone. */
  leave(name: string): void {
    if (!this.members.has(name)) return;
    if (this.nodes.get(name)!.power === "up") return; // it came back in time
    this.members.delete(name);
    if (!this.opts.stonith) {
      // Without fencing a node out of the membership is taken as stopped (it crashed).
      this.known[name] = { inMembership: false, expected: "down", history: {}, failures: {} };
    }
    this.membershipChanged();
  }

  membershipChanged(): void {
    this.dirty = true;
    const dc = this.electDc();
    if (dc !== this.dc) {
      // A new DC starts with a fresh engine; the old one's transition is abandoned.
      this.dc = dc;
      this.dcEpoch++;
      this.engine = this.newEngine();
      return;
    }
    const wasBusy = this.engine.busy;
    this.send(this.engine.membershipChanged([...this.members], this.now));
    this.noteEnd(wasBusy);
  }

  boot(node: SimNode): void {
    if (node.power !== "off") return;
    node.power = "up";
    node.life++;
    // Sometimes the node comes up running a resource the cluster does not know of
    // (started at boot outside the cluster). Only where that alone is harmless: nothing
    // runs or may run it now and no transition is about to; the node joins at once, so
    // only its probe can tell the DC.
    const rogue = this.faulty && this.rng.chance(0.4)
      ? this.config.resources.filter((r) => this.unused(r))
      : [];
    if (rogue.length > 0) {
      node.lrm.set(this.rng.pick(rogue), { state: "started", busy: null, queue: [] });
      this.report.rogueStarts++;
      this.join(node.name);
      return;
    }
    this.events.push(this.now + this.rng.int(100, 600), () => this.join(node.name));
  }

  /** Nothing runs `rsc` or may run it, and the current transition has nothing for it left. */
  unused(rsc: string): boolean {
    for (const node of this.nodes.values()) {
      if (node.power === "off") continue;
      const res = node.lrm.get(rsc);
      if (res && (res.state !== "stopped" || res.busy !== null || res.queue.length > 0)) {
        return false;
      }
    }
    if (!this.engine.busy) return true;
    const progress = this.engine.progress();
    return !this.graph.some((a) =>
      (a.resource === rsc || a.resources?.includes(rsc)) && progress.get(a.id) !== "done"
    );
  }

  /** A lost node's network comes back (fencing mode), unless it was fenced meanwhile. */
  heal(node: SimNode): void {
    if (node.power !== "lost") return;
    node.power = "up";
    this.events.push(this.now + this.rng.int(100, 600), () => this.join(node.name));
  }

  join(name: string): void {
    if (this.members.has(name) || this.nodes.get(name)!.power !== "up") return;
    this.members.add(name);
    this.membershipChanged();
  }

  resourceFails(): void {
    const candidates: Array<[SimNode, string, LrmResource]> = [];
    for (const node of this.nodes.values()) {
      if (node.power !== "up") continue;
      for (const [rsc, res] of node.lrm) {
        if (res.state === "started" && res.busy === null) candidates.push([node, rsc, res]);
      }
    }
    if (candidates.length === 0) return;
    const [node, rsc, res] = this.rng.pick(candidates);
    res.state = "failed";
    node.failures[rsc] = (node.failures[rsc] ?? 0) + 1;
    this.addHistory(node, rsc, {
      operation: "monitor",
      intervalMs: 10_000,
      callId: ++node.callId,
      rc: 1,
      expectedRc: 0,
      status: "done",
    });
    this.unexpectedChange(`resource failed: ${rsc} on ${node.name}`);
  }

  changeConfig(): void {
    const rsc = this.rng.pick(this.config.resources);
    const node = this.rng.pick(this.config.nodes);
    this.config.prefer = { ...this.config.prefer, [rsc]: { [node]: this.rng.int(0, 300) } };
    this.config.epoch = (this.config.epoch ?? 0) + 1;
    this.unexpectedChange("configuration changed");
  }

  // --- fencing ------------------------------------------------------------

  fence(target: string, epoch: number): void {
    this.report.fences++;
    const failed = this.faulty && this.rng.chance(0.15);
    const hang = this.faulty && !failed && this.rng.chance(0.1);
    if (hang) return; // the engine's deadline fails it
    if (this.opts.bug === "fake-fencing") {
      this.events.push(this.now + 10, () => {
        if (epoch !== this.dcEpoch || this.dc === null) return;
        this.known[target] = { inMembership: false, expected: "down", history: {}, failures: {} };
        this.send(this.engine.fenced(target, true, this.now));
      });
      return;
    }
    this.events.push(this.now + this.rng.int(50, 400), () => {
      if (failed) {
        this.report.fenceFailures++;
      } else {
        const node = this.nodes.get(target)!;
        if (node.power !== "off") {
          this.powerOff(node);
          this.events.push(this.now + this.rng.int(2_000, 5_000), () => this.boot(node));
          if (this.members.has(target)) {
            this.events.push(this.now + this.rng.int(100, 600), () => this.leave(target));
          }
        }
        // The DC records the fencing: the node is cleanly down, nothing runs there.
        this.known[target] = { inMembership: false, expected: "down", history: {}, failures: {} };
        this.dirty = true;
      }
      if (epoch !== this.dcEpoch || this.dc === null) return;
      if (this.nodes.get(this.dc)!.power !== "up") return;
      const wasBusy = this.engine.busy;
      this.send(this.engine.fenced(target, !failed, this.now));
      this.noteEnd(wasBusy);
    });
  }

  // --- checks -------------------------------------------------------------

  /** No single-instance resource is (or may be) active on two nodes. */
  checkSafety(): void {
    const where = new Map<string, string[]>();
    for (const node of this.nodes.values()) {
      if (node.power === "off") continue;
      for (const [rsc, res] of node.lrm) {
        if (rsc === FENCE_DEVICE) continue; // a fence device may run anywhere
        // A start in progress may already have made it active.
        if (res.state === "stopped" && res.busy !== "start") continue;
        const list = where.get(rsc) ?? [];
        list.push(`${node.name}(${res.state}${res.busy ? ",busy" : ""}${node.power})`);
        where.set(rsc, list);
      }
    }
    for (const [rsc, list] of where) {
      if (list.length > 1) {
        this.report.violations.push(
          `t=${this.now}: ${rsc} active or maybe active on ${list.join(", ")}`,
        );
      }
    }
  }

  /** After the faults: nothing left to do, and everything runs where the PE says. */
  checkConvergence(): void {
    const problems: string[] = [];
    for (const node of this.nodes.values()) {
      if (node.power !== "up" || !this.members.has(node.name)) {
        problems.push(`${node.name} is ${node.power}`);
      }
    }
    if (this.engine.busy) problems.push(`transition ${this.engine.transition} still busy`);
    const result = schedule(simCib(this.config, this.statusForPe()));
    if (result.actions.length > 0) {
      problems.push(`PE still plans: ${result.actions.map((a) => a.key).join(", ")}`);
    }
    for (const [rsc, entry] of Object.entries(result.placement)) {
      const actual: string[] = [];
      for (const node of this.nodes.values()) {
        const res = node.lrm.get(rsc);
        if (res && (res.state !== "stopped" || res.busy !== null)) actual.push(node.name);
      }
      if (actual.sort().join() !== entry.nodes.join()) {
        problems.push(`${rsc}: runs on [${actual}], placement [${entry.nodes}]`);
      }
    }
    this.report.converged = problems.length === 0;
    this.report.convergenceProblem = problems.join("; ");
  }
}
