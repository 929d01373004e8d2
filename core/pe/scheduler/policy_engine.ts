/**
 * The policy engine: a pure function from a CIB document to a placement, a
 * transition graph, the nodes to fence and a transition summary, with Pacemaker
 * 2.1's semantics (scores with ±INFINITY, location rules, colocation,
 * ordering, groups, clones, stickiness, failures and migration-threshold,
 * standby, quorum policy, fencing before recovery).
 *
 * Stages, each in its own module: unpack (status -> current state), constraints,
 * node criteria (stickiness, failure bans), internal constraints (groups,
 * clones), assignment, actions, fencing, orderings, graph.
 *
 * @example
 * ```ts
 * const result = schedule(cib);
 * result.placement["web"]; // { role: "Started", nodes: ["n2"] }
 * result.summary;          // ["Move       web ( n1 -> n2 )"]
 * ```
 * @module
 */

import type { CibDocument } from "../../cib/schema/document.ts";
import { Flag, type SchedResource } from "./model.ts";
import { unpackCib } from "./unpack.ts";
import { applyLocations, unpackConstraints } from "./constraints.ts";
import { allocateResources, applyNodeCriteria } from "./allocate.ts";
import { createResourceActions, internalConstraints, scheduleProbes } from "./actions.ts";
import { scheduleFencingAndShutdowns } from "./fencing.ts";
import { applyOrderings } from "./ordering.ts";
import { buildGraph, type GraphAction, inGraph, revisedPlacement } from "./graph.ts";
import { type SummaryLine, transitionSummary } from "./summary.ts";
import { explainResources, type Explanation } from "./explain.ts";
import type { WorkingSet } from "./working_set.ts";

export type { Explanation } from "./explain.ts";
export type { GraphAction } from "./graph.ts";
export type { SummaryLine } from "./summary.ts";

/** Options of one scheduler run. */
export interface ScheduleOptions {
  /** "Now" in ms since the epoch (failure timeouts, expiring constraints); default: the CIB's executionDate. */
  now?: number;
  /** Also explain every resource's placement (costs a little more). */
  explain?: boolean;
  /** Leave probes out of the graph (they do not change placement). */
  probes?: boolean;
  /** Fencing can be carried out without a fence device in the CIB (a configured driver). */
  fencingAvailable?: boolean;
}

/** Where a primitive (or clone instance) is after the transition. */
export interface PlacementEntry {
  /** Started (or Promoted/Unpromoted for promotable clones), or Stopped. */
  role: "Started" | "Stopped" | "Promoted" | "Unpromoted";
  /** Nodes it is active on (several only for a resource active in more than one place). */
  nodes: string[];
}

/** The policy engine's answer. */
export interface ScheduleResult {
  /** Per primitive id (clone instances as `id:N`): role and nodes after the transition. */
  placement: Record<string, PlacementEntry>;
  /** The transition graph: required, runnable actions with their inputs. */
  actions: GraphAction[];
  /** Nodes fenced (reboot/off) by the transition, sorted. */
  fence: string[];
  /** Transition summary lines (Fence/Start/Stop/Move/Recover/Restart). */
  summary: string[];
  /** The same lines, structured. */
  changes: SummaryLine[];
  /** Per-primitive explanations (with `explain: true`). */
  explanations?: Explanation[];
  /** Things the engine noticed and worked around (unknown nodes, unusable constraints). */
  warnings: string[];
}

/** Runs the scheduler stages and returns the working set (for tests and tools). */
export function runScheduler(cib: CibDocument, opts: ScheduleOptions = {}): WorkingSet {
  const ws = unpackCib(cib, {
    now: opts.now,
    ...(opts.fencingAvailable ? { fencingAvailable: true } : {}),
  });
  ws.keepAssignScores = opts.explain === true;
  unpackConstraints(ws, cib);
  applyLocations(ws);
  applyNodeCriteria(ws);
  for (const rsc of ws.resources) internalConstraints(ws, rsc);
  allocateResources(ws);
  for (const rsc of ws.resources) createResourceActions(ws, rsc);
  if (opts.probes !== false) scheduleProbes(ws);
  scheduleFencingAndShutdowns(ws);
  applyOrderings(ws);
  return ws;
}

/** Computes placement, graph, fencing and summary for a CIB (a pure function). */
export function schedule(cib: CibDocument, opts: ScheduleOptions = {}): ScheduleResult {
  const ws = runScheduler(cib, opts);
  const revised = revisedPlacement(ws);
  const placement: Record<string, PlacementEntry> = {};
  for (const [rsc, nodes] of revised.nodes) {
    placement[rsc.id] = { role: nodes.length > 0 ? roleName(rsc) : "Stopped", nodes: nodes.sort() };
  }
  const fenceActions = ws.actions.filter((a) =>
    a.task === "stonith" && inGraph(a) && a.fenceAction !== "on"
  );
  const changes = transitionSummary(ws, fenceActions);
  const result: ScheduleResult = {
    placement,
    actions: buildGraph(ws),
    fence: revised.fenced.sort(),
    summary: changes.map((c) => c.text),
    changes,
    warnings: ws.warnings.slice(),
  };
  if (opts.explain) result.explanations = explainResources(ws, revised.nodes);
  return result;
}

function roleName(rsc: SchedResource): PlacementEntry["role"] {
  let top = rsc;
  while (top.parent) top = top.parent;
  if (top.clone?.promotable) return "Unpromoted";
  return "Started";
}

/** Flags re-exported for tools that inspect actions. */
export { Flag };
