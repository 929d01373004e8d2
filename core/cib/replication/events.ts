/**
 * What goes into a CIB replica (events) and what comes out (effects), and the
 * operations the replica is built with. See replica.ts for the protocol.
 *
 * @example
 * ```ts
 * const effects = replica.step({ type: "submit", now, requestId: "n2-17", patch });
 * for (const e of effects) if (e.type === "persist") disk.write(e.copy); // then "persisted"
 * ```
 * @module
 */

import type { CibVersion } from "../version.ts";
import type { ReplicaCopy, ReplicationMessage, RequestOutcome } from "./messages.ts";
import type { CibStamp } from "./stamp.ts";

/** The shape every replicated document has: the version triple, configuration and status. */
export interface ReplicatedDocument {
  /** The Pacemaker version triple. */
  version: CibVersion;
  /** The configuration section (changed only by acknowledged updates). */
  config: unknown;
  /** The status section (changed by status updates, no majority round). */
  status: unknown;
}

/** What applying a configuration patch gave: the new configuration, or why not. */
export type ApplyResult<C> = { ok: true; config: C } | { ok: false; error: string };

/** The document operations a replica is built with (pure, deterministic functions). */
export interface ReplicaOps<D extends ReplicatedDocument, P, S> {
  /** Applies a configuration patch; the same inputs must give the same output on every node. */
  applyConfig(config: D["config"], patch: P): ApplyResult<D["config"]>;
  /** Applies a status patch. */
  applyStatus(status: D["status"], patch: S): D["status"];
  /** A digest of the whole document (e.g. SHA-256 of its canonical JSON). */
  digest(doc: D): string;
}

/** The agreed membership as the replica needs it. */
export interface ReplicaView {
  /** Members of the agreed membership (this node among them). */
  members: readonly string[];
  /** Its generation (grows with every membership; never reused by a quorate one). */
  generation: number;
  /** The DC of this membership (one of `members`). */
  dc: string;
  /** Whether the partition has quorum. */
  quorate: boolean;
  /** How many nodes are configured: acknowledgements need a majority of these. */
  configured: number;
}

/** Something that happened to the replica; `now` is the time in ms (injected). */
export type ReplicaEvent<D, P, S> =
  /** The agreed membership changed (null: in transition, no DC). */
  | { type: "view"; now: number; view: ReplicaView | null }
  /** A replication message from a peer (checked by `replicationMessageSchema` first). */
  | { type: "message"; now: number; from: string; message: ReplicationMessage<D, P, S> }
  /** A client on this node asks for a configuration change (`requestId` unique per node). */
  | { type: "submit"; now: number; requestId: string; patch: P }
  /** This node has a status update (an operation result) for the DC. */
  | { type: "status"; now: number; patch: S }
  /** The node's disk holds the copy with this stamp now (the shell persisted it). */
  | { type: "persisted"; now: number; stamp: CibStamp }
  /** Time passed (drives retries and timeouts). */
  | { type: "tick"; now: number };

/** A reply to a client of this node: the request's final outcome, given exactly once. */
export type ReplyEffect = { type: "reply"; requestId: string; origin: string } & RequestOutcome;

/** Something the replica wants done. */
export type ReplicaEffect<D, P, S> =
  /** Send a message to one peer over the reliable channel. */
  | { type: "send"; to: string; message: ReplicationMessage<D, P, S> }
  /**
   * Persist this copy (document and term) atomically, then report `persisted`
   * with `stamp`. Writes must be done in order; a queued write may be skipped
   * for a newer one.
   */
  | { type: "persist"; copy: ReplicaCopy<D>; stamp: CibStamp }
  /** The replica's copy changed (re-plan, show the new version). */
  | { type: "changed"; copy: ReplicaCopy<D>; stamp: CibStamp }
  | ReplyEffect
  /** Something worth a log line. */
  | { type: "log"; text: string };
