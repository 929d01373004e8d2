/**
 * A node's LRM history as its heartbeats and operation results carry it to the DC: per
 * resource the last run of each operation (action, interval, rc, call id, status), the
 * operation in progress (pending), the fail count's last failure time and the recurring
 * monitor's interval. It is what the DC rebuilds the scheduler's status section from
 * (see scheduler_input.ts). Bounded: at most {@link MAX_REPORTED_OPS} records per
 * resource and {@link MAX_REPORTED_RESOURCES} resources, no output text.
 *
 * @example
 * ```ts
 * const report = lrmReport(lrm.details(), pendingDcOps, wallClockOffsetMs);
 * report.web.ops; // [["monitor", 0, 7, 1, "done"], ["start", 0, 0, 4, "done"]]
 * ```
 * @module
 */

import { z } from "zod";
import type { LrmResourceDetail } from "../lrm/lrm_state.ts";

/** Most operation records reported per resource. */
export const MAX_REPORTED_OPS = 16;
/** Most resources reported per node. */
export const MAX_REPORTED_RESOURCES = 1024;

const opStatus = z.enum(["done", "timeout", "error", "invalid-params", "unsupported"]);

/** One operation record: action, interval ms, rc, call id, how it ended. */
export const reportedOpSchema = z.tuple([
  z.string().min(1).max(32),
  z.number().int().min(0),
  z.number().int(),
  z.number().int().min(0),
  opStatus,
]);

/** Schema of one resource's reported history. */
export const reportedResourceSchema = z.strictObject({
  /** The agent it last ran with. */
  agent: z.string().min(1).max(128),
  /** The recurring monitor's interval the LRM runs (0: none). */
  monitorMs: z.number().int().min(0),
  /** The last run of each operation and interval, oldest call first. */
  ops: z.array(reportedOpSchema).max(MAX_REPORTED_OPS),
  /** A start or stop accepted and not finished yet. */
  pending: z.enum(["start", "stop"]).nullable(),
  /** The fail count here. */
  failCount: z.number().int().min(0),
  /** When the last failure happened (wall-clock seconds), if one is remembered. */
  lastFailure: z.number().int().min(0).nullable(),
});

/** Schema of a node's whole report (resource id -> history). */
export const lrmReportSchema = z.record(z.string().min(1).max(255), reportedResourceSchema);

/** One operation record as reported. */
export type ReportedOp = z.output<typeof reportedOpSchema>;
/** One resource's reported history. */
export type ReportedResource = z.output<typeof reportedResourceSchema>;
/** A node's report. */
export type LrmReport = z.output<typeof lrmReportSchema>;

/**
 * Builds the report from the LRM's details.
 *
 * @param details `LrmState.details()`
 * @param accepted DC starts and stops accepted but still queued behind another operation,
 *   per resource (the LRM reports an operation as pending as soon as it accepts it)
 *
 * A resource with a start running or queued is reported with a pending start, whatever
 * else is queued: it will be active here for a while, and the DC must not start it
 * elsewhere meanwhile. Otherwise a stop running or queued is a pending stop.
 * @param wallOffsetMs added to the LRM's failure times to get wall-clock ms
 */
export function lrmReport(
  details: Record<string, LrmResourceDetail>,
  accepted: ReadonlyMap<string, "start" | "stop">,
  wallOffsetMs: number,
): LrmReport {
  const out: LrmReport = {};
  let count = 0;
  for (const [id, d] of Object.entries(details)) {
    if (++count > MAX_REPORTED_RESOURCES) break;
    const running = d.running?.action;
    const queued = accepted.get(id);
    const pending = running === "start" || queued === "start"
      ? "start"
      : running === "stop" || queued === "stop"
      ? "stop"
      : null;
    const ops = d.ops.slice(-MAX_REPORTED_OPS).map((o): ReportedOp => [
      o.action,
      o.intervalMs,
      o.rc,
      Math.max(0, o.callId),
      o.status,
    ]);
    out[id] = {
      agent: d.agent,
      monitorMs: d.monitorMs,
      ops,
      pending,
      failCount: d.failCount,
      lastFailure: d.lastFailure ? wallSeconds(d.lastFailure.at, wallOffsetMs) : null,
    };
  }
  return out;
}

/**
 * A failure time in wall-clock seconds: the shell reports wall-clock start times (epoch
 * ms, after 2001), the core's own clock is offset by `wallOffsetMs`.
 */
function wallSeconds(at: number, wallOffsetMs: number): number {
  const ms = at > 1e12 ? at : at + wallOffsetMs;
  return Math.max(0, Math.floor(ms / 1000));
}
