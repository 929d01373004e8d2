/**
 * Simulated CIB replication: random configuration changes from random nodes
 * under partitions, crashes, restarts, slow disks and late views; safety is
 * checked after every event and convergence after the faults stop (see
 * cib_replication_sim.ts). Set VIGIL_CIB_SIM_SEED to replay one seed,
 * VIGIL_CIB_SIM_SEEDS to change how many seeds run.
 */

import assert from "node:assert/strict";
import {
  type CibSimOptions,
  type CibSimStats,
  CibSimViolation,
  runCibReplicationSim,
  type SimRates,
} from "./cib_replication_sim.ts";
import { Rng } from "./rng.ts";

const SEEDS = Number(Deno.env.get("VIGIL_CIB_SIM_SEEDS") ?? 600);
const ONLY = Deno.env.get("VIGIL_CIB_SIM_SEED");
const FAULT_STEPS = 1000;

/** Fault profiles the seeds rotate through. */
const PROFILES: Record<string, Partial<SimRates>> = {
  calm: {},
  stormy: {
    partition: 0.015,
    heal: 0.01,
    crash: 0.008,
    persistMs: [1, 80],
    submit: 0.2,
    status: 0.15,
  },
  "slow disks": { persistMs: [5, 150], partition: 0.012, heal: 0.008, status: 0.2 },
};

/** The whole configuration of one seed, derived from the seed alone. */
function optionsFor(seed: number): CibSimOptions & { profile: string } {
  const rng = new Rng(seed ^ 0x5eed);
  const profile = rng.pick(Object.keys(PROFILES));
  return {
    seed,
    profile,
    nodes: rng.int(3, 5),
    faultSteps: FAULT_STEPS,
    dropOnViewChange: rng.chance(0.5),
    viewDelayMs: rng.chance(0.5) ? 30 : 0,
    rates: PROFILES[profile],
  };
}

Deno.test(`cib replication sim: ${ONLY ? `seed ${ONLY}` : `${SEEDS} seeds`}`, () => {
  const seeds = ONLY ? [Number(ONLY)] : Array.from({ length: SEEDS }, (_, i) => i + 1);
  const started = performance.now();
  const total: Omit<CibSimStats, "seed" | "nodes"> = {
    steps: 0,
    events: 0,
    messages: 0,
    submitted: 0,
    acked: 0,
    refused: 0,
    unknown: 0,
    crashes: 0,
    partitions: 0,
    restamps: 0,
    convergedAfterMs: 0,
  };
  let slowest = 0;
  for (const seed of seeds) {
    const opts = optionsFor(seed);
    let stats: CibSimStats;
    try {
      stats = runCibReplicationSim(opts);
    } catch (e) {
      // The violation names the seed and how to replay it.
      if (e instanceof CibSimViolation) {
        throw new Error(
          `[${opts.profile}, ${JSON.stringify({ ...opts, rates: undefined })}] ${e.message}`,
        );
      }
      throw new Error(`seed ${seed}: ${(e as Error).stack}`);
    }
    for (const key of Object.keys(total) as (keyof typeof total)[]) total[key] += stats[key];
    slowest = Math.max(slowest, stats.convergedAfterMs);
  }
  const wallMs = Math.round(performance.now() - started);
  console.log(
    `cib replication sim: ${seeds.length} seeds, ${total.steps} steps, ${total.events} events, ` +
      `${total.messages} messages; ${total.submitted} changes: ${total.acked} ok, ` +
      `${total.refused} refused, ${total.unknown} unknown; ${total.crashes} crashes, ` +
      `${total.partitions} partitions/heals, ${total.restamps} re-stamps; convergence after ` +
      `healing <= ${slowest} ms virtual; ${wallMs} ms wall`,
  );
  assert.ok(total.acked > seeds.length, "changes were acknowledged");
  if (!ONLY) {
    // The faults must actually reach the cases the protocol exists for.
    assert.ok(total.unknown > 0, "some outcomes were unknown (a DC lost its view mid-change)");
    assert.ok(total.restamps > 0, "some syncs met conflicting copies");
    assert.ok(total.crashes > 0 && total.partitions > 0);
  }
});

Deno.test("cib replication sim: a seed replays exactly", () => {
  const a = runCibReplicationSim(optionsFor(42));
  const b = runCibReplicationSim(optionsFor(42));
  assert.deepEqual(a, b);
});

Deno.test("cib replication sim: a disk that confirms writes it has not made is caught", () => {
  // The checker's own check: a shell bug must not go unnoticed.
  let caught = 0;
  for (let seed = 1; seed <= 20; seed++) {
    try {
      runCibReplicationSim({ seed, nodes: 3, disk: "lying", faultSteps: 300 });
    } catch (e) {
      assert.ok(e instanceof CibSimViolation, String(e));
      assert.match(e.message, /acknowledged|lost/);
      assert.match(e.message, new RegExp(`seed ${seed}`));
      assert.match(e.message, /VIGIL_CIB_SIM_SEED=/);
      caught++;
    }
  }
  assert.ok(caught >= 10, `caught in ${caught} of 20 seeds`);
});
