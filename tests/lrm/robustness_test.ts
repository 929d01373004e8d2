/**
 * The LRM against agents that misbehave, with real processes: the OCF fixture
 * tests/fixtures/ocf/Misbehave in a temporary OCF_ROOT, and TypeScript agents that throw
 * or never settle. None of them may wedge the executor or the LRM's bookkeeping.
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { z } from "zod";
import { MAX_OUTPUT_BYTES, OperationExecutor } from "../../core/lrm/executor.ts";
import { LrmState } from "../../core/lrm/lrm_state.ts";
import { defineResourceAgent, OCF } from "../../plugins/resource_agent.ts";
import { ocfAgent } from "../../ra/ocf_adapter.ts";
import {
  alive,
  killLeftovers,
  makeOcfRoot,
  type OcfRoot,
  readPid,
  waitGone,
} from "../fixtures/ocf/ocf_root.ts";

const utf8 = (s: string) => new TextEncoder().encode(s).length;

/** A temporary OCF root and state directory for one test; removed (and PIDs killed) after. */
async function withFixture(
  fn: (env: { ocf: OcfRoot; dir: string; pids: number[] }) => Promise<void>,
): Promise<void> {
  const ocf = await makeOcfRoot();
  const dir = await Deno.makeTempDir({ prefix: "vigil-lrm-robust-" });
  const pids: number[] = [];
  try {
    await fn({ ocf, dir, pids });
  } finally {
    killLeftovers(pids);
    await Deno.remove(dir, { recursive: true });
    await ocf.remove();
  }
}

function misbehave(ocf: OcfRoot) {
  const agent = ocfAgent("ocf:vigiltest:Misbehave", { ocfRoot: ocf.root });
  assert.ok(agent, "fixture agent not found");
  return agent;
}

Deno.test("robustness: a hanging script and its child are killed as a group at the timeout; the next operation runs at once", async () => {
  await withFixture(async ({ ocf, dir, pids }) => {
    const agent = misbehave(ocf);
    const exec = new OperationExecutor({ node: "n1", stateDir: dir, maxConcurrent: 1 });
    const params = { dir, hang: "start" };
    const began = performance.now();
    // Both queued at once; with one slot, the monitor waits for the hung start.
    const [start, monitor] = await Promise.all([
      exec.run({ resourceId: "r1", agent, action: "start", params, timeoutMs: 600 }),
      exec.run({ resourceId: "r1", agent, action: "monitor", params, timeoutMs: 5_000 }),
    ]);
    const elapsed = performance.now() - began;

    assert.equal(start.status, "timeout");
    assert.equal(start.rc, OCF.ERR_GENERIC);
    assert.ok(start.durationMs >= 590 && start.durationMs < 1_000, `${start.durationMs} ms`);
    assert.match(start.output, /hanging in start/);
    assert.match(start.output, /start of r1 timed out after 600 ms/);

    // The slot was handed over at the timeout, not after the kill grace.
    assert.equal(monitor.status, "done");
    assert.equal(monitor.rc, OCF.NOT_RUNNING);
    const gap = monitor.startedAt - start.startedAt;
    assert.ok(gap >= 590 && gap < 1_000, `monitor began ${gap} ms after the start`);
    assert.ok(elapsed < 3_000, `both took ${elapsed} ms`);

    const leader = readPid(`${dir}/start.leader.pid`);
    const child = readPid(`${dir}/start.child.pid`);
    assert.ok(leader !== undefined && child !== undefined, "fixture wrote no PIDs");
    pids.push(leader, child);
    // SIGTERM is ignored by both; SIGKILL follows after the adapter's grace (500 ms).
    assert.deepEqual(await waitGone(pids, 3_000), [], "the process group survived");
  });
});

Deno.test("robustness: a script printing 100 MiB completes with bounded output and memory, tail kept", async () => {
  await withFixture(async ({ ocf, dir }) => {
    const agent = misbehave(ocf);
    const exec = new OperationExecutor({ node: "n1", stateDir: dir });
    const flood = (bytes: number) =>
      exec.run({
        resourceId: "r1",
        agent,
        action: "monitor",
        params: { dir, flood: "monitor", flood_bytes: bytes },
        timeoutMs: 60_000,
      });
    // A first small flood warms the code paths up, so the measure below is of the data.
    await flood(2 ** 20);
    const heapBefore = Deno.memoryUsage().heapUsed;
    let heapPeak = heapBefore;
    const sampler = setInterval(() => {
      heapPeak = Math.max(heapPeak, Deno.memoryUsage().heapUsed);
    }, 5);
    let result;
    try {
      result = await flood(100 * 2 ** 20);
    } finally {
      clearInterval(sampler);
    }
    assert.equal(result.status, "done");
    assert.equal(result.rc, OCF.NOT_RUNNING);
    assert.ok(utf8(result.output) <= MAX_OUTPUT_BYTES, `${utf8(result.output)} bytes kept`);
    assert.ok(result.output.startsWith("[output truncated]\n"));
    // The tail: the last flood lines, then what the script printed after the flood.
    // fold -w 99 of 100 MiB: full lines of 99, then the remainder (without a newline).
    const rest = (100 * 2 ** 20) % 99;
    const tail = new RegExp(`\nx{99}\nx{${rest}}flood done\ncheck level 0, timeout 60000$`);
    assert.match(result.output.slice(-1000), tail);
    const growthMiB = (heapPeak - heapBefore) / 2 ** 20;
    // 100 MiB passed through; what stays is the 64 KiB tail plus garbage not yet collected
    // (V8's young generation alone may hold tens of MiB; measured 10 to 26 MiB, and the
    // same for 200 MiB of output). Keeping the output would take over 100 MiB.
    assert.ok(growthMiB < 60, `heap grew ${growthMiB.toFixed(1)} MiB`);
    console.log(
      `100 MiB of output: ${result.durationMs.toFixed(0)} ms, heap peak +${
        growthMiB.toFixed(1)
      } MiB`,
    );
  });
});

Deno.test("robustness: an unexpected exit code and a death by signal are reported as such", async () => {
  await withFixture(async ({ ocf, dir }) => {
    const agent = misbehave(ocf);
    const exec = new OperationExecutor({ node: "n1", stateDir: dir });

    const odd = await exec.run({
      resourceId: "r1",
      agent,
      action: "start",
      params: { dir, exit_on: "start", exit_code: 42 },
    });
    assert.equal(odd.rc, 42, "the raw exit code, not mapped to an OCF code");
    assert.equal(odd.status, "error");
    assert.equal(odd.rcText, "unexpected exit code 42");
    assert.match(odd.output, /start of r1: unexpected exit code 42/);

    const killed = await exec.run({
      resourceId: "r1",
      agent,
      action: "stop",
      params: { dir, selfkill: "stop" },
    });
    assert.equal(killed.status, "error");
    assert.equal(killed.rc, OCF.ERR_GENERIC);
    assert.match(killed.output, /stop of r1 failed: Error: stop: killed by SIGKILL/);

    // OCF codes beyond 7 are OCF results, not errors.
    const degraded = await exec.run({
      resourceId: "r1",
      agent,
      action: "monitor",
      params: { dir, exit_on: "monitor", exit_code: 190 },
    });
    assert.equal(degraded.status, "done");
    assert.equal(degraded.rc, 190);
    assert.equal(degraded.rcText, "degraded");

    // The executor still works normally afterwards.
    const start = await exec.run({ resourceId: "r1", agent, action: "start", params: { dir } });
    assert.equal(start.rc, OCF.OK);
    assert.ok(existsSync(`${dir}/r1.state`));
  });
});

Deno.test("robustness: TypeScript agents that throw or never settle do not wedge the executor", async () => {
  let abandoned = 0;
  const agent = defineResourceAgent({
    kind: "resource-agent",
    name: "Rogue",
    version: "0.0.0",
    description: "throws on start, never settles on monitor (ignores its signal), stops fine",
    params: z.object({}),
    actions: {
      start: () => {
        throw new RangeError("boom");
      },
      stop: () => Promise.resolve(OCF.OK),
      monitor: () => {
        abandoned++;
        return new Promise<number>(() => {});
      },
    },
    timeouts: { start: 1_000, stop: 1_000, monitor: 80 },
  });
  const exec = new OperationExecutor({ node: "n1", stateDir: "/nonexistent", maxConcurrent: 2 });
  const runs = [
    exec.run({ resourceId: "a", agent, action: "monitor", params: {} }),
    exec.run({ resourceId: "b", agent, action: "monitor", params: {} }),
    exec.run({ resourceId: "c", agent, action: "start", params: {} }),
    exec.run({ resourceId: "d", agent, action: "stop", params: {} }),
  ];
  assert.equal(exec.running, 2);
  assert.equal(exec.queued, 2);
  const [a, b, c, d] = await Promise.all(runs);
  assert.equal(abandoned, 2);
  assert.deepEqual([a.status, b.status], ["timeout", "timeout"]);
  assert.equal(c.status, "error");
  assert.match(c.output, /start of c failed: RangeError: boom/);
  assert.equal(d.status, "done");
  assert.equal(d.rc, OCF.OK);
  // Both slots came back although the two monitors never settle.
  assert.equal(exec.running, 0);
  assert.equal(exec.queued, 0);
});

Deno.test("robustness: the LRM records a hung start as a timeout and runs the queued stop right after", async () => {
  await withFixture(async ({ ocf, dir, pids }) => {
    const agent = misbehave(ocf);
    const exec = new OperationExecutor({ node: "n1", stateDir: dir });
    const lrm = new LrmState();
    const params = { dir, hang: "start" };
    const start = lrm.request({
      resource: "r1",
      action: "start",
      agent: "ocf:vigiltest:Misbehave",
      params,
      origin: "dc",
      actionId: "n1:1:1:r1_start_n1",
      requestedBy: "n1",
      timeoutMs: 500,
    }, 0)!;
    assert.equal(
      lrm.request({ resource: "r1", action: "stop", agent: "x", params, origin: "self-stop" }, 0),
      null,
      "the stop waits behind the start",
    );
    const run = (op: NonNullable<typeof start>) =>
      exec.run({
        resourceId: op.resource,
        agent,
        action: op.action,
        params: op.params,
        ...(op.timeoutMs !== undefined ? { timeoutMs: op.timeoutMs } : {}),
      });
    const began = performance.now();
    const first = await run(start);
    const { outcome, next } = lrm.complete(start.opId, first.rc, performance.now(), first);
    assert.equal(outcome?.after, "failed");
    assert.ok(next && next.action === "stop", "the queued stop is next");
    const second = await run(next);
    lrm.complete(next.opId, second.rc, performance.now(), second);
    const elapsed = performance.now() - began;
    assert.ok(elapsed < 1_500, `start timeout + stop took ${elapsed} ms`);

    const detail = lrm.details().r1;
    assert.equal(detail.state, "stopped");
    assert.equal(detail.failCount, 1);
    assert.deepEqual(
      detail.ops.map((o) => [o.action, o.status, o.rc]),
      [["start", "timeout", 1], ["stop", "done", 0]],
    );
    assert.equal(detail.lastFailure?.action, "start");
    assert.equal(detail.lastFailure?.status, "timeout");
    assert.match(detail.ops[0].output, /timed out after 500 ms/);

    for (const f of ["start.leader.pid", "start.child.pid"]) {
      const pid = readPid(`${dir}/${f}`);
      if (pid !== undefined) pids.push(pid);
    }
    assert.equal(pids.length, 2);
    assert.deepEqual(await waitGone(pids), []);
    assert.ok(!pids.some(alive));
  });
});
