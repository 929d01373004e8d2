import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { readFileSync } from "node:fs";
import {
  buildAckFields,
  buildRepnodesFields,
  buildStatusFields,
  type HbPeerEvent,
  HeartbeatPeers,
  parseHbHex,
} from "../../core/compat/heartbeat_peers.ts";
import { parseAuthkeys } from "../../core/wire/authkeys.ts";
import { hbSigner, verifyHbPacket } from "../../core/wire/heartbeat_auth.ts";
import {
  type HbField,
  hbFieldText,
  hbString,
  parseHbPacket,
  signHbNetstring,
} from "../../core/wire/heartbeat_message.ts";

/** A message from `src` with the given fields (strings only), as the tracker sees it. */
function msg(fields: Record<string, string>): { fields: HbField[] } {
  return { fields: Object.entries(fields).map(([k, v]) => hbString(k, v)) };
}

function status(
  src: string,
  seq: number,
  opts: { st?: string; hg?: number; dt?: number | null } = {},
): { fields: HbField[] } {
  const f: Record<string, string> = { t: "status", st: opts.st ?? "active" };
  if (opts.dt !== null) f.dt = (opts.dt ?? 2000).toString(16);
  f.src = src;
  f.seq = seq.toString(16);
  f.hg = (opts.hg ?? 0x10).toString(16);
  f.ts = "6b020477";
  return msg(f);
}

function types(events: readonly HbPeerEvent[]): string[] {
  return events.map((e) => `${e.type}:${e.node}`);
}

Deno.test("tracker: up on first status, status changes, snapshot", () => {
  const peers = new HeartbeatPeers({ deadtimeMs: 5000 });
  let r = peers.receive(status("hb1", 1, { st: "init", dt: 3000 }), 1000);
  assert.equal(r.outcome, "accepted");
  assert.deepEqual(r.events, [{
    type: "up",
    node: "hb1",
    status: "init",
    generation: 16,
    at: 1000,
  }]);
  r = peers.receive(status("hb1", 2, { st: "up", dt: 3000 }), 1200);
  assert.deepEqual(r.events, [{ type: "status", node: "hb1", from: "init", to: "up", at: 1200 }]);
  r = peers.receive(status("hb1", 3, { st: "up", dt: 3000 }), 1400);
  assert.deepEqual(r.events, [], "same status: no event");
  assert.deepEqual(peers.snapshot(1500), [{
    name: "hb1",
    status: "up",
    generation: 16,
    lastSeq: 3,
    lastHeardAgoMs: 100,
    deadtimeMs: 3000,
    uuid: null,
  }]);
  assert.deepEqual(peers.alive(), ["hb1"]);
});

Deno.test("tracker: a node is declared dead after ITS advertised dt, not the configured one", () => {
  const peers = new HeartbeatPeers({ deadtimeMs: 10_000 });
  peers.receive(status("fast", 1, { dt: 2000 }), 0);
  peers.receive(status("plain", 1, { dt: null }), 0);
  assert.deepEqual(peers.tick(2000), [], "exactly dt of silence is not yet dead");
  const dead = peers.tick(2001);
  assert.deepEqual(dead, [{
    type: "dead",
    node: "fast",
    reason: "timeout",
    silentMs: 2001,
    deadtimeMs: 2000,
    at: 2001,
  }]);
  assert.deepEqual(peers.tick(5000), [], "dead is reported once");
  assert.deepEqual(types(peers.tick(10_001)), ["dead:plain"], "no dt: configured deadtime");
  assert.deepEqual(peers.snapshot(10_001).map((s) => [s.name, s.status, s.deadtimeMs]), [
    ["fast", "dead", 2000],
    ["plain", "dead", 10_000],
  ]);
  assert.deepEqual(peers.alive(), []);
  // A raised dt (heartbeat raises it while resource scripts run) extends the timer.
  peers.receive(status("fast", 2, { dt: 8000 }), 20_000);
  assert.deepEqual(peers.tick(27_000), []);
  assert.deepEqual(types(peers.tick(28_001)), ["dead:fast"]);
});

Deno.test("tracker: lower hg is a replay, dropped and counted", () => {
  const peers = new HeartbeatPeers({ deadtimeMs: 2000 });
  peers.receive(status("hb1", 5, { hg: 0x20 }), 0);
  const r = peers.receive(status("hb1", 6, { hg: 0x1f }), 100);
  assert.deepEqual(r, { outcome: "replay", events: [] });
  assert.equal(peers.snapshot(100)[0].lastSeq, 5, "replay did not advance seq");
  assert.equal(peers.snapshot(100)[0].lastHeardAgoMs, 100, "replay did not refresh liveness");
  assert.equal(peers.counters().replay, 1);
});

Deno.test("tracker: higher hg is a restart: event, seq tracking starts over", () => {
  const peers = new HeartbeatPeers({ deadtimeMs: 2000 });
  peers.receive(status("hb1", 0x40, { hg: 0x20 }), 0);
  const r = peers.receive(status("hb1", 1, { hg: 0x21, st: "init" }), 100);
  assert.equal(r.outcome, "accepted");
  assert.deepEqual(r.events, [
    { type: "restarted", node: "hb1", fromGeneration: 0x20, toGeneration: 0x21, at: 100 },
    { type: "status", node: "hb1", from: "active", to: "init", at: 100 },
  ]);
  assert.equal(peers.snapshot(100)[0].generation, 0x21);
  assert.equal(peers.snapshot(100)[0].lastSeq, 1);
  // After being declared dead, a restart brings it up again.
  assert.deepEqual(types(peers.tick(2101)), ["dead:hb1"]);
  const back = peers.receive(status("hb1", 1, { hg: 0x22 }), 3000);
  assert.deepEqual(types(back.events), ["restarted:hb1", "up:hb1"]);
});

Deno.test("tracker: duplicates by seq are dropped and do not refresh liveness", () => {
  const peers = new HeartbeatPeers({ deadtimeMs: 1000 });
  peers.receive(status("hb1", 7), 0);
  assert.equal(peers.receive(status("hb1", 7), 500).outcome, "duplicate");
  assert.equal(peers.receive(status("hb1", 3), 600).outcome, "duplicate");
  assert.deepEqual(types(peers.tick(2001)), ["dead:hb1"], "duplicates kept nobody alive (dt 2000)");
  assert.equal(peers.counters().duplicate, 2);
  // The seq space is shared by every sequenced type; NS_* messages have none.
  assert.equal(
    peers.receive(msg({ t: "resource", src: "hb1", seq: "8", hg: "10" }), 2100).outcome,
    "accepted",
  );
  assert.equal(peers.receive(status("hb1", 8), 2200).outcome, "duplicate");
  const ack = msg({ t: "NS_ackmsg", dest: "me", ackseq: "2", src: "hb1", hg: "10" });
  assert.equal(peers.receive(ack, 2300).outcome, "accepted");
  assert.equal(peers.receive(ack, 2301).outcome, "accepted", "unsequenced: no duplicate check");
  assert.deepEqual(peers.alive(), [], "only status messages bring a node up");
});

Deno.test("tracker: shutdone and st=dead mean the node left at once", () => {
  const peers = new HeartbeatPeers({ deadtimeMs: 5000 });
  peers.receive(status("a", 1), 0);
  peers.receive(status("b", 1), 0);
  const bye = peers.receive(msg({ t: "shutdone", st: "dead", src: "a", seq: "2", hg: "10" }), 700);
  assert.deepEqual(bye.events, [{
    type: "dead",
    node: "a",
    reason: "shutdown",
    silentMs: 700,
    deadtimeMs: 2000,
    at: 700,
  }]);
  assert.deepEqual(types(peers.receive(status("b", 2, { st: "dead" }), 800).events), ["dead:b"]);
  assert.deepEqual(peers.tick(100_000), []);
});

Deno.test("tracker: malformed messages and the node bound", () => {
  const peers = new HeartbeatPeers({ deadtimeMs: 5000, maxNodes: 2 });
  const bad = [
    msg({ t: "status", st: "active", seq: "1", hg: "1" }), // no src
    msg({ st: "active", src: "x", seq: "1", hg: "1" }), // no t
    msg({ t: "status", st: "active", src: "x", seq: "1" }), // no hg
    msg({ t: "status", st: "active", src: "x", hg: "1" }), // sequenced without seq
    msg({ t: "status", st: "active", src: "x", seq: "0x1", hg: "1" }),
    msg({ t: "status", src: "x", seq: "1", hg: "1" }), // status without st
    msg({ t: "status", st: "active", dt: "0", src: "x", seq: "1", hg: "1" }),
    msg({ t: "status", st: "active", dt: "zz", src: "x", seq: "1", hg: "1" }),
    msg({ t: "status", st: "active", src: "x y", seq: "1", hg: "1" }),
    msg({ t: "status", st: "active", src: "x", seq: "1", hg: "12345678901234" }), // > 13 digits
  ];
  for (const m of bad) assert.equal(peers.receive(m, 0).outcome, "malformed", JSON.stringify(m));
  assert.equal(peers.snapshot(0).length, 0);
  peers.receive(status("a", 1), 0);
  peers.receive(status("b", 1), 0);
  assert.equal(peers.receive(status("c", 1), 0).outcome, "too-many-nodes");
  assert.deepEqual(peers.counters(), {
    accepted: 2,
    replay: 0,
    duplicate: 0,
    malformed: bad.length,
    "too-many-nodes": 1,
  });
  assert.throws(() => new HeartbeatPeers({ deadtimeMs: 0 }), RangeError);
});

Deno.test("buildStatusFields: heartbeat's field order and number formats", () => {
  const uuid = new Uint8Array(Buffer.from("38143f3b9f1545379b692040bb60b6a3", "hex"));
  const fields = buildStatusFields({
    node: "node1",
    uuid,
    status: "init",
    deadtimeMs: 8000,
    seq: 1,
    generation: 0x6b020478,
    timeSec: 0x6b020477,
    load: "0.66 0.31 0.12 2/107 11469",
    ttl: 4,
  });
  assert.deepEqual(fields.map((f) => f.name), [
    "t",
    "st",
    "dt",
    "protocol",
    "src",
    "srcuuid",
    "seq",
    "hg",
    "ts",
    "ld",
    "ttl",
  ]);
  // Signed with the lab key, these fields are byte for byte vector 1 of the capture.
  const keyring = parseAuthkeys("auth 1\n1 sha1 somesecret\n", "k");
  const bytes = signHbNetstring(fields, hbSigner(keyring.active));
  const vectors = readFileSync(
    new URL("../fixtures/heartbeat/test-vectors.txt", import.meta.url),
    "utf8",
  );
  const vector1 = /payload_hex=([0-9a-f]+)/.exec(vectors)![1];
  assert.equal(Buffer.from(bytes).toString("hex"), vector1);
  const parsed = parseHbPacket(bytes);
  assert.ok(parsed.ok);
  assert.deepEqual(verifyHbPacket(parsed.packet, keyring), { ok: true, keyId: 1 });
  assert.equal(hbFieldText(parsed.packet.fields, "dt"), "1f40");

  // And the tracker accepts what we build.
  const peers = new HeartbeatPeers({ deadtimeMs: 1000 });
  assert.deepEqual(types(peers.receive(parsed.packet, 0).events), ["up:node1"]);
  assert.equal(peers.snapshot(0)[0].uuid, "38143f3b9f1545379b692040bb60b6a3");
  assert.equal(peers.snapshot(0)[0].deadtimeMs, 8000);

  const base = {
    node: "n",
    uuid,
    status: "active",
    deadtimeMs: 1,
    seq: 1,
    generation: 0,
    timeSec: 0,
    load: "",
    ttl: 1,
  };
  assert.throws(() => buildStatusFields({ ...base, uuid: new Uint8Array(15) }), /16 bytes/);
  assert.throws(() => buildStatusFields({ ...base, seq: 0 }), /seq/);
  assert.throws(() => buildStatusFields({ ...base, node: "a b" }), /printable/);
});

/** Payload of vector `n` of the captured test vectors. */
function vectorPayload(n: number): Uint8Array {
  const text = readFileSync(
    new URL("../fixtures/heartbeat/test-vectors.txt", import.meta.url),
    "utf8",
  );
  const block = text.split(/^VECTOR /m).find((b) => b.startsWith(`${n}:`));
  assert.ok(block, `vector ${n}`);
  return new Uint8Array(Buffer.from(/payload_hex=([0-9a-f]+)/.exec(block)![1], "hex"));
}

Deno.test("buildAckFields: signed, it is byte for byte heartbeat's own NS_ackmsg (vector 2)", () => {
  const uuid = new Uint8Array(Buffer.from("38143f3b9f1545379b692040bb60b6a3", "hex"));
  const fields = buildAckFields({
    node: "node1",
    uuid,
    dest: "node1",
    destUuid: uuid,
    ackseq: 2,
    generation: 0x6b020478,
    timeSec: 0x6b020477,
    ttl: 4,
  });
  const keyring = parseAuthkeys("auth 1\n1 sha1 somesecret\n", "k");
  const bytes = signHbNetstring(fields, hbSigner(keyring.active));
  assert.equal(Buffer.from(bytes).toString("hex"), Buffer.from(vectorPayload(2)).toString("hex"));
  // Without a known uuid the destuuid field is left out; NS_ types carry no seq.
  const bare = buildAckFields({
    node: "v",
    uuid,
    dest: "h",
    ackseq: 0x1f,
    generation: 1,
    timeSec: 2,
    ttl: 3,
  });
  assert.deepEqual(bare.map((f) => f.name), [
    "t",
    "dest",
    "ackseq",
    "src",
    "srcuuid",
    "hg",
    "ts",
    "ttl",
  ]);
  assert.equal(hbFieldText(bare, "ackseq"), "1f");
  assert.throws(
    () =>
      buildAckFields({ node: "v", uuid, dest: "h", ackseq: 0, generation: 1, timeSec: 2, ttl: 3 }),
    /ackseq/,
  );
});

Deno.test("buildRepnodesFields: heartbeat's order without a nodelist; the tracker accepts it", () => {
  const uuid = new Uint8Array(16).fill(7);
  const destUuid = new Uint8Array(16).fill(9);
  const fields = buildRepnodesFields({
    node: "vigil",
    uuid,
    dest: "hb1",
    destUuid,
    seq: 0x11,
    generation: 5,
    timeSec: 6,
    load: "0.00 0.00 0.00 1/1 1",
    ttl: 3,
  });
  // Heartbeat's own repnodes (vector 9) minus nodelist, which we leave out on purpose:
  // heartbeat would drop every configured node missing from it.
  const parsed9 = parseHbPacket(vectorPayload(9));
  assert.ok(parsed9.ok);
  const heartbeatOrder = parsed9.packet.fields.map((f) => f.name).filter((n) =>
    n !== "nodelist" && n !== "auth"
  );
  assert.deepEqual(fields.map((f) => f.name), heartbeatOrder);
  assert.equal(hbFieldText(fields, "delnodelist"), " ", "heartbeat's empty list is one space");
  assert.equal(hbFieldText(fields, "seq"), "11");
  const peers = new HeartbeatPeers({ deadtimeMs: 1000 });
  assert.equal(peers.receive({ fields }, 0).outcome, "accepted");
  assert.equal(peers.snapshot(0)[0].lastSeq, 0x11);
});

Deno.test("parseHbHex: heartbeat counters", () => {
  assert.equal(parseHbHex("1f40"), 8000);
  assert.equal(parseHbHex("6B020478"), 0x6b020478);
  assert.equal(parseHbHex("fffffffffffff"), 0xfffffffffffff);
  for (const bad of [undefined, "", "0x10", "-1", "g", "12345678901234", " 1"]) {
    assert.equal(parseHbHex(bad), undefined, String(bad));
  }
});
