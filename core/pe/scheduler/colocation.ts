/**
 * How colocations change allowed-node scores.
 *
 * Two directions, as in Pacemaker:
 * - "this with" (the resource being placed is the dependent): its primary is
 *   placed first, then the dependent's scores are adjusted to the primary's
 *   node (apply_coloc_to_weights: +score where the node attribute matches,
 *   -INFINITY elsewhere for mandatory colocations, -score everywhere when the
 *   primary cannot run).
 * - "with this" (the resource being placed is the primary): the dependents'
 *   own preferences are merged in, attenuated by score/INFINITY, following
 *   colocation chains recursively (add_colocated_node_scores), and rolled back
 *   if they would leave no node available.
 *
 * @module
 */

import type { Colocation, SchedNode, SchedResource } from "./model.ts";
import { Role } from "./model.ts";
import { addScores, INFINITY, INFINITY_HACK, type NodeScores, scaleScore } from "./scores.ts";
import { allocatedNode, anyNodeAvailable, nodeAvailable, type WorkingSet } from "./working_set.ts";
import { cloneApplyColocScore } from "./clones.ts";

/** Flags for {@link addColocatedNodeScores}. */
export const Select = {
  Default: 0,
  ThisWith: 1 << 0,
  NonNegative: 1 << 1,
  Active: 1 << 2,
} as const;

/** What a colocation affects at this point of scheduling. */
export type ColocAffects = "nothing" | "location" | "role";

/** Whether the dependent may influence the primary's placement (pcmk__colocation_has_influence). */
export function hasInfluence(c: Colocation, rsc: SchedResource | null): boolean {
  const r = rsc ?? c.primary;
  return c.influence || r.runningOn.length === 0;
}

/** pcmk__colocation_affects. */
export function colocationAffects(
  dependent: SchedResource,
  primary: SchedResource,
  c: Colocation,
  preview: boolean,
): ColocAffects {
  if (!preview && primary.provisional) return "nothing";
  if (
    c.dependentRole >= Role.Unpromoted && dependent.parent?.clone?.promotable &&
    !dependent.provisional
  ) return "role";
  if (!preview && !dependent.provisional) return "nothing";
  if (c.score > 0 && c.dependentRole !== Role.Unknown && c.dependentRole !== dependent.nextRole) {
    return "nothing";
  }
  if (c.score > 0 && c.primaryRole !== Role.Unknown && c.primaryRole !== primary.nextRole) {
    return "nothing";
  }
  if (c.score < 0 && c.dependentRole !== Role.Unknown && c.dependentRole === dependent.nextRole) {
    return "nothing";
  }
  if (c.score < 0 && c.primaryRole !== Role.Unknown && c.primaryRole === primary.nextRole) {
    return "nothing";
  }
  return "location";
}

function attrValue(node: SchedNode, attr: string): string | undefined {
  return node.attrs.get(attr);
}

function sameValue(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a === b || a.toLowerCase() === b.toLowerCase();
}

/** pcmk__apply_coloc_to_weights: adjusts the dependent's scores to where the primary is. */
export function applyColocToWeights(
  ws: WorkingSet,
  dependent: SchedResource,
  primary: SchedResource,
  c: Colocation,
): void {
  const attribute = c.nodeAttribute ?? "#id";
  const primaryNode = primary.allocatedTo;
  let value: string | undefined;
  if (primaryNode) value = attrValue(primaryNode, attribute);
  else if (c.score < 0) return;
  const work = dependent.allowed.slice();
  for (const node of ws.nodes) {
    const w = work[node.index];
    if (Number.isNaN(w)) continue;
    if (!primaryNode) {
      work[node.index] = addScores(-c.score, w);
    } else if (sameValue(attrValue(node, attribute), value)) {
      if (c.score < INFINITY) work[node.index] = addScores(c.score, w);
    } else if (c.score >= INFINITY) {
      work[node.index] = -INFINITY;
    }
  }
  if (c.score <= -INFINITY || c.score >= INFINITY || anyNodeAvailable(ws, work)) {
    dependent.allowed = work;
    noteColocation(dependent, c, primaryNode);
  } else {
    dependent.notes.push(
      `colocation ${c.id} with ${primary.id} rolled back: no node would be left`,
    );
  }
}

function noteColocation(dependent: SchedResource, c: Colocation, node: SchedNode | null): void {
  if (dependent.notes.length > 64) return;
  const where = node ? `on ${node.name}` : "(it cannot run)";
  dependent.notes.push(
    `colocation ${c.id} (${formatColocScore(c.score)}) with ${c.primary.id} ${where}`,
  );
}

function formatColocScore(score: number): string {
  return score >= INFINITY ? "INFINITY" : score <= -INFINITY ? "-INFINITY" : String(score);
}

/**
 * Applies a colocation to the dependent, dispatching on the primary's kind
 * (the apply_coloc_score method called on behalf of the primary).
 */
export function applyColocScore(
  ws: WorkingSet,
  dependent: SchedResource,
  primary: SchedResource,
  c: Colocation,
): void {
  if (dependent.variant === "group") {
    // A group as dependent: its first member carries the colocation.
    if (dependent.groupColocated && dependent.children.length > 0) {
      applyColocScore(ws, dependent.children[0], primary, c);
      return;
    }
    if (c.score >= INFINITY) return;
    for (const child of dependent.children) applyColocScore(ws, child, primary, c);
    return;
  }
  switch (primary.variant) {
    case "primitive":
      primitiveApplyColocScore(ws, dependent, primary, c);
      return;
    case "group":
      groupApplyColocScoreForPrimary(ws, dependent, primary, c);
      return;
    case "clone":
      cloneApplyColocScore(ws, dependent, primary, c);
      return;
  }
}

/** pcmk__primitive_apply_coloc_score (on behalf of the primary). */
export function primitiveApplyColocScore(
  ws: WorkingSet,
  dependent: SchedResource,
  primary: SchedResource,
  c: Colocation,
): void {
  const affects = colocationAffects(dependent, primary, c, false);
  if (affects === "location") applyColocToWeights(ws, dependent, primary, c);
  // Role effects matter only for promotable clones (not scheduled yet).
}

function groupApplyColocScoreForPrimary(
  ws: WorkingSet,
  dependent: SchedResource,
  primary: SchedResource,
  c: Colocation,
): void {
  if (primary.provisional) return;
  const first = primary.children[0];
  if (primary.groupColocated && first) {
    // Mandatory: the dependent waits for the whole group (its last member).
    const member = c.score >= INFINITY ? primary.children[primary.children.length - 1] : first;
    applyColocScore(ws, dependent, member, c);
    return;
  }
  if (c.score >= INFINITY) return;
  for (const child of primary.children) applyColocScore(ws, dependent, child, c);
}

/**
 * The best score `rsc` has on an available node whose `attr` equals `value`
 * (best_node_score_matching_attr); -INFINITY when none.
 */
function bestScoreMatching(
  ws: WorkingSet,
  rsc: SchedResource,
  attr: string,
  value: string | undefined,
  node: SchedNode,
): number {
  if (attr === "#uname") {
    // Only the node itself carries its own name.
    const w = rsc.allowed[node.index];
    return !Number.isNaN(w) && w > -INFINITY && nodeAvailable(node) ? w : -INFINITY;
  }
  let best = -INFINITY;
  for (const n of ws.nodes) {
    const w = rsc.allowed[n.index];
    if (Number.isNaN(w)) continue;
    if (w > best && nodeAvailable(n) && sameValue(value, attrValue(n, attr))) best = w;
  }
  return best;
}

function addNodeScoresMatchingAttr(
  ws: WorkingSet,
  work: NodeScores,
  rsc: SchedResource,
  attrIn: string | undefined,
  factor: number,
  onlyPositive: boolean,
): void {
  const attr = attrIn ?? "#uname";
  for (const node of ws.nodes) {
    const current = work[node.index];
    if (Number.isNaN(current)) continue;
    const score = bestScoreMatching(ws, rsc, attr, attrValue(node, attr), node);
    if (factor < 0 && score < 0) continue;
    if (current === INFINITY_HACK) continue;
    const weight = scaleScore(score, factor);
    const next = addScores(weight, current);
    if (onlyPositive && next < 0 && current > 0) {
      work[node.index] = INFINITY_HACK;
      continue;
    }
    if (onlyPositive && next < 0 && current === 0) continue;
    work[node.index] = next;
  }
}

/**
 * Merges the node preferences of a dependent colocated with `rsc` (one of its
 * "with this" colocations) into `rsc.allowed`, at the colocation's strength,
 * if the dependent has influence; `flags` are the {@link Select} flags.
 */
export function mergeDependentScores(
  ws: WorkingSet,
  rsc: SchedResource,
  c: Colocation,
  flags: number,
): void {
  if (!hasInfluence(c, null)) return;
  const merged = addColocatedNodeScores(
    ws,
    c.dependent,
    rsc.allowed,
    c.nodeAttribute,
    c.score / INFINITY,
    flags,
  );
  if (merged) rsc.allowed = merged;
}

/**
 * Merges `rsc`'s node preferences (and those of resources colocated with it)
 * into `nodes`, scaled by `factor` (add_colocated_node_scores). With `nodes`
 * null, starts from `rsc`'s own scores. Returns the new table.
 */
export function addColocatedNodeScores(
  ws: WorkingSet,
  rsc: SchedResource,
  nodes: NodeScores | null,
  attr: string | undefined,
  factor: number,
  flags: number,
  depth = 0,
): NodeScores | null {
  if (depth > 10_000) throw new Error("colocation chain deeper than 10000");
  if (rsc.variant === "group") return groupAddColocated(ws, rsc, nodes, attr, factor, flags, depth);
  return primitiveAddColocated(ws, rsc, nodes, attr, factor, flags, depth);
}

/** The shared (primitive and clone) implementation. */
export function primitiveAddColocated(
  ws: WorkingSet,
  rsc: SchedResource,
  nodes: NodeScores | null,
  attr: string | undefined,
  factor: number,
  flagsIn: number,
  depth: number,
): NodeScores | null {
  if (rsc.merging) return nodes;
  rsc.merging = true;
  let flags = flagsIn;
  let work: NodeScores;
  if (nodes === null) {
    work = rsc.allowed.slice();
  } else {
    work = nodes.slice();
    addNodeScoresMatchingAttr(ws, work, rsc, attr, factor, (flags & Select.NonNegative) !== 0);
  }
  if (anyNodeAvailable(ws, work)) {
    const thisWith = (flags & Select.ThisWith) !== 0;
    const list = thisWith ? rsc.thisWith : rsc.withThis;
    flags |= Select.Active;
    // Pacemaker 2.1.5 (the corpus's version) does not attenuate along a chain:
    // a further colocation counts at its own strength, only its sign follows
    // the link that led here.
    const multiplier = factor < 0 ? -1 : 1;
    for (const c of list.slice()) {
      let other: SchedResource;
      if (thisWith) other = c.primary;
      else if (!hasInfluence(c, null)) continue;
      else other = c.dependent;
      const merged = addColocatedNodeScores(
        ws,
        other,
        work,
        c.nodeAttribute,
        multiplier * c.score / INFINITY,
        flags,
        depth + 1,
      );
      if (merged) work = merged;
    }
  } else if ((flags & Select.Active) !== 0) {
    rsc.merging = false;
    return nodes;
  }
  if ((flags & Select.NonNegative) !== 0) {
    for (let i = 0; i < work.length; i++) if (work[i] === INFINITY_HACK) work[i] = 1;
  }
  rsc.merging = false;
  return work;
}

function groupAddColocated(
  ws: WorkingSet,
  rsc: SchedResource,
  nodes: NodeScores | null,
  attr: string | undefined,
  factor: number,
  flags: number,
  depth: number,
): NodeScores | null {
  if (rsc.merging) return nodes;
  rsc.merging = true;
  let work = nodes;
  const first = rsc.children[0];
  if (first) work = addColocatedNodeScores(ws, first, work, attr, factor, flags, depth + 1);
  for (const c of rsc.withThis.slice()) {
    work = primitiveAddColocated(
      ws,
      c.dependent,
      work,
      c.nodeAttribute,
      c.score / INFINITY,
      flags,
      depth + 1,
    );
  }
  rsc.merging = false;
  return work;
}

/** The common node a (collective) resource is allocated to, for colocation checks. */
export { allocatedNode };
