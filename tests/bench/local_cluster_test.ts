/**
 * The benchmark launcher on real node processes (main.ts under deno, so the test does
 * not depend on a fresh dist/vigil): three nodes on 127.0.0.1-3 agree on a membership
 * of three, a SIGKILLed node is dropped and comes back with a higher incarnation, and
 * stop() leaves no process and no directory behind.
 */

import assert from "node:assert/strict";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import {
  ClusterWaitError,
  hasMembers,
  LocalCluster,
  parseMembership,
  vigilCommand,
} from "../../bench/local_cluster.ts";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    assert.equal((e as NodeJS.ErrnoException).code, "ESRCH", `kill -0 ${pid}: ${e}`);
    return false;
  }
}

Deno.test("parseMembership reads a membership event's text", () => {
  assert.deepEqual(parseMembership("membership 7: n1, n2, n3"), {
    generation: 7,
    members: ["n1", "n2", "n3"],
  });
  assert.deepEqual(parseMembership("membership 9: n1, n3 (joined: n3; left: n2)"), {
    generation: 9,
    members: ["n1", "n3"],
  });
  assert.equal(parseMembership("DC is n1"), null);
  assert.ok(hasMembers({ generation: 1, members: ["n2", "n1"] }, ["n1", "n2"]));
  assert.ok(!hasMembers({ generation: 1, members: ["n1"] }, ["n1", "n2"]));
  assert.ok(!hasMembers(null, ["n1"]));
});

Deno.test("local cluster: 3 nodes agree, a killed node rejoins, stop() leaves nothing", async () => {
  const cluster = await LocalCluster.start({
    size: 3,
    keepaliveMs: 100,
    deadtimeMs: 500,
    command: vigilCommand("deno"),
  });
  const names = ["n1", "n2", "n3"];
  let report;
  try {
    assert.deepEqual(cluster.names, names);
    assert.equal(cluster.node("n2").address, "127.0.0.2");
    assert.equal(statSync(join(cluster.dir, "authkeys")).mode & 0o777, 0o600);

    const agreed = await cluster.waitForAgreement(names, { timeoutMs: 60_000, stableMs: 500 });
    assert.ok(hasMembers(agreed.membership, names), JSON.stringify(agreed));
    for (const name of names) {
      const doc = await cluster.status(name);
      assert.equal(doc.node, name);
      assert.deepEqual([...doc.membership!.members].sort(), names);
      assert.equal(doc.membership!.generation, agreed.membership.generation);
    }
    const arrivals = cluster.events.map((e) => e.arrivedAt);
    assert.deepEqual(arrivals, [...arrivals].sort((a, b) => a - b), "arrival times in order");

    await assert.rejects(
      cluster.waitUntil(() => undefined, { timeoutMs: 100, label: "never" }),
      (e) => e instanceof ClusterWaitError && /never: not within 100 ms/.test(e.message),
    );

    const seq = cluster.lastSeq;
    const t0 = cluster.kill("n3");
    const droppedAt = await cluster.waitUntil(
      () =>
        ["n1", "n2"].every((n) => hasMembers(cluster.membership(n), ["n1", "n2"]))
          ? performance.now()
          : undefined,
      { timeoutMs: 10_000, label: "survivors drop n3" },
    );
    assert.ok(droppedAt - t0 >= 400, `dropped after ${droppedAt - t0} ms, before deadtime`);
    assert.ok(
      cluster.eventsSince(seq, "node-lost").some((e) => e.subject === "n3"),
      "a survivor logged node-lost for n3",
    );
    assert.ok(!cluster.running("n3"));

    const beforeRestart = cluster.lastSeq;
    await cluster.restart("n3");
    await cluster.waitForAgreement(names, { timeoutMs: 60_000 });
    const incarnations = cluster.events
      .filter((e) => e.node === "n3" && e.kind === "log" && e.text.includes("incarnation"))
      .map((e) => Number(/incarnation (\d+)/.exec(e.text)?.[1]));
    assert.equal(incarnations.length, 2, "two boots of n3 logged");
    assert.ok(incarnations[1] > incarnations[0], `the incarnation grew: ${incarnations}`);
    assert.ok(cluster.eventsSince(beforeRestart, "log").some((e) => e.node === "n3"));
    assert.equal(cluster.startedPids().length, 4);
    assert.ok(cluster.exits().every((x) => x.expected), JSON.stringify(cluster.exits()));
  } finally {
    report = await cluster.stop();
  }
  assert.equal(report.stuck.length, 0);
  assert.equal(report.terminated, 3);
  assert.ok(report.dirRemoved);
  assert.equal(existsSync(cluster.dir), false, "temporary directory removed");
  for (const pid of cluster.startedPids()) assert.equal(alive(pid), false, `pid ${pid} is gone`);
  assert.equal(await cluster.stop(), report, "stop() is idempotent");
});
