/**
 * What-if changes to a CIB's status before scheduling, as crm_simulate's
 * --node-fail and --op-fail do: a node lost from the membership (unclean when
 * fencing is enabled), or an operation that returned an error.
 *
 * Pure: each function returns a new document and leaves its input alone.
 *
 * @example
 * ```ts
 * const lost = injectNodeFailure(cib, "n1");
 * const failed = injectOpFailure(lost, { resource: "web", operation: "monitor", node: "n2" });
 * ```
 * @module
 */

import type { CibDocument } from "../../cib/schema/document.ts";
import type { NodeStatus, OperationRecord } from "../../cib/schema/status.ts";
import { INFINITY } from "./scores.ts";

/** An operation result to inject. */
export interface OpFailure {
  /** Resource id as the status records it (clone instances: `child:0` or `child`). */
  resource: string;
  /** start, stop, monitor, ... */
  operation: string;
  node: string;
  /** Exit code (default 1, a generic error). */
  rc?: number;
  /** Interval of the operation; for monitors the first configured monitor's by default. */
  intervalMs?: number;
}

function emptyStatus(): NodeStatus {
  return {
    inMembership: true,
    online: true,
    join: "member",
    expected: "member",
    shutdown: 0,
    attributes: {},
    failures: {},
    resources: {},
  };
}

/** Marks a node as lost: out of the membership, controller down, expected up. */
export function injectNodeFailure(cib: CibDocument, node: string): CibDocument {
  if (!cib.config.nodes.some((n) => n.name === node)) throw new Error(`no node "${node}"`);
  const status = structuredClone(cib.status);
  const state = status.nodes[node] ?? emptyStatus();
  status.nodes[node] = {
    ...state,
    inMembership: false,
    online: false,
    join: "down",
    expected: "member",
  };
  return { ...cib, status };
}

/** Parses `RSC:OP:NODE[=RC]` (the resource id may itself contain ':'). */
export function parseOpFailure(spec: string): OpFailure {
  let text = spec;
  let rc: number | undefined;
  const eq = text.lastIndexOf("=");
  if (eq >= 0) {
    rc = Number(text.slice(eq + 1));
    if (!Number.isInteger(rc)) throw new Error(`--op-fail ${spec}: rc must be an integer`);
    text = text.slice(0, eq);
  }
  const parts = text.split(":");
  if (parts.length < 3) throw new Error(`--op-fail ${spec}: expected RSC:OP:NODE`);
  const node = parts.pop()!;
  const operation = parts.pop()!;
  const resource = parts.join(":");
  if (!resource || !operation || !node) throw new Error(`--op-fail ${spec}: expected RSC:OP:NODE`);
  return rc === undefined ? { resource, operation, node } : { resource, operation, node, rc };
}

/** Records a failed operation result (and its fail count) in the status section. */
export function injectOpFailure(cib: CibDocument, failure: OpFailure, nowSeconds = 0): CibDocument {
  if (!cib.config.nodes.some((n) => n.name === failure.node)) {
    throw new Error(`no node "${failure.node}"`);
  }
  const status = structuredClone(cib.status);
  const state = status.nodes[failure.node] ?? emptyStatus();
  status.nodes[failure.node] = state;
  const history = state.resources[failure.resource] ??
    { agent: agentOf(cib, failure.resource), operations: [] };
  state.resources[failure.resource] = history;
  let maxCall = 0;
  for (const s of Object.values(status.nodes)) {
    for (const h of Object.values(s.resources)) {
      for (const op of h.operations) maxCall = Math.max(maxCall, op.callId);
    }
  }
  const intervalMs = failure.intervalMs ??
    (failure.operation === "monitor" ? monitorInterval(cib, failure.resource) : 0);
  const record: OperationRecord = {
    operation: failure.operation,
    intervalMs,
    callId: maxCall + 1,
    rc: failure.rc ?? 1,
    expectedRc: 0,
    status: "done",
    lastRcChange: nowSeconds || undefined,
  };
  history.operations = [...history.operations, record];
  const fatal = failure.operation === "start" && cib.config.options.startFailureIsFatal;
  const previous = state.failures[failure.resource]?.count ?? 0;
  state.failures[failure.resource] = {
    count: fatal ? INFINITY : Math.min(INFINITY, previous + 1),
    lastFailure: nowSeconds || undefined,
  };
  return { ...cib, status };
}

function baseId(id: string): string {
  return id.replace(/:\d+$/, "");
}

function findPrimitive(cib: CibDocument, id: string) {
  const base = baseId(id);
  for (const r of cib.config.resources) {
    const candidates = r.kind === "primitive"
      ? [r]
      : r.kind === "group"
      ? r.members
      : r.resource.kind === "primitive"
      ? [r.resource]
      : r.resource.members;
    for (const p of candidates) if (p.id === base) return p;
  }
  return undefined;
}

function agentOf(cib: CibDocument, id: string): string {
  return findPrimitive(cib, id)?.agent ?? "unknown";
}

function monitorInterval(cib: CibDocument, id: string): number {
  const p = findPrimitive(cib, id);
  const mon = p?.operations.find((o) => o.name === "monitor" && o.intervalMs > 0);
  return mon?.intervalMs ?? 0;
}
