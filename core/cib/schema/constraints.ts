/**
 * Constraints between resources and nodes: location (scores and rules),
 * colocation (with roles) and ordering (kinds, symmetry). Kept in three lists,
 * as a Pacemaker user thinks of them.
 *
 * @example
 * ```ts
 * constraintsSchema.parse({
 *   locations: [{ id: "prefer-n1", resource: "db", node: "n1", score: 100 }],
 *   colocations: [{ id: "web-with-db", resource: "web", withResource: "db", score: "INFINITY" }],
 *   orders: [{ id: "db-then-web", first: "db", then: "web" }],
 * });
 * ```
 * @module
 */

import { z } from "zod";
import { idSchema, nodeNameSchema, scoreSchema } from "./common.ts";
import { roleSchema } from "./resources.ts";
import { ruleSchema } from "./rules.ts";

/** Schema of a location constraint: a score on one node, or rules over node attributes. */
export const locationConstraintSchema = z.strictObject({
  id: idSchema,
  resource: idSchema,
  /** Applies only to the resource in this role. */
  role: roleSchema.optional(),
  /** The node the score is for (with `score`), or absent when `rules` are given. */
  node: nodeNameSchema.optional(),
  score: scoreSchema.optional(),
  rules: z.array(ruleSchema).default([]),
  /** Whether to probe the resource on nodes this constraint covers. */
  resourceDiscovery: z.enum(["always", "never", "exclusive"]).default("always"),
  /** Expiry (ms since the epoch) of a constraint made by `vigil resource move --lifetime`. */
  expiresAt: z.number().int().min(0).optional(),
}).refine((c) => (c.node !== undefined && c.score !== undefined) !== (c.rules.length > 0), {
  error: "give either node and score, or rules",
});

/** Schema of a colocation: `resource` goes where `withResource` is (or not, for negative scores). */
export const colocationConstraintSchema = z.strictObject({
  id: idSchema,
  resource: idSchema,
  withResource: idSchema,
  score: scoreSchema,
  role: roleSchema.optional(),
  withRole: roleSchema.optional(),
  /** Node attribute whose equal values count as "the same place" (default `#uname`). */
  nodeAttribute: z.string().min(1).default("#uname"),
});

/** An action an ordering constraint refers to. */
export const orderActionSchema = z.enum(["start", "stop", "promote", "demote"]);

/** Schema of an ordering: `then` waits for `first`. */
export const orderConstraintSchema = z.strictObject({
  id: idSchema,
  first: idSchema,
  then: idSchema,
  firstAction: orderActionSchema.default("start"),
  /** Defaults to `firstAction`. */
  thenAction: orderActionSchema.optional(),
  /** Mandatory: `then` cannot run unless `first` can; Optional: only when both happen; Serialize: never together. */
  kind: z.enum(["Mandatory", "Optional", "Serialize"]).default("Mandatory"),
  /** Also order the reverse actions in reverse (default: true, except for Serialize). */
  symmetrical: z.boolean().optional(),
});

/** Schema of the constraints section. */
export const constraintsSchema = z.strictObject({
  locations: z.array(locationConstraintSchema).default([]),
  colocations: z.array(colocationConstraintSchema).default([]),
  orders: z.array(orderConstraintSchema).default([]),
});

/** A location constraint. */
export type LocationConstraint = z.output<typeof locationConstraintSchema>;
/** A colocation constraint. */
export type ColocationConstraint = z.output<typeof colocationConstraintSchema>;
/** An ordering constraint. */
export type OrderConstraint = z.output<typeof orderConstraintSchema>;
/** The constraints section. */
export type Constraints = z.output<typeof constraintsSchema>;
