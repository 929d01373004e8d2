/**
 * Fencing end to end: a 3-node loopback cluster (node processes running main.ts) with the
 * built-in test fence driver (its state file in the test's temporary directory) and one
 * resource. The node holding it is SIGKILLed; the DC must fence it (the driver's state
 * file records the fence) BEFORE the resource starts on a survivor, and the resource ends
 * on exactly one survivor. Also `GET /explain/:resource` on a non-DC node, forwarded to
 * the DC.
 */

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalCluster, vigilCommand } from "../../bench/local_cluster.ts";
import { readTestFenceState } from "../../plugins/test_fence_driver.ts";

const NAMES = ["n1", "n2", "n3"];

/** Polls `find` every `everyMs` until it returns a value; fails after `timeoutMs`. */
async function poll<T>(
  find: () => Promise<T | undefined>,
  timeoutMs: number,
  what: string,
  cluster: LocalCluster,
  everyMs = 100,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const found = await find();
    if (found !== undefined) return found;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`${what}: not within ${timeoutMs} ms\n${cluster.diagnostics()}`);
}

/** Nodes (of `names`) whose LRM says `id` is started. */
async function startedOn(cluster: LocalCluster, names: string[], id: string): Promise<string[]> {
  const out: string[] = [];
  for (const n of names) {
    if ((await cluster.status(n)).lrm[id]?.state === "started") out.push(n);
  }
  return out;
}

Deno.test("e2e fencing: SIGKILL the holder; the DC fences it before the resource starts elsewhere", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vigil-fence-e2e-"));
  const stateFile = join(dir, "fence.json");
  let cluster: LocalCluster | undefined;
  try {
    cluster = await LocalCluster.start({
      size: 3,
      keepaliveMs: 100,
      deadtimeMs: 500,
      command: vigilCommand("deno"),
      extraConfig: {
        resources: [{ id: "svc", agent: "Dummy", monitor: "1s", location: { n3: 100 } }],
        // Each fence takes 300 ms: a start that did not wait for it would come first.
        fencing: { driver: "test-fence", params: { stateFile, delayMs: 300 } },
      },
    });
    const c = cluster;
    await c.waitForAgreement(NAMES, { timeoutMs: 60_000 });
    await poll(
      async () => (await startedOn(c, NAMES, "svc")).join() === "n3" || undefined,
      20_000,
      "svc started on n3",
      c,
    );
    const dc = (await c.status("n1")).dc;
    assert.ok(dc !== null && dc !== "n3", `the DC (${dc}) is not the holder`);
    assert.equal(existsSync(stateFile), false, "nothing fenced while the cluster is healthy");

    const startedSeq = c.events.at(-1)?.seq ?? 0;
    c.kill("n3");
    // The driver's state file records the fence; its write time is when the fence was done.
    const fencedAt = await poll(
      async () => {
        if (!existsSync(stateFile)) return undefined;
        const state = await readTestFenceState(stateFile);
        return state.history.some((h) => h.target === "n3" && h.result === "ok")
          ? statSync(stateFile).mtimeMs
          : undefined;
      },
      20_000,
      "the fence of n3 recorded by the driver",
      c,
    );
    const survivors = ["n1", "n2"];
    const holder = await poll(
      async () => {
        const on = await startedOn(c, survivors, "svc");
        return on.length === 1 ? on[0] : undefined;
      },
      20_000,
      "svc started on a survivor",
      c,
    );
    const started = c.eventsSince(startedSeq, "resource-started")
      .filter((e) => e.subject === "svc" && survivors.includes(e.node));
    assert.ok(started.length >= 1, "a survivor reported the start");
    // The driver wrote its record (wall clock) before the survivor started the resource
    // (the node's wall clock, same machine)...
    assert.ok(
      fencedAt <= started[0].at,
      `fence recorded at ${fencedAt}, start at ${started[0].at}`,
    );
    // ... and the DC's own events say the same in its wall-clock time.
    const fenceEvent = c.eventsSince(startedSeq, "fence")
      .find((e) => e.node === dc && /n3 fenced/.test(e.text));
    assert.ok(fenceEvent, `the DC ${dc} logged the confirmed fence`);
    assert.ok(fenceEvent.at <= started[0].at, "fence confirmed before the start");

    const state = await readTestFenceState(stateFile);
    assert.deepEqual(
      state.history.filter((h) => h.result === "ok").map((h) => h.target),
      ["n3"],
      "only n3 was fenced",
    );
    assert.equal(state.power.n3, "on", "reboot: off then on again");
    // Settled: exactly one survivor runs it, and it stays so.
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(await startedOn(c, survivors, "svc"), [holder]);

    // Explain, asked on the node that is not the DC: forwarded to the DC.
    const other = survivors.find((n) => n !== dc)!;
    const api = c.node(other).api;
    const res = await fetch(`http://${api}/explain/svc`, { signal: AbortSignal.timeout(5000) });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.resource, "svc");
    assert.equal(body.node, holder);
    assert.equal(body.dc, dc);
    assert.equal(typeof body.reason, "string");
    assert.ok(Array.isArray(body.details));
    assert.ok(holder in body.scores, JSON.stringify(body.scores));
    const missing = await fetch(`http://${api}/explain/nosuch`, {
      signal: AbortSignal.timeout(5000),
    });
    await missing.body?.cancel();
    assert.equal(missing.status, 404);
    // The DC's status: the last transition's summary and the placement with its reason.
    const dcStatus = await c.status(dc!);
    assert.ok(dcStatus.transition !== null, "the DC reports its transition");
    const view = dcStatus.resources.find((r) => r.id === "svc");
    assert.equal(view?.target, holder);
    assert.equal(typeof view?.reason, "string");
  } finally {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
