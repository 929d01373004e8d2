/**
 * Rules on node attributes, as location constraints use them (Pacemaker's
 * `<rule>` with `<expression>`s and nested rules). Time-based rules
 * (`date_expression`) are not supported.
 *
 * @example
 * ```ts
 * ruleSchema.parse({ score: "-INFINITY", expressions: [{ attribute: "#uname", operation: "eq", value: "n1" }] });
 * ```
 * @module
 */

import { z } from "zod";
import { idSchema, scoreSchema } from "./common.ts";

/** Comparison an expression makes. */
export const expressionOperationSchema = z.enum([
  "lt",
  "gt",
  "lte",
  "gte",
  "eq",
  "ne",
  "defined",
  "not_defined",
]);

/** How values are compared: as strings, integers, numbers or versions (default: guessed). */
export const expressionTypeSchema = z.enum(["string", "integer", "number", "version"]);

/** Schema of one attribute expression. */
export const expressionSchema = z.strictObject({
  id: idSchema.optional(),
  /** The node attribute (`#uname`, `#id`, `#kind` and configured or transient ones). */
  attribute: z.string().min(1),
  operation: expressionOperationSchema,
  /** The value compared against (absent for defined / not_defined). */
  value: z.string().optional(),
  type: expressionTypeSchema.optional(),
  /** `param`/`meta` take the value from the resource's parameter or meta attribute. */
  valueSource: z.enum(["literal", "param", "meta"]).default("literal"),
});

/** A rule: expressions joined by and/or, plus nested rules; the score applies when it holds. */
export interface Rule {
  /** Pacemaker's rule id, kept for round trips. */
  id?: string;
  /** Score added when the rule holds (location rules). */
  score?: number;
  /** Take the score from this node attribute instead. */
  scoreAttribute?: string;
  /** How the expressions and sub-rules combine. */
  booleanOp: "and" | "or";
  /** Attribute expressions. */
  expressions: z.output<typeof expressionSchema>[];
  /** Nested rules. */
  rules: Rule[];
}

/** Schema of a rule (recursive). */
export const ruleSchema: z.ZodType<Rule, unknown> = z.lazy(() =>
  z.strictObject({
    id: idSchema.optional(),
    score: scoreSchema.optional(),
    scoreAttribute: z.string().min(1).optional(),
    booleanOp: z.enum(["and", "or"]).default("and"),
    expressions: z.array(expressionSchema).default([]),
    rules: z.array(ruleSchema).default([]),
  }).refine((r) => r.expressions.length + r.rules.length > 0, {
    error: "a rule needs at least one expression or nested rule",
  })
);

/** An attribute expression. */
export type Expression = z.output<typeof expressionSchema>;
