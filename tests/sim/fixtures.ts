/**
 * CIBs and fault schedules shared by the simulator tests.
 *
 * @module
 */

import type { CibUpdate } from "../../core/cib/cib_update.ts";
import { type CibDocument, cibDocumentSchema } from "../../core/cib/schema/document.ts";
import type { Rng } from "./rng.ts";
import type { Simulator } from "./simulator.ts";

/**
 * A CIB document with `nodes` and one simulated service per id in `resources`:
 * a primitive with a monitor operation (default every 1000 ms) and a location
 * constraint `${id}-on-${node}` per score.
 */
export function makeCib(
  nodes: string[],
  resources: { id: string; location?: Record<string, number>; monitorMs?: number }[],
): CibDocument {
  return cibDocumentSchema.parse({
    version: { adminEpoch: 0, epoch: 1, numUpdates: 0 },
    config: {
      nodes: nodes.map((name) => ({ name })),
      resources: resources.map((r) => ({
        id: r.id,
        agent: "SimService",
        operations: [{ name: "monitor", intervalMs: r.monitorMs ?? 1000 }],
      })),
      constraints: {
        locations: resources.flatMap((r) =>
          Object.entries(r.location ?? {}).map(([node, score]) => ({
            id: `${r.id}-on-${node}`,
            resource: r.id,
            node,
            score,
          }))
        ),
      },
    },
    status: { nodes: {} },
  });
}

/** Prefix of the marker resources {@link randomCibUpdate} creates (never deleted). */
export const MARKER_PREFIX = "mark";

/**
 * A random configuration change of the kinds `vigil` sends: a resource's
 * target-role, a move (with or without a lifetime) or unmove, a node's standby,
 * or (with `marker`, a fresh number) the creation of a stopped marker resource
 * `mark<marker>` whose presence the simulator can check in every later copy.
 */
export function randomCibUpdate(
  rng: Rng,
  nodes: string[],
  resources: string[],
  marker: number | null,
): CibUpdate {
  if (marker !== null) {
    return {
      op: "resource-create",
      resource: {
        id: `${MARKER_PREFIX}${marker}`,
        agent: "SimService",
        meta: { targetRole: "Stopped" },
      },
    };
  }
  switch (rng.int(0, 4)) {
    case 0:
      return {
        op: "resource-target-role",
        resource: rng.pick(resources),
        role: rng.chance(0.7) ? "Started" : "Stopped",
      };
    case 1:
      return {
        op: "resource-move",
        resource: rng.pick(resources),
        node: rng.pick(nodes),
        ...(rng.chance(0.5) ? { lifetimeMs: rng.int(500, 4000) } : {}),
      };
    case 2:
      return { op: "resource-unmove", resource: rng.pick(resources) };
    default:
      return { op: "node-standby", node: rng.pick(nodes), standby: rng.chance(0.4) };
  }
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

/** Which of the membership faults {@link randomMembershipFault} may apply. */
export interface MembershipFaultMix {
  /**
   * Restart a node with the same incarnation while its peers still hold its old state
   * (down for less than the simulator's stale bound). Off: "same" restarts only after that.
   */
  quickSameIncarnation: boolean;
  /** Split the cluster into groups (symmetric partitions). */
  partitions: boolean;
  /**
   * Replay a node's messages of an earlier incarnation to any peer, even one that has not
   * heard its current incarnation (the node may be down). Off: only to a peer that has
   * heard the current incarnation for a while. Needs `staleLogSize`.
   */
  staleToAnyPeer: boolean;
}

/**
 * Applies one random membership fault and returns what it did: a symmetric partition into
 * two or three groups, a one-way cut, a partial mesh (one pair cut both ways), a flapping
 * link, loss and duplication (up to 20 %), a crash, a restart with a new or the same
 * incarnation, a crash with an immediate restart, a replay of a restarted node's messages
 * from an earlier incarnation, or a heal. Keeps at least one node up.
 */
export function randomMembershipFault(sim: Simulator, rng: Rng, mix: MembershipFaultMix): string {
  const names = [...sim.nodes.keys()];
  const live = sim.live();
  const dead = names.filter((n) => !live.includes(n));
  const pair = () => {
    const a = rng.pick(names);
    return [a, rng.pick(names.filter((n) => n !== a))] as const;
  };
  const restartMode = (name: string) =>
    rng.chance(0.5) && (mix.quickSameIncarnation || sim.downFor(name) > sim.staleBoundMs)
      ? "same" as const
      : "new" as const;
  switch (rng.int(0, 9)) {
    case 0: {
      if (!mix.partitions) return "no partition";
      const groups: string[][] = [[], [], []];
      const count = rng.int(2, 3);
      for (const n of names) groups[rng.int(0, count - 1)].push(n);
      const nonEmpty = groups.filter((g) => g.length > 0);
      sim.partition(nonEmpty);
      return `partition ${nonEmpty.map((g) => g.join(",")).join(" | ")}`;
    }
    case 1: {
      const [a, b] = pair();
      sim.cutLink(a, b);
      return `cut ${a}>${b}`;
    }
    case 2: {
      const [a, b] = pair();
      sim.cutLink(a, b);
      sim.cutLink(b, a);
      return `cut ${a}-${b}`;
    }
    case 3: {
      const [a, b] = pair();
      const oneWay = rng.chance(0.3);
      sim.flapLink(a, b, {
        downMs: [150, 900],
        upMs: [100, 600],
        forMs: rng.int(1000, 4000),
        oneWay,
      });
      return `flap ${a}${oneWay ? ">" : "-"}${b}`;
    }
    case 4:
      sim.loss = rng.pick([0, 0.05, 0.2]);
      sim.duplication = rng.pick([0, 0.1, 0.2]);
      return `loss ${sim.loss} duplication ${sim.duplication}`;
    case 5: {
      if (live.length <= 1) return "no crash";
      const n = rng.pick(live);
      sim.crash(n);
      return `crash ${n}`;
    }
    case 6: {
      if (dead.length === 0) return "no restart";
      const n = rng.pick(dead);
      const mode = restartMode(n);
      sim.start(n, mode);
      return `restart ${n} (${mode})`;
    }
    case 7: {
      const n = rng.pick(live);
      sim.crash(n);
      const mode = restartMode(n);
      sim.start(n, mode);
      return `crash and restart ${n} (${mode})`;
    }
    case 8: {
      const restarted = names.filter((n) => sim.incarnationOf(n) > 1);
      if (restarted.length === 0) return "no stale replay";
      const from = rng.pick(restarted);
      // Ten heartbeats' worth of link: the target has heard the current incarnation.
      const heard = (to: string) => sim.linkUpFor(from, to) > 2 * sim.staleBoundMs;
      const targets = live.filter((n) => n !== from && (mix.staleToAnyPeer || heard(n)));
      if (targets.length === 0) return "no stale replay";
      const to = rng.pick(targets);
      return `replay ${sim.replayStale(from, to)} stale messages ${from}>${to}`;
    }
    default:
      sim.heal();
      return "heal";
  }
}
