/**
 * Compact CIB documents for scheduler tests: nodes online by default,
 * fencing off, quorum on, and resource state written as "where it runs"
 * instead of operation histories.
 *
 * @example
 * ```ts
 * const cib = buildCib({
 *   resources: [{ id: "web", agent: "Dummy" }],
 *   running: { web: "n1" },
 * });
 * ```
 * @module
 */

import { type CibDocument, parseCibDocument } from "../../core/cib/schema/document.ts";
import { schedule, type ScheduleResult } from "../../core/pe/scheduler/policy_engine.ts";

/** One recorded operation, compactly. */
export interface OpSpec {
  op: string;
  rc?: number;
  /** Expected rc (default 0, or 7 for a probe). */
  expected?: number;
  intervalMs?: number;
  status?: string;
}

/** What a test CIB contains. */
export interface CibSpec {
  /** Node names or node objects (default n1, n2, n3). */
  nodes?: Array<string | Record<string, unknown>>;
  resources?: unknown[];
  locations?: unknown[];
  colocations?: unknown[];
  orders?: unknown[];
  /** Cluster options (stonithEnabled false, stickiness 0, migrationThreshold INFINITY by default). */
  options?: Record<string, unknown>;
  /** Whether the partition has quorum (default true). */
  quorum?: boolean;
  /** Nodes that are up (default: all). Others are recorded as cleanly down. */
  online?: string[];
  /** Per node, status overrides (membership flags, attributes, shutdown). */
  nodeState?: Record<string, Record<string, unknown>>;
  /** Resource id -> node(s) it runs on (recorded as a successful start). */
  running?: Record<string, string | string[]>;
  /** Per node, per resource, an operation history (call ids are assigned in order). */
  history?: Record<string, Record<string, OpSpec[]>>;
  /** Per node, per resource, a fail count. */
  failures?: Record<string, Record<string, number>>;
  /** The DC's name. */
  dc?: string;
}

/** Builds and validates a CIB document. */
export function buildCib(spec: CibSpec): CibDocument {
  const nodes = (spec.nodes ?? ["n1", "n2", "n3"]).map((n) =>
    typeof n === "string" ? { name: n } : n
  );
  const names = nodes.map((n) => String(n.name));
  const online = new Set(spec.online ?? names);
  let call = 0;
  const status: Record<string, Record<string, unknown>> = {};
  for (const name of names) {
    const up = online.has(name);
    status[name] = {
      inMembership: up,
      online: up,
      join: up ? "member" : "down",
      expected: up ? "member" : "down",
      resources: {} as Record<string, { agent: string; operations: unknown[] }>,
      failures: {} as Record<string, { count: number }>,
      ...(spec.nodeState?.[name] ?? {}),
    };
  }
  const addOp = (node: string, rsc: string, o: OpSpec) => {
    const st = status[node];
    if (!st) throw new Error(`no node ${node}`);
    const res = st.resources as Record<string, { agent: string; operations: unknown[] }>;
    res[rsc] ??= { agent: "Dummy", operations: [] };
    const isProbe = o.op === "monitor" && (o.intervalMs ?? 0) === 0;
    res[rsc].operations.push({
      operation: o.op,
      intervalMs: o.intervalMs ?? 0,
      callId: ++call,
      rc: o.rc ?? 0,
      expectedRc: o.expected ?? (isProbe ? 7 : 0),
      status: o.status ?? "done",
    });
  };
  for (const [rsc, where] of Object.entries(spec.running ?? {})) {
    for (const node of Array.isArray(where) ? where : [where]) addOp(node, rsc, { op: "start" });
  }
  for (const [node, byRsc] of Object.entries(spec.history ?? {})) {
    for (const [rsc, ops] of Object.entries(byRsc)) for (const o of ops) addOp(node, rsc, o);
  }
  for (const [node, byRsc] of Object.entries(spec.failures ?? {})) {
    const f = status[node].failures as Record<string, { count: number }>;
    for (const [rsc, count] of Object.entries(byRsc)) f[rsc] = { count };
  }
  const doc = {
    config: {
      options: {
        stonithEnabled: false,
        stickiness: 0,
        migrationThreshold: 1_000_000,
        ...spec.options,
      },
      nodes,
      resources: spec.resources ?? [],
      constraints: {
        locations: spec.locations ?? [],
        colocations: spec.colocations ?? [],
        orders: spec.orders ?? [],
      },
    },
    status: {
      haveQuorum: spec.quorum ?? true,
      ...(spec.dc ? { dc: spec.dc } : {}),
      nodes: status,
    },
  };
  const parsed = parseCibDocument(doc);
  if (!parsed.ok) throw new Error(`test CIB invalid:\n${parsed.errors.join("\n")}`);
  return parsed.cib;
}

/** Schedules a spec and returns the result. */
export function run(spec: CibSpec): ScheduleResult {
  return schedule(buildCib(spec));
}

/** Where a primitive ends up: its nodes joined by "," or "stopped". */
export function where(result: ScheduleResult, id: string): string {
  const p = result.placement[id];
  if (!p) throw new Error(`no placement for ${id}: ${Object.keys(result.placement).join(", ")}`);
  return p.nodes.length ? p.nodes.join(",") : "stopped";
}

/** Nodes running instances of a clone's primitive (`base:N` entries), sorted. */
export function instancesOn(result: ScheduleResult, base: string): string[] {
  const out: string[] = [];
  for (const [id, p] of Object.entries(result.placement)) {
    if (id.replace(/:\d+$/, "") === base) out.push(...p.nodes);
  }
  return out.sort();
}

/** Primitive resource spec. */
export function prim(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id, agent: "Dummy", ...extra };
}

/** Location constraint spec: `resource` prefers (or, negative, avoids) `node` by `score`. */
export function loc(
  id: string,
  resource: string,
  node: string,
  score: number | string,
): Record<string, unknown> {
  return { id, resource, node, score };
}
