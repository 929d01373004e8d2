import assert from "node:assert/strict";
import { LinkMonitor } from "../../core/messaging/link_monitor.ts";
import { isLinkMessage, linkMessageSchema } from "../../core/messaging/link_messages.ts";

const opts = { links: ["eth0", "eth1"], deadtimeMs: 500, probeIntervalMs: 1000 };

Deno.test("link monitor: each link goes up and down on its own", () => {
  const m = new LinkMonitor(opts);
  assert.deepEqual(m.heard("eth0", "n2", "10.0.0.2:694", 0), [
    { type: "link-up", link: "eth0", peer: "n2" },
  ]);
  assert.deepEqual(m.heard("eth1", "n2", "10.1.0.2:694", 10), [
    { type: "link-up", link: "eth1", peer: "n2" },
  ]);
  assert.deepEqual(m.heard("eth0", "n2", "10.0.0.2:694", 100), []);
  // eth1 falls silent; eth0 keeps hearing n2.
  for (let t = 200; t <= 600; t += 100) m.heard("eth0", "n2", "10.0.0.2:694", t);
  assert.deepEqual(m.tick(509), []);
  assert.deepEqual(m.tick(510), [{ type: "link-down", link: "eth1", peer: "n2" }]);
  assert.deepEqual(m.tick(900), []);
  const snap = m.snapshot(900);
  assert.equal(snap[0].up, true);
  assert.equal(snap[1].up, false);
  assert.equal(snap[1].peers[0].lastHeardAgoMs, 890);
  assert.equal(snap[0].peers[0].packetsIn, 7);
  assert.equal(m.sourceOf("eth0", "n2"), "10.0.0.2:694");
  assert.equal(m.sourceOf("eth1", "n2"), undefined, "no address on a link that is down");
  assert.deepEqual(m.heard("eth1", "n2", "10.1.0.2:694", 950), [
    { type: "link-up", link: "eth1", peer: "n2" },
  ]);
});

Deno.test("link monitor: round-trip estimate is smoothed and ignores bogus echoes", () => {
  const m = new LinkMonitor(opts);
  m.heard("eth0", "n2", "a", 0);
  assert.equal(m.snapshot(0)[0].peers[0].rttMs, null);
  m.echoed("eth0", "n2", 100, 108);
  assert.equal(m.snapshot(108)[0].peers[0].rttMs, 8);
  m.echoed("eth0", "n2", 200, 216); // 8 + (16 - 8) / 8 = 9
  assert.equal(m.snapshot(216)[0].peers[0].rttMs, 9);
  m.echoed("eth0", "n2", 500, 400); // from the future
  m.echoed("eth0", "n2", 0, 100_000); // absurdly old
  m.echoed("eth0", "n9", 100, 101); // unknown peer
  m.echoed("eth9", "n2", 100, 101); // unknown link
  assert.equal(m.snapshot(216)[0].peers[0].rttMs, 9);
});

Deno.test("link monitor: probes are due once per interval; deadlines are exact", () => {
  const m = new LinkMonitor(opts);
  // Nobody heard yet: probe at the fast rate (a fifth of the interval).
  assert.equal(m.probeDue(0), true);
  assert.equal(m.probeDue(199), false);
  assert.equal(m.nextDeadline(), 200);
  m.heard("eth0", "n2", "a", 100);
  m.echoed("eth0", "n2", 0, 5);
  m.heard("eth1", "n2", "b", 100);
  m.echoed("eth1", "n2", 0, 6);
  assert.equal(m.probeDue(200), true);
  assert.equal(m.probeDue(999), false);
  assert.equal(m.probeDue(1200), true);
  assert.equal(m.nextDeadline(), 600, "n2 would be dead at 100 + 500");
  m.heard("eth0", "n2", "a", 1900);
  m.heard("eth1", "n2", "b", 1900);
  assert.equal(m.nextDeadline(), 2200);
  // A peer without a round-trip estimate is probed five times as often...
  m.heard("eth0", "n3", "c", 2200);
  m.heard("eth1", "n3", "d", 2200);
  assert.equal(m.probeDue(2200), true);
  m.heard("eth0", "n2", "a", 2300);
  m.heard("eth1", "n2", "b", 2300);
  assert.equal(m.nextDeadline(), 2400);
  m.echoed("eth0", "n3", 2200, 2204);
  m.echoed("eth1", "n3", 2200, 2205);
  // ... until it has one.
  assert.equal(m.probeDue(2400), true);
  assert.equal(m.nextDeadline(), 2700, "n3's dead time comes before the next probe");
  assert.throws(() => m.heard("wlan0", "n2", "a", 0), /unknown link wlan0/);
});

Deno.test("link monitor: the number of peers per link is bounded", () => {
  const m = new LinkMonitor({ ...opts, maxPeers: 3 });
  for (let i = 0; i < 10; i++) m.heard("eth0", `n${i}`, "a", i);
  assert.equal(m.snapshot(10)[0].peers.length, 3);
});

Deno.test("link messages: probes and echoes are validated strictly", () => {
  assert.ok(linkMessageSchema.safeParse({ type: "link-probe", t: 12.5 }).success);
  assert.ok(linkMessageSchema.safeParse({ type: "link-echo", t: 0 }).success);
  assert.ok(!linkMessageSchema.safeParse({ type: "link-echo", t: "x" }).success);
  assert.ok(!linkMessageSchema.safeParse({ type: "link-probe", t: 1, x: 1 }).success);
  assert.equal(isLinkMessage({ type: "link-probe" }), true);
  assert.equal(isLinkMessage({ type: "hb" }), false);
  assert.equal(isLinkMessage(null), false);
});
