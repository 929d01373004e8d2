import assert from "node:assert/strict";
import {
  acceptAttrExpression,
  compareVersions,
  evaluateRule,
  inferType,
  scanDouble,
  scanInteger,
} from "../../core/pe/scheduler/node_rules.ts";
import { char2score, glibSort, INFINITY, scaleScore } from "../../core/pe/scheduler/scores.ts";
import { addScores } from "../../core/score.ts";

Deno.test("score arithmetic saturates at the infinities and -INFINITY wins", () => {
  const table: Array<[number, number, number]> = [
    [1, 2, 3],
    [INFINITY, -5, INFINITY],
    [INFINITY, -INFINITY, -INFINITY],
    [-INFINITY, INFINITY, -INFINITY],
    [900_000, 900_000, INFINITY],
    [-900_000, -900_000, -INFINITY],
  ];
  for (const [a, b, want] of table) assert.equal(addScores(a, b), want, `${a} + ${b}`);
});

Deno.test("char2score reads INFINITY spellings, integers and health colours", () => {
  const table: Array<[string, number]> = [
    ["INFINITY", INFINITY],
    ["+INFINITY", INFINITY],
    ["-INFINITY", -INFINITY],
    ["42", 42],
    ["-7", -7],
    ["red", -INFINITY],
    ["green", 0],
    ["12abc", 12],
    ["abc", 0],
  ];
  for (const [text, want] of table) assert.equal(char2score(text), want, text);
});

Deno.test("colocation score scaling rounds half away from zero and never to zero", () => {
  assert.equal(scaleScore(100, 0.5), 50);
  assert.equal(scaleScore(1, 0.5), 1); // 0.5 rounds up
  assert.equal(scaleScore(1, 0.0001), 1); // a non-zero score stays non-zero
  // Pacemaker takes the sign of a rounded-away result from the factor alone.
  assert.equal(scaleScore(-1, 0.0001), 1);
  assert.equal(scaleScore(1, -0.0001), -1);
  assert.equal(scaleScore(3, -0.5), -2);
  assert.equal(scaleScore(0, 0.5), 0);
});

Deno.test("glibSort is a stable merge sort like GLib's g_list_sort", () => {
  const items = [3, 1, 2, 1, 3].map((k, i) => ({ k, i }));
  const sorted = glibSort(items, (a, b) => a.k - b.k);
  assert.deepEqual(sorted.map((x) => x.i), [1, 3, 2, 0, 4]);
});

Deno.test("rule value types: inferred integer/number for ordering, string otherwise", () => {
  assert.equal(inferType("10", "3", "gt"), "integer");
  assert.equal(inferType("10.4", "3", "gt"), "number");
  assert.equal(inferType("1", "1", "eq"), "string");
  // Table from Pacemaker's rule-* regression cases.
  const table: Array<[string, string, string | undefined, string, boolean]> = [
    ["10.4", "3.4", undefined, "gt", true], // number
    ["3.4", "10.6", undefined, "gt", false],
    ["3.4", "4.6", "integer", "eq", false], // 3 vs 4
    ["3.4", "3.4", "number", "eq", true],
    ["as10.0", "as2.0", "number", "gt", false], // unparsable: string comparison
    ["10", "3", undefined, "gt", true], // integer, not string ("10" < "3")
    ["3", "10", undefined, "gt", false],
    ["3", "4", "integer", "eq", false],
    ["3", "3", "number", "eq", true],
    ["3", "3.6", "number", "eq", false],
    ["as2", "as10", "integer", "gt", true], // string: "as2" > "as10"
    ["1.10", "1.9", "version", "gt", true],
    ["abc", "ABC", "string", "eq", true], // case-insensitive
  ];
  for (const [left, right, type, op, want] of table) {
    assert.equal(
      acceptAttrExpression(left, right, type, op),
      want,
      `${left} ${op} ${right} (${type})`,
    );
  }
});

Deno.test("rule expressions: defined, ne on a missing attribute, and/or nesting", () => {
  assert.equal(acceptAttrExpression(undefined, undefined, undefined, "defined"), false);
  assert.equal(acceptAttrExpression("x", undefined, undefined, "defined"), true);
  assert.equal(acceptAttrExpression(undefined, "x", undefined, "not_defined"), true);
  assert.equal(acceptAttrExpression(undefined, "x", undefined, "ne"), true);
  assert.equal(acceptAttrExpression(undefined, "x", undefined, "lt"), false);
  const attrs = new Map([["#uname", "n1"], ["rack", "a"], ["load", "5"]]);
  const expr = (attribute: string, operation: "eq" | "gt", value: string) => ({
    attribute,
    operation,
    value,
    valueSource: "literal" as const,
  });
  const and = {
    booleanOp: "and" as const,
    expressions: [expr("rack", "eq", "a"), expr("load", "gt", "9")],
    rules: [],
  };
  const or = { ...and, booleanOp: "or" as const };
  assert.equal(evaluateRule(and, attrs, {}), false);
  assert.equal(evaluateRule(or, attrs, {}), true);
  const nested = {
    booleanOp: "and" as const,
    expressions: [expr("#uname", "eq", "n1")],
    rules: [or],
  };
  assert.equal(evaluateRule(nested, attrs, {}), true);
  const param = {
    attribute: "rack",
    operation: "eq" as const,
    value: "where",
    valueSource: "param" as const,
  };
  assert.equal(
    evaluateRule({ booleanOp: "and", expressions: [param], rules: [] }, attrs, {
      params: { where: "a" },
    }),
    true,
  );
});

Deno.test("C-style number parsing: leading integer, strtod prefix, versions", () => {
  assert.equal(scanInteger("3.4"), 3n);
  assert.equal(scanInteger(" -12x"), -12n);
  assert.equal(scanInteger("x12"), undefined);
  assert.equal(scanDouble("2.5e2abc"), 250);
  assert.equal(scanDouble("abc"), undefined);
  assert.equal(compareVersions("2.1.5", "2.1.10"), -1);
  assert.equal(compareVersions("2.1", "2.1.0"), 0);
});
