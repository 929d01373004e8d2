import assert from "node:assert/strict";
import { Liveness } from "../../core/messaging/liveness.ts";

Deno.test("first heartbeat means the peer came up; later ones do not", () => {
  const live = new Liveness({ deadtimeMs: 500, warntimeMs: 300 });
  assert.equal(live.isAlive("n2"), false);
  assert.equal(live.heard("n2", 0), true);
  assert.equal(live.isAlive("n2"), true);
  assert.equal(live.heard("n2", 100), false);
  assert.equal(live.lastHeard("n2"), 100);
});

Deno.test("a peer is dead after exactly deadtime of silence, not before", () => {
  const live = new Liveness({ deadtimeMs: 500, warntimeMs: 0 });
  live.heard("n2", 1000);
  assert.deepEqual(live.tick(1499), { dead: [], late: [] });
  assert.equal(live.isAlive("n2"), true);
  assert.deepEqual(live.tick(1500).dead, ["n2"]);
  assert.equal(live.isAlive("n2"), false);
  assert.equal(live.lastHeard("n2"), undefined);
  // Declared dead once only.
  assert.deepEqual(live.tick(5000).dead, []);
});

Deno.test("a heartbeat restarts the silence", () => {
  const live = new Liveness({ deadtimeMs: 500, warntimeMs: 0 });
  live.heard("n2", 0);
  live.heard("n2", 400);
  assert.deepEqual(live.tick(899).dead, []);
  assert.deepEqual(live.tick(900).dead, ["n2"]);
});

Deno.test("a late peer is reported once per silence", () => {
  const live = new Liveness({ deadtimeMs: 500, warntimeMs: 300 });
  live.heard("n2", 0);
  assert.deepEqual(live.tick(299).late, []);
  assert.deepEqual(live.tick(300), { dead: [], late: ["n2"] });
  assert.deepEqual(live.tick(400).late, [], "not reported twice in the same silence");
  live.heard("n2", 450);
  assert.deepEqual(live.tick(700).late, []);
  assert.deepEqual(live.tick(750).late, ["n2"], "a new silence is reported again");
  assert.deepEqual(live.tick(950), { dead: ["n2"], late: [] });
});

Deno.test("warntime 0 disables late reports", () => {
  const live = new Liveness({ deadtimeMs: 500, warntimeMs: 0 });
  live.heard("n2", 0);
  for (const t of [1, 100, 300, 499]) assert.deepEqual(live.tick(t).late, []);
});

Deno.test("a dead peer heard again comes up again", () => {
  const live = new Liveness({ deadtimeMs: 500, warntimeMs: 0 });
  live.heard("n2", 0);
  live.tick(500);
  assert.equal(live.heard("n2", 600), true);
  assert.equal(live.isAlive("n2"), true);
});

Deno.test("forget drops a peer and its warning state", () => {
  const live = new Liveness({ deadtimeMs: 500, warntimeMs: 300 });
  live.heard("n2", 0);
  live.heard("n3", 0);
  live.tick(300); // both warned
  live.forget("n2");
  assert.equal(live.isAlive("n2"), false);
  assert.deepEqual(live.alive(), ["n3"]);
  assert.deepEqual(live.tick(600).dead, ["n3"], "a forgotten peer is never declared dead");
  assert.equal(live.heard("n2", 700), true, "it comes up again when heard");
  assert.deepEqual(live.tick(1000).late, ["n2"], "and its late warning starts over");
});

Deno.test("alive lists peers sorted, whatever the order they were heard in", () => {
  const live = new Liveness({ deadtimeMs: 500, warntimeMs: 0 });
  for (const peer of ["n3", "a9", "n1", "b2"]) live.heard(peer, 0);
  assert.deepEqual(live.alive(), ["a9", "b2", "n1", "n3"]);
  live.heard("n3", 300);
  assert.deepEqual(live.tick(500).dead.sort(), ["a9", "b2", "n1"]);
  assert.deepEqual(live.alive(), ["n3"]);
});

Deno.test("deadtime must be positive", () => {
  assert.throws(() => new Liveness({ deadtimeMs: 0, warntimeMs: 0 }), RangeError);
  assert.throws(() => new Liveness({ deadtimeMs: -5, warntimeMs: 0 }), RangeError);
});

Deno.test("liveness: the next deadline is the earliest warn, then dead, time", () => {
  const live = new Liveness({ deadtimeMs: 500, warntimeMs: 300 });
  assert.equal(live.nextDeadline(), null);
  live.heard("a", 0);
  live.heard("b", 100);
  assert.equal(live.nextDeadline(), 300);
  assert.deepEqual(live.tick(300).late, ["a"]);
  assert.equal(live.nextDeadline(), 400, "b's warn time comes before a's dead time");
  live.tick(400);
  assert.equal(live.nextDeadline(), 500);
  assert.deepEqual(live.tick(500).dead, ["a"]);
  assert.equal(live.nextDeadline(), 600);
});
