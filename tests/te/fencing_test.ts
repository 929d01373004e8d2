import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  defineFenceDriver,
  type FenceDriverDefinition,
  parseFenceDriverParams,
} from "../../plugins/fence_driver.ts";
import testFenceDriver, {
  readTestFenceState,
  type TestFenceParams,
} from "../../plugins/test_fence_driver.ts";
import { DriverFencing, type FenceCompletion } from "../../core/te/fencing.ts";

/** Runs `body` with a fresh temp dir, removed afterwards. */
async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "vgl-fencing-"));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A DriverFencing over the test driver, with completions collected. */
function testFencing(stateFile: string, params: Record<string, unknown> = {}, timeoutMs?: number) {
  const completions: FenceCompletion[] = [];
  const waiters: Array<() => void> = [];
  const fencing = new DriverFencing<TestFenceParams>({
    driver: testFenceDriver,
    params: parseFenceDriverParams(testFenceDriver, { stateFile, ...params }, "test"),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    onComplete: (c) => {
      completions.push(c);
      for (const w of waiters.splice(0)) w();
    },
  });
  /** Resolves once `n` completions arrived (bounded by 5 s). */
  const until = async (n: number) => {
    const deadline = Date.now() + 5_000;
    while (completions.length < n) {
      if (Date.now() > deadline) throw new Error(`only ${completions.length} of ${n} completions`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return completions;
  };
  return { fencing, completions, until };
}

Deno.test("a confirmed fence is reported ok and recorded by the driver", async () => {
  await withDir(async (dir) => {
    const stateFile = join(dir, "fence.json");
    const { fencing, until } = testFencing(stateFile);
    try {
      const id = fencing.fence("n2", "off", 1234);
      assert.equal(fencing.pending("n2"), 1);
      const [c] = await until(1);
      assert.deepEqual(c, {
        requestId: id,
        target: "n2",
        action: "off",
        ok: true,
        timedOut: false,
        detail: "off n2: done",
        requestedAt: 1234,
      });
      const state = await readTestFenceState(stateFile);
      assert.equal(state.power.n2, "off");
      assert.deepEqual(state.history.map((h) => [h.target, h.action, h.result]), [
        ["n2", "off", "ok"],
      ]);
      assert.equal(fencing.pending(), 0);
    } finally {
      await fencing.close();
    }
  });
});

Deno.test("a failing fence is reported as not ok", async () => {
  await withDir(async (dir) => {
    const stateFile = join(dir, "fence.json");
    const { fencing, until } = testFencing(stateFile, { failFor: ["n3"] });
    try {
      fencing.fence("n3", "reboot", 0);
      const [c] = await until(1);
      assert.equal(c.ok, false);
      assert.equal(c.timedOut, false);
      assert.match(c.detail, /failed \(as configured\)/);
      const state = await readTestFenceState(stateFile);
      assert.equal(state.history[0].result, "failed");
    } finally {
      await fencing.close();
    }
  });
});

Deno.test("a hanging fence times out and is reported as not ok", async () => {
  await withDir(async (dir) => {
    const stateFile = join(dir, "fence.json");
    const { fencing, until } = testFencing(stateFile, { hangFor: ["*"] }, 150);
    try {
      const started = Date.now();
      fencing.fence("n1", "reboot", 0);
      const [c] = await until(1);
      assert.equal(c.ok, false);
      assert.equal(c.timedOut, true);
      assert.match(c.detail, /timed out after 150 ms/);
      assert.ok(Date.now() - started >= 140, "it waited for the timeout");
    } finally {
      await fencing.close();
    }
  });
});

/** A driver that records how many calls run at once, per target and overall. */
function countingDriver(delayMs: number) {
  const running = new Map<string, number>();
  const stats = { maxPerTarget: 0, maxOverall: 0, calls: [] as string[] };
  let overall = 0;
  const driver: FenceDriverDefinition<Record<string, never>> = defineFenceDriver({
    kind: "fence-driver",
    name: "counting",
    version: "1.0.0",
    description: "counts concurrent calls",
    params: testFenceDriver.params as never,
    actions: {
      fence: async (ctx) => {
        const n = (running.get(ctx.target) ?? 0) + 1;
        running.set(ctx.target, n);
        overall++;
        stats.maxPerTarget = Math.max(stats.maxPerTarget, n);
        stats.maxOverall = Math.max(stats.maxOverall, overall);
        stats.calls.push(`${ctx.action} ${ctx.target}`);
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        running.set(ctx.target, running.get(ctx.target)! - 1);
        overall--;
        return { ok: true, detail: `${ctx.action} ${ctx.target}` };
      },
      status: () => Promise.resolve({ power: "unknown" as const, detail: "" }),
    },
    timeouts: { fence: 5_000, status: 1_000 },
  });
  return { driver, stats };
}

Deno.test("requests for one target run one at a time; different targets in parallel", async () => {
  const { driver, stats } = countingDriver(30);
  const completions: FenceCompletion[] = [];
  const fencing = new DriverFencing({ driver, params: {}, onComplete: (c) => completions.push(c) });
  try {
    const a = fencing.fence("n1", "off", 0);
    const b = fencing.fence("n1", "reboot", 0);
    const merged = fencing.fence("n1", "reboot", 0);
    assert.equal(merged, b, "an identical waiting request is merged");
    fencing.fence("n2", "reboot", 0);
    assert.equal(fencing.pending("n1"), 2);
    for (let i = 0; i < 100 && completions.length < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(completions.length, 3);
    assert.equal(stats.maxPerTarget, 1, "never two calls on one target at once");
    assert.equal(stats.maxOverall, 2, "n1 and n2 were fenced in parallel");
    const n1 = completions.filter((c) => c.target === "n1").map((c) => c.requestId);
    assert.deepEqual(n1, [a, b], "in request order");
    assert.ok(completions.every((c) => c.ok));
  } finally {
    await fencing.close();
  }
});

Deno.test("the queue per target is bounded; close fails what is waiting", async () => {
  await withDir(async (dir) => {
    const stateFile = join(dir, "fence.json");
    const completions: FenceCompletion[] = [];
    const fencing = new DriverFencing<TestFenceParams>({
      driver: testFenceDriver,
      params: parseFenceDriverParams(testFenceDriver, { stateFile, hangFor: ["n1"] }, "test"),
      maxQueuedPerTarget: 2,
      onComplete: (c) => completions.push(c),
    });
    let closed = false;
    try {
      fencing.fence("n1", "reboot", 0);
      fencing.fence("n1", "off", 0);
      const refused = fencing.fence("n1", "on", 0);
      assert.equal(completions.length, 0, "never reported synchronously");
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(completions.map((c) => [c.requestId, c.ok]), [[refused, false]]);
      assert.match(completions[0].detail, /2 requests for n1 already queued/);
      // The first hangs (its timeout is the driver's 20 s); close aborts it.
      await fencing.close();
      closed = true;
      assert.equal(completions.length, 3);
      assert.ok(completions.every((c) => !c.ok));
      assert.equal(fencing.pending(), 0);
      fencing.fence("n2", "reboot", 0);
      await new Promise((resolve) => setTimeout(resolve, 10));
      assert.match(completions[3].detail, /shut down/);
    } finally {
      if (!closed) await fencing.close();
    }
  });
});
