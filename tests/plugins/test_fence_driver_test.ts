import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runFenceAction, runFenceList, runFenceStatus } from "../../plugins/fence_driver.ts";
import TestFence, {
  readTestFenceState,
  setTestFenceBehaviour,
  type TestFenceParams,
} from "../../plugins/test_fence_driver.ts";
import { runFenceDriverContract } from "./fence_driver_contract.ts";

runFenceDriverContract(TestFence, (dir) => ({ stateFile: join(dir, "fence.json") }), {
  invalidParams: [{}, { stateFile: "" }, { stateFile: "/x", delayMs: -1 }, {
    stateFile: "/x",
    failFor: "n1",
  }],
});

/** Runs `body` with a fresh state file path, removing its directory afterwards. */
async function withStateFile(body: (stateFile: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "vgl-testfence-"));
  try {
    await body(join(dir, "fence.json"));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function params(stateFile: string, extra: Partial<TestFenceParams> = {}): TestFenceParams {
  return TestFence.params.parse({ stateFile, ...extra });
}

const log = () => {};

Deno.test("test-fence: off, then on, are recorded with power and history", async () => {
  await withStateFile(async (stateFile) => {
    const p = params(stateFile);
    assert.deepEqual(await readTestFenceState(stateFile), { power: {}, history: [] });
    assert.equal((await runFenceStatus(TestFence, { params: p, target: "n2", log })).power, "on");
    const off = await runFenceAction(TestFence, "off", { params: p, target: "n2", log });
    assert.deepEqual(off, { ok: true, timedOut: false, detail: "off n2: done" });
    assert.equal((await runFenceStatus(TestFence, { params: p, target: "n2", log })).power, "off");
    await runFenceAction(TestFence, "on", { params: p, target: "n2", log });
    await runFenceAction(TestFence, "reboot", { params: p, target: "n3", log });
    const state = await readTestFenceState(stateFile);
    assert.deepEqual(state.power, { n2: "on", n3: "on" });
    assert.deepEqual(state.history, [
      { seq: 1, target: "n2", action: "off", result: "ok" },
      { seq: 2, target: "n2", action: "on", result: "ok" },
      { seq: 3, target: "n3", action: "reboot", result: "ok" },
    ]);
    assert.deepEqual(await runFenceList(TestFence, { params: p, log }), ["n2", "n3"]);
  });
});

Deno.test("test-fence: failFor fails and records, power unchanged", async () => {
  await withStateFile(async (stateFile) => {
    const p = params(stateFile, { failFor: ["n3"] });
    const failed = await runFenceAction(TestFence, "off", { params: p, target: "n3", log });
    assert.equal(failed.ok, false);
    assert.match(failed.detail, /failed \(as configured\)/);
    const other = await runFenceAction(TestFence, "off", { params: p, target: "n2", log });
    assert.equal(other.ok, true);
    const all = params(stateFile, { failFor: ["*"] });
    assert.equal(
      (await runFenceAction(TestFence, "off", { params: all, target: "n2", log })).ok,
      false,
    );
    const state = await readTestFenceState(stateFile);
    assert.deepEqual(state.power, { n2: "off" });
    assert.deepEqual(state.history.map((h) => `${h.target}:${h.result}`), [
      "n3:failed",
      "n2:ok",
      "n2:failed",
    ]);
  });
});

Deno.test("test-fence: hangFor hangs until the call's timeout, recorded as aborted", async () => {
  await withStateFile(async (stateFile) => {
    const p = params(stateFile, { hangFor: ["n2"] });
    const started = performance.now();
    const outcome = await runFenceAction(TestFence, "off", {
      params: p,
      target: "n2",
      log,
      timeoutMs: 100,
    });
    const elapsed = performance.now() - started;
    assert.equal(outcome.timedOut, true);
    assert.equal(outcome.ok, false);
    assert.ok(elapsed >= 90 && elapsed < 2000, `took ${elapsed} ms`);
    // The driver records the abort shortly after the runner gave up.
    let state = await readTestFenceState(stateFile);
    for (let i = 0; i < 50 && state.history.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
      state = await readTestFenceState(stateFile);
    }
    assert.deepEqual(state.history, [{ seq: 1, target: "n2", action: "off", result: "aborted" }]);
    assert.deepEqual(state.power, {});
  });
});

Deno.test("test-fence: behaviour set in the state file overrides the params", async () => {
  await withStateFile(async (stateFile) => {
    const p = params(stateFile);
    await setTestFenceBehaviour(stateFile, { failFor: ["n2"] });
    assert.equal(
      (await runFenceAction(TestFence, "off", { params: p, target: "n2", log })).ok,
      false,
    );
    await setTestFenceBehaviour(stateFile, {});
    assert.equal(
      (await runFenceAction(TestFence, "off", { params: p, target: "n2", log })).ok,
      true,
    );
    const state = await readTestFenceState(stateFile);
    assert.equal(state.failFor, undefined);
    assert.deepEqual(state.history.map((h) => h.result), ["failed", "ok"]);
  });
});

Deno.test("test-fence: nodes limits what it fences, lists and reports", async () => {
  await withStateFile(async (stateFile) => {
    const p = params(stateFile, { nodes: ["n1", "n2"] });
    const outside = await runFenceAction(TestFence, "off", { params: p, target: "n9", log });
    assert.equal(outside.ok, false);
    assert.match(outside.detail, /not one of this device's nodes/);
    assert.equal(
      (await runFenceStatus(TestFence, { params: p, target: "n9", log })).power,
      "unknown",
    );
    assert.deepEqual(await runFenceList(TestFence, { params: p, log }), ["n1", "n2"]);
  });
});

Deno.test("test-fence: concurrent fences through one file keep every history entry", async () => {
  await withStateFile(async (stateFile) => {
    const p = params(stateFile, { delayMs: 5 });
    const targets = ["n1", "n2", "n3", "n4", "n5", "n6"];
    const outcomes = await Promise.all(
      targets.map((target) => runFenceAction(TestFence, "off", { params: p, target, log })),
    );
    assert.ok(outcomes.every((o) => o.ok));
    const state = await readTestFenceState(stateFile);
    assert.deepEqual(state.history.map((h) => h.seq), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(new Set(state.history.map((h) => h.target)), new Set(targets));
    assert.ok(targets.every((t) => state.power[t] === "off"));
  });
});

Deno.test("test-fence: a corrupt state file is an error naming the file", async () => {
  await withStateFile(async (stateFile) => {
    await writeFile(stateFile, "{ not json");
    await assert.rejects(readTestFenceState(stateFile), new RegExp(`${stateFile}: not JSON`));
    await writeFile(stateFile, JSON.stringify({ power: { n1: "dim" }, history: [] }));
    await assert.rejects(readTestFenceState(stateFile), /not a test-fence state file: power\.n1/);
    const outcome = await runFenceAction(TestFence, "off", {
      params: params(stateFile),
      target: "n1",
      log,
    });
    assert.equal(outcome.ok, false);
    assert.match(outcome.detail, /not a test-fence state file/);
  });
});
