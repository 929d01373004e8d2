/**
 * Constraint unpacking: location constraints (scores and rules evaluated per
 * node), colocations (kept in Pacemaker's sorted "this with" / "with this"
 * lists on both resources) and ordering constraints (recorded as resource
 * action orderings, resolved to actions once actions exist).
 *
 * @module
 */

import type { CibDocument } from "../../cib/schema/document.ts";
import type {
  ColocationConstraint,
  LocationConstraint as CibLocation,
  OrderConstraint,
} from "../../cib/schema/constraints.ts";
import {
  type Action,
  type Colocation,
  type LocationConstraint,
  Ord,
  Role,
  type RoleValue,
  type SchedNode,
  type SchedResource,
} from "./model.ts";
import { evaluateRule } from "./node_rules.ts";
import { addScores, char2score, INFINITY, strcmp } from "./scores.ts";
import { topResource, type WorkingSet } from "./working_set.ts";
import type { Rule } from "../../cib/schema/rules.ts";

/** Unpacks every constraint of the configuration into the working set. */
export function unpackConstraints(ws: WorkingSet, cib: CibDocument): void {
  const c = cib.config.constraints;
  for (const loc of c.locations) unpackLocation(ws, loc);
  for (const col of c.colocations) unpackColocation(ws, col);
  for (const ord of c.orders) unpackOrder(ws, ord);
}

/**
 * Finds the resource a constraint names (pcmk__find_constraint_resource): a
 * configured id; a primitive inside a clone stands for its clone.
 */
export function constraintResource(ws: WorkingSet, id: string): SchedResource | undefined {
  const direct = ws.byId.get(id);
  if (direct && direct.parent === null) return direct;
  if (direct && topResource(direct).variant !== "clone") return direct;
  for (const top of ws.resources) {
    if (top.variant !== "clone") continue;
    if (containsBase(top, id)) return top;
  }
  return undefined;
}

function containsBase(rsc: SchedResource, id: string): boolean {
  if (rsc.baseId === id) return true;
  // The first instance is representative of every instance.
  const first = rsc.children[0];
  return first !== undefined && containsBase(first, id);
}

function roleOf(role: string | undefined): RoleValue {
  if (role === undefined || role === "Started") return Role.Unknown;
  return Role[role as keyof typeof Role] ?? Role.Unknown;
}

function unpackLocation(ws: WorkingSet, loc: CibLocation): void {
  const rsc = constraintResource(ws, loc.resource);
  if (!rsc) {
    ws.warnings.push(`location ${loc.id}: no resource ${loc.resource}`);
    return;
  }
  if (loc.expiresAt !== undefined && ws.options.nowSeconds * 1000 >= loc.expiresAt) return;
  let role = roleOf(loc.role);
  if (role === Role.Unpromoted) role = Role.Unknown;
  if (loc.rules.length === 0) {
    const node = loc.node !== undefined ? ws.nodeByName.get(loc.node) : undefined;
    if (!node || loc.score === undefined) {
      ws.warnings.push(`location ${loc.id}: no node ${loc.node}`);
      return;
    }
    ws.locations.push({
      id: loc.id,
      resource: rsc,
      role,
      nodes: [{ node, score: loc.score }],
      discovery: loc.resourceDiscovery,
    });
    return;
  }
  for (const [i, rule] of loc.rules.entries()) {
    const nodes = ruleNodes(ws, rsc, rule);
    if (nodes.length === 0) continue;
    ws.locations.push({
      id: rule.id ?? `${loc.id}-rule-${i}`,
      resource: rsc,
      role,
      nodes,
      discovery: loc.resourceDiscovery,
    });
  }
}

/** The nodes a location rule matches, with the score it gives each (generate_location_rule). */
function ruleNodes(
  ws: WorkingSet,
  rsc: SchedResource,
  rule: Rule,
): Array<{ node: SchedNode; score: number }> {
  const out: Array<{ node: SchedNode; score: number }> = [];
  const isAnd = rule.booleanOp !== "or";
  for (const node of ws.nodes) {
    const ok = evaluateRule(rule, node.attrs, { params: rsc.params, meta: rsc.meta });
    if (!ok) continue;
    let score: number;
    if (rule.scoreAttribute !== undefined) {
      const value = node.attrs.get(rule.scoreAttribute);
      score = value === undefined ? -INFINITY : char2score(value);
    } else {
      score = rule.score ?? 0;
    }
    out.push({ node, score: isAnd ? score : addScores(node.weight, score) });
  }
  return out;
}

function unpackColocation(ws: WorkingSet, col: ColocationConstraint): void {
  const dependent = constraintResource(ws, col.resource);
  const primary = constraintResource(ws, col.withResource);
  if (!dependent || !primary) {
    ws.warnings.push(`colocation ${col.id}: resource not found`);
    return;
  }
  const attr = col.nodeAttribute === "#uname" ? undefined : col.nodeAttribute;
  newColocation(
    ws,
    col.id,
    attr,
    col.score,
    dependent,
    primary,
    roleOf(col.role),
    roleOf(col.withRole),
    dependent.critical,
  );
}

/** Colocation variant rank: clones before groups before primitives. */
function variantRank(rsc: SchedResource): number {
  return rsc.variant === "clone" ? 2 : rsc.variant === "group" ? 1 : 0;
}

function comparePrimaryPriority(a: Colocation, b: Colocation): number {
  return compareForColocation(a.primary, b.primary);
}

function compareDependentPriority(a: Colocation, b: Colocation): number {
  return compareForColocation(a.dependent, b.dependent);
}

function compareForColocation(a: SchedResource, b: SchedResource): number {
  if (a.priority !== b.priority) return a.priority > b.priority ? -1 : 1;
  const va = variantRank(a);
  const vb = variantRank(b);
  if (va !== vb) return va > vb ? -1 : 1;
  if (a.variant === "clone" && b.variant === "clone") {
    const pa = a.clone?.promotable ?? false;
    const pb = b.clone?.promotable ?? false;
    if (pa !== pb) return pa ? -1 : 1;
  }
  return strcmp(a.id, b.id);
}

/** g_list_insert_sorted: inserts before the first element that sorts after it. */
export function insertSorted<T>(list: T[], item: T, compare: (a: T, b: T) => number): void {
  let i = 0;
  while (i < list.length && compare(item, list[i]) > 0) i++;
  list.splice(i, 0, item);
}

/** Adds a "this with" colocation to a resource's sorted list. */
export function addThisWith(rsc: SchedResource, colocation: Colocation): void {
  insertSorted(rsc.thisWith, colocation, comparePrimaryPriority);
}

/** Adds a "with this" colocation to a resource's sorted list. */
export function addWithThis(rsc: SchedResource, colocation: Colocation): void {
  insertSorted(rsc.withThis, colocation, compareDependentPriority);
}

/** pcmk__new_colocation: records a colocation on both resources. */
export function newColocation(
  ws: WorkingSet,
  id: string,
  nodeAttribute: string | undefined,
  score: number,
  dependent: SchedResource,
  primary: SchedResource,
  dependentRole: RoleValue,
  primaryRole: RoleValue,
  influence: boolean,
): Colocation | undefined {
  if (score === 0) return undefined;
  const colocation: Colocation = {
    id,
    dependent,
    primary,
    score,
    dependentRole,
    primaryRole,
    nodeAttribute,
    influence,
  };
  addThisWith(dependent, colocation);
  addWithThis(primary, colocation);
  ws.colocations.push(colocation);
  if (score <= -INFINITY) {
    antiColocationOrder(ws, dependent, dependentRole, primary, primaryRole);
    antiColocationOrder(ws, primary, primaryRole, dependent, dependentRole);
  }
  return colocation;
}

function antiColocationOrder(
  ws: WorkingSet,
  first: SchedResource,
  firstRole: RoleValue,
  then: SchedResource,
  thenRole: RoleValue,
): void {
  const firstTasks = firstRole === Role.Promoted
    ? ["demote"]
    : firstRole === Role.Unpromoted
    ? ["stop", "promote"]
    : ["stop"];
  const thenTasks = thenRole === Role.Promoted
    ? ["promote"]
    : thenRole === Role.Unpromoted
    ? ["start", "demote"]
    : ["start"];
  for (const ft of firstTasks) {
    for (const tt of thenTasks) orderResourceActions(ws, first, ft, then, tt, Ord.AntiColocation);
  }
}

/** Pacemaker's op key: RSC_TASK_INTERVAL. */
export function opKey(rscId: string, task: string, intervalMs = 0): string {
  return `${rscId}_${task}_${intervalMs}`;
}

/** pcmk__new_ordering: an ordering between two (possibly not yet created) actions. */
export function newOrdering(
  ws: WorkingSet,
  firstRsc: SchedResource | null,
  firstTask: string | null,
  firstAction: Action | null,
  thenRsc: SchedResource | null,
  thenTask: string | null,
  thenAction: Action | null,
  flags: number,
): void {
  ws.orderings.push({
    id: ws.orderings.length,
    firstRsc: firstRsc ?? firstAction?.rsc ?? null,
    firstTask: ws.internKey(firstTask ?? firstAction?.uuid ?? null),
    firstAction,
    thenRsc: thenRsc ?? thenAction?.rsc ?? null,
    thenTask: ws.internKey(thenTask ?? thenAction?.uuid ?? null),
    thenAction,
    flags,
  });
}

/** pcmk__order_resource_actions: orders `first` rsc's `firstTask` before `then`'s `thenTask`. */
export function orderResourceActions(
  ws: WorkingSet,
  first: SchedResource,
  firstTask: string,
  then: SchedResource,
  thenTask: string,
  flags: number,
): void {
  newOrdering(
    ws,
    first,
    opKey(first.id, firstTask),
    null,
    then,
    opKey(then.id, thenTask),
    null,
    flags,
  );
}

/** Flags for a user ordering of a given kind (ordering_flags_for_kind). */
function orderingFlags(
  kind: OrderConstraint["kind"],
  firstAction: string,
  symmetry: "symmetric" | "asymmetric" | "inverse",
): number {
  let flags: number = Ord.Optional;
  if (kind === "Serialize") flags |= Ord.Serialize;
  if (kind === "Mandatory") {
    if (symmetry === "asymmetric") flags |= Ord.Asymmetrical;
    else if (symmetry === "symmetric") {
      flags |= Ord.ImpliesThen;
      if (firstAction === "start" || firstAction === "promote") flags |= Ord.RunnableLeft;
    } else {
      flags |= Ord.ImpliesFirst;
    }
  }
  return flags;
}

const INVERSE: Record<string, string | undefined> = {
  start: "stop",
  stop: "start",
  promote: "demote",
  demote: "promote",
};

function unpackOrder(ws: WorkingSet, ord: OrderConstraint): void {
  const first = constraintResource(ws, ord.first);
  const then = constraintResource(ws, ord.then);
  if (!first || !then) {
    ws.warnings.push(`order ${ord.id}: resource not found`);
    return;
  }
  const firstAction = ord.firstAction;
  const thenAction = ord.thenAction ?? firstAction;
  const symmetric = ord.symmetrical ?? ord.kind !== "Serialize";
  const symmetry = symmetric && ord.kind !== "Serialize" ? "symmetric" : "asymmetric";
  orderResourceActions(
    ws,
    first,
    firstAction,
    then,
    thenAction,
    orderingFlags(ord.kind, firstAction, symmetry),
  );
  if (symmetry !== "symmetric") return;
  const invThen = INVERSE[thenAction];
  const invFirst = INVERSE[firstAction];
  if (!invThen || !invFirst) return;
  orderResourceActions(
    ws,
    then,
    invThen,
    first,
    invFirst,
    orderingFlags(ord.kind, invFirst, "inverse"),
  );
}

/** Applies location constraints to allowed-node tables (pcmk__apply_location and group/clone variants). */
export function applyLocations(ws: WorkingSet): void {
  for (const loc of ws.locations) applyLocation(loc.resource, loc);
}

function applyLocation(rsc: SchedResource, loc: LocationConstraint): void {
  if (rsc.variant === "group" && rsc.groupColocated) {
    // The first member gets the scores; later members are only allowed there.
    applyLocationScores(rsc, loc);
    let first = true;
    for (const child of rsc.children) {
      applyLocation(
        child,
        first ? loc : { ...loc, nodes: loc.nodes.map((e) => ({ node: e.node, score: 0 })) },
      );
      first = false;
    }
    return;
  }
  applyLocationScores(rsc, loc);
  for (const child of rsc.children) applyLocation(child, loc);
}

function applyLocationScores(rsc: SchedResource, loc: LocationConstraint): void {
  if (loc.role !== Role.Unknown && loc.role !== rsc.nextRole) return;
  for (const { node, score } of loc.nodes) {
    const current = rsc.allowed[node.index];
    rsc.allowed[node.index] = Number.isNaN(current) ? score : addScores(current, score);
  }
}
