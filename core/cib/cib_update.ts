/**
 * Administrative changes to the CIB: what `vigil resource|node|config` ask for,
 * as data (checked with zod where they arrive) and as pure functions from one
 * document to the next. The DC applies them in order; a result that breaks the
 * schema (a constraint on a deleted resource, a duplicate id) is refused whole.
 *
 * @example
 * ```ts
 * const r = applyCibUpdate(cib, { op: "resource-move", resource: "web", node: "n2", lifetimeMs: 3_600_000 }, now);
 * if (r.ok) cib = r.cib; else console.error(r.error);
 * ```
 * @module
 */

import { z } from "zod";
import { INFINITY } from "../score.ts";
import { suggestNames } from "../suggest.ts";
import { idSchema, nodeNameSchema } from "./schema/common.ts";
import {
  cibConfigurationSchema,
  type CibDocument,
  parseCibDocument,
  resourceIds,
} from "./schema/document.ts";
import { clusterOptionsSchema } from "./schema/options.ts";
import { type Resource, resourceSchema } from "./schema/resources.ts";

/** Prefix of the location constraints `resource-move` creates (as crm_resource's cli-prefer-). */
export const MOVE_PREFIX = "cli-prefer-";

/** Schema of one administrative change. */
export const cibUpdateSchema = z.discriminatedUnion("op", [
  /** Replaces the whole configuration (`vigil config apply`). */
  z.strictObject({ op: z.literal("config-replace"), config: z.unknown() }),
  /** Sets cluster options (`vigil config set`). */
  z.strictObject({ op: z.literal("options-set"), options: z.record(z.string(), z.unknown()) }),
  z.strictObject({ op: z.literal("resource-create"), resource: z.unknown() }),
  z.strictObject({ op: z.literal("resource-delete"), resource: idSchema }),
  /** Sets target-role: Started (`resource start`) or Stopped (`resource stop`). */
  z.strictObject({
    op: z.literal("resource-target-role"),
    resource: idSchema,
    role: z.enum(["Started", "Stopped"]),
  }),
  /** Prefers a node with INFINITY, for a lifetime or until `resource-unmove`. */
  z.strictObject({
    op: z.literal("resource-move"),
    resource: idSchema,
    node: nodeNameSchema,
    lifetimeMs: z.number().int().positive().optional(),
  }),
  z.strictObject({ op: z.literal("resource-unmove"), resource: idSchema }),
  /** Standby (true) or online (false). */
  z.strictObject({ op: z.literal("node-standby"), node: nodeNameSchema, standby: z.boolean() }),
]);

/** One administrative change. */
export type CibUpdate = z.output<typeof cibUpdateSchema>;

/** What {@link applyCibUpdate} returns. */
export type CibUpdateResult =
  | { ok: true; cib: CibDocument; summary: string }
  | { ok: false; error: string };

/**
 * Applies `update` to `cib`'s configuration. The version is not touched: the DC
 * assigns versions as it orders updates.
 *
 * @param now wall-clock ms, for move lifetimes
 */
export function applyCibUpdate(cib: CibDocument, update: CibUpdate, now: number): CibUpdateResult {
  const config = cib.config;
  const fail = (error: string): CibUpdateResult => ({ ok: false, error });
  let next: unknown;
  let summary: string;
  switch (update.op) {
    case "config-replace": {
      const parsed = cibConfigurationSchema.safeParse(update.config);
      if (!parsed.success) {
        return fail(
          parsed.error.issues.map((i) => `config.${i.path.join(".")}: ${i.message}`).join("\n"),
        );
      }
      next = parsed.data;
      summary = "configuration replaced";
      break;
    }
    case "options-set": {
      const parsed = clusterOptionsSchema.safeParse({ ...config.options, ...update.options });
      if (!parsed.success) {
        return fail(
          parsed.error.issues.map((i) => `options.${i.path.join(".")}: ${i.message}`).join("\n"),
        );
      }
      next = { ...config, options: parsed.data };
      summary = `options set: ${Object.keys(update.options).join(", ")}`;
      break;
    }
    case "resource-create": {
      const parsed = resourceSchema.safeParse(update.resource);
      if (!parsed.success) {
        return fail(
          parsed.error.issues.map((i) => `resource.${i.path.join(".")}: ${i.message}`).join("\n"),
        );
      }
      next = { ...config, resources: [...config.resources, parsed.data] };
      summary = `resource ${parsed.data.id} created`;
      break;
    }
    case "resource-delete": {
      const top = config.resources.find((r) => r.id === update.resource);
      if (!top) {
        return fail(
          resourceIds(config.resources).includes(update.resource)
            ? `${update.resource} is inside a group or clone: delete or change its parent`
            : noResource(config.resources, update.resource),
        );
      }
      const gone = new Set(resourceIds([top]));
      const c = config.constraints;
      const keptLocations = c.locations.filter((l) => !gone.has(l.resource));
      const keptColocations = c.colocations.filter((l) =>
        !gone.has(l.resource) && !gone.has(l.withResource)
      );
      const keptOrders = c.orders.filter((o) => !gone.has(o.first) && !gone.has(o.then));
      const dropped = c.locations.length - keptLocations.length +
        c.colocations.length - keptColocations.length + c.orders.length - keptOrders.length;
      next = {
        ...config,
        resources: config.resources.filter((r) => r !== top),
        constraints: { locations: keptLocations, colocations: keptColocations, orders: keptOrders },
      };
      summary = `resource ${update.resource} deleted` +
        (dropped > 0 ? ` with ${dropped} constraint(s) that named it` : "");
      break;
    }
    case "resource-target-role": {
      const found = findResource(config.resources, update.resource);
      if (!found) return fail(noResource(config.resources, update.resource));
      next = {
        ...config,
        resources: mapResource(config.resources, update.resource, (r) => ({
          ...r,
          meta: { ...r.meta, targetRole: update.role },
        } as Resource)),
      };
      summary = `${update.resource}: target-role ${update.role}`;
      break;
    }
    case "resource-move": {
      if (!findResource(config.resources, update.resource)) {
        return fail(noResource(config.resources, update.resource));
      }
      if (!config.nodes.some((n) => n.name === update.node)) {
        return fail(
          `no node "${update.node}" (nodes: ${config.nodes.map((n) => n.name).join(", ")})`,
        );
      }
      const id = `${MOVE_PREFIX}${update.resource}`;
      next = {
        ...config,
        constraints: {
          ...config.constraints,
          locations: [
            ...config.constraints.locations.filter((l) => l.id !== id),
            {
              id,
              resource: update.resource,
              node: update.node,
              score: INFINITY,
              rules: [],
              resourceDiscovery: "always" as const,
              ...(update.lifetimeMs ? { expiresAt: now + update.lifetimeMs } : {}),
            },
          ],
        },
      };
      summary = `${update.resource} moved to ${update.node}` +
        (update.lifetimeMs ? ` for ${Math.round(update.lifetimeMs / 1000)} s` : " until unmoved");
      break;
    }
    case "resource-unmove": {
      const id = `${MOVE_PREFIX}${update.resource}`;
      if (!config.constraints.locations.some((l) => l.id === id)) {
        return fail(`${update.resource} has no move to undo`);
      }
      next = {
        ...config,
        constraints: {
          ...config.constraints,
          locations: config.constraints.locations.filter((l) => l.id !== id),
        },
      };
      summary = `${update.resource}: move removed`;
      break;
    }
    case "node-standby": {
      if (!config.nodes.some((n) => n.name === update.node)) {
        return fail(
          `no node "${update.node}" (nodes: ${config.nodes.map((n) => n.name).join(", ")})`,
        );
      }
      next = {
        ...config,
        nodes: config.nodes.map((n) =>
          n.name === update.node ? { ...n, standby: update.standby } : n
        ),
      };
      summary = `${update.node} ${update.standby ? "standby" : "online"}`;
      break;
    }
  }
  // The whole document is checked again: references and ids across sections.
  const checked = parseCibDocument({ ...cib, config: next });
  if (!checked.ok) return fail(checked.errors.join("\n"));
  return { ok: true, cib: checked.cib, summary };
}

/** Drops moves whose lifetime is over; returns the same document when none expired. */
export function expireMoves(cib: CibDocument, now: number): CibDocument {
  const locations = cib.config.constraints.locations;
  const kept = locations.filter((l) => l.expiresAt === undefined || l.expiresAt > now);
  if (kept.length === locations.length) return cib;
  return {
    ...cib,
    config: { ...cib.config, constraints: { ...cib.config.constraints, locations: kept } },
  };
}

/** The moves in force: resource, node, and expiry when one was given. */
export function activeMoves(
  cib: CibDocument,
): { resource: string; node: string; expiresAt?: number }[] {
  return cib.config.constraints.locations
    .filter((l) => l.id.startsWith(MOVE_PREFIX) && l.node !== undefined)
    .map((l) => ({
      resource: l.resource,
      node: l.node!,
      ...(l.expiresAt !== undefined ? { expiresAt: l.expiresAt } : {}),
    }));
}

function findResource(resources: readonly Resource[], id: string): Resource | undefined {
  for (const r of resources) {
    if (r.id === id) return r;
    const inner = r.kind === "group" ? r.members : r.kind === "clone" ? [r.resource] : [];
    const found = findResource(inner as Resource[], id);
    if (found) return found;
  }
  return undefined;
}

function mapResource(
  resources: readonly Resource[],
  id: string,
  fn: (r: Resource) => Resource,
): Resource[] {
  return resources.map((r) => {
    if (r.id === id) return fn(r);
    if (r.kind === "group") {
      return { ...r, members: mapResource(r.members, id, fn) } as Resource;
    }
    if (r.kind === "clone") {
      return { ...r, resource: mapResource([r.resource], id, fn)[0] } as Resource;
    }
    return r;
  });
}

function noResource(resources: readonly Resource[], id: string): string {
  const close = suggestNames(id, resourceIds(resources));
  return `no resource "${id}"` +
    (close.length ? ` (did you mean ${close.slice(0, 3).join(", ")}?)` : "");
}
