/**
 * Loads third-party plugins (resource agents, quorum devices, fence drivers) from files
 * at run time, under `deno run` and in the compiled binary alike.
 *
 * A plugin file is a TypeScript (or JavaScript) module whose default export is either a
 * definition or a factory `(vigil: PluginApi) => definition` (see `plugin_api.ts`). Only
 * the factory form works everywhere: a file next to the compiled binary has no
 * node_modules, so a bare `import { z } from "zod"` cannot be resolved there (relative
 * imports, `node:` built-ins and type-only imports do work). When a bare import fails,
 * the error says so and points at the factory form.
 *
 * In a plugin directory, every `*.ts`, `*.js` and `*.mjs` file is a plugin except test
 * files (`*.test.ts`, `*_test.ts`), declaration files, and names starting with `_` or
 * `.`; subdirectories are not searched, so helpers can live there. One bad file is an
 * entry in `errors` and does not stop the others from loading.
 *
 * A module is imported once per process: edits to a plugin file take effect at the next
 * start (the compiled binary ignores cache-busting query strings).
 *
 * @example
 * ```ts
 * const loaded = await loadPluginDirectories(defaultPluginDirs());
 * for (const error of loaded.errors) console.error(error.message);
 * const resolver = new AgentResolver({ plugins: loaded.resourceAgents });
 * ```
 * @module
 */

import { readdir, stat } from "node:fs/promises";
import { basename, delimiter, dirname, join, resolve } from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import type { FenceDriverDefinition } from "./fence_driver.ts";
import { pluginApi } from "./plugin_api.ts";
import {
  type PluginDefinition,
  type PluginDefinitionOf,
  type PluginKind,
  validatePluginDefinition,
} from "./plugin_definition.ts";
import { PluginError } from "./plugin_schema.ts";
import type { QuorumDeviceDefinition } from "./quorum_device.ts";
import type { ResourceAgentDefinition } from "./resource_agent.ts";

export type { PluginDefinition, PluginKind };
export { PluginError };

/** How long importing one file (and calling its factory) may take. */
export const PLUGIN_LOAD_TIMEOUT_MS = 10_000;
/** Most plugin files loaded from one directory. */
export const MAX_PLUGIN_FILES = 256;
/** Largest plugin file loaded, in bytes. */
export const MAX_PLUGIN_FILE_BYTES = 4 * 1024 * 1024;
/** Longest import error message kept. */
const MAX_ERROR_CHARS = 2000;
/** The system-wide plugin directory. */
export const SYSTEM_PLUGIN_DIR = "/etc/vigil/plugins";

/** One plugin and the file it came from. */
export interface LoadedPlugin {
  /** The file, as found (directory joined with the file name). */
  file: string;
  /** The validated definition. */
  definition: PluginDefinition;
}

/** Everything found in one or more plugin directories. */
export interface LoadedPlugins {
  /** Resource agents, in file-name order. */
  resourceAgents: ResourceAgentDefinition[];
  /** Quorum devices, in file-name order. */
  quorumDevices: QuorumDeviceDefinition<unknown>[];
  /** Fence drivers, in file-name order. */
  fenceDrivers: FenceDriverDefinition<unknown>[];
  /** Files that could not be loaded, or whose plugin's name was already taken. */
  errors: PluginError[];
  /** Every plugin loaded, with its file, in load order. */
  plugins: LoadedPlugin[];
}

/** Whether a directory entry called `name` is a plugin file (see the module doc). */
export function isPluginFileName(name: string): boolean {
  if (name.startsWith(".") || name.startsWith("_")) return false;
  if (/\.d\.[cm]?ts$/.test(name)) return false;
  if (/(\.test|_test)\.[cm]?[jt]s$/.test(name)) return false;
  return /\.(ts|mts|js|mjs)$/.test(name);
}

function stripAnsi(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");
}

/** The message of an import failure, with a hint when a bare specifier did not resolve. */
function importFailure(source: string, err: unknown): PluginError {
  const raw = stripAnsi(err instanceof Error ? err.message : String(err)).trim();
  const message = raw.length > MAX_ERROR_CHARS ? `${raw.slice(0, MAX_ERROR_CHARS)}...` : raw;
  const bare = message.match(
    /Cannot find (?:package|module) '([^'./][^']*)'|Import "([^"./][^"]*)" not a dependency|Relative import path "([^"]+)" not prefixed/,
  );
  const specifier = bare?.[1] ?? bare?.[2] ?? bare?.[3];
  const hint = specifier === undefined || specifier.startsWith("node:") ? "" : `\n${source}: ` +
    `import: "${specifier}" cannot be resolved from the plugin's directory (no node_modules ` +
    `there, as next to the compiled binary). Default-export a factory instead, ` +
    `export default (vigil) => vigil.defineResourceAgent({ ... }), and use vigil.z, ` +
    `vigil.OCF; a type-only import (import type ... from "vigil/plugin") is fine. ` +
    `See docs/plugins.md.`;
  const oneLine = message.split("\n").map((line) => line.trim()).filter((l) => l !== "").join(" ");
  return new PluginError(source, `${source}: cannot load: ${oneLine}${hint}`);
}

/** Rejects with a PluginError when `promise` has not settled within `ms`. */
async function within<T>(
  promise: Promise<T>,
  ms: number,
  source: string,
  what: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new PluginError(source, `${source}: ${what} did not finish within ${ms} ms`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Imports `path` and returns its default export; a function default export is called
 * with {@link pluginApi} and its (awaited) result returned instead. Used for plugin files
 * and for their companion test files alike.
 *
 * @param path the module file
 * @param source how error messages name it (default: `path`)
 * @throws {PluginError} naming the file: unreadable, too large, fails to import (with a hint
 *   for bare imports), has no default export, its factory throws, or it takes too long
 */
export async function importPluginDefault(path: string, source = path): Promise<unknown> {
  const absolute = resolve(path);
  let size: number;
  try {
    const info = await stat(absolute);
    if (!info.isFile()) throw new Error("not a regular file");
    size = info.size;
  } catch (err) {
    const why = (err as { code?: string }).code === "ENOENT"
      ? "no such file"
      : err instanceof Error
      ? err.message
      : String(err);
    throw new PluginError(source, `${source}: cannot read: ${why}`);
  }
  if (size > MAX_PLUGIN_FILE_BYTES) {
    throw new PluginError(
      source,
      `${source}: cannot load: ${size} bytes exceeds the limit of ${MAX_PLUGIN_FILE_BYTES}`,
    );
  }
  let module: Record<string, unknown>;
  try {
    module = await within(
      import(pathToFileURL(absolute).href) as Promise<Record<string, unknown>>,
      PLUGIN_LOAD_TIMEOUT_MS,
      source,
      "import",
    );
  } catch (err) {
    if (err instanceof PluginError) throw err;
    throw importFailure(source, err);
  }
  if (!("default" in module) || module.default === undefined) {
    throw new PluginError(
      source,
      `${source}: default: the module has no default export (export default a definition, ` +
        `or a factory (vigil) => definition)`,
    );
  }
  const exported = module.default;
  if (typeof exported !== "function") return exported;
  try {
    return await within(
      Promise.resolve().then(() => exported(pluginApi)),
      PLUGIN_LOAD_TIMEOUT_MS,
      source,
      "the factory",
    );
  } catch (err) {
    if (err instanceof PluginError) throw err;
    const why = err instanceof Error ? err.message : String(err);
    throw new PluginError(source, `${source}: default: the factory threw: ${why}`);
  }
}

/**
 * Loads one plugin file and validates its definition against its kind's contract.
 *
 * @param path the plugin file
 * @returns the definition
 * @throws {PluginError} naming the file and the field, e.g. `web.ts: actions.start: expected
 *   a function`, `web.ts: kind: expected one of ...`, `web.ts: cannot load: ...`
 */
export async function loadPluginFile(path: string): Promise<PluginDefinition> {
  return validatePluginDefinition(await importPluginDefault(path), path);
}

/**
 * Loads one plugin file that must be of `kind` (e.g. a quorum device named by path in a
 * node's configuration).
 *
 * @throws {PluginError} as {@link loadPluginFile}, and `FILE: kind: expected "K", got "..."`
 */
export async function loadPluginOfKind<K extends PluginKind>(
  path: string,
  kind: K,
): Promise<PluginDefinitionOf<K>> {
  const def = await loadPluginFile(path);
  if (def.kind !== kind) {
    throw new PluginError(path, `${path}: kind: expected "${kind}", got "${def.kind}"`);
  }
  return def as PluginDefinitionOf<K>;
}

/** An empty {@link LoadedPlugins}. */
function emptyPlugins(): LoadedPlugins {
  return { resourceAgents: [], quorumDevices: [], fenceDrivers: [], errors: [], plugins: [] };
}

/** Adds `plugin` to `into`, or an error when its kind already has a plugin of that name. */
function add(into: LoadedPlugins, plugin: LoadedPlugin): void {
  const { definition, file } = plugin;
  const taken = into.plugins.find((p) =>
    p.definition.kind === definition.kind && p.definition.name === definition.name
  );
  if (taken) {
    into.errors.push(
      new PluginError(
        file,
        `${file}: name: ${definition.kind} "${definition.name}" is already loaded from ` +
          `${taken.file}; this one is ignored`,
      ),
    );
    return;
  }
  into.plugins.push(plugin);
  if (definition.kind === "resource-agent") into.resourceAgents.push(definition);
  else if (definition.kind === "quorum-device") into.quorumDevices.push(definition);
  else into.fenceDrivers.push(definition);
}

/** The plugin files of `dir` in name order, or an error; `[]` when it does not exist. */
async function pluginFiles(dir: string): Promise<string[] | PluginError> {
  let names: string[];
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    names = entries
      // A symbolic link may point at a plugin file; importPluginDefault checks what it is.
      .filter((entry) => (entry.isFile() || entry.isSymbolicLink()) && isPluginFileName(entry.name))
      .map((entry) => entry.name)
      .sort();
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "ENOENT") return [];
    const why = code === "ENOTDIR" ? "not a directory" : (err as Error).message;
    return new PluginError(dir, `${dir}: cannot read the plugin directory: ${why}`);
  }
  return names.map((name) => join(dir, name));
}

/**
 * Loads every plugin file in `dir` (see the module doc for which files count). A missing
 * directory gives nothing; each file that fails is an entry in `errors`, naming the file
 * and field, and the others still load. Two plugins of one kind with the same name: the
 * first (by file name) wins and the second is an error.
 */
export async function loadPluginDirectory(dir: string): Promise<LoadedPlugins> {
  return await loadPluginDirectories([dir]);
}

/**
 * Loads several plugin directories in order, as {@link loadPluginDirectory} does each; a
 * plugin in an earlier directory wins over one of the same kind and name in a later one
 * (so `$VIGIL_PLUGIN_DIR` overrides `/etc/vigil/plugins`).
 */
export async function loadPluginDirectories(dirs: readonly string[]): Promise<LoadedPlugins> {
  const loaded = emptyPlugins();
  for (const dir of dirs) {
    const files = await pluginFiles(dir);
    if (files instanceof PluginError) {
      loaded.errors.push(files);
      continue;
    }
    if (files.length > MAX_PLUGIN_FILES) {
      loaded.errors.push(
        new PluginError(
          dir,
          `${dir}: ${files.length} plugin files; only the first ${MAX_PLUGIN_FILES} are loaded`,
        ),
      );
    }
    for (const file of files.slice(0, MAX_PLUGIN_FILES)) {
      try {
        add(loaded, { file, definition: await loadPluginFile(file) });
      } catch (err) {
        loaded.errors.push(
          err instanceof PluginError ? err : new PluginError(file, `${file}: ${String(err)}`),
        );
      }
    }
  }
  return loaded;
}

/** Whether `execPath` is a compiled vigil binary rather than a runtime running main.ts. */
export function isCompiledBinary(execPath: string = process.execPath): boolean {
  const name = basename(execPath).replace(/\.exe$/, "");
  return !["deno", "bun", "node"].includes(name);
}

/**
 * The plugin directories searched by default, in order: each directory in
 * `$VIGIL_PLUGIN_DIR` (several separated by `:`), then `/etc/vigil/plugins`, then a
 * `plugins` directory next to the running executable when it is a compiled vigil binary.
 *
 * @param env the environment (default: this process's)
 * @param execPath the running executable (default: this process's)
 */
export function defaultPluginDirs(
  env: Record<string, string | undefined> = process.env,
  execPath: string = process.execPath,
): string[] {
  const dirs = (env.VIGIL_PLUGIN_DIR ?? "").split(delimiter).filter((dir) => dir !== "");
  dirs.push(SYSTEM_PLUGIN_DIR);
  if (isCompiledBinary(execPath)) dirs.push(join(dirname(execPath), "plugins"));
  return [...new Set(dirs.map((dir) => resolve(dir)))];
}
