/**
 * A plugin's companion test file: `NAME.test.ts` next to `NAME.ts`. `vigil plugin test
 * NAME.ts` finds it and runs the contract suite of the plugin's kind with the sample
 * parameters it gives, then the extra checks it adds. Like a plugin, its default export
 * is a {@link PluginTestSpec} or a factory `(vigil) => spec`, so it needs no node_modules.
 *
 * @example
 * ```ts
 * // Web.test.ts
 * import type { PluginApi, PluginTestSpec, ResourceAgentDefinition } from "vigil/plugin";
 * export default (_vigil: PluginApi): PluginTestSpec<ResourceAgentDefinition> => ({
 *   params: (tmpDir) => ({ root: tmpDir, port: 8080 }),
 *   invalidParams: [{ port: -1 }],
 *   checks: (agent) => [{ name: "has a start timeout", run: () => { if (!agent.timeouts.start) throw new Error("none"); } }],
 * });
 * ```
 * @module
 */

import { existsSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { z } from "zod";
import type { ContractCheck } from "./contracts/contract_check.ts";
import { importPluginDefault } from "./loader.ts";
import type { PluginDefinition } from "./plugin_definition.ts";
import { formatPluginIssues, PluginError, pluginFunction } from "./plugin_schema.ts";

/** What a companion test file exports. Every field is optional. */
export interface PluginTestSpec<D = PluginDefinition> {
  /** Sample parameters for the contract suite, given a fresh temporary directory. */
  params?: (tmpDir: string) => Record<string, unknown>;
  /** Parameter values the plugin's schema must reject. */
  invalidParams?: unknown[];
  /** Fence drivers: the node the suite fences (default `contract-node`). */
  target?: string;
  /** Quorum devices: the `healthy` the sample parameters must read as. */
  expectHealthy?: boolean;
  /** Extra checks run after the contract suite, given the loaded plugin. */
  checks?(plugin: D): ContractCheck[];
}

/** The file name endings of companion test files, in the order they are looked for. */
export const TEST_SPEC_SUFFIXES: readonly string[] = [
  ".test.ts",
  ".test.mts",
  ".test.js",
  ".test.mjs",
];

/** Most extra checks one spec may add. */
const MAX_SPEC_CHECKS = 200;

const specSchema = z.object({
  params: pluginFunction.optional(),
  invalidParams: z.array(z.unknown()).max(1000).optional(),
  target: z.string().min(1).optional(),
  expectHealthy: z.boolean().optional(),
  checks: pluginFunction.optional(),
}).strict();

const checksSchema = z.array(z.object({
  name: z.string().min(1),
  run: pluginFunction,
  timeoutMs: z.number().int().positive().optional(),
})).max(MAX_SPEC_CHECKS);

/** Whether `file` is named like a companion test file. */
export function isTestSpecFile(file: string): boolean {
  return TEST_SPEC_SUFFIXES.some((suffix) => file.endsWith(suffix));
}

/** The companion test file of `pluginFile` that exists, if any. */
export function testSpecFileFor(pluginFile: string): string | undefined {
  const base = basename(pluginFile).replace(/\.[cm]?[jt]s$/, "");
  return TEST_SPEC_SUFFIXES.map((suffix) => join(dirname(pluginFile), base + suffix))
    .find((file) => existsSync(file));
}

/** The plugin file a companion test file belongs to, if it exists. */
export function pluginFileForTestSpec(testFile: string): string | undefined {
  const suffix = TEST_SPEC_SUFFIXES.find((s) => testFile.endsWith(s));
  if (suffix === undefined) return undefined;
  const base = testFile.slice(0, -suffix.length);
  return [".ts", ".mts", ".js", ".mjs"].map((ext) => base + ext).find((file) => existsSync(file));
}

/**
 * Loads and checks a companion test file.
 *
 * @throws {PluginError} naming the file and field, e.g. `Web.test.ts: params: expected a function`
 */
export async function loadPluginTestSpec(path: string): Promise<PluginTestSpec> {
  const value = await importPluginDefault(path);
  const result = specSchema.safeParse(value);
  if (!result.success) {
    throw new PluginError(path, formatPluginIssues(result.error.issues, path));
  }
  return result.data as PluginTestSpec;
}

/**
 * The extra checks of `spec` for `plugin`, checked for shape.
 *
 * @throws {PluginError} naming the file when `checks` throws or returns something else
 */
export function specChecks(
  spec: PluginTestSpec,
  plugin: PluginDefinition,
  source: string,
): ContractCheck[] {
  if (!spec.checks) return [];
  let value: unknown;
  try {
    value = spec.checks(plugin);
  } catch (err) {
    throw new PluginError(
      source,
      `${source}: checks: threw: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const result = checksSchema.safeParse(value);
  if (!result.success) {
    throw new PluginError(source, formatPluginIssues(result.error.issues, source, "checks()"));
  }
  return result.data as ContractCheck[];
}
