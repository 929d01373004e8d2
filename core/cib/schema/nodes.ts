/**
 * Configured nodes (Pacemaker's `<nodes>`): name, votes, preference and the
 * permanent node attributes that location rules test.
 *
 * @module
 */

import { z } from "zod";
import { attributesSchema, nodeNameSchema } from "./common.ts";

/** Schema of one configured node. */
export const cibNodeSchema = z.strictObject({
  /** The node's name (`uname`). */
  name: nodeNameSchema,
  /** Pacemaker's node id, kept for round trips (defaults to the name). */
  id: z.string().min(1).optional(),
  /** DC-election preference: the highest priority wins. */
  priority: z.number().int().default(0),
  /** Quorum votes this node carries. */
  votes: z.number().int().min(0).default(1),
  /** A standby node runs no resources. */
  standby: z.boolean().default(false),
  /** A node in maintenance: its resources are left alone. */
  maintenance: z.boolean().default(false),
  /** Permanent node attributes (tested by location rules). */
  attributes: attributesSchema.default({}),
});

/** A configured node, defaults applied. */
export type CibNode = z.output<typeof cibNodeSchema>;
