/**
 * The bridge from the CIB document (core/cib/schema) to the input of the
 * walking-skeleton policy engine (core/pe/policy_engine.ts), which the node
 * still runs until the new scheduler takes over.
 *
 * What carries over: top-level primitives (agent, parameters, the recurring
 * monitor's interval, meta stickiness), location constraints with a node and a
 * score that have not expired (moves made by `vigil resource move` are such
 * constraints, with score INFINITY), target-role Stopped (a ban on every node,
 * so the resource is stopped), node priority, votes and standby, and the
 * cluster options stickiness, no-quorum-policy and migration-threshold.
 *
 * What the running engine does not schedule yet (groups, clones, colocations,
 * orders, rule-based or role-specific locations, ...) stays in the CIB and is
 * listed in `ignored`, so the node can say so once per CIB version.
 *
 * @example
 * ```ts
 * const { config, bans, ignored } = legacyPolicyConfig(doc, Date.now());
 * computeTransition({ config, members, quorate, status, bans });
 * ```
 * @module
 */

import type { CibConfig, ClusterOptions, ResourceConfig } from "../cib/cib.ts";
import { expireMoves } from "../cib/cib_update.ts";
import type { CibDocument } from "../cib/schema/document.ts";
import type { Primitive } from "../cib/schema/resources.ts";
import { addScores } from "../score.ts";

/** The old engine's input built from a document, and what it leaves out. */
export interface LegacyPolicyConfig {
  /** The configuration section the old policy engine reads. */
  config: CibConfig;
  /** Per resource, per node: why it may not run there (target-role Stopped). */
  bans: Record<string, Record<string, string>>;
  /** One line per configured item the running engine does not act on. */
  ignored: string[];
  /**
   * The earliest expiry (wall-clock ms) of a location constraint still in force,
   * or null: the result must be rebuilt at that time.
   */
  nextExpiry: number | null;
}

/**
 * Builds the old engine's configuration from `doc` at wall-clock time `now`
 * (ms since the epoch; moves whose lifetime is over no longer count).
 */
export function legacyPolicyConfig(doc: CibDocument, now: number): LegacyPolicyConfig {
  const ignored: string[] = [];
  const live = expireMoves(doc, now).config;
  const nodeNames = live.nodes.map((n) => n.name);
  const primitives: Primitive[] = [];
  for (const r of live.resources) {
    if (r.kind === "primitive") primitives.push(r);
    else ignored.push(`${r.kind} ${r.id} (not scheduled yet: its resources do not run)`);
  }
  const known = new Set(primitives.map((p) => p.id));
  const location = new Map<string, Record<string, number>>();
  let nextExpiry: number | null = null;
  for (const c of live.constraints.locations) {
    if (!known.has(c.resource)) {
      ignored.push(`location ${c.id} (its resource ${c.resource} is not a top-level primitive)`);
      continue;
    }
    if (c.node === undefined || c.score === undefined || c.rules.length > 0) {
      ignored.push(`location ${c.id} (rules are not evaluated yet)`);
      continue;
    }
    if (c.role !== undefined && c.role !== "Started") {
      ignored.push(`location ${c.id} (role ${c.role} is not scheduled yet)`);
      continue;
    }
    const scores = location.get(c.resource) ?? {};
    scores[c.node] = addScores(scores[c.node] ?? 0, c.score);
    location.set(c.resource, scores);
    if (c.expiresAt !== undefined && (nextExpiry === null || c.expiresAt < nextExpiry)) {
      nextExpiry = c.expiresAt;
    }
  }
  for (const c of live.constraints.colocations) {
    ignored.push(`colocation ${c.id} (not scheduled yet)`);
  }
  for (const c of live.constraints.orders) ignored.push(`order ${c.id} (not scheduled yet)`);

  const bans: Record<string, Record<string, string>> = {};
  const resources: ResourceConfig[] = primitives.map((p) => {
    if (p.meta.targetRole === "Stopped") {
      bans[p.id] = Object.fromEntries(
        nodeNames.map((n) => [n, `${p.id} has target-role Stopped`]),
      );
    } else if (p.meta.targetRole === "Promoted" || p.meta.targetRole === "Unpromoted") {
      ignored.push(`${p.id} target-role ${p.meta.targetRole} (treated as Started)`);
    }
    if (!p.meta.isManaged) ignored.push(`${p.id} is-managed=false (managed anyway)`);
    const monitor = p.operations.find((o) =>
      o.name === "monitor" && o.enabled && o.intervalMs > 0 &&
      (o.role === undefined || o.role === "Started")
    );
    return {
      id: p.id,
      agent: p.agent,
      params: { ...p.params },
      monitorMs: monitor?.intervalMs ?? 0,
      location: location.get(p.id) ?? {},
      ...(p.meta.stickiness !== undefined ? { stickiness: p.meta.stickiness } : {}),
    };
  });

  const o = live.options;
  let noQuorumPolicy: ClusterOptions["noQuorumPolicy"];
  if (o.noQuorumPolicy === "demote" || o.noQuorumPolicy === "suicide") {
    ignored.push(`no-quorum-policy ${o.noQuorumPolicy} (treated as stop)`);
    noQuorumPolicy = "stop";
  } else {
    noQuorumPolicy = o.noQuorumPolicy;
  }
  if (!o.symmetricCluster) ignored.push("symmetric-cluster=false (treated as true)");
  for (const n of live.nodes) {
    if (n.maintenance) ignored.push(`node ${n.name} maintenance (not honoured yet)`);
  }
  return {
    config: {
      options: {
        stickiness: o.stickiness,
        noQuorumPolicy,
        migrationThreshold: o.migrationThreshold,
      },
      nodes: live.nodes.map((n) => ({
        name: n.name,
        priority: n.priority,
        votes: n.votes,
        standby: n.standby,
      })),
      resources,
    },
    bans,
    ignored,
    nextExpiry,
  };
}
