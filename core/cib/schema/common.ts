/**
 * Field schemas shared by every section of the CIB document: ids, scores,
 * durations, and name/value attribute maps.
 *
 * @module
 */

import { z } from "zod";
import { parseDuration } from "../../duration.ts";
import { parseScore } from "../../score.ts";

/**
 * An XML-compatible id (resources, constraints, operations), as Pacemaker allows:
 * a letter or `_` first, then letters, digits, `_`, `.`, `-`, `:`.
 */
export const idSchema = z.string().regex(
  /^[A-Za-z_][A-Za-z0-9_.:-]{0,254}$/,
  "an id of letters, digits, _ . - : starting with a letter or _",
);

/** A node name: what `uname -n` prints (letters, digits, `_`, `.`, `-`). */
export const nodeNameSchema = z.string().regex(
  /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/,
  "a node name of letters, digits, _ . -",
);

/**
 * A Pacemaker score: an integer or "INFINITY" / "+INFINITY" / "-INFINITY",
 * parsed to a number clamped to ±1,000,000 (see core/score.ts).
 */
export const scoreSchema = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const score = parseScore(value);
  if (score === undefined) {
    ctx.addIssue({ code: "custom", message: `not a score: ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return score;
});

/**
 * A duration in milliseconds: a number of ms, or a Heartbeat/Pacemaker duration
 * string ("20s", "500ms", "2min", "1h", "30" meaning seconds).
 */
export const durationMsSchema = z.union([z.number().int().min(0), z.string()]).transform(
  (value, ctx) => {
    if (typeof value === "number") return value;
    const ms = parseDuration(value);
    if (ms === undefined) {
      ctx.addIssue({ code: "custom", message: `not a duration: ${JSON.stringify(value)}` });
      return z.NEVER;
    }
    return ms;
  },
);

/** Name/value attributes (instance parameters, node attributes): values are strings. */
export const attributesSchema = z.record(
  z.string().min(1),
  z.union([z.string(), z.number(), z.boolean()]).transform(String),
);

/** Parsed name/value attributes. */
export type Attributes = Record<string, string>;
