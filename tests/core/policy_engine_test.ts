import assert from "node:assert/strict";
import {
  type CibConfig,
  cibConfigSchema,
  type CibStatus,
  type ResourceState,
} from "../../core/cib/cib.ts";
import {
  computeTransition,
  type PlannedAction,
  type PolicyOutput,
} from "../../core/pe/policy_engine.ts";
import { INFINITY } from "../../core/score.ts";

interface Setup {
  nodes?: (string | Record<string, unknown>)[];
  resources?: Record<string, unknown>[];
  options?: Record<string, unknown>;
}

function config(setup: Setup = {}): CibConfig {
  return cibConfigSchema.parse({
    nodes: (setup.nodes ?? ["n1", "n2"]).map((n) => (typeof n === "string" ? { name: n } : n)),
    resources: setup.resources ?? [{ id: "web", agent: "dummy" }],
    ...(setup.options ? { options: setup.options } : {}),
  });
}

/** Status from "node:resource" => state (failCount optional as "state/fails"). */
function status(entries: Record<string, string> = {}): CibStatus {
  const out: CibStatus = {};
  for (const [key, value] of Object.entries(entries)) {
    const [node, rsc] = key.split(":");
    const [state, fails] = value.split("/");
    (out[node] ??= {})[rsc] = {
      state: state as ResourceState,
      failCount: Number(fails ?? 0),
      lastRc: state === "stopped" ? 7 : 0,
    };
  }
  return out;
}

function plan(
  cfg: CibConfig,
  st: CibStatus = {},
  opts: { members?: string[]; quorate?: boolean } = {},
): PolicyOutput {
  return computeTransition({
    config: cfg,
    members: opts.members ?? cfg.nodes.map((n) => n.name),
    quorate: opts.quorate ?? true,
    status: st,
  });
}

const start = (rsc: string, node: string, after: string[] = []): PlannedAction => ({
  id: `${rsc}_start_${node}`,
  resource: rsc,
  action: "start",
  node,
  after,
});
const stop = (rsc: string, node: string): PlannedAction => ({
  id: `${rsc}_stop_${node}`,
  resource: rsc,
  action: "stop",
  node,
  after: [],
});

Deno.test("initial placement follows location scores", () => {
  const table: { location: Record<string, number | string>; expect: string | null }[] = [
    { location: {}, expect: "n1" }, // tie: lowest name
    { location: { n2: 50 }, expect: "n2" },
    { location: { n1: 10, n2: 20, n3: 30 }, expect: "n3" },
    { location: { n1: "INFINITY", n3: 999 }, expect: "n1" },
    { location: { n1: -10 }, expect: "n2" }, // negative: may not run there
    { location: { n1: -1, n2: -1, n3: -1 }, expect: null },
  ];
  for (const { location, expect } of table) {
    const cfg = config({
      nodes: ["n1", "n2", "n3"],
      resources: [{ id: "web", agent: "d", location }],
    });
    const out = plan(cfg);
    const label = JSON.stringify(location);
    assert.equal(out.placements[0].node, expect, label);
    assert.deepEqual(out.actions, expect ? [start("web", expect)] : [], label);
    assert.deepEqual(out.waiting, []);
  }
});

Deno.test("placement reports every member's final score", () => {
  const cfg = config({
    nodes: ["n1", "n2", "n3"],
    resources: [{ id: "web", agent: "d", location: { n2: 50, n3: "-INFINITY" } }],
  });
  assert.deepEqual(plan(cfg).placements[0].scores, { n1: 0, n2: 50, n3: -INFINITY });
});

Deno.test("stickiness keeps a running resource against a lower location score", () => {
  const cfg = config({ resources: [{ id: "web", agent: "d", location: { n2: 50 } }] });
  const out = plan(cfg, status({ "n1:web": "started" }));
  assert.equal(out.placements[0].node, "n1");
  assert.deepEqual(out.placements[0].scores, { n1: 100, n2: 50 });
  assert.deepEqual(out.actions, []);
  assert.match(out.placements[0].reason, /stickiness 100/);
});

Deno.test("stickiness ties with location: the running node keeps it", () => {
  const cfg = config({ resources: [{ id: "web", agent: "d", location: { n2: 100 } }] });
  const out = plan(cfg, status({ "n2:web": "stopped", "n1:web": "started" }));
  assert.equal(out.placements[0].node, "n1");
  assert.deepEqual(out.actions, []);
});

Deno.test("a location score above stickiness moves the resource: stop, then start", () => {
  const cfg = config({ resources: [{ id: "web", agent: "d", location: { n2: 150 } }] });
  const out = plan(cfg, status({ "n1:web": "started" }));
  assert.equal(out.placements[0].node, "n2");
  assert.deepEqual(out.actions, [stop("web", "n1"), start("web", "n2", ["web_stop_n1"])]);
  assert.match(out.placements[0].reason, /location 150/);
});

Deno.test("per-resource stickiness overrides the cluster default", () => {
  const cfg = config({
    resources: [{ id: "web", agent: "d", location: { n2: 150 }, stickiness: 200 }],
  });
  const out = plan(cfg, status({ "n1:web": "started" }));
  assert.equal(out.placements[0].node, "n1");
  assert.deepEqual(out.actions, []);
  const loose = config({
    resources: [{ id: "web", agent: "d", location: { n2: 1 } }],
    options: { stickiness: 0 },
  });
  assert.deepEqual(plan(loose, status({ "n1:web": "started" })).actions, [
    stop("web", "n1"),
    start("web", "n2", ["web_stop_n1"]),
  ]);
});

Deno.test("-INFINITY location bans a node, even where it runs", () => {
  const cfg = config({ resources: [{ id: "web", agent: "d", location: { n1: "-INFINITY" } }] });
  assert.deepEqual(plan(cfg).actions, [start("web", "n2")]);
  const out = plan(cfg, status({ "n1:web": "started" }));
  assert.equal(out.placements[0].scores.n1, -INFINITY, "stickiness cannot beat a ban");
  assert.deepEqual(out.actions, [stop("web", "n1"), start("web", "n2", ["web_stop_n1"])]);
});

Deno.test("-INFINITY everywhere: stays stopped, and the reason lists every node", () => {
  const cfg = config({
    resources: [{ id: "web", agent: "d", location: { n1: "-INFINITY", n2: "-INFINITY" } }],
  });
  const out = plan(cfg, status({ "n2:web": "started" }));
  assert.equal(out.placements[0].node, null);
  assert.deepEqual(out.actions, [stop("web", "n2")]);
  const reason = out.placements[0].reason;
  assert.match(reason, /web stays stopped/);
  assert.match(reason, /n1 -INFINITY \(location -INFINITY\)/);
  assert.match(reason, /n2 -INFINITY \(location -INFINITY, stickiness 100\)/);
});

Deno.test("a standby node is excluded, even with INFINITY location", () => {
  const cfg = config({
    nodes: [{ name: "n1", standby: true }, "n2"],
    resources: [{ id: "web", agent: "d", location: { n1: "INFINITY" } }],
  });
  const out = plan(cfg);
  assert.equal(out.placements[0].node, "n2");
  assert.equal(out.placements[0].scores.n1, -INFINITY);
  assert.deepEqual(out.actions, [start("web", "n2")]);
  // Running on the standby node: moved away.
  assert.deepEqual(plan(cfg, status({ "n1:web": "started" })).actions, [
    stop("web", "n1"),
    start("web", "n2", ["web_stop_n1"]),
  ]);
  const alone = plan(cfg, {}, { members: ["n1"] });
  assert.equal(alone.placements[0].node, null);
  assert.match(alone.placements[0].reason, /n1 is in standby/);
});

Deno.test("failCount at migration-threshold bans the node; below it does not", () => {
  const cfg = config({ resources: [{ id: "web", agent: "d", location: { n1: 50 } }] });
  const below = plan(cfg, status({ "n1:web": "stopped/2" }));
  assert.equal(below.placements[0].node, "n1");
  const at = plan(cfg, status({ "n1:web": "stopped/3" }));
  assert.equal(at.placements[0].node, "n2");
  assert.equal(at.placements[0].scores.n1, -INFINITY);
  assert.deepEqual(at.actions, [start("web", "n2")]);
  const above = plan(cfg, status({ "n1:web": "stopped/7" }));
  assert.equal(above.placements[0].node, "n2");
});

Deno.test("a failed resource at the threshold moves: stop there, then start elsewhere", () => {
  const cfg = config({ resources: [{ id: "web", agent: "d", location: { n1: 50 } }] });
  const out = plan(cfg, status({ "n1:web": "failed/3" }));
  assert.deepEqual(out.actions, [stop("web", "n1"), start("web", "n2", ["web_stop_n1"])]);
  assert.match(out.placements[0].reason, /web on n2/);
});

Deno.test("migration-threshold 0 never bans", () => {
  const cfg = config({
    resources: [{ id: "web", agent: "d", location: { n1: 50 } }],
    options: { migrationThreshold: 0 },
  });
  assert.equal(plan(cfg, status({ "n1:web": "stopped/1000" })).placements[0].node, "n1");
});

Deno.test("no quorum with no-quorum-policy=stop stops everything", () => {
  const cfg = config({ resources: [{ id: "web", agent: "d" }, { id: "db", agent: "d" }] });
  const st = status({ "n1:web": "started", "n2:db": "started" });
  const out = plan(cfg, st, { quorate: false });
  assert.deepEqual(out.actions, [stop("web", "n1"), stop("db", "n2")]);
  assert.deepEqual(out.placements.map((p) => p.node), [null, null]);
  assert.match(out.placements[0].reason, /no quorum \(no-quorum-policy=stop\)/);
  // Nothing running: nothing to do, nothing started.
  assert.deepEqual(plan(cfg, {}, { quorate: false }).actions, []);
});

Deno.test("no quorum with no-quorum-policy=freeze leaves everything as it is", () => {
  const cfg = config({
    resources: [{ id: "web", agent: "d", location: { n2: 1000 } }, { id: "db", agent: "d" }],
    options: { noQuorumPolicy: "freeze" },
  });
  const out = plan(cfg, status({ "n1:web": "started" }), { quorate: false });
  assert.deepEqual(out.actions, [], "neither moves web nor starts db");
  assert.deepEqual(out.placements.map((p) => p.node), ["n1", null]);
  assert.match(out.placements[0].reason, /freeze/);
});

Deno.test("no quorum with no-quorum-policy=ignore places normally", () => {
  const cfg = config({
    resources: [{ id: "web", agent: "d", location: { n2: 10 } }],
    options: { noQuorumPolicy: "ignore" },
  });
  const out = plan(cfg, {}, { quorate: false });
  assert.deepEqual(out.actions, [start("web", "n2")]);
  assert.equal(out.placements[0].node, "n2");
});

Deno.test("quorum makes the policy irrelevant", () => {
  for (const noQuorumPolicy of ["stop", "freeze", "ignore"]) {
    const cfg = config({ options: { noQuorumPolicy } });
    assert.deepEqual(
      plan(cfg, {}, { quorate: true }).actions,
      [start("web", "n1")],
      noQuorumPolicy,
    );
  }
});

Deno.test("a failed resource on its node is recovered: stop, then start depending on the stop", () => {
  const cfg = config({ resources: [{ id: "web", agent: "d", location: { n1: 10 } }] });
  const out = plan(cfg, status({ "n1:web": "failed/1" }));
  assert.equal(out.placements[0].node, "n1");
  assert.deepEqual(out.actions, [stop("web", "n1"), start("web", "n1", ["web_stop_n1"])]);
});

Deno.test("active on two nodes: stop on the one not chosen", () => {
  const cfg = config({ resources: [{ id: "web", agent: "d", location: { n2: 10 } }] });
  const out = plan(cfg, status({ "n1:web": "started", "n2:web": "started" }));
  assert.equal(out.placements[0].node, "n2");
  assert.deepEqual(out.actions, [stop("web", "n1")]);
  // Equal scores: tie goes to the lowest name.
  const even = plan(config(), status({ "n1:web": "started", "n2:web": "started" }));
  assert.deepEqual(even.actions, [stop("web", "n2")]);
});

Deno.test("started on one node and failed on another: stop the failed copy only", () => {
  const out = plan(config(), status({ "n1:web": "failed/1", "n2:web": "started" }));
  assert.equal(out.placements[0].node, "n2");
  assert.deepEqual(out.actions, [stop("web", "n1")]);
});

Deno.test("an operation in flight: the resource waits, no actions", () => {
  for (const state of ["starting", "stopping"]) {
    const cfg = config({ resources: [{ id: "web", agent: "d", location: { n2: 500 } }] });
    const out = plan(cfg, status({ "n1:web": state }));
    assert.deepEqual(out.waiting, ["web"], state);
    assert.deepEqual(out.actions, [], state);
    assert.equal(out.placements[0].node, state === "starting" ? "n1" : null);
    assert.match(out.placements[0].reason, /in flight/);
  }
});

Deno.test("in flight on one node, failed on another: still waits", () => {
  const out = plan(config(), status({ "n1:web": "stopping", "n2:web": "failed/1" }));
  assert.deepEqual(out.waiting, ["web"]);
  assert.deepEqual(out.actions, []);
});

Deno.test("only the waiting resource waits; others are planned", () => {
  const cfg = config({ resources: [{ id: "web", agent: "d" }, { id: "db", agent: "d" }] });
  const out = plan(cfg, status({ "n1:web": "starting" }));
  assert.deepEqual(out.waiting, ["web"]);
  // web's in-flight start counts as allocated to n1, so db goes to n2.
  assert.deepEqual(out.actions, [start("db", "n2")]);
});

Deno.test("an orphan (in status, not configured) is stopped", () => {
  const cfg = config({ resources: [] });
  const out = plan(
    cfg,
    status({ "n2:old": "started", "n1:gone": "failed/1", "n1:quiet": "stopped" }),
  );
  assert.deepEqual(out.actions.sort((a, b) => (a.id < b.id ? -1 : 1)), [
    stop("gone", "n1"),
    stop("old", "n2"),
  ]);
  assert.deepEqual(out.placements, []);
});

Deno.test("status of non-members is ignored", () => {
  const cfg = config();
  const out = plan(cfg, status({ "n1:web": "started", "n1:old": "started" }), { members: ["n2"] });
  assert.deepEqual(out.actions, [start("web", "n2")]);
  assert.deepEqual(Object.keys(out.placements[0].scores), ["n2"]);
});

Deno.test("no members: nothing can run", () => {
  const out = plan(config(), {}, { members: [] });
  assert.equal(out.placements[0].node, null);
  assert.deepEqual(out.actions, []);
  assert.match(out.placements[0].reason, /no member node/);
});

Deno.test("ties go to the node with fewer allocated resources, then the lowest name", () => {
  const cfg = config({
    nodes: ["n1", "n2", "n3"],
    resources: ["r1", "r2", "r3", "r4"].map((id) => ({ id, agent: "d" })),
  });
  const out = plan(cfg);
  assert.deepEqual(out.placements.map((p) => p.node), ["n1", "n2", "n3", "n1"]);
  // A resource already running on n1 counts as allocated there.
  const out2 = plan(
    config({ resources: [{ id: "a", agent: "d" }, { id: "b", agent: "d" }] }),
    status({ "n1:a": "started" }),
  );
  assert.deepEqual(out2.placements.map((p) => p.node), ["n1", "n2"]);
});

Deno.test("the result does not depend on the order of members", () => {
  const cfg = config({
    nodes: ["n1", "n2", "n3"],
    resources: ["r1", "r2", "r3"].map((id) => ({ id, agent: "d" })),
  });
  const a = plan(cfg, {}, { members: ["n1", "n2", "n3"] });
  const b = plan(cfg, {}, { members: ["n3", "n1", "n2"] });
  assert.deepEqual(b.placements.map((p) => p.node), a.placements.map((p) => p.node));
  assert.deepEqual(b.actions, a.actions);
});

Deno.test("the reason names the deciding factor", () => {
  const cases: { setup: Setup; st?: CibStatus; expect: RegExp }[] = [
    { setup: {}, expect: /^web on n1 with score 0 \(default score 0\)$/ },
    {
      setup: { resources: [{ id: "web", agent: "d", location: { n2: 50 } }] },
      expect: /^web on n2 with score 50 \(location 50\)$/,
    },
    {
      setup: { resources: [{ id: "web", agent: "d", location: { n1: 20 } }] },
      st: status({ "n1:web": "started" }),
      expect: /^web on n1 with score 120 \(location 20 \+ stickiness 100\)$/,
    },
    {
      setup: { resources: [{ id: "web", agent: "d", location: { n1: "INFINITY" } }] },
      expect: /^web on n1 with score INFINITY \(location INFINITY\)$/,
    },
  ];
  for (const { setup, st, expect } of cases) {
    assert.match(plan(config(setup), st ?? {}).placements[0].reason, expect);
  }
  const banned = plan(
    config({ nodes: ["n1"], resources: [{ id: "web", agent: "d" }] }),
    status({ "n1:web": "failed/3" }),
  );
  assert.match(banned.placements[0].reason, /3 failures reached migration-threshold 3/);
});

Deno.test("placements come in configuration order and the engine is pure", () => {
  const cfg = config({ resources: ["z", "a", "m"].map((id) => ({ id, agent: "d" })) });
  const st = status({ "n2:a": "started" });
  const first = plan(cfg, st);
  assert.deepEqual(first.placements.map((p) => p.resource), ["z", "a", "m"]);
  assert.deepEqual(plan(cfg, st), first);
  assert.deepEqual(st, status({ "n2:a": "started" }), "input status not modified");
});

Deno.test("node health scores (ping connectivity) move a resource past stickiness", () => {
  const cfg = config({ resources: [{ id: "ip", agent: "Dummy" }] });
  const st = status({ "n1:ip": "started" });
  const members = ["n1", "n2"];
  const both = { n1: 1000, n2: 1000 };
  const stay = computeTransition({
    config: cfg,
    members,
    quorate: true,
    status: st,
    nodeScores: both,
  });
  assert.equal(stay.actions.length, 0);
  const lost = { n1: 0, n2: 1000 };
  const move = computeTransition({
    config: cfg,
    members,
    quorate: true,
    status: st,
    nodeScores: lost,
  });
  assert.deepEqual(move.actions, [stop("ip", "n1"), start("ip", "n2", ["ip_stop_n1"])]);
  assert.match(move.placements[0].reason, /connectivity 1000/);
});

Deno.test("a ban keeps a resource off a node, with the reason in the placement", () => {
  const cfg = config({ resources: [{ id: "web", agent: "Dummy" }] });
  const out = computeTransition({
    config: cfg,
    members: ["n1"],
    quorate: true,
    status: status({ "n1:web": "started" }),
    bans: { web: { n1: "n1 gave web up to merge with n2, which runs it" } },
  });
  assert.deepEqual(out.actions, [stop("web", "n1")]);
  assert.match(out.placements[0].reason, /gave web up to merge with n2/);
});
