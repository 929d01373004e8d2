/**
 * Turns a plugin's zod parameter schema into a table of parameters: name, type, whether it
 * is required, its default and its `.describe()` text. This is what `vigil ra describe`
 * and `vigil plugin` show, and what OCF meta-data is compared with.
 *
 * zod 4's `z.toJSONSchema` does the walking (in "input" mode, so a field with a default is
 * not required). A schema it cannot convert (a plugin's own zod copy of another major
 * version, or a hand-made `{ safeParse }` object) still yields its field names from
 * `schema.shape` when there is one, typed `unknown`.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * describeParams(z.object({ port: z.number().int().default(80).describe("TCP port") }));
 * // [{ name: "port", type: "integer", required: false, default: 80, description: "TCP port" }]
 * ```
 * @module
 */

import { z } from "zod";

/** One parameter of a plugin, as people read it. */
export interface ParamDescription {
  /** The field's name (the key in `params`). */
  name: string;
  /** A short type: `string`, `integer`, `number`, `boolean`, `string[]`, `a|b`, `object`. */
  type: string;
  /** Whether the field must be given (it has neither a default nor `.optional()`). */
  required: boolean;
  /** The default filled in when the field is left out, if it has one. */
  default?: unknown;
  /** The `.describe()` text, if any. */
  description?: string;
}

/** The part of a JSON Schema node this module reads. */
interface JsonSchemaNode {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  items?: JsonSchemaNode;
  anyOf?: JsonSchemaNode[];
  oneOf?: JsonSchemaNode[];
  properties?: Record<string, JsonSchemaNode>;
  required?: string[];
  default?: unknown;
  description?: string;
}

/** How deep nested arrays and unions are spelled out before giving up with `...`. */
const MAX_TYPE_DEPTH = 4;
/** Most enum members listed in a type before it is shortened. */
const MAX_ENUM_MEMBERS = 12;

/** A short type name for one JSON Schema node. */
function typeName(node: JsonSchemaNode | undefined, depth = 0): string {
  if (node === undefined) return "any";
  if (depth > MAX_TYPE_DEPTH) return "...";
  if (node.const !== undefined) return JSON.stringify(node.const);
  if (Array.isArray(node.enum)) {
    const members = node.enum.slice(0, MAX_ENUM_MEMBERS).map((v) =>
      typeof v === "string" ? v : JSON.stringify(v)
    );
    return members.join("|") + (node.enum.length > MAX_ENUM_MEMBERS ? "|..." : "");
  }
  const alternatives = node.anyOf ?? node.oneOf;
  if (Array.isArray(alternatives)) {
    return [...new Set(alternatives.map((alt) => typeName(alt, depth + 1)))].join("|");
  }
  const types = Array.isArray(node.type) ? node.type : node.type ? [node.type] : [];
  if (types.length === 0) return "any";
  return types.map((t) => t === "array" ? `${typeName(node.items, depth + 1)}[]` : t).join("|");
}

/** Field names of a schema that `z.toJSONSchema` could not convert. */
function shapeFallback(schema: unknown): ParamDescription[] {
  const shape = (schema as { shape?: unknown }).shape;
  if (typeof shape !== "object" || shape === null) return [];
  return Object.keys(shape).map((name) => {
    const field = (shape as Record<string, { description?: unknown; isOptional?: unknown }>)[name];
    const optional = typeof field?.isOptional === "function"
      ? Boolean((field.isOptional as () => boolean).call(field))
      : false;
    const description = typeof field?.description === "string" ? field.description : undefined;
    return {
      name,
      type: "unknown",
      required: !optional,
      ...(description !== undefined ? { description } : {}),
    };
  });
}

/**
 * Describes the fields of a zod object schema, in declaration order.
 *
 * @param schema a plugin's `params` schema (any zod type is accepted; a non-object has no
 *   fields and gives an empty table)
 * @returns one row per field
 */
export function describeParams(schema: unknown): ParamDescription[] {
  let json: JsonSchemaNode;
  try {
    json = z.toJSONSchema(schema as z.ZodType, {
      io: "input",
      unrepresentable: "any",
    }) as JsonSchemaNode;
  } catch {
    return shapeFallback(schema);
  }
  const properties = json.properties ?? {};
  const required = new Set(json.required ?? []);
  return Object.entries(properties).map(([name, node]) => ({
    name,
    type: typeName(node),
    required: required.has(name),
    ...(node.default !== undefined ? { default: node.default } : {}),
    ...(typeof node.description === "string" ? { description: node.description } : {}),
  }));
}
