/**
 * A deterministic simulator of CIB replication alone: N {@link CibReplica}s,
 * virtual time, a seeded network, disks that persist with random delays,
 * partitions, crashes and restarts. The membership is computed here, not
 * agreed: connected components of the live nodes, quorate when they hold a
 * majority of the configured nodes, DC by {@link electDc}, a fresh generation
 * for every changed component. Each node may learn its view late
 * (`viewDelayMs`), and messages in flight across a view change are either lost
 * or delivered late (`dropOnViewChange`), to exercise the generation checks.
 *
 * Checked after every event (a violation throws {@link CibSimViolation} naming
 * the seed, with the recent trace):
 * - no node's stamp or version triple goes backwards (in memory within one run
 *   of a node; on disk across restarts);
 * - at most one reply per request; an `ok` copy is on the disks of a majority
 *   of the configured nodes when it is acknowledged;
 * - every acknowledged change is in every copy (memory and disk) whose stamp is
 *   at least the acknowledged one; a refused change is in no copy;
 * - after the faults stop and everything heals, every node holds and has
 *   persisted the DC's copy within `settleSteps`, with every acknowledged
 *   change in it, and one more change is acknowledged.
 *
 * @example
 * ```ts
 * const stats = runCibReplicationSim({ seed: 7, nodes: 5 });
 * console.log(stats.acked, stats.convergedAfterMs);
 * ```
 * @module
 */

import type { ReplicaCopy } from "../../core/cib/replication/messages.ts";
import type {
  ApplyResult,
  ReplicaEffect,
  ReplicaEvent,
  ReplicaOps,
  ReplicaView,
} from "../../core/cib/replication/events.ts";
import { CibReplica } from "../../core/cib/replication/replica.ts";
import {
  type CibStamp,
  compareStamps,
  formatStamp,
  majorityOf,
} from "../../core/cib/replication/stamp.ts";
import { type CibVersion, compareVersions } from "../../core/cib/version.ts";
import { electDc } from "../../core/election/election.ts";
import { Rng } from "./rng.ts";

/** The simulator's configuration section: options, resources, and the ids of applied changes. */
export interface SimConfig {
  /** Cluster options. */
  options: Record<string, number>;
  /** Resource ids, sorted. */
  resources: string[];
  /** Every change applied to this line of the configuration, in order. */
  applied: string[];
}

/** The simulator's status section: status updates counted per node. */
export interface SimStatus {
  /** Node name -> number of status updates applied for it. */
  ops: Record<string, number>;
}

/** The simulator's CIB document. */
export interface SimDoc {
  /** Version triple. */
  version: CibVersion;
  /** Configuration. */
  config: SimConfig;
  /** Status. */
  status: SimStatus;
}

/** A configuration change of the simulator; `tag` is recorded in `applied`. */
export type SimPatch =
  & { tag: string }
  & (
    | { op: "set"; key: string; value: number }
    | { op: "add"; id: string }
    | { op: "delete"; id: string }
  );

/** A status update of the simulator. */
export interface SimStatusPatch {
  /** The node whose operation finished. */
  node: string;
}

/** A replica of the simulator's document. */
export type SimReplica = CibReplica<SimDoc, SimPatch, SimStatusPatch>;
/** An effect of such a replica. */
export type SimEffect = ReplicaEffect<SimDoc, SimPatch, SimStatusPatch>;
/** An event of such a replica. */
export type SimEvent = ReplicaEvent<SimDoc, SimPatch, SimStatusPatch>;

/** Applies a simulator patch: adding an existing or deleting a missing resource fails. */
export function applySimPatch(config: SimConfig, patch: SimPatch): ApplyResult<SimConfig> {
  const applied = [...config.applied, patch.tag];
  switch (patch.op) {
    case "set":
      return {
        ok: true,
        config: { ...config, options: { ...config.options, [patch.key]: patch.value }, applied },
      };
    case "add":
      if (config.resources.includes(patch.id)) {
        return { ok: false, error: `resources[${patch.id}]: already exists` };
      }
      return {
        ok: true,
        config: { ...config, resources: [...config.resources, patch.id].sort(), applied },
      };
    case "delete":
      if (!config.resources.includes(patch.id)) {
        return { ok: false, error: `resources[${patch.id}]: no such resource` };
      }
      return {
        ok: true,
        config: { ...config, resources: config.resources.filter((r) => r !== patch.id), applied },
      };
  }
}

/** cyrb53: a fast 53-bit string hash, as hex. */
function hash53(text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16).padStart(14, "0");
}

/** The document operations of the simulator. */
export const simOps: ReplicaOps<SimDoc, SimPatch, SimStatusPatch> = {
  applyConfig: applySimPatch,
  applyStatus: (status, patch) => ({
    ops: { ...status.ops, [patch.node]: (status.ops[patch.node] ?? 0) + 1 },
  }),
  digest: (doc) => hash53(JSON.stringify(doc)),
};

/** The initial document every node starts from. */
export function initialSimDoc(): SimDoc {
  return {
    version: { adminEpoch: 0, epoch: 0, numUpdates: 0 },
    config: { options: {}, resources: [], applied: [] },
    status: { ops: {} },
  };
}

/** Parameters of one simulated run. */
export interface CibSimOptions {
  /** Seed of every random choice. */
  seed: number;
  /** Configured nodes (3 to 5 in CI). */
  nodes: number;
  /** Steps with random requests and faults (default 600). */
  faultSteps?: number;
  /** Steps allowed, after healing, to converge and acknowledge one more change (default 500). */
  settleSteps?: number;
  /** Virtual ms per step (default 10). */
  stepMs?: number;
  /** Messages in flight when a view changes are lost (default true) or delivered late. */
  dropOnViewChange?: boolean;
  /** A node learns a new view up to this late (default 0: at once). */
  viewDelayMs?: number;
  /** Disk model; "lying" confirms a write before it is on disk (a deliberate bug). */
  disk?: "honest" | "lying";
  /** Chances per step and delays (defaults: {@link DEFAULT_RATES}). */
  rates?: Partial<SimRates>;
}

/** How often things happen (chances per step) and how long they take (ms ranges). */
export interface SimRates {
  /** A configuration change on a random live node. */
  submit: number;
  /** A status update on a random live node. */
  status: number;
  /** A new random partition into 2 or 3 groups. */
  partition: number;
  /** All connected again. */
  heal: number;
  /** A random live node crashes. */
  crash: number;
  /** A random crashed node restarts. */
  restart: number;
  /** One-way message delay. */
  messageMs: [number, number];
  /** Duration of one disk write. */
  persistMs: [number, number];
}

/** The rates the CI seeds run with. */
export const DEFAULT_RATES: SimRates = {
  submit: 0.12,
  status: 0.08,
  partition: 0.006,
  heal: 0.006,
  crash: 0.005,
  restart: 0.02,
  messageMs: [1, 8],
  persistMs: [1, 40],
};

/** Figures of one run. */
export interface CibSimStats {
  /** The seed. */
  seed: number;
  /** Configured nodes. */
  nodes: number;
  /** Steps run. */
  steps: number;
  /** Events fed to replicas. */
  events: number;
  /** Messages sent. */
  messages: number;
  /** Configuration changes submitted. */
  submitted: number;
  /** Outcomes: ok, refused, unknown. */
  acked: number;
  /** Refused changes. */
  refused: number;
  /** Changes with an unknown outcome. */
  unknown: number;
  /** Crashes. */
  crashes: number;
  /** Partitions and heals. */
  partitions: number;
  /** Re-stamps after conflicting copies (DC log lines). */
  restamps: number;
  /** Virtual ms from healing to convergence. */
  convergedAfterMs: number;
}

/** A safety or liveness violation, with the seed to replay. */
export class CibSimViolation extends Error {}

interface Pending {
  at: number;
  seq: number;
  run: () => void;
}

/** A binary min-heap of timed events, ordered by time then insertion. */
class EventHeap {
  readonly #items: Pending[] = [];

  get size(): number {
    return this.#items.length;
  }

  peek(): Pending | undefined {
    return this.#items[0];
  }

  push(p: Pending): void {
    const a = this.#items;
    a.push(p);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(a[i], a[parent])) break;
      [a[i], a[parent]] = [a[parent], a[i]];
      i = parent;
    }
  }

  pop(): Pending | undefined {
    const a = this.#items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l], a[m])) m = l;
        if (r < a.length && before(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Pending, b: Pending): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

interface DiskWrite {
  copy: ReplicaCopy<SimDoc>;
  stamp: CibStamp;
}

interface SimNode {
  name: string;
  up: boolean;
  incarnation: number;
  replica: SimReplica | null;
  disk: ReplicaCopy<SimDoc>;
  diskStamp: CibStamp;
  writing: DiskWrite | null;
  queued: DiskWrite | null;
  /** Bumped on every view change and crash: messages of an older epoch may be dropped. */
  viewEpoch: number;
  /** The view the harness assigned last (the replica may learn it later). */
  view: ReplicaView | null;
  lastViewAt: number;
  /** Stamp of the replica's copy after its last event. */
  lastStamp: CibStamp;
}

const MAX_TRACE = 60;
const RETRY_MS = 100;
const RESEND_MS = 400;
const REQUEST_TIMEOUT_MS = 3000;

/** Runs one simulation; throws {@link CibSimViolation} on the first violation. */
export function runCibReplicationSim(opts: CibSimOptions): CibSimStats {
  return new CibReplicationSim(opts).run();
}

/** One simulated cluster of replicas (see the module documentation). */
export class CibReplicationSim {
  readonly #opts: Required<Omit<CibSimOptions, "rates">>;
  readonly #rates: SimRates;
  readonly #rng: Rng;
  readonly #nodes: SimNode[];
  readonly #byName = new Map<string, SimNode>();
  readonly #heap = new EventHeap();
  readonly #pairLast = new Map<string, number>();
  readonly #trace: string[] = [];
  readonly #replies = new Map<string, SimEffect & { type: "reply" }>();
  readonly #acked: { requestId: string; stamp: CibStamp }[] = [];
  readonly #refused = new Set<string>();
  readonly #appliedCache = new WeakMap<SimConfig, Set<string>>();
  #groups: string[][];
  #seq = 0;
  #now = 0;
  #generation = 0;
  #requestCounter = 0;
  readonly #stats: CibSimStats;

  /** Sets up the cluster: every node up, fully connected, on the initial document. */
  constructor(opts: CibSimOptions) {
    this.#opts = {
      faultSteps: 600,
      settleSteps: 500,
      stepMs: 10,
      dropOnViewChange: true,
      viewDelayMs: 0,
      disk: "honest",
      ...opts,
    };
    if (opts.nodes < 1 || opts.nodes > 9) throw new Error(`nodes must be 1..9, got ${opts.nodes}`);
    this.#rates = { ...DEFAULT_RATES, ...opts.rates };
    this.#rng = new Rng(opts.seed);
    this.#stats = {
      seed: opts.seed,
      nodes: opts.nodes,
      steps: 0,
      events: 0,
      messages: 0,
      submitted: 0,
      acked: 0,
      refused: 0,
      unknown: 0,
      crashes: 0,
      partitions: 0,
      restamps: 0,
      convergedAfterMs: -1,
    };
    const names = Array.from({ length: opts.nodes }, (_, i) => `n${i + 1}`);
    const initial: ReplicaCopy<SimDoc> = { term: 0, doc: initialSimDoc() };
    const initialStamp = stampOf(initial);
    this.#nodes = names.map((name) => ({
      name,
      up: true,
      incarnation: 1,
      replica: null,
      disk: initial,
      diskStamp: initialStamp,
      writing: null,
      queued: null,
      viewEpoch: 0,
      view: null,
      lastViewAt: 0,
      lastStamp: initialStamp,
    }));
    for (const n of this.#nodes) {
      this.#byName.set(n.name, n);
      n.replica = this.#newReplica(n);
    }
    this.#groups = [names];
  }

  /** Runs faults, then healing until convergence; returns the figures. */
  run(): CibSimStats {
    const { faultSteps, settleSteps, stepMs } = this.#opts;
    this.#recomputeViews();
    for (let step = 0; step < faultSteps; step++) {
      this.#advanceTo(step * stepMs);
      this.#randomAction();
      this.#tickAll();
      this.#stats.steps++;
    }
    // Faults stop: everyone up, one partition.
    const healedAt = faultSteps * stepMs;
    this.#advanceTo(healedAt);
    this.#groups = [this.#nodes.map((n) => n.name)];
    for (const n of this.#nodes) if (!n.up) this.#restart(n);
    this.#recomputeViews();
    let phase: "converge" | "final-change" | "reconverge" = "converge";
    let finalId = "";
    for (let step = 0; step < settleSteps; step++) {
      const t = healedAt + (step + 1) * stepMs;
      this.#advanceTo(t);
      this.#tickAll();
      this.#stats.steps++;
      if (phase === "converge" && this.#converged()) {
        this.#stats.convergedAfterMs = t - healedAt;
        this.#checkFinal();
        // Liveness: the healed cluster acknowledges one more change, from any node.
        const origin = this.#rng.pick(this.#nodes);
        finalId = this.#submit(origin, { tag: "", op: "set", key: "final", value: step });
        phase = "final-change";
      } else if (phase === "final-change" && this.#replies.has(finalId)) {
        const r = this.#replies.get(finalId)!;
        if (!r.ok) this.#fail(`the healed cluster did not acknowledge ${finalId}: ${r.error}`);
        phase = "reconverge";
      } else if (phase === "reconverge" && this.#converged()) {
        this.#checkFinal();
        return this.#stats;
      }
    }
    this.#fail(
      `no convergence within ${settleSteps} steps after healing (phase ${phase}): ` +
        this.#nodes.map((n) =>
          `${n.name}=${formatStamp(n.replica!.stamp)}/${n.replica!.phase}/disk ${
            formatStamp(n.diskStamp)
          }`
        ).join(", "),
    );
  }

  // ---- faults and requests ----------------------------------------------

  #randomAction(): void {
    const rng = this.#rng;
    const rates = this.#rates;
    const up = this.#nodes.filter((n) => n.up);
    if (up.length > 0 && rng.chance(rates.submit)) this.#submit(rng.pick(up), this.#randomPatch());
    if (up.length > 0 && rng.chance(rates.status)) {
      const n = rng.pick(up);
      this.#deliver(n, { type: "status", now: this.#now, patch: { node: n.name } });
    }
    if (rng.chance(rates.partition)) {
      const count = rng.int(2, 3);
      const groups: string[][] = Array.from({ length: count }, () => []);
      for (const n of this.#nodes) groups[rng.int(0, count - 1)].push(n.name);
      this.#groups = groups.filter((g) => g.length > 0);
      this.#stats.partitions++;
      this.#note(`partition ${this.#groups.map((g) => g.join("+")).join(" | ")}`);
      this.#recomputeViews();
    }
    if (rng.chance(rates.heal)) {
      this.#groups = [this.#nodes.map((n) => n.name)];
      this.#stats.partitions++;
      this.#note("heal");
      this.#recomputeViews();
    }
    if (up.length > 0 && rng.chance(rates.crash)) this.#crash(rng.pick(up));
    const down = this.#nodes.filter((n) => !n.up);
    if (down.length > 0 && rng.chance(rates.restart)) {
      this.#restart(rng.pick(down));
      this.#recomputeViews();
    }
  }

  #randomPatch(): SimPatch {
    const rng = this.#rng;
    const roll = rng.next();
    if (roll < 0.4) {
      return { tag: "", op: "set", key: rng.pick(["a", "b", "c"]), value: rng.int(0, 99) };
    }
    const id = `r${rng.int(0, 4)}`;
    return roll < 0.75 ? { tag: "", op: "add", id } : { tag: "", op: "delete", id };
  }

  #submit(node: SimNode, patch: SimPatch): string {
    const requestId = `${node.name}-${++this.#requestCounter}`;
    this.#stats.submitted++;
    this.#deliver(node, {
      type: "submit",
      now: this.#now,
      requestId,
      patch: { ...patch, tag: requestId },
    });
    return requestId;
  }

  #crash(n: SimNode): void {
    this.#stats.crashes++;
    this.#note(`crash ${n.name} (disk ${formatStamp(n.diskStamp)})`);
    n.up = false;
    n.replica = null;
    n.incarnation++;
    n.viewEpoch++;
    n.view = null;
    // A write in progress never reached the disk (atomic rename).
    n.writing = null;
    n.queued = null;
    this.#recomputeViews();
  }

  #restart(n: SimNode): void {
    n.up = true;
    n.incarnation++;
    n.viewEpoch++;
    n.replica = this.#newReplica(n);
    this.#note(`restart ${n.name} from ${formatStamp(n.diskStamp)}`);
    if (compareStamps(n.replica.stamp, n.diskStamp) !== 0) {
      this.#fail(`${n.name} restarted at ${formatStamp(n.replica.stamp)}, not its disk's copy`);
    }
    n.lastStamp = n.replica.stamp;
  }

  #newReplica(n: SimNode): SimReplica {
    return new CibReplica({
      self: n.name,
      persisted: n.disk,
      ops: simOps,
      retryMs: RETRY_MS,
      resendMs: RESEND_MS,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
    });
  }

  // ---- membership --------------------------------------------------------

  /** Connected components of live nodes; a changed component gets a new generation. */
  #recomputeViews(): void {
    const configured = this.#nodes.length;
    for (const group of this.#groups) {
      const members = group.filter((name) => this.#byName.get(name)!.up).sort();
      if (members.length === 0) continue;
      const nodes = members.map((m) => this.#byName.get(m)!);
      const first = nodes[0].view;
      const unchanged = first !== null && first.members.join() === members.join() &&
        nodes.every((n) => n.view === first);
      if (unchanged) continue;
      const view: ReplicaView = {
        members,
        generation: ++this.#generation,
        dc: electDc(members),
        quorate: members.length >= majorityOf(configured),
        configured,
      };
      this.#note(
        `view g${view.generation} ${members.join(",")} dc ${view.dc}${
          view.quorate ? " quorate" : ""
        }`,
      );
      for (const n of nodes) {
        n.view = view;
        n.viewEpoch++;
        const delay = this.#opts.viewDelayMs > 0 ? this.#rng.int(0, this.#opts.viewDelayMs) : 0;
        const at = Math.max(this.#now + delay, n.lastViewAt);
        n.lastViewAt = at;
        const inc = n.incarnation;
        this.#schedule(at, () => {
          if (n.incarnation !== inc || !n.up) return;
          this.#deliver(n, { type: "view", now: this.#now, view });
        });
      }
    }
  }

  #connected(a: string, b: string): boolean {
    return this.#groups.some((g) => g.includes(a) && g.includes(b));
  }

  // ---- events and effects -------------------------------------------------

  #schedule(at: number, run: () => void): void {
    this.#heap.push({ at, seq: this.#seq++, run });
  }

  #advanceTo(t: number): void {
    for (;;) {
      const next = this.#heap.peek();
      if (!next || next.at > t) break;
      this.#heap.pop();
      this.#now = Math.max(this.#now, next.at);
      next.run();
    }
    this.#now = t;
  }

  #tickAll(): void {
    for (const n of this.#nodes) if (n.up) this.#deliver(n, { type: "tick", now: this.#now });
  }

  /** Feeds one event to a node's replica, carries out its effects and checks the invariants. */
  #deliver(n: SimNode, event: SimEvent): void {
    if (!n.up || !n.replica) return;
    this.#stats.events++;
    if (event.type !== "tick") this.#note(`${n.name} <- ${describeEvent(event)}`);
    let effects: SimEffect[];
    try {
      effects = n.replica.step(event);
    } catch (e) {
      this.#fail(`${n.name} threw on ${event.type}: ${(e as Error).message}`);
    }
    for (const e of effects) this.#effect(n, e);
    this.#checkMemory(n);
  }

  #effect(n: SimNode, e: SimEffect): void {
    switch (e.type) {
      case "send":
        this.#send(n, e.to, e);
        break;
      case "persist":
        this.#persist(n, { copy: e.copy, stamp: e.stamp });
        break;
      case "changed":
        break;
      case "reply":
        this.#onReply(e);
        break;
      case "log":
        if (e.text.startsWith("re-stamped")) this.#stats.restamps++;
        this.#note(`${n.name} log: ${e.text}`);
        break;
    }
  }

  #send(from: SimNode, to: string, e: SimEffect & { type: "send" }): void {
    this.#stats.messages++;
    const target = this.#byName.get(to);
    if (!target) this.#fail(`${from.name} sent to unknown node ${to}`);
    if (!target.up || !this.#connected(from.name, to)) return;
    const key = `${from.name}>${to}`;
    const at = Math.max(
      this.#now + this.#rng.int(...this.#rates.messageMs),
      this.#pairLast.get(key) ?? 0,
    );
    this.#pairLast.set(key, at);
    const fromInc = from.incarnation;
    const toInc = target.incarnation;
    const fromEpoch = from.viewEpoch;
    const toEpoch = target.viewEpoch;
    this.#schedule(at, () => {
      if (from.incarnation !== fromInc || target.incarnation !== toInc) return;
      if (
        this.#opts.dropOnViewChange &&
        (from.viewEpoch !== fromEpoch || target.viewEpoch !== toEpoch)
      ) return;
      this.#deliver(target, {
        type: "message",
        now: this.#now,
        from: from.name,
        message: e.message,
      });
    });
  }

  #persist(n: SimNode, write: DiskWrite): void {
    if (this.#opts.disk === "lying") {
      // The bug under test: "persisted" before the copy is on disk.
      const inc = n.incarnation;
      this.#schedule(this.#now + 1, () => {
        if (n.incarnation === inc) {
          this.#deliver(n, { type: "persisted", now: this.#now, stamp: write.stamp });
        }
      });
    }
    if (n.writing) n.queued = write;
    else this.#startWrite(n, write);
  }

  #startWrite(n: SimNode, write: DiskWrite): void {
    n.writing = write;
    const inc = n.incarnation;
    this.#schedule(this.#now + this.#rng.int(...this.#rates.persistMs), () => {
      if (n.incarnation !== inc) return;
      this.#completeWrite(n);
    });
  }

  #completeWrite(n: SimNode): void {
    const w = n.writing!;
    if (
      compareStamps(w.stamp, n.diskStamp) < 0 ||
      compareVersions(w.stamp.version, n.diskStamp.version) < 0
    ) {
      this.#fail(
        `${n.name}'s disk went backwards: ${formatStamp(n.diskStamp)} -> ${formatStamp(w.stamp)}`,
      );
    }
    n.disk = w.copy;
    n.diskStamp = w.stamp;
    this.#checkCopy(`${n.name}'s disk`, w.copy, w.stamp);
    if (this.#opts.disk === "honest") {
      const inc = n.incarnation;
      // The confirmation may be lost in a crash although the write is on disk.
      this.#schedule(this.#now + this.#rng.int(0, 2), () => {
        if (n.incarnation === inc) {
          this.#deliver(n, { type: "persisted", now: this.#now, stamp: w.stamp });
        }
      });
    }
    n.writing = null;
    const next = n.queued;
    n.queued = null;
    if (next) this.#startWrite(n, next);
  }

  #onReply(e: SimEffect & { type: "reply" }): void {
    const prev = this.#replies.get(e.requestId);
    if (prev) {
      this.#fail(
        `second reply for ${e.requestId}: ${describeReply(prev)}, then ${describeReply(e)}`,
      );
    }
    this.#replies.set(e.requestId, e);
    if (e.ok) {
      this.#stats.acked++;
      this.#acked.push({ requestId: e.requestId, stamp: e.stamp });
      const need = majorityOf(this.#nodes.length);
      const holders = this.#nodes.filter((n) =>
        compareStamps(n.diskStamp, e.stamp) >= 0 &&
        this.#applied(n.disk.doc.config).has(e.requestId)
      );
      if (holders.length < need) {
        this.#fail(
          `${e.requestId} acknowledged at ${formatStamp(e.stamp)} but only on the disks of ` +
            `${holders.map((n) => n.name).join(",") || "no node"} (${need} needed)`,
        );
      }
      for (const n of this.#nodes) {
        this.#checkCopy(`${n.name}'s disk`, n.disk, n.diskStamp);
        if (n.replica) this.#checkCopy(n.name, n.replica.copy, n.replica.stamp);
      }
    } else if (e.outcome === "refused") {
      this.#stats.refused++;
      this.#refused.add(e.requestId);
      for (const n of this.#nodes) {
        this.#checkCopy(`${n.name}'s disk`, n.disk, n.diskStamp);
        if (n.replica) this.#checkCopy(n.name, n.replica.copy, n.replica.stamp);
      }
    } else {
      this.#stats.unknown++;
    }
  }

  // ---- checks ------------------------------------------------------------

  #checkMemory(n: SimNode): void {
    const r = n.replica;
    if (!r) return;
    const s = r.stamp;
    if (s === n.lastStamp) return;
    if (compareStamps(s, n.lastStamp) < 0 || compareVersions(s.version, n.lastStamp.version) < 0) {
      this.#fail(
        `${n.name}'s copy went backwards: ${formatStamp(n.lastStamp)} -> ${formatStamp(s)}`,
      );
    }
    if (simOps.digest(r.doc) !== s.digest) this.#fail(`${n.name}'s stamp does not match its copy`);
    n.lastStamp = s;
    this.#checkCopy(n.name, r.copy, s);
  }

  /** Every acknowledged change is in a copy at least as new; no refused change is in any. */
  #checkCopy(where: string, copy: ReplicaCopy<SimDoc>, stamp: CibStamp): void {
    const applied = this.#applied(copy.doc.config);
    for (const a of this.#acked) {
      if (compareStamps(stamp, a.stamp) >= 0 && !applied.has(a.requestId)) {
        this.#fail(
          `acknowledged change lost: ${where} holds ${formatStamp(stamp)} >= ${
            formatStamp(a.stamp)
          } without ${a.requestId}`,
        );
      }
    }
    for (const id of copy.doc.config.applied) {
      if (this.#refused.has(id)) this.#fail(`refused change ${id} applied in ${where}'s copy`);
    }
  }

  #applied(config: SimConfig): Set<string> {
    let set = this.#appliedCache.get(config);
    if (!set) {
      set = new Set(config.applied);
      this.#appliedCache.set(config, set);
    }
    return set;
  }

  /** Everyone up, in the latest view, holding and having persisted the synchronised DC's copy. */
  #converged(): boolean {
    const names = this.#nodes.map((n) => n.name).join();
    const dcNode = this.#nodes.find((n) => n.replica?.phase === "ready");
    if (!dcNode) return false;
    const dc = dcNode.replica!;
    const json = JSON.stringify(dc.copy);
    return this.#nodes.every((n) => {
      const r = n.replica;
      if (!n.up || !r || !r.view || r.view.members.join() !== names) return false;
      // Views still on their way count as not settled.
      if (r.view.generation !== n.view?.generation) return false;
      if (r.view.generation !== dc.view!.generation) return false;
      const p = r.pending;
      if (p.forwarded + p.inflight + p.queued > 0) return false;
      return compareStamps(r.stamp, dc.stamp) === 0 && JSON.stringify(r.copy) === json &&
        compareStamps(n.diskStamp, dc.stamp) === 0;
    });
  }

  #checkFinal(): void {
    const dc = this.#nodes.find((n) => n.replica?.phase === "ready")!.replica!;
    const applied = this.#applied(dc.doc.config);
    for (const a of this.#acked) {
      if (!applied.has(a.requestId)) {
        this.#fail(`acknowledged change ${a.requestId} missing from the converged CIB`);
      }
    }
  }

  // ---- reporting ---------------------------------------------------------

  #note(line: string): void {
    this.#trace.push(`${this.#now} ${line}`);
    if (this.#trace.length > MAX_TRACE) this.#trace.shift();
  }

  #fail(text: string): never {
    throw new CibSimViolation(
      `seed ${this.#opts.seed} (${this.#opts.nodes} nodes) at ${this.#now} ms: ${text}\n` +
        `replay: VIGIL_CIB_SIM_SEED=${this.#opts.seed} ./node_modules/.bin/deno test -A ` +
        `tests/sim/cib_replication_sim_test.ts\nlast events:\n  ${this.#trace.join("\n  ")}`,
    );
  }
}

function stampOf(copy: ReplicaCopy<SimDoc>): CibStamp {
  return { term: copy.term, version: copy.doc.version, digest: simOps.digest(copy.doc) };
}

function describeEvent(e: SimEvent): string {
  switch (e.type) {
    case "view":
      return e.view ? `view g${e.view.generation}` : "view none";
    case "message": {
      const m = e.message;
      const extra = m.type === "cib-doc" || m.type === "cib-copy"
        ? ` ${formatStamp(stampOf(m.copy))}`
        : m.type === "cib-ack" || m.type === "cib-report"
        ? ` ${formatStamp(m.stamp)}`
        : m.type === "cib-update" || m.type === "cib-result"
        ? ` ${m.requestId}`
        : "";
      return `${e.from}: ${m.type} g${m.gen}${extra}`;
    }
    case "submit":
      return `submit ${e.requestId} ${e.patch.op}`;
    case "status":
      return "status";
    case "persisted":
      return `persisted ${formatStamp(e.stamp)}`;
    case "tick":
      return "tick";
  }
}

function describeReply(e: SimEffect & { type: "reply" }): string {
  return e.ok ? `ok ${formatStamp(e.stamp)}` : `${e.outcome} (${e.error})`;
}
