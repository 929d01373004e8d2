/**
 * Explanations: for each primitive (clone instances included), its score on
 * every node at the moment it was placed and a sentence saying what decided
 * where it is: a location constraint, stickiness, a colocation, a failure, a
 * ban, the absence of any usable node, or an ordering that kept it from
 * starting.
 *
 * @module
 */

import { Flag, Role, type SchedNode, type SchedResource } from "./model.ts";
import { formatScore } from "./scores.ts";
import { nodeAvailable, type WorkingSet } from "./working_set.ts";

/** Why one resource is where it is. */
export interface Explanation {
  /** Primitive (instance) id. */
  resource: string;
  /** Where it will run after the transition (null: stopped). */
  node: string | null;
  /** Score per node when it was placed (null: the node was not a candidate). */
  scores: Record<string, number | null>;
  /** One sentence: what decided it. */
  reason: string;
  /** The facts behind it (constraints, stickiness, failures), most relevant first. */
  details: string[];
}

function nodeState(node: SchedNode): string | null {
  if (node.unclean) return "unclean";
  if (!node.online) return "offline";
  if (node.shutdown) return "shutting down";
  if (node.standby) return "in standby";
  if (node.maintenance) return "in maintenance";
  return null;
}

function ancestorsAndSelf(rsc: SchedResource): SchedResource[] {
  const out: SchedResource[] = [];
  for (let r: SchedResource | null = rsc; r; r = r.parent) out.push(r);
  return out;
}

/** Location constraints that gave `rsc` (or a parent) a score on `node`. */
function locationFacts(ws: WorkingSet, rsc: SchedResource, node: SchedNode): string[] {
  const chain = new Set(ancestorsAndSelf(rsc));
  const group = rsc.parent?.variant === "group" ? rsc.parent : null;
  // A group's location scores go to its first member; the others follow it.
  if (group && group.groupColocated && group.children[0] !== rsc) {
    for (let r: SchedResource | null = group; r; r = r.parent) chain.delete(r);
  }
  const out: string[] = [];
  for (const loc of ws.locations) {
    if (!chain.has(loc.resource)) continue;
    for (const e of loc.nodes) {
      if (e.node === node && e.score !== 0) {
        out.push(`location ${loc.id} gives ${formatScore(e.score)} on ${node.name}`);
      }
    }
  }
  return out;
}

/** Explains every primitive's placement (after scheduling). */
export function explainResources(
  ws: WorkingSet,
  after: Map<SchedResource, string[]>,
): Explanation[] {
  const out: Explanation[] = [];
  for (const rsc of ws.all) {
    if (rsc.variant !== "primitive") continue;
    out.push(explainOne(ws, rsc, after.get(rsc) ?? []));
  }
  return out;
}

function explainOne(ws: WorkingSet, rsc: SchedResource, after: string[]): Explanation {
  const table = rsc.assignScores ?? rsc.allowed;
  const scores: Record<string, number | null> = {};
  for (const node of ws.nodes) {
    const w = table[node.index];
    scores[node.name] = Number.isNaN(w) ? null : w;
  }
  const details: string[] = [];
  const notes = rsc.notes.slice();
  let p = rsc.parent;
  while (p) {
    notes.push(...p.notes.map((n) => `${p!.id}: ${n}`));
    p = p.parent;
  }
  const node = after.length === 1 ? after[0] : after.length > 1 ? after.join(",") : null;
  let reason: string;
  const allocated = rsc.allocatedTo;
  const start = rsc.actions.find((a) => a.task === "start" && a.node === allocated);
  if (!rsc.managed) {
    reason = ws.options.stonithEnabled && !ws.options.haveStonithResource
      ? "left alone: fencing is enabled but no fence device is configured"
      : rsc.blocked
      ? "blocked: a failure cannot be recovered without fencing"
      : "unmanaged: the cluster leaves it where it is";
  } else if (rsc.orphan) {
    reason = "no longer configured: it is stopped";
  } else if (!allocated) {
    reason = stoppedReason(ws, rsc, table);
  } else if (start && !(start.flags & Flag.Runnable)) {
    reason = `placed on ${allocated.name} but cannot start: ${
      start.reason ?? "an action it depends on cannot run"
    }`;
  } else {
    const w = table[allocated.index];
    reason = `on ${allocated.name}, the best node (score ${formatScore(w)})`;
    const facts = [...locationFacts(ws, rsc, allocated)];
    const runner = rsc.runningOn.includes(allocated);
    if (runner && rsc.stickiness > 0) {
      facts.push(`stickiness ${formatScore(rsc.stickiness)} keeps it where it runs`);
    }
    const colocs = notes.filter((n) => n.startsWith("colocation") || n.includes(": colocation"));
    const group = rsc.parent?.variant === "group" ? rsc.parent : null;
    if (group && group.children[0] !== rsc) {
      facts.unshift(
        `member of group ${group.id}, which runs together with ${group.children[0].id}`,
      );
    }
    facts.push(...colocs.slice(0, 3));
    if (facts.length > 0) reason += `: ${facts.slice(0, 2).join(", ")}`;
    const second = secondBest(ws, table, allocated);
    if (second) reason += `; next best ${second.node.name} (${formatScore(second.score)})`;
    details.push(...facts);
  }
  for (const n of notes) if (!details.includes(n)) details.push(n);
  return { resource: rsc.id, node, scores, reason, details: details.slice(0, 20) };
}

function secondBest(
  ws: WorkingSet,
  table: Float64Array,
  chosen: SchedNode,
): { node: SchedNode; score: number } | null {
  let best: { node: SchedNode; score: number } | null = null;
  for (const node of ws.nodes) {
    if (node === chosen) continue;
    const w = table[node.index];
    if (Number.isNaN(w) || !nodeAvailable(node)) continue;
    if (!best || w > best.score) best = { node, score: w };
  }
  return best;
}

function stoppedReason(ws: WorkingSet, rsc: SchedResource, table: Float64Array): string {
  if (rsc.targetRole === Role.Stopped) return "stopped: target-role is Stopped";
  for (let r: SchedResource | null = rsc.parent; r; r = r.parent) {
    if (r.targetRole === Role.Stopped) return `stopped: target-role of ${r.id} is Stopped`;
  }
  const why: string[] = [];
  for (const node of ws.nodes) {
    const state = nodeState(node);
    const w = table[node.index];
    if (state) why.push(`${node.name} ${state}`);
    else if (Number.isNaN(w)) why.push(`${node.name} not allowed`);
    else if (w < 0) why.push(`${node.name} score ${formatScore(w)}`);
  }
  const limit = rsc.notes.find((n) => n.startsWith("clone-max"));
  if (limit) return `stopped: ${limit}`;
  return `stopped: no node can run it (${why.join(", ") || "no nodes"})`;
}
