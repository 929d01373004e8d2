/**
 * Assertions on a plugin's parameter schema that every contract suite shares: values that
 * must be rejected are, the sample parses and parses again to itself, and (where a kind
 * requires it) every field is described and its default filled in.
 *
 * @example
 * ```ts
 * assertSampleParses(def.params, { hosts: ["127.0.0.1"] }, { requireDescriptions: true });
 * ```
 * @module
 */

import assert from "node:assert/strict";
import { describeParams } from "../param_description.ts";

/** The part of a zod schema the checks use (a plugin may bundle its own zod). */
export interface ParamsSchemaLike {
  /** zod's `safeParse`. */
  safeParse(value: unknown): { success: true; data: unknown } | {
    success: false;
    error: { message: string };
  };
}

/** Values no object schema accepts; every suite checks them besides the plugin's own. */
export const DEFAULT_INVALID_PARAMS: readonly unknown[] = [null, 42, "not an object"];

/** zod's issues as `field: message` lines, or the error's message for a foreign schema. */
function issuesText(error: unknown): string {
  const issues = (error as { issues?: unknown }).issues;
  if (Array.isArray(issues)) {
    return issues.map((issue: { path?: unknown[]; message?: string }) =>
      `${(issue.path ?? []).map(String).join(".") || "(params)"}: ${issue.message}`
    ).join("; ");
  }
  return String((error as { message?: unknown }).message ?? error);
}

/**
 * Parses the sample parameters, failing the check with the fields that were rejected.
 *
 * @returns the parsed parameters, as the plugin's actions receive them
 */
export function parseSample(schema: ParamsSchemaLike, sample: Record<string, unknown>): unknown {
  const result = schema.safeParse(sample);
  if (!result.success) assert.fail(`sample params rejected: ${issuesText(result.error)}`);
  return result.data;
}

/** Asserts the schema rejects every value in `invalid` and in {@link DEFAULT_INVALID_PARAMS}. */
export function assertRejectsInvalid(schema: ParamsSchemaLike, invalid: readonly unknown[]): void {
  for (const bad of [...DEFAULT_INVALID_PARAMS, ...invalid]) {
    assert.equal(schema.safeParse(bad).success, false, `params accepted ${JSON.stringify(bad)}`);
  }
}

/**
 * Asserts `sample` parses, that parsing the result again changes nothing, and, with
 * `requireDescriptions`, that the schema has fields, each with a `.describe()` text, and
 * that every default is filled in when the sample leaves the field out.
 *
 * @returns the parsed sample
 */
export function assertSampleParses(
  schema: ParamsSchemaLike,
  sample: Record<string, unknown>,
  options: { requireDescriptions?: boolean } = {},
): unknown {
  const parsed = parseSample(schema, sample);
  const again = schema.safeParse(parsed);
  assert.ok(again.success, "the parsed sample params do not parse again");
  assert.deepEqual(again.data, parsed, "parsing the parsed params changes them");
  if (options.requireDescriptions) {
    const rows = describeParams(schema);
    assert.ok(rows.length > 0, "params should be an object schema with fields");
    for (const row of rows) {
      assert.ok(row.description, `params.${row.name} has no .describe() text`);
      if (row.default !== undefined && !(row.name in sample)) {
        assert.deepEqual(
          (parsed as Record<string, unknown>)[row.name],
          row.default,
          `params.${row.name} default not filled`,
        );
      }
    }
  }
  return parsed;
}
