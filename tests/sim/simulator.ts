/**
 * A deterministic simulator of a whole Vigil cluster in one process.
 *
 * It runs N {@link NodeCore}s with virtual time, a seeded network that loses,
 * delays, duplicates and reorders messages and can be partitioned, cut one way
 * or made to flap, crashes and restarts of nodes (with a new incarnation, or
 * with the same one, as a process that did not persist its boot counter), and
 * simulated resource agents. Clients may submit configuration changes on any
 * node ({@link Simulator.submit}). After every event it checks the safety
 * invariants (see {@link Simulator.checkSafety}); a violation throws with the
 * seed and the recent trace.
 *
 * @example
 * ```ts
 * const sim = new Simulator({ seed: 7, nodes: ["n1", "n2", "n3"], cib });
 * sim.runFor(2000);
 * sim.partition([["n1"], ["n2", "n3"]]);
 * sim.runFor(3000);
 * sim.core("n1").quorum?.quorate; // false
 * ```
 * @module
 */

import type { CibUpdate } from "../../core/cib/cib_update.ts";
import { type CibStamp, compareStamps, formatStamp } from "../../core/cib/replication/stamp.ts";
import { type CibDocument, resourceIds } from "../../core/cib/schema/document.ts";
import { compareVersions, formatVersion } from "../../core/cib/version.ts";
import { electDc } from "../../core/election/election.ts";
import type { LrmOperation } from "../../core/lrm/lrm_state.ts";
import { type Membership, sameMembers } from "../../core/membership/membership.ts";
import type { Message } from "../../core/node/messages.ts";
import {
  type CibReply,
  NodeCore,
  type NodeCoreOptions,
  type NodeEffect,
  type QuorumOptions,
} from "../../core/node/node_core.ts";
import { computeQuorum, type QuorumDecision } from "../../core/quorum/quorum.ts";
import { Rng } from "./rng.ts";

/** Parameters of one simulated cluster. */
export interface SimOptions {
  /** Seed of every random choice. */
  seed: number;
  /** Node names. */
  nodes: string[];
  /** The initial CIB (same on every node). */
  cib: CibDocument;
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
  /** Quorum rules every node runs with (votequorum's two_node, wait_for_all, ...). */
  quorum?: QuorumOptions;
  /**
   * How many of its last sent messages each node keeps for {@link Simulator.replayStale}
   * (default 0: none kept).
   */
  staleLogSize?: number;
  /**
   * Builds each node's core (default: `new NodeCore(opts)`). Tests of the invariants pass
   * a subclass that misbehaves on purpose.
   */
  coreFactory?: (opts: NodeCoreOptions) => NodeCore;
  /**
   * Agent timeout every node's transition engine assumes (it adds deadtime), ms; default:
   * the core's (20 s). Shorter than `opMs` makes operations time out while they run.
   */
  operationTimeoutMs?: number;
}

/** How a restarted node numbers its new process. */
export type RestartIncarnation =
  /** The boot counter was persisted: the new process announces incarnation + 1. */
  | "new"
  /** The boot counter was lost or not written: the new process announces the same one. */
  | "same";

/** A node-lost event although the peer was up and its link to the node was up all deadtime. */
export interface FalseDeath {
  /** Virtual time of the event. */
  at: number;
  /** The node that declared its peer lost. */
  node: string;
  /** The peer it declared lost. */
  peer: string;
}

/** One message a node sent, kept for {@link Simulator.replayStale}. */
interface SentRecord {
  to: string;
  body: Message;
  pid: number;
  incarnation: number;
}

interface SimNode {
  name: string;
  core: NodeCore | null;
  /** Resources really running on this node (the simulated world). */
  running: Set<string>;
  /** The CIB last persisted on this node's disk, with its replication term and stamp. */
  disk: { term: number; cib: CibDocument; stamp: CibStamp | null };
  /** Highest CIB version this node ever persisted. */
  highestVersion: CibDocument["version"];
  /** Highest membership generation this node agreed on or announced, persisted across restarts. */
  generation: number;
  /** Operations in flight: opId -> op. */
  ops: Map<string, LrmOperation>;
  /** The simulator's own process number: grows on every start, whatever the incarnation. */
  pid: number;
  /** The incarnation (boot generation) the current process announces in its frames. */
  incarnation: number;
  /** When the current process started. */
  startedAt: number;
  /** When the last process crashed (-Infinity: never). */
  crashedAt: number;
  /** The generation the current process was started with (its first agreement must exceed it). */
  bootGeneration: number;
  /** The last agreed membership this node held, in any of its processes. */
  lastAgreed: Membership | null;
  /** Whether the current process held an agreed membership of every configured node. */
  sawAll: boolean;
  /** Key of the proposal the current process announces ("" while down). */
  proposalKey: string;
  /** Proposal key -> when this node (any process) stopped proposing it. */
  leftAt: Map<string, number>;
  /** The last messages this node sent (at most staleLogSize). */
  sent: SentRecord[];
  /** Resources not stopped in the LRM of the current process; null until computed after a step. */
  active: Set<string> | null;
  /** The agreed membership object last keyed, and its key (keys are built once per change). */
  keyed: { of: Membership | null; key: string };
}

type Scheduled =
  | {
    kind: "deliver";
    to: string;
    from: string;
    body: Message;
    /** The receiving process: packets queued for a process die with it. */
    toPid: number;
    senderIncarnation: number;
  }
  | { kind: "tick"; node: string; pid: number }
  /** The disk confirms a CIB write. */
  | { kind: "persisted"; node: string; pid: number; stamp: CibStamp }
  | { kind: "op-done"; node: string; opId: string; pid: number }
  | {
    kind: "flap";
    from: string;
    to: string;
    oneWay: boolean;
    down: boolean;
    until: number;
    epoch: number;
    downMs: [number, number];
    upMs: [number, number];
  };

interface QueueItem {
  at: number;
  order: number;
  item: Scheduled;
}

/** One live node's agreed membership, as the invariants look at it. */
interface MembershipView {
  name: string;
  m: Membership;
  key: string;
  quorate: boolean;
}

/** Most proposals remembered per node for the stale-membership invariant. */
const MAX_PROPOSAL_HISTORY = 64;
/** Most false deaths kept with their details (all are counted). */
const MAX_FALSE_DEATHS = 200;

/** A configuration change submitted through {@link Simulator.submit}, and its outcome. */
export interface SimRequest {
  /** The node it was submitted on. */
  node: string;
  /** The change. */
  update: CibUpdate;
  /** The marker resource it creates, if it is a marker creation. */
  marker?: string;
  /** The reply, once it came (a request on a node that crashed never gets one). */
  reply?: CibReply;
}

/** A safety violation, with what is needed to replay it. */
export class InvariantViolation extends Error {}

/** The key of a membership or proposal: generation and members. */
export function membershipKey(m: Membership): string {
  return `${m.generation}:${m.members.join(",")}`;
}

/** The simulated cluster. */
export class Simulator {
  /** The generator behind every random choice of this run. */
  readonly rng: Rng;
  readonly #opts: Required<SimOptions>;
  /** Every configured node with its simulated process, disk and bookkeeping. */
  readonly nodes = new Map<string, SimNode>();
  #queue: QueueItem[] = [];
  #order = 0;
  #now = 0;
  #pids = 0;
  /** Links cut: "a>b" means a's messages do not reach b. Change it through the methods. */
  readonly cut = new Set<string>();
  /** "a>b" -> when that link was last restored (links never cut count from 0). */
  readonly #restoredAt = new Map<string, number>();
  /** Bumped by heal() and partition() to stop flapping links. */
  #flapEpoch = 0;
  /** Probability that one message is lost. */
  loss = 0;
  /** Probability that one message is duplicated. */
  duplication = 0;
  /** Operations that will fail: "rsc:action:node" -> rc. */
  readonly failOps = new Map<string, number>();
  readonly #trace: string[] = [];
  /** Count of events processed. */
  steps = 0;
  /** Cluster events reported by all nodes, by kind. */
  readonly eventCounts = new Map<string, number>();
  /** How many node-lost events were false (see {@link FalseDeath}). */
  falseDeathCount = 0;
  /** The first false deaths, with details. */
  readonly falseDeaths: FalseDeath[] = [];
  /** How many times a flapping link went down. */
  flapDowns = 0;
  /** Longest time seen so far that a node counted a peer in a membership the peer had left. */
  longestStaleMs = 0;
  readonly #quorumCache = new Map<string, QuorumDecision>();
  readonly #dcCache = new Map<string, string>();
  readonly #resourceIds: string[];
  /** Every request submitted, by request id. */
  readonly requests = new Map<string, SimRequest>();
  /** Acknowledged marker creations: marker id and the stamp of the acknowledged copy. */
  readonly ackedMarkers: { marker: string; stamp: CibStamp }[] = [];
  #requestCounter = 0;
  readonly #votes: Record<string, number>;
  readonly #priority: Record<string, number>;

  /** Builds the cluster; nodes boot at time 0. */
  constructor(opts: SimOptions) {
    this.#opts = {
      keepaliveMs: 100,
      deadtimeMs: 500,
      tickMs: 10,
      delayMs: [1, 15],
      opMs: [5, 40],
      quorum: {},
      staleLogSize: 0,
      coreFactory: (o) => new NodeCore(o),
      operationTimeoutMs: 20_000,
      ...opts,
    };
    this.rng = new Rng(opts.seed);
    const configured = opts.cib.config.nodes;
    this.#votes = Object.fromEntries(configured.map((n) => [n.name, n.votes]));
    this.#priority = Object.fromEntries(configured.map((n) => [n.name, n.priority]));
    this.#resourceIds = opts.cib.config.resources.map((r) => r.id);
    for (const name of opts.nodes) {
      this.nodes.set(name, {
        name,
        core: null,
        running: new Set(),
        disk: { term: 0, cib: opts.cib, stamp: null },
        highestVersion: opts.cib.version,
        generation: 0,
        ops: new Map(),
        pid: 0,
        incarnation: 0,
        startedAt: 0,
        crashedAt: -Infinity,
        bootGeneration: 0,
        lastAgreed: null,
        sawAll: false,
        proposalKey: "",
        leftAt: new Map(),
        sent: [],
        keyed: { of: null, key: "" },
        active: null,
      });
      this.start(name);
    }
  }

  /** Current virtual time. */
  get now(): number {
    return this.#now;
  }

  /** The longest a node may keep counting a peer in a membership the peer has left. */
  get staleBoundMs(): number {
    return this.#opts.deadtimeMs + this.#opts.tickMs + this.#opts.delayMs[1];
  }

  /**
   * Boots (or reboots) a node from what its disk holds. `incarnation` says whether the
   * new process announces a new incarnation (the default) or the same one as before.
   */
  start(name: string, incarnation: RestartIncarnation = "new"): void {
    const n = this.#node(name);
    if (n.core) throw new Error(`${name} is already running`);
    n.pid = ++this.#pids;
    if (incarnation === "new" || n.incarnation === 0) n.incarnation++;
    n.startedAt = this.#now;
    n.bootGeneration = n.generation;
    n.sawAll = false;
    n.core = this.#opts.coreFactory({
      self: name,
      cib: n.disk.cib,
      term: n.disk.term,
      keepaliveMs: this.#opts.keepaliveMs,
      deadtimeMs: this.#opts.deadtimeMs,
      generation: n.generation,
      incarnation: n.incarnation,
      quorum: this.#opts.quorum,
      operationTimeoutMs: () => this.#opts.operationTimeoutMs,
    });
    // A new process proposes nobody until its first update.
    n.proposalKey = membershipKey({ members: [], generation: n.generation });
    n.ops.clear();
    n.active = null;
    this.#schedule(this.#now + this.rng.int(0, this.#opts.tickMs), {
      kind: "tick",
      node: name,
      pid: n.pid,
    });
    this.#log(`start ${name} (incarnation ${n.incarnation}, ${incarnation})`);
  }

  /** Kills a node: its process and in-process resources are gone. */
  crash(name: string): void {
    const n = this.#node(name);
    if (!n.core) return;
    n.core = null;
    n.crashedAt = this.#now;
    n.running.clear();
    n.ops.clear();
    this.#leaveProposal(n, "");
    this.#log(`crash ${name}`);
  }

  /** Splits the cluster into groups that cannot hear each other (stops flapping links). */
  partition(groups: string[][]): void {
    this.#flapEpoch++;
    for (const a of this.nodes.keys()) {
      for (const b of this.nodes.keys()) {
        if (a === b) continue;
        this.#setCut(`${a}>${b}`, !groups.some((g) => g.includes(a) && g.includes(b)));
      }
    }
    this.#log(`partition ${groups.map((g) => `{${g.join(",")}}`).join(" ")}`);
  }

  /** Cuts one direction of one link. */
  cutLink(from: string, to: string): void {
    this.#setCut(`${from}>${to}`, true);
    this.#log(`cut ${from}>${to}`);
  }

  /** Restores one direction of one link. */
  restoreLink(from: string, to: string): void {
    this.#setCut(`${from}>${to}`, false);
    this.#log(`restore ${from}>${to}`);
  }

  /** Restores every link and stops flapping links. */
  heal(): void {
    this.#flapEpoch++;
    for (const key of [...this.cut]) this.#setCut(key, false);
    this.#log("heal");
  }

  /**
   * Makes the link between `a` and `b` (only a>b if `oneWay`) go down now, stay down for a
   * random time in `downMs`, come up for a random time in `upMs`, and so on; after `forMs`
   * it is left up. heal() and partition() stop it.
   */
  flapLink(
    a: string,
    b: string,
    opts: { downMs: [number, number]; upMs: [number, number]; forMs: number; oneWay?: boolean },
  ): void {
    this.#node(a);
    this.#node(b);
    this.#schedule(this.#now, {
      kind: "flap",
      from: a,
      to: b,
      oneWay: opts.oneWay ?? false,
      down: true,
      until: this.#now + opts.forMs,
      epoch: this.#flapEpoch,
      downMs: opts.downMs,
      upMs: opts.upMs,
    });
    this.#log(`flap ${a}${opts.oneWay ? ">" : "-"}${b} for ${opts.forMs} ms`);
  }

  /**
   * Delivers to `to` again, in order and `delayMs` from now, the messages that `from` sent
   * under an earlier incarnation than its current one (as kept by `staleLogSize`), with the
   * incarnation they carried: very late duplicates from before `from` restarted. Returns
   * how many were scheduled.
   */
  replayStale(from: string, to: string, delayMs = 1): number {
    const sender = this.#node(from);
    const target = this.#node(to);
    if (!target.core) return 0;
    let count = 0;
    for (const r of sender.sent) {
      if (r.incarnation >= sender.incarnation || r.to !== to) continue;
      this.#schedule(this.#now + delayMs, {
        kind: "deliver",
        to,
        from,
        body: structuredClone(r.body),
        toPid: target.pid,
        senderIncarnation: r.incarnation,
      });
      count++;
    }
    this.#log(`replay ${count} stale messages ${from}>${to}`);
    return count;
  }

  /**
   * A client asks node `name` (running) for a configuration change; returns the request id.
   * The reply lands in {@link Simulator.requests}. A change that creates a resource named
   * with `markerPrefix` is remembered and, once acknowledged, checked in every later copy.
   */
  submit(name: string, update: CibUpdate, markerPrefix = "mark"): string {
    const n = this.#node(name);
    if (!n.core) throw new Error(`${name} is not running`);
    const requestId = `${name}-${n.pid}-${++this.#requestCounter}`;
    const created = update.op === "resource-create"
      ? (update.resource as { id?: unknown }).id
      : undefined;
    const marker = typeof created === "string" && created.startsWith(markerPrefix)
      ? created
      : undefined;
    this.requests.set(requestId, { node: name, update, ...(marker ? { marker } : {}) });
    this.#log(`${name}: submit ${requestId} ${JSON.stringify(update)}`);
    const effects = n.core.step({ type: "cib-update", now: this.#now, requestId, update });
    n.active = null;
    this.#apply(n, effects);
    this.#checkNode(n);
    this.checkSafety();
    return requestId;
  }

  /** Runs until virtual time `until`, checking invariants after every event. */
  runUntil(until: number): void {
    while (this.#queue.length > 0 && this.#queue[0].at <= until) {
      const { at, item } = this.#pop();
      this.#now = at;
      const stepped = this.#process(item);
      this.steps++;
      if (stepped) this.#checkNode(stepped);
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

  /** Whether `a` and `b` are both up and hear each other (no cut either way). */
  linked(a: string, b: string): boolean {
    return this.#node(a).core !== null && this.#node(b).core !== null &&
      !this.cut.has(`${a}>${b}`) && !this.cut.has(`${b}>${a}`);
  }

  /**
   * How long `from`'s messages have been able to reach `to`: since `from`'s process started
   * or the link from>to was last restored, whichever is later (0 if either is down or the
   * link is cut). Loss may still drop single messages.
   */
  linkUpFor(from: string, to: string): number {
    const sender = this.#node(from);
    const key = `${from}>${to}`;
    if (!sender.core || !this.#node(to).core || this.cut.has(key)) return 0;
    return this.#now - Math.max(sender.startedAt, this.#restoredAt.get(key) ?? 0);
  }

  /** How long node `name` has been down (0 while it runs, Infinity if it never crashed). */
  downFor(name: string): number {
    const n = this.#node(name);
    return n.core ? 0 : this.#now - n.crashedAt;
  }

  /** The incarnation node `name` announces (or last announced, if down). */
  incarnationOf(name: string): number {
    return this.#node(name).incarnation;
  }

  /** Quorum as computeQuorum decides it for `members`, with this cluster's votes and rules. */
  expectedQuorum(members: readonly string[], seenAllSinceBoot: boolean): QuorumDecision {
    const key = `${members.join(",")}|${seenAllSinceBoot}`;
    let q = this.#quorumCache.get(key);
    if (!q) {
      const rules = this.#opts.quorum;
      q = computeQuorum({
        members,
        votes: this.#votes,
        ...(rules.expectedVotes !== undefined ? { expectedVotes: rules.expectedVotes } : {}),
        twoNode: rules.twoNode ?? false,
        ...(rules.waitForAll !== undefined ? { waitForAll: rules.waitForAll } : {}),
        seenAllSinceBoot,
        // The simulator feeds no device readings, so devices give no votes.
        deviceVotes: 0,
        expectedDeviceVotes: rules.deviceVotes ?? 0,
      });
      // Bounded by the number of member subsets of a small cluster.
      if (this.#quorumCache.size < 4096) this.#quorumCache.set(key, q);
    }
    return q;
  }

  /** Whether node `name`'s current process has held an agreed membership of every node. */
  sawAllSinceBoot(name: string): boolean {
    return this.#node(name).sawAll;
  }

  /** Nodes where resource `id` is not stopped, according to their own LRM. */
  holders(id: string): string[] {
    return [...this.nodes.values()].filter((n) => n.core && this.#activeOn(n).has(id))
      .map((n) => n.name);
  }

  /** Resources not stopped in a live node's LRM (cached until the node's next step). */
  #activeOn(n: SimNode): Set<string> {
    if (n.active === null) {
      n.active = new Set();
      for (const [id, st] of Object.entries(n.core!.lrmTable())) {
        if (st.state !== "stopped") n.active.add(id);
      }
    }
    return n.active;
  }

  /** Nodes where resource `id` is really running (the simulated world). */
  runningOn(id: string): string[] {
    return [...this.nodes.values()].filter((n) => n.running.has(id)).map((n) => n.name);
  }

  /**
   * Safety, checked after every event:
   * - a single-instance resource is never active on two nodes that are members of each other's agreed membership;
   * - nodes with the same agreed membership have the same DC;
   * - the CIB version a node persisted never goes backwards (checked as it persists);
   * - the membership invariants of {@link Simulator.checkMemberships}.
   *
   * After every step of a node, also that node's own invariants: its agreed membership
   * contains it, its generation never decreases (across restarts too: it is persisted),
   * its DC is the election's winner among the members, and its quorum is computeQuorum
   * over the members with the configured votes and rules.
   */
  checkSafety(): void {
    const views = this.#views();
    const byName = new Map(views.map((v) => [v.name, v]));
    for (const id of this.#resourceIds) {
      const holders: string[] = [];
      for (const n of this.nodes.values()) {
        if ((n.core && this.#activeOn(n).has(id)) || n.running.has(id)) holders.push(n.name);
      }
      for (const a of holders) {
        for (const b of holders) {
          if (a >= b) continue;
          const ma = byName.get(a)?.m.members ?? [];
          const mb = byName.get(b)?.m.members ?? [];
          if (ma.includes(b) && mb.includes(a)) {
            this.fail(`${id} active on ${a} and ${b}, members of one partition`);
          }
        }
      }
    }
    for (const a of views) {
      for (const b of views) {
        if (a.name < b.name && a.key === b.key && this.core(a.name).dc !== this.core(b.name).dc) {
          this.fail(
            `${a.name} and ${b.name} share membership ${a.m.generation} but see DCs ${
              this.core(a.name).dc
            } and ${this.core(b.name).dc}`,
          );
        }
      }
    }
    this.#checkMembershipViews(views);
  }

  /**
   * Membership invariants across nodes. Agreement here is local: a node agrees once every
   * member's latest report proposes its own proposal, with no second round. So when a member
   * X moves on, a node that has not heard of it yet still counts X in the old membership, and
   * X is for a moment in two agreed memberships. That window cannot be closed without
   * another round, but it is bounded: the node either hears X's new proposal (and leaves
   * the old membership at once) or declares X dead after deadtime. What is checked:
   * - **no node in two memberships beyond the detection bound**: if node A's agreed
   *   membership M contains X and X no longer proposes M (or is down), X left M at most
   *   {@link Simulator.staleBoundMs} (deadtime + tick + largest network delay) ago;
   * - two agreed memberships of one generation that share a node are identical (a node
   *   never proposes two member sets under one generation);
   * - two disjoint agreed memberships are never both quorate (unless two_node or an
   *   expected-votes override makes that legitimate).
   */
  checkMemberships(): void {
    this.#checkMembershipViews(this.#views());
  }

  /** Every live node's agreed membership, with its key (built once per change) and quorum. */
  #views(): MembershipView[] {
    const views: MembershipView[] = [];
    for (const n of this.nodes.values()) {
      const m = n.core?.membership;
      if (!m) continue;
      if (n.keyed.of !== m) n.keyed = { of: m, key: membershipKey(m) };
      views.push({ name: n.name, m, key: n.keyed.key, quorate: !!n.core!.quorum?.quorate });
    }
    return views;
  }

  #checkMembershipViews(views: readonly MembershipView[]): void {
    const bound = this.staleBoundMs;
    const rules = this.#opts.quorum;
    const bothQuorateAllowed = rules.twoNode === true || rules.expectedVotes !== undefined;
    for (const a of views) {
      for (const x of a.m.members) {
        if (x === a.name) continue;
        const xn = this.#node(x);
        if (xn.core && xn.proposalKey === a.key) continue;
        const left = this.#leftAt(xn, a.key);
        this.longestStaleMs = Math.max(this.longestStaleMs, this.#now - left);
        if (this.#now - left > bound) {
          this.fail(
            `${a.name} still counts ${x} in membership ${a.key}, which ${x} left at ${left} (${
              xn.core ? `now proposes ${xn.proposalKey}` : "down"
            }); bound ${bound} ms`,
          );
        }
      }
      for (const b of views) {
        if (a.name >= b.name || a.key === b.key) continue;
        const overlap = a.m.members.some((x) => b.m.members.includes(x));
        if (overlap && a.m.generation === b.m.generation) {
          this.fail(
            `${a.name} and ${b.name} agreed on different memberships of one generation: ${a.key} and ${b.key}`,
          );
        }
        if (!overlap && a.quorate && b.quorate && !bothQuorateAllowed) {
          this.fail(
            `disjoint memberships ${a.key} (${a.name}) and ${b.key} (${b.name}) both quorate`,
          );
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

  /** The last `count` lines of the trace (bounded at 400 kept). */
  trace(count = 40): string[] {
    return this.#trace.slice(-count);
  }

  /** A node's own invariants, after it took a step. */
  #checkNode(n: SimNode): void {
    const core = n.core;
    if (!core) return;
    const agreed = core.membership;
    if (!agreed) {
      if (core.dc !== null) this.fail(`${n.name} has DC ${core.dc} without an agreed membership`);
      if (core.quorum !== null) this.fail(`${n.name} has a quorum state without a membership`);
      return;
    }
    const members = agreed.members;
    // The replica's copy is always the one it last wrote (writes are synchronous).
    if (n.disk.stamp && compareStamps(core.cibStamp, n.disk.stamp) !== 0) {
      this.fail(
        `${n.name} holds CIB ${formatStamp(core.cibStamp)} but wrote ${formatStamp(n.disk.stamp)}`,
      );
    }
    if (!members.includes(n.name)) {
      this.fail(`${n.name} agreed on ${membershipKey(agreed)}, which leaves it out`);
    }
    for (let i = 1; i < members.length; i++) {
      if (members[i - 1] >= members[i]) {
        this.fail(`${n.name}'s membership ${membershipKey(agreed)} is not sorted and unique`);
      }
    }
    const last = n.lastAgreed;
    const changed = !last || last.generation !== agreed.generation ||
      !sameMembers(last.members, members);
    if (changed) {
      if (last && agreed.generation <= last.generation) {
        this.fail(
          `${n.name}'s membership generation went from ${membershipKey(last)} to ${
            membershipKey(agreed)
          }`,
        );
      }
      if (agreed.generation <= n.bootGeneration) {
        this.fail(
          `${n.name} agreed on generation ${agreed.generation}, not above the ${n.bootGeneration} it booted with`,
        );
      }
      n.lastAgreed = { members: [...members], generation: agreed.generation };
    }
    if (members.length === Object.keys(this.#votes).length) n.sawAll = true;
    const membersKey = members.join(",");
    let dc = this.#dcCache.get(membersKey);
    if (dc === undefined) {
      dc = electDc(members, this.#priority);
      // Bounded by the number of member subsets of a small cluster.
      if (this.#dcCache.size < 4096) this.#dcCache.set(membersKey, dc);
    }
    if (core.dc !== dc) {
      this.fail(`${n.name} in ${membershipKey(agreed)} has DC ${core.dc}, not ${dc}`);
    }
    const q = core.quorum;
    const want = this.expectedQuorum(members, n.sawAll);
    if (
      !q || q.quorate !== want.quorate || q.votes !== want.votes ||
      q.expected !== want.expected || q.needed !== want.needed
    ) {
      this.fail(
        `${n.name} in ${membershipKey(agreed)} has quorum ${JSON.stringify(q)}, expected ${
          JSON.stringify(want)
        }`,
      );
    }
  }

  /** When node `xn` stopped proposing `key` (a lower bound is fine: it only widens the bound). */
  #leftAt(xn: SimNode, key: string): number {
    const at = xn.leftAt.get(key);
    if (at !== undefined) return at;
    // Forgotten (older than the history kept): it left no later than the oldest entry kept.
    let oldest = this.#now;
    for (const t of xn.leftAt.values()) oldest = Math.min(oldest, t);
    return oldest;
  }

  #leaveProposal(n: SimNode, nextKey: string): void {
    if (n.proposalKey === nextKey) return;
    if (n.proposalKey !== "") {
      n.leftAt.delete(n.proposalKey);
      n.leftAt.set(n.proposalKey, this.#now);
      if (n.leftAt.size > MAX_PROPOSAL_HISTORY) {
        n.leftAt.delete(n.leftAt.keys().next().value!);
      }
    }
    n.proposalKey = nextKey;
  }

  #setCut(key: string, on: boolean): void {
    if (on) this.cut.add(key);
    else if (this.cut.delete(key)) this.#restoredAt.set(key, this.#now);
  }

  /** Processes one queued item; returns the node that took a step, if any. */
  #process(item: Scheduled): SimNode | null {
    if (item.kind === "flap") {
      this.#flap(item);
      return null;
    }
    const n = this.#node(item.kind === "deliver" ? item.to : item.node);
    const pid = item.kind === "deliver" ? item.toPid : item.pid;
    if (!n.core || n.pid !== pid) return null;
    let effects: NodeEffect[];
    switch (item.kind) {
      case "tick":
        effects = n.core.step({ type: "tick", now: this.#now });
        this.#schedule(this.#now + this.#opts.tickMs, item);
        break;
      case "persisted":
        effects = n.core.step({ type: "cib-persisted", now: this.#now, stamp: item.stamp });
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
        if (!op) return null;
        n.ops.delete(item.opId);
        const rc = this.#runAgent(n, op);
        effects = n.core.step({ type: "op-done", now: this.#now, opId: item.opId, rc });
        break;
      }
    }
    n.active = null;
    this.#apply(n, effects);
    return n;
  }

  #flap(item: Extract<Scheduled, { kind: "flap" }>): void {
    if (item.epoch !== this.#flapEpoch) return;
    const down = item.down && this.#now < item.until;
    this.#setCut(`${item.from}>${item.to}`, down);
    if (!item.oneWay) this.#setCut(`${item.to}>${item.from}`, down);
    if (down) this.flapDowns++;
    this.#log(`flap ${item.from}${item.oneWay ? ">" : "-"}${item.to} ${down ? "down" : "up"}`);
    if (this.#now >= item.until) return;
    const [lo, hi] = down ? item.downMs : item.upMs;
    this.#schedule(Math.min(item.until, this.#now + this.rng.int(lo, hi)), {
      ...item,
      down: !down,
    });
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
    for (const e of effects) {
      switch (e.type) {
        case "send":
          if (e.body.type === "hb") {
            const proposal = e.body.membership.proposal;
            // Persisted before it leaves: a restarted node must never reuse a generation it
            // announced, since a peer may have agreed on it (persisting only agreed ones is
            // not enough: the node may crash before it agrees itself).
            n.generation = Math.max(n.generation, proposal.generation);
            this.#leaveProposal(n, membershipKey(proposal));
          }
          if (e.to !== null) this.#send(n, e.to, e.body);
          else {for (const to of this.nodes.keys()) {
              if (to !== n.name) this.#send(n, to, e.body);
            }}
          break;
        case "run-op": {
          n.ops.set(e.op.opId, e.op);
          const [lo, hi] = this.#opts.opMs;
          this.#schedule(this.#now + this.rng.int(lo, hi), {
            kind: "op-done",
            node: n.name,
            opId: e.op.opId,
            pid: n.pid,
          });
          break;
        }
        case "persist-cib":
          this.#persist(n, e);
          break;
        case "cib-reply":
          this.#onReply(n, e);
          break;
        case "event":
          this.#onEvent(n, e.event.kind, e.event.subject);
          this.#log(`${n.name}: ${e.event.text}`);
          break;
      }
    }
    const gen = n.core?.membership?.generation;
    if (gen !== undefined) n.generation = Math.max(n.generation, gen);
  }

  /**
   * A node writes a CIB copy: neither its version nor its stamp may go back (across
   * restarts too), and it must hold every acknowledged marker its stamp covers. The disk
   * confirms the write a little later (the confirmation dies with the process).
   */
  #persist(n: SimNode, e: Extract<NodeEffect, { type: "persist-cib" }>): void {
    if (compareVersions(e.cib.version, n.highestVersion) < 0) {
      this.fail(
        `${n.name} persisted CIB ${formatVersion(e.cib.version)} after ${
          formatVersion(n.highestVersion)
        }`,
      );
    }
    if (n.disk.stamp && compareStamps(e.stamp, n.disk.stamp) <= 0) {
      this.fail(
        `${n.name} persisted CIB ${formatStamp(e.stamp)} after ${formatStamp(n.disk.stamp)}`,
      );
    }
    n.disk = { term: e.term, cib: e.cib, stamp: e.stamp };
    n.highestVersion = e.cib.version;
    for (const a of this.ackedMarkers) this.#checkMarker(n.name, a, e.stamp, e.cib);
    this.#schedule(this.#now + this.rng.int(0, 3), {
      kind: "persisted",
      node: n.name,
      pid: n.pid,
      stamp: e.stamp,
    });
  }

  #onReply(n: SimNode, reply: CibReply): void {
    const req = this.requests.get(reply.requestId);
    if (!req) this.fail(`${n.name} answered unknown request ${reply.requestId}`);
    if (req.reply) this.fail(`${n.name} answered request ${reply.requestId} twice`);
    if (req.node !== n.name) this.fail(`${n.name} answered ${req.node}'s ${reply.requestId}`);
    req.reply = reply;
    this.#log(
      `${n.name}: reply ${reply.requestId} ${
        reply.ok ? `ok ${formatStamp(reply.stamp)}` : `${reply.outcome}: ${reply.error}`
      }`,
    );
    if (!reply.ok || !req.marker) return;
    const acked = { marker: req.marker, stamp: reply.stamp };
    this.ackedMarkers.push(acked);
    // Every copy on disk already at or above the acknowledged one must hold it.
    for (const m of this.nodes.values()) {
      if (m.disk.stamp) this.#checkMarker(m.name, acked, m.disk.stamp, m.disk.cib);
    }
  }

  /** No acknowledged change lost: a copy stamped at or above the ack holds the marker. */
  #checkMarker(
    node: string,
    acked: { marker: string; stamp: CibStamp },
    stamp: CibStamp,
    cib: CibDocument,
  ): void {
    if (compareStamps(stamp, acked.stamp) < 0) return;
    if (!resourceIds(cib.config.resources).includes(acked.marker)) {
      this.fail(
        `acknowledged change lost: ${node}'s CIB ${formatStamp(stamp)} lacks ${acked.marker}, ` +
          `acknowledged at ${formatStamp(acked.stamp)}`,
      );
    }
  }

  #onEvent(n: SimNode, kind: string, subject: string | undefined): void {
    this.eventCounts.set(kind, (this.eventCounts.get(kind) ?? 0) + 1);
    if (kind !== "node-lost" || subject === undefined || !this.nodes.has(subject)) return;
    if (this.linkUpFor(subject, n.name) < this.#opts.deadtimeMs) return;
    this.falseDeathCount++;
    if (this.falseDeaths.length < MAX_FALSE_DEATHS) {
      this.falseDeaths.push({ at: this.#now, node: n.name, peer: subject });
    }
  }

  #send(sender: SimNode, to: string, body: Message): void {
    const max = this.#opts.staleLogSize;
    if (max > 0) {
      sender.sent.push({ to, body, pid: sender.pid, incarnation: sender.incarnation });
      if (sender.sent.length > max) sender.sent.shift();
    }
    const target = this.nodes.get(to);
    if (!target?.core || this.cut.has(`${sender.name}>${to}`)) return;
    if (this.rng.chance(this.loss)) return;
    const copies = this.rng.chance(this.duplication) ? 2 : 1;
    const [lo, hi] = this.#opts.delayMs;
    for (let i = 0; i < copies; i++) {
      this.#schedule(this.#now + this.rng.int(lo, hi), {
        kind: "deliver",
        to,
        from: sender.name,
        body: structuredClone(body),
        toPid: target.pid,
        senderIncarnation: sender.incarnation,
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
