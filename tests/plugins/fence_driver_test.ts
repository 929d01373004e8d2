import assert from "node:assert/strict";
import { z } from "zod";
import {
  defineFenceDriver,
  type FenceDriverDefinition,
  parseFenceDriverParams,
  PluginError,
  runFenceAction,
  runFenceList,
  runFenceStatus,
  validateFenceDriver,
} from "../../plugins/fence_driver.ts";

function validDefinition(): Record<string, unknown> {
  return {
    kind: "fence-driver",
    name: "test_driver-1",
    version: "1.0.0",
    description: "test",
    params: z.object({ n: z.number().default(1).describe("n") }),
    actions: {
      fence: () => Promise.resolve({ ok: true, detail: "done" }),
      status: () => Promise.resolve({ power: "on", detail: "on" }),
    },
    timeouts: { fence: 1000, status: 500 },
  };
}

/** Asserts validation of `value` fails with a message naming the source and `field`. */
function assertRejects(value: unknown, field: string, message?: RegExp): void {
  assert.throws(
    () => validateFenceDriver(value, "plugins/f.ts"),
    (err: unknown) => {
      assert.ok(err instanceof PluginError, `not a PluginError: ${err}`);
      assert.equal(err.source, "plugins/f.ts");
      assert.ok(
        err.message.split("\n").some((line) => line.startsWith(`plugins/f.ts: ${field}: `)),
        `message does not name ${field}: ${err.message}`,
      );
      if (message) assert.match(err.message, message);
      return true;
    },
  );
}

/** A driver whose fence and status are the given functions, with short timeouts. */
function driver(
  fence: FenceDriverDefinition<{ n: number }>["actions"]["fence"],
  status: FenceDriverDefinition<{ n: number }>["actions"]["status"] = () =>
    Promise.resolve({ power: "off", detail: "off" }),
): FenceDriverDefinition<{ n: number }> {
  return defineFenceDriver({
    kind: "fence-driver",
    name: "d",
    version: "1",
    description: "d",
    params: z.object({ n: z.number() }),
    actions: { fence, status },
    timeouts: { fence: 100, status: 100 },
  });
}

const request = { params: { n: 1 }, target: "n2", log: () => {} };

Deno.test("validateFenceDriver accepts a valid definition, list optional", () => {
  const def = validDefinition();
  const checked = validateFenceDriver(def, "plugins/f.ts");
  assert.equal(checked.name, "test_driver-1");
  assert.equal(checked.actions.list, undefined);
  const withList = validDefinition();
  (withList.actions as Record<string, unknown>).list = () => Promise.resolve(["n1"]);
  (withList.timeouts as Record<string, unknown>).list = 100;
  assert.equal(typeof validateFenceDriver(withList, "f.ts").actions.list, "function");
});

Deno.test("validateFenceDriver: bad fields are named with the file", () => {
  const noFence = validDefinition();
  delete (noFence.actions as Record<string, unknown>).fence;
  assertRejects(noFence, "actions.fence", /expected a function/);
  const badList = validDefinition();
  (badList.actions as Record<string, unknown>).list = [];
  assertRejects(badList, "actions.list");
  const badTimeout = validDefinition();
  (badTimeout.timeouts as Record<string, unknown>).status = 0;
  assertRejects(badTimeout, "timeouts.status");
  const wrongKind = validDefinition();
  wrongKind.kind = "resource-agent";
  assertRejects(wrongKind, "kind");
  const badParams = validDefinition();
  badParams.params = "n:number";
  assertRejects(badParams, "params", /expected a zod schema/);
});

Deno.test("parseFenceDriverParams names the source and field under params", () => {
  const def = validateFenceDriver(validDefinition(), "f.ts");
  assert.deepEqual(parseFenceDriverParams(def, {}, "n1.json: fencing[0]"), { n: 1 });
  assert.throws(
    () => parseFenceDriverParams(def, { n: "x" }, "n1.json: fencing[0]"),
    (err: Error) =>
      err instanceof PluginError && /n1\.json: fencing\[0\]: params\.n: /.test(err.message),
  );
});

Deno.test("runFenceAction passes target, action, timeout and a live signal", async () => {
  let seen: Record<string, unknown> = {};
  const def = driver((ctx) => {
    seen = {
      target: ctx.target,
      action: ctx.action,
      timeoutMs: ctx.timeoutMs,
      aborted: ctx.signal.aborted,
      n: ctx.params.n,
    };
    return Promise.resolve({ ok: true, detail: "x".repeat(2000) });
  });
  const outcome = await runFenceAction(def, "off", request);
  assert.deepEqual(seen, { target: "n2", action: "off", timeoutMs: 100, aborted: false, n: 1 });
  assert.equal(outcome.ok, true);
  assert.equal(outcome.timedOut, false);
  assert.equal(outcome.detail.length, 500, "detail is bounded");
  const longer = await runFenceAction(def, "reboot", { ...request, timeoutMs: 250 });
  assert.equal(longer.ok, true);
  assert.equal(seen.timeoutMs, 250);
  assert.equal(seen.action, "reboot");
});

Deno.test("runFenceAction: a hanging driver times out and its signal is aborted", async () => {
  let signal: AbortSignal | undefined;
  const def = driver((ctx) => {
    signal = ctx.signal;
    return new Promise((resolve) => {
      ctx.signal.addEventListener("abort", () => resolve({ ok: true, detail: "late" }));
    });
  });
  const started = performance.now();
  const outcome = await runFenceAction(def, "off", { ...request, timeoutMs: 50 });
  assert.ok(performance.now() - started < 1000);
  assert.deepEqual(outcome, { ok: false, timedOut: true, detail: "off n2: timed out after 50 ms" });
  assert.equal(signal?.aborted, true);
});

Deno.test("runFenceAction: a throw, an invalid result or a cancel is a failure", async () => {
  const threw = await runFenceAction(
    driver(() => Promise.reject(new Error("no route"))),
    "off",
    request,
  );
  assert.deepEqual(threw, { ok: false, timedOut: false, detail: "off n2: no route" });
  const syncThrow = await runFenceAction(
    driver(() => {
      throw new Error("sync");
    }),
    "on",
    request,
  );
  assert.equal(syncThrow.ok, false);
  assert.match(syncThrow.detail, /sync/);
  const invalid = await runFenceAction(
    driver(() => Promise.resolve({ ok: "yes" } as unknown as { ok: boolean; detail: string })),
    "off",
    request,
  );
  assert.equal(invalid.ok, false);
  assert.match(invalid.detail, /invalid result/);
  const outer = new AbortController();
  const hanging = driver((ctx) =>
    new Promise((resolve) =>
      ctx.signal.addEventListener("abort", () => resolve({ ok: true, detail: "" }))
    )
  );
  const cancelled = runFenceAction(hanging, "off", { ...request, signal: outer.signal });
  outer.abort();
  const result = await cancelled;
  assert.equal(result.ok, false);
  assert.equal(result.timedOut, false);
  assert.match(result.detail, /cancelled/);
  const pre = await runFenceAction(hanging, "off", { ...request, signal: outer.signal });
  assert.match(pre.detail, /cancelled before it started/);
});

Deno.test("runFenceStatus: answers, and any failure is unknown", async () => {
  const ok = await runFenceStatus(driver(() => Promise.resolve({ ok: true, detail: "" })), request);
  assert.deepEqual(ok, { power: "off", detail: "off" });
  const bad = await runFenceStatus(
    driver(
      () => Promise.resolve({ ok: true, detail: "" }),
      () => Promise.resolve({ power: "dim", detail: "" } as never),
    ),
    request,
  );
  assert.equal(bad.power, "unknown");
  const slow = await runFenceStatus(
    driver(
      () => Promise.resolve({ ok: true, detail: "" }),
      () => new Promise(() => {}),
    ),
    { ...request, timeoutMs: 30 },
  );
  assert.deepEqual(slow, { power: "unknown", detail: "status n2: timed out after 30 ms" });
});

Deno.test("runFenceList: null without list or on failure, the names otherwise", async () => {
  const lines: string[] = [];
  const base = driver(() => Promise.resolve({ ok: true, detail: "" }));
  assert.equal(await runFenceList(base, { params: { n: 1 }, log: (l) => lines.push(l) }), null);
  const listing: FenceDriverDefinition<{ n: number }> = {
    ...base,
    actions: { ...base.actions, list: () => Promise.resolve(["n1", "n2"]) },
  };
  assert.deepEqual(await runFenceList(listing, { params: { n: 1 }, log: () => {} }), ["n1", "n2"]);
  const broken: FenceDriverDefinition<{ n: number }> = {
    ...base,
    actions: { ...base.actions, list: () => Promise.resolve([""]) },
  };
  assert.equal(await runFenceList(broken, { params: { n: 1 }, log: (l) => lines.push(l) }), null);
  assert.deepEqual(lines, ["list: driver returned an invalid list"]);
});
