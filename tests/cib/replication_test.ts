/**
 * Unit tests of CIB replication: stamps, forwarding, majority counting with
 * configured nodes, refusal without quorum, sync on join, equal-version
 * conflicts, restart from the persisted copy, retries and timeouts.
 */

import assert from "node:assert/strict";
import { z } from "zod";
import type { ReplicaView, ReplyEffect } from "../../core/cib/replication/events.ts";
import {
  type ReplicaCopy,
  type ReplicationMessage,
  replicationMessageSchema,
} from "../../core/cib/replication/messages.ts";
import { CibReplica } from "../../core/cib/replication/replica.ts";
import { canonicalDigest, canonicalJson } from "../../core/cib/replication/digest.ts";
import { type CibDocument, cibDocumentSchema } from "../../core/cib/schema/document.ts";
import {
  type CibStamp,
  compareStamps,
  dominates,
  majorityOf,
  versionAbove,
} from "../../core/cib/replication/stamp.ts";
import {
  initialSimDoc,
  type SimDoc,
  type SimEffect,
  type SimEvent,
  simOps,
  type SimPatch,
  type SimReplica,
  type SimStatusPatch,
} from "../sim/cib_replication_sim.ts";

type Msg = ReplicationMessage<SimDoc, SimPatch, SimStatusPatch>;
/** A patch before the cluster tags it with its request id. */
type PatchBody =
  | { op: "set"; key: string; value: number }
  | { op: "add"; id: string }
  | { op: "delete"; id: string };

const RETRY_MS = 100;
const RESEND_MS = 500;
const TIMEOUT_MS = 2000;

/** A hand-driven cluster: messages and disk writes wait until a test lets them through. */
class Cluster {
  readonly replicas = new Map<string, SimReplica>();
  /** Messages sent and not yet delivered, in order. */
  inbox: { from: string; to: string; message: Msg }[] = [];
  /** Per node, copies asked to be persisted and not yet written. */
  readonly writes = new Map<string, { copy: ReplicaCopy<SimDoc>; stamp: CibStamp }[]>();
  /** Per node, its disk. */
  readonly disks = new Map<string, ReplicaCopy<SimDoc>>();
  readonly replies: ReplyEffect[] = [];
  readonly logs: string[] = [];
  now = 0;

  constructor(copies: Record<string, ReplicaCopy<SimDoc>>) {
    for (const [name, copy] of Object.entries(copies)) {
      this.disks.set(name, copy);
      this.start(name);
    }
  }

  /** (Re)starts a node from its disk, forgetting what it had not written. */
  start(name: string): SimReplica {
    const r = new CibReplica({
      self: name,
      persisted: this.disks.get(name)!,
      ops: simOps,
      retryMs: RETRY_MS,
      resendMs: RESEND_MS,
      requestTimeoutMs: TIMEOUT_MS,
    });
    this.replicas.set(name, r);
    this.writes.set(name, []);
    this.inbox = this.inbox.filter((m) => m.from !== name && m.to !== name);
    return r;
  }

  get(name: string): SimReplica {
    return this.replicas.get(name)!;
  }

  step(name: string, event: SimEvent): SimEffect[] {
    const effects = this.get(name).step(event);
    for (const e of effects) {
      if (e.type === "send") this.inbox.push({ from: name, to: e.to, message: e.message });
      else if (e.type === "persist") this.writes.get(name)!.push({ copy: e.copy, stamp: e.stamp });
      else if (e.type === "reply") this.replies.push(e);
      else if (e.type === "log") this.logs.push(`${name}: ${e.text}`);
    }
    return effects;
  }

  view(members: string[], generation: number, extra: Partial<ReplicaView> = {}): void {
    const view: ReplicaView = {
      members,
      generation,
      dc: members.slice().sort()[0],
      quorate: true,
      configured: this.replicas.size,
      ...extra,
    };
    for (const m of members) this.step(m, { type: "view", now: this.now, view });
  }

  submit(name: string, requestId: string, patch: PatchBody): void {
    this.step(name, {
      type: "submit",
      now: this.now,
      requestId,
      patch: { ...patch, tag: requestId },
    });
  }

  /** Delivers messages until none are left (or `keep` holds some back). */
  deliver(keep: (m: { from: string; to: string; message: Msg }) => boolean = () => false): void {
    for (let round = 0; round < 1000; round++) {
      const next = this.inbox.findIndex((m) => !keep(m));
      if (next < 0) return;
      const [m] = this.inbox.splice(next, 1);
      this.step(m.to, { type: "message", now: this.now, from: m.from, message: m.message });
    }
    throw new Error("messages did not settle in 1000 deliveries");
  }

  /** Writes a node's pending copies to its disk and tells it. */
  persist(name: string): void {
    const pending = this.writes.get(name)!;
    this.writes.set(name, []);
    for (const w of pending) {
      this.disks.set(name, w.copy);
      this.step(name, { type: "persisted", now: this.now, stamp: w.stamp });
    }
  }

  persistAll(): void {
    for (const name of this.replicas.keys()) this.persist(name);
  }

  tick(ms: number): void {
    this.now += ms;
    for (const name of this.replicas.keys()) this.step(name, { type: "tick", now: this.now });
  }

  reply(requestId: string): ReplyEffect | undefined {
    const found = this.replies.filter((r) => r.requestId === requestId);
    assert.ok(found.length <= 1, `${requestId} got ${found.length} replies`);
    return found[0];
  }
}

function fresh(): ReplicaCopy<SimDoc> {
  return { term: 0, doc: initialSimDoc() };
}

/** A copy with the given term, epoch, num_updates and options. */
function copyWith(
  term: number,
  epoch: number,
  numUpdates: number,
  options: Record<string, number>,
): ReplicaCopy<SimDoc> {
  const doc = initialSimDoc();
  return {
    term,
    doc: {
      ...doc,
      version: { adminEpoch: 0, epoch, numUpdates },
      config: { ...doc.config, options, applied: Object.keys(options) },
    },
  };
}

function stampOf(copy: ReplicaCopy<SimDoc>): CibStamp {
  return { term: copy.term, version: copy.doc.version, digest: simOps.digest(copy.doc) };
}

function threeNodes(): Cluster {
  return new Cluster({ n1: fresh(), n2: fresh(), n3: fresh() });
}

// ---- stamps ---------------------------------------------------------------

Deno.test("stamps order by term, then version triple, then digest", () => {
  const v = (epoch: number, numUpdates = 0) => ({ adminEpoch: 0, epoch, numUpdates });
  const a: CibStamp = { term: 4, version: v(6), digest: "aa" };
  const b: CibStamp = { term: 3, version: v(7, 2), digest: "bb" };
  assert.ok(compareStamps(a, b) > 0, "a later term wins over a greater triple");
  assert.equal(dominates(a, b), false, "but it cannot replace b: its triple is smaller");
  const c: CibStamp = { term: 4, version: v(6), digest: "ab" };
  assert.ok(compareStamps(c, a) > 0, "equal term and triple: the digest decides");
  assert.ok(dominates(c, a), "an equal triple may be replaced");
  assert.equal(compareStamps(a, { ...a }), 0);
  assert.equal(dominates(a, a), false, "a copy does not dominate itself");
});

Deno.test("versionAbove is above every version given; majorityOf counts configured nodes", () => {
  const above = versionAbove([
    { adminEpoch: 0, epoch: 9, numUpdates: 4 },
    { adminEpoch: 1, epoch: 2, numUpdates: 0 },
  ]);
  assert.deepEqual(above, { adminEpoch: 1, epoch: 3, numUpdates: 0 });
  assert.throws(() => versionAbove([]), /at least one/);
  assert.deepEqual([1, 2, 3, 4, 5].map(majorityOf), [1, 2, 2, 3, 3]);
  assert.throws(() => majorityOf(0), /positive integer/);
});

// ---- forwarding and majority ------------------------------------------------

Deno.test("a change submitted on a member is forwarded and acknowledged after a majority persisted", () => {
  const c = threeNodes();
  c.view(["n1", "n2", "n3"], 1);
  c.deliver();
  c.persistAll();
  c.submit("n2", "n2-1", { op: "add", id: "web" });
  assert.deepEqual(
    c.inbox.map((m) => [m.from, m.to, m.message.type]),
    [["n2", "n1", "cib-update"]],
    "the member forwards to the DC",
  );
  c.deliver();
  assert.deepEqual(c.get("n3").doc.config.resources, ["web"], "the DC sent the new copy out");
  c.persist("n1");
  c.deliver();
  assert.equal(c.reply("n2-1"), undefined, "1 of 3 persisted: no answer yet");
  c.persist("n3");
  c.deliver();
  const r = c.reply("n2-1");
  assert.ok(r?.ok, `acknowledged: ${JSON.stringify(r)}`);
  assert.equal(r.origin, "n2");
  assert.deepEqual(r.version, { adminEpoch: 0, epoch: 1, numUpdates: 0 });
  assert.equal(r.stamp.term, 1, "written in generation 1");
});

Deno.test("acknowledgement needs a majority of the configured nodes, not of the members", () => {
  const c = new Cluster({ n1: fresh(), n2: fresh(), n3: fresh(), n4: fresh(), n5: fresh() });
  c.view(["n1", "n2", "n3"], 1, { configured: 5 });
  c.deliver();
  c.submit("n1", "n1-1", { op: "set", key: "a", value: 1 });
  c.deliver();
  c.persist("n1");
  c.persist("n2");
  c.deliver();
  assert.equal(
    c.reply("n1-1"),
    undefined,
    "2 of 5 configured persisted: a majority of members only",
  );
  c.persist("n3");
  c.deliver();
  assert.ok(c.reply("n1-1")?.ok, "3 of 5 configured persisted");
});

Deno.test("configuration changes are refused at once without quorum or without enough members", () => {
  const c = new Cluster({ n1: fresh(), n2: fresh(), n3: fresh(), n4: fresh(), n5: fresh() });
  c.submit("n3", "n3-0", { op: "set", key: "a", value: 1 });
  const noView = c.reply("n3-0");
  assert.ok(noView && !noView.ok && noView.outcome === "refused");
  assert.match(noView.error, /no agreed membership/);

  c.view(["n1", "n2"], 1, { quorate: false, configured: 5 });
  c.submit("n2", "n2-1", { op: "set", key: "a", value: 1 });
  const r = c.reply("n2-1");
  assert.ok(r && !r.ok);
  assert.equal(r.outcome, "refused");
  assert.match(r.error, /no quorum/);
  assert.deepEqual(c.inbox.filter((m) => m.message.type === "cib-update"), [], "nothing sent");

  // Quorate by some other rule (a quorum device) but too few to hold a majority of copies.
  c.view(["n1", "n2"], 2, { quorate: true, configured: 5 });
  c.submit("n1", "n1-1", { op: "set", key: "a", value: 1 });
  const r2 = c.reply("n1-1");
  assert.ok(r2 && !r2.ok && r2.outcome === "refused");
  assert.match(r2.error, /too few members .* 2 of 5 .* 3 needed/);
});

Deno.test("a patch that does not apply is refused with its error", () => {
  const c = threeNodes();
  c.view(["n1", "n2", "n3"], 1);
  c.deliver();
  c.submit("n3", "n3-1", { op: "delete", id: "nope" });
  c.deliver();
  const r = c.reply("n3-1");
  assert.ok(r && !r.ok && r.outcome === "refused");
  assert.match(r.error, /no such resource/);
  assert.equal(c.get("n1").doc.version.epoch, 0, "nothing written");
});

Deno.test("a change sent to a node that is not the DC is refused, not lost", () => {
  const c = threeNodes();
  c.view(["n1", "n2", "n3"], 1);
  c.deliver();
  c.step("n2", {
    type: "message",
    now: 0,
    from: "n3",
    message: {
      type: "cib-update",
      gen: 1,
      requestId: "n3-9",
      patch: { tag: "n3-9", op: "set", key: "a", value: 1 },
    },
  });
  const out = c.inbox.find((m) => m.from === "n2" && m.to === "n3");
  assert.ok(out && out.message.type === "cib-result" && !out.message.result.ok);
  assert.equal(out.message.result.outcome, "refused");
});

// ---- sync ----------------------------------------------------------------

Deno.test("on a join the newest copy wins and updates wait for the sync", () => {
  const newest = copyWith(2, 3, 1, { x: 1 });
  const c = new Cluster({ n1: copyWith(1, 2, 0, { old: 1 }), n2: fresh(), n3: newest });
  c.view(["n1", "n2", "n3"], 3);
  // The DC orders nothing before it has heard every member.
  c.submit("n1", "n1-1", { op: "set", key: "y", value: 2 });
  assert.equal(c.get("n1").pending.queued, 1, "queued until the sync is done");
  assert.equal(c.get("n1").phase, "collecting");
  c.deliver();
  assert.equal(c.get("n1").phase, "ready");
  c.persistAll();
  c.deliver();
  for (const n of ["n1", "n2", "n3"]) {
    const doc = c.get(n).doc;
    assert.deepEqual(doc.config.options, { x: 1, y: 2 }, `${n} holds n3's copy plus the change`);
    assert.deepEqual(doc.version, { adminEpoch: 0, epoch: 4, numUpdates: 0 });
  }
  assert.ok(c.reply("n1-1")?.ok);
});

Deno.test("equal versions with different content: the later term wins and is re-stamped above both", () => {
  // n1 wrote epoch 5 in generation 2 without a majority; n2 and n3 hold the
  // acknowledged epoch 5 of generation 3.
  const lost = copyWith(2, 5, 0, { lost: 1 });
  const acked = copyWith(3, 5, 0, { acked: 1 });
  const c = new Cluster({ n1: lost, n2: acked, n3: acked });
  c.view(["n1", "n2", "n3"], 4);
  c.deliver();
  c.persistAll();
  c.deliver();
  for (const n of ["n1", "n2", "n3"]) {
    const r = c.get(n);
    assert.deepEqual(r.doc.config.options, { acked: 1 }, `${n} holds the acknowledged content`);
    assert.deepEqual(r.doc.version, { adminEpoch: 0, epoch: 6, numUpdates: 0 }, "re-stamped");
    assert.equal(r.stamp.term, 4);
  }
  assert.ok(c.logs.some((l) => /re-stamped/.test(l)));
});

Deno.test("a higher triple of an older term loses the sync without any version going backwards", () => {
  // n1 (a DC that lost its majority) went on to epoch 7 and status updates.
  const stale = copyWith(2, 7, 3, { stale: 1 });
  const acked = copyWith(3, 6, 0, { acked: 1 });
  const c = new Cluster({ n1: stale, n2: acked, n3: acked });
  c.view(["n1", "n2", "n3"], 5);
  c.deliver();
  const v = c.get("n1").doc.version;
  assert.deepEqual(c.get("n1").doc.config.options, { acked: 1 });
  assert.deepEqual(v, { adminEpoch: 0, epoch: 8, numUpdates: 0 }, "above 0.7.3");
});

Deno.test("a DC without quorum neither adopts nor sends a copy that would go backwards", () => {
  const stale = copyWith(2, 6, 3, { stale: 1 });
  const acked = copyWith(3, 5, 0, { acked: 1 });
  const c = new Cluster({ n1: stale, n2: acked, n3: fresh(), n4: fresh(), n5: fresh() });
  c.view(["n1", "n2"], 6, { quorate: false, configured: 5 });
  c.deliver();
  assert.equal(c.get("n1").phase, "ready");
  assert.equal(c.get("n1").authoritative, false);
  assert.deepEqual(c.get("n1").doc.config.options, { stale: 1 }, "kept: 0.5.0 is below 0.6.3");
  assert.deepEqual(c.get("n2").doc.config.options, { acked: 1 }, "kept: newer by term");
  // Status still flows in the minority, to members it can reach without going backwards.
  c.step("n1", { type: "status", now: 0, patch: { node: "n1" } });
  assert.equal(c.get("n1").doc.version.numUpdates, 4);
  assert.equal(c.inbox.filter((m) => m.message.type === "cib-doc").length, 0);
});

// ---- status updates --------------------------------------------------------

Deno.test("status updates go to the DC and out to members without a reply", () => {
  const c = threeNodes();
  c.view(["n1", "n2", "n3"], 1);
  c.deliver();
  c.step("n3", { type: "status", now: 0, patch: { node: "n3" } });
  c.deliver();
  for (const n of ["n1", "n2", "n3"]) {
    assert.deepEqual(c.get(n).doc.status.ops, { n3: 1 });
    assert.deepEqual(c.get(n).doc.version, { adminEpoch: 0, epoch: 0, numUpdates: 1 });
  }
  assert.equal(c.replies.length, 0);
});

// ---- failures ---------------------------------------------------------------

Deno.test("a DC that loses quorum answers its pending changes 'unknown', exactly once", () => {
  const c = threeNodes();
  c.view(["n1", "n2", "n3"], 1);
  c.deliver();
  c.submit("n1", "n1-1", { op: "set", key: "a", value: 1 });
  c.submit("n2", "n2-1", { op: "set", key: "b", value: 2 });
  c.deliver();
  c.persist("n1");
  // n1 is cut off before anyone else persisted.
  c.view(["n1"], 2, { quorate: false });
  c.view(["n2", "n3"], 2);
  c.deliver();
  for (const id of ["n1-1", "n2-1"]) {
    const r = c.reply(id);
    assert.ok(r && !r.ok, `${id} answered`);
    assert.equal(r.outcome, "unknown");
    assert.match(r.error, /may or may not/);
  }
});

Deno.test("an acknowledged change survives its DC and is never answered twice", () => {
  const c = threeNodes();
  c.view(["n1", "n2", "n3"], 1);
  c.deliver();
  c.submit("n3", "n3-1", { op: "add", id: "db" });
  c.deliver();
  c.persist("n1");
  c.persist("n2");
  c.deliver();
  assert.ok(c.reply("n3-1")?.ok);
  // n1 dies; n3 never persisted; the survivors sync from n2.
  c.start("n1");
  c.view(["n2", "n3"], 2, { configured: 3 });
  c.deliver();
  c.persistAll();
  c.deliver();
  assert.deepEqual(c.get("n3").doc.config.resources, ["db"]);
  assert.equal(c.replies.filter((r) => r.requestId === "n3-1").length, 1);
});

Deno.test("a restarted replica comes back with what it persisted and catches up", () => {
  const c = threeNodes();
  c.view(["n1", "n2", "n3"], 1);
  c.deliver();
  c.submit("n1", "n1-1", { op: "set", key: "a", value: 1 });
  c.deliver();
  c.persist("n1");
  c.persist("n2");
  c.deliver();
  c.submit("n1", "n1-2", { op: "set", key: "a", value: 2 });
  c.deliver();
  c.persist("n1");
  c.persist("n3");
  c.deliver();
  // n2 held epoch 2 in memory but had persisted only epoch 1.
  assert.equal(c.get("n2").doc.version.epoch, 2);
  const restarted = c.start("n2");
  assert.equal(restarted.doc.version.epoch, 1, "restarts from its disk");
  assert.deepEqual(restarted.persistedStamp, restarted.stamp);
  c.view(["n1", "n2", "n3"], 2);
  c.deliver();
  assert.equal(c.get("n2").doc.version.epoch, 2, "caught up from the DC");
  assert.deepEqual(c.get("n2").doc.config.options, { a: 2 });
});

Deno.test("messages of another generation are ignored", () => {
  const c = threeNodes();
  c.view(["n1", "n2", "n3"], 5);
  c.deliver();
  const before = c.get("n2").stamp;
  c.step("n2", {
    type: "message",
    now: 0,
    from: "n1",
    message: { type: "cib-doc", gen: 4, copy: copyWith(4, 9, 0, { old: 1 }) },
  });
  assert.deepEqual(c.get("n2").stamp, before);
});

// ---- retries and timeouts -----------------------------------------------------

Deno.test("the DC asks again for a lost report and sends its copy again when not acked", () => {
  const c = threeNodes();
  c.view(["n1", "n2", "n3"], 1);
  // n3's report and n1's question to n3 are lost.
  c.inbox = c.inbox.filter((m) => m.from !== "n3" && m.to !== "n3");
  c.deliver();
  assert.equal(c.get("n1").phase, "collecting");
  c.tick(RETRY_MS);
  c.deliver();
  assert.equal(c.get("n1").phase, "ready", "the retry brought n3's report");

  c.submit("n1", "n1-1", { op: "set", key: "a", value: 1 });
  c.inbox = c.inbox.filter((m) => m.to !== "n3"); // the new copy to n3 is lost
  c.deliver();
  c.persist("n1");
  c.tick(RESEND_MS);
  assert.ok(
    c.inbox.some((m) => m.to === "n3" && m.message.type === "cib-doc"),
    "sent again after resendMs",
  );
  c.deliver();
  c.persist("n3");
  c.deliver();
  assert.ok(c.reply("n1-1")?.ok);
});

Deno.test("a forwarded change without an outcome times out as 'unknown'", () => {
  const c = threeNodes();
  c.view(["n1", "n2", "n3"], 1);
  c.deliver();
  c.submit("n2", "n2-1", { op: "set", key: "a", value: 1 });
  c.inbox = []; // the DC never hears of it
  c.tick(TIMEOUT_MS - 1);
  assert.equal(c.reply("n2-1"), undefined);
  c.tick(1);
  const r = c.reply("n2-1");
  assert.ok(r && !r.ok && r.outcome === "unknown");
  assert.match(r.error, /no outcome from DC n1/);
});

Deno.test("a second request with an open id is ignored, not answered twice", () => {
  const c = threeNodes();
  c.view(["n1", "n2", "n3"], 1);
  c.deliver();
  c.submit("n2", "dup", { op: "set", key: "a", value: 1 });
  c.submit("n2", "dup", { op: "set", key: "a", value: 2 });
  assert.equal(c.inbox.filter((m) => m.message.type === "cib-update").length, 1);
  assert.ok(c.logs.some((l) => /still open/.test(l)));
});

Deno.test("time going backwards is a bug the replica reports", () => {
  const c = threeNodes();
  c.tick(10);
  assert.throws(() => c.step("n1", { type: "tick", now: 5 }), /time went backwards/);
});

// ---- message schema ---------------------------------------------------------

Deno.test("the message schema accepts replication messages and names bad fields", () => {
  const patch = z.strictObject({
    tag: z.string(),
    op: z.literal("set"),
    key: z.string(),
    value: z.number(),
  });
  const schema = replicationMessageSchema(
    z.unknown() as z.ZodType<SimDoc>,
    patch as unknown as z.ZodType<SimPatch>,
    z.strictObject({ node: z.string() }),
  );
  const stamp = stampOf(fresh());
  assert.ok(schema.safeParse({ type: "cib-ack", gen: 3, stamp }).success);
  assert.ok(
    schema.safeParse({
      type: "cib-result",
      gen: 1,
      requestId: "n1-1",
      result: { ok: false, outcome: "unknown", error: "x" },
    }).success,
  );
  const bad = schema.safeParse({ type: "cib-ack", gen: -1, stamp });
  assert.equal(bad.success, false);
  assert.deepEqual(bad.error!.issues[0].path, ["gen"]);
  const badPatch = schema.safeParse({
    type: "cib-update",
    gen: 1,
    requestId: "a",
    patch: { op: "x" },
  });
  assert.equal(badPatch.success, false);
  assert.equal(badPatch.error!.issues[0].path[0], "patch");
});

// ---- digest -------------------------------------------------------------------

Deno.test("the canonical digest ignores key order but not content", () => {
  assert.equal(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] }), '{"a":[{"c":3,"d":2}],"b":1}');
  assert.equal(canonicalJson({ a: undefined, b: [undefined] }), '{"b":[null]}');
  const one = { version: { epoch: 1, adminEpoch: 0 }, config: { x: "y" } };
  const two = { config: { x: "y" }, version: { adminEpoch: 0, epoch: 1 } };
  assert.equal(canonicalDigest(one), canonicalDigest(two));
  assert.match(canonicalDigest(one), /^[0-9a-f]{64}$/);
  assert.notEqual(canonicalDigest(one), canonicalDigest({ ...two, config: { x: "z" } }));
  assert.throws(() => canonicalJson(() => 1), /cannot encode a function/);
  const deep: Record<string, unknown> = {};
  let at = deep;
  for (let i = 0; i < 70; i++) at = (at.x = {}) as Record<string, unknown>;
  assert.throws(() => canonicalJson(deep), /nested deeper/);
});

Deno.test("the message schema takes the real CIB document schema", () => {
  const schema = replicationMessageSchema(
    cibDocumentSchema,
    z.strictObject({ set: z.string() }),
    z.strictObject({ node: z.string() }),
  );
  const doc: CibDocument = cibDocumentSchema.parse({});
  const ok = schema.safeParse({ type: "cib-doc", gen: 2, copy: { term: 2, doc } });
  assert.ok(ok.success);
  const bad = schema.safeParse({
    type: "cib-doc",
    gen: 2,
    copy: { term: 2, doc: { ...doc, version: { adminEpoch: 0, epoch: -1, numUpdates: 0 } } },
  });
  assert.equal(bad.success, false);
  assert.deepEqual(bad.error!.issues[0].path, ["copy", "doc", "version", "epoch"]);
  // A replica over the real document type, with the canonical digest.
  const replica = new CibReplica<CibDocument, { set: string }, { node: string }>({
    self: "n1",
    persisted: { term: 0, doc },
    ops: {
      applyConfig: (config) => ({ ok: true, config }),
      applyStatus: (status) => status,
      digest: canonicalDigest,
    },
  });
  const effects = replica.step({
    type: "view",
    now: 0,
    view: { members: ["n1"], generation: 1, dc: "n1", quorate: true, configured: 1 },
  });
  assert.equal(replica.phase, "ready", "a single node syncs with itself");
  assert.deepEqual(effects, []);
  replica.step({ type: "submit", now: 1, requestId: "r1", patch: { set: "x" } });
  const persisted = replica.stamp;
  assert.equal(persisted.version.epoch, 1);
  const out = replica.step({ type: "persisted", now: 2, stamp: persisted });
  const reply = out.find((e) => e.type === "reply");
  assert.ok(
    reply?.type === "reply" && reply.ok,
    "one configured node: its own disk is the majority",
  );
});
