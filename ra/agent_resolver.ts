/**
 * Finds the resource agent a configuration names, among every kind Vigil runs:
 *
 * - `ocf:PROVIDER:TYPE`: an OCF script under `OCF_ROOT/resource.d/PROVIDER/TYPE`;
 * - `lsb:NAME`: an init script `/etc/init.d/NAME`;
 * - `heartbeat:NAME`: a Heartbeat v1 resource script (`/etc/ha.d/resource.d/NAME`, then
 *   `/etc/init.d/NAME`, as Heartbeat searched);
 * - any other name: a plugin loaded from the plugin directory, then a built-in agent
 *   (`Dummy`, `HttpService`, ...). A plugin of the same name as a built-in wins.
 *
 * Script definitions are built once per name and cached (at most
 * {@link MAX_CACHED_SCRIPT_AGENTS}; an OCF agent's first resolution runs its `meta-data`).
 * {@link AgentResolver.list} enumerates everything installed without running any script.
 *
 * @example
 * ```ts
 * const resolver = new AgentResolver({ plugins: loaded.resourceAgents });
 * const agent = resolver.resolve("ocf:heartbeat:Dummy");
 * for (const entry of resolver.list()) console.log(entry.name, entry.source);
 * ```
 * @module
 */

import { readdirSync } from "node:fs";
import type { ResourceAgentDefinition } from "../plugins/resource_agent.ts";
import { builtinResourceAgents } from "./builtin.ts";
import { DEFAULT_LSB_DIR, isLsbScriptName, lsbAgent, readLsbHeader } from "./lsb_adapter.ts";
import { DEFAULT_OCF_ROOT, ocfAgent, parseOcfSpec } from "./ocf_adapter.ts";
import {
  DEFAULT_RESOURCE_D_DIRS,
  findResourceDScript,
  readResourceDDescription,
  resourceDAgent,
} from "./resource_d_adapter.ts";
import { isExecutableFile } from "./script_runner.ts";

/** Most script agents kept resolved; the oldest is forgotten first. */
export const MAX_CACHED_SCRIPT_AGENTS = 256;

/** Most entries read from one directory by {@link AgentResolver.list}. */
export const MAX_LISTED_PER_DIR = 4096;

/** Where an agent comes from. */
export type AgentSource = "builtin" | "plugin" | "ocf" | "lsb" | "heartbeat";

/** The order sources are listed in. */
export const AGENT_SOURCES: readonly AgentSource[] = Object.freeze([
  "builtin",
  "plugin",
  "ocf",
  "lsb",
  "heartbeat",
]);

/** One agent found on this machine. */
export interface AgentListing {
  /** The name a configuration uses: `Dummy`, `ocf:heartbeat:Dummy`, `lsb:ssh`, `heartbeat:IPaddr`. */
  name: string;
  /** Where it comes from. */
  source: AgentSource;
  /**
   * One line about it: the definition's for TypeScript agents, the LSB header's
   * Short-Description, a resource.d script's `Description:` comment; empty for OCF agents,
   * whose description needs `meta-data` (see `vigil ra describe`).
   */
  description: string;
  /** The script, for script agents. */
  path?: string;
}

/** A resolved agent and where it comes from. */
export interface LocatedAgent {
  /** The agent's definition. */
  definition: ResourceAgentDefinition;
  /** Where it comes from. */
  source: AgentSource;
  /** The script, for script agents. */
  path?: string;
}

/** Options of {@link AgentResolver}. */
export interface AgentResolverOptions {
  /** Agents loaded from plugin files. */
  plugins?: readonly ResourceAgentDefinition[];
  /** The OCF root; default `/usr/lib/ocf`. */
  ocfRoot?: string;
  /** The init-script directory; default `/etc/init.d`. */
  lsbDir?: string;
  /** Heartbeat v1 resource.d directories, searched in order; default `/etc/ha.d/resource.d`. */
  resourceDDirs?: string[];
}

/** Executable, non-hidden files of `dir`, sorted; empty when it cannot be read. */
function executablesIn(dir: string): Array<{ name: string; path: string }> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const found: Array<{ name: string; path: string }> = [];
  for (const name of names.sort().slice(0, MAX_LISTED_PER_DIR)) {
    if (!isLsbScriptName(name)) continue; // hidden files (.ocf-shellfuncs), odd names
    const path = `${dir}/${name}`;
    if (isExecutableFile(path)) found.push({ name, path });
  }
  return found;
}

/**
 * Executable files of resource.d that are shell libraries sourced by the real scripts,
 * not resources (Heartbeat's own package installs them there).
 */
const RESOURCE_D_LIBRARIES = new Set(["hto-mapfuncs"]);

/** Resolves agent names to definitions and lists the agents installed on this machine. */
export class AgentResolver {
  readonly #plugins: readonly ResourceAgentDefinition[];
  readonly #ocfRoot: string;
  readonly #lsbDir: string;
  readonly #resourceDDirs: readonly string[];
  /** Script agents resolved so far (only found ones: an agent installed later is found). */
  readonly #cache = new Map<string, LocatedAgent>();

  /**
   * Builds a resolver; nothing is read from disk until an agent is resolved or listed.
   *
   * @param opts see {@link AgentResolverOptions}
   */
  constructor(opts: AgentResolverOptions = {}) {
    this.#plugins = [...(opts.plugins ?? [])];
    this.#ocfRoot = opts.ocfRoot ?? DEFAULT_OCF_ROOT;
    this.#lsbDir = opts.lsbDir ?? DEFAULT_LSB_DIR;
    this.#resourceDDirs = [...(opts.resourceDDirs ?? DEFAULT_RESOURCE_D_DIRS)];
  }

  /**
   * The agent `name` refers to, or undefined when there is none (see the module doc for
   * the forms of names). Names are case-sensitive.
   */
  resolve(name: string): ResourceAgentDefinition | undefined {
    return this.locate(name)?.definition;
  }

  /** Like {@link resolve}, also saying where the agent comes from (and its script). */
  locate(name: string): LocatedAgent | undefined {
    if (isScriptReference(name)) return this.#locateScript(name);
    const plugin = this.#plugins.find((a) => a.name === name);
    if (plugin) return { definition: plugin, source: "plugin" };
    const builtin = builtinResourceAgents.find((a) => a.name === name);
    return builtin ? { definition: builtin, source: "builtin" } : undefined;
  }

  #locateScript(name: string): LocatedAgent | undefined {
    const cached = this.#cache.get(name);
    if (cached) return cached;
    let located: LocatedAgent | undefined;
    if (name.startsWith("ocf:")) {
      const definition = ocfAgent(name, { ocfRoot: this.#ocfRoot });
      const spec = parseOcfSpec(name);
      if (definition && spec) {
        const path = `${this.#ocfRoot}/resource.d/${spec.provider}/${spec.type}`;
        located = { definition, source: "ocf", path };
      }
    } else if (name.startsWith("lsb:")) {
      const definition = lsbAgent(name, { lsbDir: this.#lsbDir });
      if (definition) {
        located = { definition, source: "lsb", path: `${this.#lsbDir}/${name.slice(4)}` };
      }
    } else {
      const opts = { dirs: this.#resourceDDirs, initDir: this.#lsbDir };
      const script = name.slice("heartbeat:".length);
      const definition = resourceDAgent(script, opts);
      const path = findResourceDScript(script, opts);
      if (definition && path) located = { definition, source: "heartbeat", path };
    }
    if (located === undefined) return undefined;
    if (this.#cache.size >= MAX_CACHED_SCRIPT_AGENTS) {
      this.#cache.delete(this.#cache.keys().next().value!);
    }
    this.#cache.set(name, located);
    return located;
  }

  /**
   * Every agent found: built-ins, plugins, OCF scripts (every executable under
   * `OCF_ROOT/resource.d/PROVIDER/`), init scripts and resource.d scripts, in that order and
   * by name within each source. Runs no script; reads at most a few KiB of each LSB and
   * resource.d script for its description.
   */
  list(): AgentListing[] {
    const listing: AgentListing[] = [];
    const byName = (a: { name: string }, b: { name: string }) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
    for (const def of [...builtinResourceAgents].sort(byName)) {
      listing.push({ name: def.name, source: "builtin", description: def.description });
    }
    for (const def of [...this.#plugins].sort(byName)) {
      listing.push({ name: def.name, source: "plugin", description: def.description });
    }
    for (const provider of directoriesIn(`${this.#ocfRoot}/resource.d`)) {
      for (const { name, path } of executablesIn(`${this.#ocfRoot}/resource.d/${provider}`)) {
        listing.push({ name: `ocf:${provider}:${name}`, source: "ocf", description: "", path });
      }
    }
    for (const { name, path } of executablesIn(this.#lsbDir)) {
      const header = readLsbHeader(path);
      const description = header.shortDescription ?? header.description ?? "";
      listing.push({ name: `lsb:${name}`, source: "lsb", description, path });
    }
    const seen = new Set<string>();
    for (const dir of this.#resourceDDirs) {
      for (const { name, path } of executablesIn(dir)) {
        // The first directory holding a name wins, as in resolution.
        if (RESOURCE_D_LIBRARIES.has(name) || seen.has(name)) continue;
        seen.add(name);
        const description = readResourceDDescription(path) ?? "";
        listing.push({ name: `heartbeat:${name}`, source: "heartbeat", description, path });
      }
    }
    return listing;
  }
}

/** True for `ocf:`, `lsb:` and `heartbeat:` names (resolved to scripts, not plugins). */
export function isScriptReference(name: string): boolean {
  return name.startsWith("ocf:") || name.startsWith("lsb:") || name.startsWith("heartbeat:");
}

/** Subdirectories of `dir` whose names are plain (OCF providers), sorted; bounded. */
function directoriesIn(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => (e.isDirectory() || e.isSymbolicLink()) && isLsbScriptName(e.name))
      .map((e) => e.name)
      .sort()
      .slice(0, MAX_LISTED_PER_DIR);
  } catch {
    return [];
  }
}
