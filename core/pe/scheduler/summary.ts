/**
 * The transition summary, one line per change, in the spirit of Pacemaker's
 * "Transition Summary": `Fence (reboot) n3 'peer is no longer part of the
 * cluster'`, `Start web ( n1 )`, `Stop db ( n2 ) due to node availability`,
 * `Move ip ( n1 -> n2 )`, `Recover web ( n1 )`, `Restart app ( n1 ) due to
 * required db start`. A change that cannot happen is marked `blocked`.
 *
 * @module
 */

import { type Action, Flag, Role, type SchedNode, type SchedResource } from "./model.ts";
import { currentNode, type WorkingSet } from "./working_set.ts";
import { sortedByName } from "./actions.ts";

/** One line of the transition summary, structured. */
export interface SummaryLine {
  /** Start, Stop, Move, Recover, Restart, or Fence. */
  verb: "Start" | "Stop" | "Move" | "Recover" | "Restart" | "Fence";
  /** Resource id (absent for Fence). */
  resource?: string;
  /** Node it leaves / runs on / is fenced. */
  from?: string;
  /** Node it goes to. */
  to?: string;
  /** Why, when known. */
  reason?: string;
  /** The change cannot happen in this transition. */
  blocked: boolean;
  /** Fence action (reboot/off). */
  fenceAction?: string;
  /** The line as printed. */
  text: string;
}

function resourceActions(rsc: SchedResource, node: SchedNode | null, task: string): Action[] {
  return rsc.actions.filter((a) => a.task === task && (node === null || a.node === node));
}

function isOptional(a: Action | undefined): boolean {
  return a === undefined || (a.flags & Flag.Optional) !== 0;
}

function isRunnable(a: Action | undefined): boolean {
  return a !== undefined && (a.flags & Flag.Runnable) !== 0;
}

function line(
  verb: SummaryLine["verb"],
  rsc: SchedResource,
  from: SchedNode | null,
  to: SchedNode | null,
  action: Action | undefined,
  reasonAction?: Action,
): SummaryLine {
  const blocked = action !== undefined && !isRunnable(action) && verb !== "Stop"
    ? true
    : verb === "Stop" && action !== undefined && !isRunnable(action);
  const reason = (reasonAction ?? action)?.reason;
  let where: string;
  if (verb === "Move" || (verb === "Recover" && from && to && from !== to)) {
    where = `${from?.name ?? "?"} -> ${to?.name ?? "?"}`;
  } else {
    where = (from ?? to)?.name ?? "?";
  }
  let text = `${verb.padEnd(10)} ${rsc.id.padEnd(20)} ( ${where} )`;
  // Pacemaker's wording: "due to R (blocked)", or a bare "blocked".
  if (reason) text += `  due to ${reason}${blocked ? " (blocked)" : ""}`;
  else if (blocked) text += "  blocked";
  const out: SummaryLine = { verb, resource: rsc.id, blocked, text };
  if (from) out.from = from.name;
  if (to && (verb === "Start" || verb === "Move" || verb === "Recover")) out.to = to.name;
  if (reason) out.reason = reason;
  return out;
}

/** The summary lines for one primitive (rsc_action_default). */
function primitiveLines(rsc: SchedResource): SummaryLine[] {
  const out: SummaryLine[] = [];
  const next = rsc.allocatedTo;
  let current: SchedNode | null = null;
  let role = rsc.role;
  if (rsc.runningOn.length > 0) {
    current = currentNode(rsc);
    if (role === Role.Stopped) role = Role.Started;
  }
  if (current === null && rsc.orphan) return out;
  if (!rsc.managed || (current === null && next === null)) return out;
  const moving = current !== null && next !== null && current !== next;
  const start = resourceActions(rsc, next, "start")[0];
  const startNode = start && isRunnable(start) ? current : null;
  let stop = resourceActions(rsc, startNode, "stop")[0];
  if (!stop && rsc.multipleActive === "stop_unexpected") {
    stop = resourceActions(rsc, null, "stop")[0];
  }
  if (role === rsc.nextRole) {
    if (!start || isOptional(start)) return out;
    if (!isRunnable(start)) {
      out.push(line("Stop", rsc, current, null, stop, stop?.reason ? stop : start));
    } else if (moving && current) {
      out.push(line(rsc.failed ? "Recover" : "Move", rsc, current, next, stop));
    } else if (rsc.failed) {
      out.push(line("Recover", rsc, current, null, stop));
    } else {
      out.push(line("Restart", rsc, current, next, start));
    }
    return out;
  }
  if (stop && (rsc.nextRole === Role.Stopped || (start && !isRunnable(start)))) {
    for (const node of rsc.runningOn) {
      const stopOp = resourceActions(rsc, node, "stop")[0];
      out.push(line("Stop", rsc, node, null, stopOp, stopOp?.reason ? stopOp : start));
    }
  } else if (stop && rsc.failed && rsc.stopNeeded) {
    out.push(line("Recover", rsc, current, next, stop, start));
  } else if (moving) {
    out.push(line("Move", rsc, current, next, stop));
  } else if (start && !isOptional(start)) {
    out.push(line("Start", rsc, null, next, start));
  }
  return out;
}

/** The transition summary: fencing first, then resource changes in resource order. */
export function transitionSummary(ws: WorkingSet, fencedActions: readonly Action[]): SummaryLine[] {
  const out: SummaryLine[] = [];
  const byNode = new Map(fencedActions.map((a) => [a.node!.name, a]));
  for (const node of sortedByName(ws.nodes).reverse()) {
    const a = byNode.get(node.name);
    if (!a) continue;
    const reason = a.reason ?? node.fenceReason ?? "node is unclean";
    out.push({
      verb: "Fence",
      from: node.name,
      reason,
      blocked: false,
      fenceAction: a.fenceAction,
      text: `Fence (${a.fenceAction ?? "reboot"}) ${node.name} '${reason}'`,
    });
  }
  const visit = (rsc: SchedResource) => {
    if (rsc.variant === "primitive") out.push(...primitiveLines(rsc));
    else for (const c of rsc.children) visit(c);
  };
  for (const rsc of ws.resources) visit(rsc);
  return out;
}
