/**
 * A deterministic simulator of a whole Vigil cluster in one process.
 *
 * It runs N {@link NodeCore}s with virtual time, a seeded network that loses,
 * delays, duplicates and reorders messages and can be partitioned, crashes and
 * restarts of nodes, and simulated resource agents. After every event it checks
 * the safety invariants; a violation throws with the seed and the recent trace.
 *
 * @module
 */

import type { Cib } from "../../core/cib/cib.ts";
import { compareVersions, formatVersion } from "../../core/cib/version.ts";
import type { LrmOperation } from "../../core/lrm/lrm_state.ts";
import type { Message } from "../../core/node/messages.ts";
import { NodeCore, type NodeEffect } from "../../core/node/node_core.ts";
import { Rng } from "./rng.ts";

/** Parameters of one simulated cluster. */
export interface SimOptions {
  /** Seed of every random choice. */
  seed: number;
  /** Node names. */
  nodes: string[];
  /** The initial CIB (same on every node). */
  cib: Cib;
  /** Heartbeat interval. */
  keepaliveMs?: number;
  /** Deadtime. */
  deadtimeMs?: number;
  /** Tick resolution of each node's timer. */
  tickMs?: number;
  /** One-way network delay range. */
  delayMs?: [number, number];
  /** Agent operation duration range. */
  opMs?: [number, number];
}

interface SimNode {
  name: string;
  core: NodeCore | null;
  /** Resources really running on this node (the simulated world). */
  running: Set<string>;
  /** The CIB last persisted on this node's disk. */
  disk: Cib;
  /** Highest CIB version this node ever persisted. */
  highestVersion: Cib["version"];
  /** Highest membership generation, persisted across restarts. */
  generation: number;
  /** Operations in flight: opId -> op. */
  ops: Map<string, LrmOperation>;
}

type Scheduled =
  | {
    kind: "deliver";
    to: string;
    from: string;
    body: Message;
    incarnation: number;
    senderIncarnation: number;
  }
  | { kind: "tick"; node: string; incarnation: number }
  | { kind: "op-done"; node: string; opId: string; incarnation: number };

interface QueueItem {
  at: number;
  order: number;
  item: Scheduled;
}

/** A safety violation, with what is needed to replay it. */
export class InvariantViolation extends Error {}

/** The simulated cluster. */
export class Simulator {
  readonly rng: Rng;
  readonly #opts: Required<SimOptions>;
  readonly nodes = new Map<string, SimNode>();
  #queue: QueueItem[] = [];
  #order = 0;
  #now = 0;
  #incarnations = new Map<string, number>();
  /** Links cut: "a>b" means a's messages do not reach b. */
  readonly cut = new Set<string>();
  /** Probability that one message is lost. */
  loss = 0;
  /** Probability that one message is duplicated. */
  duplication = 0;
  /** Operations that will fail: "rsc:action:node" -> rc. */
  readonly failOps = new Map<string, number>();
  readonly #trace: string[] = [];
  /** Count of events processed. */
  steps = 0;

  /** Builds the cluster; nodes boot at time 0. */
  constructor(opts: SimOptions) {
    this.#opts = {
      keepaliveMs: 100,
      deadtimeMs: 500,
      tickMs: 10,
      delayMs: [1, 15],
      opMs: [5, 40],
      ...opts,
    };
    this.rng = new Rng(opts.seed);
    for (const name of opts.nodes) {
      this.nodes.set(name, {
        name,
        core: null,
        running: new Set(),
        disk: opts.cib,
        highestVersion: opts.cib.version,
        generation: 0,
        ops: new Map(),
      });
      this.start(name);
    }
  }

  /** Current virtual time. */
  get now(): number {
    return this.#now;
  }

  /** Boots (or reboots) a node from what its disk holds. */
  start(name: string): void {
    const n = this.#node(name);
    if (n.core) throw new Error(`${name} is already running`);
    const incarnation = (this.#incarnations.get(name) ?? 0) + 1;
    this.#incarnations.set(name, incarnation);
    n.core = new NodeCore({
      self: name,
      cib: n.disk,
      keepaliveMs: this.#opts.keepaliveMs,
      deadtimeMs: this.#opts.deadtimeMs,
      generation: n.generation,
    });
    n.ops.clear();
    this.#schedule(this.#now + this.rng.int(0, this.#opts.tickMs), {
      kind: "tick",
      node: name,
      incarnation,
    });
    this.#log(`start ${name} (incarnation ${incarnation})`);
  }

  /** Kills a node: its process and in-process resources are gone. */
  crash(name: string): void {
    const n = this.#node(name);
    if (!n.core) return;
    n.core = null;
    n.running.clear();
    n.ops.clear();
    this.#log(`crash ${name}`);
  }

  /** Splits the cluster into groups that cannot hear each other. */
  partition(groups: string[][]): void {
    this.cut.clear();
    for (const a of this.nodes.keys()) {
      for (const b of this.nodes.keys()) {
        if (a !== b && !groups.some((g) => g.includes(a) && g.includes(b))) {
          this.cut.add(`${a}>${b}`);
        }
      }
    }
    this.#log(`partition ${groups.map((g) => `{${g.join(",")}}`).join(" ")}`);
  }

  /** Cuts one direction of one link. */
  cutLink(from: string, to: string): void {
    this.cut.add(`${from}>${to}`);
    this.#log(`cut ${from}>${to}`);
  }

  /** Restores every link. */
  heal(): void {
    this.cut.clear();
    this.#log("heal");
  }

  /** Runs until virtual time `until`, checking invariants after every event. */
  runUntil(until: number): void {
    while (this.#queue.length > 0 && this.#queue[0].at <= until) {
      const { at, item } = this.#pop();
      this.#now = at;
      this.#process(item);
      this.steps++;
      this.checkSafety();
    }
    this.#now = Math.max(this.#now, until);
  }

  /** Runs for `ms` more virtual milliseconds. */
  runFor(ms: number): void {
    this.runUntil(this.#now + ms);
  }

  /** Live nodes. */
  live(): string[] {
    return [...this.nodes.values()].filter((n) => n.core).map((n) => n.name);
  }

  /** The core of a live node. */
  core(name: string): NodeCore {
    const core = this.#node(name).core;
    if (!core) throw new Error(`${name} is not running`);
    return core;
  }

  /** Nodes where resource `id` is not stopped, according to their own LRM. */
  holders(id: string): string[] {
    return this.live().filter((n) => {
      const s = this.core(n).lrmTable()[id]?.state;
      return s !== undefined && s !== "stopped";
    });
  }

  /** Nodes where resource `id` is really running (the simulated world). */
  runningOn(id: string): string[] {
    return [...this.nodes.values()].filter((n) => n.running.has(id)).map((n) => n.name);
  }

  /**
   * Safety, checked after every event:
   * - a single-instance resource is never active on two nodes that are members of each other's agreed membership;
   * - nodes with the same agreed membership have the same DC;
   * - the CIB version a node persisted never goes backwards.
   */
  checkSafety(): void {
    const live = this.live();
    const agreed = new Map(live.map((n) => [n, this.core(n).membership]));
    const rscIds = this.#opts.cib.config.resources.map((r) => r.id);
    for (const id of rscIds) {
      const holders = [...new Set([...this.holders(id), ...this.runningOn(id)])];
      for (const a of holders) {
        for (const b of holders) {
          if (a >= b) continue;
          const ma = agreed.get(a)?.members ?? [];
          const mb = agreed.get(b)?.members ?? [];
          if (ma.includes(b) && mb.includes(a)) {
            this.fail(`${id} active on ${a} and ${b}, members of one partition`);
          }
        }
      }
    }
    for (const a of live) {
      for (const b of live) {
        const ma = agreed.get(a);
        const mb = agreed.get(b);
        if (
          a < b && ma && mb && ma.generation === mb.generation &&
          ma.members.join() === mb.members.join()
        ) {
          if (this.core(a).dc !== this.core(b).dc) {
            this.fail(
              `${a} and ${b} share membership ${ma.generation} but see DCs ${this.core(a).dc} and ${
                this.core(b).dc
              }`,
            );
          }
        }
      }
    }
  }

  /** Throws an InvariantViolation with the seed and the last trace lines. */
  fail(message: string): never {
    throw new InvariantViolation(
      `seed ${this.#opts.seed} at ${this.#now} ms: ${message}\n` +
        `replay: VIGIL_SIM_SEED=${this.#opts.seed} deno test -A tests/sim/\n` +
        `last events:\n  ${this.#trace.slice(-40).join("\n  ")}`,
    );
  }

  #process(item: Scheduled): void {
    const n = this.#node(item.kind === "deliver" ? item.to : item.node);
    if (!n.core || this.#incarnations.get(n.name) !== item.incarnation) return;
    let effects: NodeEffect[];
    switch (item.kind) {
      case "tick":
        effects = n.core.step({ type: "tick", now: this.#now });
        this.#schedule(this.#now + this.#opts.tickMs, item);
        break;
      case "deliver":
        effects = n.core.step({
          type: "message",
          now: this.#now,
          from: item.from,
          incarnation: item.senderIncarnation,
          body: item.body,
        });
        break;
      case "op-done": {
        const op = n.ops.get(item.opId);
        if (!op) return;
        n.ops.delete(item.opId);
        const rc = this.#runAgent(n, op);
        effects = n.core.step({ type: "op-done", now: this.#now, opId: item.opId, rc });
        break;
      }
    }
    this.#apply(n, effects);
  }

  /** The simulated agent: changes the world and returns an OCF code. */
  #runAgent(n: SimNode, op: LrmOperation): number {
    const injected = this.failOps.get(`${op.resource}:${op.action}:${n.name}`);
    if (injected !== undefined) return injected;
    switch (op.action) {
      case "start":
        n.running.add(op.resource);
        return 0;
      case "stop":
        n.running.delete(op.resource);
        return 0;
      case "monitor":
        return n.running.has(op.resource) ? 0 : 7;
    }
  }

  #apply(n: SimNode, effects: NodeEffect[]): void {
    const incarnation = this.#incarnations.get(n.name)!;
    for (const e of effects) {
      switch (e.type) {
        case "send":
          this.#send(n.name, e.to, e.body);
          break;
        case "run-op": {
          n.ops.set(e.op.opId, e.op);
          const [lo, hi] = this.#opts.opMs;
          this.#schedule(this.#now + this.rng.int(lo, hi), {
            kind: "op-done",
            node: n.name,
            opId: e.op.opId,
            incarnation,
          });
          break;
        }
        case "persist-cib":
          if (compareVersions(e.cib.version, n.highestVersion) < 0) {
            this.fail(
              `${n.name} persisted CIB ${formatVersion(e.cib.version)} after ${
                formatVersion(n.highestVersion)
              }`,
            );
          }
          n.disk = e.cib;
          n.highestVersion = e.cib.version;
          break;
        case "event":
          this.#log(`${n.name}: ${e.event.text}`);
          break;
      }
    }
    const gen = n.core?.membership?.generation;
    if (gen !== undefined) n.generation = Math.max(n.generation, gen);
  }

  #send(from: string, to: string, body: Message): void {
    const target = this.nodes.get(to);
    if (!target?.core || this.cut.has(`${from}>${to}`)) return;
    if (this.rng.chance(this.loss)) return;
    const copies = this.rng.chance(this.duplication) ? 2 : 1;
    const [lo, hi] = this.#opts.delayMs;
    for (let i = 0; i < copies; i++) {
      this.#schedule(this.#now + this.rng.int(lo, hi), {
        kind: "deliver",
        to,
        from,
        body: structuredClone(body),
        incarnation: this.#incarnations.get(to)!,
        senderIncarnation: this.#incarnations.get(from)!,
      });
    }
  }

  #schedule(at: number, item: Scheduled): void {
    // Binary-heap insert keyed by (at, order): equal times run in scheduling order.
    const entry = { at, order: this.#order++, item };
    const q = this.#queue;
    q.push(entry);
    let i = q.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (before(q[p], q[i])) break;
      [q[p], q[i]] = [q[i], q[p]];
      i = p;
    }
  }

  #pop(): QueueItem {
    const q = this.#queue;
    const top = q[0];
    const last = q.pop()!;
    if (q.length > 0) {
      q[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < q.length && before(q[l], q[m])) m = l;
        if (r < q.length && before(q[r], q[m])) m = r;
        if (m === i) break;
        [q[m], q[i]] = [q[i], q[m]];
        i = m;
      }
    }
    return top;
  }

  #node(name: string): SimNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  #log(line: string): void {
    this.#trace.push(`${this.#now}: ${line}`);
    if (this.#trace.length > 400) this.#trace.splice(0, 200);
  }
}

function before(a: QueueItem, b: QueueItem): boolean {
  return a.at < b.at || (a.at === b.at && a.order < b.order);
}
