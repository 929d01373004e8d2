/**
 * What the LRM remembers about operations: the kinds of operations, how one ended, the
 * record of its last run per operation and interval (Pacemaker's `lrm_rsc_op` history)
 * and the last failure of a resource.
 *
 * Pure types and one pure helper; no I/O.
 *
 * @module
 */

import { boundedTail } from "./output_tail.ts";
import { isOcfCode, ocfCodeText } from "./ocf_codes.ts";

/** The operations the LRM schedules on a resource. */
export type LrmAction = "start" | "stop" | "monitor";

/**
 * The operations of promotable (multi-state) and notify-aware agents. The executor and the
 * adapters run them; the LRM's bookkeeping does not schedule them yet (Vigil has no
 * promotable resources).
 */
export type RoleAction = "promote" | "demote" | "notify";

/** Why an operation runs. */
export type OperationOrigin = "dc" | "probe" | "monitor" | "self-stop";

/**
 * How an operation ended:
 * - `done`: the agent settled with an OCF code (which may still be a failure);
 * - `timeout`: the agent did not settle in time; it was abandoned (and its process group
 *   killed, for script agents), rc ERR_GENERIC;
 * - `error`: the agent threw, was killed by a signal, or gave something that is not an
 *   OCF code (rc the raw exit code when it was a number 0..255, else ERR_GENERIC);
 * - `invalid-params`: the parameters failed the agent's schema; the agent did not run
 *   (rc ERR_CONFIGURED);
 * - `unsupported`: the agent does not implement the action (rc ERR_UNIMPLEMENTED).
 */
export type OperationStatus = "done" | "timeout" | "error" | "invalid-params" | "unsupported";

/** What the shell reports about one finished operation besides its rc (the executor's result). */
export interface OperationDetail {
  /** How it ended. */
  status: OperationStatus;
  /** How long it ran, excluding time queued, ms. */
  durationMs: number;
  /** The tail of its output. */
  output: string;
  /** When it began running (the shell's wall clock, epoch ms). */
  startedAt?: number;
}

/** The last run of one operation (per action and interval) of one resource. */
export interface OperationRecord {
  /** Order of the run on this node (the LRM's call id); higher is later. */
  callId: number;
  /** Id of the run (`opN`). */
  opId: string;
  /** The operation. */
  action: LrmAction;
  /** The recurring monitor's interval, ms; 0 for every one-shot operation and probes. */
  intervalMs: number;
  /** Why it ran. */
  origin: OperationOrigin;
  /** The OCF code (or the raw exit code, for an unexpected one). */
  rc: number;
  /** The code's meaning, e.g. `not running`, `unexpected exit code 42`. */
  rcText: string;
  /** How it ended. */
  status: OperationStatus;
  /** Run time, ms. */
  durationMs: number;
  /**
   * When it began: the shell's wall clock (epoch ms) when it reported one, else the
   * core's clock at completion minus the duration.
   */
  startedAt: number;
  /** The tail of its output, at most {@link MAX_RECORD_OUTPUT_BYTES}. */
  output: string;
}

/** The last failed operation of a resource on this node. */
export interface FailureRecord {
  /** When it ended (same clock as {@link OperationRecord.startedAt}). */
  at: number;
  /** The operation that failed. */
  action: LrmAction;
  /** Its interval (0: one-shot or probe). */
  intervalMs: number;
  /** Its code. */
  rc: number;
  /** The code's meaning. */
  rcText: string;
  /** How it ended. */
  status: OperationStatus;
  /** Its call id. */
  callId: number;
}

/** Bound of {@link OperationRecord.output} in UTF-8 bytes (the executor keeps more per run). */
export const MAX_RECORD_OUTPUT_BYTES = 4 * 1024;

/** The history key of an operation, Pacemaker style: `monitor_10000`, `start_0`. */
export function historyKey(action: LrmAction, intervalMs: number): string {
  return `${action}_${intervalMs}`;
}

/** The status implied by an rc alone (when the shell reported no detail). */
export function statusOfCode(rc: number): OperationStatus {
  return isOcfCode(rc) ? "done" : "error";
}

/**
 * Builds the record of a finished run. `detail` (from the shell) is optional so that a
 * caller with only an rc (the simulator) still gets a consistent record.
 */
export function makeRecord(
  run: {
    callId: number;
    opId: string;
    action: LrmAction;
    intervalMs: number;
    origin: OperationOrigin;
  },
  rc: number,
  now: number,
  detail?: OperationDetail,
): OperationRecord {
  const durationMs = Math.max(0, detail?.durationMs ?? 0);
  return {
    ...run,
    rc,
    rcText: ocfCodeText(rc),
    status: detail?.status ?? statusOfCode(rc),
    durationMs,
    startedAt: detail?.startedAt ?? now - durationMs,
    output: boundedTail(detail?.output ?? "", MAX_RECORD_OUTPUT_BYTES),
  };
}
