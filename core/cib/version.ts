/**
 * CIB versions: (admin_epoch, epoch, num_updates), compared in that order,
 * as Pacemaker does. admin_epoch is raised only by an administrator, epoch by
 * every configuration change, num_updates by every status change.
 *
 * @example
 * ```ts
 * compareVersions({ adminEpoch: 0, epoch: 2, numUpdates: 0 }, { adminEpoch: 0, epoch: 1, numUpdates: 9 }); // 1
 * ```
 * @module
 */

/** A CIB version triple. */
export interface CibVersion {
  /** Raised by administrators to force a configuration to win. */
  adminEpoch: number;
  /** Raised by every configuration change. */
  epoch: number;
  /** Raised by every status change. */
  numUpdates: number;
}

/** Compares two versions: negative if a is older, 0 if equal, positive if newer. */
export function compareVersions(a: CibVersion, b: CibVersion): number {
  return a.adminEpoch - b.adminEpoch || a.epoch - b.epoch || a.numUpdates - b.numUpdates;
}

/** Formats a version as Pacemaker prints it: "admin_epoch.epoch.num_updates". */
export function formatVersion(v: CibVersion): string {
  return `${v.adminEpoch}.${v.epoch}.${v.numUpdates}`;
}

/** The newer of two versions. */
export function maxVersion(a: CibVersion, b: CibVersion): CibVersion {
  return compareVersions(a, b) >= 0 ? a : b;
}
