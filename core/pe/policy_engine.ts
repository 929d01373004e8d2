/**
 * The policy engine: a pure function from the cluster's state to a placement
 * and a transition graph, with the scores that explain every decision.
 *
 * This is the walking-skeleton engine: location scores, stickiness, standby,
 * migration-threshold on fail counts, and no-quorum-policy. Each resource is
 * placed on the eligible node with the highest score; ties go to the node
 * already running it, then the node with fewer resources, then the lowest name.
 * A node with a negative score may not run the resource.
 *
 * @example
 * ```ts
 * const out = computeTransition({ config, members: ["n1", "n2"], quorate: true, status: {} });
 * out.actions; // [{ id: "web_start_n1", resource: "web", action: "start", node: "n1", after: [] }]
 * ```
 * @module
 */

import type { CibConfig, CibStatus, ResourceConfig } from "../cib/cib.ts";
import { addScores, formatScore, INFINITY } from "../score.ts";
import type { NoQuorumPolicy } from "../quorum/quorum.ts";

/** The state the policy engine decides from. */
export interface PolicyInput {
  /** The configuration section. */
  config: CibConfig;
  /** Members of the agreed membership (the only nodes that can run anything). */
  members: readonly string[];
  /** Whether the partition has quorum. */
  quorate: boolean;
  /** Status reported by the members' LRMs; a missing entry means stopped. */
  status: CibStatus;
  /**
   * Health scores per node from quorum devices (a ping node's connectivity, as
   * Pacemaker's pingd attribute): added to every resource's score on that node,
   * so resources leave a node that lost its ping nodes for one that has them.
   */
  nodeScores?: Readonly<Record<string, number>>;
  /** Overrides the configuration's no-quorum-policy (the node freezes while quorum is pending). */
  noQuorumPolicy?: NoQuorumPolicy;
  /** Nodes where a resource must not run now, with the reason (a node yielding to a merge). */
  bans?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/** One action of the transition graph. */
export interface PlannedAction {
  /** Unique within the transition: `${resource}_${action}_${node}`. */
  id: string;
  /** Resource id. */
  resource: string;
  /** Operation to run. */
  action: "start" | "stop";
  /** Node that runs it. */
  node: string;
  /** Ids of actions that must complete first. */
  after: string[];
}

/** Where one resource goes, and why. */
export interface Placement {
  /** Resource id. */
  resource: string;
  /** Chosen node, or null when it stays stopped. */
  node: string | null;
  /** Final score of each member. */
  scores: Record<string, number>;
  /** One sentence saying what decided it. */
  reason: string;
}

/** The policy engine's answer. */
export interface PolicyOutput {
  /** Placement per configured resource, in configuration order. */
  placements: Placement[];
  /** Transition graph; empty when the cluster is where it should be. */
  actions: PlannedAction[];
  /** Resources left alone this round because an operation on them is in flight. */
  waiting: string[];
}

/** Computes placement and the transition graph. Pure: same input, same output. */
export function computeTransition(input: PolicyInput): PolicyOutput {
  const { config, members, quorate, status } = input;
  const nodeConfig = new Map(config.nodes.map((n) => [n.name, n]));
  const allocated = new Map<string, number>(members.map((n) => [n, 0]));
  const placements: Placement[] = [];
  const actions: PlannedAction[] = [];
  const waiting: string[] = [];
  const policy = quorate ? "ignore" : input.noQuorumPolicy ?? config.options.noQuorumPolicy;
  const configured = new Set(config.resources.map((r) => r.id));

  for (const rsc of config.resources) {
    const stateOn = (node: string) => status[node]?.[rsc.id]?.state ?? "stopped";
    const active = members.filter((n) => stateOn(n) !== "stopped");
    if (active.some((n) => stateOn(n) === "starting" || stateOn(n) === "stopping")) {
      waiting.push(rsc.id);
      const where = active.find((n) => stateOn(n) !== "stopping") ?? null;
      placements.push({
        resource: rsc.id,
        node: where,
        scores: {},
        reason: "an operation is in flight",
      });
      if (where) allocated.set(where, (allocated.get(where) ?? 0) + 1);
      continue;
    }
    if (policy === "freeze") {
      const where = active.find((n) => stateOn(n) === "started") ?? null;
      placements.push({
        resource: rsc.id,
        node: where,
        scores: {},
        reason: "partition has no quorum and no-quorum-policy=freeze: left as it is",
      });
      continue;
    }

    const scores: Record<string, number> = {};
    const why: Record<string, string[]> = {};
    for (const node of members) {
      const parts: string[] = [];
      let score = 0;
      if (policy === "stop") {
        score = -INFINITY;
        parts.push("no quorum (no-quorum-policy=stop)");
      }
      const ban = input.bans?.[rsc.id]?.[node];
      if (ban) {
        score = -INFINITY;
        parts.push(ban);
      }
      if (nodeConfig.get(node)?.standby) {
        score = -INFINITY;
        parts.push(`${node} is in standby`);
      }
      const health = input.nodeScores?.[node];
      if (health !== undefined && health !== 0) {
        score = addScores(score, health);
        parts.push(`connectivity ${formatScore(health)}`);
      }
      const loc = rsc.location[node];
      if (loc !== undefined) {
        score = addScores(score, loc);
        parts.push(`location ${formatScore(loc)}`);
      }
      if (stateOn(node) === "started") {
        const stick = rsc.stickiness ?? config.options.stickiness;
        score = addScores(score, stick);
        parts.push(`stickiness ${formatScore(stick)}`);
      }
      const fails = status[node]?.[rsc.id]?.failCount ?? 0;
      const threshold = config.options.migrationThreshold;
      if (threshold > 0 && fails >= threshold) {
        score = -INFINITY;
        parts.push(`${fails} failures reached migration-threshold ${threshold}`);
      }
      scores[node] = score;
      why[node] = parts;
    }

    const target = pickNode(members, scores, (n) => stateOn(n) === "started", allocated);
    if (target) allocated.set(target, (allocated.get(target) ?? 0) + 1);
    placements.push({
      resource: rsc.id,
      node: target,
      scores,
      reason: explain(rsc, target, scores, why),
    });
    actions.push(...planResource(rsc.id, active, target, stateOn));
  }

  // Resources running but no longer configured (orphans) are stopped.
  for (const node of members) {
    for (const [id, s] of Object.entries(status[node] ?? {})) {
      if (!configured.has(id) && (s.state === "started" || s.state === "failed")) {
        actions.push({ id: `${id}_stop_${node}`, resource: id, action: "stop", node, after: [] });
      }
    }
  }
  return { placements, actions, waiting };
}

function pickNode(
  members: readonly string[],
  scores: Record<string, number>,
  runningOn: (n: string) => boolean,
  allocated: Map<string, number>,
): string | null {
  const candidates = members.filter((n) => scores[n] >= 0).sort((a, b) =>
    scores[b] - scores[a] ||
    Number(runningOn(b)) - Number(runningOn(a)) ||
    (allocated.get(a) ?? 0) - (allocated.get(b) ?? 0) ||
    (a < b ? -1 : 1)
  );
  return candidates[0] ?? null;
}

function planResource(
  id: string,
  active: readonly string[],
  target: string | null,
  stateOn: (n: string) => string,
): PlannedAction[] {
  const actions: PlannedAction[] = [];
  for (const node of active) {
    if (node !== target || stateOn(node) === "failed") {
      actions.push({ id: `${id}_stop_${node}`, resource: id, action: "stop", node, after: [] });
    }
  }
  if (target && stateOn(target) !== "started") {
    actions.push({
      id: `${id}_start_${target}`,
      resource: id,
      action: "start",
      node: target,
      after: actions.map((a) => a.id),
    });
  }
  return actions;
}

function explain(
  rsc: ResourceConfig,
  target: string | null,
  scores: Record<string, number>,
  why: Record<string, string[]>,
): string {
  const nodes = Object.keys(scores);
  if (nodes.length === 0) return `${rsc.id} has no member node to run on`;
  if (target === null) {
    const reasons = nodes.map((n) =>
      `${n} ${formatScore(scores[n])}${why[n].length ? ` (${why[n].join(", ")})` : ""}`
    );
    return `${rsc.id} stays stopped: no node has a score >= 0: ${reasons.join("; ")}`;
  }
  const parts = why[target].length ? why[target].join(" + ") : "default score 0";
  return `${rsc.id} on ${target} with score ${formatScore(scores[target])} (${parts})`;
}
