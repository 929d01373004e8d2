/**
 * The OCF result codes the LRM understands, and how it names them.
 *
 * OCF 1.1 defines 0 to 9; Pacemaker and OCF 1.1 add 190 and 191 (degraded). Anything else
 * an agent exits with is not an OCF code: the LRM keeps the raw number and reports it as
 * such ("unexpected exit code 42"), it never silently turns it into a known code.
 *
 * @example
 * ```ts
 * ocfCodeText(7); // "not running"
 * isOcfCode(42); // false
 * ocfCodeText(42); // "unexpected exit code 42"
 * ```
 * @module
 */

import { OCF } from "../../plugins/resource_agent.ts";

/**
 * Every OCF code by name (the names of OCF 1.1, `ocf_exitcodes`): the contract's
 * {@link OCF} (0 to 7) and the codes it leaves out.
 *
 * - `RUNNING_PROMOTED` (8): `monitor` of a promotable resource found it running promoted.
 * - `FAILED_PROMOTED` (9): the promoted instance has failed.
 * - `DEGRADED` (190) and `DEGRADED_PROMOTED` (191): running, but with reduced service;
 *   a success for `monitor`, not a failure.
 */
export const OCF_CODES = {
  ...OCF,
  RUNNING_PROMOTED: 8,
  FAILED_PROMOTED: 9,
  DEGRADED: 190,
  DEGRADED_PROMOTED: 191,
} as const;

/** Human text of each OCF code, as Pacemaker prints it. */
const TEXT: Readonly<Record<number, string>> = {
  0: "ok",
  1: "error",
  2: "invalid parameter",
  3: "unimplemented feature",
  4: "insufficient privileges",
  5: "not installed",
  6: "not configured",
  7: "not running",
  8: "promoted",
  9: "promoted (failed)",
  190: "degraded",
  191: "degraded promoted",
};

/** Whether `rc` is one of the {@link OCF_CODES}. */
export function isOcfCode(rc: number): boolean {
  return Object.hasOwn(TEXT, rc);
}

/** The text of `rc`: its OCF meaning, or `unexpected exit code N` for anything else. */
export function ocfCodeText(rc: number): string {
  return Object.hasOwn(TEXT, rc) ? TEXT[rc] : `unexpected exit code ${rc}`;
}

/**
 * Whether a `monitor` result means "running" (OK, promoted or degraded). `NOT_RUNNING`
 * and every other code do not.
 */
export function isRunningCode(rc: number): boolean {
  return rc === OCF_CODES.OK || rc === OCF_CODES.RUNNING_PROMOTED ||
    rc === OCF_CODES.DEGRADED || rc === OCF_CODES.DEGRADED_PROMOTED;
}
