/**
 * Replica stamps: what identifies one copy of the CIB for replication.
 *
 * The Pacemaker triple (admin_epoch, epoch, num_updates) alone does not: after a
 * DC wrote epoch 5 that never reached a majority, a later DC can write a
 * different epoch 5, and status updates then raise num_updates on both lines.
 * A stamp therefore adds
 *
 * - `term`: the membership generation of the quorate DC that last changed the
 *   configuration (or re-stamped it after a sync). Only one DC per generation
 *   writes, and every quorate generation is greater than all before it, so a
 *   higher term means a configuration written later, by a DC that had seen
 *   every acknowledged change (see replica.ts for the argument).
 * - `digest`: a digest of the whole document, the last tie-break, so two copies
 *   with the same term and triple but different content (status written by two
 *   partitions from one base) are still ordered, the same way on every node.
 *
 * Stamps are compared term first (like raft's last log term), then the triple,
 * then the digest. A replica adopts a copy only if it *dominates* its own: a
 * greater stamp whose triple is not smaller, so neither the stamp nor the
 * triple a node shows ever goes backwards.
 *
 * @example
 * ```ts
 * const a = { term: 4, version: { adminEpoch: 0, epoch: 6, numUpdates: 0 }, digest: "aa" };
 * const b = { term: 3, version: { adminEpoch: 0, epoch: 7, numUpdates: 2 }, digest: "bb" };
 * compareStamps(a, b) > 0; // true: written by a later quorate DC
 * dominates(a, b); // false: its triple is smaller, so b's holder cannot take it as is
 * ```
 * @module
 */

import { type CibVersion, compareVersions, formatVersion } from "../version.ts";

/** What identifies one copy of the CIB in replication. */
export interface CibStamp {
  /** Membership generation of the quorate DC that last wrote the configuration (0: initial). */
  term: number;
  /** The Pacemaker version triple of the copy. */
  version: CibVersion;
  /** Digest of the whole document (version included). */
  digest: string;
}

/** Orders stamps: term, then version triple, then digest. Negative if a is older. */
export function compareStamps(a: CibStamp, b: CibStamp): number {
  return a.term - b.term || compareVersions(a.version, b.version) ||
    (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0);
}

/** Whether two stamps name the same copy. */
export function sameStamp(a: CibStamp, b: CibStamp): boolean {
  return compareStamps(a, b) === 0;
}

/**
 * Whether a copy stamped `a` may replace one stamped `b`: newer by stamp, and its
 * triple not older, so the version a node shows never goes backwards.
 */
export function dominates(a: CibStamp, b: CibStamp): boolean {
  return compareStamps(a, b) > 0 && compareVersions(a.version, b.version) >= 0;
}

/** The greater of two stamps. */
export function maxStamp(a: CibStamp, b: CibStamp): CibStamp {
  return compareStamps(a, b) >= 0 ? a : b;
}

/** A version above every one of `versions`: the greatest one with epoch + 1, num_updates 0. */
export function versionAbove(versions: readonly CibVersion[]): CibVersion {
  if (versions.length === 0) throw new Error("versionAbove needs at least one version");
  let top = versions[0];
  for (const v of versions) if (compareVersions(v, top) > 0) top = v;
  return { adminEpoch: top.adminEpoch, epoch: top.epoch + 1, numUpdates: 0 };
}

/** The number of nodes that is a majority of `configured` nodes. */
export function majorityOf(configured: number): number {
  if (!Number.isInteger(configured) || configured < 1) {
    throw new Error(`configured node count must be a positive integer, got ${configured}`);
  }
  return Math.floor(configured / 2) + 1;
}

/** A short human form: `t4:0.6.0#1a2b3c4d`. */
export function formatStamp(s: CibStamp): string {
  return `t${s.term}:${formatVersion(s.version)}#${s.digest.slice(0, 8)}`;
}
