/**
 * Fencing and shutdown: unclean nodes are fenced when fencing is possible
 * (enabled, a fence device configured, and quorum or a policy that allows it);
 * the stops of what ran there become pseudo actions implied by the fencing,
 * and starts of resources that require fencing wait for it. A node asked to
 * shut down gets a shutdown action after all its stops.
 *
 * @module
 */

import { type Action, Flag, Ord, type SchedNode, type SchedResource } from "./model.ts";
import { customAction, orderActions, sortedByName } from "./actions.ts";
import { type WorkingSet } from "./working_set.ts";

/** The fence action for a node (pe_fence_op), created on demand. */
export function fenceOp(
  ws: WorkingSet,
  node: SchedNode,
  optional: boolean,
  reason: string | undefined,
): Action {
  const op = ws.options.stonithAction;
  const action = customAction(ws, null, `stonith-${node.name}-${op}`, "stonith", node, optional);
  action.fenceAction = op;
  if (!optional && ws.canFence(node)) {
    action.flags &= ~Flag.Optional;
    action.reason = reason;
  } else if (reason && action.reason === undefined) {
    action.reason = reason;
  }
  return action;
}

/** schedule_fencing_and_shutdowns. */
export function scheduleFencingAndShutdowns(ws: WorkingSet): void {
  const fencing: Action[] = [];
  let dcDown: Action | null = null;
  const shutdowns: Action[] = [];
  let integrityLost = false;
  for (const node of sortedByName(ws.nodes)) {
    if (node.unclean && ws.canFence(node)) {
      const op = fenceOp(ws, node, false, node.fenceReason ?? "node is unclean");
      orderVsFence(ws, op);
      if (node.isDc) dcDown = op;
      else fencing.push(op);
    } else if (node.unclean) {
      integrityLost = true;
    } else if (node.online && node.shutdown) {
      const down = customAction(ws, null, `do_shutdown-${node.name}`, "do_shutdown", node, false);
      orderStopsBeforeShutdown(ws, node, down);
      if (node.isDc) dcDown = down;
      else shutdowns.push(down);
    }
  }
  if (integrityLost) {
    ws.warnings.push(
      ws.options.stonithEnabled
        ? "unclean nodes cannot be fenced now (no fence device, or no quorum)"
        : "resource integrity cannot be guaranteed: fencing is disabled",
    );
  }
  // Fence one node at a time unless concurrent fencing is allowed.
  if (!ws.options.concurrentFencing) {
    for (let i = 1; i < fencing.length; i++) orderActions(fencing[i - 1], fencing[i], Ord.Optional);
  }
  if (dcDown) {
    for (const s of shutdowns) orderActions(s, dcDown, Ord.Optional);
    for (const f of fencing) orderActions(f, dcDown, Ord.Optional);
  }
}

function orderVsFence(ws: WorkingSet, op: Action): void {
  for (const rsc of ws.resources) stonithOrdering(ws, rsc, op);
}

function stonithOrdering(ws: WorkingSet, rsc: SchedResource, op: Action): void {
  if (rsc.children.length > 0) {
    for (const c of rsc.children) stonithOrdering(ws, c, op);
    return;
  }
  if (!rsc.managed) return;
  const target = op.node!;
  for (const action of rsc.actions) {
    if (action.needs === "fencing") {
      orderActions(op, action, Ord.Optional);
    } else if (
      action.needs === "quorum" && action.task === "start" &&
      !Number.isNaN(rsc.allowed[target.index]) && !knownOn(rsc, target)
    ) {
      orderActions(op, action, Ord.Optional | Ord.RunnableLeft);
    }
  }
  const orderImplicit = rsc.requires === "fencing";
  let top = rsc;
  while (top.parent) top = top.parent;
  const parentStop = orderImplicit ? top.actions.find((a) => a.task === "stop") : undefined;
  for (const action of rsc.actions) {
    if (action.task !== "stop" || action.node !== target) continue;
    // The stop would never complete: the fencing implies it.
    action.flags |= Flag.Pseudo | Flag.Runnable;
    action.reason ??= `${target.name} is fenced`;
    if (orderImplicit) {
      action.flags |= Flag.ImpliedByFencing;
      orderActions(op, action, Ord.Preserve);
      if (parentStop && parentStop !== action) orderActions(op, parentStop, Ord.Preserve);
    }
  }
  for (const action of rsc.actions) {
    if (action.task !== "demote" || action.node !== target) continue;
    if (!target.online || target.unclean || rsc.failed) {
      action.flags |= Flag.Pseudo | Flag.Runnable;
      if (orderImplicit) orderActions(op, action, Ord.Preserve | Ord.Optional);
    }
  }
}

function knownOn(rsc: SchedResource, node: SchedNode): boolean {
  if (rsc.knownOn?.has(node.index)) return true;
  const p = rsc.parent;
  return rsc.variant === "primitive" && p !== null && p.variant === "clone" && !p.unique &&
    p.knownOn?.has(node.index) === true;
}

function orderStopsBeforeShutdown(ws: WorkingSet, node: SchedNode, down: Action): void {
  for (const rsc of ws.all) {
    if (rsc.variant !== "primitive" || !rsc.managed) continue;
    for (const action of rsc.actions) {
      if (action.task !== "stop" || action.node !== node) continue;
      // Stops on a node that shuts down are required.
      action.flags &= ~Flag.Optional;
      orderActions(action, down, Ord.Optional | Ord.RunnableLeft);
    }
  }
}
