/**
 * The working set of one scheduler run and the primitives every stage uses:
 * node availability, resource score updates, finding the node a resource is
 * active on, creating actions (found again by key and node, as Pacemaker's
 * custom_action does) and ordering them.
 *
 * @module
 */

import {
  type Action,
  type Colocation,
  Flag,
  type LocationConstraint,
  type Ordering,
  Role,
  type SchedNode,
  type SchedOptions,
  type SchedResource,
} from "./model.ts";
import { addScores, INFINITY } from "./scores.ts";

/** Everything one scheduler run works on. */
export class WorkingSet {
  /** Nodes in configuration order. */
  readonly nodes: SchedNode[] = [];
  readonly nodeByName = new Map<string, SchedNode>();
  /** Top-level resources, in processing order. */
  resources: SchedResource[] = [];
  /** Every resource (all levels), by index. */
  readonly all: SchedResource[] = [];
  /** Every resource by instance id. */
  readonly byId = new Map<string, SchedResource>();
  readonly colocations: Colocation[] = [];
  readonly locations: LocationConstraint[] = [];
  readonly orderings: Ordering[] = [];
  readonly actions: Action[] = [];
  /** Non-resource actions by key (fencing, shutdown, probe bookkeeping). */
  private readonly clusterActions = new Map<string, Action>();
  /**
   * Resource actions by "uuid|node index", only for resources with many
   * actions; the rest are found by scanning their short `actions` list, which
   * spares one key string and map entry per action (hundreds of thousands at
   * 100k resources).
   */
  private readonly bigActionIndex = new Map<SchedResource, Map<string, Action>>();
  /** Notes that concern the whole run (warnings for the report). */
  readonly warnings: string[] = [];
  dcNode: SchedNode | null = null;
  /** Keep each primitive's scores at assignment time (only explanations read them). */
  keepAssignScores = false;
  /** One copy of each action key (uuids and ordering tasks repeat several times per resource). */
  private readonly keys = new Map<string, string>();

  constructor(readonly options: SchedOptions) {}

  /** Adds a node. */
  addNode(node: SchedNode): void {
    if (this.nodeByName.has(node.name)) throw new Error(`duplicate node ${node.name}`);
    node.index = this.nodes.length;
    this.nodes.push(node);
    this.nodeByName.set(node.name, node);
  }

  /** Registers a resource (any level). */
  addResource(rsc: SchedResource): void {
    rsc.index = this.all.length;
    this.all.push(rsc);
    if (!this.byId.has(rsc.id)) this.byId.set(rsc.id, rsc);
  }

  /** Finds an action of `rsc` with key `uuid` on `node` (null node matches null only). */
  findAction(rsc: SchedResource | null, uuid: string, node: SchedNode | null): Action | undefined {
    if (!rsc) return this.clusterActions.get(actionKey(null, uuid, node));
    const list = rsc.actions;
    if (list.length <= SCAN_LIMIT) {
      // The latest match wins, as with the map (a later action replaces an earlier key).
      for (let i = list.length - 1; i >= 0; i--) {
        const a = list[i];
        if (a.node === node && a.uuid === uuid) return a;
      }
      return undefined;
    }
    let index = this.bigActionIndex.get(rsc);
    if (!index) {
      index = new Map();
      for (const a of list) index.set(rscActionKey(a.uuid, a.node), a);
      this.bigActionIndex.set(rsc, index);
    }
    return index.get(rscActionKey(uuid, node));
  }

  /**
   * The shared copy of an action key: keys are built by concatenation, and
   * keeping one (flattened) copy instead of every built one saves memory at scale.
   */
  internKey(key: string): string;
  internKey(key: string | null): string | null;
  internKey(key: string | null): string | null {
    if (key === null) return null;
    const known = this.keys.get(key);
    if (known !== undefined) return known;
    this.keys.set(key, key);
    return key;
  }

  /** Indexes a new action. */
  registerAction(action: Action): void {
    action.uuid = this.internKey(action.uuid);
    action.seq = this.actions.length;
    this.actions.push(action);
    if (action.rsc) {
      action.rsc.actions.push(action);
      this.bigActionIndex.get(action.rsc)?.set(rscActionKey(action.uuid, action.node), action);
    } else {
      this.clusterActions.set(actionKey(null, action.uuid, action.node), action);
    }
  }

  /** Records a node as needing fencing (Pacemaker's pe_fence_node). */
  fenceNode(node: SchedNode, reason: string): void {
    if (node.unclean) return;
    node.unclean = true;
    node.fenceReason = reason;
  }

  /** Whether fencing can be carried out against `node` now (pe_can_fence). */
  canFence(node: SchedNode | null): boolean {
    const o = this.options;
    if (!o.stonithEnabled || !o.haveStonithResource) return false;
    if (o.haveQuorum || o.noQuorumPolicy === "ignore") return true;
    return node !== null && node.online;
  }
}

/** Resources with at most this many actions are searched linearly (no index). */
const SCAN_LIMIT = 16;

function actionKey(rsc: SchedResource | null, uuid: string, node: SchedNode | null): string {
  return `${rsc ? rsc.index : -1}|${uuid}|${node ? node.index : -1}`;
}

function rscActionKey(uuid: string, node: SchedNode | null): string {
  return `${uuid}|${node ? node.index : -1}`;
}

/**
 * Whether a node can run resources (pcmk__node_available): online, clean, not
 * shutting down, not standby, not in maintenance; with `weight`, also a
 * non-negative score in the table being checked.
 */
export function nodeAvailable(node: SchedNode, weight?: number): boolean {
  if (!node.online || node.shutdown || node.unclean || node.standby || node.maintenance) {
    return false;
  }
  if (weight !== undefined && !(weight >= 0)) return false;
  return true;
}

/** Whether any node present in `table` is available with a non-negative score. */
export function anyNodeAvailable(ws: WorkingSet, table: Float64Array): boolean {
  for (const node of ws.nodes) {
    const w = table[node.index];
    if (!Number.isNaN(w) && nodeAvailable(node, w)) return true;
  }
  return false;
}

/**
 * Adds `score` for `rsc` (and its descendants) on one node or, with node null,
 * every node (Pacemaker's resource_location). A missing entry is created from
 * the node's base weight.
 */
export function resourceLocation(
  ws: WorkingSet,
  rsc: SchedResource,
  node: SchedNode | null,
  score: number,
): void {
  if (node) {
    resourceNodeScore(rsc, node, score);
  } else {
    for (const n of ws.nodes) resourceNodeScore(rsc, n, score);
    if (score <= -INFINITY) rsc.allocatedTo = null;
  }
}

function resourceNodeScore(rsc: SchedResource, node: SchedNode, score: number): void {
  for (const child of rsc.children) resourceNodeScore(child, node, score);
  const current = rsc.allowed[node.index];
  rsc.allowed[node.index] = Number.isNaN(current)
    ? addScores(node.weight, score)
    : addScores(current, score);
}

/** Adds `score` to a node already in the tables of `rsc` and its descendants (common_update_score). */
export function updateScore(rsc: SchedResource, nodeIndex: number, score: number): void {
  const current = rsc.allowed[nodeIndex];
  if (!Number.isNaN(current)) rsc.allowed[nodeIndex] = addScores(current, score);
  for (const child of rsc.children) updateScore(child, nodeIndex, score);
}

/**
 * The node a resource is active on (pe__find_active_on): the first clean
 * online node for resources that do not need fencing, else the first node.
 */
export function findActiveOn(
  rsc: SchedResource,
  counts?: { all: number; clean: number },
): SchedNode | null {
  let active: SchedNode | null = null;
  if (counts) {
    counts.all = 0;
    counts.clean = 0;
  }
  for (const node of rsc.runningOn) {
    const happy = node.online && !node.unclean;
    if (counts) {
      counts.all++;
      if (happy) counts.clean++;
    }
    if (rsc.requires !== "fencing") {
      if (happy && (!active || !active.online || active.unclean)) active = node;
    }
    if (active === null) active = node;
    if (!counts && (rsc.requires === "fencing" || happy)) break;
  }
  return active;
}

/** pe__current_node: the node a resource is (mainly) active on. */
export function currentNode(rsc: SchedResource): SchedNode | null {
  return rsc.runningOn.length === 0 ? null : findActiveOn(rsc);
}

/** The top-level resource (uber_parent). */
export function topResource(rsc: SchedResource): SchedResource {
  let r = rsc;
  while (r.parent) r = r.parent;
  return r;
}

/** Whether `rsc` is an anonymous clone (a clone that is not globally unique). */
export function isAnonClone(rsc: SchedResource | null): boolean {
  return rsc !== null && rsc.variant === "clone" && !rsc.unique;
}

/** The resource's current role, resolved for collective resources (fns->state(rsc, TRUE)). */
export function currentRole(rsc: SchedResource): number {
  if (rsc.children.length === 0) return rsc.role;
  let role: number = Role.Stopped;
  for (const child of rsc.children) {
    const r = currentRole(child);
    if (r > role) role = r;
  }
  return role;
}

/** The resource's next role, resolved for collective resources (fns->state(rsc, FALSE)). */
export function nextRole(rsc: SchedResource): number {
  if (rsc.children.length === 0) return rsc.nextRole;
  let role: number = Role.Stopped;
  for (const child of rsc.children) {
    const r = nextRole(child);
    if (r > role) role = r;
  }
  return role;
}

/** Whether the resource (any descendant) is active (fns->active(rsc, TRUE)). */
export function isActive(rsc: SchedResource): boolean {
  if (rsc.children.length > 0) return rsc.children.some(isActive);
  for (const node of rsc.runningOn) {
    if (node.unclean) return true;
    if (!node.online && rsc.managed) continue;
    return true;
  }
  return false;
}

/**
 * Where the resource is allocated (fns->location(rsc, NULL, FALSE)); for a
 * group or clone, the one node all its assigned primitives share, else null.
 */
export function allocatedNode(rsc: SchedResource): SchedNode | null {
  if (rsc.variant === "primitive") return rsc.allocatedTo;
  const found: SchedNode[] = [];
  collectAllocated(rsc, found);
  return found.length === 1 ? found[0] : null;
}

function collectAllocated(rsc: SchedResource, out: SchedNode[]): void {
  if (rsc.variant === "primitive") {
    if (rsc.allocatedTo && !out.includes(rsc.allocatedTo)) out.push(rsc.allocatedTo);
    return;
  }
  for (const child of rsc.children) collectAllocated(child, out);
}

/** Creates a fresh action object (not yet registered). */
export function newActionObject(
  rsc: SchedResource | null,
  uuid: string,
  task: string,
  node: SchedNode | null,
  flags: number,
): Action {
  return {
    seq: -1,
    uuid,
    task,
    rsc,
    node,
    intervalMs: 0,
    flags,
    needs: "nothing",
    before: [],
    after: [],
    runnableBefore: 0,
    requiredRunnableBefore: 0,
    reason: undefined,
  };
}

/** Sets or clears flags. */
export function setFlags(action: Action, flags: number, on: boolean): void {
  action.flags = on ? action.flags | flags : action.flags & ~flags;
}

/** Whether all of `flags` are set on the action. */
export function hasFlags(action: Action, flags: number): boolean {
  return (action.flags & flags) === flags;
}

/** Convenience: action is runnable. */
export function isRunnable(action: Action): boolean {
  return (action.flags & Flag.Runnable) !== 0;
}

/** Convenience: action is optional. */
export function isOptional(action: Action): boolean {
  return (action.flags & Flag.Optional) !== 0;
}
