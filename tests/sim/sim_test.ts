/**
 * Simulated clusters: safety at every step under random faults and random
 * configuration changes from random nodes, and recovery within a bound once
 * the faults stop. Set VIGIL_SIM_SEED to replay one seed, VIGIL_SIM_SEEDS to
 * change how many seeds run.
 */

import assert from "node:assert/strict";
import { sameStamp } from "../../core/cib/replication/stamp.ts";
import { Rng } from "./rng.ts";
import { makeCib, nodeNames, randomCibUpdate, randomFault } from "./fixtures.ts";
import { Simulator } from "./simulator.ts";

const SEEDS = Number(Deno.env.get("VIGIL_SIM_SEEDS") ?? 200);
const ONLY = Deno.env.get("VIGIL_SIM_SEED");
/** Once faults stop, everything must have settled within this much virtual time. */
const RECOVERY_BOUND_MS = 10_000;

/**
 * Asserts the settled state: one agreed membership of all live nodes, one DC, every node
 * holding the DC's CIB, and each resource on exactly one node (none when the CIB stops it:
 * target-role Stopped, or every node in standby).
 */
function assertSettled(sim: Simulator, resources: string[]): void {
  const live = sim.live();
  const views = live.map((n) => sim.core(n).membership);
  for (const [i, v] of views.entries()) {
    if (!v || v.members.join() !== live.join()) {
      sim.fail(`${live[i]} has membership ${JSON.stringify(v)}, expected all of ${live.join(",")}`);
    }
  }
  const dcs = new Set(live.map((n) => sim.core(n).dc));
  if (dcs.size !== 1 || dcs.has(null)) sim.fail(`DCs after recovery: ${[...dcs].join(",")}`);
  const dc = sim.core([...dcs][0]!);
  for (const n of live) {
    if (!sameStamp(sim.core(n).cibStamp, dc.cibStamp)) {
      sim.fail(`${n} did not converge to the DC's CIB`);
    }
  }
  const config = dc.cib.config;
  const online = live.filter((n) => !config.nodes.find((c) => c.name === n)?.standby);
  // What the CIB stops: a top-level resource with target-role Stopped (the
  // simulator's updates set only that), or nowhere to run.
  const stopped = new Set(
    config.resources.filter((r) => r.meta.targetRole === "Stopped").map((r) => r.id),
  );
  for (const id of resources) {
    const holders = sim.holders(id);
    const running = sim.runningOn(id);
    if (stopped.has(id) || online.length === 0) {
      if (holders.length || running.length) {
        sim.fail(`${id} should be stopped by the CIB, but is held by [${holders}]`);
      }
      continue;
    }
    if (holders.length !== 1 || running.length !== 1 || holders[0] !== running[0]) {
      sim.fail(`${id} held by [${holders}] and running on [${running}] after recovery`);
    }
    if (sim.core(holders[0]).lrmTable()[id].state !== "started") {
      sim.fail(`${id} on ${holders[0]} is ${sim.core(holders[0]).lrmTable()[id].state}`);
    }
  }
}

Deno.test("sim: 3 nodes place a service and fail it over when its node crashes", () => {
  const nodes = nodeNames(3);
  const sim = new Simulator({
    seed: 1,
    nodes,
    cib: makeCib(nodes, [{ id: "web", location: { n2: 50 } }]),
  });
  sim.runFor(3000);
  assert.deepEqual(sim.runningOn("web"), ["n2"], "location score 50 puts web on n2");
  assert.equal(sim.core("n1").dc, "n1");
  sim.crash("n2");
  sim.runFor(1500);
  assert.equal(sim.runningOn("web").length, 1);
  assert.notEqual(sim.runningOn("web")[0], "n2");
  assert.deepEqual(sim.core("n1").membership?.members, ["n1", "n3"]);
});

Deno.test("sim: stickiness keeps a service where it is when its preferred node returns", () => {
  const nodes = nodeNames(3);
  const sim = new Simulator({
    seed: 2,
    nodes,
    cib: makeCib(nodes, [{ id: "web", location: { n3: 50 } }]),
  });
  sim.runFor(3000);
  assert.deepEqual(sim.runningOn("web"), ["n3"]);
  sim.crash("n3");
  sim.runFor(2000);
  const moved = sim.runningOn("web");
  assert.equal(moved.length, 1);
  sim.start("n3");
  sim.runFor(3000);
  // Default stickiness 100 beats the location score 50.
  assert.deepEqual(sim.runningOn("web"), moved);
  assert.deepEqual(sim.core("n3").membership?.members, nodes);
});

Deno.test("sim: the minority side of a partition stops the service, the majority runs it", () => {
  const nodes = nodeNames(3);
  const sim = new Simulator({
    seed: 3,
    nodes,
    cib: makeCib(nodes, [{ id: "web", location: { n1: 50 } }]),
  });
  sim.runFor(3000);
  assert.deepEqual(sim.runningOn("web"), ["n1"]);
  sim.partition([["n1"], ["n2", "n3"]]);
  sim.runFor(3000);
  assert.equal(sim.core("n1").quorum?.quorate, false);
  assert.equal(sim.runningOn("web").length, 1);
  assert.notEqual(sim.runningOn("web")[0], "n1");
  sim.heal();
  sim.runFor(3000);
  assertSettled(sim, ["web"]);
});

Deno.test("sim: a failed monitor restarts the service, and repeated failures move it", () => {
  const nodes = nodeNames(3);
  const sim = new Simulator({
    seed: 4,
    nodes,
    cib: makeCib(nodes, [{ id: "web", location: { n1: 50 }, monitorMs: 200 }]),
  });
  sim.runFor(3000);
  assert.deepEqual(sim.runningOn("web"), ["n1"]);
  // The service dies behind the LRM's back: the next monitor notices.
  sim.nodes.get("n1")!.running.delete("web");
  sim.runFor(1500);
  assert.deepEqual(sim.runningOn("web"), ["n1"], "recovered in place");
  assert.equal(sim.core("n1").lrmTable()["web"].failCount, 1);
  // Starts on n1 now fail: after migration-threshold (3) failures it moves.
  sim.failOps.set("web:start:n1", 1);
  for (let i = 0; i < 4; i++) {
    sim.nodes.get("n1")!.running.delete("web");
    sim.runFor(1500);
  }
  assert.equal(sim.runningOn("web").length, 1);
  assert.notEqual(sim.runningOn("web")[0], "n1");
});

Deno.test(`sim: ${ONLY ? `seed ${ONLY}` : `${SEEDS} seeds`} of random faults keep safety and recover`, () => {
  const seeds = ONLY ? [Number(ONLY)] : Array.from({ length: SEEDS }, (_, i) => i + 1);
  let steps = 0;
  let acked = 0;
  const outcomes = new Map<string, number>();
  for (const seed of seeds) {
    const rng = new Rng(seed ^ 0x5eed);
    const nodes = nodeNames(rng.int(3, 5));
    const resources = rng.chance(0.5) ? ["web"] : ["web", "db"];
    const sim = new Simulator({
      seed,
      nodes,
      cib: makeCib(nodes, resources.map((id) => ({ id, location: { [rng.pick(nodes)]: 50 } }))),
    });
    sim.runFor(2000);
    const faultsUntil = sim.now + 8000;
    let markers = 0;
    while (sim.now < faultsUntil) {
      randomFault(sim, rng);
      // Configuration changes from random live nodes, a few per fault.
      for (let i = rng.int(0, 2); i > 0; i--) {
        const live = sim.live();
        const marker = markers < 6 && rng.chance(0.4) ? ++markers : null;
        sim.submit(rng.pick(live), randomCibUpdate(rng, nodes, resources, marker));
        sim.runFor(rng.int(0, 200));
      }
      sim.runFor(rng.int(100, 1200));
    }
    sim.heal();
    sim.loss = 0;
    sim.duplication = 0;
    for (const n of nodes) if (!sim.live().includes(n)) sim.start(n);
    sim.runFor(RECOVERY_BOUND_MS);
    assertSettled(sim, resources);
    steps += sim.steps;
    for (const r of sim.requests.values()) {
      const key = r.reply ? (r.reply.ok ? "ok" : r.reply.outcome) : "none";
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    }
    acked += sim.ackedMarkers.length;
  }
  assert.ok(steps > seeds.length * 1000, `simulated ${steps} steps`);
  if (!ONLY) {
    // The mix must exercise every path: acknowledged, refused (no quorum) and unknown.
    assert.ok((outcomes.get("ok") ?? 0) > seeds.length, `outcomes ${[...outcomes]}`);
    assert.ok((outcomes.get("refused") ?? 0) > 0, `outcomes ${[...outcomes]}`);
    assert.ok(acked > seeds.length / 2, `${acked} acknowledged markers checked`);
  }
});

Deno.test("sim: node loss mid-transition and operation timeouts never start a resource twice", () => {
  // Agents take up to 1.5 s; the engine's deadline is 500 ms + deadtime (1 s): a third of
  // the operations time out while they still run, and nodes crash while transitions run.
  // Safety (never active on two members of one partition) is checked after every event.
  const timedOut = new Set<string>();
  let transitions = 0;
  for (let seed = 1; seed <= 12; seed++) {
    const rng = new Rng(seed ^ 0x7e11);
    const nodes = nodeNames(rng.int(3, 5));
    const resources = ["web", "db"];
    const sim = new Simulator({
      seed,
      nodes,
      cib: makeCib(nodes, resources.map((id) => ({ id, location: { [rng.pick(nodes)]: 50 } }))),
      opMs: [20, 1500],
      operationTimeoutMs: 500,
    });
    sim.runFor(1500);
    for (let round = 0; round < 6; round++) {
      // Move a resource (a transition starts), then lose a node while it runs.
      sim.submit(rng.pick(sim.live()), {
        op: "resource-move",
        resource: rng.pick(resources),
        node: rng.pick(nodes),
      });
      sim.runFor(rng.int(20, 300));
      const live = sim.live();
      if (live.length > 2) sim.crash(rng.pick(live));
      // Sample the DCs' engines: transitions aborted because an operation timed out.
      for (let i = 0; i < 15; i++) {
        sim.runFor(100);
        for (const n of sim.live()) {
          const t = sim.core(n).snapshot().transition;
          if (t?.abortReason?.includes("timed out")) timedOut.add(`${seed}:${n}:${t.id}`);
        }
      }
      for (const n of nodes) if (!sim.live().includes(n) && rng.chance(0.5)) sim.start(n);
      sim.runFor(rng.int(100, 800));
    }
    for (const n of nodes) if (!sim.live().includes(n)) sim.start(n);
    sim.runFor(RECOVERY_BOUND_MS * 2);
    assertSettled(sim, resources);
    transitions += sim.eventCounts.get("transition") ?? 0;
  }
  assert.ok(transitions > 12, `${transitions} transitions ran`);
  assert.ok(timedOut.size > 0, "some transitions were aborted by operation timeouts");
});
