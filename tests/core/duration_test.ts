import assert from "node:assert/strict";
import { parseDuration } from "../../core/duration.ts";

Deno.test("a bare number is seconds, as in ha.cf", () => {
  assert.equal(parseDuration("2"), 2000);
  assert.equal(parseDuration("0"), 0);
  assert.equal(parseDuration("30"), 30_000);
  assert.equal(parseDuration("0.5"), 500);
});

Deno.test("units ms, s, m and h", () => {
  assert.equal(parseDuration("200ms"), 200);
  assert.equal(parseDuration("1.5s"), 1500);
  assert.equal(parseDuration("3s"), 3000);
  assert.equal(parseDuration("1m"), 60_000);
  assert.equal(parseDuration("2h"), 7_200_000);
});

Deno.test("units are case-insensitive and surrounding blanks are allowed", () => {
  assert.equal(parseDuration("200MS"), 200);
  assert.equal(parseDuration("2S"), 2000);
  assert.equal(parseDuration(" 5 s "), 5000);
  assert.equal(parseDuration("\t10ms\n"), 10);
});

Deno.test("fractions are rounded to whole milliseconds", () => {
  assert.equal(parseDuration("1.25ms"), 1);
  assert.equal(parseDuration("0.75ms"), 1);
  assert.equal(parseDuration("0.1s"), 100);
});

Deno.test("numbers are taken as seconds", () => {
  assert.equal(parseDuration(2), 2000);
  assert.equal(parseDuration(0.25), 250);
  assert.equal(parseDuration(0), 0);
});

Deno.test("malformed durations give undefined", () => {
  for (
    const bad of [
      "",
      " ",
      "abc",
      "ms",
      "-1",
      "-1s",
      "1.5.2",
      "2d",
      "1 000",
      "1,5s",
      ".5s",
      "5.",
      "1fortnight",
      "PT",
      "P",
    ]
  ) {
    assert.equal(parseDuration(bad), undefined, JSON.stringify(bad));
  }
  assert.equal(parseDuration(-1), undefined);
  assert.equal(parseDuration(Number.NaN), undefined);
  assert.equal(parseDuration(Number.POSITIVE_INFINITY), undefined);
});

Deno.test("duration: Pacemaker's unit names and ISO 8601 intervals", () => {
  assert.equal(parseDuration("1sec"), 1000);
  assert.equal(parseDuration("2min"), 120_000);
  assert.equal(parseDuration("1hr"), 3_600_000);
  assert.equal(parseDuration("250msec"), 250);
  assert.equal(parseDuration("1500us"), 2);
  assert.equal(parseDuration("PT10S"), 10_000);
  assert.equal(parseDuration("PT1H2M3S"), 3_723_000);
  assert.equal(parseDuration("P1D"), 86_400_000);
});
