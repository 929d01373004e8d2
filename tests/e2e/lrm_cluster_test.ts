/**
 * The LRM in a real 3-node loopback cluster (node processes running main.ts):
 *
 * 1. a recurring monitor finds the resource gone (its state file deleted under it): the
 *    resource is restarted on the same node with a fail count of 1, again and again, until
 *    migration-threshold is reached; then it moves to another node and stays off the
 *    failed one;
 * 2. an OCF agent hangs in its monitor (the fixture tests/fixtures/ocf/Misbehave, from a
 *    temporary OCF_ROOT): the monitor is killed at its timeout, with the process group,
 *    and the resource recovered.
 */

import assert from "node:assert/strict";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import process from "node:process";
import type { StatusDocument } from "../../core/api/status_app.ts";
import { LocalCluster, type LocalClusterOptions, vigilCommand } from "../../bench/local_cluster.ts";
import {
  alive,
  killLeftovers,
  makeOcfRoot,
  type OcfRoot,
  readPid,
  waitGone,
} from "../fixtures/ocf/ocf_root.ts";

const NAMES = ["n1", "n2", "n3"];

/** Polls `find` every 100 ms until it returns a value; fails after `timeoutMs`. */
async function poll<T>(
  find: () => Promise<T | undefined>,
  timeoutMs: number,
  what: string,
  cluster: LocalCluster,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const found = await find();
    if (found !== undefined) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: not within ${timeoutMs} ms\n${cluster.diagnostics()}`);
}

/** Each node's own LRM entry for `id` (undefined when the node has none). */
async function lrmEntries(
  cluster: LocalCluster,
  id: string,
): Promise<Record<string, StatusDocument["lrm"][string] | undefined>> {
  const out: Record<string, StatusDocument["lrm"][string] | undefined> = {};
  for (const name of NAMES) out[name] = (await cluster.status(name)).lrm[id];
  return out;
}

/** Nodes whose LRM says `id` is started. */
async function startedOn(cluster: LocalCluster, id: string): Promise<string[]> {
  const entries = await lrmEntries(cluster, id);
  return NAMES.filter((n) => entries[n]?.state === "started");
}

/**
 * Starts a cluster; `env` is set in this process only while the nodes are spawned (they
 * inherit it), and restored right after.
 */
async function startCluster(
  opts: Omit<LocalClusterOptions, "size" | "keepaliveMs" | "deadtimeMs" | "command">,
  env: Record<string, string> = {},
): Promise<LocalCluster> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await LocalCluster.start({
      size: 3,
      keepaliveMs: 100,
      deadtimeMs: 500,
      command: vigilCommand("deno"),
      ...opts,
    });
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

Deno.test("e2e lrm: monitor failures restart in place until migration-threshold, then the resource moves and stays off", async () => {
  const THRESHOLD = 3;
  const cluster = await startCluster({
    extraConfig: {
      // location prefers n1, so the recoveries happen there until the threshold bans it.
      resources: [{ id: "dummy", agent: "Dummy", monitor: "500ms", location: { n1: 100 } }],
      options: { migrationThreshold: THRESHOLD },
    },
  });
  try {
    await cluster.waitForAgreement(NAMES, { timeoutMs: 60_000 });
    // The built-in Dummy keeps its state file in the node's agent directory.
    const stateFile = `${cluster.node("n1").stateDir}/agents/Dummy-dummy.state`;
    await poll(
      async () => (await startedOn(cluster, "dummy")).join() === "n1" || undefined,
      20_000,
      "dummy started on n1",
      cluster,
    );
    assert.ok(existsSync(stateFile), `no state file ${stateFile}`);

    for (let failure = 1; failure < THRESHOLD; failure++) {
      rmSync(stateFile);
      // The monitor (every 500 ms) finds it gone; the DC stops and starts it again on n1.
      await poll(
        async () => {
          const e = (await lrmEntries(cluster, "dummy")).n1;
          return e?.state === "started" && e.failCount === failure ? e : undefined;
        },
        15_000,
        `dummy restarted on n1 with fail count ${failure}`,
        cluster,
      );
      assert.deepEqual(await startedOn(cluster, "dummy"), ["n1"]);
      assert.ok(existsSync(stateFile), "restarted, but no new state file");
    }

    // The last failure reaches the threshold: n1 is banned, the resource moves.
    rmSync(stateFile);
    const moved = await poll(
      async () => {
        const entries = await lrmEntries(cluster, "dummy");
        const on = NAMES.filter((n) => entries[n]?.state === "started");
        const n1 = entries.n1;
        return on.length === 1 && on[0] !== "n1" && n1?.state === "stopped" &&
            n1.failCount === THRESHOLD
          ? on[0]
          : undefined;
      },
      15_000,
      `dummy moved off n1 after ${THRESHOLD} failures`,
      cluster,
    );
    assert.equal(moved, "n2", "ties go to the lowest name");

    // It stays off n1 (and single) while several monitor intervals pass.
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(await startedOn(cluster, "dummy"), [moved]);
    }
    assert.ok(!existsSync(stateFile), "still running on n1");

    // The DC explains the placement by the fail count.
    const dc = (await cluster.status("n1")).dc;
    assert.ok(dc, "no DC");
    const view = (await cluster.status(dc)).resources.find((r) => r.id === "dummy");
    assert.equal(view?.target, moved);
    const failures = cluster.events.filter((e) =>
      e.kind === "resource-failed" && e.node === "n1" && e.subject === "dummy"
    );
    assert.equal(failures.length, THRESHOLD, failures.map((e) => e.text).join("\n"));
    assert.match(failures[0].text, /monitor of dummy failed on n1 \(rc 7\)/);
  } finally {
    await cluster.stop();
  }
});

Deno.test("e2e lrm: an OCF monitor that hangs is killed at its timeout with its process group, and the resource recovered", async () => {
  let ocf: OcfRoot | undefined;
  let cluster: LocalCluster | undefined;
  const pids: number[] = [];
  try {
    ocf = await makeOcfRoot();
    // The nodes find ocf:vigiltest:Misbehave through $OCF_ROOT; its monitor timeout is
    // 2 s (its meta-data).
    cluster = await startCluster({
      extraConfig: {
        resources: [{
          id: "hang",
          agent: "ocf:vigiltest:Misbehave",
          monitor: "1s",
          location: { n1: 100 },
        }],
        options: { migrationThreshold: 3 },
      },
    }, { OCF_ROOT: ocf.root });
    const c = cluster;
    await c.waitForAgreement(NAMES, { timeoutMs: 60_000 });
    await poll(
      async () => (await startedOn(c, "hang")).join() === "n1" || undefined,
      20_000,
      "hang started on n1",
      c,
    );
    const rscTmp = `${c.node("n1").stateDir}/agents/ocf-rsctmp`;
    assert.ok(existsSync(`${rscTmp}/hang.state`), "the fixture's state file is missing");
    // The next monitor hangs once (the fixture removes the flag file first).
    const flaggedAt = performance.now();
    writeFileSync(`${rscTmp}/hang-monitor`, "");

    const entry = await poll(
      async () => {
        const e = (await lrmEntries(c, "hang")).n1;
        return e?.state === "started" && e.failCount === 1 ? e : undefined;
      },
      20_000,
      "hang recovered on n1 after a monitor timeout",
      c,
    );
    const recoveredMs = performance.now() - flaggedAt;
    assert.equal(entry.lastRc, 0);
    assert.deepEqual(await startedOn(c, "hang"), ["n1"]);
    // Monitor interval (1 s) + timeout (2 s) + stop and start; generous bound.
    assert.ok(recoveredMs >= 2_000 && recoveredMs < 12_000, `recovered in ${recoveredMs} ms`);

    for (const f of ["monitor.leader.pid", "monitor.child.pid"]) {
      const pid = readPid(`${rscTmp}/${f}`);
      assert.ok(pid !== undefined, `the hanging monitor wrote no ${f}`);
      pids.push(pid);
    }
    assert.deepEqual(await waitGone(pids, 3_000), [], "the hung monitor's group survived");

    const log = c.events.filter((e) => e.node === "n1");
    assert.ok(
      log.some((e) => e.kind === "log" && /^monitor hang: timeout: /.test(e.text)),
      "the daemon did not report the timeout",
    );
    assert.ok(
      log.some((e) =>
        e.kind === "resource-failed" && /monitor of hang failed on n1 \(rc 1\)/
          .test(e.text)
      ),
    );
    assert.ok(!pids.some(alive));
  } finally {
    await cluster?.stop();
    killLeftovers(pids);
    await ocf?.remove();
  }
});
