import assert from "node:assert/strict";
import fc from "fast-check";
import { addScores, formatScore, INFINITY, parseScore } from "../../core/score.ts";

Deno.test("addScores adds finite scores normally", () => {
  assert.equal(addScores(10, 20), 30);
  assert.equal(addScores(-50, 20), -30);
  assert.equal(addScores(0, 0), 0);
});

Deno.test("addScores saturates at +INFINITY", () => {
  assert.equal(addScores(INFINITY, 5), INFINITY);
  assert.equal(addScores(5, INFINITY), INFINITY);
  assert.equal(addScores(INFINITY, INFINITY), INFINITY);
  // Two finite scores whose sum overflows the range are clamped.
  assert.equal(addScores(999_999, 999_999), INFINITY);
  // A finite negative does not pull INFINITY down.
  assert.equal(addScores(INFINITY, -999_999), INFINITY);
});

Deno.test("addScores saturates at -INFINITY", () => {
  assert.equal(addScores(-INFINITY, -5), -INFINITY);
  assert.equal(addScores(-999_999, -999_999), -INFINITY);
  assert.equal(addScores(-INFINITY, 999_999), -INFINITY);
});

Deno.test("-INFINITY beats +INFINITY in either order", () => {
  assert.equal(addScores(INFINITY, -INFINITY), -INFINITY);
  assert.equal(addScores(-INFINITY, INFINITY), -INFINITY);
});

Deno.test("addScores is commutative and stays within [-INFINITY, INFINITY]", () => {
  const score = fc.integer({ min: -2 * INFINITY, max: 2 * INFINITY });
  fc.assert(
    fc.property(score, score, (a, b) => {
      const sum = addScores(a, b);
      assert.equal(sum, addScores(b, a));
      assert.ok(sum >= -INFINITY && sum <= INFINITY);
      if (a <= -INFINITY || b <= -INFINITY) assert.equal(sum, -INFINITY);
    }),
  );
});

Deno.test("formatScore prints INFINITY, -INFINITY or the number", () => {
  assert.equal(formatScore(INFINITY), "INFINITY");
  assert.equal(formatScore(INFINITY + 7), "INFINITY");
  assert.equal(formatScore(-INFINITY), "-INFINITY");
  assert.equal(formatScore(-INFINITY - 7), "-INFINITY");
  assert.equal(formatScore(42), "42");
  assert.equal(formatScore(-3), "-3");
  assert.equal(formatScore(0), "0");
});

Deno.test("parseScore reads the infinity spellings in any case", () => {
  for (const text of ["INFINITY", "+INFINITY", "infinity", "inf", "+Inf", " INFINITY "]) {
    assert.equal(parseScore(text), INFINITY, text);
  }
  for (const text of ["-INFINITY", "-infinity", "-inf", "-INF"]) {
    assert.equal(parseScore(text), -INFINITY, text);
  }
});

Deno.test("parseScore reads integers from text and numbers, clamping to the infinities", () => {
  assert.equal(parseScore("100"), 100);
  assert.equal(parseScore("-25"), -25);
  assert.equal(parseScore("+7"), 7);
  assert.equal(parseScore(" 12 "), 12);
  assert.equal(parseScore("5000000"), INFINITY);
  assert.equal(parseScore("-5000000"), -INFINITY);
  assert.equal(parseScore(42), 42);
  assert.equal(parseScore(2.9), 2, "numbers are truncated");
  assert.equal(parseScore(-2.9), -2);
  assert.equal(parseScore(3 * INFINITY), INFINITY);
  assert.equal(parseScore(-3 * INFINITY), -INFINITY);
});

Deno.test("parseScore rejects what is not a score", () => {
  for (const bad of ["", "  ", "abc", "1.5", "1e3", "12abc", "--1", "INFINITYX", "in f", "0x10"]) {
    assert.equal(parseScore(bad), undefined, JSON.stringify(bad));
  }
  assert.equal(parseScore(Number.NaN), undefined);
  assert.equal(parseScore(Number.POSITIVE_INFINITY), undefined);
  assert.equal(parseScore(Number.NEGATIVE_INFINITY), undefined);
});

Deno.test("formatScore and parseScore round-trip", () => {
  fc.assert(
    fc.property(fc.integer({ min: -INFINITY, max: INFINITY }), (n) => {
      assert.equal(parseScore(formatScore(n)), n);
    }),
  );
});
