/**
 * Rule evaluation against node attributes, with Pacemaker's value typing:
 * `string`, `integer` (a leading integer, C strtoll style), `number`
 * (strtod style) and `version`; when no type is given, `lt/lte/gt/gte`
 * compare as numbers if either side has a decimal point, else as integers,
 * and every other operation compares strings. A value that does not parse
 * as the requested type falls back to a (case-insensitive) string comparison.
 *
 * @example
 * ```ts
 * const attrs = new Map([["#uname", "n1"], ["load", "3.4"]]);
 * evaluateRule({ booleanOp: "and", rules: [],
 *   expressions: [{ attribute: "load", operation: "gt", value: "3", valueSource: "literal" }] },
 *   attrs, {}); // true (compared as numbers)
 * ```
 * @module
 */

import type { Expression, Rule } from "../../cib/schema/rules.ts";

/** Where param/meta-sourced expression values come from. */
export interface RuleResourceData {
  params?: Readonly<Record<string, string>>;
  meta?: Readonly<Record<string, string>>;
}

/** Bounds nesting so a malformed (cyclic) rule cannot recurse without end. */
const MAX_RULE_DEPTH = 64;

/** Evaluates a rule (its expressions and nested rules) against one node's attributes. */
export function evaluateRule(
  rule: Rule,
  attrs: ReadonlyMap<string, string>,
  rsc: RuleResourceData,
  depth = 0,
): boolean {
  if (depth > MAX_RULE_DEPTH) throw new Error(`rule nesting deeper than ${MAX_RULE_DEPTH}`);
  const and = rule.booleanOp !== "or";
  let any = false;
  for (const expr of rule.expressions) {
    const ok = evaluateExpression(expr, attrs, rsc);
    if (and && !ok) return false;
    if (ok) any = true;
  }
  for (const sub of rule.rules) {
    const ok = evaluateRule(sub, attrs, rsc, depth + 1);
    if (and && !ok) return false;
    if (ok) any = true;
  }
  // An "and" rule with no failing part passes; an "or" rule needs one passing part.
  return and ? true : any;
}

/** Evaluates one attribute expression. */
export function evaluateExpression(
  expr: Expression,
  attrs: ReadonlyMap<string, string>,
  rsc: RuleResourceData,
): boolean {
  let value = expr.value;
  if (expr.valueSource === "param" && value !== undefined) value = rsc.params?.[value];
  else if (expr.valueSource === "meta" && value !== undefined) value = rsc.meta?.[value];
  const nodeValue = attrs.get(expr.attribute);
  return acceptAttrExpression(nodeValue, value, expr.type, expr.operation);
}

/** Pacemaker's accept_attr_expr: the comparison result for one operation. */
export function acceptAttrExpression(
  left: string | undefined,
  right: string | undefined,
  type: string | undefined,
  op: string,
): boolean {
  if (op === "defined") return left !== undefined;
  if (op === "not_defined") return left === undefined;
  const cmp = compareValues(left, right, type, op);
  if (Math.abs(cmp) > 1) return false;
  if (op === "eq") return cmp === 0;
  if (op === "ne") return cmp !== 0;
  if (left === undefined || right === undefined) return false;
  switch (op) {
    case "lt":
      return cmp < 0;
    case "lte":
      return cmp <= 0;
    case "gt":
      return cmp > 0;
    case "gte":
      return cmp >= 0;
  }
  return false;
}

/** The type Pacemaker infers when an expression gives none. */
export function inferType(
  left: string | undefined,
  right: string | undefined,
  op: string,
): "string" | "integer" | "number" {
  if (op === "lt" || op === "lte" || op === "gt" || op === "gte") {
    return (left?.includes(".") || right?.includes(".")) ? "number" : "integer";
  }
  return "string";
}

/** Compares two attribute values as `type`; -1, 0, 1 (or ±2 when undecidable). */
export function compareValues(
  left: string | undefined,
  right: string | undefined,
  type: string | undefined,
  op: string,
): number {
  if (left === undefined && right === undefined) return 0;
  if (left === undefined) return -1;
  if (right === undefined) return 1;
  const kind = type ?? inferType(left, right, op);
  switch (kind) {
    case "integer": {
      const a = scanInteger(left);
      const b = scanInteger(right);
      if (a !== undefined && b !== undefined) return a < b ? -1 : a > b ? 1 : 0;
      return compareStrings(left, right);
    }
    case "number": {
      const a = scanDouble(left);
      const b = scanDouble(right);
      if (a !== undefined && b !== undefined) return a < b ? -1 : a > b ? 1 : 0;
      return compareStrings(left, right);
    }
    case "version":
      return compareVersions(left, right);
    default:
      return compareStrings(left, right);
  }
}

/** strcasecmp, normalised to -1/0/1. */
export function compareStrings(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

/** C strtoll(text, &end, 10) with "no digits" as a failure; trailing text is ignored. */
export function scanInteger(text: string): bigint | undefined {
  const match = /^\s*([+-]?\d+)/.exec(text);
  if (!match) return undefined;
  const value = BigInt(match[1]);
  const max = 9223372036854775807n;
  if (value > max) return max;
  if (value < -max - 1n) return -max - 1n;
  return value;
}

/** C strtod(text, &end) with "nothing parsed" as a failure; trailing text is ignored. */
export function scanDouble(text: string): number | undefined {
  const match =
    /^\s*([+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|inf(?:inity)?|nan))/i
      .exec(text);
  if (!match) return undefined;
  const token = match[1].toLowerCase();
  if (token.includes("inf")) return token.startsWith("-") ? -Infinity : Infinity;
  if (token.includes("nan")) return undefined;
  return Number(token);
}

/** Pacemaker's compare_version: dot-separated numeric fields, missing fields are 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".");
  const pb = b.split(".");
  const n = Math.max(pa.length, pb.length);
  for (let i = 0; i < n; i++) {
    const x = Number.parseInt(pa[i] ?? "0", 10) || 0;
    const y = Number.parseInt(pb[i] ?? "0", 10) || 0;
    if (x < y) return -1;
    if (x > y) return 1;
  }
  return 0;
}
