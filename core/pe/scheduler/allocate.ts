/**
 * Placement: node criteria (stickiness, migration-threshold bans) and the
 * assignment of every resource to a node, in Pacemaker's order (priority,
 * then configuration order; colocation primaries first).
 *
 * A primitive takes the node with the highest score among available nodes;
 * ties go to fewer resources already assigned there, then to the node it runs
 * on, then to the lowest name. A score below zero (or an unavailable node:
 * offline, unclean, standby, shutting down) means it cannot run there. When
 * nothing is possible it stays stopped.
 *
 * @module
 */

import { Role, type SchedNode, type SchedResource } from "./model.ts";
import { failCount, hasFailures } from "./unpack.ts";
import { applyColocScore, mergeDependentScores, Select } from "./colocation.ts";
import { cloneAssign } from "./clones.ts";
import { formatScore, glibSort, INFINITY, strcmp } from "./scores.ts";
import {
  anyNodeAvailable,
  currentNode,
  nodeAvailable,
  resourceLocation,
  topResource,
  type WorkingSet,
} from "./working_set.ts";

/** apply_stickiness: current nodes of managed, singly active primitives gain their stickiness. */
export function applyStickiness(ws: WorkingSet, rsc: SchedResource): void {
  if (rsc.children.length > 0) {
    for (const child of rsc.children) applyStickiness(ws, child);
    return;
  }
  if (!rsc.managed || rsc.stickiness < 1 || rsc.runningOn.length !== 1) return;
  const node = rsc.runningOn[0];
  if (!ws.options.symmetricCluster && Number.isNaN(rsc.allowed[node.index])) return;
  resourceLocation(ws, rsc, node, rsc.stickiness);
  rsc.notes.push(`stickiness ${formatScore(rsc.stickiness)} on ${node.name}, where it runs`);
}

/** check_failure_threshold: bans a resource from nodes where it failed too often. */
export function checkFailureThreshold(ws: WorkingSet, rsc: SchedResource, node: SchedNode): void {
  if (rsc.children.length > 0) {
    for (const child of rsc.children) checkFailureThreshold(ws, child, node);
    return;
  }
  if (rsc.migrationThreshold === 0 || rsc.failureIgnored) return;
  const fails = failCount(ws, rsc, node);
  if (fails <= 0) return;
  const banned = rsc.unique ? rsc : topResource(rsc);
  if (rsc.migrationThreshold - fails <= 0) {
    resourceLocation(ws, banned, node, -INFINITY);
    banned.notes.push(
      `${fails >= INFINITY ? "a fatal failure" : `${fails} failure(s)`} on ${node.name} ` +
        `reached migration-threshold ${formatScore(rsc.migrationThreshold)}: banned there`,
    );
  }
}

/** Assigns a resource of any kind (rsc->cmds->assign). */
export function assign(
  ws: WorkingSet,
  rsc: SchedResource,
  prefer: SchedNode | null,
): SchedNode | null {
  switch (rsc.variant) {
    case "primitive":
      return primitiveAssign(ws, rsc, prefer);
    case "group":
      return groupAssign(ws, rsc, prefer);
    case "clone":
      return cloneAssign(ws, rsc, prefer);
  }
}

/** Compares nodes for assignment (compare_nodes). */
export function compareNodes(
  table: Float64Array,
  active: SchedNode | null,
): (a: SchedNode, b: SchedNode) => number {
  return (a, b) => {
    const wa = nodeAvailable(a) ? table[a.index] : -INFINITY;
    const wb = nodeAvailable(b) ? table[b.index] : -INFINITY;
    if (wa > wb) return -1;
    if (wa < wb) return 1;
    if (a.numResources < b.numResources) return -1;
    if (a.numResources > b.numResources) return 1;
    if (active) {
      if (active === a) return -1;
      if (active === b) return 1;
    }
    return strcmp(a.name, b.name);
  };
}

/** The nodes present in a table, best first. */
export function sortedNodes(
  ws: WorkingSet,
  table: Float64Array,
  active: SchedNode | null,
): SchedNode[] {
  const present = ws.nodes.filter((n) => !Number.isNaN(table[n.index]));
  return glibSort(present, compareNodes(table, active));
}

function primitiveAssign(
  ws: WorkingSet,
  rsc: SchedResource,
  prefer: SchedNode | null,
): SchedNode | null {
  if (rsc.parent && !rsc.parent.allocating) assign(ws, rsc.parent, prefer);
  if (!rsc.provisional) return rsc.allocatedTo;
  if (rsc.allocating) {
    rsc.notes.push("assignment loop broken here");
    return null;
  }
  rsc.allocating = true;
  for (const c of rsc.thisWith.slice()) applyThisWith(ws, rsc, c);
  for (const c of rsc.withThis.slice()) mergeDependentScores(ws, rsc, c, Select.Active);
  const o = ws.options;
  if (rsc.nextRole === Role.Stopped) {
    resourceLocation(ws, rsc, null, -INFINITY);
    rsc.notes.push("target-role is Stopped");
  } else if (rsc.nextRole > rsc.role && !o.haveQuorum && o.noQuorumPolicy === "freeze") {
    rsc.nextRole = rsc.role;
    rsc.notes.push("no quorum and no-quorum-policy=freeze: it may not be started");
  }
  if (o.stonithEnabled && !o.haveStonithResource) {
    if (rsc.managed) {
      rsc.notes.push("fencing is enabled but no fence device is configured: left alone");
    }
    rsc.managed = false;
  }
  if (!rsc.managed) {
    rsc.nextRole = rsc.role;
    finalizeAssignment(ws, rsc, currentNode(rsc), true);
  } else if (o.stopAllResources) {
    finalizeAssignment(ws, rsc, null, true);
  } else if (rsc.provisional) {
    assignBestNode(ws, rsc, prefer);
  }
  rsc.allocating = false;
  return rsc.allocatedTo;
}

function applyThisWith(
  ws: WorkingSet,
  rsc: SchedResource,
  c: SchedResource["thisWith"][number],
): void {
  const other = c.primary;
  let archive: Float64Array | null = null;
  if (c.dependentRole >= Role.Promoted || (c.score < 0 && c.score > -INFINITY)) {
    archive = rsc.allowed.slice();
  }
  assign(ws, other, null);
  applyColocScore(ws, rsc, other, c);
  if (archive && !anyNodeAvailable(ws, rsc.allowed)) {
    rsc.allowed = archive;
    rsc.notes.push(`colocation ${c.id} with ${other.id} reverted: no node would be left`);
  }
}

/** The first node of {@link sortedNodes} without sorting (a linear scan). */
export function bestNode(
  ws: WorkingSet,
  table: Float64Array,
  active: SchedNode | null,
): SchedNode | null {
  const cmp = compareNodes(table, active);
  let best: SchedNode | null = null;
  for (const n of ws.nodes) {
    if (Number.isNaN(table[n.index])) continue;
    if (best === null || cmp(n, best) < 0) best = n;
  }
  return best;
}

function assignBestNode(ws: WorkingSet, rsc: SchedResource, prefer: SchedNode | null): boolean {
  if (!rsc.provisional) return rsc.allocatedTo !== null;
  const running = currentNode(rsc);
  const best = bestNode(ws, rsc.allowed, running);
  let chosen: SchedNode | null = null;
  if (prefer && best) {
    const w = rsc.allowed[prefer.index];
    if (Number.isNaN(w)) chosen = null;
    else if (w < rsc.allowed[best.index]) chosen = null;
    else if (!nodeAvailable(prefer, w)) chosen = null;
    else chosen = prefer;
  }
  if (!chosen && best) {
    chosen = best;
    const uniqueInstance = rsc.parent?.variant === "clone" && rsc.parent.unique;
    const bestWeight = rsc.allowed[best.index];
    if (!uniqueInstance && bestWeight > 0 && nodeAvailable(best)) {
      // Equal scores: prefer the node it already runs on.
      if (
        running && nodeAvailable(running, running.weight) &&
        rsc.allowed[running.index] === bestWeight
      ) {
        chosen = running;
      }
    }
  }
  return finalizeAssignment(ws, rsc, chosen, false);
}

/** pcmk__finalize_assignment: assigns a primitive to a node (or to none). */
export function finalizeAssignment(
  ws: WorkingSet,
  rsc: SchedResource,
  chosenIn: SchedNode | null,
  force: boolean,
): boolean {
  let chosen = chosenIn;
  if (!force && chosen) {
    const w = rsc.allowed[chosen.index];
    if (!(w >= 0) || !nodeAvailable(chosen, w)) {
      rsc.nextRole = Role.Stopped;
      chosen = null;
    }
  }
  unassign(rsc);
  rsc.provisional = false;
  // The snapshot only serves explanations: 100k copies cost tens of MB otherwise.
  if (ws.keepAssignScores) rsc.assignScores = rsc.allowed.slice();
  if (!chosen) {
    rsc.nextRole = Role.Stopped;
    return false;
  }
  rsc.allocatedTo = chosen;
  const w = rsc.allowed[chosen.index];
  rsc.allocatedScore = Number.isNaN(w) ? 0 : w;
  chosen.numResources++;
  return true;
}

/** pcmk__unassign_resource. */
export function unassign(rsc: SchedResource): void {
  const old = rsc.allocatedTo;
  if (!old) return;
  rsc.provisional = true;
  rsc.allocatedTo = null;
  old.numResources--;
}

/** pcmk__assign_resource: assigns a resource and its descendants to a node (or none). */
export function assignResource(
  ws: WorkingSet,
  rsc: SchedResource,
  node: SchedNode | null,
  force: boolean,
): void {
  if (rsc.children.length === 0) {
    finalizeAssignment(ws, rsc, node, force);
    return;
  }
  for (const child of rsc.children) assignResource(ws, child, node, force);
}

function groupAssign(
  ws: WorkingSet,
  rsc: SchedResource,
  prefer: SchedNode | null,
): SchedNode | null {
  // A group is never assigned as a whole: a repeated call returns null.
  if (!rsc.provisional) return null;
  if (rsc.allocating) return null;
  if (rsc.children.length === 0) {
    rsc.provisional = false;
    return null;
  }
  rsc.allocating = true;
  const first = rsc.children[0];
  rsc.role = first.role;
  expandGroupColocations(rsc);
  let firstAssigned: SchedNode | null = null;
  for (const member of rsc.children) {
    const node = assign(ws, member, prefer);
    if (firstAssigned === null) firstAssigned = node;
  }
  rsc.nextRole = first.nextRole;
  rsc.allocating = false;
  rsc.provisional = false;
  return rsc.groupColocated ? firstAssigned : null;
}

/** "Group with R" becomes "first member with R"; "R with group" becomes "R with last member". */
function expandGroupColocations(rsc: SchedResource): void {
  const first = rsc.children[0];
  first.thisWith.push(...rsc.thisWith);
  let anyUnmanaged = !first.managed;
  for (const member of rsc.children.slice(1)) {
    if (anyUnmanaged) {
      for (const c of rsc.thisWith) if (c.score === INFINITY) member.thisWith.unshift(c);
    } else if (!member.managed) {
      anyUnmanaged = true;
    }
  }
  rsc.thisWith = [];
  const last = rsc.children[rsc.children.length - 1];
  last.withThis.push(...rsc.withThis);
  rsc.withThis = [];
}

/** Runs node criteria (stickiness, failure thresholds) for every resource. */
export function applyNodeCriteria(ws: WorkingSet): void {
  for (const rsc of ws.resources) applyStickiness(ws, rsc);
  for (const node of ws.nodes) {
    // Only nodes with recorded failures can ban anything (saves R x N work).
    if (!hasFailures(ws, node)) continue;
    for (const rsc of ws.resources) checkFailureThreshold(ws, rsc, node);
  }
}

/** Assigns every top-level resource in processing order. */
export function allocateResources(ws: WorkingSet): void {
  for (const rsc of ws.resources) assign(ws, rsc, null);
}
