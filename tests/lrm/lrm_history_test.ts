import assert from "node:assert/strict";
import { type LrmOperation, LrmState } from "../../core/lrm/lrm_state.ts";
import { MAX_RECORD_OUTPUT_BYTES } from "../../core/lrm/operation_record.ts";
import { OCF_CODES } from "../../core/lrm/ocf_codes.ts";

type Req = Omit<LrmOperation, "opId">;

const start = (resource: string, actionId = `${resource}-start`): Req => ({
  resource,
  action: "start",
  agent: "Dummy",
  params: { p: 1 },
  origin: "dc",
  actionId,
  requestedBy: "n1",
});
const stop = (resource: string, actionId = `${resource}-stop`): Req => ({
  ...start(resource, actionId),
  action: "stop",
});
const done = (durationMs: number, output = "", startedAt?: number) => ({
  status: "done" as const,
  durationMs,
  output,
  ...(startedAt !== undefined ? { startedAt } : {}),
});

/** Starts `resource` with a recurring monitor of `monitorMs`, completing at `now`. */
function started(lrm: LrmState, resource: string, monitorMs: number, now = 0): void {
  const op = lrm.request(start(resource), monitorMs)!;
  lrm.complete(op.opId, 0, now, done(5, "started"));
}

Deno.test("history: the last run per operation and interval, with rc text, duration and output", () => {
  const lrm = new LrmState();
  const probe = lrm.request(
    { resource: "web", action: "monitor", agent: "Dummy", params: {}, origin: "probe" },
    1_000,
  )!;
  lrm.complete(probe.opId, 7, 10, done(3, "not here", 1_700_000_000_000));
  started(lrm, "web", 1_000, 20);
  const [m1] = lrm.dueMonitors(1_020);
  assert.equal(m1.intervalMs, 1_000);
  lrm.complete(m1.opId, 0, 1_030, done(4, "first"));
  const [m2] = lrm.dueMonitors(2_030);
  lrm.complete(m2.opId, 0, 2_040, done(6, "second"));

  const d = lrm.details().web;
  assert.equal(d.state, "started");
  assert.equal(d.agent, "Dummy");
  assert.equal(d.monitorMs, 1_000);
  assert.equal(d.running, null);
  assert.equal(d.queued, 0);
  assert.equal(d.lastFailure, null);
  // One record per key, the recurring monitor's latest run replacing the earlier one.
  assert.deepEqual(
    d.ops.map((o) => [o.action, o.intervalMs, o.origin, o.rc, o.rcText, o.output]),
    [
      ["monitor", 0, "probe", 7, "not running", "not here"],
      ["start", 0, "dc", 0, "ok", "started"],
      ["monitor", 1_000, "monitor", 0, "ok", "second"],
    ],
  );
  assert.deepEqual(d.ops.map((o) => o.callId), [1, 2, 4], "call ids grow with every run");
  assert.equal(d.ops[0].startedAt, 1_700_000_000_000, "the shell's wall-clock start");
  assert.equal(d.ops[0].durationMs, 3);
  assert.equal(d.ops[2].startedAt, 2_040 - 6, "without one: completion time minus duration");
  assert.equal(d.ops[2].opId, m2.opId);
  assert.equal(d.ops[2].status, "done");
});

Deno.test("history: without detail (the simulator), status follows the code and output is empty", () => {
  const lrm = new LrmState();
  const op = lrm.request(start("db"), 0)!;
  lrm.complete(op.opId, 42, 100);
  const [rec] = lrm.details().db.ops;
  assert.deepEqual(
    { status: rec.status, rc: rec.rc, rcText: rec.rcText, at: rec.startedAt, out: rec.output },
    { status: "error", rc: 42, rcText: "unexpected exit code 42", at: 100, out: "" },
  );
  assert.equal(lrm.table().db.state, "failed");
  assert.equal(lrm.table().db.lastRc, 42, "the raw code is what the table reports");
});

Deno.test("history: output kept per record is bounded, keeping the tail", () => {
  const lrm = new LrmState();
  const op = lrm.request(start("web"), 0)!;
  const output = Array.from({ length: 2_000 }, (_, i) => `line ${i}`).join("\n");
  lrm.complete(op.opId, 0, 1, done(1, output));
  const kept = lrm.details().web.ops[0].output;
  assert.ok(new TextEncoder().encode(kept).length <= MAX_RECORD_OUTPUT_BYTES);
  assert.ok(kept.startsWith("[output truncated]\n"));
  assert.ok(kept.endsWith("\nline 1999"));
});

Deno.test("fail count and last failure: a failed monitor counts once, recovery keeps the count", () => {
  const lrm = new LrmState();
  started(lrm, "web", 500);
  const [mon] = lrm.dueMonitors(500);
  lrm.complete(mon.opId, OCF_CODES.NOT_RUNNING, 510, done(2, "gone", 1_000_508));
  let d = lrm.details().web;
  assert.equal(d.state, "failed");
  assert.equal(d.failCount, 1);
  assert.deepEqual(d.lastFailure, {
    at: 1_000_510,
    action: "monitor",
    intervalMs: 500,
    rc: 7,
    rcText: "not running",
    status: "done",
    callId: Number(mon.opId.slice(2)),
  });
  // The DC recovers it in place: stop, start. The count stays, the failure is remembered.
  const s = lrm.request(stop("web"), 500)!;
  lrm.complete(s.opId, 0, 600, done(1));
  started(lrm, "web", 500, 700);
  d = lrm.details().web;
  assert.equal(d.state, "started");
  assert.equal(d.failCount, 1);
  assert.equal(d.lastFailure?.action, "monitor");
  // A second failure raises it again.
  const [again] = lrm.dueMonitors(1_200);
  lrm.complete(again.opId, OCF_CODES.ERR_GENERIC, 1_210, { ...done(1), status: "timeout" });
  d = lrm.details().web;
  assert.equal(d.failCount, 2);
  assert.equal(d.lastFailure?.status, "timeout");
  assert.equal(d.lastFailure?.rc, 1);
  assert.equal(lrm.table().web.failCount, 2, "the table the DC sees has the same count");
});

Deno.test("monitor codes: promoted and degraded are running; failed-promoted is a failure", () => {
  for (
    const [rc, state] of [
      [OCF_CODES.RUNNING_PROMOTED, "started"],
      [OCF_CODES.DEGRADED, "started"],
      [OCF_CODES.DEGRADED_PROMOTED, "started"],
      [OCF_CODES.FAILED_PROMOTED, "failed"],
    ] as const
  ) {
    const lrm = new LrmState();
    started(lrm, "r", 100);
    const [mon] = lrm.dueMonitors(100);
    const { outcome } = lrm.complete(mon.opId, rc, 110);
    assert.equal(outcome?.after, state, `rc ${rc}`);
    assert.equal(outcome?.ok, state === "started");
    assert.equal(lrm.details().r.ops.at(-1)?.status, "done");
  }
});

Deno.test("cleanup forgets fail count and last failure, raising seq once", () => {
  const lrm = new LrmState();
  const op = lrm.request(start("web"), 0)!;
  lrm.complete(op.opId, 1, 5);
  assert.equal(lrm.table().web.failCount, 1);
  const seq = lrm.seq;
  assert.equal(lrm.cleanup("web"), true);
  assert.equal(lrm.seq, seq + 1);
  assert.equal(lrm.table().web.failCount, 0);
  assert.equal(lrm.details().web.lastFailure, null);
  assert.equal(lrm.details().web.ops.length, 1, "the history stays");
  assert.equal(lrm.cleanup("web"), true);
  assert.equal(lrm.seq, seq + 1, "nothing to forget: no change");
  assert.equal(lrm.cleanup("nope"), false);
});

Deno.test("probeAll probes idle resources, skips busy ones, and sets how they are monitored", () => {
  const lrm = new LrmState();
  const busy = lrm.request(start("db"), 0)!;
  const probes = lrm.probeAll([
    { id: "web", agent: "Dummy", params: { a: 1 }, monitorMs: 300 },
    { id: "db", agent: "Dummy", params: {}, monitorMs: 0 },
  ]);
  assert.deepEqual(
    probes.map((p) => [p.resource, p.action, p.origin, p.intervalMs]),
    [["web", "monitor", "probe", undefined]],
  );
  assert.deepEqual(lrm.details().db.running, { opId: busy.opId, action: "start", origin: "dc" });
  // The probe finds it running: the recurring monitor of 300 ms follows.
  lrm.complete(probes[0].opId, 0, 10);
  assert.equal(lrm.table().web.state, "started");
  assert.equal(lrm.nextMonitorAt(), 310);
  assert.equal(lrm.dueMonitors(310)[0]?.intervalMs, 300);
});

Deno.test("monitor settings given at start carry into every recurring monitor", () => {
  const lrm = new LrmState();
  const op = lrm.request(start("web"), 100, { timeoutMs: 2_500, depth: 10 })!;
  lrm.complete(op.opId, 0, 0);
  const [mon] = lrm.dueMonitors(100);
  assert.deepEqual(
    [mon.intervalMs, mon.timeoutMs, mon.depth, mon.origin],
    [100, 2_500, 10, "monitor"],
  );
  // A probe keeps them too.
  lrm.complete(mon.opId, 0, 110);
  const [probe] = lrm.probeAll([{ id: "web", agent: "Dummy", params: {}, monitorMs: 100 }]);
  lrm.complete(probe.opId, 0, 120);
  const [next] = lrm.dueMonitors(220);
  assert.deepEqual([next.timeoutMs, next.depth], [2_500, 10]);
});

Deno.test("history is bounded per resource (oldest call dropped)", () => {
  const lrm = new LrmState();
  let now = 0;
  for (let interval = 1; interval <= 40; interval++) {
    const s = lrm.request(start("web", `s${interval}`), interval * 10)!;
    lrm.complete(s.opId, 0, now);
    now += interval * 10;
    const [mon] = lrm.dueMonitors(now);
    lrm.complete(mon.opId, 0, now);
  }
  const ops = lrm.details().web.ops;
  assert.equal(ops.length, 16);
  assert.equal(ops.at(-1)?.intervalMs, 400);
  assert.ok(ops.some((o) => o.action === "start"), "the start, re-run last, is still there");
  assert.ok(!ops.some((o) => o.intervalMs === 10), "the oldest monitor key is gone");
});

Deno.test("details({ outputBytes }) cuts each output to its tail, for a compact copy", () => {
  const lrm = new LrmState();
  const op = lrm.request(start("web"), 0)!;
  lrm.complete(op.opId, 0, 1, done(1, "first line\nlast line"));
  assert.equal(lrm.details({ outputBytes: 9 }).web.ops[0].output, "last line");
  assert.equal(lrm.details({ outputBytes: 0 }).web.ops[0].output, "");
  assert.equal(lrm.details().web.ops[0].output, "first line\nlast line");
  assert.throws(() => lrm.details({ outputBytes: -1 }), RangeError);
});

Deno.test("details() returns copies", () => {
  const lrm = new LrmState();
  started(lrm, "web", 0);
  const d = lrm.details();
  d.web.ops[0].rc = 99;
  d.web.failCount = 5;
  assert.equal(lrm.details().web.ops[0].rc, 0);
  assert.equal(lrm.details().web.failCount, 0);
});
