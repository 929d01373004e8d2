import assert from "node:assert/strict";
import { type LrmOperation, LrmState } from "../../core/lrm/lrm_state.ts";

type Req = Omit<LrmOperation, "opId">;

const dcStart = (
  resource: string,
  actionId: string,
  params: Record<string, unknown> = {},
): Req => ({
  resource,
  action: "start",
  agent: "dummy",
  params,
  origin: "dc",
  actionId,
  requestedBy: "n1",
});
const dcStop = (resource: string, actionId: string): Req => ({
  resource,
  action: "stop",
  agent: "other-agent",
  params: { different: true },
  origin: "dc",
  actionId,
  requestedBy: "n1",
});
const probe = (resource: string): Req => ({
  resource,
  action: "monitor",
  agent: "dummy",
  params: { p: 1 },
  origin: "probe",
});

/** Starts `resource` and completes the start with rc 0. */
function started(lrm: LrmState, resource: string, monitorMs = 0, now = 0): void {
  const op = lrm.request(dcStart(resource, `${resource}-start`), monitorMs)!;
  lrm.complete(op.opId, 0, now);
}

Deno.test("start: starting, then started", () => {
  const lrm = new LrmState();
  const op = lrm.request(dcStart("web", "t1"), 0);
  assert.ok(op);
  assert.equal(op.action, "start");
  assert.equal(op.origin, "dc");
  assert.equal(op.actionId, "t1");
  assert.deepEqual(lrm.table(), { web: { state: "starting", failCount: 0, lastRc: 7 } });
  assert.deepEqual(lrm.active(), ["web"]);
  assert.equal(lrm.busy(), true);
  const { outcome, next } = lrm.complete(op.opId, 0, 10);
  assert.deepEqual(outcome, { op, rc: 0, ok: true, before: "starting", after: "started" });
  assert.equal(next, undefined);
  assert.deepEqual(lrm.table(), { web: { state: "started", failCount: 0, lastRc: 0 } });
  assert.equal(lrm.busy(), false);
});

Deno.test("a failed start: failed, fail count raised, not ok", () => {
  const lrm = new LrmState();
  const op = lrm.request(dcStart("web", "t1"), 0)!;
  const { outcome } = lrm.complete(op.opId, 1, 10);
  assert.equal(outcome?.ok, false);
  assert.equal(outcome?.after, "failed");
  assert.deepEqual(lrm.table().web, { state: "failed", failCount: 1, lastRc: 1 });
});

Deno.test("stop: stopping, then stopped", () => {
  const lrm = new LrmState();
  started(lrm, "web");
  const op = lrm.request(dcStop("web", "t2"), 0)!;
  assert.equal(lrm.table().web.state, "stopping");
  const { outcome } = lrm.complete(op.opId, 0, 20);
  assert.equal(outcome?.ok, true);
  assert.equal(outcome?.before, "stopping");
  assert.deepEqual(lrm.table().web, { state: "stopped", failCount: 0, lastRc: 0 });
  assert.deepEqual(lrm.active(), []);
});

Deno.test("one operation per resource: a second request queues and comes back as next", () => {
  const lrm = new LrmState();
  const first = lrm.request(dcStart("web", "t1"), 0)!;
  assert.equal(lrm.request(dcStop("web", "t2"), 0), null, "queued behind the start");
  assert.equal(lrm.table().web.state, "starting", "a queued stop does not change the state");
  assert.equal(lrm.knows("t2"), true);
  const { outcome, next } = lrm.complete(first.opId, 0, 5);
  assert.equal(outcome?.after, "started");
  assert.ok(next);
  assert.equal(next.action, "stop");
  assert.equal(next.actionId, "t2");
  assert.notEqual(next.opId, first.opId);
  assert.equal(lrm.table().web.state, "stopping", "the queued stop began");
  const last = lrm.complete(next.opId, 0, 6);
  assert.equal(last.outcome?.after, "stopped");
  assert.equal(last.next, undefined);
  assert.equal(lrm.busy(), false);
});

Deno.test("different resources run in parallel", () => {
  const lrm = new LrmState();
  const a = lrm.request(dcStart("web", "t1"), 0);
  const b = lrm.request(dcStart("db", "t2"), 0);
  assert.ok(a && b);
  assert.notEqual(a.opId, b.opId);
  assert.deepEqual(lrm.active(), ["db", "web"]);
});

Deno.test("the queue of one resource is bounded", () => {
  const lrm = new LrmState();
  const first = lrm.request(dcStart("web", "t0"), 0)!;
  for (let i = 1; i <= 8; i++) assert.equal(lrm.request(dcStart("web", `t${i}`), 0), null);
  assert.equal(lrm.request(dcStart("web", "t9"), 0), null);
  assert.equal(lrm.knows("t8"), true);
  assert.equal(lrm.knows("t9"), false, "the ninth request was dropped");
  let next = lrm.complete(first.opId, 0, 1).next;
  let ran = 0;
  while (next) {
    ran++;
    next = lrm.complete(next.opId, 0, 1).next;
  }
  assert.equal(ran, 8);
});

Deno.test("probe results: rc 0 means started, rc 7 stopped, other rc failed", () => {
  const cases: [number, string, boolean, number][] = [
    [0, "started", true, 0],
    [7, "stopped", true, 0],
    [1, "failed", false, 1],
  ];
  for (const [rc, state, ok, fails] of cases) {
    const lrm = new LrmState();
    const op = lrm.request(probe("web"), 0)!;
    assert.equal(op.origin, "probe");
    assert.equal(lrm.table().web.state, "stopped", "a probe has no transient state");
    const { outcome } = lrm.complete(op.opId, rc, 0);
    assert.equal(outcome?.after, state, `rc ${rc}`);
    assert.equal(outcome?.ok, ok, `rc ${rc}`);
    assert.equal(lrm.table().web.failCount, fails, `rc ${rc}`);
  }
});

Deno.test("a recurring monitor is due every interval once started", () => {
  const lrm = new LrmState();
  started(lrm, "web", 1000, 100);
  assert.deepEqual(lrm.dueMonitors(1099), []);
  const [mon] = lrm.dueMonitors(1100);
  assert.ok(mon);
  assert.equal(mon.action, "monitor");
  assert.equal(mon.origin, "monitor");
  assert.equal(mon.agent, "dummy");
  assert.deepEqual(lrm.dueMonitors(5000), [], "not while the monitor runs");
  const { outcome } = lrm.complete(mon.opId, 0, 1150);
  assert.equal(outcome?.ok, true);
  assert.equal(lrm.table().web.state, "started");
  assert.deepEqual(lrm.dueMonitors(2099), []);
  assert.equal(lrm.dueMonitors(2150).length, 1);
});

Deno.test("no recurring monitor when monitorMs is 0 or the resource is not started", () => {
  const lrm = new LrmState();
  started(lrm, "web", 0);
  assert.deepEqual(lrm.dueMonitors(1_000_000), []);
  const op = lrm.request(dcStart("db", "t"), 500)!;
  assert.deepEqual(lrm.dueMonitors(10_000), [], "starting");
  lrm.complete(op.opId, 1, 0);
  assert.deepEqual(lrm.dueMonitors(10_000), [], "failed");
});

Deno.test("monitor rc 7 on a started resource: failed, fail count + 1", () => {
  const lrm = new LrmState();
  started(lrm, "web", 1000, 0);
  const [mon] = lrm.dueMonitors(1000);
  const { outcome } = lrm.complete(mon.opId, 7, 1010);
  assert.deepEqual(
    { ok: outcome?.ok, before: outcome?.before, after: outcome?.after },
    { ok: false, before: "started", after: "failed" },
  );
  assert.deepEqual(lrm.table().web, { state: "failed", failCount: 1, lastRc: 7 });
  assert.deepEqual(lrm.active(), ["web"], "a failed resource still counts as active");
  assert.deepEqual(lrm.dueMonitors(10_000), [], "no recurring monitor on a failed resource");
});

Deno.test("stop and monitor use the agent and params the resource was started with", () => {
  const lrm = new LrmState();
  const start = lrm.request(dcStart("web", "t1", { port: 80 }), 1000)!;
  lrm.complete(start.opId, 0, 0);
  const [mon] = lrm.dueMonitors(1000);
  assert.equal(mon.agent, "dummy");
  assert.deepEqual(mon.params, { port: 80 });
  lrm.complete(mon.opId, 0, 1000);
  const stop = lrm.request(dcStop("web", "t2"), 0)!;
  assert.equal(stop.agent, "dummy");
  assert.deepEqual(stop.params, { port: 80 });
  assert.equal(stop.actionId, "t2");
});

Deno.test("a queued stop also uses what the resource was started with", () => {
  const lrm = new LrmState();
  const start = lrm.request(dcStart("web", "t1", { port: 8080 }), 0)!;
  assert.equal(lrm.request(dcStop("web", "t2"), 0), null);
  const { next } = lrm.complete(start.opId, 0, 0);
  assert.equal(next?.agent, "dummy");
  assert.deepEqual(next?.params, { port: 8080 });
});

Deno.test("done() remembers DC action ids with their success", () => {
  const lrm = new LrmState();
  const a = lrm.request(dcStart("web", "dc:1:1:web_start_n2"), 0)!;
  const b = lrm.request(dcStart("db", "dc:1:1:db_start_n2"), 0)!;
  assert.equal(lrm.knows("dc:1:1:web_start_n2"), true, "running counts as known");
  assert.equal(lrm.doneResult("dc:1:1:web_start_n2"), undefined);
  lrm.complete(a.opId, 0, 1);
  lrm.complete(b.opId, 1, 1);
  assert.deepEqual(lrm.done(), [["dc:1:1:web_start_n2", true], ["dc:1:1:db_start_n2", false]]);
  assert.equal(lrm.doneResult("dc:1:1:web_start_n2"), true);
  assert.equal(lrm.doneResult("dc:1:1:db_start_n2"), false);
  assert.equal(lrm.knows("dc:1:1:db_start_n2"), true);
  assert.equal(lrm.knows("something-else"), false);
});

Deno.test("operations without a DC action id are not remembered", () => {
  const lrm = new LrmState();
  const op = lrm.request(probe("web"), 0)!;
  lrm.complete(op.opId, 0, 0);
  assert.deepEqual(lrm.done(), []);
});

Deno.test("done() forgets the oldest beyond 64 entries", () => {
  const lrm = new LrmState();
  for (let i = 0; i < 65; i++) {
    const op = lrm.request(dcStart("web", `a${i}`), 0)!;
    lrm.complete(op.opId, 0, i);
  }
  assert.equal(lrm.done().length, 64);
  assert.equal(lrm.doneResult("a0"), undefined);
  assert.equal(lrm.knows("a0"), false);
  assert.equal(lrm.doneResult("a1"), true);
  assert.equal(lrm.doneResult("a64"), true);
});

Deno.test("stopAll stops every active resource not already being stopped", () => {
  const lrm = new LrmState();
  started(lrm, "web");
  started(lrm, "db");
  // "cold" probed stopped; "busy" has a start running.
  lrm.complete(lrm.request(probe("cold"), 0)!.opId, 7, 0);
  lrm.request(dcStart("busy", "t-busy"), 0);
  const stops = lrm.stopAll();
  assert.deepEqual(stops.map((s) => s.resource).sort(), ["db", "web"]);
  for (const s of stops) {
    assert.equal(s.action, "stop");
    assert.equal(s.origin, "self-stop");
    assert.equal(s.agent, "dummy");
    assert.equal(s.actionId, undefined);
  }
  assert.equal(lrm.table().web.state, "stopping");
  assert.deepEqual(lrm.stopAll(), [], "not twice");
});

// Regression: stopAll() once skipped resources with an operation in flight, so a
// node that gave everything up could keep one running. The stop must queue behind it.
Deno.test({
  name: "stopAll also stops a resource whose monitor is running (stop queued behind it)",
  fn() {
    const lrm = new LrmState();
    started(lrm, "web", 1000, 0);
    const [mon] = lrm.dueMonitors(1000);
    const stops = lrm.stopAll();
    const { next } = lrm.complete(mon.opId, 0, 1001);
    const stop = stops.find((s) => s.resource === "web") ?? next;
    assert.equal(stop?.action, "stop");
    assert.equal(stop?.origin, "self-stop");
  },
});

Deno.test({
  name: "stopAll also stops a resource whose start is running (stop queued behind it)",
  fn() {
    const lrm = new LrmState();
    const start = lrm.request(dcStart("web", "t1"), 0)!;
    lrm.stopAll();
    const { next } = lrm.complete(start.opId, 0, 1);
    assert.equal(next?.action, "stop");
    lrm.complete(next!.opId, 0, 2);
    assert.equal(lrm.table().web.state, "stopped");
  },
});

Deno.test("stopAll includes failed resources", () => {
  const lrm = new LrmState();
  const op = lrm.request(dcStart("web", "t"), 0)!;
  lrm.complete(op.opId, 1, 0);
  assert.deepEqual(lrm.stopAll().map((s) => s.resource), ["web"]);
});

Deno.test("seq increases on every change of the table, and only then", () => {
  const lrm = new LrmState();
  const seqs = [lrm.seq];
  const mark = () => seqs.push(lrm.seq);
  const op = lrm.request(dcStart("web", "t1"), 1000)!;
  mark(); // starting
  lrm.complete(op.opId, 0, 0);
  mark(); // started
  const beforeMonitor = lrm.seq;
  const [mon] = lrm.dueMonitors(1000);
  assert.equal(lrm.seq, beforeMonitor, "beginning a monitor changes nothing");
  lrm.complete(mon.opId, 7, 1000);
  mark(); // failed
  lrm.stopAll();
  mark(); // stopping
  for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i] > seqs[i - 1], `step ${i}: ${seqs}`);
  const last = lrm.seq;
  assert.deepEqual(lrm.complete("no-such-op", 0, 0), {});
  assert.equal(lrm.seq, last, "an unknown op changes nothing");
  assert.equal(lrm.request(dcStop("web", "t9"), 0), null, "queued");
  assert.equal(lrm.seq, last, "queueing changes nothing");
});

Deno.test("table() returns copies", () => {
  const lrm = new LrmState();
  started(lrm, "web");
  const t = lrm.table();
  t.web.state = "failed";
  assert.equal(lrm.table().web.state, "started");
});

Deno.test("done results are remembered for dedupe but advertised only while recent", () => {
  const lrm = new LrmState();
  const op = lrm.request(
    { resource: "web", action: "start", agent: "Dummy", params: {}, origin: "dc", actionId: "a1" },
    0,
  )!;
  lrm.complete(op.opId, 0, 1000);
  assert.deepEqual(lrm.done(1500, 2000), [["a1", true]]);
  assert.deepEqual(lrm.done(5000, 2000), [], "too old to advertise");
  assert.deepEqual(lrm.done(), [["a1", true]], "all remembered ones by default");
  assert.equal(lrm.doneResult("a1"), true, "still known for dedupe");
  assert.equal(lrm.knows("a1"), true);
});
