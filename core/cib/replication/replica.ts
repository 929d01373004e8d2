/**
 * CIB replication as a pure state machine, one replica per node: events in
 * (membership views, peers' messages, client updates, "persisted" from the
 * node's own disk, ticks), effects out (send, persist, reply, changed, log).
 * No I/O and no clock: time comes in as `now`.
 *
 * ## Protocol
 *
 * - **Views.** Every agreed membership (members, generation, DC, quorate,
 *   configured node count) starts afresh: pending requests are failed (see
 *   below) and the DC synchronises. Messages carry the sender's generation and
 *   are dropped by a replica in any other generation.
 * - **Sync.** Each member sends the DC a `cib-report` with its copy's stamp
 *   (term, version triple, digest; see stamp.ts). The DC waits for the reports
 *   of *all* members (asking again every `retryMs`), picks the greatest stamp,
 *   fetches that copy if it is not its own, and only then orders updates.
 *   - An *authoritative* DC (quorate, at least a majority of the configured
 *     nodes are members, and its generation above every term reported) adopts
 *     the greatest copy. If some member holds a copy that copy does not dominate
 *     (an equal or higher triple with other content: a write that never reached
 *     a majority), the DC re-stamps the content: term = its generation, epoch one
 *     above the greatest triple reported. Then every member can take it without
 *     its version going backwards.
 *   - A DC without authority adopts the greatest copy only if it dominates its
 *     own, and sends its copy only to members whose copy it dominates. Divergent
 *     copies wait for an authoritative DC.
 * - **Configuration updates.** Submitted on any node; a non-DC forwards them to
 *   the DC (`cib-update`). Without quorum (or with fewer members than a majority
 *   of the configured nodes) they are refused at once, by the origin already.
 *   The authoritative DC applies them in order (epoch + 1, num_updates 0, term =
 *   its generation), persists and sends the new copy to every member; members
 *   persist and answer `cib-ack`. The change is acknowledged (`ok`) once a
 *   majority of the *configured* nodes (the DC included) has persisted a copy of
 *   this generation at least as new. Several updates may be in flight.
 * - **Status updates** go to the DC (`cib-status`), which applies them (num_updates
 *   + 1, term unchanged) and sends the copy out without waiting for anyone.
 * - **Outcomes.** Each request gets exactly one reply on its origin: `ok`
 *   (persisted on a majority), `refused` (never applied, never will be) or
 *   `unknown` (may have been applied; on a view change, a timeout, or a DC that
 *   lost quorum). A request acknowledged `ok` is never reported otherwise.
 *
 * ## Why no acknowledged change is lost
 *
 * Call V the copy a DC of generation g wrote with change c, acknowledged once a
 * set A of a majority of the configured nodes persisted copies >= V of
 * generation g. Claim: every copy anywhere with a stamp >= V contains c.
 *
 * 1. Terms are generations, and only an authoritative DC writes a term: its
 *    membership holds a majority of the configured nodes, so any two
 *    authoritative memberships share a node, and a node's generation only grows
 *    (membership.ts: a new membership's generation is above every member's
 *    previous one), so their generations are ordered and distinct: one writer
 *    per term. A DC's configuration writes in its generation form one chain.
 * 2. Copies of term g at or above V are V or later links of that chain (or
 *    status writes on one of them, which keep the configuration): they contain c.
 *    A copy of term g below V stays below V under status writes, which change
 *    only num_updates while V has a greater epoch.
 * 3. A copy of term h > g was written by the authoritative DC of generation h
 *    from the greatest copy among *all* its members. Its members are a majority
 *    of the configured nodes, so one of them, x, is in A. x persisted a copy >= V
 *    while in generation g, before it entered h (it drops messages of other
 *    generations, so it acks g only while in g), and a replica's copy only grows,
 *    across restarts too (it restarts from what it persisted). So x reported a
 *    stamp >= V, the DC's pick is >= V and (by induction on h) contains c, and
 *    every write of generation h derives from it.
 *
 * Waiting for a majority of reports would be enough for this argument (and a
 * generation needs ceil(n/2) members to meet every majority); the DC waits for
 * all members because it must know each member's triple before it sends it a
 * copy, so no member's version goes backwards.
 *
 * Why the term comes before the triple: a DC may write epochs 6 and 7 that reach
 * only itself; a later DC, not having seen them, writes and acknowledges epoch
 * 6. By triple alone 7 would win the next sync and lose the acknowledged 6. By
 * term, the later DC's 6 wins, and the re-stamp puts it at epoch 8. Equal
 * triples with different content are thus resolved, never prevented: the term
 * and finally the digest order them the same way on every node.
 *
 * Requirements on the caller: the membership generation must never be reused
 * by a quorate membership (persist it across restarts); the shell persists in
 * order and reports `persisted` only once the copy is on disk; messages of one
 * peer arrive in order (the reliable channel).
 *
 * @example
 * ```ts
 * const replica = new CibReplica({ self: "n1", persisted: { term: 0, doc }, ops });
 * replica.step({ type: "view", now, view: { members: ["n1", "n2", "n3"], generation: 4,
 *   dc: "n1", quorate: true, configured: 3 } });
 * replica.step({ type: "submit", now, requestId: "n1-1", patch }); // send, persist, later reply
 * ```
 * @module
 */

import type {
  ApplyResult,
  ReplicaEffect,
  ReplicaEvent,
  ReplicaOps,
  ReplicatedDocument,
  ReplicaView,
} from "./events.ts";
import type { ReplicaCopy, ReplicationMessage, RequestOutcome } from "./messages.ts";
import { compareVersions } from "../version.ts";
import {
  type CibStamp,
  compareStamps,
  dominates,
  formatStamp,
  majorityOf,
  maxStamp,
  sameStamp,
  versionAbove,
} from "./stamp.ts";

/** How a replica is built. */
export interface CibReplicaOptions<D extends ReplicatedDocument, P, S> {
  /** This node's name. */
  self: string;
  /** The copy this node persisted last (a fresh node: the initial CIB, term 0). */
  persisted: ReplicaCopy<D>;
  /** The document operations. */
  ops: ReplicaOps<D, P, S>;
  /** A DC asks again for missing reports or a copy after this long (default 1000 ms). */
  retryMs?: number;
  /** A DC sends its copy again to a member that did not ack it after this long (default 5000 ms). */
  resendMs?: number;
  /** A request without an outcome after this long is answered `unknown` (default 30000 ms). */
  requestTimeoutMs?: number;
  /** Requests forwarded from this node awaiting an outcome (default 256). */
  maxPending?: number;
  /** Configuration writes awaiting a majority at the DC (default 64). */
  maxInflight?: number;
  /** Updates waiting at the DC for its sync or a free in-flight slot (default 256). */
  maxQueued?: number;
}

/** Where a replica stands in the current view. */
export type ReplicaPhase =
  /** No agreed membership. */
  | "none"
  /** A member; another node is DC. */
  | "member"
  /** DC, waiting for members' reports. */
  | "collecting"
  /** DC, waiting for the newest copy from the member holding it. */
  | "fetching"
  /** DC, synchronised: ordering updates. */
  | "ready";

interface InflightWrite {
  requestId: string;
  origin: string;
  stamp: CibStamp;
  deadline: number;
}

type QueuedUpdate<P, S> =
  | { kind: "config"; requestId: string; origin: string; patch: P; deadline: number }
  | { kind: "status"; patch: S; deadline: number };

/** One node's CIB replica: a pure state machine (see the module documentation). */
export class CibReplica<D extends ReplicatedDocument, P, S> {
  /** This node's name. */
  readonly self: string;
  readonly #ops: ReplicaOps<D, P, S>;
  readonly #retryMs: number;
  readonly #resendMs: number;
  readonly #timeoutMs: number;
  readonly #maxPending: number;
  readonly #maxInflight: number;
  readonly #maxQueued: number;

  #now = 0;
  #copy: ReplicaCopy<D>;
  #stamp: CibStamp;
  #persisted: CibStamp;
  #view: ReplicaView | null = null;
  #effects: ReplicaEffect<D, P, S>[] = [];
  /** Requests submitted here awaiting their one reply. */
  readonly #open = new Set<string>();
  /** Requests forwarded to the DC: id -> DC and deadline. */
  readonly #forwarded = new Map<string, { dc: string; deadline: number }>();
  /** The generation in which this replica, as DC, last wrote a term (not persisted). */
  #stampedGen = -1;

  // DC state, reset on every view.
  #phase: ReplicaPhase = "none";
  #authoritative = false;
  #reports = new Map<string, CibStamp>();
  #held = new Map<string, CibStamp>();
  #acked = new Map<string, CibStamp>();
  #lastPushAt = new Map<string, number>();
  #askedAt = 0;
  #fetchFrom: string | null = null;
  #inflight: InflightWrite[] = [];
  #queue: QueuedUpdate<P, S>[] = [];

  /** Creates the replica from what its node persisted last. */
  constructor(opts: CibReplicaOptions<D, P, S>) {
    this.self = opts.self;
    this.#ops = opts.ops;
    this.#retryMs = opts.retryMs ?? 1000;
    this.#resendMs = opts.resendMs ?? 5000;
    this.#timeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.#maxPending = opts.maxPending ?? 256;
    this.#maxInflight = opts.maxInflight ?? 64;
    this.#maxQueued = opts.maxQueued ?? 256;
    this.#copy = opts.persisted;
    this.#stamp = this.#stampOf(opts.persisted);
    this.#persisted = this.#stamp;
  }

  /** The current copy (document and term). */
  get copy(): ReplicaCopy<D> {
    return this.#copy;
  }

  /** The current document. */
  get doc(): D {
    return this.#copy.doc;
  }

  /** The stamp of the current copy. */
  get stamp(): CibStamp {
    return this.#stamp;
  }

  /** The stamp of the newest copy the disk confirmed. */
  get persistedStamp(): CibStamp {
    return this.#persisted;
  }

  /** The current view, or null. */
  get view(): ReplicaView | null {
    return this.#view;
  }

  /** Where the replica stands (DC phases, member, none). */
  get phase(): ReplicaPhase {
    return this.#phase;
  }

  /** Whether this replica is a synchronised DC that may order configuration changes. */
  get authoritative(): boolean {
    return this.#phase === "ready" && this.#authoritative;
  }

  /** Requests awaiting an outcome: forwarded from here, or in flight or queued at this DC. */
  get pending(): { forwarded: number; inflight: number; queued: number } {
    return {
      forwarded: this.#forwarded.size,
      inflight: this.#inflight.length,
      queued: this.#queue.length,
    };
  }

  /** Feeds one event in; returns the effects it caused, in order. */
  step(event: ReplicaEvent<D, P, S>): ReplicaEffect<D, P, S>[] {
    invariant(event.now >= this.#now, `time went backwards: ${event.now} < ${this.#now}`);
    this.#now = event.now;
    switch (event.type) {
      case "view":
        this.#onView(event.view);
        break;
      case "message":
        this.#onMessage(event.from, event.message);
        break;
      case "submit":
        this.#onSubmit(event.requestId, event.patch);
        break;
      case "status":
        this.#onStatus(event.patch);
        break;
      case "persisted":
        this.#onPersisted(event.stamp);
        break;
      case "tick":
        this.#onTick();
        break;
    }
    const out = this.#effects;
    this.#effects = [];
    return out;
  }

  // ---- views -------------------------------------------------------------

  #onView(view: ReplicaView | null): void {
    if (sameView(view, this.#view)) return;
    if (view) {
      invariant(view.members.includes(this.self), `${this.self} is not in its own view`);
      invariant(view.members.includes(view.dc), `DC ${view.dc} is not a member`);
    }
    this.#abandonAll(view);
    this.#view = view ? { ...view, members: [...view.members] } : null;
    this.#reports = new Map();
    this.#held = new Map();
    this.#acked = new Map();
    this.#lastPushAt = new Map();
    this.#fetchFrom = null;
    this.#authoritative = false;
    if (!view) {
      this.#phase = "none";
    } else if (view.dc === this.self) {
      this.#phase = "collecting";
      this.#reports.set(this.self, this.#stamp);
      this.#askedAt = this.#now;
      // Members also report unasked; asking covers members that learned the view first.
      for (const m of this.#peers()) this.#send(m, { type: "cib-sync-req", gen: view.generation });
      this.#maybeChoose();
    } else {
      this.#phase = "member";
      this.#sendReport();
    }
  }

  /** Fails everything pending: the view it was ordered in is gone. */
  #abandonAll(next: ReplicaView | null): void {
    const old = this.#view;
    const why = next
      ? `membership changed (generation ${old?.generation ?? "-"} -> ${next.generation})`
      : "the membership is in transition";
    for (const [id, f] of this.#forwarded) {
      this.#reply(id, {
        ok: false,
        outcome: "unknown",
        error: `${why} while the change was with DC ${f.dc}: it may or may not have been ` +
          "applied; check the CIB and retry if needed",
      });
    }
    this.#forwarded.clear();
    for (const w of this.#inflight) {
      this.#finish(w.requestId, w.origin, {
        ok: false,
        outcome: "unknown",
        error: `${why} before a majority of the configured nodes confirmed the change: it may ` +
          "or may not survive; check the CIB and retry if needed",
      });
    }
    this.#inflight = [];
    for (const q of this.#queue) {
      if (q.kind === "config") {
        this.#finish(q.requestId, q.origin, {
          ok: false,
          outcome: "refused",
          error: `${why} before the DC applied the change: not applied; retry`,
        });
      }
    }
    this.#queue = [];
  }

  // ---- messages ----------------------------------------------------------

  #onMessage(from: string, msg: ReplicationMessage<D, P, S>): void {
    // Requests and outcomes do not depend on the sender's view: only the DC
    // orders a change, whatever generation the origin saw, and an outcome is
    // final in every generation.
    switch (msg.type) {
      case "cib-result":
        this.#onResult(from, msg.requestId, msg.result);
        return;
      case "cib-update":
        this.#onForwarded(from, msg.gen, msg.requestId, msg.patch);
        return;
      case "cib-status":
        if (this.#view?.dc === this.self) this.#dcStatus(msg.patch);
        return;
    }
    const view = this.#view;
    if (!view || msg.gen !== view.generation || from === this.self) return;
    if (!view.members.includes(from)) return;
    const isDc = view.dc === this.self;
    switch (msg.type) {
      case "cib-report":
        if (isDc) this.#onReport(from, msg.stamp, msg.persisted);
        break;
      case "cib-sync-req":
        if (from === view.dc) this.#sendReport();
        break;
      case "cib-fetch":
        if (from === view.dc) {
          this.#send(from, { type: "cib-copy", gen: view.generation, copy: this.#copy });
        }
        break;
      case "cib-copy":
        if (isDc && this.#phase === "fetching" && from === this.#fetchFrom) {
          this.#onFetched(from, msg.copy);
        }
        break;
      case "cib-doc":
        if (from === view.dc) this.#onDoc(msg.copy);
        break;
      case "cib-ack":
        if (isDc) {
          this.#raise(this.#acked, from, msg.stamp);
          this.#checkCommits();
        }
        break;
    }
  }

  /** A change forwarded to us as the DC: order it, or tell the origin we are not the DC. */
  #onForwarded(from: string, gen: number, requestId: string, patch: P): void {
    const view = this.#view;
    if (view?.dc !== this.self) {
      this.#send(from, {
        type: "cib-result",
        gen,
        requestId,
        result: {
          ok: false,
          outcome: "refused",
          error: view
            ? `${this.self} is not the DC of generation ${view.generation} (${view.dc} is): ` +
              "not applied; retry"
            : `${this.self} has no agreed membership: not applied; retry`,
        },
      });
      return;
    }
    this.#dcConfig({
      kind: "config",
      requestId,
      origin: from,
      patch,
      deadline: this.#now + this.#timeoutMs,
    });
  }

  #sendReport(): void {
    const view = this.#view!;
    this.#send(view.dc, {
      type: "cib-report",
      gen: view.generation,
      stamp: this.#stamp,
      persisted: this.#persisted,
    });
  }

  #onReport(from: string, stamp: CibStamp, persisted: CibStamp): void {
    // A member's copy only grows: keep the newest we know of.
    this.#raise(this.#reports, from, stamp);
    this.#raise(this.#held, from, stamp);
    this.#raise(this.#acked, from, persisted);
    if (this.#phase === "collecting") this.#maybeChoose();
    else if (this.#phase === "ready") this.#checkCommits();
  }

  #onDoc(copy: ReplicaCopy<D>): void {
    const stamp = this.#stampOf(copy);
    if (sameStamp(stamp, this.#stamp)) {
      // A resend: the DC did not see our ack.
      if (sameStamp(this.#persisted, stamp)) this.#sendAck();
      return;
    }
    if (dominates(stamp, this.#stamp)) {
      this.#adopt(copy, stamp);
    } else {
      this.#log(
        `ignored copy ${formatStamp(stamp)} from DC ${this.#view!.dc}: it does not ` +
          `dominate ours (${formatStamp(this.#stamp)})`,
      );
    }
  }

  #onResult(from: string, requestId: string, result: RequestOutcome): void {
    const f = this.#forwarded.get(requestId);
    if (!f || f.dc !== from) return;
    this.#forwarded.delete(requestId);
    this.#reply(requestId, result);
  }

  // ---- DC: sync ----------------------------------------------------------

  #maybeChoose(): void {
    if (this.#phase !== "collecting") return;
    if (!this.#view!.members.every((m) => this.#reports.has(m))) return;
    let best = this.self;
    for (const [m, s] of this.#reports) {
      if (compareStamps(s, this.#reports.get(best)!) > 0) best = m;
    }
    if (best === this.self) {
      this.#resolve(this.#copy, this.#stamp);
      return;
    }
    this.#phase = "fetching";
    this.#fetchFrom = best;
    this.#askedAt = this.#now;
    this.#send(best, { type: "cib-fetch", gen: this.#view!.generation });
  }

  #onFetched(from: string, copy: ReplicaCopy<D>): void {
    const stamp = this.#stampOf(copy);
    this.#raise(this.#reports, from, stamp);
    this.#raise(this.#held, from, stamp);
    const newest = [...this.#reports.values()].every((s) => compareStamps(stamp, s) >= 0);
    if (newest) {
      this.#resolve(copy, stamp);
    } else {
      // Not what was reported: choose again from what we know now.
      this.#phase = "collecting";
      this.#fetchFrom = null;
      this.#maybeChoose();
    }
  }

  /** Every report is in and `chosen` is the newest copy: adopt it and start ordering. */
  #resolve(chosen: ReplicaCopy<D>, chosenStamp: CibStamp): void {
    const view = this.#view!;
    const reported = [...this.#reports.values()];
    const maxTerm = Math.max(...reported.map((s) => s.term));
    const generationOk = view.generation > maxTerm ||
      (view.generation === maxTerm && this.#stampedGen === view.generation);
    this.#authoritative = view.quorate &&
      view.members.length >= majorityOf(view.configured) && generationOk;
    if (!generationOk) {
      this.#log(
        `membership generation ${view.generation} is not above term ${maxTerm} of a member's ` +
          "CIB: not ordering configuration changes in this membership",
      );
    }
    if (this.#authoritative) {
      // Copies the pick does not dominate would go backwards: lift it above all.
      const conflict = reported.some((s) =>
        !sameStamp(s, chosenStamp) && compareVersions(s.version, chosenStamp.version) >= 0
      );
      let next = chosen;
      let nextStamp = chosenStamp;
      if (conflict) {
        const version = versionAbove(reported.map((s) => s.version));
        next = { term: view.generation, doc: { ...chosen.doc, version } };
        nextStamp = this.#stampOf(next);
        this.#stampedGen = view.generation;
        this.#log(
          `re-stamped ${formatStamp(chosenStamp)} as ${formatStamp(nextStamp)}: members held ` +
            "conflicting copies",
        );
      }
      if (!sameStamp(nextStamp, this.#stamp)) this.#adopt(next, nextStamp);
    } else if (dominates(chosenStamp, this.#stamp)) {
      this.#adopt(chosen, chosenStamp);
    }
    this.#phase = "ready";
    this.#fetchFrom = null;
    this.#pushToMembers();
    this.#drainQueue();
  }

  // ---- DC: updates -------------------------------------------------------

  #dcConfig(req: QueuedUpdate<P, S> & { kind: "config" }): void {
    if (
      this.#phase !== "ready" || this.#queue.length > 0 ||
      this.#inflight.length >= this.#maxInflight
    ) {
      this.#enqueue(req);
      return;
    }
    this.#applyConfig(req);
  }

  #dcStatus(patch: S): void {
    if (this.#phase !== "ready" || this.#queue.length > 0) {
      this.#enqueue({ kind: "status", patch, deadline: this.#now + this.#timeoutMs });
      return;
    }
    this.#applyStatus(patch);
  }

  #enqueue(item: QueuedUpdate<P, S>): void {
    if (this.#queue.length < this.#maxQueued) {
      this.#queue.push(item);
    } else if (item.kind === "config") {
      this.#finish(item.requestId, item.origin, {
        ok: false,
        outcome: "refused",
        error: `the DC is busy (${this.#maxQueued} updates waiting): not applied; retry`,
      });
    } else {
      this.#log(`dropped a status update: ${this.#maxQueued} updates waiting at the DC`);
    }
  }

  #drainQueue(): void {
    while (this.#queue.length > 0 && this.#phase === "ready") {
      const head = this.#queue[0];
      if (head.kind === "config" && this.#inflight.length >= this.#maxInflight) return;
      this.#queue.shift();
      if (head.kind === "config") this.#applyConfig(head);
      else this.#applyStatus(head.patch);
    }
  }

  #applyConfig(req: QueuedUpdate<P, S> & { kind: "config" }): void {
    const view = this.#view!;
    if (!this.#authoritative) {
      this.#finish(req.requestId, req.origin, {
        ok: false,
        outcome: "refused",
        error: noAuthorityReason(view) ??
          `membership generation ${view.generation} may not order configuration changes ` +
            "(a member's CIB has a newer term): not applied; retry",
      });
      return;
    }
    let result: ApplyResult<D["config"]>;
    try {
      result = this.#ops.applyConfig(this.#copy.doc.config, req.patch);
    } catch (e) {
      result = { ok: false, error: `the update failed: ${(e as Error).message}` };
    }
    if (!result.ok) {
      this.#finish(req.requestId, req.origin, {
        ok: false,
        outcome: "refused",
        error: result.error,
      });
      return;
    }
    const v = this.#copy.doc.version;
    const doc = {
      ...this.#copy.doc,
      config: result.config,
      version: { adminEpoch: v.adminEpoch, epoch: v.epoch + 1, numUpdates: 0 },
    };
    const copy: ReplicaCopy<D> = { term: view.generation, doc };
    this.#stampedGen = view.generation;
    const stamp = this.#stampOf(copy);
    this.#adopt(copy, stamp);
    this.#pushToMembers();
    this.#inflight.push({
      requestId: req.requestId,
      origin: req.origin,
      stamp,
      deadline: req.deadline,
    });
  }

  #applyStatus(patch: S): void {
    let status: D["status"];
    try {
      status = this.#ops.applyStatus(this.#copy.doc.status, patch);
    } catch (e) {
      // Status is rebuilt from the nodes' probes; one bad update is not worth a stop.
      this.#log(`dropped a status update that failed: ${(e as Error).message}`);
      return;
    }
    const v = this.#copy.doc.version;
    const doc = { ...this.#copy.doc, status, version: { ...v, numUpdates: v.numUpdates + 1 } };
    this.#adopt({ term: this.#copy.term, doc }, undefined);
    this.#pushToMembers();
  }

  /** Sends the current copy to every member whose copy it dominates. */
  #pushToMembers(): void {
    const view = this.#view!;
    for (const m of this.#peers()) {
      const held = this.#held.get(m);
      if (!held || !dominates(this.#stamp, held)) continue;
      this.#send(m, { type: "cib-doc", gen: view.generation, copy: this.#copy });
      this.#held.set(m, this.#stamp);
      this.#lastPushAt.set(m, this.#now);
    }
  }

  /** Acknowledges every in-flight write a majority of the configured nodes persisted. */
  #checkCommits(): void {
    const view = this.#view;
    if (!view || view.dc !== this.self) return;
    const need = majorityOf(view.configured);
    while (this.#inflight.length > 0) {
      const w = this.#inflight[0];
      let count = 0;
      for (const m of view.members) {
        const p = m === this.self ? this.#persisted : this.#acked.get(m);
        // Only copies of this generation count: they are links of our own chain.
        if (p && p.term === view.generation && compareStamps(p, w.stamp) >= 0) count++;
      }
      if (count < need) break;
      this.#inflight.shift();
      this.#finish(w.requestId, w.origin, { ok: true, version: w.stamp.version, stamp: w.stamp });
    }
    this.#drainQueue();
  }

  // ---- local requests ----------------------------------------------------

  #onSubmit(requestId: string, patch: P): void {
    if (this.#open.has(requestId)) {
      this.#log(`ignored request ${requestId}: a request with that id is still open`);
      return;
    }
    this.#open.add(requestId);
    const view = this.#view;
    const refusal = view ? noAuthorityReason(view) : "no agreed membership: the cluster is in " +
      "transition and there is no DC to order the change; retry shortly";
    if (refusal) {
      this.#reply(requestId, { ok: false, outcome: "refused", error: refusal });
      return;
    }
    const deadline = this.#now + this.#timeoutMs;
    if (view!.dc === this.self) {
      this.#dcConfig({ kind: "config", requestId, origin: this.self, patch, deadline });
      return;
    }
    if (this.#forwarded.size >= this.#maxPending) {
      this.#reply(requestId, {
        ok: false,
        outcome: "refused",
        error: `${this.#maxPending} changes from this node are still pending: not sent; retry`,
      });
      return;
    }
    this.#forwarded.set(requestId, { dc: view!.dc, deadline });
    this.#send(view!.dc, { type: "cib-update", gen: view!.generation, requestId, patch });
  }

  #onStatus(patch: S): void {
    const view = this.#view;
    if (!view) {
      // The status section is rebuilt from probes after every membership change.
      this.#log("dropped a status update: no agreed membership");
      return;
    }
    if (view.dc === this.self) this.#dcStatus(patch);
    else this.#send(view.dc, { type: "cib-status", gen: view.generation, patch });
  }

  #onPersisted(stamp: CibStamp): void {
    if (compareStamps(stamp, this.#persisted) <= 0) return;
    this.#persisted = stamp;
    const view = this.#view;
    if (!view) return;
    if (view.dc === this.self) this.#checkCommits();
    else this.#sendAck();
  }

  #sendAck(): void {
    const view = this.#view!;
    this.#send(view.dc, { type: "cib-ack", gen: view.generation, stamp: this.#persisted });
  }

  // ---- time --------------------------------------------------------------

  #onTick(): void {
    const now = this.#now;
    for (const [id, f] of this.#forwarded) {
      if (now < f.deadline) continue;
      this.#forwarded.delete(id);
      this.#reply(id, {
        ok: false,
        outcome: "unknown",
        error: `no outcome from DC ${f.dc} within ${this.#timeoutMs} ms: the change may or may ` +
          "not have been applied; check the CIB and retry if needed",
      });
    }
    const view = this.#view;
    if (!view || view.dc !== this.self) return;
    while (this.#inflight.length > 0 && now >= this.#inflight[0].deadline) {
      const w = this.#inflight.shift()!;
      this.#finish(w.requestId, w.origin, {
        ok: false,
        outcome: "unknown",
        error: `a majority of the configured nodes did not confirm the change within ` +
          `${this.#timeoutMs} ms: it may or may not survive; check the CIB and retry if needed`,
      });
    }
    const kept: QueuedUpdate<P, S>[] = [];
    for (const q of this.#queue) {
      if (now < q.deadline) kept.push(q);
      else if (q.kind === "config") {
        this.#finish(q.requestId, q.origin, {
          ok: false,
          outcome: "refused",
          error:
            `the DC could not apply the change within ${this.#timeoutMs} ms: not applied; retry`,
        });
      }
    }
    this.#queue = kept;
    if (this.#phase === "collecting" && now - this.#askedAt >= this.#retryMs) {
      this.#askedAt = now;
      for (const m of this.#peers()) {
        if (!this.#reports.has(m)) this.#send(m, { type: "cib-sync-req", gen: view.generation });
      }
    } else if (this.#phase === "fetching" && now - this.#askedAt >= this.#retryMs) {
      this.#askedAt = now;
      this.#send(this.#fetchFrom!, { type: "cib-fetch", gen: view.generation });
    } else if (this.#phase === "ready") {
      this.#resendUnacked();
    }
  }

  /** Sends the copy again to members that neither acked it nor could have lost it for good. */
  #resendUnacked(): void {
    const view = this.#view!;
    for (const m of this.#peers()) {
      const acked = this.#acked.get(m);
      if (acked && compareStamps(acked, this.#stamp) >= 0) continue;
      // What the member surely held: its report or its last ack.
      const reported = this.#reports.get(m);
      const sure = acked && reported ? maxStamp(acked, reported) : acked ?? reported;
      if (!sure) continue;
      if (!dominates(this.#stamp, sure)) continue;
      if (this.#now - (this.#lastPushAt.get(m) ?? -Infinity) < this.#resendMs) continue;
      this.#send(m, { type: "cib-doc", gen: view.generation, copy: this.#copy });
      this.#held.set(m, this.#stamp);
      this.#lastPushAt.set(m, this.#now);
    }
  }

  // ---- helpers -----------------------------------------------------------

  #adopt(copy: ReplicaCopy<D>, stamp: CibStamp | undefined): void {
    const s = stamp ?? this.#stampOf(copy);
    invariant(
      dominates(s, this.#stamp),
      `copy ${formatStamp(s)} does not dominate ${formatStamp(this.#stamp)}`,
    );
    this.#copy = copy;
    this.#stamp = s;
    this.#effects.push({ type: "persist", copy, stamp: s });
    this.#effects.push({ type: "changed", copy, stamp: s });
  }

  #stampOf(copy: ReplicaCopy<D>): CibStamp {
    return { term: copy.term, version: copy.doc.version, digest: this.#ops.digest(copy.doc) };
  }

  #raise(map: Map<string, CibStamp>, node: string, stamp: CibStamp): void {
    const old = map.get(node);
    map.set(node, old ? maxStamp(old, stamp) : stamp);
  }

  #peers(): string[] {
    return this.#view ? this.#view.members.filter((m) => m !== this.self) : [];
  }

  /** Gives the outcome of a request to its origin: a reply here, or a message there. */
  #finish(requestId: string, origin: string, outcome: RequestOutcome): void {
    if (origin === this.self) {
      this.#reply(requestId, outcome);
      return;
    }
    const gen = this.#view?.generation ?? 0;
    this.#send(origin, { type: "cib-result", gen, requestId, result: outcome });
  }

  #reply(requestId: string, outcome: RequestOutcome): void {
    invariant(this.#open.delete(requestId), `second outcome for request ${requestId}`);
    this.#effects.push({ type: "reply", requestId, origin: this.self, ...outcome });
  }

  #send(to: string, message: ReplicationMessage<D, P, S>): void {
    this.#effects.push({ type: "send", to, message });
  }

  #log(text: string): void {
    this.#effects.push({ type: "log", text });
  }
}

/** Why a view may not order configuration changes, or null if it may. */
export function noAuthorityReason(view: ReplicaView): string | null {
  const need = majorityOf(view.configured);
  if (!view.quorate) {
    return `no quorum: configuration changes are refused in a partition without quorum ` +
      `(members ${view.members.join(", ")} of ${view.configured} configured nodes); not applied`;
  }
  if (view.members.length < need) {
    return `too few members to persist on a majority of the configured nodes: ` +
      `${view.members.length} of ${view.configured} are members, ${need} needed; not applied`;
  }
  return null;
}

function sameView(a: ReplicaView | null, b: ReplicaView | null): boolean {
  if (a === null || b === null) return a === b;
  return a.generation === b.generation && a.dc === b.dc && a.quorate === b.quorate &&
    a.configured === b.configured && a.members.length === b.members.length &&
    a.members.every((m) => b.members.includes(m));
}

function invariant(ok: boolean, text: string): asserts ok {
  if (!ok) throw new Error(`CIB replica invariant violated: ${text}`);
}
