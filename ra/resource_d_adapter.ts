/**
 * Adapts a Heartbeat v1 resource script (`heartbeat:NAME`, i.e. `/etc/ha.d/resource.d/NAME`)
 * to Vigil's resource-agent contract, and parses the resource words of `haresources`.
 *
 * Heartbeat v1 (`/usr/share/heartbeat/ResourceManager`) runs a resource such as
 * `IPaddr::10.0.0.1/24/eth0` as `resource.d/IPaddr 10.0.0.1/24/eth0 start`: the words after
 * the script name, split on `::`, are positional arguments and the action comes last. It
 * looks for the script in `HA_RESOURCEDIR` (`/etc/ha.d/resource.d`) and then in
 * `/etc/init.d`, so a plain `httpd` in haresources is the init script; this adapter searches
 * the same way ({@link ResourceDAgentOptions}).
 *
 * - `start`, `stop`: exit code 0 is OK. Heartbeat only tells 0 from the rest; since the
 *   current scripts are wrappers around OCF agents (`hto-mapfuncs`) and return OCF codes,
 *   1..6 are passed on as they are (ERR_CONFIGURED, for one, matters to the policy engine)
 *   and anything else is ERR_GENERIC.
 * - `monitor` runs `status` and, like ResourceManager's `we_own_resource`, ignores the exit
 *   code and reads stdout: text matching `[Nn][Oo][Tt] *[Rr]unning` means stopped; else
 *   `[Rr]unning` or `OK` means running; anything else means stopped (NOT_RUNNING). A script
 *   that cannot run, is killed or times out is ERR_GENERIC.
 *
 * Scripts get `PATH`, the C locale and, since most of them wrap an OCF agent, `HA_RSCTMP`
 * under the node's state directory as the OCF adapter does; Heartbeat's other variables are
 * left to its shell libraries' defaults.
 *
 * Params are `{ args }`: an array of the positional arguments, or one string in
 * haresources style that is split on `::` (`"/dev/sdb1::/ha::ext3"`); a string without
 * `::` is one argument. Absent `args` means no arguments.
 *
 * @example
 * ```ts
 * const ip = resourceDAgent("IPaddr");
 * // runs: /etc/ha.d/resource.d/IPaddr 10.0.0.1/24/eth0 start
 * await ip?.actions.start({ ...ctx, params: { args: ["10.0.0.1/24/eth0"] } });
 * parseHaresourcesResource("Filesystem::/dev/sdb1::/ha::ext3");
 * // { type: "Filesystem", args: ["/dev/sdb1", "/ha", "ext3"] }
 * ```
 * @module
 */

import { mkdir } from "node:fs/promises";
import { z } from "zod";
import { type AgentContext, OCF, type ResourceAgentDefinition } from "../plugins/resource_agent.ts";
import { errorText, isExecutableFile, readFileHead } from "./agent_tools.ts";
import { DEFAULT_LSB_DIR, isLsbScriptName } from "./lsb_adapter.ts";
import { plainScriptEnv, runScript, scriptExitCode, type ScriptResult } from "./script_runner.ts";

/** Where Heartbeat v1 resource scripts live when no directories are given (HA_RESOURCEDIR). */
export const DEFAULT_RESOURCE_D_DIRS: readonly string[] = Object.freeze(["/etc/ha.d/resource.d"]);

/** Default timeout of every resource.d action, in ms. */
export const DEFAULT_RESOURCE_D_TIMEOUT_MS = 20_000;

/** Most positional arguments a resource may have. */
export const MAX_RESOURCE_D_ARGS = 32;

/** Longest single positional argument, in characters. */
const MAX_ARG_CHARS = 4096;

/** Most bytes of a script read when looking for its description comment. */
const MAX_DESCRIPTION_SCAN_BYTES = 8 * 1024;

/** One positional argument: any text without a NUL byte. */
const argText = z.string().max(MAX_ARG_CHARS).refine((s) => !s.includes("\0"), {
  error: "must not contain a NUL byte",
});

/** The params of a resource.d agent: its positional arguments. */
export const resourceDParamsSchema = z.strictObject({
  args: z.union([
    z.array(argText).max(MAX_RESOURCE_D_ARGS),
    argText.refine((s) => s.split("::").length <= MAX_RESOURCE_D_ARGS, {
      error: `at most ${MAX_RESOURCE_D_ARGS} arguments`,
    }),
  ]).optional().describe(
    "positional arguments before the action: a list, or one haresources-style string " +
      'split on "::" (e.g. "10.0.0.1/24/eth0" or "/dev/sdb1::/ha::ext3")',
  ),
});

/** Parsed params of a resource.d agent. */
export type ResourceDParams = z.output<typeof resourceDParamsSchema>;

/** Options of {@link resourceDAgent}. */
export interface ResourceDAgentOptions {
  /** Directories searched in order; defaults to {@link DEFAULT_RESOURCE_D_DIRS}. */
  dirs?: readonly string[];
  /**
   * Searched after `dirs`, as Heartbeat's ResourceManager does with `/etc/init.d`; default
   * {@link DEFAULT_LSB_DIR}; `null` searches only `dirs`.
   */
  initDir?: string | null;
}

/** One resource word of `haresources`, split into script and arguments. */
export interface HaresourcesResource {
  /** The script name, e.g. `IPaddr`, `Filesystem`, `httpd`. */
  type: string;
  /** Its positional arguments, e.g. `["/dev/sdb1", "/ha", "ext3"]`; empty for a bare name. */
  args: string[];
}

/** Thrown by {@link parseHaresourcesResource} for a word it cannot read. */
export class HaresourcesResourceError extends Error {
  /** The resource word that could not be read. */
  readonly word: string;

  /**
   * Builds the error; the message names the word and the reason.
   *
   * @param word the resource word
   * @param reason what is wrong with it
   */
  constructor(word: string, reason: string) {
    super(`haresources resource "${word}": ${reason}`);
    this.name = "HaresourcesResourceError";
    this.word = word;
  }
}

/** Heartbeat's `isip`: a word of the form `[0-9]*.[0-9]*.[0-9]*.[0-9]*` is an address. */
const IP_WORD = /^[0-9].*\.[0-9].*\.[0-9].*\.[0-9]/;

/**
 * Parses one resource word of `haresources` the way Heartbeat's ResourceManager does:
 * `TYPE::ARG1::ARG2...` gives the script TYPE and its positional arguments; a bare name is a
 * script without arguments; a word that starts like an IPv4 address (`10.0.0.1`,
 * `10.0.0.1/24/eth0`) is short for `IPaddr::WORD`.
 *
 * @example
 * ```ts
 * parseHaresourcesResource("IPaddr::10.0.0.1/24/eth0"); // { type: "IPaddr", args: ["10.0.0.1/24/eth0"] }
 * parseHaresourcesResource("10.0.0.1");                 // { type: "IPaddr", args: ["10.0.0.1"] }
 * parseHaresourcesResource("httpd");                    // { type: "httpd", args: [] }
 * ```
 * @throws {HaresourcesResourceError} for an empty word, whitespace or NUL inside, an empty or
 *   non-plain script name (`../x`), or more than {@link MAX_RESOURCE_D_ARGS} arguments
 */
export function parseHaresourcesResource(word: string): HaresourcesResource {
  if (word.length === 0) throw new HaresourcesResourceError(word, "empty resource");
  if (/[\s\0]/.test(word)) {
    throw new HaresourcesResourceError(word, "must not contain whitespace or NUL");
  }
  if (word.length > MAX_ARG_CHARS) {
    throw new HaresourcesResourceError(word, `longer than ${MAX_ARG_CHARS} characters`);
  }
  if (!word.includes("::") && IP_WORD.test(word)) return { type: "IPaddr", args: [word] };
  const [type, ...args] = word.split("::");
  if (type === "") throw new HaresourcesResourceError(word, "no script name before '::'");
  if (!isLsbScriptName(type)) {
    throw new HaresourcesResourceError(word, `"${type}" is not a plain script name`);
  }
  if (args.length > MAX_RESOURCE_D_ARGS) {
    throw new HaresourcesResourceError(word, `more than ${MAX_RESOURCE_D_ARGS} arguments`);
  }
  return { type, args };
}

/** The positional arguments of parsed params. */
export function resourceDArgs(params: ResourceDParams): string[] {
  const { args } = params;
  if (args === undefined) return [];
  return typeof args === "string" ? args.split("::") : [...args];
}

/** Longest description kept, in characters. */
const MAX_DESCRIPTION_CHARS = 200;

/**
 * Finds a resource script's own description in its leading comments (pure): the paragraph
 * of its `# Description:` comment (the rest of that line and the comment lines after it, up
 * to an empty comment line or another `Field:`), else its `usage:` comment. Undefined when
 * there is neither.
 */
export function parseResourceDDescription(text: string): string | undefined {
  const lines = text.split("\n");
  const at = lines.findIndex((l) => /^#[ \t]*Description:/.test(l));
  if (at >= 0) {
    const words: string[] = [lines[at].replace(/^#[ \t]*Description:/, "").trim()];
    for (let i = at + 1; i < lines.length && i <= at + 20; i++) {
      const body = /^#+(.*)$/.exec(lines[i])?.[1].trim();
      if (body === undefined || /^[A-Z][\w -]*:/.test(body) || /^#+$/.test(body)) break;
      if (body === "") {
        if (words.join("") === "") continue; // "Description:" alone, text starts below
        break;
      }
      words.push(body);
    }
    const description = words.join(" ").replace(/\s+/g, " ").trim();
    if (description) return description.slice(0, MAX_DESCRIPTION_CHARS);
  }
  const usage = /^#[ \t]*(usage:.+)$/im.exec(text)?.[1];
  return usage?.replace(/\\$/, "").replace(/\s+/g, " ").trim().slice(0, MAX_DESCRIPTION_CHARS);
}

/** Reads the first few KiB of `path` and finds its description ({@link parseResourceDDescription}). */
export function readResourceDDescription(path: string): string | undefined {
  const head = readFileHead(path, MAX_DESCRIPTION_SCAN_BYTES);
  return head === undefined ? undefined : parseResourceDDescription(head);
}

/**
 * Where `heartbeat:NAME` lives: the first executable `DIR/NAME` over `dirs`, then `initDir`.
 * Undefined when `name` is not a plain script name or no such script exists.
 */
export function findResourceDScript(
  name: string,
  opts: ResourceDAgentOptions = {},
): string | undefined {
  if (!isLsbScriptName(name)) return undefined;
  const initDir = opts.initDir === undefined ? DEFAULT_LSB_DIR : opts.initDir;
  const dirs = [...(opts.dirs ?? DEFAULT_RESOURCE_D_DIRS), ...(initDir === null ? [] : [initDir])];
  for (const dir of dirs) {
    const path = `${dir}/${name}`;
    if (isExecutableFile(path)) return path;
  }
  return undefined;
}

/**
 * Reads ResourceManager's verdict from `status` output: running when it says so.
 * `[Nn][Oo][Tt] *[Rr]unning` is checked first, so "not running" is not mistaken for running.
 */
export function statusOutputSaysRunning(stdout: string): boolean {
  if (/[Nn][Oo][Tt] [\s\S]*[Rr]unning/.test(stdout)) return false;
  return /[Rr]unning|OK/.test(stdout);
}

/** The resource-agent name of `heartbeat:NAME` (plugin names allow only `[A-Za-z0-9_-]`). */
export function resourceDDefinitionName(script: string): string {
  return `heartbeat-${script.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

/**
 * Builds the resource-agent definition of the Heartbeat v1 resource script `name`
 * (`NAME` or `heartbeat:NAME`). Runs nothing.
 *
 * The definition's `name` is {@link resourceDDefinitionName} (`heartbeat-NAME`), since
 * plugin names cannot contain `:`; configurations refer to it as `heartbeat:NAME`.
 *
 * @returns the definition, or undefined when `name` is not a plain script name or no
 *   executable script of that name is found (see {@link findResourceDScript})
 */
export function resourceDAgent(
  name: string,
  opts: ResourceDAgentOptions = {},
): ResourceAgentDefinition<typeof resourceDParamsSchema> | undefined {
  const script = name.startsWith("heartbeat:") ? name.slice("heartbeat:".length) : name;
  const path = findResourceDScript(script, opts);
  if (path === undefined) return undefined;
  // A PATH and the C locale. Heartbeat's own variables (`HA_DIR`, `HA_BIN`, ...) are left to
  // the defaults its shell libraries set (ocf-directories), which match the installed layout
  // better than anything guessed here.
  const env = plainScriptEnv();

  const run = async (
    action: "start" | "stop" | "status",
    ctx: AgentContext<ResourceDParams>,
  ): Promise<ScriptResult> => {
    // Most resource.d scripts wrap an OCF agent: give it the OCF adapter's HA_RSCTMP so its
    // state files stay under Vigil's state directory.
    const rscTmp = `${ctx.stateDir}/ocf-rsctmp`;
    try {
      await mkdir(rscTmp, { recursive: true });
    } catch (e) {
      return {
        outcome: "spawn-error",
        message: `cannot create ${rscTmp}: ${errorText(e)}`,
        stdout: "",
      };
    }
    return await runScript(
      {
        path,
        args: [...resourceDArgs(ctx.params), action],
        env: { ...env, HA_RSCTMP: rscTmp },
        // Every line goes to ctx.log: the LRM's executor keeps the tail, the useful end.
        maxLogBytes: Infinity,
      },
      { signal: ctx.signal, log: ctx.log },
    );
  };

  const startStop = (action: "start" | "stop") => async (ctx: AgentContext<ResourceDParams>) => {
    const code = scriptExitCode(await run(action, ctx), action, ctx.log);
    if (code === undefined) return OCF.ERR_GENERIC;
    if (code >= 0 && code <= OCF.ERR_CONFIGURED) return code;
    ctx.log(`${action}: exit code ${code}: ERR_GENERIC`);
    return OCF.ERR_GENERIC;
  };

  return {
    kind: "resource-agent",
    name: resourceDDefinitionName(script),
    version: "0.0.0",
    description: readResourceDDescription(path) ?? `Heartbeat resource script ${path}`,
    params: resourceDParamsSchema,
    actions: {
      start: startStop("start"),
      stop: startStop("stop"),
      async monitor(ctx) {
        const result = await run("status", ctx);
        // The exit code is ignored (see the module doc); only a run that did not exit fails.
        if (scriptExitCode(result, "status", ctx.log) === undefined) return OCF.ERR_GENERIC;
        return statusOutputSaysRunning(result.stdout) ? OCF.OK : OCF.NOT_RUNNING;
      },
    },
    timeouts: {
      start: DEFAULT_RESOURCE_D_TIMEOUT_MS,
      stop: DEFAULT_RESOURCE_D_TIMEOUT_MS,
      monitor: DEFAULT_RESOURCE_D_TIMEOUT_MS,
    },
  };
}
