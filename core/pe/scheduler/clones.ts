/**
 * Clone placement: distributing instances over nodes (clone-max,
 * clone-node-max), keeping active instances where they run when that is still
 * optimal, the order instances are placed in, colocation with clones
 * (including interleaved pairing of instances on the same node), and finding
 * the instance of a clone that sits on a given node.
 *
 * Anonymous instances are interchangeable; globally-unique ones keep their
 * numbers. Instance numbering of anonymous clones is irrelevant to placement
 * except as the last tie-break.
 *
 * @module
 */

import type { Colocation, SchedNode, SchedResource } from "./model.ts";
import { Role } from "./model.ts";
import { assign, assignResource, sortedNodes, unassign } from "./allocate.ts";
import {
  addColocatedNodeScores,
  applyColocScore,
  hasInfluence,
  mergeDependentScores,
  Select,
} from "./colocation.ts";
import { glibSort, INFINITY, newScoreTable } from "./scores.ts";
import {
  allocatedNode,
  currentNode,
  findActiveOn,
  nodeAvailable,
  resourceLocation,
  updateScore,
  type WorkingSet,
} from "./working_set.ts";

/** Assigns every instance of a clone (pcmk__clone_allocate). */
export function cloneAssign(
  ws: WorkingSet,
  rsc: SchedResource,
  prefer: SchedNode | null,
): SchedNode | null {
  if (!rsc.provisional) return null;
  if (rsc.allocating) return null;
  rsc.allocating = true;
  for (const c of rsc.thisWith.slice()) assign(ws, c.primary, prefer);
  for (const c of rsc.withThis.slice()) {
    mergeDependentScores(ws, rsc, c, Select.Active | Select.NonNegative);
  }
  rsc.children = glibSort(rsc.children, (a, b) => cmpInstance(ws, a, b));
  const settings = rsc.clone!;
  distributeChildren(ws, rsc, settings.max, settings.nodeMax);
  rsc.allocating = false;
  rsc.provisional = false;
  return null;
}

function distributeChildren(
  ws: WorkingSet,
  rsc: SchedResource,
  max: number,
  perHostMax: number,
): void {
  const counts = rsc.counts ?? (rsc.counts = new Int32Array(ws.nodes.length));
  counts.fill(0);
  let available = 0;
  for (const node of ws.nodes) {
    if (!Number.isNaN(rsc.allowed[node.index]) && nodeAvailable(node)) available++;
  }
  const allColoc = max < available;
  let loopMax = available > 0 ? Math.floor(max / available) : 0;
  if (loopMax < 1) loopMax = 1;
  let allocated = 0;
  // Keep instances where they run, up to the optimal number per node.
  for (const child of rsc.children) {
    if (allocated >= max) break;
    if (child.runningOn.length === 0 || !child.provisional || child.failed) continue;
    const node = currentNode(child)!;
    if (!nodeAvailable(node, node.weight)) continue;
    if (!Number.isNaN(rsc.allowed[node.index]) && counts[node.index] >= loopMax) continue;
    if (allocateInstance(ws, child, node, allColoc, perHostMax)) allocated++;
  }
  for (const child of rsc.children) {
    if (!child.provisional) continue;
    if (allocated >= max) {
      resourceLocation(ws, child, null, -INFINITY);
      child.notes.push(`clone-max ${max} reached: this instance stays stopped`);
    } else if (allocateInstance(ws, child, null, allColoc, perHostMax)) {
      allocated++;
    }
  }
}

function allocateInstance(
  ws: WorkingSet,
  rsc: SchedResource,
  prefer: SchedNode | null,
  allColoc: boolean,
  limit: number,
): SchedNode | null {
  if (!rsc.provisional) return allocatedNode(rsc);
  if (rsc.allocating) return null;
  appendParentColocation(rsc.parent!, rsc, allColoc);
  if (prefer) {
    const w = rsc.allowed[prefer.index];
    if (Number.isNaN(w) || w < 0) return null;
  }
  for (const node of ws.nodes) {
    if (!Number.isNaN(rsc.allowed[node.index])) canRunInstance(ws, rsc, node, limit);
  }
  const backup = rsc.allowed.slice();
  let chosen = assign(ws, rsc, prefer);
  if (chosen && prefer && chosen !== prefer) {
    rsc.allowed = backup;
    unassign(rsc);
    chosen = null;
  }
  if (chosen) {
    const parent = rsc.parent!;
    if (!Number.isNaN(parent.allowed[chosen.index])) parent.counts![chosen.index]++;
  }
  return chosen;
}

/** Bans an instance from a node it may not take (can_run_instance). */
function canRunInstance(
  ws: WorkingSet,
  rsc: SchedResource,
  node: SchedNode,
  limit: number,
): boolean {
  const parent = rsc.parent!;
  let ok = false;
  if (nodeAvailable(node) && !rsc.orphan) {
    const local = parent.allowed[node.index];
    if (Number.isNaN(local)) {
      ws.warnings.push(`${rsc.id} cannot run on ${node.name}: node not allowed`);
    } else if (local < 0) {
      updateScore(rsc, node.index, local);
      return false;
    } else if (parent.counts![node.index] < limit) {
      ok = true;
    }
  }
  if (!ok) updateScore(rsc, node.index, -INFINITY);
  return ok;
}

function appendParentColocation(parent: SchedResource, child: SchedResource, all: boolean): void {
  for (const c of parent.thisWith) {
    if (all || c.score < 0 || c.score === INFINITY) child.thisWith.unshift(c);
  }
  for (const c of parent.withThis) {
    if (!hasInfluence(c, child)) continue;
    if (all || c.score < 0) child.withThis.unshift(c);
  }
}

function didFail(rsc: SchedResource): boolean {
  return rsc.failed || rsc.children.some(didFail);
}

/** The order instances are assigned in (pcmk__cmp_instance). */
export function cmpInstance(ws: WorkingSet, a: SchedResource, b: SchedResource): number {
  const ca = { all: 0, clean: 0 };
  const cb = { all: 0, clean: 0 };
  let n1 = findActiveOn(a, ca);
  let n2 = findActiveOn(b, cb);
  if (ca.all > 0 && cb.all > 0) {
    if (ca.all < cb.all) return -1;
    if (ca.all > cb.all) return 1;
  }
  const can1 = isAllowed(a, n1);
  const can2 = isAllowed(b, n2);
  if (!can1) n1 = null;
  if (!can2) n2 = null;
  if (can1 && !can2) return -1;
  if (!can1 && can2) return 1;
  if (a.priority > b.priority) return -1;
  if (a.priority < b.priority) return 1;
  if (n1 === null && n2 === null) return 0;
  if (n1 === null) return 1;
  if (n2 === null) return -1;
  const av1 = nodeAvailable(n1);
  const av2 = nodeAvailable(n2);
  if (av1 && !av2) return -1;
  if (!av1 && av2) return 1;
  const parent1 = a.parent!;
  const parent2 = b.parent!;
  const top1 = parent1.allowed[n1.index];
  const top2 = parent2.allowed[n2.index];
  if (Number.isNaN(top1) && Number.isNaN(top2)) return 0;
  if (Number.isNaN(top1)) return 1;
  if (Number.isNaN(top2)) return -1;
  const count1 = parent1.counts?.[n1.index] ?? 0;
  const count2 = parent2.counts?.[n2.index] ?? 0;
  if (count1 < count2) return -1;
  if (count1 > count2) return 1;
  const f1 = didFail(a);
  const f2 = didFail(b);
  if (!f1 && f2) return -1;
  if (f1 && !f2) return 1;
  const rc = cmpByColocation(ws, a, b);
  if (rc !== 0) return rc;
  return instanceNumber(a) - instanceNumber(b);
}

function isAllowed(rsc: SchedResource, node: SchedNode | null): boolean {
  if (node === null) return true;
  const w = rsc.allowed[node.index];
  return !Number.isNaN(w) && w >= 0;
}

/** The number after the last ':' of an instance id. */
export function instanceNumber(rsc: SchedResource): number {
  const i = rsc.id.lastIndexOf(":");
  return i < 0 ? 0 : Number.parseInt(rsc.id.slice(i + 1), 10) || 0;
}

function cmpByColocation(ws: WorkingSet, a: SchedResource, b: SchedResource): number {
  const n1 = currentNode(a)!;
  const n2 = currentNode(b)!;
  const s1 = parentColocatedScore(ws, a, n1);
  const s2 = parentColocatedScore(ws, b, n2);
  if (s1 < s2) return 1;
  if (s1 > s2) return -1;
  return 0;
}

/** The instance's current node scored with its parent's colocations (apply_parent_colocations). */
function parentColocatedScore(ws: WorkingSet, rsc: SchedResource, node: SchedNode): number {
  let table: Float64Array | null = newScoreTable(ws.nodes.length);
  table[node.index] = node.weight;
  const parent = rsc.parent!;
  for (const c of parent.thisWith) {
    table = addColocatedNodeScores(
      ws,
      c.primary,
      table,
      c.nodeAttribute,
      c.score / INFINITY,
      Select.Default,
    ) ?? table;
  }
  for (const c of parent.withThis) {
    if (!hasInfluence(c, rsc)) continue;
    table = addColocatedNodeScores(
      ws,
      c.dependent,
      table,
      c.nodeAttribute,
      c.score / INFINITY,
      Select.NonNegative,
    ) ??
      table;
  }
  return table![node.index];
}

/** Whether the resource or any descendant is blocked. */
export function isBlockedRecursive(rsc: SchedResource): boolean {
  return rsc.blocked || rsc.children.some(isBlockedRecursive);
}

/** The resource's role now (current) or next (fns->state). */
export function resourceState(rsc: SchedResource, current: boolean): number {
  if (rsc.children.length === 0) return current ? rsc.role : rsc.nextRole;
  let role: number = Role.Unknown;
  for (const child of rsc.children) {
    const r = resourceState(child, current);
    if (r > role) role = r;
  }
  return role;
}

/** The node of a resource now (running, single) or next (allocated, single). */
export function resourceLocationOf(rsc: SchedResource, current: boolean): SchedNode | null {
  if (!current) return allocatedNode(rsc);
  const nodes = collectRunning(rsc, []);
  return nodes.length === 1 ? nodes[0] : null;
}

function collectRunning(rsc: SchedResource, out: SchedNode[]): SchedNode[] {
  if (rsc.children.length === 0) {
    for (const n of rsc.runningOn) if (!out.includes(n)) out.push(n);
    return out;
  }
  for (const c of rsc.children) collectRunning(c, out);
  return out;
}

function isChildCompatible(
  child: SchedResource,
  node: SchedNode,
  filter: number,
  current: boolean,
): boolean {
  const role = resourceState(child, current);
  let at: SchedNode | null = null;
  if (!isBlockedRecursive(child)) at = resourceLocationOf(child, current);
  if (filter !== Role.Unknown && role !== filter) return false;
  return at !== null && at === node;
}

/** The instance of `clone` on `node` (find_compatible_child_by_node). */
export function findCompatibleChildByNode(
  clone: SchedResource,
  node: SchedNode,
  filter: number,
  current: boolean,
): SchedResource | null {
  for (const child of clone.children) {
    if (isChildCompatible(child, node, filter, current)) return child;
  }
  return null;
}

/** The instance of `clone` to pair `local` with (find_compatible_child). */
export function findCompatibleChild(
  ws: WorkingSet,
  local: SchedResource,
  clone: SchedResource,
  filter: number,
  current: boolean,
): SchedResource | null {
  const localNode = resourceLocationOf(local, current);
  if (localNode) return findCompatibleChildByNode(clone, localNode, filter, current);
  for (const node of sortedNodes(ws, local.allowed, null)) {
    const pair = findCompatibleChildByNode(clone, node, filter, current);
    if (pair) return pair;
  }
  return null;
}

/** Instances a clone allows per node (copies_per_node). */
function copiesPerNode(rsc: SchedResource): number {
  return rsc.variant === "clone" ? rsc.clone!.nodeMax : 1;
}

/** pcmk__clone_apply_coloc_score: a dependent (instance or primitive) colocated with a clone. */
export function cloneApplyColocScore(
  ws: WorkingSet,
  dependent: SchedResource,
  primary: SchedResource,
  c: Colocation,
): void {
  let interleave = false;
  if (c.dependent.variant === "clone" && c.dependent.clone?.interleave) {
    if (copiesPerNode(c.dependent) !== copiesPerNode(c.primary)) {
      ws.warnings.push(
        `cannot interleave ${c.dependent.id} and ${c.primary.id}: different clone-node-max`,
      );
    } else {
      interleave = true;
    }
  }
  if (primary.provisional) return;
  if (interleave) {
    const instance = findCompatibleChild(ws, dependent, primary, Role.Unknown, false);
    if (instance) {
      applyColocScore(ws, dependent, instance, c);
    } else if (c.score >= INFINITY) {
      dependent.notes.push(`no instance of ${primary.id} to pair with (interleave): stays stopped`);
      assignResource(ws, dependent, null, true);
    }
    return;
  }
  if (c.score >= INFINITY) {
    const affected = new Set<number>();
    for (const child of primary.children) {
      const node = resourceLocationOf(child, false);
      if (node && !isBlockedRecursive(child)) affected.add(node.index);
    }
    const table = dependent.allowed;
    for (const node of ws.nodes) {
      if (affected.has(node.index)) {
        if (Number.isNaN(table[node.index])) table[node.index] = -INFINITY;
      } else if (!Number.isNaN(table[node.index])) {
        table[node.index] = -INFINITY;
      }
    }
    dependent.notes.push(
      `colocation ${c.id} with clone ${primary.id}: only where an instance runs`,
    );
    return;
  }
  for (const child of primary.children) applyColocScore(ws, dependent, child, c);
}
