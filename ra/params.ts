/**
 * zod helpers for the parameters of built-in resource agents.
 *
 * Resource parameters come from the CIB, where (as in Pacemaker) every value is a string,
 * and from JSON configurations, where numbers are numbers: a numeric parameter accepts
 * both.
 *
 * @example
 * ```ts
 * const params = z.object({
 *   port: integerParam(1, 65535).describe("TCP port."),
 *   // A default goes through .prefault(), not .default(): see integerParam.
 *   timeout: integerParam(1, 600_000).prefault(2_000).describe("Milliseconds."),
 * });
 * params.parse({ port: "8080" }); // { port: 8080, timeout: 2000 }
 * ```
 * @module
 */

import { z } from "zod";

/** A decimal string of 1..9 digits (so its value is a safe integer), as its number. */
const decimal = z.string().regex(/^[0-9]{1,9}$/).transform(Number);

/** The schema {@link integerParam} builds: a number, or a decimal string piped to one. */
export type IntegerParam = z.ZodUnion<
  [z.ZodNumber, z.ZodPipe<z.ZodPipe<z.ZodString, z.ZodTransform<number, string>>, z.ZodNumber>]
>;

/**
 * An integer in [min, max]; CIB parameters are strings, so decimal strings are accepted.
 * Give defaults with `.prefault()` (an input value, parsed like one): zod's JSON Schema,
 * which `vigil ra describe` shows, drops a `.default()` after a transform.
 *
 * @param min the smallest value accepted (an integer)
 * @param max the largest value accepted (an integer, at least `min`)
 * @throws RangeError when the bounds are not integers or `min > max`
 */
export function integerParam(min: number, max: number): IntegerParam {
  if (!Number.isInteger(min) || !Number.isInteger(max) || min > max) {
    throw new RangeError(`integerParam: bad range [${min}, ${max}]`);
  }
  const range = z.number().int().min(min).max(max);
  return z.union([range, decimal.pipe(range)]);
}
