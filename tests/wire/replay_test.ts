import assert from "node:assert/strict";
import fc from "fast-check";
import { DropCounters } from "../../core/wire/drop_counters.ts";
import { ReplayWindow } from "../../core/wire/replay.ts";

Deno.test("accepts in-order sequence numbers", () => {
  const w = new ReplayWindow();
  for (let seq = 1; seq <= 500; seq++) assert.equal(w.check("a", 1, seq), "accept");
});

Deno.test("reports repeats inside the window as duplicates, including of the highest seq", () => {
  const w = new ReplayWindow();
  for (const seq of [1, 2, 3]) assert.equal(w.check("a", 1, seq), "accept");
  assert.equal(w.check("a", 1, 3), "duplicate");
  assert.equal(w.check("a", 1, 2), "duplicate");
  assert.equal(w.check("a", 1, 1), "duplicate");
  assert.equal(w.check("a", 1, 4), "accept");
});

Deno.test("accepts modest reordering exactly once", () => {
  const w = new ReplayWindow();
  const order = [1, 5, 3, 4, 2, 9, 6, 8, 7];
  for (const seq of order) assert.equal(w.check("a", 1, seq), "accept", `first ${seq}`);
  for (const seq of order) assert.equal(w.check("a", 1, seq), "duplicate", `again ${seq}`);
});

Deno.test("window edge: 63 behind is accepted, 64 behind is replayed", () => {
  const w = new ReplayWindow();
  assert.equal(w.check("a", 1, 100), "accept");
  assert.equal(w.check("a", 1, 37), "accept");
  assert.equal(w.check("a", 1, 37), "duplicate");
  assert.equal(w.check("a", 1, 36), "replayed");
  assert.equal(w.check("a", 1, 1), "replayed");
});

Deno.test("jumps forward keep or clear the window correctly", () => {
  const w = new ReplayWindow();
  assert.equal(w.check("a", 1, 1), "accept");
  assert.equal(w.check("a", 1, 65), "accept"); // shift of exactly 64: seq 1 leaves the window
  assert.equal(w.check("a", 1, 1), "replayed");
  assert.equal(w.check("a", 1, 2), "accept");
  assert.equal(w.check("a", 1, 2), "duplicate");
  assert.equal(w.check("a", 1, 70), "accept"); // shift of 5: seq 65 and 2 stay remembered
  assert.equal(w.check("a", 1, 65), "duplicate");
  assert.equal(w.check("a", 1, 7), "accept");
  assert.equal(w.check("a", 1, 6), "replayed"); // now 64 behind
  assert.equal(w.check("a", 1, 1_000_000), "accept"); // huge jump clears everything
  assert.equal(w.check("a", 1, 999_999), "accept");
  assert.equal(w.check("a", 1, 70), "replayed");
  assert.equal(w.check("a", 1, Number.MAX_SAFE_INTEGER), "accept");
  assert.equal(w.check("a", 1, Number.MAX_SAFE_INTEGER - 63), "accept");
  assert.equal(w.check("a", 1, Number.MAX_SAFE_INTEGER - 64), "replayed");
});

Deno.test("lower incarnation is old-incarnation; higher resets the window", () => {
  const w = new ReplayWindow();
  for (let seq = 1; seq <= 10; seq++) assert.equal(w.check("a", 2, seq), "accept");
  assert.equal(w.check("a", 1, 11), "old-incarnation");
  assert.equal(w.check("a", 1, 1), "old-incarnation");
  assert.equal(w.check("a", 3, 1), "accept"); // restart: sequence numbers begin again
  assert.equal(w.check("a", 3, 1), "duplicate");
  assert.equal(w.check("a", 3, 2), "accept");
  assert.equal(w.check("a", 2, 11), "old-incarnation");
  assert.equal(w.check("a", 10, 500), "accept");
  assert.equal(w.check("a", 10, 437), "accept"); // fresh window, nothing below remembered
  assert.equal(w.check("a", 10, 436), "replayed");
});

Deno.test("senders are independent", () => {
  const w = new ReplayWindow();
  assert.equal(w.check("a", 1, 1), "accept");
  assert.equal(w.check("b", 1, 1), "accept");
  assert.equal(w.check("b", 5, 1), "accept");
  assert.equal(w.check("a", 1, 2), "accept");
  assert.equal(w.check("a", 1, 1), "duplicate");
  assert.equal(w.check("b", 4, 9), "old-incarnation");
});

Deno.test("rejections leave state unchanged", () => {
  const w = new ReplayWindow();
  assert.equal(w.check("a", 2, 10), "accept");
  assert.equal(w.check("a", 1, 500), "old-incarnation");
  assert.equal(w.check("a", 2, 10), "duplicate");
  // Neither rejection moved the window: 9 is still fresh, 11 is next.
  assert.equal(w.check("a", 2, 9), "accept");
  assert.equal(w.check("a", 2, 11), "accept");
});

Deno.test("eviction keeps at most maxPeers senders, least recently updated first", () => {
  const w = new ReplayWindow(3);
  assert.equal(w.check("a", 1, 1), "accept");
  assert.equal(w.check("b", 1, 1), "accept");
  assert.equal(w.check("c", 1, 1), "accept");
  assert.equal(w.check("a", 1, 2), "accept"); // a is now most recent; b is oldest
  assert.equal(w.check("b", 1, 1), "duplicate"); // a rejection does not refresh b
  assert.equal(w.check("d", 1, 1), "accept"); // evicts b
  assert.equal(w.size, 3);
  assert.equal(w.check("a", 1, 2), "duplicate"); // a kept
  assert.equal(w.check("c", 1, 1), "duplicate"); // c kept
  assert.equal(w.check("d", 1, 1), "duplicate"); // d kept
  assert.equal(w.check("b", 1, 1), "accept"); // b was forgotten; evicts c, the oldest now
  assert.equal(w.check("c", 1, 1), "accept"); // c forgotten; evicts a
  assert.equal(w.size, 3);

  const big = new ReplayWindow();
  for (let i = 0; i < 1000; i++) big.check(`n${i}`, 1, 1);
  assert.equal(big.size, 256);
  assert.equal(big.check("n999", 1, 1), "duplicate");
  assert.equal(big.check("n744", 1, 1), "duplicate"); // the 256 most recent are kept
  assert.equal(big.check("n743", 1, 1), "accept");
});

Deno.test("invalid arguments are programming errors", () => {
  assert.throws(() => new ReplayWindow(0), RangeError);
  assert.throws(() => new ReplayWindow(1.5), RangeError);
  const w = new ReplayWindow();
  assert.throws(() => w.check("a", 0, 1), RangeError);
  assert.throws(() => w.check("a", 1, 0), RangeError);
  assert.throws(() => w.check("a", 1, 1.5), RangeError);
  assert.throws(() => w.check("a", 1, 2 ** 53), RangeError);
  assert.equal(w.size, 0);
});

/** Reference model: remembers every accepted seq in a Set, no bitmap. */
class ModelWindow {
  readonly #state = new Map<string, { inc: number; highest: number; seen: Set<number> }>();

  check(from: string, inc: number, seq: number): string {
    const s = this.#state.get(from);
    if (s === undefined || inc > s.inc) {
      this.#state.set(from, { inc, highest: seq, seen: new Set([seq]) });
      return "accept";
    }
    if (inc < s.inc) return "old-incarnation";
    if (seq <= s.highest - 64) return "replayed";
    if (s.seen.has(seq)) return "duplicate";
    s.seen.add(seq);
    s.highest = Math.max(s.highest, seq);
    return "accept";
  }
}

Deno.test("property: agrees with a set-based reference model", () => {
  const op = fc.tuple(
    fc.constantFrom("a", "b", "c"),
    fc.integer({ min: 1, max: 3 }),
    fc.integer({ min: 1, max: 300 }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
      const w = new ReplayWindow();
      const model = new ModelWindow();
      for (const [from, inc, seq] of ops) {
        assert.equal(w.check(from, inc, seq), model.check(from, inc, seq), `${from} ${inc} ${seq}`);
      }
    }),
    { numRuns: 1000 },
  );
});

Deno.test("property: no (sender, incarnation, seq) is ever accepted twice", () => {
  const op = fc.tuple(
    fc.constantFrom("a", "b"),
    fc.integer({ min: 1, max: 2 }),
    fc.integer({ min: 1, max: 200 }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 500 }), (ops) => {
      const w = new ReplayWindow();
      const accepted = new Set<string>();
      for (const [from, inc, seq] of ops) {
        if (w.check(from, inc, seq) === "accept") {
          const id = `${from}/${inc}/${seq}`;
          assert.ok(!accepted.has(id), `accepted twice: ${id}`);
          accepted.add(id);
        }
      }
    }),
    { numRuns: 1000 },
  );
});

Deno.test("DropCounters counts by reason and in total", () => {
  const c = new DropCounters();
  assert.equal(c.total(), 0);
  const empty = c.snapshot();
  assert.equal(Object.keys(empty).length, 13);
  assert.ok(Object.values(empty).every((n) => n === 0));
  c.count("bad-digest");
  c.count("bad-digest");
  c.count("replayed");
  c.count("too-short");
  const snap = c.snapshot();
  assert.equal(snap["bad-digest"], 2);
  assert.equal(snap["replayed"], 1);
  assert.equal(snap["too-short"], 1);
  assert.equal(snap["old-incarnation"], 0);
  assert.equal(c.total(), 4);
  snap["bad-digest"] = 99; // a snapshot is a copy
  assert.equal(c.snapshot()["bad-digest"], 2);
});

Deno.test("remembered incarnations reject an earlier boot after a restart of the receiver", () => {
  const before = new ReplayWindow();
  assert.equal(before.check("a", 4, 17), "accept");
  assert.equal(before.check("b", 2, 3), "accept");
  const persisted = before.incarnations();
  assert.deepEqual(persisted, { a: 4, b: 2 });

  const after = new ReplayWindow();
  for (const [from, inc] of Object.entries(persisted)) after.remember(from, inc);
  assert.equal(after.check("a", 3, 500), "old-incarnation"); // a frame of a's previous boot
  assert.equal(after.check("a", 4, 1), "accept"); // the current boot, any seq once
  assert.equal(after.check("a", 4, 1), "duplicate");
  after.remember("a", 2); // older than known: no effect
  assert.equal(after.check("a", 3, 1), "old-incarnation");
  assert.throws(() => after.remember("a", 0), RangeError);
});
