/**
 * CIBs and fault schedules shared by the simulator tests.
 *
 * @module
 */

import type { Cib } from "../../core/cib/cib.ts";
import { cibSchema } from "../../core/cib/cib.ts";
import type { Rng } from "./rng.ts";
import type { Simulator } from "./simulator.ts";

/** A CIB with `nodes` and one simulated service per id in `resources`. */
export function makeCib(
  nodes: string[],
  resources: { id: string; location?: Record<string, number>; monitorMs?: number }[],
): Cib {
  return cibSchema.parse({
    version: { adminEpoch: 0, epoch: 1, numUpdates: 0 },
    config: {
      nodes: nodes.map((name) => ({ name })),
      resources: resources.map((r) => ({
        id: r.id,
        agent: "SimService",
        location: r.location ?? {},
        monitorMs: r.monitorMs ?? 1000,
      })),
    },
    status: {},
  });
}

/** Node names n1..nN. */
export function nodeNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `n${i + 1}`);
}

/**
 * Applies one random fault: a partition, a heal, a crash, a restart, a lossy
 * or duplicating network, or a one-way cut. Keeps at least one node alive.
 */
export function randomFault(sim: Simulator, rng: Rng): void {
  const names = [...sim.nodes.keys()];
  const live = sim.live();
  const dead = names.filter((n) => !live.includes(n));
  switch (rng.int(0, 6)) {
    case 0: {
      const a: string[] = [];
      const b: string[] = [];
      for (const n of names) (rng.chance(0.5) ? a : b).push(n);
      sim.partition([a, b].filter((g) => g.length > 0));
      break;
    }
    case 1:
      sim.heal();
      break;
    case 2:
      if (live.length > 1) sim.crash(rng.pick(live));
      break;
    case 3:
      if (dead.length > 0) sim.start(rng.pick(dead));
      break;
    case 4:
      sim.loss = rng.pick([0, 0.05, 0.2, 0.3]);
      break;
    case 5:
      sim.duplication = rng.pick([0, 0.05, 0.2]);
      break;
    case 6: {
      const from = rng.pick(names);
      const to = rng.pick(names.filter((n) => n !== from));
      sim.cutLink(from, to);
      break;
    }
  }
}
