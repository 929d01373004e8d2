import assert from "node:assert/strict";
import fc from "fast-check";
import {
  boundedTail,
  byteLength,
  OutputTail,
  tailBytes,
  TRUNCATED_MARK,
} from "../../core/lrm/output_tail.ts";

const encoder = new TextEncoder();

Deno.test("byteLength equals the UTF-8 encoding's length, lone surrogates included", () => {
  const units = fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 64 }).map((codes) =>
    String.fromCharCode(...codes)
  );
  fc.assert(
    fc.property(fc.oneof(units, fc.string({ unit: "binary" })), (s) => {
      assert.equal(byteLength(s), encoder.encode(s).length, JSON.stringify(s));
    }),
    { numRuns: 500 },
  );
  assert.equal(byteLength("h\u00e9\u20ac\u{1f600}"), 1 + 2 + 3 + 4);
  assert.equal(byteLength("\ud800"), 3);
  assert.equal(byteLength("\udc00x"), 4);
});

Deno.test("tailBytes and boundedTail keep the end within the bound", () => {
  assert.equal(tailBytes("abcdef", 3), "def");
  assert.equal(tailBytes("a\u20acb", 3), "b", "never starts inside a character");
  assert.equal(boundedTail("short", 64), "short");
  const long = "x".repeat(100) + "END";
  const kept = boundedTail(long, 40);
  assert.ok(kept.startsWith(`${TRUNCATED_MARK}\n`));
  assert.ok(kept.endsWith("END"));
  assert.ok(byteLength(kept) <= 40);
});

Deno.test("OutputTail: a million lines keep the newest within the bound", () => {
  const tail = new OutputTail(1024);
  for (let i = 0; i < 1_000_000; i++) tail.push(`line ${i}`);
  const text = tail.text();
  assert.ok(byteLength(text) <= 1024);
  assert.ok(text.endsWith("\nline 999999"));
  assert.ok(tail.truncated);
  const lines = text.split("\n").slice(1);
  // Consecutive newest lines, none missing in between.
  const first = Number(lines[0].slice(5));
  assert.deepEqual(lines, lines.map((_, i) => `line ${first + i}`));
  tail.close();
  tail.push("after close");
  assert.equal(tail.text(), text);
  assert.throws(() => new OutputTail(10), RangeError);
});
