/**
 * Action creation: for each primitive the stops and starts that take it from
 * its current role and node to its assigned one (a move is a stop plus a
 * start; a failed resource that stays is recovered with a stop and a start; a
 * resource that stays gets optional stop/start actions that orderings may make
 * required, which is how restarts propagate); recurring monitors; the pseudo
 * actions groups and clones use to order their members as a unit; and probes
 * on nodes where a resource's state is unknown.
 *
 * Whether an action can run is decided here from the node (online, not
 * pending), quorum and "requires"; orderings later refine it (ordering.ts).
 *
 * @module
 */

import {
  type Action,
  type ActionNeeds,
  Flag,
  Ord,
  Role,
  type RoleValue,
  type SchedNode,
  type SchedResource,
} from "./model.ts";
import { newColocation, newOrdering, opKey, orderResourceActions } from "./constraints.ts";
import { INFINITY } from "./scores.ts";
import {
  findActiveOn,
  isActive,
  newActionObject,
  setFlags,
  type WorkingSet,
} from "./working_set.ts";
import { instanceNumber } from "./clones.ts";

/** What a task needs before it can run: only start and promote honour "requires". */
function actionNeeds(rsc: SchedResource, task: string): ActionNeeds {
  if (task !== "start" && task !== "promote") return "nothing";
  return rsc.requires === "fencing" ? "fencing" : rsc.requires === "quorum" ? "quorum" : "nothing";
}

/**
 * Finds or creates an action (custom_action): recomputes whether it is
 * required and runnable each time it is asked for.
 */
export function customAction(
  ws: WorkingSet,
  rsc: SchedResource | null,
  uuid: string,
  task: string,
  node: SchedNode | null,
  optional: boolean,
  save = true,
  intervalMs = 0,
): Action {
  let action = save ? ws.findAction(rsc, uuid, node) : undefined;
  if (!action) {
    action = newActionObject(rsc, uuid, task, node, Flag.Runnable | (optional ? Flag.Optional : 0));
    action.intervalMs = intervalMs;
    if (rsc) action.needs = actionNeeds(rsc, task);
    if (save) ws.registerAction(action);
  }
  updateActionOptional(action, optional);
  if (rsc) updateRunnable(ws, action, save);
  return action;
}

function updateActionOptional(action: Action, optional: boolean): void {
  const rsc = action.rsc;
  if (
    rsc && action.node && (action.flags & Flag.Pseudo) === 0 && !rsc.managed &&
    action.intervalMs === 0
  ) {
    action.flags |= Flag.Optional;
  } else if (!optional) {
    action.flags &= ~Flag.Optional;
  }
}

/** update_resource_action_runnable. */
function updateRunnable(ws: WorkingSet, action: Action, forGraph: boolean): void {
  if (action.flags & Flag.Pseudo) return;
  const rsc = action.rsc!;
  const node = action.node;
  const o = ws.options;
  if (!node) {
    setFlags(action, Flag.Runnable, false);
    return;
  }
  if ((action.flags & Flag.Dc) === 0 && !node.online) {
    setFlags(action, Flag.Runnable, false);
    action.reason ??= "node is offline";
    if (rsc.managed && forGraph && action.task === "stop" && !node.unclean) {
      ws.fenceNode(node, "stop is unrunnable");
    }
    return;
  }
  if ((action.flags & Flag.Dc) === 0 && node.pending) {
    setFlags(action, Flag.Runnable, false);
    action.reason ??= "node is pending";
    return;
  }
  if (action.needs === "nothing") {
    setFlags(action, Flag.Runnable, true);
    return;
  }
  let policy = o.noQuorumPolicy as string;
  if (o.haveQuorum) policy = "ignore";
  else if (policy === "demote") {
    policy = rsc.role === Role.Promoted || rsc.role === Role.Unpromoted ? "ignore" : "stop";
  }
  if (policy === "stop" || policy === "suicide") {
    setFlags(action, Flag.Runnable, false);
    action.reason = "no quorum";
  } else if (policy === "freeze") {
    if (!isActive(rsc) || rsc.nextRole > rsc.role) {
      setFlags(action, Flag.Runnable, false);
      action.reason = "quorum freeze";
    }
  } else {
    setFlags(action, Flag.Runnable, true);
  }
}

/** A start action of `rsc` on `node`. */
export function startAction(
  ws: WorkingSet,
  rsc: SchedResource,
  node: SchedNode | null,
  optional: boolean,
): Action {
  return customAction(ws, rsc, opKey(rsc.id, "start"), "start", node, optional);
}

/** A stop action of `rsc` on `node`. */
export function stopAction(
  ws: WorkingSet,
  rsc: SchedResource,
  node: SchedNode | null,
  optional: boolean,
): Action {
  return customAction(ws, rsc, opKey(rsc.id, "stop"), "stop", node, optional);
}

/** A pseudo action of a collective resource (pe__new_rsc_pseudo_action). */
export function pseudoAction(
  ws: WorkingSet,
  rsc: SchedResource,
  task: string,
  optional: boolean,
  runnable: boolean,
): Action {
  const action = customAction(ws, rsc, opKey(rsc.id, task), task, null, optional);
  action.flags |= Flag.Pseudo;
  if (runnable) action.flags |= Flag.Runnable;
  return action;
}

// Role transition tables (rsc_state_matrix / rsc_action_matrix).
const S = Role.Stopped;
const ST = Role.Started;
const U = Role.Unpromoted;
const P = Role.Promoted;
const STATE_MATRIX: RoleValue[][] = [
  [Role.Unknown, S, S, S, S],
  [S, S, ST, U, U],
  [S, S, ST, U, P],
  [S, S, S, U, P],
  [S, U, U, U, P],
];
type Transition = "error" | "stop" | "start" | "promote" | "demote" | "null";
const ACTION_MATRIX: Transition[][] = [
  ["error", "stop", "error", "error", "error"],
  ["error", "null", "start", "start", "error"],
  ["error", "stop", "null", "null", "promote"],
  ["error", "stop", "stop", "null", "promote"],
  ["error", "demote", "demote", "demote", "null"],
];

interface CreateState {
  restarting: boolean;
}

function runTransition(
  ws: WorkingSet,
  rsc: SchedResource,
  kind: Transition,
  next: SchedNode | null,
  optional: boolean,
  state: CreateState,
): boolean {
  switch (kind) {
    case "stop":
      return stopRsc(ws, rsc, optional, state);
    case "start":
      return startRsc(ws, rsc, next, optional);
    case "promote":
      if (next) customAction(ws, rsc, opKey(rsc.id, "promote"), "promote", next, optional);
      return true;
    case "demote":
      for (const n of rsc.runningOn) {
        customAction(ws, rsc, opKey(rsc.id, "demote"), "demote", n, optional);
      }
      return true;
    default:
      return false;
  }
}

function isExpectedNode(rsc: SchedResource, node: SchedNode | null, state: CreateState): boolean {
  return rsc.multipleActive === "stop_unexpected" && state.restarting &&
    rsc.nextRole > Role.Stopped && rsc.allocatedTo !== null && node === rsc.allocatedTo;
}

function stopRsc(
  ws: WorkingSet,
  rsc: SchedResource,
  optional: boolean,
  state: CreateState,
): boolean {
  for (const current of rsc.runningOn) {
    if (isExpectedNode(rsc, current, state)) continue;
    const stop = stopAction(ws, rsc, current, optional);
    if (!rsc.allocatedTo) stop.reason ??= "node availability";
    if (!rsc.managed) setFlags(stop, Flag.Runnable, false);
  }
  return true;
}

function startRsc(
  ws: WorkingSet,
  rsc: SchedResource,
  next: SchedNode | null,
  optional: boolean,
): boolean {
  const start = startAction(ws, rsc, next, true);
  if ((start.flags & Flag.Runnable) && !optional) start.flags &= ~Flag.Optional;
  return true;
}

/** Creates every action of a resource (rsc->cmds->create_actions). */
export function createResourceActions(ws: WorkingSet, rsc: SchedResource): void {
  switch (rsc.variant) {
    case "primitive":
      createPrimitiveActions(ws, rsc);
      return;
    case "group":
      for (const child of rsc.children) createResourceActions(ws, child);
      pseudoAction(ws, rsc, "start", true, true);
      pseudoAction(ws, rsc, "running", true, true);
      pseudoAction(ws, rsc, "stop", true, true);
      pseudoAction(ws, rsc, "stopped", true, true);
      return;
    case "clone":
      createCloneActions(ws, rsc);
      return;
  }
}

function createPrimitiveActions(ws: WorkingSet, rsc: SchedResource): void {
  if (rsc.nextRole === Role.Unknown) {
    rsc.nextRole = rsc.allocatedTo ? Role.Started : Role.Stopped;
  }
  const counts = { all: 0, clean: 0 };
  const current = findActiveOn(rsc, counts);
  let needStop = false;
  let isMoving = false;
  if (current && rsc.allocatedTo && current !== rsc.allocatedTo && rsc.nextRole >= Role.Started) {
    isMoving = true;
    needStop = true;
  }
  const multiplyActive = rsc.requires === "fencing" ? counts.all > 1 : counts.clean > 1;
  if (multiplyActive) {
    rsc.notes.push(`active on ${counts.all} nodes: ${rsc.multipleActive.replace("_", " ")}`);
    if (rsc.multipleActive === "stop_start" || rsc.multipleActive === "stop_unexpected") {
      needStop = true;
    }
  }
  if (rsc.startPending && rsc.allocatedTo) {
    const start = startAction(ws, rsc, rsc.allocatedTo, true);
    start.flags |= Flag.PrintAlways;
  }
  if (isMoving) {
    // nothing more
  } else if (rsc.failed) {
    if (rsc.stopNeeded) needStop = true;
  } else if (rsc.blocked) {
    needStop = true;
  }
  const state: CreateState = { restarting: true };
  // Bring the resource down to stopped on its current node(s)...
  let role: RoleValue = rsc.role;
  while (role !== Role.Stopped) {
    const next = STATE_MATRIX[role][Role.Stopped];
    if (!runTransition(ws, rsc, ACTION_MATRIX[role][next], current, !needStop, state)) break;
    role = next;
  }
  // ... and back up to its current role on its next node.
  while (rsc.role <= rsc.nextRole && role !== rsc.role && !rsc.blocked) {
    const next = STATE_MATRIX[role][rsc.role];
    if (!runTransition(ws, rsc, ACTION_MATRIX[role][next], rsc.allocatedTo, !needStop, state)) {
      break;
    }
    role = next;
  }
  state.restarting = false;
  // Then from the current role to the next one.
  role = rsc.role;
  let guard = 0;
  while (role !== rsc.nextRole && guard++ < 8) {
    const next = STATE_MATRIX[role][rsc.nextRole];
    if (!runTransition(ws, rsc, ACTION_MATRIX[role][next], rsc.allocatedTo, false, state)) break;
    role = next;
  }
  createRecurringActions(ws, rsc);
}

/** Recurring monitors on the node the resource will run on. */
function createRecurringActions(ws: WorkingSet, rsc: SchedResource): void {
  const node = rsc.allocatedTo;
  if (!node || rsc.nextRole === Role.Stopped) return;
  for (const op of rsc.operations) {
    if (op.intervalMs <= 0 || !op.enabled) continue;
    if (op.role !== undefined && op.role !== "Started" && op.role !== "Unpromoted") continue;
    const start = startAction(ws, rsc, node, true);
    const active = rsc.activeRecurring?.has(`${node.index}:${op.name}:${op.intervalMs}`) === true;
    const optional = active && (start.flags & Flag.Optional) !== 0;
    const mon = customAction(
      ws,
      rsc,
      opKey(rsc.id, op.name, op.intervalMs),
      op.name,
      node,
      optional,
      true,
      op.intervalMs,
    );
    if ((start.flags & Flag.Runnable) === 0) setFlags(mon, Flag.Runnable, false);
    newOrdering(
      ws,
      rsc,
      opKey(rsc.id, "start"),
      null,
      rsc,
      null,
      mon,
      Ord.ImpliesThen | Ord.RunnableLeft,
    );
  }
}

/** Whether any descendant primitive has a required action of `task` that can run. */
function childStatus(
  rsc: SchedResource,
  out: { starting: boolean; stopping: boolean; active: boolean },
): void {
  if (rsc.children.length > 0) {
    for (const c of rsc.children) childStatus(c, out);
    return;
  }
  if (rsc.runningOn.length > 0) out.active = true;
  for (const action of rsc.actions) {
    if (out.starting && out.stopping) return;
    if (action.flags & Flag.Optional) continue;
    if ((action.flags & (Flag.Pseudo | Flag.Runnable)) === 0) continue;
    if (action.task === "stop") out.stopping = true;
    else if (action.task === "start" && (action.flags & Flag.Runnable)) out.starting = true;
  }
}

function createCloneActions(ws: WorkingSet, rsc: SchedResource): void {
  let anyStarting = false;
  let anyStopping = false;
  let anyActive = false;
  for (const child of rsc.children) {
    createResourceActions(ws, child);
    const s = { starting: false, stopping: false, active: false };
    childStatus(child, s);
    anyStarting ||= s.starting;
    anyStopping ||= s.stopping;
    anyActive ||= s.active;
  }
  pseudoAction(ws, rsc, "start", !anyStarting, true);
  const running = pseudoAction(ws, rsc, "running", !anyStarting, false);
  if (anyActive || anyStarting) running.flags |= Flag.Runnable;
  pseudoAction(ws, rsc, "stop", !anyStopping, true);
  pseudoAction(ws, rsc, "stopped", !anyStopping, true);
  if (rsc.clone?.ordered) orderCloneChildren(rsc);
}

/** The single required action of a task on a resource, if exactly one. */
function requiredAction(rsc: SchedResource, task: string): Action | null {
  let match: Action | null = null;
  for (const a of rsc.actions) {
    if (a.task !== task || (a.flags & Flag.Optional)) continue;
    if (match) return null;
    match = a;
  }
  return match;
}

/** Ordered clones: instances start one after another and stop in reverse. */
function orderCloneChildren(rsc: SchedResource): void {
  const children = rsc.children.slice().sort((a, b) => instanceNumber(a) - instanceNumber(b));
  let lastStop: Action | null = null;
  let lastStart: Action | null = null;
  for (const child of children) {
    const stop = requiredAction(child, "stop");
    if (stop) {
      if (lastStop) orderActions(stop, lastStop, Ord.Optional);
      lastStop = stop;
    }
    const start = requiredAction(child, "start");
    if (start) {
      if (lastStart) orderActions(lastStart, start, Ord.Optional);
      lastStart = start;
    }
  }
}

/** order_actions: adds an ordering edge unless an overlapping one exists. */
export function orderActions(first: Action, then: Action, type: number): boolean {
  if (type === Ord.None) return false;
  if (first === then) throw new Error(`action ${first.uuid} ordered after itself`);
  if (first.afterTypes === undefined && first.after.length >= 16) {
    first.afterTypes = new Map();
    for (const e of first.after) {
      first.afterTypes.set(e.action, (first.afterTypes.get(e.action) ?? 0) | e.type);
    }
  }
  if (first.afterTypes) {
    const existing = first.afterTypes.get(then) ?? 0;
    if ((existing & type) !== 0) return false;
    first.afterTypes.set(then, existing | type);
  } else {
    for (const e of first.after) {
      if (e.action === then && (e.type & type) !== 0) return false;
    }
  }
  first.after.push({ action: then, type });
  then.before.push({ action: first, type });
  return true;
}

/** Creates the primitives' internal orderings and the groups' and clones' (internal_constraints). */
export function internalConstraints(ws: WorkingSet, rsc: SchedResource): void {
  switch (rsc.variant) {
    case "primitive":
      if (!rsc.managed) return;
      orderResourceActions(
        ws,
        rsc,
        "stop",
        rsc,
        "start",
        Ord.Optional | Ord.ImpliesThen | Ord.Restart,
      );
      return;
    case "group":
      groupInternalConstraints(ws, rsc);
      return;
    case "clone":
      cloneInternalConstraints(ws, rsc);
      return;
  }
}

function groupInternalConstraints(ws: WorkingSet, rsc: SchedResource): void {
  const ordered = rsc.groupOrdered;
  orderResourceActions(ws, rsc, "stopped", rsc, "start", Ord.Optional);
  orderResourceActions(ws, rsc, "start", rsc, "running", Ord.RunnableLeft);
  orderResourceActions(ws, rsc, "stop", rsc, "stopped", Ord.RunnableLeft);
  let last: SchedResource | null = null;
  let lastActive: SchedResource | null = null;
  for (const child of rsc.children) {
    let stop: number = Ord.None;
    let stopped: number = Ord.ImpliesThenPrinted;
    const start = Ord.ImpliesThen | Ord.RunnableLeft;
    const started = Ord.RunnableLeft | Ord.ImpliesThen | Ord.ImpliesThenPrinted;
    internalConstraints(ws, child);
    if (last === null) {
      if (ordered) {
        stop |= Ord.Optional;
        stopped = Ord.ImpliesThen;
      }
    } else if (rsc.groupColocated) {
      newColocation(
        ws,
        "group:internal_colocation",
        undefined,
        INFINITY,
        child,
        last,
        Role.Unknown,
        Role.Unknown,
        child.critical,
      );
    }
    orderResourceActions(ws, rsc, "start", child, "start", Ord.ImpliesFirstPrinted);
    orderResourceActions(ws, rsc, "stop", child, "stop", stop | Ord.ImpliesFirstPrinted);
    orderResourceActions(ws, child, "stop", rsc, "stopped", stopped);
    orderResourceActions(ws, child, "start", rsc, "running", started);
    if (!ordered) {
      orderResourceActions(ws, rsc, "start", child, "start", start | Ord.ImpliesFirstPrinted);
    } else if (last !== null) {
      orderResourceActions(ws, last, "start", child, "start", start);
      orderResourceActions(ws, child, "stop", last, "stop", Ord.Optional | Ord.Restart);
    } else {
      orderResourceActions(ws, rsc, "start", child, "start", Ord.None);
    }
    if (child.runningOn.length > 0) {
      if (
        ordered && last !== null && last.runningOn.length === 0 && lastActive &&
        lastActive.runningOn.length > 0
      ) {
        orderResourceActions(ws, child, "stop", lastActive, "stop", Ord.Optional);
      }
      lastActive = child;
    }
    last = child;
  }
  if (ordered && last !== null) {
    orderResourceActions(ws, rsc, "stop", last, "stop", Ord.ImpliesThen);
    orderResourceActions(ws, last, "stop", rsc, "stopped", Ord.Optional);
  }
}

function cloneInternalConstraints(ws: WorkingSet, rsc: SchedResource): void {
  const ordered = rsc.clone?.ordered ?? false;
  orderResourceActions(ws, rsc, "stopped", rsc, "start", Ord.Optional);
  orderResourceActions(ws, rsc, "start", rsc, "running", Ord.RunnableLeft);
  orderResourceActions(ws, rsc, "stop", rsc, "stopped", Ord.RunnableLeft);
  const children = ordered
    ? rsc.children.slice().sort((a, b) => instanceNumber(a) - instanceNumber(b))
    : rsc.children;
  let last: SchedResource | null = null;
  for (const child of children) {
    internalConstraints(ws, child);
    orderResourceActions(
      ws,
      rsc,
      "start",
      child,
      "start",
      Ord.RunnableLeft | Ord.ImpliesFirstPrinted,
    );
    orderResourceActions(ws, child, "start", rsc, "running", Ord.ImpliesThenPrinted);
    if (ordered && last) orderResourceActions(ws, last, "start", child, "start", Ord.Optional);
    orderResourceActions(ws, rsc, "stop", child, "stop", Ord.ImpliesFirstPrinted);
    orderResourceActions(ws, child, "stop", rsc, "stopped", Ord.ImpliesThenPrinted);
    if (ordered && last) orderResourceActions(ws, child, "stop", last, "stop", Ord.Optional);
    last = child;
  }
}

/**
 * Probes: on every online, clean node, each managed resource whose state there
 * is unknown (one instance per anonymous clone). One probe action per node
 * lists them; every start of a probed resource waits for all probes.
 */
export function scheduleProbes(ws: WorkingSet): void {
  const probed = new Set<SchedResource>();
  const probeActions: Action[] = [];
  for (const node of sortedByName(ws.nodes)) {
    if (!node.online || node.unclean) continue;
    const list: SchedResource[] = [];
    for (const rsc of ws.resources) collectProbes(ws, rsc, node, list);
    if (list.length === 0) continue;
    const action = customAction(ws, null, `probe-${node.name}`, "probe", node, false);
    action.probeResources = list.map((r) => r.id);
    probeActions.push(action);
    for (const r of list) probed.add(r);
    if (node.pending) {
      // A probe cannot run on a pending node: what is not running anywhere yet
      // must not start before its state there is known.
      setFlags(action, Flag.Runnable, false);
      action.reason = "node is pending";
      for (const r of list) {
        // The clone as a whole, or the resource itself (pcmk__probe_rsc_on_node).
        let top = r;
        while (top.parent) top = top.parent;
        if (top.variant !== "clone") top = r;
        if (top.runningOn.length > 0) continue;
        for (const a of top.actions) {
          if (a.task === "start") orderActions(action, a, Ord.Optional | Ord.RunnableLeft);
        }
      }
    }
  }
  if (probeActions.length === 0) return;
  const complete = customAction(ws, null, "probe_complete", "probe_complete", null, false);
  complete.flags |= Flag.Pseudo;
  for (const p of probeActions) orderActions(p, complete, Ord.Optional);
  for (const rsc of probed) {
    for (const a of rsc.actions) {
      if (a.task === "start") orderActions(complete, a, Ord.Optional);
    }
  }
}

function collectProbes(
  ws: WorkingSet,
  rsc: SchedResource,
  node: SchedNode,
  out: SchedResource[],
): void {
  if (rsc.variant === "clone") {
    if (rsc.unique) {
      for (const c of rsc.children) collectProbes(ws, c, node, out);
      return;
    }
    const children = rsc.children.slice().sort((a, b) => instanceNumber(a) - instanceNumber(b));
    const here = children.find((c) => allocatedLeafNodes(c).includes(node)) ?? children[0];
    if (here) collectProbes(ws, here, node, out);
    return;
  }
  if (rsc.children.length > 0) {
    for (const c of rsc.children) collectProbes(ws, c, node, out);
    return;
  }
  if (rsc.orphan || rsc.knownOn?.has(node.index)) return;
  out.push(rsc);
}

function allocatedLeafNodes(rsc: SchedResource): SchedNode[] {
  if (rsc.variant === "primitive") return rsc.allocatedTo ? [rsc.allocatedTo] : [];
  return rsc.children.flatMap(allocatedLeafNodes);
}

/** Nodes in Pacemaker's list order: names compared case-insensitively, digits as numbers. */
export function sortedByName(nodes: readonly SchedNode[]): SchedNode[] {
  return nodes.slice().sort((a, b) => naturalCompare(a.name, b.name));
}

/** pcmk__numeric_strcasecmp. */
export function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, "en", { numeric: true, sensitivity: "base" }) ||
    (a < b ? -1 : a > b ? 1 : 0);
}
