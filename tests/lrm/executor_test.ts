import assert from "node:assert/strict";
import fc from "fast-check";
import { z } from "zod";
import { OperationExecutor } from "../../core/lrm/executor.ts";
import {
  type AgentAction,
  defineResourceAgent,
  OCF,
  type ResourceAgentDefinition,
} from "../../plugins/resource_agent.ts";

const params = z.object({ server: z.object({ port: z.number().int().min(1) }).optional() });
type Params = z.output<typeof params>;

/** A tiny agent whose start is `start`; stop and monitor succeed at once. */
function testAgent(
  start: AgentAction<Params>,
  timeouts = { start: 1000, stop: 1000, monitor: 1000 },
): ResourceAgentDefinition {
  return defineResourceAgent({
    kind: "resource-agent",
    name: "Test",
    version: "0.0.0",
    description: "test agent",
    params,
    actions: {
      start,
      stop: () => Promise.resolve(OCF.OK),
      monitor: () => Promise.resolve(OCF.NOT_RUNNING),
    },
    timeouts,
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const never = () => new Promise<number>(() => {});

function executor(maxConcurrent?: number): OperationExecutor {
  return new OperationExecutor({ node: "alpha", stateDir: "/tmp/vigil-lrm-test", maxConcurrent });
}

Deno.test("executor: passes parsed params and context, returns the agent's rc and log", async () => {
  let seen: unknown;
  const agent = testAgent((ctx) => {
    seen = { params: ctx.params, id: ctx.resourceId, node: ctx.node, dir: ctx.stateDir };
    ctx.log("first");
    ctx.log("second");
    return Promise.resolve(OCF.OK);
  });
  const result = await executor().run({
    resourceId: "r1",
    agent,
    action: "start",
    params: { server: { port: 80 } },
  });
  assert.deepEqual(seen, {
    params: { server: { port: 80 } },
    id: "r1",
    node: "alpha",
    dir: "/tmp/vigil-lrm-test",
  });
  assert.equal(result.rc, OCF.OK);
  assert.equal(result.status, "done");
  assert.equal(result.output, "first\nsecond");
});

Deno.test("executor: a non-zero rc from the agent is reported as done with that rc", async () => {
  const agent = testAgent(() => Promise.resolve(OCF.ERR_INSTALLED));
  const result = await executor().run({ resourceId: "r", agent, action: "start", params: {} });
  assert.equal(result.rc, OCF.ERR_INSTALLED);
  assert.equal(result.status, "done");
});

Deno.test("executor: durationMs comes from the injected clock", async () => {
  let t = 1000;
  const exec = new OperationExecutor({ node: "n", stateDir: "/tmp", now: () => t });
  const agent = testAgent(() => {
    t += 250;
    return Promise.resolve(OCF.OK);
  });
  const result = await exec.run({ resourceId: "r", agent, action: "start", params: {} });
  assert.equal(result.durationMs, 250);
});

Deno.test("executor: a hanging agent times out within the limit and its signal is aborted", async () => {
  let signal: AbortSignal | undefined;
  const agent = testAgent((ctx) => {
    signal = ctx.signal;
    ctx.log("starting");
    return never();
  });
  const began = performance.now();
  const result = await executor().run({
    resourceId: "r",
    agent,
    action: "start",
    params: {},
    timeoutMs: 50,
  });
  const elapsed = performance.now() - began;
  assert.equal(result.status, "timeout");
  assert.equal(result.rc, OCF.ERR_GENERIC);
  assert.ok(elapsed >= 45 && elapsed < 1000, `took ${elapsed} ms`);
  assert.ok(result.durationMs >= 45 && result.durationMs < 1000);
  assert.ok(signal?.aborted, "signal not aborted");
  assert.equal((signal?.reason as DOMException).name, "TimeoutError");
  assert.match(result.output, /^starting\nstart of r timed out after 50 ms$/);
});

Deno.test("executor: without timeoutMs the agent's timeout for the action applies", async () => {
  const agent = testAgent(never, { start: 30, stop: 1000, monitor: 1000 });
  const began = performance.now();
  const result = await executor().run({ resourceId: "r", agent, action: "start", params: {} });
  assert.equal(result.status, "timeout");
  assert.ok(performance.now() - began < 1000);
  assert.match(result.output, /timed out after 30 ms/);
});

Deno.test("executor: what an agent does after its timeout is ignored", async () => {
  let late: (() => void) | undefined;
  const agent = testAgent((ctx) =>
    new Promise((_, reject) => {
      late = () => {
        ctx.log("too late");
        reject(new Error("late failure"));
      };
    })
  );
  const result = await executor().run({
    resourceId: "r",
    agent,
    action: "start",
    params: {},
    timeoutMs: 10,
  });
  assert.equal(result.status, "timeout");
  late!(); // must neither change the result nor surface as an unhandled rejection
  await sleep(5);
  assert.doesNotMatch(result.output, /too late/);
});

Deno.test("executor: a thrown error becomes status error with ERR_GENERIC", async () => {
  const cases: AgentAction<Params>[] = [
    () => Promise.reject(new TypeError("boom")),
    () => {
      throw new TypeError("boom"); // synchronous throw from a non-async action
    },
    // deno-lint-ignore require-await
    async () => {
      throw new TypeError("boom");
    },
  ];
  for (const start of cases) {
    const result = await executor().run({
      resourceId: "r",
      agent: testAgent(start),
      action: "start",
      params: {},
    });
    assert.equal(result.status, "error");
    assert.equal(result.rc, OCF.ERR_GENERIC);
    assert.match(result.output, /start of r failed: TypeError: boom/);
  }
});

Deno.test("executor: a non-OCF return value becomes status error", async () => {
  for (const bad of ["ok", 1.5, -1, 256, undefined]) {
    const agent = testAgent(() => Promise.resolve(bad as unknown as number));
    const result = await executor().run({ resourceId: "r", agent, action: "start", params: {} });
    assert.equal(result.status, "error", `for ${String(bad)}`);
    assert.equal(result.rc, OCF.ERR_GENERIC);
    assert.match(result.output, /invalid code/);
  }
});

Deno.test("executor: invalid params -> invalid-params, ERR_CONFIGURED, field path, agent not run", async () => {
  let ran = false;
  const agent = testAgent(() => {
    ran = true;
    return Promise.resolve(OCF.OK);
  });
  const result = await executor().run({
    resourceId: "r",
    agent,
    action: "start",
    params: { server: { port: 0 } },
  });
  assert.equal(ran, false);
  assert.equal(result.status, "invalid-params");
  assert.equal(result.rc, OCF.ERR_CONFIGURED);
  assert.match(result.output, /server\.port: /);
});

Deno.test("executor: never more than maxConcurrent operations run at once", async () => {
  for (const limit of [1, 2, 4]) {
    let active = 0;
    let maxActive = 0;
    const agent = testAgent(async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      await sleep(10);
      active--;
      return OCF.OK;
    });
    const exec = executor(limit === 4 ? undefined : limit); // 4 is the default
    const results = await Promise.all(
      Array.from(
        { length: 9 },
        (_, i) => exec.run({ resourceId: `r${i}`, agent, action: "start", params: {} }),
      ),
    );
    assert.equal(maxActive, limit);
    assert.ok(results.every((r) => r.status === "done" && r.rc === OCF.OK));
  }
});

Deno.test("executor: queued operations run in arrival order", async () => {
  const order: string[] = [];
  const agent = testAgent(async (ctx) => {
    order.push(ctx.resourceId);
    await sleep(1);
    return OCF.OK;
  });
  const exec = executor(1);
  await Promise.all(
    ["a", "b", "c", "d"].map((id) =>
      exec.run({ resourceId: id, agent, action: "start", params: {} })
    ),
  );
  assert.deepEqual(order, ["a", "b", "c", "d"]);
});

Deno.test("executor: timeout counts from when the operation runs, not while queued", async () => {
  const exec = executor(1);
  const slow = testAgent(async () => {
    await sleep(60);
    return OCF.OK;
  });
  const quick = testAgent(async () => {
    await sleep(5);
    return OCF.OK;
  });
  const [a, b] = await Promise.all([
    exec.run({ resourceId: "slow", agent: slow, action: "start", params: {} }),
    exec.run({ resourceId: "quick", agent: quick, action: "start", params: {}, timeoutMs: 40 }),
  ]);
  assert.equal(a.status, "done");
  assert.equal(b.status, "done");
});

Deno.test("executor: a hung agent frees its slot at its timeout", async () => {
  const exec = executor(1);
  const hung = testAgent(never);
  const ok = testAgent(() => Promise.resolve(OCF.OK));
  const [a, b] = await Promise.all([
    exec.run({ resourceId: "hung", agent: hung, action: "start", params: {}, timeoutMs: 20 }),
    exec.run({ resourceId: "ok", agent: ok, action: "start", params: {}, timeoutMs: 200 }),
  ]);
  assert.equal(a.status, "timeout");
  assert.equal(b.status, "done");
});

Deno.test("executor: bad options and timeouts are programming errors", async () => {
  assert.throws(() => executor(0), RangeError);
  assert.throws(() => executor(1.5), RangeError);
  const agent = testAgent(() => Promise.resolve(OCF.OK));
  for (const timeoutMs of [0, -5, NaN, Infinity]) {
    await assert.rejects(
      executor().run({ resourceId: "r", agent, action: "start", params: {}, timeoutMs }),
      RangeError,
    );
  }
});

const MAX = 64 * 1024;
const utf8 = (s: string) => new TextEncoder().encode(s).length;

Deno.test("executor: output is bounded to 64 KiB, keeping the tail", async () => {
  const agent = testAgent((ctx) => {
    for (let i = 0; i < 20_000; i++) ctx.log(`line ${i}`);
    return Promise.resolve(OCF.OK);
  });
  const { output } = await executor().run({ resourceId: "r", agent, action: "start", params: {} });
  assert.ok(utf8(output) <= MAX, `${utf8(output)} bytes`);
  assert.ok(utf8(output) > MAX - 100, "kept much less than the bound");
  assert.ok(output.startsWith("[output truncated]\n"));
  assert.ok(output.endsWith("\nline 19999"));
});

Deno.test("executor: output bound holds for any lines (property)", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.string({ unit: "binary", maxLength: 30_000 }), { maxLength: 12 }),
      async (lines) => {
        const agent = testAgent((ctx) => {
          for (const line of lines) ctx.log(line);
          return Promise.resolve(OCF.OK);
        });
        const { output } = await executor().run({
          resourceId: "r",
          agent,
          action: "start",
          params: {},
        });
        const full = lines.join("\n");
        assert.ok(utf8(output) <= MAX);
        if (utf8(full) <= MAX) {
          assert.equal(output, full);
        } else {
          assert.ok(output.startsWith("[output truncated]\n"));
          const body = output.slice("[output truncated]\n".length);
          assert.ok(full.endsWith(body), "not a tail of the full output");
        }
      },
    ),
    { numRuns: 60 },
  );
});
