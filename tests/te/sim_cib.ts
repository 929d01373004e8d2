/**
 * CIB documents for the transition engine's tests and simulation: Dummy primitives
 * (each with a 10 s monitor), a fence device named `fence` when fencing is enabled,
 * location preferences, and per-node status written either compactly ("runs on") or
 * from a simulated LRM's operation history.
 *
 * @module
 */

import { type CibDocument, parseCibDocument } from "../../core/cib/schema/document.ts";
import type { OperationRecord } from "../../core/cib/schema/status.ts";

/** The id of the fence device resource when fencing is enabled. */
export const FENCE_DEVICE = "fence";
/** Interval of every Dummy resource's monitor. */
export const MONITOR_MS = 10_000;

/** The configuration part of a test CIB. */
export interface SimConfig {
  /** Node names. */
  nodes: string[];
  /** stonith-enabled (adds the fence device). */
  stonith: boolean;
  /** Dummy primitive ids. */
  resources: string[];
  /** Location preferences: resource -> node -> score. */
  prefer?: Record<string, Record<string, number>>;
  /** Bumped for every configuration change. */
  epoch?: number;
}

/** One node's status as the DC records it. */
export interface SimNodeStatus {
  /** In the agreed membership. */
  inMembership: boolean;
  /** `member` while up (or lost and unclean); `down` after a clean leave or a fence. */
  expected: "member" | "down";
  /** Operation history per resource. */
  history: Record<string, OperationRecord[]>;
  /** Fail counts per resource. */
  failures: Record<string, number>;
}

/** Builds and validates a CIB from a configuration and per-node status. */
export function simCib(config: SimConfig, status: Record<string, SimNodeStatus>): CibDocument {
  const resources: unknown[] = config.resources.map((id) => ({
    id,
    agent: "Dummy",
    operations: [{ name: "monitor", intervalMs: MONITOR_MS }],
  }));
  if (config.stonith) resources.unshift({ id: FENCE_DEVICE, agent: "stonith:fence_dummy" });
  const locations: unknown[] = [];
  for (const [rsc, scores] of Object.entries(config.prefer ?? {})) {
    for (const [node, score] of Object.entries(scores)) {
      locations.push({ id: `loc-${rsc}-${node}`, resource: rsc, node, score });
    }
  }
  const members = Object.values(status).filter((s) => s.inMembership).length;
  const nodes: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(status)) {
    const agentOf = (rsc: string) => (rsc === FENCE_DEVICE ? "stonith:fence_dummy" : "Dummy");
    nodes[name] = {
      inMembership: s.inMembership,
      online: s.inMembership,
      join: s.inMembership ? "member" : "down",
      expected: s.expected,
      resources: Object.fromEntries(
        Object.entries(s.history).map((
          [rsc, ops],
        ) => [rsc, { agent: agentOf(rsc), operations: ops }]),
      ),
      failures: Object.fromEntries(
        Object.entries(s.failures).map(([rsc, count]) => [rsc, { count }]),
      ),
    };
  }
  const doc = {
    version: { adminEpoch: 0, epoch: config.epoch ?? 0, numUpdates: 0 },
    config: {
      options: {
        stonithEnabled: config.stonith,
        stickiness: 50,
        migrationThreshold: 1_000_000,
      },
      nodes: config.nodes.map((name) => ({ name })),
      resources,
      constraints: { locations, colocations: [], orders: [] },
    },
    status: { haveQuorum: members * 2 > config.nodes.length, nodes },
  };
  const parsed = parseCibDocument(doc);
  if (!parsed.ok) throw new Error(`simulated CIB invalid:\n${parsed.errors.join("\n")}`);
  return parsed.cib;
}

/** A compact spec: every node a member, `running` recorded as successful starts. */
export interface CibOfSpec extends SimConfig {
  /** Resource id -> node it runs on. */
  running?: Record<string, string>;
}

/** A CIB with every node up and the given resources running. */
export function cibOf(spec: CibOfSpec): CibDocument {
  const status: Record<string, SimNodeStatus> = {};
  for (const n of spec.nodes) {
    status[n] = { inMembership: true, expected: "member", history: {}, failures: {} };
  }
  let callId = 0;
  for (const [rsc, node] of Object.entries(spec.running ?? {})) {
    status[node].history[rsc] = [{
      operation: "start",
      intervalMs: 0,
      callId: ++callId,
      rc: 0,
      expectedRc: 0,
      status: "done",
    }];
  }
  // Every other resource is known (probed) stopped everywhere, so no probes are planned.
  const all = spec.stonith ? [FENCE_DEVICE, ...spec.resources] : spec.resources;
  for (const n of spec.nodes) {
    for (const rsc of all) {
      status[n].history[rsc] ??= [{
        operation: "monitor",
        intervalMs: 0,
        callId: ++callId,
        rc: 7,
        expectedRc: 7,
        status: "done",
      }];
    }
  }
  return simCib(spec, status);
}
