/**
 * The DC's input to the policy engine (core/pe/scheduler): the replicated CIB's
 * configuration plus a status section rebuilt from what the nodes' LRMs reported, and
 * the DC's own facts that are not configuration (merge-yield bans, ping connectivity,
 * quorum, expired moves) added to this copy only, never to the replicated CIB.
 *
 * Per configured node:
 * - a member of the agreed membership: in membership, online, joined, expected up, with
 *   its reported operation history and fail counts;
 * - a node that left without a clean shutdown and was not fenced since: out of the
 *   membership but expected up, with its last known history (with fencing enabled the
 *   policy engine fences it before recovering its resources; without, Pacemaker's
 *   stonith-enabled=false semantics apply: it is taken as down);
 * - a node never seen, shut down cleanly, or fenced: down as expected, no history.
 *
 * @example
 * ```ts
 * const cib = buildSchedulerInput({ doc, wallNow: Date.now(), dc: "n1", quorate: true,
 *   quorumPending: false, nodes: { n1: { member: true, report, cleanlyDown: false } },
 *   bans: [], nodeScores: {} });
 * schedule(cib, { now: Date.now() });
 * ```
 * @module
 */

import { expireMoves } from "../cib/cib_update.ts";
import type { CibDocument } from "../cib/schema/document.ts";
import type { LocationConstraint } from "../cib/schema/constraints.ts";
import type { Primitive, Resource } from "../cib/schema/resources.ts";
import type { NodeStatus, OperationRecord } from "../cib/schema/status.ts";
import { INFINITY } from "../score.ts";
import type { LrmReport, ReportedResource } from "./lrm_report.ts";

/** What the DC knows of one configured node. */
export interface NodeFacts {
  /** In the agreed membership. */
  member: boolean;
  /** Its LRM report: current for members, the last one heard for others (null: none). */
  report: LrmReport | null;
  /** It shut down cleanly or was fenced since it left: down as expected, nothing runs there. */
  cleanlyDown: boolean;
}

/** A resource that may not run on a node now (a node yielding it to merge with a peer). */
export interface InputBan {
  /** Resource (or clone instance) id. */
  resource: string;
  /** The node. */
  node: string;
}

/** Everything {@link buildSchedulerInput} needs. */
export interface SchedulerInputOptions {
  /** The replicated CIB. */
  doc: CibDocument;
  /** Wall-clock ms (moves expire, failure timeouts count from it). */
  wallNow: number;
  /** The DC. */
  dc: string;
  /** Facts per configured node (nodes missing here are taken as never seen). */
  nodes: Record<string, NodeFacts>;
  /** The partition has quorum. */
  quorate: boolean;
  /** Quorum waits for a fresh quorum-device reading: freeze, change nothing. */
  quorumPending: boolean;
  /** Merge-yield bans (-INFINITY for the resource on that node). */
  bans: readonly InputBan[];
  /** Connectivity score per node (ping devices), added for every resource. */
  nodeScores: Readonly<Record<string, number>>;
}

/** Prefix of the location constraints this module adds to the input copy. */
export const INPUT_CONSTRAINT_PREFIX = "vigil-dc-";

/** The scheduler's input: the configuration (moves expired) with status and the DC's facts. */
export function buildSchedulerInput(o: SchedulerInputOptions): CibDocument {
  const live = expireMoves(o.doc, o.wallNow);
  const config = live.config;
  const monitors = new Map(cibPrimitives(config.resources).map((p) => [p.id, p.monitorMs]));
  const topIds = new Set(config.resources.map((r) => r.id));
  const nodes: Record<string, NodeStatus> = {};
  for (const n of config.nodes) {
    const facts = o.nodes[n.name];
    const report = facts && !facts.cleanlyDown ? facts.report : null;
    const upExpected = !!facts && (facts.member || (!facts.cleanlyDown && report !== null));
    const status: NodeStatus = {
      inMembership: !!facts?.member,
      online: !!facts?.member,
      join: facts?.member ? "member" : "down",
      expected: upExpected ? "member" : "down",
      shutdown: 0,
      attributes: {},
      failures: {},
      resources: {},
    };
    for (const [id, r] of Object.entries(report ?? {})) {
      const ops = historyRecords(r, monitors.get(baseId(id)) ?? 0);
      if (ops.length > 0) status.resources[id] = { agent: r.agent, operations: ops };
      if (r.failCount > 0) {
        status.failures[id] = {
          count: r.failCount,
          ...(r.lastFailure !== null ? { lastFailure: r.lastFailure } : {}),
        };
      }
    }
    nodes[n.name] = status;
  }
  const extra: LocationConstraint[] = [];
  const nodeNames = new Set(config.nodes.map((n) => n.name));
  for (const b of o.bans) {
    const rsc = topIds.has(b.resource) ? b.resource : topOf(config.resources, baseId(b.resource));
    if (rsc === undefined || !nodeNames.has(b.node)) continue;
    extra.push(
      location(`${INPUT_CONSTRAINT_PREFIX}yield-${rsc}-${b.node}`, rsc, b.node, -INFINITY),
    );
  }
  for (const [node, score] of Object.entries(o.nodeScores)) {
    if (score === 0 || !nodeNames.has(node)) continue;
    for (const r of config.resources) {
      extra.push(location(`${INPUT_CONSTRAINT_PREFIX}ping-${r.id}-${node}`, r.id, node, score));
    }
  }
  const options = o.quorumPending
    ? { ...config.options, noQuorumPolicy: "freeze" as const }
    : config.options;
  return {
    version: live.version,
    config: {
      ...config,
      options,
      constraints: {
        ...config.constraints,
        locations: [...config.constraints.locations, ...dedupe(extra)],
      },
    },
    status: {
      haveQuorum: o.quorate && !o.quorumPending,
      dc: o.dc,
      executionDate: Math.max(0, Math.floor(o.wallNow / 1000)),
      nodes,
    },
  };
}

/**
 * One resource's operation history for the scheduler, from a node's report:
 * - probes (monitor, interval 0) expect "not running" (7), everything else 0;
 * - a recurring monitor's record older than the last start or stop is dropped (the
 *   LRM cancelled it then, as Pacemaker deletes it);
 * - a recurring monitor the LRM runs without a result since the last start is added as
 *   active (rc 0) at the configured interval, so the scheduler does not ask for it again;
 * - a start or stop accepted and not finished is a pending record, last; a resource whose
 *   stop is pending counts as active until the stop ends.
 */
export function historyRecords(
  r: ReportedResource,
  configuredMonitorMs: number,
): OperationRecord[] {
  let lastStartStop = -1;
  let lastRunning = -1;
  for (const [action, intervalMs, rc, callId] of r.ops) {
    if (action === "start" || action === "stop") lastStartStop = Math.max(lastStartStop, callId);
    if (
      (action === "start" && rc === 0) || (action === "monitor" && intervalMs === 0 && rc === 0)
    ) {
      lastRunning = Math.max(lastRunning, callId);
    }
  }
  const out: OperationRecord[] = [];
  let maxCall = 0;
  let activeRecurring = false;
  for (const [action, intervalMs, rc, callId, status] of r.ops) {
    if (intervalMs > 0 && callId < lastStartStop) continue;
    // A recurring result since it was last found running (a failure too) speaks for itself.
    if (intervalMs > 0 && callId > lastRunning) activeRecurring = true;
    maxCall = Math.max(maxCall, callId);
    out.push({
      id: `${action}_${intervalMs}`,
      operation: action,
      intervalMs,
      callId,
      rc,
      expectedRc: action === "monitor" && intervalMs === 0 ? 7 : 0,
      status: STATUS[status] ?? "error",
    });
  }
  out.sort((a, b) => a.callId - b.callId);
  const last = out.filter((x) => x.intervalMs === 0).at(-1);
  const running = last !== undefined && last.rc === 0 &&
    (last.operation === "start" || last.operation === "monitor");
  if (
    running && r.pending === null && !activeRecurring && configuredMonitorMs > 0 &&
    r.monitorMs > 0
  ) {
    // After the start (equal call ids would sort before it).
    out.push({
      id: `monitor_${configuredMonitorMs}`,
      operation: "monitor",
      intervalMs: configuredMonitorMs,
      callId: maxCall + 1,
      rc: 0,
      expectedRc: 0,
      status: "done",
    });
  }
  if (r.pending === "stop") {
    // Active until the stop ends: a probe that found it running keeps the scheduler from
    // starting it elsewhere meanwhile (it plans a stop here first, which waits its turn).
    out.push({
      id: "stop_pending_active",
      operation: "monitor",
      intervalMs: 0,
      callId: maxCall + 1,
      rc: 0,
      expectedRc: 7,
      status: "done",
    });
  }
  if (r.pending !== null) {
    out.push({
      id: `${r.pending}_pending`,
      operation: r.pending,
      intervalMs: 0,
      callId: -1,
      rc: 0,
      expectedRc: 0,
      status: "pending",
    });
  }
  return out;
}

const STATUS: Record<string, OperationRecord["status"]> = {
  done: "done",
  timeout: "timeout",
  error: "error",
  "invalid-params": "invalid",
  unsupported: "not-supported",
};

/** A primitive as the node runs it: agent, parameters, recurring monitor. */
export interface PrimitiveInfo {
  /** Primitive id (a clone's primitive: its own id; instances are `id:N`). */
  id: string;
  /** Agent name. */
  agent: string;
  /** Agent parameters. */
  params: Record<string, unknown>;
  /** Interval of its recurring monitor (Started role), ms (0: none). */
  monitorMs: number;
}

/** Every primitive of the configuration: top-level, group members, clones' primitives. */
export function cibPrimitives(resources: readonly Resource[]): PrimitiveInfo[] {
  const out: PrimitiveInfo[] = [];
  const visit = (r: Resource) => {
    if (r.kind === "primitive") out.push(primitiveInfo(r));
    else if (r.kind === "group") r.members.forEach(visit);
    else if (r.kind === "clone") visit(r.resource);
  };
  resources.forEach(visit);
  return out;
}

/** The primitive behind a resource id or clone instance id (`web:2`), if any. */
export function findPrimitive(
  resources: readonly Resource[],
  id: string,
): PrimitiveInfo | undefined {
  const all = cibPrimitives(resources);
  return all.find((p) => p.id === id) ?? all.find((p) => p.id === baseId(id));
}

function primitiveInfo(p: Primitive): PrimitiveInfo {
  const monitor = p.operations.find((o) =>
    o.name === "monitor" && o.enabled && o.intervalMs > 0 &&
    (o.role === undefined || o.role === "Started")
  );
  return { id: p.id, agent: p.agent, params: { ...p.params }, monitorMs: monitor?.intervalMs ?? 0 };
}

/** A clone instance's id without its `:N` suffix. */
export function baseId(id: string): string {
  const i = id.lastIndexOf(":");
  return i > 0 && /^\d+$/.test(id.slice(i + 1)) ? id.slice(0, i) : id;
}

/** The top-level resource containing primitive `id`. */
function topOf(resources: readonly Resource[], id: string): string | undefined {
  const contains = (r: Resource): boolean =>
    r.id === id ||
    (r.kind === "group" && r.members.some(contains)) ||
    (r.kind === "clone" && contains(r.resource));
  return resources.find(contains)?.id;
}

function location(id: string, resource: string, node: string, score: number): LocationConstraint {
  return { id, resource, node, score, rules: [], resourceDiscovery: "always" };
}

function dedupe(list: LocationConstraint[]): LocationConstraint[] {
  const seen = new Set<string>();
  return list.filter((c) => !seen.has(c.id) && seen.add(c.id));
}
