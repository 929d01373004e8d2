import assert from "node:assert/strict";
import type { CibUpdate } from "../../core/cib/cib_update.ts";
import { type CibDocument, cibDocumentSchema } from "../../core/cib/schema/document.ts";
import type { LrmOperation } from "../../core/lrm/lrm_state.ts";
import type { Heartbeat, Message, ReliableMessage } from "../../core/node/messages.ts";
import { type ChannelPacket, ReliableChannel } from "../../core/messaging/reliable_channel.ts";
import {
  type CibReply,
  NodeCore,
  type NodeEffect,
  type NodeEvent,
} from "../../core/node/node_core.ts";

const KEEPALIVE = 100;
const DEADTIME = 500;

/** A CIB document; resources in the node config's simple syntax (`location` scores per node). */
function makeCib(
  nodes: string[],
  resources: { id: string; agent: string; location?: Record<string, number | string> }[] = [{
    id: "web",
    agent: "dummy",
  }],
): CibDocument {
  return cibDocumentSchema.parse({
    version: { adminEpoch: 0, epoch: 1, numUpdates: 0 },
    config: {
      nodes: nodes.map((name) => ({ name })),
      resources: resources.map((r) => ({ id: r.id, agent: r.agent })),
      constraints: {
        locations: resources.flatMap((r) =>
          Object.entries(r.location ?? {}).map(([node, score]) => ({
            id: `${r.id}-on-${node}`,
            resource: r.id,
            node,
            score,
          }))
        ),
      },
    },
  });
}

function core(self: string, cib: CibDocument): NodeCore {
  return new NodeCore({ self, cib, keepaliveMs: KEEPALIVE, deadtimeMs: DEADTIME });
}

const runOps = (effects: NodeEffect[]): LrmOperation[] =>
  effects.flatMap((e) => (e.type === "run-op" ? [e.op] : []));
const sends = (effects: NodeEffect[], type?: Message["type"]) =>
  effects.flatMap((e) => (e.type === "send" && (!type || e.body.type === type) ? [e] : []));
/**
 * The packet a fresh reliable channel of `from` sends to `to` for `body`; a
 * higher `incarnation` than the receiver knows starts a new stream there.
 */
function reliable(from: string, to: string, body: ReliableMessage, incarnation = 1): ChannelPacket {
  const ch = new ReliableChannel({ self: from, incarnation });
  ch.send(to, body, 0);
  const [first] = ch.drain().packets;
  return first.packet;
}

const events = (effects: NodeEffect[]) =>
  effects.flatMap((e) => (e.type === "event" ? [e.event] : []));
const replies = (effects: NodeEffect[]): CibReply[] =>
  effects.flatMap((e) => (e.type === "cib-reply" ? [e] : []));

function heartbeat(from: string, over: Partial<Heartbeat["membership"]> = {}): Heartbeat {
  return {
    type: "hb",
    membership: {
      view: [],
      proposal: { members: [from], generation: 0 },
      agreedGeneration: 0,
      ready: true,
      active: [],
      ...over,
    },
    dc: null,
    cibVersion: { adminEpoch: 0, epoch: 1, numUpdates: 0 },
    lrm: { seq: 0, resources: {} },
    done: [],
  };
}

/** A hand-driven cluster: steps every core every 10 ms, delivering messages and completing ops. */
class Cluster {
  readonly cores = new Map<string, NodeCore>();
  readonly effects = new Map<string, NodeEffect[]>();
  now = 0;
  /** Nodes that are gone: not stepped, nothing delivered to or from them. */
  readonly silenced = new Set<string>();
  #inbox: { to: string; from: string; body: Message }[] = [];
  #ops: { node: string; op: LrmOperation }[] = [];
  /** CIB writes to confirm (the disk here is instant and never fails). */
  #writes: { node: string; event: NodeEvent }[] = [];
  /** What each node wrote last: its CIB and term. */
  readonly disks = new Map<string, { cib: CibDocument; term: number }>();

  constructor(
    names: string[],
    cib: CibDocument,
    readonly rcOf: (op: LrmOperation) => number,
    make: (self: string) => NodeCore = (self) => core(self, cib),
  ) {
    for (const n of names) {
      this.cores.set(n, make(n));
      this.effects.set(n, []);
    }
  }

  step(node: string, event: NodeEvent): NodeEffect[] {
    const out = this.cores.get(node)!.step(event);
    this.effects.get(node)!.push(...out);
    for (const e of out) {
      if (e.type !== "send") continue;
      const targets = e.to === null ? [...this.cores.keys()].filter((n) => n !== node) : [e.to];
      for (const to of targets) {
        if (this.cores.has(to) && !this.silenced.has(to) && !this.silenced.has(node)) {
          this.#inbox.push({ to, from: node, body: e.body });
        }
      }
    }
    for (const e of out) {
      if (e.type === "run-op") this.#ops.push({ node, op: e.op });
      if (e.type === "persist-cib") {
        this.disks.set(node, { cib: e.cib, term: e.term });
        this.#writes.push({
          node,
          event: { type: "cib-persisted", now: this.now, stamp: e.stamp },
        });
      }
    }
    return out;
  }

  /** Runs until `until` in 10 ms steps. */
  run(until: number): void {
    while (this.now < until) {
      for (const [n] of this.cores) {
        if (!this.silenced.has(n)) this.step(n, { type: "tick", now: this.now });
      }
      for (
        let guard = 0;
        guard < 1000 && (this.#inbox.length || this.#ops.length || this.#writes.length);
        guard++
      ) {
        for (const w of this.#writes.splice(0)) {
          if (!this.silenced.has(w.node)) this.step(w.node, { ...w.event, now: this.now });
        }
        const msgs = this.#inbox.splice(0);
        for (const m of msgs) {
          this.step(m.to, {
            type: "message",
            now: this.now,
            incarnation: 1,
            from: m.from,
            body: m.body,
          });
        }
        const ops = this.#ops.splice(0);
        for (const { node, op } of ops) {
          this.step(node, { type: "op-done", now: this.now, opId: op.opId, rc: this.rcOf(op) });
        }
      }
      this.now += 10;
    }
  }
}

/** Probes find nothing; starts and stops succeed. */
const cleanAgents = (op: LrmOperation) => (op.origin === "probe" ? 7 : 0);

Deno.test("one-node cluster: boots, probes, then as DC with quorum starts the resource", () => {
  const n1 = core("n1", makeCib(["n1"]));
  const boot = n1.step({ type: "tick", now: 0 });
  const probes = runOps(boot);
  assert.equal(probes.length, 1);
  assert.deepEqual(
    { resource: probes[0].resource, action: probes[0].action, origin: probes[0].origin },
    { resource: "web", action: "monitor", origin: "probe" },
  );
  assert.equal(n1.dc, "n1");
  assert.deepEqual(n1.membership?.members, ["n1"]);
  assert.deepEqual(
    { ...n1.quorum },
    {
      quorate: true,
      votes: 1,
      expected: 1,
      needed: 1,
      deviceVotes: 0,
      reason: "1 of 1 votes (needed 1)",
    },
  );
  assert.ok(!runOps(boot).some((op) => op.action === "start"), "nothing starts before probes end");

  const after = n1.step({ type: "op-done", now: 10, opId: probes[0].opId, rc: 7 });
  const later = [...after, ...n1.step({ type: "tick", now: 20 })];
  const starts = runOps(later).filter((op) => op.action === "start");
  assert.equal(starts.length, 1);
  assert.equal(starts[0].resource, "web");
  assert.equal(starts[0].origin, "dc");
  assert.equal(starts[0].requestedBy, "n1");
  assert.match(starts[0].actionId!, /^n1:\d+:\d+:\d+$/);
  assert.equal(n1.lrmTable().web.state, "starting");

  const done = n1.step({ type: "op-done", now: 30, opId: starts[0].opId, rc: 0 });
  assert.equal(n1.lrmTable().web.state, "started");
  assert.ok(events(done).some((e) => e.kind === "resource-started" && e.subject === "web"));
  // Settled: nothing more to run.
  assert.deepEqual(runOps(n1.step({ type: "tick", now: 1000 })), []);
  assert.deepEqual(n1.lastSchedule()?.placement.web, { role: "Started", nodes: ["n1"] });
});

// Regression: the DC once planned before its own start-up probes finished, so a
// resource the probe found running was started again.
Deno.test({
  name: "a resource the boot probe finds running is not started again",
  fn() {
    const n1 = core("n1", makeCib(["n1"]));
    const boot = n1.step({ type: "tick", now: 0 });
    assert.ok(!events(boot).some((e) => e.kind === "transition"), "no plan before probes end");
    const [probe] = runOps(boot);
    const effects = [
      ...n1.step({ type: "op-done", now: 10, opId: probe.opId, rc: 0 }),
      ...n1.step({ type: "tick", now: 20 }),
      ...n1.step({ type: "tick", now: 1000 }),
    ];
    assert.deepEqual(runOps(effects).filter((op) => op.action === "start"), []);
    assert.equal(n1.lrmTable().web.state, "started");
  },
});

Deno.test("a one-node cluster without resources is ready and DC at once", () => {
  const n1 = core("n1", makeCib(["n1"], []));
  const boot = n1.step({ type: "tick", now: 0 });
  assert.deepEqual(runOps(boot), []);
  assert.equal(n1.dc, "n1");
  assert.equal(n1.snapshot().proposal.members.length, 1);
});

Deno.test("one heartbeat to every configured peer goes out every keepalive", () => {
  const n1 = core("n1", makeCib(["n1", "n2", "n3"], []));
  const beats: number[] = [];
  for (let t = 0; t <= 1000; t += 10) {
    for (const s of sends(n1.step({ type: "tick", now: t }), "hb")) {
      assert.equal(s.to, null, "a heartbeat is addressed to everyone");
      beats.push(t);
    }
  }
  assert.deepEqual(beats, Array.from({ length: 11 }, (_, i) => i * KEEPALIVE));
});

Deno.test("a heartbeat carries membership, LRM table and CIB version", () => {
  const n1 = core("n1", makeCib(["n1", "n2"]));
  const boot = n1.step({ type: "tick", now: 0 });
  const [hb] = sends(boot, "hb");
  assert.equal(hb.to, null);
  assert.equal(hb.body.type, "hb");
  const body = hb.body as Heartbeat;
  assert.equal(body.membership.ready, false, "probe still running");
  assert.deepEqual(body.membership.proposal.members, ["n1"]);
  assert.deepEqual(Object.keys(body.lrm.resources), ["web"]);
  assert.equal(body.cibVersion.epoch, 1);
});

Deno.test("a message from an unconfigured node is ignored", () => {
  const n1 = core("n1", makeCib(["n1", "n2"], []));
  n1.step({ type: "tick", now: 0 });
  const fromStranger = n1.step({
    type: "message",
    now: 10,
    incarnation: 1,
    from: "intruder",
    body: heartbeat("intruder"),
  });
  assert.deepEqual(events(fromStranger), []);
  assert.deepEqual(n1.snapshot().alive, []);
  const cibFetch = n1.step({
    type: "message",
    now: 20,
    incarnation: 1,
    from: "intruder",
    body: reliable("intruder", "n1", { type: "cib-repl", msg: { type: "cib-fetch", gen: 1 } }),
  });
  assert.deepEqual(sends(cibFetch), [], "no CIB handed out to strangers");
  // The same heartbeat from a configured node is heard.
  const fromPeer = n1.step({
    type: "message",
    now: 30,
    incarnation: 1,
    from: "n2",
    body: heartbeat("n2"),
  });
  assert.ok(events(fromPeer).some((e) => e.kind === "node-up" && e.subject === "n2"));
  assert.deepEqual(n1.snapshot().alive, ["n2"]);
});

Deno.test("the DC syncs the newest CIB of its members before it plans", () => {
  // n2 restarts from a newer copy on disk (epoch 5, written by a quorate DC in term 3).
  const base = makeCib(["n1", "n2"]);
  const newer: CibDocument = {
    ...base,
    version: { adminEpoch: 0, epoch: 5, numUpdates: 0 },
    config: {
      ...base.config,
      options: { ...base.config.options, stickiness: 7 },
    },
  };
  const c = new Cluster(["n1", "n2"], base, cleanAgents, (self) =>
    new NodeCore({
      self,
      cib: self === "n2" ? newer : base,
      term: self === "n2" ? 3 : 0,
      keepaliveMs: KEEPALIVE,
      deadtimeMs: DEADTIME,
    }));
  c.run(1500);
  const n1 = c.cores.get("n1")!;
  const n2 = c.cores.get("n2")!;
  assert.equal(n1.dc, "n1");
  assert.equal(n1.cibPhase, "ready");
  assert.equal(n2.cibPhase, "member");
  assert.equal(n1.cib.config.options.stickiness, 7, "the DC fetched n2's newer copy");
  assert.equal(n1.cib.version.epoch >= 5, true);
  assert.deepEqual(n1.cibStamp, n2.cibStamp, "both hold one copy");
  assert.deepEqual(c.disks.get("n1")?.cib, n1.cib, "the DC wrote it");
  // And it planned from it: the resource runs once.
  const running = ["n1", "n2"].filter((n) => c.cores.get(n)!.lrmTable().web?.state === "started");
  assert.equal(running.length, 1);
});

Deno.test("hand-driven pair agrees, elects n1, and starts the resource once", () => {
  const c = new Cluster(["n1", "n2"], makeCib(["n1", "n2"]), cleanAgents);
  c.run(1500);
  const n1 = c.cores.get("n1")!;
  const n2 = c.cores.get("n2")!;
  assert.deepEqual(n1.membership?.members, ["n1", "n2"]);
  assert.deepEqual(n2.membership, n1.membership);
  assert.equal(n1.dc, "n1");
  assert.equal(n2.dc, "n1");
  const starts = [...c.effects].flatMap(([node, es]) =>
    runOps(es).filter((op) => op.action === "start").map((op) => ({ node, op }))
  );
  assert.equal(starts.length, 1, JSON.stringify(starts));
  assert.equal(starts[0].op.requestedBy, "n1");
  const running = ["n1", "n2"].filter((n) => c.cores.get(n)!.lrmTable().web?.state === "started");
  assert.equal(running.length, 1);
});

Deno.test("an op from a node that is not the DC is ignored", () => {
  const c = new Cluster(
    ["n1", "n2"],
    makeCib(["n1", "n2"], [
      { id: "web", agent: "dummy", location: { n1: "-INFINITY", n2: "-INFINITY" } },
    ]),
    cleanAgents,
  );
  c.run(1500);
  assert.equal(c.cores.get("n1")!.dc, "n1");
  const op = (from: string, node: string): NodeEvent => ({
    type: "message",
    now: c.now,
    incarnation: 1,
    from,
    // A stream of a later incarnation, so the receiver takes it from seq 1.
    body: reliable(from, node, {
      type: "op",
      actionId: `${from}:${c.cores.get(node)!.membership!.generation}:9:web_start_${node}`,
      resource: "web",
      action: "start",
      agent: "dummy",
      params: {},
      monitorMs: 0,
      intervalMs: 0,
      probe: false,
    }, 50),
  });
  // n2 is not the DC: n1 ignores its request.
  assert.deepEqual(runOps(c.step("n1", op("n2", "n1"))), []);
  assert.equal(c.cores.get("n1")!.lrmTable().web.state, "stopped");
  // The DC's request is carried out.
  const ran = runOps(c.step("n2", op("n1", "n2")));
  assert.equal(ran.length, 1);
  assert.equal(ran[0].action, "start");
  assert.equal(ran[0].actionId, `n1:${c.cores.get("n2")!.membership!.generation}:9:web_start_n2`);
  // An action of another membership generation is refused, even from the DC.
  const stale: NodeEvent = {
    type: "message",
    now: c.now,
    incarnation: 1,
    from: "n1",
    body: reliable("n1", "n2", {
      type: "op",
      actionId: `n1:1:9:web_stop_n2`,
      resource: "web",
      action: "stop",
      agent: "dummy",
      params: {},
      monitorMs: 0,
      intervalMs: 0,
      probe: false,
    }, 60),
  };
  assert.deepEqual(runOps(c.step("n2", stale)), []);
});

Deno.test("a lone node, its own DC, ignores an op from another configured node", () => {
  const n2 = core("n2", makeCib(["n1", "n2"], []));
  n2.step({ type: "tick", now: 0 });
  assert.equal(n2.dc, "n2");
  const out = n2.step({
    type: "message",
    now: 10,
    incarnation: 1,
    from: "n1",
    body: reliable("n1", "n2", {
      type: "op",
      actionId: "n1:1:1:web_start_n2",
      resource: "web",
      action: "start",
      agent: "dummy",
      params: {},
      monitorMs: 0,
      intervalMs: 0,
      probe: false,
    }),
  });
  assert.deepEqual(runOps(out), []);
  assert.deepEqual(n2.lrmTable(), {});
});

Deno.test("time going backwards throws", () => {
  const n1 = core("n1", makeCib(["n1"], []));
  n1.step({ type: "tick", now: 100 });
  n1.step({ type: "tick", now: 100 }); // the same time is fine
  assert.throws(() => n1.step({ type: "tick", now: 99 }), RangeError);
  assert.throws(
    () => n1.step({ type: "message", now: 50, incarnation: 1, from: "n1", body: heartbeat("n1") }),
    /time went backwards: 50 < 100/,
  );
});

Deno.test("the constructor rejects deadtime <= keepalive and a self not in the node list", () => {
  const cib = makeCib(["n1", "n2"], []);
  assert.throws(
    () => new NodeCore({ self: "n1", cib, keepaliveMs: 500, deadtimeMs: 500 }),
    RangeError,
  );
  assert.throws(
    () => new NodeCore({ self: "n1", cib, keepaliveMs: 500, deadtimeMs: 400 }),
    /deadtime \(400 ms\) must exceed keepalive \(500 ms\)/,
  );
  assert.throws(
    () => new NodeCore({ self: "n9", cib, keepaliveMs: 100, deadtimeMs: 500 }),
    /node n9 is not in the configuration's node list/,
  );
  // Valid options construct fine and produce nothing until the first event.
  const ok = new NodeCore({ self: "n2", cib, keepaliveMs: 100, deadtimeMs: 101 });
  assert.equal(ok.self, "n2");
  assert.equal(ok.dc, null);
});

Deno.test("quorum device votes carry a lone node of two over the line", () => {
  const cib = makeCib(["n1", "n2"], []);
  const n1 = new NodeCore({
    self: "n1",
    cib,
    keepaliveMs: KEEPALIVE,
    deadtimeMs: DEADTIME,
    quorum: { deviceVotes: 1 },
  });
  const boot = n1.step({ type: "tick", now: 0 });
  const generation = n1.membership!.generation;
  assert.equal(n1.quorum?.quorate, false, "1 of 3 votes");
  assert.equal(n1.quorum?.expected, 3);
  assert.ok(events(boot).some((e) => e.kind === "quorum"));
  const held = n1.step({ type: "devices", now: 10, votes: 1, score: 0, generation });
  assert.equal(n1.quorum?.quorate, true);
  assert.match(n1.quorum?.reason ?? "", /1 of 3 votes \+ 1 from/);
  assert.ok(events(held).some((e) => e.kind === "quorum" && /has quorum/.test(e.text)));
  const [hb] = sends(held, "hb");
  assert.deepEqual(
    (hb.body as Heartbeat).devices,
    { votes: 1, score: 0, generation },
    "peers learn it",
  );
  n1.step({ type: "devices", now: 20, votes: 0, score: 0, generation });
  assert.equal(n1.quorum?.quorate, false, "losing the disk loses quorum");
});

Deno.test("a device reading from before a split does not count after it", () => {
  // n1 and n2 share a qdisk; together they hold it. Then they split.
  const cib = makeCib(["n1", "n2"], [{ id: "web", agent: "dummy" }]);
  const opts = { cib, keepaliveMs: KEEPALIVE, deadtimeMs: DEADTIME, quorum: { deviceVotes: 1 } };
  const c = new Cluster(["n1", "n2"], cib, cleanAgents, (self) => new NodeCore({ self, ...opts }));
  c.run(1000);
  const n2 = c.cores.get("n2")!;
  const together = n2.membership!.generation;
  c.step("n2", { type: "devices", now: c.now, votes: 1, score: 0, generation: together });
  assert.equal(n2.quorum?.quorate, true);
  // n2 alone after the split: its last reading was taken while both were one partition.
  let t = c.now;
  const alone: NodeEffect[] = [];
  for (; t <= c.now + DEADTIME + 200; t += 10) alone.push(...n2.step({ type: "tick", now: t }));
  assert.deepEqual(n2.membership?.members, ["n2"]);
  assert.equal(n2.quorum?.quorate, false, "the stale vote is not counted");
  assert.ok(!events(alone).some((e) => e.kind === "quorum" && /has quorum/.test(e.text)));
  // The fresh reading under the new membership decides: the master is n1, so no vote.
  const fresh = n2.step({
    type: "devices",
    now: t,
    votes: 0,
    score: 0,
    generation: n2.membership!.generation,
  });
  assert.equal(n2.quorum?.quorate, false);
  assert.ok(events(fresh).some((e) => e.kind === "quorum" && /lost quorum/.test(e.text)));
});

Deno.test("nextDeadline: the next heartbeat, a peer's warn time, or a monitor, whichever is first", () => {
  const n1 = core("n1", makeCib(["n1", "n2"], []));
  n1.step({ type: "tick", now: 0 });
  assert.equal(n1.nextDeadline(), KEEPALIVE);
  n1.step({ type: "message", now: 30, incarnation: 1, from: "n2", body: heartbeat("n2") });
  // n2's warn time (30 + 250) comes after the next heartbeat at 100.
  assert.ok(n1.nextDeadline() <= KEEPALIVE);
  n1.step({ type: "tick", now: 100 });
  n1.step({ type: "tick", now: 200 });
  assert.equal(n1.nextDeadline(), 280, "n2 is late at 30 + warntime 250");
});

Deno.test("membership events name who joined and who left", () => {
  const c = new Cluster(["n1", "n2", "n3"], makeCib(["n1", "n2", "n3"], []), cleanAgents);
  c.run(1500);
  const n1 = c.cores.get("n1")!;
  assert.deepEqual(n1.membership?.members, ["n1", "n2", "n3"]);
  const joinedText = events(c.effects.get("n1")!).filter((e) => e.kind === "membership")
    .map((e) => e.text);
  assert.ok(joinedText.some((t) => /joined: /.test(t)), joinedText.join(" | "));
  // n3 falls silent: only n1 and n2 go on.
  const before = c.effects.get("n1")!.length;
  c.silenced.add("n3");
  c.run(c.now + 2000);
  const out = c.effects.get("n1")!.slice(before);
  const texts = events(out).filter((e) => e.kind === "membership").map((e) => e.text);
  assert.ok(texts.some((t) => /: n1, n2 \(left: n3\)$/.test(t)), texts.join(" | "));
});

Deno.test("the fastest timings are accepted (keepalive 10 ms, deadtime 30 ms)", () => {
  const fast = new NodeCore({
    self: "n1",
    cib: makeCib(["n1", "n2"], []),
    keepaliveMs: 10,
    deadtimeMs: 30,
  });
  fast.step({ type: "tick", now: 0 });
  assert.equal(fast.nextDeadline(), 10);
});

/** Submits `update` on `node` and runs the cluster until it is answered (at most `ms`). */
function submit(c: Cluster, node: string, update: CibUpdate, ms = 2000): CibReply {
  const requestId = `${node}-req-${c.now}`;
  const before = c.effects.get(node)!.length;
  c.step(node, { type: "cib-update", now: c.now, requestId, update });
  const until = c.now + ms;
  for (;;) {
    const got = replies(c.effects.get(node)!.slice(before)).filter((r) =>
      r.requestId === requestId
    );
    if (got.length > 0 || c.now >= until) {
      assert.equal(got.length, 1, `one reply to ${requestId}, got ${JSON.stringify(got)}`);
      return got[0];
    }
    c.run(c.now + 10);
  }
}

Deno.test("cib update: a quorate trio acknowledges a change made on a member, every node holds it", () => {
  const c = new Cluster(["n1", "n2", "n3"], makeCib(["n1", "n2", "n3"]), cleanAgents);
  c.run(1500);
  const running = () =>
    ["n1", "n2", "n3"].filter((n) => c.cores.get(n)!.lrmTable().web?.state === "started");
  assert.equal(running().length, 1);
  assert.equal(c.cores.get("n3")!.dc, "n1", "n3 is not the DC: the change is forwarded");
  const reply = submit(c, "n3", { op: "resource-target-role", resource: "web", role: "Stopped" });
  assert.ok(reply.ok, JSON.stringify(reply));
  assert.deepEqual(reply.version, { adminEpoch: 0, epoch: 2, numUpdates: 0 });
  assert.equal(reply.summary, "web: target-role Stopped");
  // Acknowledged only after a majority (2 of 3) wrote it.
  const written = ["n1", "n2", "n3"].filter((n) => c.disks.get(n)?.cib.version.epoch === 2);
  assert.ok(written.length >= 2, `written on ${written}`);
  c.run(c.now + 1000);
  for (const n of ["n1", "n2", "n3"]) {
    const r = c.cores.get(n)!.cib.config.resources[0];
    assert.equal(r.meta.targetRole, "Stopped", `${n}'s copy`);
    assert.deepEqual(c.cores.get(n)!.cibStamp, c.cores.get("n1")!.cibStamp);
  }
  assert.deepEqual(running(), [], "the DC stopped it");
  // A move on the DC itself puts it back on the node named.
  assert.ok(submit(c, "n1", { op: "resource-target-role", resource: "web", role: "Started" }).ok);
  const moved = submit(c, "n1", { op: "resource-move", resource: "web", node: "n2" });
  assert.ok(moved.ok && moved.summary === "web moved to n2 until unmoved", JSON.stringify(moved));
  c.run(c.now + 1000);
  assert.deepEqual(running(), ["n2"]);
  assert.deepEqual(c.cores.get("n3")!.snapshot().moves, [{ resource: "web", node: "n2" }]);
});

Deno.test("cib update: an invalid change is refused by the DC with its reason", () => {
  const c = new Cluster(["n1", "n2", "n3"], makeCib(["n1", "n2", "n3"]), cleanAgents);
  c.run(1500);
  const reply = submit(c, "n2", { op: "resource-move", resource: "webb", node: "n2" });
  assert.ok(!reply.ok);
  assert.equal(reply.outcome, "refused");
  assert.match(reply.error, /no resource "webb" \(did you mean web\?\)/);
  assert.equal(c.cores.get("n1")!.cib.version.epoch, 1, "nothing applied");
});

Deno.test("cib update: refused without quorum, with an error that says so", () => {
  const c = new Cluster(["n1", "n2", "n3"], makeCib(["n1", "n2", "n3"]), cleanAgents);
  c.run(1500);
  c.silenced.add("n2");
  c.silenced.add("n3");
  c.run(c.now + DEADTIME * 3);
  const n1 = c.cores.get("n1")!;
  assert.deepEqual(n1.membership?.members, ["n1"]);
  assert.equal(n1.quorum?.quorate, false);
  const reply = submit(c, "n1", { op: "node-standby", node: "n2", standby: true });
  assert.ok(!reply.ok);
  assert.equal(reply.outcome, "refused");
  assert.match(reply.error, /^no quorum: configuration changes are refused/);
  assert.equal(n1.cib.config.nodes[1].standby, false);
});

Deno.test("cleanup: clears the fail count here and asks live peers to do the same", () => {
  const c = new Cluster(["n1", "n2"], makeCib(["n1", "n2"], []), cleanAgents);
  c.run(1500);
  const n1 = c.cores.get("n1")!;
  const here = c.step("n1", { type: "cleanup", now: c.now, resource: "web" });
  const sent = here.find((e) => e.type === "cleanup-sent");
  assert.deepEqual(sent, { type: "cleanup-sent", resource: "web", nodes: ["n1", "n2"] });
  assert.ok(
    sends(here).some((e) => e.to === "n2" && e.body.type !== "hb"),
    "a reliable cleanup message goes to n2",
  );
  const bad = n1.step({ type: "cleanup", now: c.now, resource: "web", node: "n9" });
  const refused = bad.find((e) => e.type === "cleanup-sent");
  assert.ok(refused?.type === "cleanup-sent" && /no node "n9"/.test(refused.error ?? ""));
});

Deno.test("cleanup: a failed start's fail count is cleared, so the resource may run here again", () => {
  let failing = true;
  const c = new Cluster(
    ["n1"],
    makeCib(["n1"]),
    (op) => (op.origin === "probe" ? 7 : op.action === "start" && failing ? 1 : 0),
  );
  c.run(1000);
  const n1 = c.cores.get("n1")!;
  assert.ok(n1.lrmTable().web.failCount >= 1, JSON.stringify(n1.lrmTable()));
  assert.notEqual(n1.lrmTable().web.state, "started");
  failing = false;
  c.step("n1", { type: "cleanup", now: c.now, resource: "web", node: "n1" });
  assert.equal(n1.lrmTable().web.failCount, 0);
  c.run(c.now + 1000);
  assert.equal(n1.lrmTable().web.state, "started", "placed again after the cleanup");
});
