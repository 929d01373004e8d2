import assert from "node:assert/strict";
import { type CibSpec, loc, prim, run, where } from "./cib_builder.ts";

interface Case {
  name: string;
  spec: CibSpec;
  /** Resource id -> expected node(s) ("n1", "n1,n2") or "stopped". */
  expect: Record<string, string>;
}

const rule = (score: number | string, attribute: string, operation: string, value?: string) => ({
  score,
  expressions: [{ attribute, operation, ...(value === undefined ? {} : { value }) }],
});

const LOCATION_CASES: Case[] = [
  {
    name: "without constraints resources spread over the least loaded nodes, by name",
    spec: { resources: [prim("a"), prim("b"), prim("c"), prim("d")] },
    expect: { a: "n1", b: "n2", c: "n3", d: "n1" },
  },
  {
    name: "a positive location score attracts",
    spec: {
      resources: [prim("web")],
      locations: [loc("l1", "web", "n2", 100)],
    },
    expect: { web: "n2" },
  },
  {
    name: "a -INFINITY location bans the node it runs on",
    spec: {
      resources: [prim("web")],
      locations: [loc("ban", "web", "n1", "-INFINITY")],
      running: { web: "n1" },
    },
    expect: { web: "n2" },
  },
  {
    name: "a rule on a node attribute selects the node",
    spec: {
      nodes: ["n1", "n2", { name: "n3", attributes: { rack: "b" } }],
      resources: [prim("web")],
      locations: [{ id: "rack", resource: "web", rules: [rule(200, "rack", "eq", "b")] }],
    },
    expect: { web: "n3" },
  },
  {
    name: "score-attribute takes the score from the node (missing attribute: -INFINITY)",
    spec: {
      nodes: [{ name: "n1", attributes: { pingd: "100" } }, {
        name: "n2",
        attributes: { pingd: "300" },
      }, "n3"],
      resources: [prim("web")],
      locations: [{
        id: "ping",
        resource: "web",
        rules: [{
          scoreAttribute: "pingd",
          expressions: [{ attribute: "pingd", operation: "defined" }],
        }],
      }],
    },
    expect: { web: "n2" },
  },
  {
    name: "a -INFINITY rule on #uname ne keeps the resource on one node",
    spec: {
      resources: [prim("web")],
      locations: [{
        id: "only-n3",
        resource: "web",
        rules: [rule("-INFINITY", "#uname", "ne", "n3")],
      }],
    },
    expect: { web: "n3" },
  },
  {
    name: "asymmetric cluster: a resource runs only where a location allows it",
    spec: {
      options: { symmetricCluster: false },
      resources: [prim("allowed"), prim("nowhere")],
      locations: [loc("opt-in", "allowed", "n3", 0)],
    },
    expect: { allowed: "n3", nowhere: "stopped" },
  },
  {
    name: "a standby node runs nothing",
    spec: {
      nodes: ["n1", { name: "n2", standby: true }],
      resources: [prim("web")],
      locations: [loc("l", "web", "n2", 100)],
      running: { web: "n2" },
    },
    expect: { web: "n1" },
  },
  {
    name: "a node shutting down runs nothing",
    spec: {
      nodes: ["n1", "n2"],
      resources: [prim("web")],
      running: { web: "n2" },
      nodeState: { n2: { shutdown: 1700000000 } },
    },
    expect: { web: "n1" },
  },
  {
    name: "target-role Stopped stops the resource",
    spec: { resources: [prim("web", { meta: { targetRole: "Stopped" } })], running: { web: "n1" } },
    expect: { web: "stopped" },
  },
  {
    name: "an offline node's resource restarts elsewhere (fencing disabled)",
    spec: { resources: [prim("web")], running: { web: "n1" }, online: ["n2", "n3"] },
    expect: { web: "n2" },
  },
];

const STICKINESS_CASES: Case[] = [
  {
    name: "stickiness outweighs a weaker location preference",
    spec: {
      options: { stickiness: 100 },
      resources: [prim("web")],
      locations: [loc("l", "web", "n1", 50)],
      running: { web: "n3" },
    },
    expect: { web: "n3" },
  },
  {
    name: "a stronger location preference outweighs stickiness (no auto-failback otherwise)",
    spec: {
      options: { stickiness: 100 },
      resources: [prim("web")],
      locations: [loc("l", "web", "n1", 150)],
      running: { web: "n3" },
    },
    expect: { web: "n1" },
  },
  {
    name: "per-resource stickiness overrides the default",
    spec: {
      options: { stickiness: 100 },
      resources: [prim("web", { meta: { stickiness: 0 } })],
      locations: [loc("l", "web", "n1", 50)],
      running: { web: "n3" },
    },
    expect: { web: "n1" },
  },
  {
    name: "equal scores keep a resource where it runs",
    spec: {
      resources: [prim("web")],
      locations: [loc("l1", "web", "n1", 10), loc("l3", "web", "n3", 10)],
      running: { web: "n3" },
    },
    expect: { web: "n3" },
  },
];

const COLOCATION_CASES: Case[] = [
  {
    name: "mandatory colocation places the dependent with its primary",
    spec: {
      resources: [prim("db"), prim("web")],
      locations: [loc("l", "db", "n2", 100)],
      colocations: [{ id: "c", resource: "web", withResource: "db", score: "INFINITY" }],
    },
    expect: { db: "n2", web: "n2" },
  },
  {
    name: "-INFINITY colocation keeps them apart",
    spec: {
      resources: [prim("db"), prim("web")],
      locations: [loc("l", "web", "n1", 100), loc("l2", "db", "n1", 100)],
      colocations: [{ id: "c", resource: "web", withResource: "db", score: "-INFINITY" }],
    },
    expect: { db: "n1", web: "n2" },
  },
  {
    name: "an advisory colocation competes with location scores",
    spec: {
      resources: [prim("db"), prim("web")],
      locations: [loc("l", "db", "n2", 100), loc("w", "web", "n1", 10)],
      colocations: [{ id: "c", resource: "web", withResource: "db", score: 50 }],
    },
    expect: { db: "n2", web: "n2" },
  },
  {
    name: "the dependent's preferences pull the primary (with-this merge)",
    spec: {
      resources: [prim("db"), prim("web")],
      locations: [loc("w", "web", "n3", 100)],
      colocations: [{ id: "c", resource: "web", withResource: "db", score: "INFINITY" }],
    },
    expect: { db: "n3", web: "n3" },
  },
  {
    name: "a dependent of a primary that cannot run stays stopped",
    spec: {
      resources: [prim("db", { meta: { targetRole: "Stopped" } }), prim("web")],
      colocations: [{ id: "c", resource: "web", withResource: "db", score: "INFINITY" }],
      running: { web: "n1", db: "n1" },
    },
    expect: { db: "stopped", web: "stopped" },
  },
  {
    name: "priority decides who runs when two anti-colocated resources share one node",
    spec: {
      nodes: ["n1"],
      resources: [prim("low", { meta: { priority: 1 } }), prim("high", { meta: { priority: 10 } })],
      colocations: [{ id: "c", resource: "low", withResource: "high", score: "-INFINITY" }],
      running: { low: "n1" },
    },
    expect: { high: "n1", low: "stopped" },
  },
  {
    name: "colocation by node attribute: same rack, not same node",
    spec: {
      nodes: [
        { name: "n1", attributes: { rack: "a" } },
        { name: "n2", attributes: { rack: "b" } },
        { name: "n3", attributes: { rack: "b" } },
      ],
      resources: [prim("db"), prim("web")],
      locations: [loc("l", "db", "n3", 100), loc("w", "web", "n3", "-INFINITY")],
      colocations: [{
        id: "c",
        resource: "web",
        withResource: "db",
        score: "INFINITY",
        nodeAttribute: "rack",
      }],
    },
    expect: { db: "n3", web: "n2" },
  },
  {
    // Pacemaker 2.1.5: a chained colocation counts at its own strength (sign
    // only from the link before), so r2's stickiness 100 on n3 outweighs r0's
    // location 50 on n1 even through the weak -30 link.
    name: "merged colocation chains keep their own strength",
    spec: {
      options: { stickiness: 100 },
      resources: [prim("r0"), prim("r1"), prim("r2")],
      locations: [loc("l", "r0", "n1", 50)],
      colocations: [
        { id: "c0", resource: "r2", withResource: "r1", score: "-INFINITY" },
        { id: "c1", resource: "r1", withResource: "r0", score: -30 },
      ],
      running: { r2: "n3" },
    },
    expect: { r0: "n3", r1: "n1", r2: "n3" },
  },
];

const GROUP_CASES: Case[] = [
  {
    name: "group members run together; the group's location applies to it as a whole",
    spec: {
      resources: [{ kind: "group", id: "g", members: [prim("ip"), prim("fs"), prim("app")] }],
      locations: [loc("l", "g", "n2", 100)],
    },
    expect: { ip: "n2", fs: "n2", app: "n2" },
  },
  {
    name: "a member banned from the current node moves the whole group",
    spec: {
      resources: [{ kind: "group", id: "g", members: [prim("ip"), prim("fs")] }],
      locations: [loc("ban", "fs", "n1", "-INFINITY")],
      running: { ip: "n1", fs: "n1" },
    },
    expect: { ip: "n2", fs: "n2" },
  },
  {
    name: "a member that cannot run stops the members after it, not before",
    spec: {
      resources: [{
        kind: "group",
        id: "g",
        members: [prim("ip"), prim("fs", { meta: { targetRole: "Stopped" } }), prim("app")],
      }],
      running: { ip: "n1", fs: "n1", app: "n1" },
    },
    expect: { ip: "n1", fs: "stopped", app: "stopped" },
  },
  {
    name: "a resource colocated with a group goes where the group is",
    spec: {
      resources: [{ kind: "group", id: "g", members: [prim("ip"), prim("fs")] }, prim("web")],
      locations: [loc("l", "g", "n3", 100)],
      colocations: [{ id: "c", resource: "web", withResource: "g", score: "INFINITY" }],
    },
    expect: { ip: "n3", fs: "n3", web: "n3" },
  },
];

for (
  const [family, cases] of Object.entries({
    location: LOCATION_CASES,
    stickiness: STICKINESS_CASES,
    colocation: COLOCATION_CASES,
    group: GROUP_CASES,
  })
) {
  for (const c of cases) {
    Deno.test(`${family}: ${c.name}`, () => {
      const result = run(c.spec);
      for (const [id, want] of Object.entries(c.expect)) {
        assert.equal(where(result, id), want, `${id} (summary: ${result.summary.join(" | ")})`);
      }
    });
  }
}

Deno.test("moves are summarised as Move, starts as Start, stops as Stop", () => {
  const result = run({
    resources: [prim("a"), prim("b"), prim("c", { meta: { targetRole: "Stopped" } })],
    locations: [loc("l", "a", "n2", 100)],
    running: { a: "n1", c: "n3" },
  });
  const verbs = Object.fromEntries(
    result.changes.map((c) => [c.resource, `${c.verb} ${c.from ?? ""}>${c.to ?? ""}`]),
  );
  assert.equal(verbs.a, "Move n1>n2");
  assert.equal(verbs.b, "Start >n1");
  assert.equal(verbs.c, "Stop n3>");
});
