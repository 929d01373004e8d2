import assert from "node:assert/strict";
import { cibDocumentSchema } from "../../core/cib/schema/document.ts";
import { legacyPolicyConfig } from "../../core/node/legacy_policy_config.ts";
import { computeTransition } from "../../core/pe/policy_engine.ts";
import { INFINITY } from "../../core/score.ts";

const doc = (config: Record<string, unknown>) =>
  cibDocumentSchema.parse({
    config: { nodes: [{ name: "n1" }, { name: "n2", priority: 3, votes: 2 }], ...config },
  });

Deno.test("legacy config: primitives with monitor, locations summed, stickiness, options, nodes", () => {
  const out = legacyPolicyConfig(
    doc({
      options: { stickiness: 40, noQuorumPolicy: "freeze", migrationThreshold: 2 },
      resources: [{
        id: "web",
        agent: "Dummy",
        params: { port: 80 },
        meta: { stickiness: 5 },
        operations: [
          { name: "start", timeoutMs: 1000 },
          { name: "monitor", intervalMs: 0 },
          { name: "monitor", intervalMs: "10s" },
        ],
      }],
      constraints: {
        locations: [
          { id: "a", resource: "web", node: "n1", score: 30 },
          { id: "b", resource: "web", node: "n1", score: 20 },
          { id: "c", resource: "web", node: "n2", score: "-INFINITY" },
        ],
      },
    }),
    0,
  );
  assert.deepEqual(out.config.resources, [{
    id: "web",
    agent: "Dummy",
    params: { port: 80 },
    monitorMs: 10_000,
    location: { n1: 50, n2: -INFINITY },
    stickiness: 5,
  }]);
  assert.deepEqual(out.config.options, {
    stickiness: 40,
    noQuorumPolicy: "freeze",
    migrationThreshold: 2,
  });
  assert.deepEqual(out.config.nodes[1], { name: "n2", priority: 3, votes: 2, standby: false });
  assert.deepEqual(out.ignored, []);
  assert.equal(out.nextExpiry, null);
});

Deno.test("legacy config: moves count until they expire; target-role Stopped bans everywhere", () => {
  const d = doc({
    resources: [{ id: "web", agent: "Dummy", meta: { targetRole: "Stopped" } }],
    constraints: {
      locations: [{
        id: "cli-prefer-web",
        resource: "web",
        node: "n2",
        score: "INFINITY",
        expiresAt: 5000,
      }],
    },
  });
  const before = legacyPolicyConfig(d, 4999);
  assert.equal(before.config.resources[0].location.n2, INFINITY);
  assert.equal(before.nextExpiry, 5000);
  assert.deepEqual(Object.keys(before.bans.web), ["n1", "n2"]);
  assert.match(before.bans.web.n1, /target-role Stopped/);
  const after = legacyPolicyConfig(d, 5000);
  assert.deepEqual(after.config.resources[0].location, {});
  assert.equal(after.nextExpiry, null);
  // The old engine stops it: banned on every node.
  const plan = computeTransition({
    config: before.config,
    members: ["n1", "n2"],
    quorate: true,
    status: { n2: { web: { state: "started", failCount: 0, lastRc: 0 } } },
    bans: before.bans,
  });
  assert.deepEqual(plan.actions.map((a) => a.id), ["web_stop_n2"]);
  assert.match(plan.placements[0].reason, /stays stopped.*target-role Stopped/);
});

Deno.test("legacy config: groups, clones, colocations, orders and rules are listed as ignored", () => {
  const out = legacyPolicyConfig(
    doc({
      nodes: [{ name: "n1", standby: true, maintenance: true }],
      options: { noQuorumPolicy: "suicide", symmetricCluster: false },
      resources: [
        { id: "a", agent: "Dummy" },
        { id: "b", agent: "Dummy" },
        { kind: "group", id: "g", members: [{ id: "g1", agent: "Dummy" }] },
        { kind: "clone", id: "c", resource: { id: "c1", agent: "Dummy" } },
      ],
      constraints: {
        locations: [
          {
            id: "r",
            resource: "a",
            rules: [{ score: 5, expressions: [{ attribute: "x", operation: "defined" }] }],
          },
          { id: "in-group", resource: "g1", node: "n1", score: 5 },
        ],
        colocations: [{ id: "ab", resource: "a", withResource: "b", score: "INFINITY" }],
        orders: [{ id: "a-b", first: "a", then: "b" }],
      },
    }),
    0,
  );
  assert.deepEqual(out.config.resources.map((r) => r.id), ["a", "b"]);
  assert.equal(out.config.nodes[0].standby, true);
  assert.equal(out.config.options.noQuorumPolicy, "stop");
  const text = out.ignored.join("\n");
  for (
    const p of [
      /group g/,
      /clone c/,
      /location r \(rules/,
      /location in-group/,
      /colocation ab/,
      /order a-b/,
      /no-quorum-policy suicide/,
      /symmetric-cluster=false/,
      /node n1 maintenance/,
    ]
  ) assert.match(text, p);
});
