/**
 * Membership and quorum under network faults, in the simulator: symmetric partitions,
 * one-way cuts, a partial mesh, flapping links, 20 % loss with duplication and reordering,
 * restarts with a new and with the same incarnation, two_node with wait_for_all, and
 * random seeds mixing all of them. The simulator checks its invariants after every event
 * (see tests/sim/simulator.ts); each scenario also checks convergence once faults stop.
 *
 * VIGIL_SIM_SEED=N replays one random seed, VIGIL_SIM_SEEDS=K runs K of them (default 100),
 * starting at VIGIL_SIM_FIRST_SEED (default 1).
 * Tests named "KNOWN BUG" show a core defect and are skipped unless VIGIL_SIM_KNOWN_BUGS=1;
 * with it, the random seeds also use the faults that trigger those defects.
 */

import assert from "node:assert/strict";
import type { Membership } from "../../core/membership/membership.ts";
import { NodeCore } from "../../core/node/node_core.ts";
import type { QuorumState } from "../../core/quorum/quorum.ts";
import { makeCib, nodeNames, randomMembershipFault } from "./fixtures.ts";
import { Rng } from "./rng.ts";
import { InvariantViolation, membershipKey, type SimOptions, Simulator } from "./simulator.ts";

const SEEDS = Number(Deno.env.get("VIGIL_SIM_SEEDS") ?? 100);
const ONLY = Deno.env.get("VIGIL_SIM_SEED");
const FIRST_SEED = Number(Deno.env.get("VIGIL_SIM_FIRST_SEED") ?? 1);
const KNOWN_BUGS = Deno.env.get("VIGIL_SIM_KNOWN_BUGS") === "1";
/** Once faults stop, every connected group must have settled within this much virtual time. */
const RECOVERY_BOUND_MS = 10_000;
/** Settled state must then hold, unchanged, for this long. */
const STABLE_MS = 1500;
const KEEPALIVE_MS = 100;
const DEADTIME_MS = 500;

/** One settled group: an agreed membership with its DC and quorum. */
interface Group {
  members: string[];
  generation: number;
  dc: string;
  quorate: boolean;
}

/**
 * What keeps the cluster from being settled, or null when it is: every live node holds an
 * agreed membership; every member of it is up, holds the same one and hears every other
 * member; two groups that hear each other completely have merged; every member sees the
 * same DC; each resource runs (started) on exactly one node of each group whose DC is
 * quorate and on no other node, and the LRMs agree with the world.
 */
function settleProblem(sim: Simulator, resources: readonly string[]): string | null {
  const live = sim.live();
  const groups = settledGroups(sim);
  if (typeof groups === "string") return groups;
  for (const a of groups) {
    for (const b of groups) {
      if (
        a.members[0] < b.members[0] &&
        a.members.every((x) => b.members.every((y) => sim.linked(x, y)))
      ) {
        return `groups ${a.members} and ${b.members} hear each other but did not merge`;
      }
    }
  }
  for (const id of resources) {
    const holders = sim.holders(id);
    const running = sim.runningOn(id);
    if (holders.join() !== running.join()) {
      return `${id} held by [${holders}] but running on [${running}]`;
    }
    for (const n of running) {
      if (!live.includes(n)) return `${id} runs on ${n}, which is down`;
      const state = sim.core(n).lrmTable()[id]?.state;
      if (state !== "started") return `${id} on ${n} is ${state}`;
    }
    for (const g of groups) {
      const inGroup = running.filter((n) => g.members.includes(n));
      if (inGroup.length !== (g.quorate ? 1 : 0)) {
        return `${id} runs on [${inGroup}] in ${
          g.quorate ? "quorate" : "inquorate"
        } group ${g.members}`;
      }
    }
  }
  return null;
}

/** The agreed groups of the live nodes, or what is inconsistent about them. */
function settledGroups(sim: Simulator): Group[] | string {
  const live = sim.live();
  const groups = new Map<string, Group>();
  for (const n of live) {
    const core = sim.core(n);
    const m = core.membership;
    if (!m) {
      return `${n} has no agreed membership (proposes ${membershipKey(core.snapshot().proposal)})`;
    }
    const key = membershipKey(m);
    for (const x of m.members) {
      if (!live.includes(x)) return `${n}'s membership ${key} holds ${x}, which is down`;
      const mx = sim.core(x).membership;
      if (!mx || membershipKey(mx) !== key) {
        return `${n} agreed on ${key} but its member ${x} on ${mx ? membershipKey(mx) : "nothing"}`;
      }
      for (const y of m.members) {
        if (x < y && !sim.linked(x, y)) {
          return `${key} holds ${x} and ${y}, which do not hear each other`;
        }
      }
    }
    const dc = core.dc;
    if (dc === null) return `${n} has no DC`;
    const group = groups.get(key);
    if (!group) {
      const quorate = sim.core(dc).quorum?.quorate === true;
      groups.set(key, { members: m.members, generation: m.generation, dc, quorate });
    } else if (group.dc !== dc) {
      return `${key} has DCs ${group.dc} and ${dc}`;
    }
  }
  return [...groups.values()];
}

/**
 * Runs until the cluster is settled (checked every 50 ms) and has stayed settled, with the
 * same memberships, for {@link STABLE_MS}; fails if that has not happened `boundMs` after
 * the call (a fault detected late, such as a link that was down when healed, may still
 * change the memberships early on). Returns the groups, sorted by first member, and when
 * the final state was reached.
 */
function settle(
  sim: Simulator,
  resources: readonly string[],
  boundMs = RECOVERY_BOUND_MS,
): { groups: Group[]; tookMs: number } {
  const start = sim.now;
  let since: number | null = null;
  let key = "";
  let problem: string | null = null;
  // Bounded: at most (boundMs + STABLE_MS) / 50 iterations.
  while (sim.now - start <= boundMs + STABLE_MS) {
    problem = settleProblem(sim, resources);
    if (problem === null) {
      const groups = settledGroups(sim) as Group[];
      const now = groups.map((g) => `${g.generation}:${g.members}`).sort().join(" ");
      if (since === null || now !== key) {
        if (sim.now - start > boundMs) break;
        since = sim.now;
        key = now;
      } else if (sim.now - since >= STABLE_MS) {
        const sorted = groups.sort((a, b) => (a.members[0] < b.members[0] ? -1 : 1));
        return { groups: sorted, tookMs: since - start };
      }
    } else {
      since = null;
    }
    sim.runFor(50);
  }
  return sim.fail(
    `not settled for ${STABLE_MS} ms within ${boundMs} ms after faults stopped: ${
      problem ?? `memberships still changing (${key})`
    }`,
  );
}

/** Group summary for assertions: "n1,n2,n3:quorate". */
function describe(groups: Group[]): string[] {
  return groups.map((g) => `${g.members.join(",")}:${g.quorate ? "quorate" : "inquorate"}`);
}

function newSim(overrides: Partial<SimOptions> & { nodes: string[]; seed: number }): Simulator {
  return new Simulator({
    cib: makeCib(overrides.nodes, []),
    keepaliveMs: KEEPALIVE_MS,
    deadtimeMs: DEADTIME_MS,
    ...overrides,
  });
}

Deno.test("membership sim: a 3|2 partition of 5 nodes leaves quorum and resources with the majority; heal merges", () => {
  const nodes = nodeNames(5);
  const resources = ["web", "db"];
  const sim = newSim({
    seed: 11,
    nodes,
    // Both services prefer nodes that end up in the minority.
    cib: makeCib(nodes, [{ id: "web", location: { n4: 50 } }, { id: "db", location: { n5: 50 } }]),
  });
  sim.runFor(2000);
  let { groups } = settle(sim, resources);
  assert.deepEqual(describe(groups), ["n1,n2,n3,n4,n5:quorate"]);
  assert.deepEqual(sim.runningOn("web"), ["n4"]);
  assert.deepEqual(sim.runningOn("db"), ["n5"]);
  const generation = groups[0].generation;

  sim.partition([["n1", "n2", "n3"], ["n4", "n5"]]);
  const split = settle(sim, resources);
  console.log(`3|2 partition settled in ${split.tookMs} ms`);
  assert.deepEqual(describe(split.groups), ["n1,n2,n3:quorate", "n4,n5:inquorate"]);
  assert.ok(split.groups[0].generation > generation, "the majority moved to a new generation");
  for (const n of ["n4", "n5"]) {
    const q = sim.core(n).quorum!;
    assert.equal(`${q.votes}/${q.expected} needed ${q.needed}`, "2/5 needed 3");
  }
  // While split: nothing runs in the minority, each service runs once in the majority.
  for (let i = 0; i < 40; i++) {
    sim.runFor(50);
    for (const id of resources) {
      const on = sim.runningOn(id);
      assert.equal(on.length, 1, `${id} on [${on}] at ${sim.now}`);
      assert.ok(["n1", "n2", "n3"].includes(on[0]), `${id} on ${on[0]} in the minority`);
    }
  }

  sim.heal();
  ({ groups } = settle(sim, resources));
  assert.deepEqual(describe(groups), ["n1,n2,n3,n4,n5:quorate"]);
  assert.ok(groups[0].generation > split.groups[0].generation);
});

Deno.test("membership sim: one-way cuts leave the deaf node out, with nobody in two memberships; heal merges", () => {
  const cases: { size: number; from: string; to: string; out: string }[] = [
    // "from>to" cut: `to` does not hear `from`, `from` still hears `to`.
    { size: 3, from: "n1", to: "n2", out: "n1" },
    { size: 3, from: "n3", to: "n1", out: "n3" },
    { size: 5, from: "n1", to: "n2", out: "n1" },
    { size: 5, from: "n2", to: "n1", out: "n2" },
    { size: 5, from: "n5", to: "n1", out: "n5" },
    { size: 5, from: "n3", to: "n4", out: "n3" },
  ];
  for (const [i, c] of cases.entries()) {
    const nodes = nodeNames(c.size);
    const sim = newSim({
      seed: 20 + i,
      nodes,
      // The service prefers the node that still hears: the DC must move it or keep it right.
      cib: makeCib(nodes, [{ id: "web", location: { [c.from]: 50 } }]),
    });
    sim.runFor(2000);
    settle(sim, ["web"]);
    sim.cutLink(c.from, c.to);
    const { groups, tookMs } = settle(sim, ["web"]);
    const label = `${c.size} nodes, cut ${c.from}>${c.to}`;
    console.log(`${label}: ${describe(groups).join(" ")} in ${tookMs} ms`);
    // The node seen by fewer others (the one whose messages are cut) is left out alone.
    const rest = nodes.filter((n) => n !== c.out);
    assert.deepEqual(
      describe(groups).sort(),
      [`${c.out}:inquorate`, `${rest}:quorate`].sort(),
      label,
    );
    assert.ok(rest.includes(sim.runningOn("web")[0]), `${label}: web runs with the majority`);
    sim.heal();
    const healed = settle(sim, ["web"]);
    assert.deepEqual(describe(healed.groups), [`${nodes}:quorate`], `${label} healed`);
  }
});

Deno.test("membership sim: in a partial mesh the pair that hears each other forms the membership; heal merges", () => {
  for (const size of [3, 5]) {
    const nodes = nodeNames(size);
    const sim = newSim({
      seed: 30 + size,
      nodes,
      cib: makeCib(nodes, [{ id: "web", location: { [`n${size}`]: 50 } }]),
    });
    sim.runFor(2000);
    settle(sim, ["web"]);
    // n1 - ... - nK all up except n1-nK (both ways): A-B, B-C up, A-C down.
    const far = `n${size}`;
    sim.cutLink("n1", far);
    sim.cutLink(far, "n1");
    sim.runFor(4000);
    // One end of the broken pair must go; which one depends on who heard what first
    // (both are right). The others agree on a quorate membership without it.
    const out = sim.core("n2").membership?.members.includes("n1") ? far : "n1";
    const inner = nodes.filter((n) => n !== out);
    for (const n of inner) {
      assert.deepEqual(sim.core(n).membership?.members, inner, `${n} of ${size}`);
      assert.equal(sim.core(n).quorum?.quorate, true);
    }
    // The node left out is in nobody else's membership and runs nothing (it may not even
    // agree on a membership of its own: see the KNOWN BUG test below).
    assert.deepEqual(sim.core(out).membership?.members ?? [out], [out]);
    assert.equal(sim.core(out).quorum?.quorate ?? false, false);
    assert.equal(sim.runningOn("web").length, 1);
    assert.notEqual(sim.runningOn("web")[0], out);
    sim.heal();
    const { groups } = settle(sim, ["web"]);
    assert.deepEqual(describe(groups), [`${nodes}:quorate`]);
  }
});

Deno.test({
  name:
    "membership sim: KNOWN BUG (core/membership/membership.ts): the node left out of a partial mesh never agrees on any membership",
  ignore: !KNOWN_BUGS,
  fn() {
    const nodes = nodeNames(3);
    const sim = newSim({ seed: 33, nodes, cib: makeCib(nodes, [{ id: "web" }]) });
    sim.runFor(2000);
    settle(sim, ["web"]);
    sim.cutLink("n1", "n3");
    sim.cutLink("n3", "n1");
    // Expected: {n1,n2} and {n3}, each agreed. Observed: n3 proposes {n2,n3} for ever,
    // because it does not know n1's report and so cannot see that n2 chose n1.
    const { groups } = settle(sim, ["web"]);
    assert.deepEqual(describe(groups), ["n1,n2:quorate", "n3:inquorate"]);
  },
});

Deno.test("membership sim: a flapping link for 10 s causes bounded churn, then the cluster settles", () => {
  for (const oneWay of [false, true]) {
    const nodes = nodeNames(5);
    const sim = newSim({
      seed: oneWay ? 41 : 40,
      nodes,
      cib: makeCib(nodes, [{ id: "web", location: { n2: 50 } }]),
    });
    sim.runFor(2000);
    settle(sim, ["web"]);
    const before = sim.eventCounts.get("membership") ?? 0;
    // Down spells straddle deadtime (500 ms): some are noticed, some are not.
    sim.flapLink("n1", "n2", { downMs: [200, 800], upMs: [200, 600], forMs: 10_000, oneWay });
    sim.runFor(10_000);
    const churn = (sim.eventCounts.get("membership") ?? 0) - before;
    // A down spell costs each node at most a split and a merge, plus one intermediate
    // membership while the others learn of it.
    const bound = sim.flapDowns * nodes.length * 3;
    console.log(
      `flap n1${
        oneWay ? ">" : "-"
      }n2: ${sim.flapDowns} down spells, ${churn} membership changes (bound ${bound})`,
    );
    assert.ok(sim.flapDowns >= 10, `${sim.flapDowns} down spells in 10 s`);
    assert.ok(churn <= bound, `${churn} membership changes for ${sim.flapDowns} down spells`);
    const { groups, tookMs } = settle(sim, ["web"]);
    console.log(`  settled ${tookMs} ms after the link stopped flapping`);
    assert.deepEqual(describe(groups), [`${nodes}:quorate`]);
  }
});

Deno.test("membership sim: 20 % loss with duplication and reordering for 30 s causes few false deaths", () => {
  const nodes = nodeNames(5);
  const resources = ["web", "db"];
  const lossMs = 30_000;
  const seeds = [50, 51, 52];
  // A false death needs every heartbeat of one link lost for deadtime. With deadtime = 5 x
  // keepalive and delays jittering by up to 60 ms, 4 losses in a row can already open a
  // silence of deadtime (5 are certain to): per heartbeat of one directed link that is at
  // most p^4. Per run, 20 directed links x 300 heartbeats: 20 * 300 * 0.2^4 = 9.6.
  const links = nodes.length * (nodes.length - 1);
  const beats = lossMs / KEEPALIVE_MS;
  const k = DEADTIME_MS / KEEPALIVE_MS - 1;
  const expected = links * beats * 0.2 ** k;
  const certain = links * beats * 0.2 ** (k + 1);
  let falseDeaths = 0;
  for (const seed of seeds) {
    const sim = newSim({
      seed,
      nodes,
      cib: makeCib(nodes, [{ id: "web", location: { n2: 50 } }, {
        id: "db",
        location: { n4: 50 },
      }]),
      // Up to 60 ms of delay against 100 ms heartbeats: messages overtake each other.
      delayMs: [1, 60],
    });
    sim.runFor(2000);
    settle(sim, resources);
    sim.loss = 0.2;
    sim.duplication = 0.1;
    let allAgreed = 0;
    let samples = 0;
    const generation = sim.core("n1").membership!.generation;
    for (let t = 0; t < lossMs; t += 100) {
      sim.runFor(100);
      samples++;
      const keys = new Set(nodes.map((n) => {
        const m = sim.core(n).membership;
        return m && m.members.length === nodes.length ? membershipKey(m) : null;
      }));
      if (keys.size === 1 && !keys.has(null)) allAgreed++;
    }
    const lost = sim.eventCounts.get("node-lost") ?? 0;
    console.log(
      `seed ${seed}, 30 s at 20 % loss: ${sim.falseDeathCount} false deaths of ${lost} node-lost ` +
        `(per run: p^5 ${certain.toFixed(1)}, p^4 ${expected.toFixed(1)}); full membership ` +
        `agreed ${
          (100 * allAgreed / samples).toFixed(1)
        } % of samples; generation ${generation} -> ${
          sim.core("n1").membership?.generation ?? "-"
        }; longest stale membership ${sim.longestStaleMs} ms`,
    );
    for (const d of sim.falseDeaths) console.log(`  ${d.at} ms: ${d.node} declared ${d.peer} lost`);
    assert.equal(sim.falseDeathCount, lost, "no link was cut and no node crashed: all are false");
    assert.ok(allAgreed / samples >= 0.75, `full membership in ${allAgreed}/${samples} samples`);
    falseDeaths += sim.falseDeathCount;
    sim.loss = 0;
    sim.duplication = 0;
    const { groups } = settle(sim, resources);
    assert.deepEqual(describe(groups), [`${nodes}:quorate`]);
  }
  // Poisson slack: twice the p^4 expectation plus 5 is far beyond its tail.
  const bound = 2 * expected * seeds.length + 5;
  assert.ok(
    falseDeaths <= bound,
    `${falseDeaths} false deaths in ${seeds.length} runs (bound ${bound})`,
  );
});

Deno.test("membership sim: a node restarted with a new incarnation rejoins, and its old incarnation's messages are ignored", () => {
  for (const downMs of [50, 1000]) {
    const nodes = nodeNames(3);
    const sim = newSim({
      seed: 60 + downMs,
      nodes,
      cib: makeCib(nodes, [{ id: "web", location: { n2: 50 } }]),
      staleLogSize: 256,
    });
    sim.runFor(2000);
    settle(sim, ["web"]);
    sim.crash("n2");
    sim.runFor(downMs);
    sim.start("n2", "new");
    assert.equal(sim.incarnationOf("n2"), 2);
    const { groups } = settle(sim, ["web"]);
    assert.deepEqual(describe(groups), [`${nodes}:quorate`], `down ${downMs} ms`);
    const where = sim.runningOn("web");
    const changes = sim.eventCounts.get("membership") ?? 0;
    const views = nodes.map((n) => membershipKey(sim.core(n).membership!));
    let replayed = 0;
    for (let i = 0; i < 20; i++) {
      replayed += sim.replayStale("n2", "n1") + sim.replayStale("n2", "n3");
      sim.runFor(100);
    }
    assert.ok(replayed > 100, `${replayed} stale messages replayed`);
    assert.equal(
      sim.eventCounts.get("membership") ?? 0,
      changes,
      "stale messages changed a membership",
    );
    assert.deepEqual(nodes.map((n) => membershipKey(sim.core(n).membership!)), views);
    assert.deepEqual(sim.runningOn("web"), where);
    settle(sim, ["web"]);
  }
});

Deno.test("membership sim: a node restarted with the same incarnation after its peers declared it dead rejoins", () => {
  const nodes = nodeNames(3);
  const sim = newSim({
    seed: 70,
    nodes,
    cib: makeCib(nodes, [{ id: "web", location: { n2: 50 } }]),
  });
  sim.runFor(2000);
  settle(sim, ["web"]);
  sim.crash("n2");
  sim.runFor(sim.staleBoundMs + 100);
  sim.start("n2", "same");
  assert.equal(sim.incarnationOf("n2"), 1);
  const { groups } = settle(sim, ["web"]);
  assert.deepEqual(describe(groups), [`${nodes}:quorate`]);
});

Deno.test({
  name:
    "membership sim: KNOWN BUG (core/node/node_core.ts): a node restarted with the same incarnation within deadtime leaves its resource stopped for ever (the daemon never reuses an incarnation: at least the wall clock in seconds)",
  ignore: !KNOWN_BUGS,
  fn() {
    const nodes = nodeNames(3);
    const sim = newSim({
      seed: 3,
      nodes,
      cib: makeCib(nodes, [{ id: "web", location: { n2: 50 } }]),
    });
    sim.runFor(3000);
    assert.deepEqual(sim.runningOn("web"), ["n2"]);
    sim.crash("n2");
    sim.runFor(50);
    sim.start("n2", "same");
    // Observed: the DC keeps n2's old LRM table (web started), because the new process's
    // LRM counter is lower, and its reliable streams to and from n2 are stuck; web runs
    // nowhere, for ever.
    settle(sim, ["web"]);
  },
});

Deno.test({
  name:
    "membership sim: heartbeats of an older incarnation do not keep a dead peer alive (was a bug)",

  fn() {
    const nodes = nodeNames(2);
    const sim = newSim({ seed: 80, nodes, staleLogSize: 256 });
    sim.runFor(2000);
    settle(sim, []);
    sim.crash("n2");
    sim.runFor(50);
    sim.start("n2", "new");
    settle(sim, []);
    sim.crash("n2");
    // n2 (incarnation 2) is down; very late duplicates of incarnation 1 keep arriving.
    // Observed: n1 refreshes n2's liveness with each and keeps {n1,n2} agreed; the
    // simulator's stale-membership invariant fires.
    for (let i = 0; i < 20; i++) {
      sim.replayStale("n2", "n1");
      sim.runFor(100);
    }
    assert.deepEqual(sim.core("n1").membership?.members, ["n1"]);
  },
});

Deno.test("membership sim: two_node with wait_for_all is not quorate after a cold start alone, then either node alone is", () => {
  const nodes = nodeNames(2);
  const sim = newSim({
    seed: 90,
    nodes,
    cib: makeCib(nodes, [{ id: "web", location: { n2: 50 } }]),
    quorum: { twoNode: true },
  });
  const quorum = (n: string): QuorumState | null => sim.core(n).quorum;
  // Cold start with n2 down.
  sim.crash("n2");
  sim.runFor(3000);
  assert.deepEqual(sim.core("n1").membership?.members, ["n1"]);
  assert.equal(quorum("n1")?.quorate, false);
  assert.match(quorum("n1")?.reason ?? "", /wait_for_all/);
  assert.deepEqual(sim.runningOn("web"), [], "nothing starts before both nodes were seen");
  // n2 comes: both seen together once.
  sim.start("n2");
  let { groups } = settle(sim, ["web"]);
  assert.deepEqual(describe(groups), ["n1,n2:quorate"]);
  assert.deepEqual(sim.runningOn("web"), ["n2"]);
  // n2 dies: n1 alone keeps quorum and takes web over.
  sim.crash("n2");
  ({ groups } = settle(sim, ["web"]));
  assert.deepEqual(describe(groups), ["n1:quorate"]);
  assert.deepEqual(sim.runningOn("web"), ["n1"]);
  assert.match(quorum("n1")?.reason ?? "", /two_node/);
  // n2 returns, then n1 dies: n2 has seen both since its boot, so it is quorate alone.
  sim.start("n2");
  settle(sim, ["web"]);
  sim.crash("n1");
  ({ groups } = settle(sim, ["web"]));
  assert.deepEqual(describe(groups), ["n2:quorate"]);
  assert.deepEqual(sim.runningOn("web"), ["n2"]);
  // Both die; n1 boots alone: wait_for_all again.
  sim.crash("n2");
  sim.start("n1");
  sim.runFor(3000);
  assert.deepEqual(sim.core("n1").membership?.members, ["n1"]);
  assert.equal(quorum("n1")?.quorate, false);
  assert.deepEqual(sim.runningOn("web"), []);
  sim.start("n2");
  ({ groups } = settle(sim, ["web"]));
  assert.deepEqual(describe(groups), ["n1,n2:quorate"]);
});

Deno.test("membership sim: two_node without wait_for_all is quorate alone from a cold start; plain majority is not", () => {
  for (const quorum of [{ twoNode: true, waitForAll: false }, {}]) {
    const nodes = nodeNames(2);
    const sim = newSim({ seed: 91, nodes, cib: makeCib(nodes, [{ id: "web" }]), quorum });
    sim.crash("n2");
    const { groups } = settle(sim, ["web"]);
    const twoNode = "twoNode" in quorum;
    assert.deepEqual(describe(groups), [`n1:${twoNode ? "quorate" : "inquorate"}`]);
    assert.deepEqual(sim.runningOn("web"), twoNode ? ["n1"] : []);
  }
});

Deno.test({
  name:
    "membership sim: after a two_node split both nodes keep the service; on the heal one yields it and they merge (was a bug: they never merged)",

  fn() {
    const nodes = nodeNames(2);
    const sim = newSim({
      seed: 92,
      nodes,
      cib: makeCib(nodes, [{ id: "web" }]),
      quorum: { twoNode: true },
    });
    sim.runFor(2000);
    settle(sim, ["web"]);
    sim.partition([["n1"], ["n2"]]);
    const split = settle(sim, ["web"]);
    // Each alone is quorate (two_node), so each runs web: allowed, fencing's job.
    assert.deepEqual(describe(split.groups), ["n1:quorate", "n2:quorate"]);
    sim.heal();
    // Observed: each refuses to merge with a node holding web, and neither stops it.
    const { groups } = settle(sim, ["web"]);
    assert.deepEqual(describe(groups), ["n1,n2:quorate"]);
  },
});

Deno.test({
  name:
    "membership sim: with no-quorum-policy freeze, a healed 1|2 split whose halves both hold a service merges once one yields it (was a bug: it never merged, or churned)",

  fn() {
    const nodes = nodeNames(3);
    const cib = makeCib(nodes, [{ id: "web", location: { n1: 50 } }]);
    cib.config.options.noQuorumPolicy = "freeze";
    const sim = newSim({ seed: 93, nodes, cib });
    sim.runFor(2000);
    assert.deepEqual(sim.runningOn("web"), ["n1"]);
    sim.partition([["n1"], ["n2", "n3"]]);
    sim.runFor(3000);
    // n1 froze web without quorum, n2 started it with quorum: allowed across partitions.
    assert.deepEqual(sim.runningOn("web"), ["n1", "n2"]);
    const generation = sim.core("n3").membership!.generation;
    sim.heal();
    sim.runFor(5000);
    // Observed: n1 and n2 refuse each other (both hold web) for ever. Depending on timing,
    // n3 either stays on one side, or flips between {n1,n3} and {n2,n3} every few ms for
    // seconds (the tie-break drops the node with the older agreed generation, and the node
    // dropped agrees alone on a newer one): here about 680 generations in 5 s.
    const grown = sim.core("n3").snapshot().proposal.generation - generation;
    console.log(`generation grew by ${grown} in the 5 s after the heal`);
    assert.ok(grown < 20, `generation grew by ${grown} in 5 s after the heal`);
    settle(sim, ["web"]);
  },
});

Deno.test({
  name:
    "membership sim: a start dispatched just before a membership change cannot land after the DC re-planned (was a bug: the service started twice)",
  fn() {
    // n2 and n3 restart 0-88 ms apart while n1 (the DC) stays up; db prefers n2, then n3.
    // Observed (seed 1, 60 ms, default delays): {n1,n3} agrees and the DC sends "start db"
    // to n3; n2 joins 18 ms later; the new membership abandons that transition and the DC,
    // whose last report from n3 predates the start, sends "start db" to n2. n3 still
    // accepts the old transition's start (it checks only that the sender is its DC): db
    // runs on n2 and n3 at once (3146-3179 ms) inside membership 11.
    const hits: [number, [number, number], number][] = [
      [1, [1, 15], 60],
      [9, [1, 60], 52],
      [19, [1, 60], 84],
      [21, [1, 60], 0],
      [32, [1, 60], 76],
      [35, [1, 60], 80],
    ];
    for (const [seed, delayMs, stagger] of hits) {
      const nodes = nodeNames(3);
      const sim = newSim({
        seed,
        nodes,
        delayMs,
        cib: makeCib(nodes, [{ id: "db", location: { n2: 50, n3: 20 } }]),
      });
      sim.runFor(2000);
      sim.crash("n2");
      sim.crash("n3");
      sim.runFor(1000);
      sim.start("n3");
      sim.runFor(stagger);
      sim.start("n2");
      settle(sim, ["db"]);
    }
  },
});

/** A core that stops updating what it shows once `stale` is set, as a hung process would. */
class StaleViewCore extends NodeCore {
  stale = false;
  #shown: { membership: Membership | null; dc: string | null; quorum: QuorumState | null } | null =
    null;

  override get membership(): Membership | null {
    return this.#view().membership;
  }

  override get dc(): string | null {
    return this.#view().dc;
  }

  override get quorum(): QuorumState | null {
    return this.#view().quorum;
  }

  #view() {
    const live = { membership: super.membership, dc: super.dc, quorum: super.quorum };
    if (!this.stale) return live;
    this.#shown ??= live;
    return this.#shown;
  }
}

Deno.test("membership sim: the invariants catch a stale membership, a generation going back and a wrong quorum", () => {
  const nodes = nodeNames(3);
  const expectViolation = (
    what: string,
    pattern: RegExp,
    corrupt: (core: StaleViewCore, sim: Simulator) => void,
  ) => {
    const cores = new Map<string, StaleViewCore>();
    const sim = newSim({
      seed: 100,
      nodes,
      coreFactory: (opts) => {
        const core = new StaleViewCore(opts);
        cores.set(opts.self, core);
        return core;
      },
    });
    sim.runFor(2000);
    settle(sim, []);
    corrupt(cores.get("n3")!, sim);
    assert.throws(() => sim.runFor(3000), (e: unknown) => {
      assert.ok(e instanceof InvariantViolation, `${what}: ${e}`);
      assert.match(e.message, pattern, what);
      assert.match(e.message, /VIGIL_SIM_SEED=100/);
      return true;
    });
  };
  // n3 hangs on to {n1,n2,n3} after the others dropped it.
  expectViolation("stale membership", /n3 still counts n\d in membership/, (core, sim) => {
    core.stale = true;
    sim.partition([["n1", "n2"], ["n3"]]);
  });
  expectViolation("generation going back", /n3's membership generation went from/, (core, sim) => {
    // Alone, so that no other node's view of n3 trips the stale-membership check first.
    sim.partition([["n1", "n2"], ["n3"]]);
    sim.runFor(2000);
    const real = Object.getOwnPropertyDescriptor(NodeCore.prototype, "membership")!.get!;
    Object.defineProperty(core, "membership", {
      get() {
        const m = real.call(core) as Membership | null;
        return m && { ...m, generation: m.generation - 1 };
      },
    });
  });
  expectViolation("quorum claimed by a minority", /n3 in .* has quorum/, (core, sim) => {
    const real = Object.getOwnPropertyDescriptor(NodeCore.prototype, "quorum")!.get!;
    Object.defineProperty(core, "quorum", {
      get() {
        const q = real.call(core) as QuorumState | null;
        return q && { ...q, quorate: true };
      },
    });
    sim.partition([["n1", "n2"], ["n3"]]);
  });
});

Deno.test(`membership sim: ${ONLY ? `seed ${ONLY}` : `${SEEDS} seeds`} of mixed membership faults keep the invariants and settle`, () => {
  const seeds = ONLY ? [Number(ONLY)] : Array.from({ length: SEEDS }, (_, i) => FIRST_SEED + i);
  const started = performance.now();
  let steps = 0;
  let falseDeaths = 0;
  let slowest = 0;
  let longestStale = 0;
  for (const seed of seeds) {
    const rng = new Rng(seed ^ 0x3e3b);
    const nodes = nodeNames(rng.int(2, 5));
    const twoNode = nodes.length === 2 && rng.chance(0.5);
    // Under two_node both halves of a split are quorate and keep their resources; on the
    // heal the node that would not be DC of the pair stops its copy and they merge.
    const resources = rng.chance(0.5) ? ["web"] : ["web", "db"];
    const cib = makeCib(
      nodes,
      resources.map((id) => ({ id, location: { [rng.pick(nodes)]: 50 } })),
    );
    // freeze and ignore keep a minority's resources: the heal resolves the conflict too.
    const policies = ["stop", "freeze", "ignore"] as const;
    cib.config.options.noQuorumPolicy = rng.pick(policies);
    const sim = new Simulator({
      seed,
      nodes,
      cib,
      keepaliveMs: KEEPALIVE_MS,
      deadtimeMs: DEADTIME_MS,
      delayMs: rng.pick([[1, 15], [1, 60]] as [number, number][]),
      quorum: twoNode ? { twoNode: true, waitForAll: rng.chance(0.5) } : {},
      staleLogSize: 64,
    });
    const faults: string[] = [];
    try {
      sim.runFor(2000);
      const faultsUntil = sim.now + 6000;
      while (sim.now < faultsUntil) {
        faults.push(`${sim.now}: ${
          randomMembershipFault(sim, rng, {
            quickSameIncarnation: KNOWN_BUGS,
            partitions: true,
            staleToAnyPeer: KNOWN_BUGS,
          })
        }`);
        sim.runFor(rng.int(100, 1000));
      }
      sim.heal();
      sim.loss = 0;
      sim.duplication = 0;
      for (const n of nodes) if (!sim.live().includes(n)) sim.start(n);
      const { groups, tookMs } = settle(sim, resources);
      if (groups.length !== 1 || !groups[0].quorate) {
        sim.fail(`settled into ${describe(groups)}, expected one quorate group`);
      }
      slowest = Math.max(slowest, tookMs);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      throw new Error(
        `VIGIL_SIM_SEED=${seed} (${nodes.length} nodes${twoNode ? ", two_node" : ""}, ` +
          `resources ${resources}, no-quorum-policy ${cib.config.options.noQuorumPolicy}) failed: ${message}\nfaults:\n  ${
            faults.join("\n  ")
          }`,
      );
    }
    steps += sim.steps;
    falseDeaths += sim.falseDeathCount;
    longestStale = Math.max(longestStale, sim.longestStaleMs);
  }
  console.log(
    `${seeds.length} seeds, ${steps} steps, ${falseDeaths} false deaths, slowest settle ${slowest} ms, ` +
      `longest stale membership ${longestStale} ms (bound ${DEADTIME_MS} + tick + delay), ${
        ((performance.now() - started) / 1000).toFixed(1)
      } s`,
  );
  assert.ok(steps > seeds.length * 1000, `simulated ${steps} steps`);
});
