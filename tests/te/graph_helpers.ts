/**
 * Helpers for the graph transition engine's tests: compact graph builders and an
 * engine with invariant checks on.
 *
 * @module
 */

import type { GraphAction } from "../../core/pe/scheduler/graph.ts";
import {
  type GraphDispatch,
  type GraphEngineOptions,
  GraphTransitionEngine,
  type OperationDispatch,
} from "../../core/te/graph_engine.ts";

/** Re-send interval of {@link engine}. */
export const RESEND_MS = 100;
/** Operation deadline of {@link engine}. */
export const OP_TIMEOUT_MS = 1_000;
/** Fence deadline of {@link engine}. */
export const FENCE_TIMEOUT_MS = 5_000;

/** An engine with short timings and every invariant checked after each event. */
export function engine(extra: Partial<GraphEngineOptions> = {}): GraphTransitionEngine {
  return new GraphTransitionEngine({
    resendMs: RESEND_MS,
    operationTimeoutMs: () => OP_TIMEOUT_MS,
    fenceTimeoutMs: () => FENCE_TIMEOUT_MS,
    checkInvariants: true,
    ...extra,
  });
}

/** A resource action `RSC_TASK_0` on `node`. */
export function op(
  id: number,
  task: string,
  resource: string,
  node: string,
  inputs: number[] = [],
): GraphAction {
  return { id, key: `${resource}_${task}_0`, type: "resource", task, resource, node, inputs };
}

/** A pseudo action. */
export function pseudo(id: number, key: string, inputs: number[] = []): GraphAction {
  return { id, key, type: "pseudo", task: key, inputs };
}

/** A fence action of `node`. */
export function fence(id: number, node: string, inputs: number[] = []): GraphAction {
  return {
    id,
    key: `stonith-${node}-reboot`,
    type: "fence",
    task: "stonith",
    node,
    fenceAction: "reboot",
    inputs,
  };
}

/** A probe of `resources` on `node`. */
export function probe(id: number, node: string, resources: string[]): GraphAction {
  return { id, key: `probe-${node}`, type: "probe", task: "probe", node, resources, inputs: [] };
}

/** The operation dispatches, as `task rsc@node` (resends marked with a trailing `*`). */
export function ops(out: GraphDispatch[]): string[] {
  return out.flatMap((d) =>
    d.kind === "operation" ? [`${d.operation} ${d.resource}@${d.node}${d.resend ? "*" : ""}`] : []
  );
}

/** The operation dispatches themselves. */
export function opDispatches(out: GraphDispatch[]): OperationDispatch[] {
  return out.flatMap((d) => (d.kind === "operation" ? [d] : []));
}

/** The op id of the (only) operation dispatch for `actionId` in `out`. */
export function opIdOf(out: GraphDispatch[], actionId: number): string {
  const found = opDispatches(out).filter((d) => d.actionId === actionId && !d.resend);
  if (found.length !== 1) throw new Error(`expected one dispatch of ${actionId}: ${found.length}`);
  return found[0].opId;
}
