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
 * tables its peers' heartbeats and results carry (the DC's is authoritative).
 * Until the new scheduler takes over, the old policy engine runs on the
 * document through {@link legacyPolicyConfig}.
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

import type { CibConfig, CibStatus, ResourceStatus } from "../cib/cib.ts";
import { activeMoves, applyCibUpdate, type CibUpdate } from "../cib/cib_update.ts";
import { canonicalDigest } from "../cib/replication/digest.ts";
import type { ReplicaEffect, ReplicaOps } from "../cib/replication/events.ts";
import { CibReplica, type ReplicaPhase } from "../cib/replication/replica.ts";
import type { ReplicaCopy } from "../cib/replication/messages.ts";
import { type CibStamp, formatStamp } from "../cib/replication/stamp.ts";
import type { CibDocument } from "../cib/schema/document.ts";
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
import { computeTransition, type PlannedAction, type PolicyOutput } from "../pe/policy_engine.ts";
import { computeQuorum, type QuorumState } from "../quorum/quorum.ts";
import { TransitionEngine } from "../te/transition_engine.ts";
import type { ClusterEvent } from "./events.ts";
import { type LegacyPolicyConfig, legacyPolicyConfig } from "./legacy_policy_config.ts";
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
  | { type: "cleanup"; now: number; resource: string; node?: string };

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
  | { type: "event"; event: ClusterEvent };

/** A resource as the status page shows it. */
export interface ResourceView {
  /** Resource id. */
  id: string;
  /** Agent name. */
  agent: string;
  /** Nodes where it is not stopped, with their state. */
  on: { node: string; state: ResourceStatus["state"]; failCount: number }[];
  /** Where the policy engine wants it (known on the DC only). */
  target?: string | null;
  /** Why (DC only). */
  reason?: string;
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
  /** Transition engine summary (DC only). */
  transition: { id: number; busy: boolean; abortReason: string | null } | null;
}

interface PeerState {
  incarnation: number;
  report: Heartbeat;
  lrmSeq: number;
  lrm: Record<string, ResourceStatus>;
}

/** The pure state machine of one node. */
export class NodeCore {
  readonly #opts:
    & Required<
      Omit<
        NodeCoreOptions,
        "operationTimeoutMs" | "generation" | "quorum" | "incarnation" | "cib"
      >
    >
    & {
      quorum: QuorumOptions;
      operationTimeoutMs: (agent: string, action: "start" | "stop" | "monitor") => number;
    };
  readonly #liveness: Liveness;
  readonly #membership: MembershipCore;
  readonly #election: Election;
  readonly #lrm = new LrmState();
  #te: TransitionEngine;
  #transitionPrefix = "";
  #bootedAt = 0;
  #sawWholeCluster = false;
  readonly #peers = new Map<string, PeerState>();
  readonly #replica: CibReplica<CibDocument, CibPatch, CibStatusSection>;
  /** The old engine's input for the current document, rebuilt when it changes or a move expires. */
  #legacy: { doc: CibDocument; built: LegacyPolicyConfig; key: number } | null = null;
  #legacyKey = 0;
  /** The CIB version whose ignored items were last logged. */
  #ignoredLoggedFor = "";
  /** Summaries of open client requests, computed when they were taken. */
  readonly #summaries = new Map<string, string>();
  /** The last view fed to the replica (as a key), to feed only changes. */
  #viewKey = "";
  /** The DC's status as last planned from (new failures abort a transition). */
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
  #lastPolicy: PolicyOutput | null = null;
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

  #newTransitionEngine(): TransitionEngine {
    return new TransitionEngine({
      resendMs: this.#opts.keepaliveMs * 2,
      timeoutMs: (a) => {
        const agent = this.#config().resources.find((r) => r.id === a.resource)?.agent ?? "";
        return this.#opts.operationTimeoutMs(agent, a.action) + this.#opts.deadtimeMs;
      },
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

  /** The old policy engine's input built from the CIB now (see legacy_policy_config.ts). */
  policyConfig(): LegacyPolicyConfig {
    return this.#legacyConfig();
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
    const expiry = this.#legacyConfig().nextExpiry;
    if (expiry !== null) consider(expiry - this.#opts.wallClockOffsetMs);
    if (!this.#membership.agreed && !this.#selfStopped && this.#inTransitionSince !== null) {
      consider(this.#inTransitionSince + this.#opts.deadtimeMs);
    }
    return next;
  }

  /** The node's view of the cluster for the status page. */
  snapshot(): NodeSnapshot {
    const agreed = this.#membership.agreed;
    // Every node hears every member's LRM table: the status is the same view the DC plans from.
    const status = this.#statusFromReports();
    const placements = new Map((this.#lastPolicy?.placements ?? []).map((p) => [p.resource, p]));
    const legacy = this.#legacyConfig();
    const resources = legacy.config.resources.map((r): ResourceView => {
      const on = Object.entries(status)
        .filter(([, rs]) => rs[r.id] && rs[r.id].state !== "stopped")
        .map(([node, rs]) => ({ node, state: rs[r.id].state, failCount: rs[r.id].failCount }));
      const view: ResourceView = { id: r.id, agent: r.agent, on };
      const p = placements.get(r.id);
      if (this.#election.isDc && p) {
        view.target = p.node;
        view.reason = p.reason;
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
      ignored: legacy.ignored,
      resources,
      lrm: this.#lrm.table(),
      lrmDetails: this.#lrm.details(),
      transition: this.#election.isDc
        ? { id: this.#te.transition, busy: this.#te.busy, abortReason: this.#te.abortReason }
        : null,
    };
  }

  /** The last placement the policy engine computed here (DC only). */
  lastPolicy(): PolicyOutput | null {
    return this.#lastPolicy;
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
    return this.#config().resources.map((r) => ({
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
        });
        if (this.#election.isDc) {
          for (const [actionId, ok] of body.done) this.#actionResult(actionId, ok);
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
        }
        if (this.#election.isDc) this.#actionResult(body.actionId, body.ok);
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
    const before = this.#legacy?.built.config;
    this.#membershipDirty = true;
    this.#heartbeatSoon();
    const after = this.#legacyConfig();
    if (before && before !== after.config) {
      this.#event(
        "cib",
        `CIB ${
          formatVersion(copy.doc.version)
        } (term ${copy.term}): ${after.config.resources.length} ` +
          `resources, ${copy.doc.config.constraints.locations.length} location constraints`,
      );
      // Resources new to this node's configuration: learn whether they already run here.
      const known = new Set(before.resources.map((r) => r.id));
      const added = this.#probeTargets().filter((t) => !known.has(t.id));
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

  /** The old engine's configuration (legacy_policy_config.ts), rebuilt when needed. */
  #legacyConfig(): LegacyPolicyConfig {
    const doc = this.#replica.doc;
    const wall = this.#now + this.#opts.wallClockOffsetMs;
    const cached = this.#legacy;
    if (
      cached && cached.doc === doc &&
      (cached.built.nextExpiry === null || wall < cached.built.nextExpiry)
    ) {
      return cached.built;
    }
    const built = legacyPolicyConfig(doc, wall);
    this.#legacy = { doc, built, key: ++this.#legacyKey };
    const version = formatStamp(this.#replica.stamp);
    if (built.ignored.length > 0 && this.#ignoredLoggedFor !== version) {
      this.#ignoredLoggedFor = version;
      this.#emit({
        type: "log",
        text: `CIB ${formatVersion(doc.version)}: the running policy engine ignores ${
          built.ignored.join("; ")
        }`,
      });
    }
    return built;
  }

  /** The old engine's configuration section. */
  #config(): CibConfig {
    return this.#legacyConfig().config;
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
    // ... and only for this membership: a DC plans a new membership from reports
    // made in it, so an action of an earlier one arriving late must not run.
    if (actionGeneration(req.actionId) !== agreed.generation) return;
    const known = this.#lrm.doneResult(req.actionId);
    if (known !== undefined) {
      this.#sendResult(from, req.actionId, known, -1);
      return;
    }
    if (this.#lrm.knows(req.actionId)) return;
    const op = this.#lrm.request({
      resource: req.resource,
      action: req.action,
      agent: req.agent,
      params: req.params,
      origin: "dc",
      actionId: req.actionId,
      requestedBy: from,
    }, req.monitorMs);
    if (op) this.#emit({ type: "run-op", op });
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
    if (op.origin === "dc" && op.actionId && op.requestedBy) {
      this.#sendResult(op.requestedBy, op.actionId, outcome.ok, rc);
      if (this.#election.isDc) this.#actionResult(op.actionId, outcome.ok);
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
      if (wasDc || this.#election.isDc) {
        // Abandon the transition: late results of its actions no longer match,
        // and operations still in flight show as starting/stopping, which the
        // policy engine waits for.
        this.#te = this.#newTransitionEngine();
        this.#lastPolicyKey = "";
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

  /** Resources yielded for a merge may not run here until the merge happens. */
  #bans(): Record<string, Record<string, string>> {
    const out: Record<string, Record<string, string>> = {};
    for (const [r, peer] of this.#yielded) {
      out[r] = { [this.self]: `${this.self} gave ${r} up to merge with ${peer}, which runs it` };
    }
    return out;
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
    const newFailure = status !== this.#plannedStatus && this.#anyNewFailure(status);
    this.#plannedStatus = status;

    for (const d of this.#te.tick(this.#now, members)) this.#dispatch(d.action);
    if (this.#te.busy) {
      if (newFailure) this.#te.abort("a resource failed");
      return;
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
    const nodeScores = this.#nodeScores(members);
    const legacy = this.#legacyConfig();
    const key = `${agreed.generation}|${this.#quorum?.quorate}|${this.#quorumPending}|${
      [...this.#yielded.keys()].join(",")
    }|${this.#legacy?.key}|${JSON.stringify(nodeScores)}|${statusJson}`;
    if (key === this.#lastPolicyKey) return;
    this.#lastPolicyKey = key;
    const policy = computeTransition({
      config: legacy.config,
      members,
      quorate: this.#quorum?.quorate ?? false,
      status,
      nodeScores,
      bans: mergeBans(legacy.bans, this.#bans()),
      // Waiting for a fresh quorum-device reading: change nothing until it comes.
      ...(this.#quorumPending ? { noQuorumPolicy: "freeze" as const } : {}),
    });
    this.#lastPolicy = policy;
    if (policy.actions.length === 0) return;
    const id = ++this.#transitionCounter;
    this.#transitionPrefix = `${this.self}:${agreed.generation}:${id}:`;
    this.#event(
      "transition",
      `transition ${id}: ${
        policy.actions.map((a) => `${a.action} ${a.resource} on ${a.node}`).join(", ")
      }`,
    );
    for (const d of this.#te.start(id, policy.actions, this.#now)) {
      this.#dispatch(d.action);
    }
  }

  #dispatch(action: PlannedAction): void {
    const rsc = this.#config().resources.find((r) => r.id === action.resource);
    const body: OperationRequestMessage = {
      type: "op",
      actionId: this.#transitionPrefix + action.id,
      resource: action.resource,
      action: action.action,
      // An orphan's agent is known only to the LRM that runs it, which stops
      // with the agent and parameters it started with.
      agent: rsc?.agent ?? "orphan",
      params: rsc?.params ?? {},
      monitorMs: rsc?.monitorMs ?? 0,
    };
    if (action.node === this.self) this.#onOperationRequest(this.self, body);
    else this.#sendReliable(action.node, body);
  }

  /** The agreed generation a member last reported. */
  #reportedGeneration(member: string): number | undefined {
    return this.#peers.get(member)?.report.membership.agreedGeneration;
  }

  /** DC action ids are `dc:generation:transition:action`, unique across DCs and transitions. */
  #actionResult(actionId: string, ok: boolean): void {
    const prefix = this.#transitionPrefix;
    if (!actionId.startsWith(prefix)) return;
    for (const d of this.#te.result(actionId.slice(prefix.length), ok, this.#now)) {
      this.#dispatch(d.action);
    }
  }

  #anyNewFailure(status: CibStatus): boolean {
    for (const [node, rs] of Object.entries(status)) {
      for (const [id, s] of Object.entries(rs)) {
        if (s.state === "failed" && this.#plannedStatus[node]?.[id]?.state !== "failed") {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * {@link #statusFromReports}, rebuilt only when a member's LRM table may have
   * changed (a new membership, incarnation or LRM counter).
   */
  #cachedStatus(agreed: { members: string[]; generation: number }): {
    status: CibStatus;
    json: string;
  } {
    let key = `${agreed.generation}|${this.#lrm.seq}`;
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
      lrm: { seq: this.#lrm.seq, resources: this.#lrm.table() },
      // Results travel on the reliable channel; heartbeats repeat the recent ones
      // for a while in case a stream was reset, not for ever.
      done: this.#lrm.done(this.#now, this.#opts.deadtimeMs * 4),
      devices: this.#devices,
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
      lrm: { seq: this.#lrm.seq, resources: this.#lrm.table() },
    });
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

/** Bans from two sources, per resource and node (the first reason given wins). */
function mergeBans(
  a: Record<string, Record<string, string>>,
  b: Record<string, Record<string, string>>,
): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const src of [a, b]) {
    for (const [r, nodes] of Object.entries(src)) out[r] = { ...nodes, ...out[r] };
  }
  return out;
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
