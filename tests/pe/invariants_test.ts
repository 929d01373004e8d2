/**
 * Properties that must hold for any configuration and state, checked on
 * random clusters: a primitive never ends up on two nodes (unless it already
 * was and cannot be stopped), only on nodes able to run it, never against a
 * -INFINITY location or a mandatory (anti-)colocation (in an acyclic
 * colocation graph); the graph is acyclic
 * with valid inputs; and scheduling is deterministic.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { buildCib, type CibSpec } from "./cib_builder.ts";
import { arbColocations, arbLocations, arbRunning, NODES } from "./random_cluster.ts";
import { schedule } from "../../core/pe/scheduler/policy_engine.ts";

const arbSpec: fc.Arbitrary<CibSpec> = fc.record({
  count: fc.integer({ min: 1, max: 7 }),
  online: fc.subarray(NODES, { minLength: 0 }),
  standby: fc.subarray(NODES, { maxLength: 2 }),
  stickiness: fc.constantFrom(0, 1, 100),
  locations: arbLocations([-1_000_000, -10, 10, 50, 1_000_000], 6),
  colocations: arbColocations([-1_000_000, 20, 1_000_000], 4),
  orders: fc.array(fc.record({ a: fc.nat(6), b: fc.nat(6) }), { maxLength: 3 }),
  running: arbRunning(6),
  grouped: fc.boolean(),
}).map((r) => {
  const ids = Array.from({ length: r.count }, (_, i) => `r${i}`);
  const pick = (i: number) => ids[i % ids.length];
  const resources: unknown[] = r.grouped && ids.length >= 3
    ? [
      { kind: "group", id: "g", members: ids.slice(0, 2).map((id) => ({ id, agent: "Dummy" })) },
      ...ids.slice(2).map((id) => ({ id, agent: "Dummy" })),
    ]
    : ids.map((id) => ({ id, agent: "Dummy" }));
  // Colocations point from later to earlier resources: a cycle of colocations
  // is broken wherever assignment meets it (as Pacemaker does), so it is left out.
  const colocations = r.colocations
    .filter((c) => c.a % ids.length > c.b % ids.length)
    .map((c, i) => ({ id: `c${i}`, resource: pick(c.a), withResource: pick(c.b), score: c.score }));
  const orders = r.orders
    .filter((o) => pick(o.a) !== pick(o.b))
    .map((o, i) => ({ id: `o${i}`, first: pick(o.a), then: pick(o.b) }));
  const running: Record<string, string[]> = {};
  for (const [i, n] of r.running) (running[pick(i)] ??= []).includes(n) || running[pick(i)].push(n);
  return {
    nodes: NODES.map((name) => ({ name, standby: r.standby.includes(name) })),
    online: r.online,
    options: { stickiness: r.stickiness },
    resources,
    locations: r.locations.map((l, i) => ({
      id: `l${i}`,
      resource: pick(l.r),
      node: l.n,
      score: l.score,
    })),
    colocations,
    orders,
    running,
  } satisfies CibSpec;
});

Deno.test("random clusters: placement invariants and a well-formed graph", () => {
  fc.assert(
    fc.property(arbSpec, (spec) => {
      const cib = buildCib(spec);
      const result = schedule(cib);
      const online = new Set(spec.online);
      const standby = new Set(
        (spec.nodes as Array<{ name: string; standby: boolean }>).filter((n) => n.standby).map((
          n,
        ) => n.name),
      );
      const before = spec.running ?? {};
      for (const [id, p] of Object.entries(result.placement)) {
        const was = ([] as string[]).concat(before[id] ?? []).filter((n) => online.has(n));
        if (p.nodes.length > 1) {
          // Only a resource already active on several nodes may remain so (it cannot have grown).
          for (const n of p.nodes) {
            assert.ok(was.includes(n), `${id} newly active on ${n} while on ${p.nodes}`);
          }
        }
        for (const n of p.nodes) {
          const started = !was.includes(n);
          if (started) {
            assert.ok(online.has(n), `${id} started on offline ${n}`);
            assert.ok(!standby.has(n), `${id} started on standby ${n}`);
          }
        }
      }
      for (
        const l of (spec.locations ?? []) as Array<
          { resource: string; node: string; score: number }
        >
      ) {
        if (l.score <= -1_000_000) {
          assert.ok(
            !result.placement[l.resource].nodes.includes(l.node),
            `${l.resource} on banned ${l.node}`,
          );
        }
      }
      for (
        const c of (spec.colocations ?? []) as Array<
          { resource: string; withResource: string; score: number }
        >
      ) {
        const a = result.placement[c.resource].nodes;
        const b = result.placement[c.withResource].nodes;
        if (a.length !== 1 || b.length !== 1) continue;
        if (c.score >= 1_000_000) {
          assert.equal(a[0], b[0], `${c.resource} must be with ${c.withResource}`);
        }
        if (c.score <= -1_000_000) {
          assert.notEqual(a[0], b[0], `${c.resource} must not be with ${c.withResource}`);
        }
      }
      // The graph: inputs exist and there is no cycle.
      const ids = new Set(result.actions.map((a) => a.id));
      const state = new Map<number, number>();
      const visit = (id: number): void => {
        const s = state.get(id);
        if (s === 2) return;
        assert.notEqual(s, 1, `cycle through action ${id}`);
        state.set(id, 1);
        for (const i of result.actions[id].inputs) {
          assert.ok(ids.has(i), `missing input ${i}`);
          visit(i);
        }
        state.set(id, 2);
      };
      for (const a of result.actions) visit(a.id);
      // Determinism.
      assert.deepEqual(schedule(cib).placement, result.placement);
    }),
    { numRuns: 300, seed: 20261122 },
  );
});
