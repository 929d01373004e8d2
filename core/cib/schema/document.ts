/**
 * The whole CIB document: version, configuration and status. This is the
 * schema a CIB read from disk, received from a peer, imported, or given by an
 * administrator is checked against; errors name the exact path
 * (`config.resources[3].operations[0].timeoutMs`).
 *
 * @example
 * ```ts
 * const result = parseCibDocument(JSON.parse(text));
 * if (!result.ok) console.error(result.errors.join("\n"));
 * ```
 * @module
 */

import { z } from "zod";
import { formatPath } from "../cib.ts";
import { clusterOptionsSchema } from "./options.ts";
import { cibNodeSchema } from "./nodes.ts";
import { type Resource, resourceSchema } from "./resources.ts";
import { constraintsSchema } from "./constraints.ts";
import { cibStatusSchema } from "./status.ts";

/** Schema of the version triple. */
export const cibDocumentVersionSchema = z.strictObject({
  adminEpoch: z.number().int().min(0).default(0),
  epoch: z.number().int().min(0).default(0),
  numUpdates: z.number().int().min(0).default(0),
});

/** Schema of the configuration section. */
export const cibConfigurationSchema = z.strictObject({
  options: clusterOptionsSchema.default(() => clusterOptionsSchema.parse({})),
  nodes: z.array(cibNodeSchema).default([]),
  resources: z.array(resourceSchema).default([]),
  constraints: constraintsSchema.default({ locations: [], colocations: [], orders: [] }),
});

/** Schema of the whole CIB document. */
export const cibDocumentSchema = z.strictObject({
  version: cibDocumentVersionSchema.default({ adminEpoch: 0, epoch: 0, numUpdates: 0 }),
  config: cibConfigurationSchema.default(() => cibConfigurationSchema.parse({})),
  status: cibStatusSchema.default({ nodes: {} }),
}).superRefine((doc, ctx) => checkReferences(doc, ctx));

/** The configuration section, defaults applied. */
export type CibConfiguration = z.output<typeof cibConfigurationSchema>;
/** The whole CIB document, defaults applied. */
export type CibDocument = z.output<typeof cibDocumentSchema>;

/** What {@link parseCibDocument} returns. */
export type CibParseResult =
  | { ok: true; cib: CibDocument }
  | { ok: false; errors: string[] };

/** Checks `value` against the schema; errors are `path: message` lines. */
export function parseCibDocument(value: unknown): CibParseResult {
  const result = cibDocumentSchema.safeParse(value);
  if (result.success) return { ok: true, cib: result.data };
  return {
    ok: false,
    errors: result.error.issues.map((i) =>
      `${i.path.length ? formatPath(i.path) : "(root)"}: ${i.message}`
    ),
  };
}

/** Every resource id in the configuration: top-level, group members and clone children. */
export function resourceIds(resources: readonly Resource[]): string[] {
  const ids: string[] = [];
  const visit = (r: Resource) => {
    ids.push(r.id);
    if (r.kind === "group") r.members.forEach(visit);
    if (r.kind === "clone") visit(r.resource);
  };
  resources.forEach(visit);
  return ids;
}

/** Ids unique across resources and constraints; constraints name existing resources and nodes. */
function checkReferences(
  doc: { config: CibConfiguration },
  ctx: z.core.$RefinementCtx,
): void {
  const { resources, constraints, nodes } = doc.config;
  const ids = resourceIds(resources);
  const known = new Set<string>();
  for (const id of ids) {
    if (known.has(id)) {
      ctx.addIssue({
        code: "custom",
        path: ["config", "resources"],
        message: `duplicate id "${id}"`,
      });
    }
    known.add(id);
  }
  const nodeNames = new Set<string>();
  for (const [i, node] of nodes.entries()) {
    if (nodeNames.has(node.name)) {
      ctx.addIssue({
        code: "custom",
        path: ["config", "nodes", i, "name"],
        message: `duplicate node "${node.name}"`,
      });
    }
    nodeNames.add(node.name);
  }
  const constraintIds = new Set<string>();
  const check = (list: string, i: number, field: string, id: string) => {
    if (!known.has(id)) {
      ctx.addIssue({
        code: "custom",
        path: ["config", "constraints", list, i, field],
        message: `no resource "${id}"`,
      });
    }
  };
  const checkId = (list: string, i: number, id: string) => {
    if (constraintIds.has(id) || known.has(id)) {
      ctx.addIssue({
        code: "custom",
        path: ["config", "constraints", list, i, "id"],
        message: `duplicate id "${id}"`,
      });
    }
    constraintIds.add(id);
  };
  for (const [i, c] of constraints.locations.entries()) {
    checkId("locations", i, c.id);
    check("locations", i, "resource", c.resource);
  }
  for (const [i, c] of constraints.colocations.entries()) {
    checkId("colocations", i, c.id);
    check("colocations", i, "resource", c.resource);
    check("colocations", i, "withResource", c.withResource);
  }
  for (const [i, c] of constraints.orders.entries()) {
    checkId("orders", i, c.id);
    check("orders", i, "first", c.first);
    check("orders", i, "then", c.then);
  }
}
