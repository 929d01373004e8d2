/**
 * One node's whole brain as a pure state machine: events in, effects out.
 *
 * It composes liveness, membership, quorum, election, CIB replication, the
 * policy engine, the transition engine and the LRM's bookkeeping. The daemon
 * feeds it real packets, timer ticks and agent results; the simulator feeds it
 * virtual ones. It never reads a clock, a socket or a file.
 *
 * Flow, as in DESIGN.md: heartbeats -> liveness -> membership -> quorum ->
 * election -> (on the DC) CIB status -> policy engine -> transition engine ->
 * "op" messages -> the target's LRM -> results -> CIB status -> policy engine.
 *
 * The CIB is a {@link CibDocument} held by a {@link CibReplica}: every agreed
 * membership (with its DC and quorum) is a view of the replica; configuration
 * changes (`cib-update` events, from the API) go to the DC, which orders them
 * and acknowledges each once a majority of the configured nodes persisted it
 * (`persist-cib` effects, confirmed by `cib-persisted` events). The DC plans
 * only once its replica is synchronised ("ready"). The status section the
 * policy engine reads is not replicated: every node builds it from the LRM
 * tables and operation histories its peers' heartbeats and results carry (the
 * DC's is authoritative; see scheduler_input.ts). The DC plans with the policy
 * engine ({@link schedule}) and carries the graph out with a
 * {@link GraphTransitionEngine}: operations go to the nodes' LRMs as `op`
 * messages, fencing goes out as `fence` effects whose outcome comes back as
 * `fenced` events.
 *
 * @example
 * ```ts
 * const core = new NodeCore({ self: "n1", cib, keepaliveMs: 100, deadtimeMs: 500 });
 * const effects = core.step({ type: "tick", now: 0 });
 * core.step({ type: "cib-update", now: 5, requestId: "n1-1-1",
 *   update: { op: "resource-target-role", resource: "web", role: "Stopped" } });
 * // ... later a { type: "cib-reply", requestId: "n1-1-1", ok: true, ... } effect
 * ```
 * @module
 */

import type { CibStatus, ResourceStatus } from "../cib/cib.ts";
import { activeMoves, applyCibUpdate, type CibUpdate } from "../cib/cib_update.ts";
import { canonicalDigest } from "../cib/replication/digest.ts";
import type { ReplicaEffect, ReplicaOps } from "../cib/replication/events.ts";
import { CibReplica, type ReplicaPhase } from "../cib/replication/replica.ts";
import type { ReplicaCopy } from "../cib/replication/messages.ts";
import { type CibStamp, formatStamp } from "../cib/replication/stamp.ts";
import { type CibDocument, resourceIds } from "../cib/schema/document.ts";
import type { CibStatusSection } from "../cib/schema/status.ts";
import { type CibVersion, compareVersions, formatVersion } from "../cib/version.ts";
import { electDc, Election } from "../election/election.ts";
import {
  type LrmOperation,
  type LrmResourceDetail,
  LrmState,
  type OperationDetail,
  type ProbeTarget,
} from "../lrm/lrm_state.ts";
import { MembershipCore, type MembershipReport } from "../membership/membership.ts";
import { Liveness } from "../messaging/liveness.ts";
import { type Explanation, schedule, type ScheduleResult } from "../pe/scheduler/policy_engine.ts";
import { computeQuorum, type QuorumState } from "../quorum/quorum.ts";
import {
  type GraphDispatch,
  GraphTransitionEngine,
  type OperationDispatch,
} from "../te/graph_engine.ts";
import type { FenceAction } from "../../plugins/fence_driver.ts";
import type { ClusterEvent } from "./events.ts";
import { type LrmReport, lrmReport } from "./lrm_report.ts";
import {
  baseId,
  buildSchedulerInput,
  cibPrimitives,
  findPrimitive,
  type NodeFacts,
  type PrimitiveInfo,
} from "./scheduler_input.ts";
import {
  type CibPatch,
  type Heartbeat,
  type Message,
  type OperationRequestMessage,
  type ReliableMessage,
  reliableMessageSchema,
} from "./messages.ts";
import { ReliableChannel } from "../messaging/reliable_channel.ts";

/** Configuration of one node core. */
export interface NodeCoreOptions {
  /** This node's name (must be a configured node). */
  self: string;
  /** The CIB to start from (from disk, or built from the configuration). */
  cib: CibDocument;
  /** The replication term persisted with it (0 for a CIB never written by a quorate DC). */
  term?: number;
  /**
   * Wall-clock time (ms since the epoch) at `now` = 0: `now` plus this is the
   * time move lifetimes are measured in (default 0: `now` is wall-clock time).
   */
  wallClockOffsetMs?: number;
  /** A configuration change without an outcome after this long is answered `unknown` (8000). */
  cibRequestTimeoutMs?: number;
  /** Interval between heartbeats. */
  keepaliveMs: number;
  /** Silence after which a peer is dead. */
  deadtimeMs: number;
  /** Silence after which a heartbeat is late (default: half of deadtime). */
  warntimeMs?: number;
  /** Timeout of one operation of an agent (used for the TE's deadlines). */
  operationTimeoutMs?: (agent: string, action: "start" | "stop" | "monitor") => number;
  /** Timeout of one fence request of the fence driver (the TE waits this plus deadtime; 60 s). */
  fenceTimeoutMs?: number;
  /**
   * Name of the fence driver this node fences with as DC (node configuration `fencing`);
   * absent: none, and with stonith-enabled the policy engine leaves resources alone.
   */
  fenceDriver?: string;
  /** Membership generation to start from (persisted, so it never goes back). */
  generation?: number;
  /**
   * After boot, the DC waits this long for every configured node to join
   * before placing resources (Heartbeat's initdead; default: 2 x deadtime).
   */
  initdeadMs?: number;
  /** Quorum rules (corosync votequorum's options). */
  quorum?: QuorumOptions;
  /** This node's boot generation (>= 1), for the reliable channel's streams. */
  incarnation?: number;
}

/** Quorum rules of the cluster. */
export interface QuorumOptions {
  /** One node alone of a two-node cluster is quorate (implies waitForAll unless false). */
  twoNode?: boolean;
  /** Not quorate after boot until every node was seen together once. */
  waitForAll?: boolean;
  /** Overrides the sum of configured votes. */
  expectedVotes?: number;
  /** Votes quorum devices (qdisk) can add: counted in the expected votes. */
  deviceVotes?: number;
}

/** Something that happened to the node. */
export type NodeEvent =
  | { type: "tick"; now: number }
  /** A message; `incarnation` is the sender's boot generation from the frame. */
  | { type: "message"; now: number; from: string; incarnation: number; body: Message }
  | { type: "op-done"; now: number; opId: string; rc: number; detail?: OperationDetail }
  /**
   * This node's quorum devices were read: votes they give its partition, health
   * score, and the agreed membership generation the readings were taken under
   * (null if in transition). Votes count only under that same membership.
   */
  | { type: "devices"; now: number; votes: number; score: number; generation: number | null }
  /** The daemon is stopping: give every resource up and leave the membership. */
  | { type: "shutdown"; now: number }
  /**
   * A client asks for a configuration change (`requestId` unique on this node,
   * across restarts too); exactly one `cib-reply` effect answers it.
   */
  | { type: "cib-update"; now: number; requestId: string; update: CibUpdate }
  /** The CIB copy with this stamp is on disk now (after a `persist-cib` effect). */
  | { type: "cib-persisted"; now: number; stamp: CibStamp }
  /**
   * Forget the fail count and last failure of `resource` on `node`, or on every
   * node when `node` is absent (`vigil resource cleanup`); a `cleanup-sent`
   * effect says where it went.
   */
  | { type: "cleanup"; now: number; resource: string; node?: string }
  /**
   * The fencing interface's outcome for `target` (after a `fence` effect): `ok` only when
   * the device confirmed it. On the DC a confirmed fence makes the node cleanly down.
   */
  | { type: "fenced"; now: number; target: string; ok: boolean; detail?: string };

/** The answer to one `cib-update` event. */
export type CibReply =
  /** Persisted by a majority of the configured nodes. */
  | {
    type: "cib-reply";
    requestId: string;
    ok: true;
    version: CibVersion;
    stamp: CibStamp;
    /** What changed, as this node read the update against its own copy when it took it. */
    summary?: string;
  }
  /** `refused`: never applied. `unknown`: may or may not have been applied. */
  | {
    type: "cib-reply";
    requestId: string;
    ok: false;
    outcome: "refused" | "unknown";
    error: string;
  };

/** Something the node wants done. */
export type NodeEffect =
  /** Send `body` to one node, or to every configured node when `to` is null. */
  | { type: "send"; to: string | null; body: Message }
  /** Reliable-channel trouble worth a log line (overflow, refused or reset streams). */
  | { type: "log"; text: string }
  | { type: "run-op"; op: LrmOperation }
  /**
   * Write this CIB and its term atomically, in order (a queued write may be
   * skipped for a newer one), then report `cib-persisted` with `stamp`.
   */
  | { type: "persist-cib"; cib: CibDocument; term: number; stamp: CibStamp }
  | CibReply
  /** Where a `cleanup` event went: this node and/or the peers it was sent to. */
  | { type: "cleanup-sent"; resource: string; nodes: string[]; error?: string }
  | { type: "event"; event: ClusterEvent }
  /** Fence `target` with `action` through the fencing interface; report back with `fenced`. */
  | { type: "fence"; target: string; action: FenceAction };

/** A resource as the status page shows it. */
export interface ResourceView {
  /** Resource id. */
  id: string;
  /** Agent name. */
  agent: string;
  /** Nodes where it is not stopped, with their state. */
  on: { node: string; state: ResourceStatus["state"]; failCount: number }[];
  /** Where the policy engine places it (known on the DC only). */
  target?: string | null;
  /** Why (DC only). */
  reason?: string;
}

/** Why a resource is placed where it is (`GET /explain/:resource`), from the DC's engine. */
export interface ResourceExplanation {
  /** The resource (primitive or clone instance) id. */
  resource: string;
  /** Where it is placed (null: stopped). */
  node: string | null;
  /** Score per node when it was placed (null: not a candidate). */
  scores: Record<string, number | null>;
  /** One sentence: what decided it. */
  reason: string;
  /** The facts behind it. */
  details: string[];
}

/** Everything `GET /status` needs, from one node's point of view. */
export interface NodeSnapshot {
  /** This node. */
  node: string;
  /** Configured nodes. */
  nodes: string[];
  /** Peers heard within deadtime. */
  alive: string[];
  /** Agreed membership, or null while in transition. */
  membership: { members: string[]; generation: number } | null;
  /** This node's current proposal. */
  proposal: { members: string[]; generation: number };
  /** The DC, or null. */
  dc: string | null;
  /** Quorum arithmetic of the agreed membership (null while in transition). */
  quorum: QuorumState | null;
  /** CIB version. */
  cibVersion: CibVersion;
  /** The CIB copy's replication stamp (term, version, digest). */
  cibStamp: CibStamp;
  /** The CIB replica's phase: none, member, or (DC) collecting, fetching, ready. */
  cibPhase: ReplicaPhase;
  /** Moves in force (`vigil resource move`), with their expiry (wall-clock ms) if any. */
  moves: { resource: string; node: string; expiresAt?: number }[];
  /** Configured items the running policy engine does not act on yet. */
  ignored: string[];
  /** Resources and where they are. */
  resources: ResourceView[];
  /** This node's LRM table. */
  lrm: Record<string, ResourceStatus>;
  /** Per resource on this node: recent operations (rc, duration, output), fail count, last failure. */
  lrmDetails: Record<string, LrmResourceDetail>;
  /**
   * Transition engine summary (DC only): the current or last transition, its state, why
   * it was aborted, and the last plan's summary lines (Fence/Start/Stop/Move/Recover).
   */
  transition: {
    id: number;
    busy: boolean;
    state: string;
    abortReason: string | null;
    summary: string[];
  } | null;
}

interface PeerState {
  incarnation: number;
  report: Heartbeat;
  lrmSeq: number;
  lrm: Record<string, ResourceStatus>;
  history: LrmReport;
}

/** What the DC keeps of a node that left the membership, for the scheduler's status. */
interface DepartedNode {
  /** Its last LRM history. */
  history: LrmReport;
  /** Its last heartbeat said it was shutting down and nothing was active there. */
  clean: boolean;
}

/** Most DC actions whose rc is remembered for late or repeated results. */
const MAX_DONE_RC = 64;
/** Most accepted-but-queued DC operations tracked (pending reports). */
const MAX_ACCEPTED = 1024;

/** The pure state machine of one node. */
/** What the DC last planned from, and the plan. */
interface LastPlan {
  /** The scheduler's input. */
  input: CibDocument;
  /** What it decided. */
  result: ScheduleResult;
  /** Its "now" (wall clock). */
  wallNow: number;
  /** Computed on first use: /status and /explain ask often, the input changes seldom. */
  explanations?: Explanation[];
}

export class NodeCore {
  readonly #opts:
    & Required<
      Omit<
        NodeCoreOptions,
        "operationTimeoutMs" | "generation" | "quorum" | "incarnation" | "cib" | "fenceDriver"
      >
    >
    & {
      quorum: QuorumOptions;
      operationTimeoutMs: (agent: string, action: "start" | "stop" | "monitor") => number;
      fenceDriver: string | undefined;
    };
  readonly #liveness: Liveness;
  readonly #membership: MembershipCore;
  readonly #election: Election;
  readonly #lrm = new LrmState();
  #te: GraphTransitionEngine;
  #transitionPrefix = "";
  /** Operations of the current transition by engine op id (to judge their results). */
  readonly #dispatched = new Map<string, OperationDispatch>();
  /** Nodes that left the membership with their last history (until they return or are fenced). */
  readonly #departed = new Map<string, DepartedNode>();
  /** Nodes fenced (confirmed) since they left: cleanly down until they return. */
  readonly #fencedDown = new Set<string>();
  /** DC starts/stops accepted here and still queued: reported as pending. */
  readonly #accepted = new Map<string, { resource: string; action: "start" | "stop" }>();
  #historyCache: { seq: number; report: LrmReport } | null = null;
  /** Raised when {@link #accepted} gains an entry: part of the reported LRM counter. */
  #acceptedBumps = 0;
  /** The last plan's summary lines (Fence/Start/Stop/Move/Recover), DC only. */
  #lastSummary: string[] = [];
  /** rc of recently finished DC actions here (for repeated requests and heartbeats). */
  readonly #doneRc = new Map<string, number>();
  /** The scheduler's input and result of the last plan (DC only). */
  #lastPlan: LastPlan | null = null;
  /** When the DC may plan again after an aborted transition with nothing else changed. */
  #retryAt = -Infinity;
  /** The aborted transition already given its retry time. */
  #abortNoted = 0;
  #bootedAt = 0;
  #sawWholeCluster = false;
  readonly #peers = new Map<string, PeerState>();
  readonly #replica: CibReplica<CibDocument, CibPatch, CibStatusSection>;
  /** The primitives of the current document, rebuilt when it changes. */
  #primitives: { doc: CibDocument; list: PrimitiveInfo[] } | null = null;
  /** Summaries of open client requests, computed when they were taken. */
  readonly #summaries = new Map<string, string>();
  /** The last view fed to the replica (as a key), to feed only changes. */
  #viewKey = "";
  /** The status last seen by the DC (a new failure aborts a transition). */
  #plannedStatus: CibStatus = {};
  #quorum: QuorumState | null = null;
  #now = 0;
  #started = false;
  #nextHeartbeatAt = 0;
  /** Probes of the boot still running; the node is ready when they are done. */
  readonly #bootProbes = new Set<string>();
  #ready = false;
  #shuttingDown = false;
  #inTransitionSince: number | null = 0;
  #selfStopped = false;
  #transitionCounter = 0;
  #lastPolicyKey = "";
  #devices: { votes: number; score: number; generation: number | null } = {
    votes: 0,
    score: 0,
    generation: null,
  };
  /** Whether the last quorum decision was quorate (kept across transitions, for events). */
  #wasQuorate: boolean | null = null;
  /** True while only fresh device readings can decide quorum (the PE then freezes). */
  #quorumPending = false;
  /**
   * Whether membership, election and quorum must be recomputed: something they
   * read changed (a peer came or went, a peer's report changed, our LRM table,
   * readiness, devices or CIB). An idle cluster then costs a comparison per
   * heartbeat, not a recomputation.
   */
  #membershipDirty = true;
  /** Members of the last agreed membership, for join/leave in events. */
  #lastAgreedMembers: readonly string[] = [];
  #refreshedAtLrmSeq = -1;
  /** The DC's status built from the reports, kept while no report changed. */
  #statusCache: { key: string; status: CibStatus; json: string } | null = null;
  readonly #channel: ReliableChannel;
  /** Highest incarnation seen of each peer, kept after it dies. */
  readonly #incarnations = new Map<string, number>();
  /** Resources this node gave up so that it can merge with the peer named. */
  readonly #yielded = new Map<string, string>();
  #effects: NodeEffect[] = [];

  /** Creates the core; nothing happens until the first event. */
  constructor(opts: NodeCoreOptions) {
    if (!opts.cib.config.nodes.some((n) => n.name === opts.self)) {
      throw new Error(`node ${opts.self} is not in the configuration's node list`);
    }
    if (opts.deadtimeMs <= opts.keepaliveMs) {
      throw new RangeError(
        `deadtime (${opts.deadtimeMs} ms) must exceed keepalive (${opts.keepaliveMs} ms)`,
      );
    }
    this.#opts = {
      self: opts.self,
      keepaliveMs: opts.keepaliveMs,
      deadtimeMs: opts.deadtimeMs,
      warntimeMs: opts.warntimeMs ?? Math.floor(opts.deadtimeMs / 2),
      initdeadMs: opts.initdeadMs ?? opts.deadtimeMs * 2,
      operationTimeoutMs: opts.operationTimeoutMs ?? (() => 20_000),
      fenceTimeoutMs: opts.fenceTimeoutMs ?? 60_000,
      fenceDriver: opts.fenceDriver,
      quorum: opts.quorum ?? {},
      wallClockOffsetMs: opts.wallClockOffsetMs ?? 0,
      cibRequestTimeoutMs: opts.cibRequestTimeoutMs ?? 8000,
      term: opts.term ?? 0,
    };
    // Retry a missing report or copy after a few heartbeats (the channel is reliable;
    // a retry covers streams reset by a peer's restart).
    const cibRetryMs = Math.max(100, Math.min(1000, opts.keepaliveMs * 5));
    this.#replica = new CibReplica({
      self: opts.self,
      persisted: { term: opts.term ?? 0, doc: opts.cib },
      ops: CIB_OPS,
      retryMs: cibRetryMs,
      resendMs: cibRetryMs * 5,
      requestTimeoutMs: this.#opts.cibRequestTimeoutMs,
    });
    this.#liveness = new Liveness({
      deadtimeMs: opts.deadtimeMs,
      warntimeMs: this.#opts.warntimeMs,
    });
    this.#membership = new MembershipCore(opts.self, opts.generation ?? 0);
    this.#election = new Election(opts.self);
    // Retransmit after one keepalive (20 to 200 ms), backing off to half a deadtime.
    const retransmitMs = Math.max(20, Math.min(200, opts.keepaliveMs));
    this.#channel = new ReliableChannel({
      self: opts.self,
      incarnation: opts.incarnation ?? 1,
      retransmitMs,
      maxRetransmitMs: Math.max(retransmitMs, opts.deadtimeMs / 2),
    });
    this.#te = this.#newTransitionEngine();
  }

  /** One engine per DC term (see the wiring notes in core/te/graph_engine.ts). */
  #newTransitionEngine(): GraphTransitionEngine {
    return new GraphTransitionEngine({
      resendMs: this.#opts.keepaliveMs * 2,
      operationTimeoutMs: (op) => {
        const agent = findPrimitive(this.cib.config.resources, op.resource)?.agent ?? "";
        const action = op.operation === "start" || op.operation === "stop"
          ? op.operation
          : "monitor";
        return this.#opts.operationTimeoutMs(agent, action) + this.#opts.deadtimeMs;
      },
      fenceTimeoutMs: () => this.#opts.fenceTimeoutMs + this.#opts.deadtimeMs,
    });
  }

  /** This node's name. */
  get self(): string {
    return this.#opts.self;
  }

  /** The local CIB copy. */
  get cib(): CibDocument {
    return this.#replica.doc;
  }

  /** The local CIB copy's replication stamp. */
  get cibStamp(): CibStamp {
    return this.#replica.stamp;
  }

  /** The local CIB copy's replication term. */
  get cibTerm(): number {
    return this.#replica.copy.term;
  }

  /** The CIB replica's phase (a DC plans only when "ready"). */
  get cibPhase(): ReplicaPhase {
    return this.#replica.phase;
  }

  /**
   * The policy engine's input as the DC would build it now (configuration, moves expired,
   * status from the members' reports), or null while there is no agreed membership.
   */
  schedulerInput(): CibDocument | null {
    const agreed = this.#membership.agreed;
    return agreed ? this.#schedulerInput(agreed) : null;
  }

  /** The last plan's result on this node (DC only; null before the first). */
  lastSchedule(): ScheduleResult | null {
    return this.#lastPlan?.result ?? null;
  }

  /** Whether the CIB configures `resource` (a primitive, group, clone or clone instance). */
  knowsResource(resource: string): boolean {
    const ids = resourceIds(this.cib.config.resources);
    return ids.includes(resource) || ids.includes(baseId(resource));
  }

  /**
   * Why `resource` is placed where it is, from the policy engine on the input it last
   * planned from (`GET /explain/:resource`). Null when this node has not planned (not the
   * DC) or the resource is unknown to that input.
   */
  explain(resource: string): ResourceExplanation | null {
    const plan = this.#lastPlan;
    if (!plan || !this.#election.isDc) return null;
    const all = this.#explanations(plan);
    const found = all.find((e) => e.resource === resource) ??
      all.find((e) => e.resource.startsWith(`${resource}:`));
    if (!found) return null;
    return {
      resource: found.resource,
      node: found.node,
      scores: found.scores,
      reason: found.reason,
      details: found.details,
    };
  }

  /** The current DC, or null. */
  get dc(): string | null {
    return this.#election.dc;
  }

  /** The highest membership generation this node has proposed or agreed (to persist). */
  get highestGeneration(): number {
    return Math.max(this.#membership.proposal.generation, this.#membership.agreed?.generation ?? 0);
  }

  /** The agreed membership, or null while in transition. */
  get membership(): { members: string[]; generation: number } | null {
    return this.#membership.agreed;
  }

  /** Quorum of the agreed membership. */
  get quorum(): QuorumState | null {
    return this.#quorum;
  }

  /** This node's LRM table. */
  lrmTable(): Record<string, ResourceStatus> {
    return this.#lrm.table();
  }

  /** Feeds one event; returns the effects to carry out, in order. */
  step(event: NodeEvent): NodeEffect[] {
    if (event.now < this.#now) {
      throw new RangeError(`time went backwards: ${event.now} < ${this.#now}`);
    }
    this.#now = event.now;
    if (!this.#started) this.#boot();
    switch (event.type) {
      case "tick":
        this.#onTick();
        break;
      case "message":
        this.#onMessage(event.from, event.incarnation, event.body);
        break;
      case "op-done":
        this.#onOpDone(event.opId, event.rc, event.detail);
        break;
      case "devices": {
        const d = this.#devices;
        if (
          event.votes !== d.votes || event.score !== d.score || event.generation !== d.generation
        ) {
          this.#devices = { votes: event.votes, score: event.score, generation: event.generation };
          this.#membershipDirty = true;
          this.#heartbeatSoon();
        }
        break;
      }
      case "shutdown":
        this.#onShutdown();
        break;
      case "cib-update":
        this.#onCibUpdate(event.requestId, event.update);
        break;
      case "cib-persisted":
        this.#replicaStep({ type: "persisted", now: this.#now, stamp: event.stamp });
        break;
      case "cleanup":
        this.#onCleanup(event.resource, event.node);
        break;
      case "fenced":
        this.#onFenced(event.target, event.ok, event.detail);
        break;
    }
    this.#refresh();
    if (this.#now >= this.#nextHeartbeatAt) this.#broadcastHeartbeat();
    this.#flushChannel();
    const out = this.#effects;
    this.#effects = [];
    return out;
  }

  /**
   * The latest time by which the core must be stepped again even if nothing
   * arrives: the next heartbeat, a peer's warn or dead time, a monitor, the
   * self-stop deadline. The shell may sleep until then.
   */
  nextDeadline(): number {
    let next = this.#nextHeartbeatAt;
    const consider = (at: number | null) => {
      if (at !== null && at < next) next = at;
    };
    consider(this.#liveness.nextDeadline());
    consider(this.#lrm.nextMonitorAt());
    consider(this.#channel.nextDeadline());
    const expiry = this.#nextMoveExpiry();
    if (expiry !== null) consider(expiry - this.#opts.wallClockOffsetMs);
    if (!this.#membership.agreed && !this.#selfStopped && this.#inTransitionSince !== null) {
      consider(this.#inTransitionSince + this.#opts.deadtimeMs);
    }
    return next;
  }

  /** The explanations of the last plan, computed once per plan. */
  #explanations(plan: LastPlan): Explanation[] {
    plan.explanations ??= schedule(plan.input, {
      now: plan.wallNow,
      explain: true,
      fencingAvailable: this.#opts.fenceDriver !== undefined,
    })
      .explanations ?? [];
    return plan.explanations;
  }

  /** The node's view of the cluster for the status page. */
  snapshot(): NodeSnapshot {
    const agreed = this.#membership.agreed;
    // Every node hears every member's LRM table: the status is the same view the DC plans from.
    const status = this.#statusFromReports();
    const plan = this.#election.isDc ? this.#lastPlan : null;
    const explained = plan ? new Map(this.#explanations(plan).map((e) => [e.resource, e])) : null;
    const resources = this.#primitiveList().map((r): ResourceView => {
      const on = Object.entries(status)
        .filter(([, rs]) => rs[r.id] && rs[r.id].state !== "stopped")
        .map(([node, rs]) => ({ node, state: rs[r.id].state, failCount: rs[r.id].failCount }));
      const view: ResourceView = { id: r.id, agent: r.agent, on };
      const e = explained?.get(r.id);
      if (e) {
        view.target = e.node;
        view.reason = e.reason;
      }
      return view;
    });
    return {
      node: this.self,
      nodes: this.cib.config.nodes.map((n) => n.name),
      alive: this.#liveness.alive(),
      membership: agreed,
      proposal: this.#membership.proposal,
      dc: this.#election.dc,
      quorum: this.#quorum,
      cibVersion: this.cib.version,
      cibStamp: this.#replica.stamp,
      cibPhase: this.#replica.phase,
      moves: activeMoves(this.cib),
      ignored: plan?.result.warnings ?? [],
      resources,
      lrm: this.#lrm.table(),
      lrmDetails: this.#lrm.details(),
      transition: this.#election.isDc
        ? {
          id: this.#te.transition,
          busy: this.#te.busy,
          state: this.#te.state,
          abortReason: this.#te.reason,
          summary: this.#lastSummary,
        }
        : null,
    };
  }

  // --- events -------------------------------------------------------------

  #boot(): void {
    this.#started = true;
    this.#bootedAt = this.#now;
    // Probe every configured resource before joining anyone, so the cluster
    // learns what already runs here instead of trusting old status.
    for (const op of this.#lrm.probeAll(this.#probeTargets())) {
      this.#bootProbes.add(op.opId);
      this.#emit({ type: "run-op", op });
    }
    this.#ready = this.#bootProbes.size === 0;
  }

  /** Every configured resource, as the LRM probes it. */
  #probeTargets(): ProbeTarget[] {
    return this.#primitiveList().map((r) => ({
      id: r.id,
      agent: r.agent,
      params: r.params,
      monitorMs: r.monitorMs,
    }));
  }

  #onShutdown(): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    this.#membershipDirty = true;
    // Not ready: peers leave this node out of their next membership at once.
    this.#ready = false;
    if (this.#election.isDc) {
      for (const d of this.#te.abort("the DC is shutting down", this.#now)) this.#dispatch(d);
    }
    for (const op of this.#lrm.stopAll()) this.#emit({ type: "run-op", op });
    this.#heartbeatSoon();
  }

  /** True once shutdown has started and no resource is active or busy here. */
  get stopped(): boolean {
    return this.#shuttingDown && this.#lrm.active().length === 0 && !this.#lrm.busy();
  }

  #onTick(): void {
    const { dead, late } = this.#liveness.tick(this.#now);
    for (const peer of late) {
      this.#event("node-late", `heartbeat from ${peer} is late`, peer);
    }
    for (const peer of dead) {
      this.#membershipDirty = true;
      const last = this.#peers.get(peer);
      // Its last known state: what the DC must assume still runs there (or fence).
      if (last) this.#departed.set(peer, departedFrom(last));
      this.#peers.delete(peer);
      // Whatever was queued for it is moot; a new stream starts when it returns.
      this.#channel.resetPeer(peer);
      this.#event("node-lost", `node ${peer} lost (silent for ${this.#opts.deadtimeMs} ms)`, peer);
    }
    for (const op of this.#lrm.dueMonitors(this.#now)) this.#emit({ type: "run-op", op });
    this.#replicaStep({ type: "tick", now: this.#now });
    this.#channel.tick(this.#now);
  }

  #onMessage(from: string, incarnation: number, body: Message): void {
    if (from === this.self || !this.#isConfigured(from)) return;
    switch (body.type) {
      case "hb": {
        // A heartbeat of an earlier boot of the peer is history, not a sign of life.
        const known = this.#incarnations.get(from) ?? 0;
        if (incarnation < known) return;
        this.#incarnations.set(from, incarnation);
        if (this.#liveness.heard(from, this.#now)) {
          this.#membershipDirty = true;
          this.#event("node-up", `node ${from} is up`, from);
        }
        // A restarted peer (new incarnation) starts its LRM counter again from 0.
        const prev = this.#peers.get(from);
        const restarted = !prev || incarnation > prev.incarnation;
        // An older heartbeat overtaken by a newer one (links reorder): it proved
        // the peer alive; its report would undo the newer one.
        if (
          prev && !restarted &&
          (body.membership.agreedGeneration < prev.report.membership.agreedGeneration ||
            body.membership.proposal.generation < prev.report.membership.proposal.generation)
        ) return;
        // A restarted peer lost its receive state: start our stream to it afresh.
        if (prev && restarted) this.#channel.resetPeer(from);
        if (restarted || !sameReport(prev.report, body)) this.#membershipDirty = true;
        const lrmNewer = restarted || body.lrm.seq >= prev.lrmSeq;
        this.#peers.set(from, {
          incarnation,
          report: body,
          lrmSeq: lrmNewer ? body.lrm.seq : prev!.lrmSeq,
          lrm: lrmNewer ? body.lrm.resources : prev!.lrm,
          history: lrmNewer ? body.lrm.history ?? {} : prev!.history,
        });
        if (this.#election.isDc) {
          for (const [actionId, ok, rc] of body.done) this.#actionResult(actionId, ok, rc);
        }
        break;
      }
      default:
        // A reliable-channel packet (data, ack or reset).
        this.#channel.receive(from, body, this.#now);
        this.#takeDeliveries(incarnation);
        break;
    }
  }

  /** Handles what the reliable channel delivered, in order, and sends what it has ready. */
  #takeDeliveries(incarnation: number): void {
    const { packets, events } = this.#channel.drain();
    for (const p of packets) this.#emit({ type: "send", to: p.to, body: p.packet });
    for (const e of events) {
      if (e.type === "delivered") {
        const msg = reliableMessageSchema.safeParse(e.payload);
        if (msg.success) this.#onReliable(e.from, incarnation, msg.data);
        else this.#emit({ type: "log", text: `dropped an invalid message from ${e.from}` });
      } else if (e.type === "stream-reset") {
        this.#emit({ type: "log", text: `message stream from ${e.peer} restarted (${e.reason})` });
      } else {
        this.#emit({
          type: "log",
          text: `message stream to ${e.peer}: ${e.type}, ${e.dropped} messages dropped`,
        });
      }
    }
  }

  /** Sends whatever the channel has ready (retransmissions, acks, new data). */
  #flushChannel(): void {
    const { packets, events } = this.#channel.drain();
    for (const p of packets) this.#emit({ type: "send", to: p.to, body: p.packet });
    // Deliveries happen only in #takeDeliveries, right after a receive.
    for (const e of events) {
      if (e.type !== "delivered") {
        this.#emit({ type: "log", text: `message stream to ${e.peer}: ${e.type}` });
      }
    }
  }

  #sendReliable(to: string, body: ReliableMessage): void {
    if (!this.#channel.send(to, body, this.#now)) {
      this.#emit({ type: "log", text: `message ${body.type} to ${to} too large to send` });
    }
  }

  #onReliable(from: string, incarnation: number, body: ReliableMessage): void {
    switch (body.type) {
      case "op":
        this.#onOperationRequest(from, body);
        break;
      case "op-result": {
        const peer = this.#peers.get(from);
        if (peer && peer.incarnation === incarnation && body.lrm.seq >= peer.lrmSeq) {
          peer.lrmSeq = body.lrm.seq;
          peer.lrm = body.lrm.resources;
          peer.history = body.lrm.history ?? {};
        }
        if (this.#election.isDc) this.#actionResult(body.actionId, body.ok, body.rc);
        break;
      }
      case "cib-repl":
        this.#replicaStep({ type: "message", now: this.#now, from, message: body.msg });
        break;
      case "cleanup":
        this.#cleanupHere(body.resource, from);
        break;
    }
  }

  // --- the CIB --------------------------------------------------------------

  /** Feeds the replica and carries its effects out. */
  #replicaStep(
    event: Parameters<CibReplica<CibDocument, CibPatch, CibStatusSection>["step"]>[0],
  ): void {
    for (const e of this.#replica.step(event)) this.#onReplicaEffect(e);
  }

  #onReplicaEffect(e: ReplicaEffect<CibDocument, CibPatch, CibStatusSection>): void {
    switch (e.type) {
      case "send":
        this.#sendReliable(e.to, { type: "cib-repl", msg: e.message });
        return;
      case "persist":
        this.#emit({ type: "persist-cib", cib: e.copy.doc, term: e.copy.term, stamp: e.stamp });
        return;
      case "changed":
        this.#onCibChanged(e.copy);
        return;
      case "reply": {
        const summary = this.#summaries.get(e.requestId);
        this.#summaries.delete(e.requestId);
        if (e.ok) {
          this.#emit({
            type: "cib-reply",
            requestId: e.requestId,
            ok: true,
            version: e.version,
            stamp: e.stamp,
            ...(summary !== undefined ? { summary } : {}),
          });
        } else {
          this.#emit({
            type: "cib-reply",
            requestId: e.requestId,
            ok: false,
            outcome: e.outcome,
            error: e.error,
          });
        }
        return;
      }
      case "log":
        this.#emit({ type: "log", text: `cib: ${e.text}` });
        return;
    }
  }

  /** A new copy: what the engine reads changed (votes, priorities, resources, constraints). */
  #onCibChanged(copy: ReplicaCopy<CibDocument>): void {
    const before = this.#primitives;
    this.#membershipDirty = true;
    this.#heartbeatSoon();
    const after = this.#primitiveList();
    if (before && before.doc !== copy.doc) {
      this.#event(
        "cib",
        `CIB ${
          formatVersion(copy.doc.version)
        } (term ${copy.term}): ${copy.doc.config.resources.length} ` +
          `resources, ${copy.doc.config.constraints.locations.length} location constraints`,
      );
      // A configuration change the running transition did not cause: plan again.
      if (this.#election.isDc) {
        for (const d of this.#te.cibChanged(this.#now, "configuration changed")) this.#dispatch(d);
      }
      // Resources new to this node's configuration: learn whether they already run here.
      const known = new Set(before.list.map((r) => r.id));
      const added = this.#probeTargets().filter((t) => !known.has(t.id) && after.length > 0);
      if (added.length && this.#started && !this.#shuttingDown) {
        for (const op of this.#lrm.probeAll(added)) this.#emit({ type: "run-op", op });
      }
    }
  }

  #onCibUpdate(requestId: string, update: CibUpdate): void {
    const at = Math.max(0, Math.round(this.#now + this.#opts.wallClockOffsetMs));
    // A preview against this node's copy, for the reply's text; the DC decides.
    const preview = applyCibUpdate(this.cib, update, at);
    if (preview.ok && this.#summaries.size < MAX_OPEN_SUMMARIES) {
      this.#summaries.set(requestId, preview.summary);
    }
    this.#replicaStep({ type: "submit", now: this.#now, requestId, patch: { update, at } });
  }

  #onCleanup(resource: string, node: string | undefined): void {
    if (node !== undefined && !this.#isConfigured(node)) {
      this.#emit({
        type: "cleanup-sent",
        resource,
        nodes: [],
        error: `no node "${node}" (nodes: ${this.cib.config.nodes.map((n) => n.name).join(", ")})`,
      });
      return;
    }
    const targets = node !== undefined ? [node] : this.cib.config.nodes.map((n) => n.name);
    const reached: string[] = [];
    for (const t of targets) {
      if (t === this.self) {
        this.#cleanupHere(resource, this.self);
        reached.push(t);
      } else if (this.#liveness.isAlive(t)) {
        this.#sendReliable(t, { type: "cleanup", resource });
        reached.push(t);
      }
    }
    this.#emit({
      type: "cleanup-sent",
      resource,
      nodes: reached,
      ...(reached.length === 0 ? { error: `node ${node} is not reachable` } : {}),
    });
  }

  #cleanupHere(resource: string, by: string): void {
    const before = this.#lrm.seq;
    this.#lrm.cleanup(resource);
    if (this.#lrm.seq !== before) {
      this.#event("cib", `fail count of ${resource} cleared on ${this.self} (asked by ${by})`);
      this.#heartbeatSoon();
    }
  }

  /** Every primitive of the current document (cached per document). */
  #primitiveList(): PrimitiveInfo[] {
    const doc = this.#replica.doc;
    if (this.#primitives?.doc !== doc) {
      this.#primitives = { doc, list: cibPrimitives(doc.config.resources) };
    }
    return this.#primitives.list;
  }

  /** The earliest expiry (wall-clock ms) of a location constraint still in force, or null. */
  #nextMoveExpiry(): number | null {
    const wall = this.#now + this.#opts.wallClockOffsetMs;
    let next: number | null = null;
    for (const c of this.cib.config.constraints.locations) {
      if (
        c.expiresAt !== undefined && c.expiresAt > wall && (next === null || c.expiresAt < next)
      ) {
        next = c.expiresAt;
      }
    }
    return next;
  }

  /** How many location constraints have expired by now (a change of it means: plan again). */
  #expiredMoves(): number {
    const wall = this.#now + this.#opts.wallClockOffsetMs;
    return this.cib.config.constraints.locations.filter((c) =>
      c.expiresAt !== undefined && c.expiresAt <= wall
    ).length;
  }

  /** The replica's view of the agreed membership (null while in transition). */
  #feedView(): void {
    const agreed = this.#membership.agreed;
    const dc = this.#election.dc;
    const quorate = !!this.#quorum?.quorate && !this.#quorumPending;
    const configured = this.cib.config.nodes.length;
    const key = agreed && dc
      ? `${agreed.generation}|${agreed.members.join(",")}|${dc}|${quorate}|${configured}`
      : "";
    if (key === this.#viewKey) return;
    this.#viewKey = key;
    this.#replicaStep({
      type: "view",
      now: this.#now,
      view: agreed && dc
        ? { members: agreed.members, generation: agreed.generation, dc, quorate, configured }
        : null,
    });
  }

  #onOperationRequest(from: string, req: OperationRequestMessage): void {
    // Only the DC of our agreed membership may direct this LRM.
    const agreed = this.#membership.agreed;
    if (from !== this.#election.dc || !agreed || this.#shuttingDown) return;
    // A request repeated after it ran: its result is a fact, whatever the membership.
    const known = this.#lrm.doneResult(req.actionId);
    if (known !== undefined) {
      this.#sendResult(from, req.actionId, known, this.#doneRc.get(req.actionId) ?? -1);
      return;
    }
    if (this.#lrm.knows(req.actionId)) return;
    // Only for this membership: a DC plans a new membership from reports made in it,
    // so an action of an earlier one arriving late must not run. Say so at once (the
    // DC's engine then need not wait for its deadline); a newer one waits for us.
    const generation = actionGeneration(req.actionId);
    if (generation !== agreed.generation) {
      if (generation < agreed.generation) this.#sendResult(from, req.actionId, false, -1);
      return;
    }
    // A probe also sets up the recurring monitor when it finds the resource running.
    const op = this.#lrm.request({
      resource: req.resource,
      action: req.action,
      agent: req.agent,
      params: req.params,
      origin: req.probe ? "probe" : "dc",
      actionId: req.actionId,
      requestedBy: from,
    }, req.monitorMs);
    if (op) {
      this.#emit({ type: "run-op", op });
    } else if (
      (req.action === "start" || req.action === "stop") && this.#lrm.knows(req.actionId) &&
      this.#accepted.size < MAX_ACCEPTED
    ) {
      // Queued behind another operation of the resource: reported as pending already.
      this.#accepted.set(req.actionId, { resource: req.resource, action: req.action });
      this.#acceptedBumps++;
    }
    this.#heartbeatSoon();
  }

  #onOpDone(opId: string, rc: number, detail?: OperationDetail): void {
    // Readiness (the last probe) and the LRM table feed the membership.
    this.#membershipDirty = true;
    const { outcome, next } = this.#lrm.complete(opId, rc, this.#now, detail);
    if (next) this.#emit({ type: "run-op", op: next });
    if (!outcome) return;
    const { op, after, before } = outcome;
    if (op.origin === "probe") {
      const boot = this.#bootProbes.delete(op.opId);
      if (boot && this.#bootProbes.size === 0) this.#ready = !this.#shuttingDown;
      if (after !== "stopped" && (boot || before !== after)) {
        this.#event("resource-started", `probe found ${op.resource} ${after} here`, op.resource);
      }
    } else if (after === "started" && before !== "started") {
      this.#event(
        "resource-started",
        `resource ${op.resource} started on ${this.self}`,
        op.resource,
      );
    } else if (after === "stopped" && before !== "stopped") {
      this.#event(
        "resource-stopped",
        `resource ${op.resource} stopped on ${this.self}`,
        op.resource,
      );
    }
    if (after === "failed" && before !== "failed") {
      this.#event(
        "resource-failed",
        `${op.action} of ${op.resource} failed on ${this.self} (rc ${rc})`,
        op.resource,
      );
    }
    if (op.actionId && op.requestedBy) {
      this.#accepted.delete(op.actionId);
      this.#doneRc.set(op.actionId, rc);
      if (this.#doneRc.size > MAX_DONE_RC) this.#doneRc.delete(this.#doneRc.keys().next().value!);
      this.#sendResult(op.requestedBy, op.actionId, outcome.ok, rc);
      if (this.#election.isDc) this.#actionResult(op.actionId, outcome.ok, rc);
    }
    this.#heartbeatSoon();
  }

  // --- the pipeline -------------------------------------------------------

  /** Recomputes membership, quorum and election, then coordinates if DC. */
  #refresh(): void {
    if (this.#lrm.seq !== this.#refreshedAtLrmSeq) this.#membershipDirty = true;
    if (this.#membershipDirty) {
      this.#membershipDirty = false;
      this.#refreshedAtLrmSeq = this.#lrm.seq;
      this.#refreshMembership();
    }
    this.#selfStopIfCutOff();
    // A DC plans only once its own probes told it what already runs here.
    if (this.#election.isDc && this.#ready) this.#coordinate();
  }

  /** Membership, election and quorum from liveness and the peers' reports. */
  #refreshMembership(): void {
    const reports = new Map<string, MembershipReport>();
    for (const [peer, s] of this.#peers) reports.set(peer, s.report.membership);
    const change = this.#membership.update({
      alive: this.#liveness.alive(),
      reports,
      ready: this.#ready,
      active: this.#lrm.active(),
    });
    if (change.proposalChanged) this.#heartbeatSoon();
    const agreed = this.#membership.agreed;
    if (agreed?.members.length === this.cib.config.nodes.length) this.#sawWholeCluster = true;
    if (change.agreedChanged) {
      if (agreed) {
        const before = this.#lastAgreedMembers;
        const joined = agreed.members.filter((m) => !before.includes(m));
        const left = before.filter((m) => !agreed.members.includes(m));
        const diff = [
          ...(joined.length && before.length ? [`joined: ${joined.join(", ")}`] : []),
          ...(left.length ? [`left: ${left.join(", ")}`] : []),
        ];
        this.#lastAgreedMembers = agreed.members;
        // Whoever joined may have changed what runs where (a partition healed, a node
        // came back): probe again rather than trust the LRM table.
        if (joined.length && before.length) {
          for (const op of this.#lrm.probeAll(this.#probeTargets())) {
            this.#emit({ type: "run-op", op });
          }
        }
        this.#event(
          "membership",
          `membership ${agreed.generation}: ${agreed.members.join(", ")}${
            diff.length ? ` (${diff.join("; ")})` : ""
          }`,
        );
      }
      const priority = Object.fromEntries(this.cib.config.nodes.map((n) => [n.name, n.priority]));
      const wasDc = this.#election.isDc;
      const { dc, changed } = this.#election.update(agreed, priority);
      if (changed && dc) this.#event("dc-elected", `DC is ${dc}`, dc);
      if (agreed) {
        // Back in the membership: its reports are current again.
        for (const m of agreed.members) {
          this.#departed.delete(m);
          this.#fencedDown.delete(m);
        }
      }
      if (wasDc && this.#election.isDc && agreed) {
        // Same DC, new membership: the engine aborts (operations on nodes that left
        // fail at once) and the policy engine plans again once it is idle.
        for (const d of this.#te.membershipChanged(agreed.members, this.#now)) this.#dispatch(d);
        this.#lastPolicyKey = "";
      } else if (wasDc || this.#election.isDc) {
        // A new DC term (or the end of ours): one engine per term. Operations still in
        // flight show as pending in the reports, which the policy engine respects.
        if (wasDc) this.#te.abort("no longer the DC", this.#now);
        this.#te = this.#newTransitionEngine();
        this.#dispatched.clear();
        this.#lastPolicyKey = "";
        this.#lastPlan = null;
      }
      this.#inTransitionSince = agreed ? null : this.#now;
      this.#heartbeatSoon();
    }
    this.#updateQuorum();
    this.#feedView();
    this.#resolveConflicts();
  }

  /**
   * Two nodes that hear each other but both run the same single-instance
   * resource (after a split in which both sides kept it) are never merged while
   * both do. The one that would not be the DC of the pair stops its copy, so
   * the merge can happen; the other keeps the service running.
   */
  #resolveConflicts(): void {
    const agreed = this.#membership.agreed?.members ?? [this.self];
    // A yield lasts while the peer is alive and not yet merged with us.
    for (const [r, peer] of this.#yielded) {
      if (!this.#liveness.isAlive(peer) || agreed.includes(peer)) this.#yielded.delete(r);
    }
    const mine = this.#lrm.active();
    if (mine.length === 0 || this.#shuttingDown) return;
    const priority = Object.fromEntries(this.cib.config.nodes.map((n) => [n.name, n.priority]));
    const stop = new Set<string>();
    for (const peer of this.#liveness.alive()) {
      const report = this.#peers.get(peer)?.report.membership;
      if (!report || agreed.includes(peer) || !report.view.includes(this.self)) continue;
      if (electDc([this.self, peer], priority) === this.self) continue;
      for (const r of mine) {
        if (!report.active.includes(r)) continue;
        stop.add(r);
        // Our own partition's DC must not start it here again meanwhile.
        this.#yielded.set(r, peer);
      }
    }
    if (stop.size === 0) return;
    const ops = this.#lrm.stopAll(stop);
    if (ops.length === 0) return;
    this.#event(
      "self-stop",
      `stopping ${[...stop].join(", ")}: also running on a node this one must merge with`,
    );
    for (const op of ops) this.#emit({ type: "run-op", op });
  }

  /**
   * Recomputes quorum from votes, device votes and the quorum rules; reports changes.
   *
   * Device votes count only when the reading was taken under the current agreed
   * membership: a reading from before a split may say "this partition holds the
   * disk" for a partition that no longer exists, and counting it would let both
   * halves be quorate at once. Until fresh readings arrive, quorum is decided
   * without the device when it can be, and otherwise it is pending: not quorate,
   * and the policy engine freezes instead of stopping anything.
   */
  #updateQuorum(): void {
    const agreed = this.#membership.agreed;
    if (!agreed) {
      this.#quorum = null;
      this.#quorumPending = false;
      return;
    }
    const q = this.#opts.quorum;
    const expectedDeviceVotes = q.deviceVotes ?? 0;
    const reportOf = (m: string) =>
      m === this.self ? this.#devices : this.#peers.get(m)?.report.devices;
    let fresh = 0;
    let stale = 0;
    for (const m of agreed.members) {
      const d = reportOf(m);
      if (!d) continue;
      // A device's votes count once per partition, however many members see it.
      if (d.generation === agreed.generation) fresh = Math.max(fresh, d.votes);
      else stale = Math.max(stale, d.votes);
    }
    const votes = Object.fromEntries(this.cib.config.nodes.map((n) => [n.name, n.votes]));
    const decide = (deviceVotes: number) =>
      computeQuorum({
        members: agreed.members,
        votes,
        ...(q.expectedVotes !== undefined ? { expectedVotes: q.expectedVotes } : {}),
        twoNode: q.twoNode ?? false,
        ...(q.waitForAll !== undefined ? { waitForAll: q.waitForAll } : {}),
        seenAllSinceBoot: this.#sawWholeCluster,
        deviceVotes: Math.min(deviceVotes, expectedDeviceVotes),
        expectedDeviceVotes,
      });
    this.#quorum = decide(fresh);
    const ownFresh = this.#devices.generation === agreed.generation;
    // Pending: our own reading is not from this membership yet, and the device
    // is what decides (with the old votes this partition would be quorate).
    this.#quorumPending = expectedDeviceVotes > 0 && !ownFresh && !this.#quorum.quorate &&
      decide(Math.max(fresh, stale, this.#devices.votes)).quorate;
    if (this.#quorumPending) return;
    if (this.#quorum.quorate !== this.#wasQuorate) {
      this.#wasQuorate = this.#quorum.quorate;
      this.#event(
        "quorum",
        `partition ${this.#quorum.quorate ? "has" : "lost"} quorum: ${this.#quorum.reason}`,
      );
    }
  }

  /** Health scores of the members from their quorum devices (ping connectivity). */
  #nodeScores(members: readonly string[]): Record<string, number> {
    const out: Record<string, number> = {};
    for (const m of members) {
      out[m] = m === this.self
        ? this.#devices.score
        : this.#peers.get(m)?.report.devices?.score ?? 0;
    }
    return out;
  }

  /**
   * A node that cannot agree on any membership for deadtime gives up its
   * resources: a majority elsewhere may already be starting them.
   */
  #selfStopIfCutOff(): void {
    if (this.#membership.agreed) {
      this.#selfStopped = false;
      return;
    }
    if (this.#inTransitionSince === null) this.#inTransitionSince = this.#now;
    if (this.#selfStopped || this.#now - this.#inTransitionSince < this.#opts.deadtimeMs) return;
    this.#selfStopped = true;
    const stops = this.#lrm.stopAll();
    if (stops.length) {
      this.#event(
        "self-stop",
        `no agreed membership for ${this.#opts.deadtimeMs} ms: stopping ${
          stops.map((s) => s.resource).join(", ")
        }`,
      );
    }
    for (const op of stops) this.#emit({ type: "run-op", op });
  }

  /** The DC's work: once the CIB is synchronised, record status, plan and run transitions. */
  #coordinate(): void {
    const agreed = this.#membership.agreed!;
    const members = agreed.members;
    // The replica syncs the newest CIB of the members first: plan only from that one.
    if (this.#replica.phase !== "ready") return;

    const { status, json: statusJson } = this.#cachedStatus(agreed);
    if (status !== this.#plannedStatus) {
      const failed = this.#newFailure(status);
      this.#plannedStatus = status;
      // A failure the transition did not cause (its own failures abort it already).
      if (failed) { for (const d of this.#te.cibChanged(this.#now, failed)) this.#dispatch(d); }
    }

    for (const d of this.#te.tick(this.#now)) this.#dispatch(d);
    if (this.#te.busy) return;
    if (this.#te.state === "aborted" && this.#abortNoted !== this.#te.transition) {
      // Plan again after an abort even if no report changed, but not in a tight loop.
      this.#abortNoted = this.#te.transition;
      this.#retryAt = this.#now + this.#opts.keepaliveMs;
    }
    // Plan from reports made in this membership only: a member's older report may
    // predate an action of the previous membership that it accepted (it refuses
    // such actions once it agrees on this one).
    if (
      !members.every((m) => m === this.self || this.#reportedGeneration(m) === agreed.generation)
    ) {
      return;
    }
    // initdead: after boot, wait for the whole cluster once (or initdead) before placing.
    if (!this.#sawWholeCluster && this.#now - this.#bootedAt < this.#opts.initdeadMs) return;
    const retry = this.#retryAt <= this.#now && this.#abortNoted === this.#te.transition &&
      this.#te.state === "aborted";
    const key = `${agreed.generation}|${this.#quorum?.quorate}|${this.#quorumPending}|${
      [...this.#yielded.keys()].join(",")
    }|${formatStamp(this.#replica.stamp)}|${this.#expiredMoves()}|${
      JSON.stringify(this.#nodeScores(members))
    }|${[...this.#departed.keys()].join(",")}|${[...this.#fencedDown].join(",")}|${statusJson}`;
    if (key === this.#lastPolicyKey && !retry) return;
    this.#lastPolicyKey = key;
    if (retry) this.#retryAt = Infinity;
    const wallNow = this.#now + this.#opts.wallClockOffsetMs;
    const input = this.#schedulerInput(agreed);
    let result: ScheduleResult;
    try {
      result = schedule(input, {
        now: wallNow,
        fencingAvailable: this.#opts.fenceDriver !== undefined,
      });
    } catch (err) {
      this.#emit({ type: "log", text: `policy engine failed: ${String(err)}` });
      return;
    }
    this.#lastPlan = { input, result, wallNow };
    // Pseudo actions alone change nothing: no transition for them.
    if (!result.actions.some((a) => a.type !== "pseudo")) return;
    const id = ++this.#transitionCounter;
    this.#transitionPrefix = `${this.self}:${agreed.generation}:${id}:`;
    this.#dispatched.clear();
    this.#lastSummary = result.summary.map((l) => l.trim());
    const what = this.#lastSummary.length > 0
      ? this.#lastSummary.map((l) => l.replace(/\s+/g, " ")).join("; ")
      : result.actions.filter((a) => a.type !== "pseudo").map((a) => a.key).slice(0, 20)
        .join(", ");
    this.#event("transition", `transition ${id}: ${what}`);
    let out: GraphDispatch[];
    try {
      out = this.#te.start(id, result.actions, this.#now, { members });
    } catch (err) {
      this.#emit({ type: "log", text: `transition ${id} not started: ${String(err)}` });
      return;
    }
    for (const d of out) this.#dispatch(d);
  }

  /** The policy engine's input for `agreed` (see scheduler_input.ts). */
  #schedulerInput(agreed: { members: string[]; generation: number }): CibDocument {
    const nodes: Record<string, NodeFacts> = {};
    for (const n of this.cib.config.nodes) {
      const name = n.name;
      if (agreed.members.includes(name)) {
        const report = name === this.self ? this.#ownHistory() : this.#peers.get(name)?.history;
        nodes[name] = { member: true, report: report ?? {}, cleanlyDown: false };
        continue;
      }
      if (this.#fencedDown.has(name)) {
        nodes[name] = { member: false, report: null, cleanlyDown: true };
        continue;
      }
      const peer = this.#peers.get(name);
      const last = peer ? departedFrom(peer) : this.#departed.get(name);
      if (last) nodes[name] = { member: false, report: last.history, cleanlyDown: last.clean };
    }
    return buildSchedulerInput({
      doc: this.cib,
      wallNow: this.#now + this.#opts.wallClockOffsetMs,
      dc: this.self,
      nodes,
      quorate: this.#quorum?.quorate ?? false,
      quorumPending: this.#quorumPending,
      bans: [...this.#yielded.keys()].map((resource) => ({ resource, node: this.self })),
      nodeScores: this.#nodeScores(agreed.members),
    });
  }

  /** Carries one dispatch of the transition engine out. */
  #dispatch(d: GraphDispatch): void {
    switch (d.kind) {
      case "operation":
        return this.#dispatchOperation(d);
      case "fence":
        this.#event("fence", `fencing ${d.target} (${d.action})`, d.target);
        this.#emit({ type: "fence", target: d.target, action: d.action });
        return;
      case "shutdown":
        // The scheduler asks for a shutdown only when a node's status requests one, which
        // Vigil's status never does (a node shuts down by itself, stopping its resources).
        this.#emit({ type: "log", text: `shutdown of ${d.node} requested: not supported` });
        for (const x of this.#te.result(d.opId, false, this.#now, "shutdown not supported")) {
          this.#dispatch(x);
        }
        return;
    }
  }

  #dispatchOperation(d: OperationDispatch): void {
    if (d.operation !== "start" && d.operation !== "stop" && d.operation !== "monitor") {
      // promote, demote, notify, migrate: the LRM runs start, stop and monitor only.
      this.#emit({ type: "log", text: `${d.key}: ${d.operation} is not supported by the LRM` });
      const detail = `${d.operation} is not supported`;
      for (const x of this.#te.result(d.opId, false, this.#now, detail)) this.#dispatch(x);
      return;
    }
    this.#dispatched.set(d.opId, d);
    const rsc = findPrimitive(this.cib.config.resources, d.resource);
    const body: OperationRequestMessage = {
      type: "op",
      actionId: this.#transitionPrefix + d.opId,
      resource: d.resource,
      action: d.operation,
      // An orphan's agent is known only to the LRM that runs it, which stops
      // with the agent and parameters it started with.
      agent: rsc?.agent ?? "orphan",
      params: rsc?.params ?? {},
      monitorMs: rsc?.monitorMs ?? 0,
      intervalMs: d.intervalMs,
      probe: d.probe,
    };
    if (d.node === this.self) this.#onOperationRequest(this.self, body);
    else this.#sendReliable(d.node, body);
  }

  /** The agreed generation a member last reported. */
  #reportedGeneration(member: string): number | undefined {
    return this.#peers.get(member)?.report.membership.agreedGeneration;
  }

  /**
   * A result of a DC action (ids are `dc:generation:transition:opId`, unique across DCs
   * and transitions). Whether it succeeded depends on what was asked: a probe only when
   * it found the resource not running (rc 7; one that finds it running must not let
   * starts that wait for the probes go ahead), a recurring monitor's first run only on
   * rc 0, a start or stop when the LRM says so.
   */
  #actionResult(actionId: string, lrmOk: boolean, rc: number): void {
    const prefix = this.#transitionPrefix;
    if (!actionId.startsWith(prefix)) return;
    const opId = actionId.slice(prefix.length);
    const d = this.#dispatched.get(opId);
    let ok = lrmOk;
    if (d && rc !== -1) {
      if (d.probe) ok = rc === 7;
      else if (d.operation === "monitor") ok = rc === 0;
      else ok = lrmOk && rc === 0;
    }
    const detail = rc === -1 ? undefined : `rc ${rc}`;
    for (const x of this.#te.result(opId, ok, this.#now, detail)) this.#dispatch(x);
  }

  /** The fencing interface's outcome for `target`. */
  #onFenced(target: string, ok: boolean, detail: string | undefined): void {
    this.#event(
      "fence",
      ok ? `${target} fenced` : `fencing of ${target} failed${detail ? `: ${detail}` : ""}`,
      target,
    );
    if (ok && !this.#membership.agreed?.members.includes(target)) {
      // Cleanly down now: nothing runs there, and it must not be fenced again.
      this.#fencedDown.add(target);
      this.#departed.delete(target);
    }
    if (this.#election.isDc) {
      for (const d of this.#te.fenced(target, ok, this.#now, detail)) this.#dispatch(d);
    }
  }

  /** The first resource newly failed in `status` since the DC last looked, as a reason. */
  #newFailure(status: CibStatus): string | null {
    for (const [node, rs] of Object.entries(status)) {
      for (const [id, s] of Object.entries(rs)) {
        if (s.state === "failed" && this.#plannedStatus[node]?.[id]?.state !== "failed") {
          return `${id} failed on ${node}`;
        }
      }
    }
    return null;
  }

  /**
   * {@link #statusFromReports}, rebuilt only when a member's LRM table may have
   * changed (a new membership, incarnation or LRM counter).
   */
  #cachedStatus(agreed: { members: string[]; generation: number }): {
    status: CibStatus;
    json: string;
  } {
    let key = `${agreed.generation}|${this.#reportSeq()}`;
    for (const m of agreed.members) {
      const p = this.#peers.get(m);
      if (p) key += `|${m}:${p.incarnation}:${p.lrmSeq}`;
    }
    if (this.#statusCache?.key !== key) {
      const status = this.#statusFromReports();
      this.#statusCache = { key, status, json: JSON.stringify(status) };
    }
    return this.#statusCache;
  }

  /** Status of the agreed members as their LRMs last reported it. */
  #statusFromReports(): CibStatus {
    const members = this.#membership.agreed?.members ?? [this.self];
    const status: CibStatus = {};
    for (const m of members) {
      const lrm = m === this.self ? this.#lrm.table() : this.#peers.get(m)?.lrm;
      if (lrm) status[m] = sortKeys(lrm);
    }
    return status;
  }

  // --- output helpers -------------------------------------------------------

  #broadcastHeartbeat(): void {
    this.#nextHeartbeatAt = this.#now + this.#opts.keepaliveMs;
    const body: Heartbeat = {
      type: "hb",
      membership: this.#membership.report(),
      dc: this.#election.dc,
      cibVersion: this.cib.version,
      lrm: this.#lrmMessage(),
      // Results travel on the reliable channel; heartbeats repeat the recent ones
      // for a while in case a stream was reset, not for ever.
      done: this.#lrm.done(this.#now, this.#opts.deadtimeMs * 4)
        .map(([id, ok]) => [id, ok, this.#doneRc.get(id) ?? -1]),
      devices: this.#devices,
      ...(this.#shuttingDown ? { leaving: true } : {}),
    };
    this.#emit({ type: "send", to: null, body });
  }

  /** Sends a heartbeat at the end of this step (news travels at once, not at the next beat). */
  #heartbeatSoon(): void {
    this.#nextHeartbeatAt = Math.min(this.#nextHeartbeatAt, this.#now);
  }

  #sendResult(to: string, actionId: string, ok: boolean, rc: number): void {
    if (to === this.self) return;
    this.#sendReliable(to, {
      type: "op-result",
      actionId,
      ok,
      rc,
      lrm: this.#lrmMessage(),
    });
  }

  /** The LRM counter peers see: raised by every LRM change and every accepted queued op. */
  #reportSeq(): number {
    return this.#lrm.seq + this.#acceptedBumps;
  }

  /** This node's LRM history report (cached per report counter). */
  #ownHistory(): LrmReport {
    const seq = this.#reportSeq();
    if (this.#historyCache?.seq !== seq) {
      const queued = new Map<string, "start" | "stop">();
      // Any start queued wins: the resource will be active here for a while.
      for (const a of this.#accepted.values()) {
        if (queued.get(a.resource) !== "start") queued.set(a.resource, a.action);
      }
      const report = lrmReport(
        this.#lrm.details({ outputBytes: 0 }),
        queued,
        this.#opts.wallClockOffsetMs,
      );
      this.#historyCache = { seq, report };
    }
    return this.#historyCache.report;
  }

  /** The LRM part of heartbeats and results. */
  #lrmMessage(): Heartbeat["lrm"] {
    return { seq: this.#reportSeq(), resources: this.#lrm.table(), history: this.#ownHistory() };
  }

  #isConfigured(node: string): boolean {
    return this.cib.config.nodes.some((n) => n.name === node);
  }

  #emit(effect: NodeEffect): void {
    this.#effects.push(effect);
  }

  #event(kind: ClusterEvent["kind"], text: string, subject?: string): void {
    this.#emit({ type: "event", event: subject ? { kind, text, subject } : { kind, text } });
  }
}

/** The membership generation in a DC action id (`dc:generation:transition:action`), or NaN. */
function actionGeneration(actionId: string): number {
  // Node names hold no colon, so the generation is always the second field.
  const parts = actionId.split(":");
  return parts.length >= 4 ? Number(parts[1]) : NaN;
}

/** Whether two heartbeats carry the same membership-relevant content. */
function sameReport(a: Heartbeat, b: Heartbeat): boolean {
  const ma = a.membership;
  const mb = b.membership;
  return ma.agreedGeneration === mb.agreedGeneration && ma.ready === mb.ready &&
    ma.proposal.generation === mb.proposal.generation &&
    sameList(ma.proposal.members, mb.proposal.members) && sameList(ma.view, mb.view) &&
    sameList(ma.active, mb.active) && a.dc === b.dc &&
    compareVersions(a.cibVersion, b.cibVersion) === 0 && a.lrm.seq === b.lrm.seq &&
    a.devices?.votes === b.devices?.votes && a.devices?.score === b.devices?.score &&
    a.devices?.generation === b.devices?.generation;
}

/** What the DC keeps of a peer that left: its history, and whether it left cleanly. */
function departedFrom(peer: PeerState): DepartedNode {
  return {
    history: peer.history,
    clean: peer.report.leaving === true && peer.report.membership.active.length === 0,
  };
}

/** Most summaries of open requests kept (a reply without one just has no summary). */
const MAX_OPEN_SUMMARIES = 1024;

/** The document operations of the node's CIB replica. */
const CIB_OPS: ReplicaOps<CibDocument, CibPatch, CibStatusSection> = {
  applyConfig(config, patch) {
    // The version is the replica's business: apply to a document around the configuration.
    const doc: CibDocument = {
      version: { adminEpoch: 0, epoch: 0, numUpdates: 0 },
      config,
      status: { nodes: {} },
    };
    const r = applyCibUpdate(doc, patch.update, patch.at);
    return r.ok ? { ok: true, config: r.cib.config } : { ok: false, error: r.error };
  },
  applyStatus: (_status, patch) => patch,
  digest: canonicalDigest,
};

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sortKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1)));
}
