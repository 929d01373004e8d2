/**
 * Orderings between actions and what they imply, as Pacemaker's
 * pcmk__apply_orderings and pcmk__update_action_for_orderings do:
 *
 * - `runnable_left`: "then" cannot run if "first" cannot (mandatory order);
 * - `implies_then`: if "first" is required, "then" is too (a restart of
 *   "first" restarts "then");
 * - `implies_first`: if "then" is required, "first" is too;
 * - `restart`: stop-before-start of one resource: a required or unrunnable
 *   start makes the stop required (a resource that must restart but cannot
 *   start is stopped);
 * - `asymmetrical`: like runnable_left unless "then" is already where it
 *   should be;
 * - orderings against a group or clone's start/stop are remapped to its
 *   running/stopped pseudo action; interleaved clones pair instances per node.
 *
 * Flags only move one way (optional is cleared, runnable is cleared), so the
 * work-list loop below reaches a fixed point; it is bounded anyway.
 *
 * @module
 */

import {
  type Action,
  Flag,
  Ord,
  type OrderEdge,
  type Ordering,
  Role,
  type SchedNode,
  type SchedResource,
} from "./model.ts";
import { customAction, orderActions } from "./actions.ts";
import { assignResource } from "./allocate.ts";
import { findCompatibleChild, resourceState } from "./clones.ts";
import { opKey } from "./constraints.ts";
import { INFINITY } from "./scores.ts";
import { allocatedNode, topResource, type WorkingSet } from "./working_set.ts";

const UPDATED_THEN = 1;
const UPDATED_FIRST = 2;

/** A mask that passes every flag on (`x & ~0 === x` for any flag word). */
const ALL_FLAGS = ~0;

/**
 * What one ordering flag does to an edge's actions
 * (update_action_for_ordering_flags): which side's resource applies it, which
 * of "first"'s flags it passes on, the flags it may change, and what it does
 * directly when that side has no resource.
 */
interface OrderingEffect {
  type: number;
  /** The resource of "first" applies it (else that of "then"). */
  onFirst: boolean;
  /** Mask on "first"'s flags passed to the resource. */
  passes: number;
  filter: number;
  /** The update of a resource-less action; returns UPDATED_* bits. */
  withoutResource?: (first: Action, then: Action, firstFlags: number) => number;
}

/**
 * The update of a resource-less action that clears `cleared` on one side of
 * the edge unless "first" has `firstHas` (and `cleared` is still set).
 */
function clearUnlessFirstHas(
  firstHas: number,
  side: "first" | "then",
  cleared: number,
): NonNullable<OrderingEffect["withoutResource"]> {
  const updated = side === "first" ? UPDATED_FIRST : UPDATED_THEN;
  return (first, then, firstFlags) => {
    const action = side === "first" ? first : then;
    if ((firstFlags & firstHas) || !(action.flags & cleared)) return 0;
    action.flags &= ~cleared;
    return updated;
  };
}

/**
 * The ordering flags in Pacemaker's order, which matters: each step sees the
 * flags the steps before it left.
 */
const ORDERING_EFFECTS: readonly OrderingEffect[] = [
  {
    type: Ord.ImpliesThen,
    onFirst: false,
    passes: Flag.Optional,
    filter: Flag.Optional,
    withoutResource: clearUnlessFirstHas(Flag.Optional, "then", Flag.Optional),
  },
  { type: Ord.Restart, onFirst: false, passes: ALL_FLAGS, filter: Flag.Optional | Flag.Runnable },
  {
    type: Ord.ImpliesFirst,
    onFirst: true,
    passes: ALL_FLAGS,
    filter: Flag.Optional,
    withoutResource: clearUnlessFirstHas(Flag.Optional, "first", Flag.Runnable),
  },
  {
    type: Ord.OneOrMore,
    onFirst: false,
    passes: ALL_FLAGS,
    filter: Flag.Runnable,
    withoutResource(_first, then, firstFlags) {
      if (!(firstFlags & Flag.Runnable)) return 0;
      then.runnableBefore++;
      if (then.runnableBefore < then.requiredRunnableBefore || (then.flags & Flag.Runnable)) {
        return 0;
      }
      then.flags |= Flag.Runnable;
      return UPDATED_THEN;
    },
  },
  {
    type: Ord.RunnableLeft,
    onFirst: false,
    passes: ALL_FLAGS,
    filter: Flag.Runnable,
    withoutResource: clearUnlessFirstHas(Flag.Runnable, "then", Flag.Runnable),
  },
  { type: Ord.Optional, onFirst: false, passes: ALL_FLAGS, filter: Flag.Runnable },
  { type: Ord.Asymmetrical, onFirst: false, passes: ALL_FLAGS, filter: Flag.Runnable },
];

/** Resolves every ordering to actions, then propagates flags to a fixed point. */
export function applyOrderings(ws: WorkingSet): void {
  const runner = new OrderingRunner(ws);
  for (const order of ws.orderings) runner.resolve(order);
  for (const action of ws.actions) runner.blockColocationDependents(action);
  runner.updateAll();
}

/** The flag-propagation engine of one scheduler run. */
class OrderingRunner {
  private readonly queue: Action[] = [];
  private head = 0;
  private readonly queued = new Set<Action>();
  private steps = 0;
  private readonly maxSteps: number;

  constructor(private readonly ws: WorkingSet) {
    // Generous bound: each action can change a handful of flags a few times.
    this.maxSteps = 64 * (ws.actions.length + 1000) + 100 * ws.orderings.length;
  }

  /** rsc_order_first / order_resource_actions_after. */
  resolve(order: Ordering): void {
    if (order.firstRsc) {
      this.orderFirst(order.firstRsc, order);
      return;
    }
    if (order.thenRsc) {
      this.orderAfter(order.firstAction, order.thenRsc, order);
    } else if (order.firstAction && order.thenAction) {
      orderActions(order.firstAction, order.thenAction, order.flags);
    }
  }

  private orderFirst(firstRsc: SchedResource, order: Ordering): void {
    let firstActions: Action[] = order.firstAction
      ? [order.firstAction]
      : findActionsByTask(firstRsc, order.firstTask!);
    const thenRsc = order.thenRsc ?? order.thenAction?.rsc ?? null;
    if (firstActions.length === 0 && firstRsc === thenRsc) return;
    if (firstActions.length === 0) {
      const op = taskOfKey(firstRsc, order.firstTask!);
      const role = resourceState(firstRsc, true);
      if (role === Role.Stopped && op === "stop") return;
      if (role === Role.Unpromoted && op === "demote") return;
      // Saved (not a throw-away action) so that later orderings find the same one.
      firstActions = [
        customAction(this.ws, firstRsc, opKey(firstRsc.id, op), op, null, true),
      ];
    }
    if (!thenRsc && !order.thenAction) return;
    for (const first of firstActions) {
      if (!thenRsc) orderActions(first, order.thenAction!, order.flags);
      else this.orderAfter(first, thenRsc, order);
    }
  }

  private orderAfter(first: Action | null, rsc: SchedResource, order: Ordering): void {
    const thenActions = order.thenAction
      ? [order.thenAction]
      : findActionsByTask(rsc, order.thenTask!);
    if (thenActions.length === 0) return;
    if (!first && (order.flags & Ord.ImpliesThen) === 0) return;
    for (const then of thenActions) {
      if (first) {
        if (first !== then) orderActions(first, then, order.flags);
      } else {
        then.flags &= ~Flag.Runnable;
        then.reason ??= "nothing to order it after";
      }
    }
  }

  /** Queues an action for (re)processing. */
  enqueue(action: Action): void {
    if (action.seq < 0 || this.queued.has(action)) return;
    this.queued.add(action);
    this.queue.push(action);
  }

  updateAll(): void {
    for (const a of this.ws.actions) this.enqueue(a);
    while (this.head < this.queue.length) {
      if (++this.steps > this.maxSteps) {
        throw new Error(`ordering propagation did not converge after ${this.maxSteps} steps`);
      }
      const action = this.queue[this.head++];
      this.queued.delete(action);
      this.update(action);
      if (this.head > 65536 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
    }
  }

  /** pcmk__update_action_for_orderings for one "then" action. */
  private update(then: Action): void {
    const lastFlags = then.flags;
    if (then.flags & Flag.RequiresAny) {
      then.runnableBefore = 0;
      if (then.requiredRunnableBefore === 0) then.requiredRunnableBefore = 1;
      then.flags &= ~Flag.Runnable;
    }
    let changed = 0;
    for (const edge of then.before.slice()) {
      if (edge.type === Ord.None) continue;
      let first = edge.action;
      const thenNode = actionNodeForOrdering(then);
      const firstNode = actionNodeForOrdering(first);
      if ((edge.type & Ord.SameNode) && firstNode && thenNode && firstNode !== thenNode) {
        edge.type = Ord.None;
        continue;
      }
      changed &= ~UPDATED_FIRST;
      if (first.rsc && then.rsc && first.rsc !== then.rsc && !isAncestor(first.rsc, then.rsc)) {
        first = actionForOrdering(first);
      }
      if (first === edge.action) {
        const firstFlags = this.flagsForOrdering(first, thenNode);
        const thenFlags = this.flagsForOrdering(then, firstNode);
        changed |= this.updateForFlags(first, then, firstFlags, thenFlags, edge);
      } else if (orderActions(first, then, edge.type)) {
        changed |= UPDATED_THEN;
        edge.type = Ord.None;
      }
      if (changed & UPDATED_FIRST) {
        for (const e of first.after) this.enqueue(e.action);
        this.enqueue(first);
      }
    }
    if (then.flags & Flag.RequiresAny) {
      if (lastFlags === then.flags) changed &= ~UPDATED_THEN;
      else changed |= UPDATED_THEN;
    }
    if (changed & UPDATED_THEN) {
      if ((lastFlags & Flag.Runnable) && !(then.flags & Flag.Runnable)) {
        this.blockColocationDependents(then);
      }
      this.enqueue(then);
      for (const e of then.after) this.enqueue(e.action);
    }
  }

  /** update_action_for_ordering_flags. */
  private updateForFlags(
    first: Action,
    then: Action,
    firstFlags: number,
    thenFlags: number,
    edge: OrderEdge,
  ): number {
    let changed = 0;
    let node = then.node;
    const type = edge.type;
    if (type & Ord.ImpliesThenOnNode) {
      edge.type = (edge.type & ~Ord.ImpliesThenOnNode) | Ord.ImpliesThen;
      node = first.node;
    }
    for (const effect of ORDERING_EFFECTS) {
      // edge.type is read afresh each step: an earlier step may have changed it.
      if (!(edge.type & effect.type)) continue;
      const rsc = effect.onFirst ? first.rsc : then.rsc;
      if (rsc) {
        const passed = firstFlags & effect.passes;
        changed |= this.updateOrdered(rsc, first, then, node, passed, effect.filter, effect.type);
      } else if (effect.withoutResource) {
        changed |= effect.withoutResource(first, then, firstFlags);
      }
    }
    if (
      (first.flags & Flag.Runnable) && (edge.type & Ord.ImpliesThenPrinted) &&
      !(firstFlags & Flag.Optional)
    ) {
      then.flags |= Flag.PrintAlways;
    }
    if ((edge.type & Ord.ImpliesFirstPrinted) && !(thenFlags & Flag.Optional)) {
      first.flags |= Flag.PrintAlways;
    }
    if (
      (edge.type & (Ord.ImpliesThen | Ord.ImpliesFirst | Ord.Restart)) && first.rsc &&
      !first.rsc.managed && first.rsc.blocked && !(first.flags & Flag.Runnable) &&
      first.task === "stop"
    ) {
      if (then.flags & Flag.Runnable) {
        then.flags &= ~Flag.Runnable;
        then.reason ??= `${first.rsc.id} is blocked`;
        changed |= UPDATED_THEN;
      }
    }
    return changed;
  }

  /** The resource-kind specific update_ordered_actions. */
  private updateOrdered(
    rsc: SchedResource,
    first: Action,
    then: Action,
    node: SchedNode | null,
    flags: number,
    filter: number,
    type: number,
  ): number {
    switch (rsc.variant) {
      case "primitive":
        return this.primitiveUpdate(first, then, flags, filter, type);
      case "group": {
        let changed = this.primitiveUpdate(first, then, flags, filter, type);
        if (then.rsc) {
          for (const child of then.rsc.children) {
            const childAction = findFirstAction(child, then.task, node);
            if (childAction) {
              changed |= this.updateOrdered(child, first, childAction, node, flags, filter, type);
            }
          }
        }
        return changed;
      }
      case "clone":
        return this.cloneUpdate(first, then, node, flags, filter, type);
    }
  }

  /** pcmk__multi_update_actions. */
  private cloneUpdate(
    first: Action,
    then: Action,
    node: SchedNode | null,
    flags: number,
    filter: number,
    type: number,
  ): number {
    if (canInterleave(first, then)) return this.interleaveUpdate(first, then, node, filter, type);
    if (!then.rsc) return 0;
    let changed = this.primitiveUpdate(first, then, flags, filter, type);
    for (const child of then.rsc.children) {
      const childAction = findFirstAction(child, then.task, node);
      if (!childAction) continue;
      const childFlags = this.actionFlags(childAction, node);
      if (childFlags & Flag.Runnable) {
        const c = this.updateOrdered(child, first, childAction, node, flags, filter, type);
        changed |= c;
        if (c & UPDATED_THEN) { for (const e of childAction.after) this.enqueue(e.action); }
      }
    }
    return changed;
  }

  private interleaveUpdate(
    first: Action,
    then: Action,
    node: SchedNode | null,
    filter: number,
    type: number,
  ): number {
    let changed = 0;
    const current = first.uuid.endsWith("_stopped_0") || first.uuid.endsWith("_demoted_0");
    const firstRsc = first.rsc!;
    for (const thenChild of then.rsc!.children) {
      const firstChild = findCompatibleChild(this.ws, thenChild, firstRsc, Role.Unknown, current);
      if (!firstChild && current) continue;
      if (!firstChild) {
        if (type & (Ord.RunnableLeft | Ord.ImpliesThen)) {
          if (hasAllocation(thenChild)) {
            thenChild.notes.push(
              `no instance of ${firstRsc.id} on the same node (interleave): stopped`,
            );
            assignResource(this.ws, thenChild, null, true);
            markUnassigned(thenChild);
            changed |= UPDATED_THEN;
          }
        }
        continue;
      }
      const task = childTask(firstRsc, first.task);
      const firstAction = findFirstAction(firstChild, task, node);
      const thenAction = findFirstAction(thenChild, then.task, node);
      if (!firstAction || !thenAction) continue;
      if (orderActions(firstAction, thenAction, type)) changed |= UPDATED_FIRST | UPDATED_THEN;
      changed |= this.updateOrdered(
        thenChild,
        firstAction,
        thenAction,
        node,
        this.actionFlags(firstAction, node),
        filter,
        type,
      );
    }
    return changed;
  }

  /** pcmk__update_ordered_actions for primitives. */
  private primitiveUpdate(
    first: Action,
    then: Action,
    flags: number,
    filter: number,
    type: number,
  ): number {
    let changed = 0;
    const thenFlags = then.flags;
    const firstFlags = first.flags;
    if (type & Ord.Asymmetrical) handleAsymmetric(first, then);
    if ((type & Ord.ImpliesFirst) && !(thenFlags & Flag.Optional)) {
      if ((filter & Flag.Optional) && !(flags & Flag.Optional) && (firstFlags & Flag.Optional)) {
        first.flags &= ~Flag.Optional;
      }
    }
    if (
      (type & Ord.RunnableLeft) && (filter & Flag.Runnable) && (then.flags & Flag.Runnable) &&
      !(flags & Flag.Runnable)
    ) {
      then.flags &= ~Flag.Runnable;
      then.reason ??= `${describe(first)} cannot run`;
    }
    if (
      (type & Ord.ImpliesThen) && (filter & Flag.Optional) && (then.flags & Flag.Optional) &&
      !(flags & Flag.Optional)
    ) {
      then.flags &= ~Flag.Optional;
      if (first.rsc !== then.rsc) then.reason ??= `required by ${describe(first)}`;
    }
    if (type & Ord.Restart) handleRestart(first, then, filter);
    if (thenFlags !== then.flags) {
      changed |= UPDATED_THEN;
      if (then.rsc && then.rsc.parent) this.enqueue(then);
    }
    if (firstFlags !== first.flags) changed |= UPDATED_FIRST;
    return changed;
  }

  /** action_flags_for_ordering. */
  private flagsForOrdering(action: Action, node: SchedNode | null): number {
    if (!action.rsc) return action.flags;
    let flags = this.actionFlags(action, null);
    if (node === null || action.rsc.variant !== "clone") return flags;
    const runnable = (flags & Flag.Runnable) !== 0;
    flags = this.actionFlags(action, node);
    if (runnable && !(flags & Flag.Runnable)) flags |= Flag.Runnable;
    return flags;
  }

  /** The resource method action_flags: collective actions summarise their members'. */
  actionFlags(action: Action, node: SchedNode | null): number {
    const rsc = action.rsc;
    if (!rsc || rsc.variant === "primitive") return action.flags;
    if (rsc.variant === "group") {
      let flags: number = Flag.Optional | Flag.Runnable | Flag.Pseudo;
      for (const child of rsc.children) {
        const task = complexTask(child, action.task);
        const childAction = findFirstAction(child, task, node);
        if (childAction) {
          const cf = this.actionFlags(childAction, node);
          if ((flags & Flag.Optional) && !(cf & Flag.Optional)) {
            flags &= ~Flag.Optional;
            action.flags &= ~Flag.Optional;
          }
          // "running" (members' starts) is unrunnable if any member cannot start.
          if (task !== action.task && (flags & Flag.Runnable) && !(cf & Flag.Runnable)) {
            flags &= ~Flag.Runnable;
            action.flags &= ~Flag.Runnable;
          }
        } else if (task !== "stop" && task !== "demote") {
          flags &= ~Flag.Runnable;
        }
      }
      return flags;
    }
    let flags: number = Flag.Optional | Flag.Runnable | Flag.Pseudo;
    let anyRunnable = false;
    const task = rsc.children.length ? complexTask(rsc.children[0], action.task) : action.task;
    for (const child of rsc.children) {
      const childAction = findFirstAction(child, task, child.children.length ? null : node);
      if (!childAction) continue;
      const cf = this.actionFlags(childAction, node);
      if ((flags & Flag.Optional) && !(cf & Flag.Optional)) {
        flags &= ~Flag.Optional;
        action.flags &= ~Flag.Optional;
      }
      if (cf & Flag.Runnable) anyRunnable = true;
    }
    if (!anyRunnable) {
      flags &= ~Flag.Runnable;
      if (node === null) action.flags &= ~Flag.Runnable;
    }
    return flags;
  }

  /**
   * A start that cannot run blocks the starts of resources colocated with its
   * resource (mandatory colocations only) once no instance of it can start.
   */
  blockColocationDependents(action: Action): void {
    if ((action.flags & Flag.Runnable) || action.task !== "start" || !action.rsc) return;
    const rsc = topResource(action.rsc);
    if (rsc.withThis.length === 0) return;
    for (const child of rsc.children) {
      const start = findFirstAction(child, "start", null);
      if (!start || (start.flags & Flag.Runnable)) return;
    }
    for (const c of rsc.withThis) {
      if (c.score !== INFINITY) continue;
      this.markStartBlocked(c.dependent, action.rsc);
    }
  }

  private markStartBlocked(rsc: SchedResource, reason: SchedResource): void {
    for (const a of rsc.actions) {
      if (a.task !== "start" || !(a.flags & Flag.Runnable)) continue;
      a.flags &= ~Flag.Runnable;
      a.reason = `colocation with ${reason.id}`;
      this.blockColocationDependents(a);
      this.enqueue(a);
      for (const e of a.after) this.enqueue(e.action);
    }
    // A collective that cannot start cannot start any of its instances either.
    for (const child of rsc.children) this.markStartBlocked(child, reason);
  }
}

function hasAllocation(rsc: SchedResource): boolean {
  if (rsc.variant === "primitive") return rsc.allocatedTo !== null;
  return rsc.children.some(hasAllocation);
}

/** After a forced unassignment, existing actions follow (pcmk__finalize_assignment with no node). */
function markUnassigned(rsc: SchedResource): void {
  if (rsc.children.length > 0) {
    for (const c of rsc.children) markUnassigned(c);
    return;
  }
  for (const a of rsc.actions) {
    if (a.task === "stop") a.flags &= ~Flag.Optional;
    else if (a.task === "start") a.flags &= ~Flag.Runnable;
    else if (a.intervalMs > 0) a.flags &= ~Flag.Runnable;
  }
}

function handleAsymmetric(first: Action, then: Action): void {
  if (!then.rsc || (first.flags & Flag.Runnable)) return;
  if (then.flags & Flag.Optional) {
    const role = resourceState(then.rsc, true);
    if (role === Role.Stopped && then.task === "stop") return;
    if (
      role >= Role.Started && then.task === "start" && then.rsc.runningOn.length === 1 &&
      then.rsc.runningOn[0] === then.node
    ) return;
  }
  then.flags &= ~Flag.Runnable;
  then.reason ??= `${describe(first)} cannot run`;
}

function handleRestart(first: Action, then: Action, filter: number): void {
  let reason: string | null = null;
  if ((filter & Flag.Optional) && !(then.flags & Flag.Optional)) reason = "restart";
  if (
    (filter & Flag.Runnable) && !(then.flags & Flag.Runnable) && then.rsc?.managed &&
    first.rsc === then.rsc
  ) reason = "stop";
  if (reason === null) return;
  if (first.flags & Flag.Runnable) first.flags &= ~Flag.Optional;
  if (!(then.flags & Flag.Optional)) first.flags &= ~Flag.Optional;
  if (!(first.flags & Flag.Optional) && !(first.flags & Flag.Runnable)) {
    then.flags &= ~Flag.Runnable;
    then.reason ??= `${describe(first)} cannot run`;
  }
}

function describe(action: Action): string {
  return action.rsc ? `${action.task} of ${action.rsc.id}` : action.uuid;
}

/** Whether `ancestor` is a parent (at any level) of `rsc` (is_parent). */
function isAncestor(ancestor: SchedResource, rsc: SchedResource): boolean {
  let p = rsc.parent;
  while (p) {
    if (p === ancestor) return true;
    p = p.parent;
  }
  return false;
}

/** The node an action counts as being on for orderings (a group's start: its node). */
function actionNodeForOrdering(action: Action): SchedNode | null {
  if (action.rsc && action.rsc.variant === "group" && action.task === "start") {
    return allocatedNode(action.rsc) ?? action.node;
  }
  return action.node;
}

const REMAP: Record<string, string> = {
  start: "running",
  stop: "stopped",
  promote: "promoted",
  demote: "demoted",
  running: "running",
  stopped: "stopped",
  promoted: "promoted",
  demoted: "demoted",
};

/** action_for_ordering: a collective's start means its "running" pseudo action, etc. */
function actionForOrdering(action: Action): Action {
  const rsc = action.rsc;
  if (!rsc || rsc.variant === "primitive" || action.intervalMs > 0) return action;
  const mapped = REMAP[action.task];
  if (!mapped) return action;
  const uuid = opKey(rsc.id, mapped);
  for (const a of rsc.actions) if (a.uuid === uuid) return a;
  return action;
}

/** get_complex_task: a primitive's "running" is its start, "stopped" its stop. */
function complexTask(rsc: SchedResource, task: string): string {
  if (rsc.variant !== "primitive") return task;
  switch (task) {
    case "running":
      return "start";
    case "stopped":
      return "stop";
    case "promoted":
      return "promote";
    case "demoted":
      return "demote";
  }
  return task;
}

function childTask(clone: SchedResource, task: string): string {
  return clone.children.length ? complexTask(clone.children[0], task) : task;
}

/** find_first_action(rsc->actions, NULL, task, node): the most recent match. */
function findFirstAction(
  rsc: SchedResource,
  task: string,
  node: SchedNode | null,
): Action | undefined {
  for (let i = rsc.actions.length - 1; i >= 0; i--) {
    const a = rsc.actions[i];
    if (a.task === task && (node === null || a.node === node)) return a;
  }
  return undefined;
}

function canInterleave(first: Action, then: Action): boolean {
  if (!first.rsc || !then.rsc || first.rsc === then.rsc) return false;
  if (first.rsc.variant !== "clone" || then.rsc.variant !== "clone") return false;
  const rsc = then.uuid.endsWith("_stop_0") || then.uuid.endsWith("_demote_0")
    ? first.rsc
    : then.rsc;
  return rsc.clone?.interleave ?? false;
}

/** Actions of a resource with this key (find_actions_by_task). */
function findActionsByTask(rsc: SchedResource, key: string): Action[] {
  const out: Action[] = [];
  for (const a of rsc.actions) if (a.uuid === key) out.push(a);
  return out;
}

/** The operation name inside an op key built for `rsc`. */
function taskOfKey(rsc: SchedResource, key: string): string {
  const body = key.startsWith(rsc.id + "_") ? key.slice(rsc.id.length + 1) : key;
  const i = body.lastIndexOf("_");
  return i < 0 ? body : body.slice(0, i);
}
