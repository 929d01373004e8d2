/**
 * The graph transition engine in a simulated cluster whose DC plans with the real
 * policy engine: node kills mid-transition (crashes, and hangs when fencing is on),
 * lost messages, failing and hanging operations, failing and hanging fences, resources
 * failing on their own, configuration changes, and nodes booting with a resource the
 * cluster does not know of. See graph_engine_sim.ts for the model.
 *
 * @module
 */

import assert from "node:assert/strict";
import { runSimulation, type SimOptions, type SimReport } from "./graph_engine_sim.ts";

/** Seeds per fencing mode (so twice this many runs in all). */
const SEEDS = 100;
/** Seeds for each deliberate bug. */
const BUG_SEEDS = 30;

function summary(reports: SimReport[]): string {
  const sum = (f: (r: SimReport) => number) => reports.reduce((n, r) => n + f(r), 0);
  const kinds: Record<string, number> = {};
  for (const r of reports) {
    for (const [k, v] of Object.entries(r.abortKinds)) kinds[k] = (kinds[k] ?? 0) + v;
  }
  return `${reports.length} seeds: ${sum((r) => r.transitions)} transitions (${
    sum((r) => r.finished)
  } finished, ${sum((r) => r.aborted)} aborted ${JSON.stringify(kinds)}), ${
    sum((r) => r.kills)
  } kills, ${sum((r) => r.fences)} fences (${sum((r) => r.fenceFailures)} failed), ${
    sum((r) => r.opFailures)
  } op failures, ${sum((r) => r.rogueStarts)} rogue starts, ${sum((r) => r.startsBegun)} starts, ${
    sum((r) => r.events)
  } events`;
}

for (const stonith of [true, false]) {
  Deno.test(
    `simulation ${stonith ? "with" : "without"} fencing: never active twice, converges`,
    () => {
      const reports: SimReport[] = [];
      for (let seed = 1; seed <= SEEDS; seed++) {
        const r = runSimulation({ seed, stonith });
        reports.push(r);
        assert.deepEqual(r.violations, [], `seed ${seed}: ${r.violations.join("\n")}`);
        assert.ok(r.converged, `seed ${seed}: did not converge: ${r.convergenceProblem}`);
      }
      // The faults really happened (a simulation that injects nothing proves nothing).
      const total = (f: (r: SimReport) => number) => reports.reduce((n, r) => n + f(r), 0);
      assert.ok(total((r) => r.kills) > SEEDS, "nodes were killed");
      assert.ok(total((r) => r.abortKinds["membership"] ?? 0) > 0, "membership aborts");
      assert.ok(total((r) => r.abortKinds["op timeout"] ?? 0) > 0, "operation timeouts");
      assert.ok(total((r) => r.abortKinds["op failed"] ?? 0) > 0, "operation failures");
      assert.ok(total((r) => r.abortKinds["cib"] ?? 0) > 0, "CIB changes");
      assert.ok(total((r) => r.rogueStarts) > 0, "unknown resources found by probes");
      if (stonith) {
        assert.ok(total((r) => r.fences) > SEEDS, "nodes were fenced");
        assert.ok(total((r) => r.abortKinds["fence failed"] ?? 0) > 0, "failed fences");
        assert.ok(total((r) => r.abortKinds["fence timeout"] ?? 0) > 0, "hung fences");
      } else {
        assert.equal(total((r) => r.fences), 0);
      }
      console.log(summary(reports));
    },
  );
}

Deno.test("simulation replays exactly from its seed", () => {
  const a = runSimulation({ seed: 42, stonith: true });
  const b = runSimulation({ seed: 42, stonith: true });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, runSimulation({ seed: 43, stonith: true }));
});

Deno.test("the safety check catches deliberate bugs", () => {
  const table: Array<[SimOptions["bug"], boolean]> = [
    ["fake-fencing", true], // a fence "confirmed" without powering the node off
    ["lenient-probes", true], // a probe finding the resource running taken as a success
    ["lenient-probes", false],
  ];
  for (const [bug, stonith] of table) {
    let caught = 0;
    for (let seed = 1; seed <= BUG_SEEDS; seed++) {
      if (runSimulation({ seed, stonith, bug }).violations.length > 0) caught++;
    }
    assert.ok(caught > 0, `${bug} (stonith ${stonith}) was never caught`);
  }
});
