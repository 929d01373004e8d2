/**
 * What every plugin contract (resource agents, quorum devices, fence drivers)
 * checks the same way: the error it throws, the shape of a plugin's name, that
 * functions are functions and parameter schemas are zod schemas, and how zod's
 * issues become messages that name the file and the field.
 *
 * @example
 * ```ts
 * const result = mySchema.safeParse(module.default);
 * if (!result.success) throw new PluginError(file, formatPluginIssues(result.error.issues, file));
 * ```
 * @module
 */

import { z } from "zod";

/** Thrown when a plugin definition is invalid; the message names the source and field. */
export class PluginError extends Error {
  /** The file (or other origin) the definition came from. */
  readonly source: string;

  /**
   * @param source the file (or other origin) the definition came from
   * @param message the complete message, already prefixed with the source
   */
  constructor(source: string, message: string) {
    super(message);
    this.name = "PluginError";
    this.source = source;
  }
}

/** A value that must be a function (its signature is the contract's business). */
export const pluginFunction = z.custom<(...args: never[]) => unknown>(
  (v) => typeof v === "function",
  { error: "expected a function" },
);

/**
 * A parameter schema. A plugin may bundle its own copy of zod, so `instanceof`
 * alone is not enough: anything with `safeParse` is accepted.
 */
export const pluginParamsSchema = z.custom<z.ZodType>(
  (v) =>
    v instanceof z.ZodType ||
    (typeof v === "object" && v !== null &&
      typeof (v as { safeParse?: unknown }).safeParse === "function"),
  { error: "expected a zod schema" },
);

/** A plugin's name, as configurations refer to it. */
export const pluginName = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, {
  error: "expected a name of letters, digits, '_' or '-', starting with a letter",
});

/**
 * Formats zod issues as `source: path: message` lines, the path under `prefix`
 * when one is given (e.g. `params`).
 */
export function formatPluginIssues(
  issues: readonly z.core.$ZodIssue[],
  source: string,
  prefix = "",
): string {
  return issues.map((issue) => {
    const path = [...(prefix ? [prefix] : []), ...issue.path.map(String)];
    return `${source}: ${path.length > 0 ? path.join(".") : "(definition)"}: ${issue.message}`;
  }).join("\n");
}

/**
 * The fields every plugin definition has besides its kind: name, version,
 * description and parameter schema. Contracts spread it into their schema.
 */
export const pluginIdentityShape = {
  name: pluginName,
  version: z.string().min(1),
  description: z.string(),
  params: pluginParamsSchema,
};
