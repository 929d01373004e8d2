/**
 * `vigil ra`: the resource agents on this machine — list them, describe one, and run one
 * operation by hand through the LRM's own executor (like ocf-tester's manual mode).
 *
 * @example
 * ```ts
 * const code = await raCommand.run(["run", "ocf:heartbeat:Dummy", "monitor"], consoleIo);
 * // prints the agent's output, then: monitor of ocf:heartbeat:Dummy (resource ra-run):
 * //   rc 7 NOT_RUNNING (not running), 31 ms; code === 7
 * ```
 * @module
 */

import { mkdirSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { parseArgs } from "node:util";
import { loadPluginDirectories } from "../../plugins/loader.ts";
import { defaultPluginDirs } from "../../plugins/loader.ts";
import { describeParams, type ParamDescription } from "../../plugins/param_description.ts";
import type { ResourceAgentDefinition } from "../../plugins/resource_agent.ts";
import {
  AGENT_SOURCES,
  type AgentListing,
  AgentResolver,
  type AgentSource,
  type LocatedAgent,
} from "../../ra/agent_resolver.ts";
import { parseDuration } from "../duration.ts";
import {
  DEFAULT_ACTION_TIMEOUT_MS,
  type ExecutorAction,
  OperationExecutor,
  type OperationResult,
} from "../lrm/executor.ts";
import { OCF_CODES } from "../lrm/ocf_codes.ts";
import { suggestNames } from "../suggest.ts";
import { type CliCommand, type CliIo, UsageError } from "./command.ts";

/** The resource id `vigil ra run` uses when no `--resource` is given. */
export const DEFAULT_RA_RESOURCE_ID = "ra-run";

/** The state directory `vigil ra run` gives agents when no `--state-dir` is given. */
export function defaultRaStateDir(): string {
  return `${tmpdir()}/vigil-ra`;
}

/** Most `--param` options accepted. */
const MAX_PARAMS = 256;

/** Largest monitor depth accepted (OCF uses 0, 10, 20 ...). */
const MAX_DEPTH = 1000;

const HELP = `vigil ra list [--json] [--class ocf|lsb|heartbeat|builtin|plugin]
vigil ra describe AGENT [--json]
vigil ra run AGENT ACTION [--param NAME=VALUE ...] [--resource ID] [--timeout D]
             [--depth N] [--state-dir DIR] [--json]

Resource agents: built-in TypeScript agents (Dummy, HttpService, ...), plugins from
the plugin directories, OCF scripts (ocf:PROVIDER:TYPE), LSB init scripts
(lsb:NAME) and Heartbeat v1 resource.d scripts (heartbeat:NAME).

  list       every agent found on this machine with its source and description
             (OCF descriptions need the script's meta-data: see describe)
  describe   an agent's parameters (type, required, default, description),
             actions and timeouts
  run        runs one operation through the LRM's executor, as the cluster would:
             prints the agent's output and the result code with its OCF name,
             and exits with that code. ACTION is start, stop, monitor (status),
             validate (validate-all), promote, demote, notify or meta-data.

  --param NAME=VALUE   a resource parameter (repeat for several; a repeated NAME
                       gives a list); values are converted to the parameter's type
  --resource ID        the resource id (OCF_RESOURCE_INSTANCE; default ${DEFAULT_RA_RESOURCE_ID})
  --timeout D          operation timeout, e.g. 20s, 500ms (default: the agent's)
  --depth N            monitor depth (OCF_CHECK_LEVEL; default 0)
  --state-dir DIR      the agents' state directory (default ${defaultRaStateDir()})
  --json               print JSON instead of text
  --class SOURCE       list only agents from SOURCE
  --plugin-dir DIR     load plugins from DIR (repeatable; default: $VIGIL_PLUGIN_DIR,
                       /etc/vigil/plugins, plugins/ next to the vigil binary)
  --ocf-root DIR       OCF root (default $OCF_ROOT or /usr/lib/ocf)
  --lsb-dir DIR        init scripts (default /etc/init.d)
  --resource-d DIR     Heartbeat resource scripts (repeatable; default /etc/ha.d/resource.d)`;

/** Action words `vigil ra run` accepts, with OCF's spellings mapped to the executor's. */
const ACTION_WORDS: Readonly<Record<string, ExecutorAction>> = {
  start: "start",
  stop: "stop",
  monitor: "monitor",
  status: "monitor",
  validate: "validate",
  "validate-all": "validate",
  promote: "promote",
  demote: "demote",
  notify: "notify",
  "meta-data": "meta-data",
  metadata: "meta-data",
};

/** The OCF name of each code (`OK`, `NOT_RUNNING`, ...). */
const OCF_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(OCF_CODES).map(([name, code]) => [code, name]),
);

/** The OCF name of `rc`, or `UNKNOWN` for a code OCF does not define. */
export function ocfCodeName(rc: number): string {
  return OCF_NAMES.get(rc) ?? "UNKNOWN";
}

/** The options every subcommand takes. */
const COMMON_OPTIONS = {
  json: { type: "boolean", default: false },
  "plugin-dir": { type: "string", multiple: true },
  "ocf-root": { type: "string" },
  "lsb-dir": { type: "string" },
  "resource-d": { type: "string", multiple: true },
} as const;

type Parsed = {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
};

/** node:util parseArgs, with its errors turned into usage errors naming the subcommand. */
function parse(sub: string, args: string[], extra: Record<string, unknown>): Parsed {
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: { ...COMMON_OPTIONS, ...extra } as typeof COMMON_OPTIONS,
    }) as Parsed;
  } catch (e) {
    throw new UsageError(`vigil ra ${sub}: ${(e as Error).message}`);
  }
}

/** Builds the resolver from the common options, printing plugin load errors as warnings. */
async function makeResolver(values: Parsed["values"], io: CliIo): Promise<AgentResolver> {
  const dirs = (values["plugin-dir"] as string[] | undefined) ?? defaultPluginDirs();
  const loaded = await loadPluginDirectories(dirs);
  for (const error of loaded.errors) io.err(`vigil ra: warning: ${error.message}`);
  const resourceD = values["resource-d"] as string[] | undefined;
  return new AgentResolver({
    plugins: loaded.resourceAgents,
    ...(typeof values["ocf-root"] === "string" ? { ocfRoot: values["ocf-root"] } : {}),
    ...(typeof values["lsb-dir"] === "string" ? { lsbDir: values["lsb-dir"] } : {}),
    ...(resourceD ? { resourceDDirs: resourceD } : {}),
  });
}

/** Resolves `name` or throws a usage error that suggests close names. */
function locateOrThrow(resolver: AgentResolver, name: string, sub: string): LocatedAgent {
  const located = resolver.locate(name);
  if (located) return located;
  const names = resolver.list().map((l) => l.name);
  // "IPaddr2" means "ocf:heartbeat:IPaddr2" to many people: offer the qualified names too.
  const sameType = names.filter((n) => n.split(":").at(-1)?.toLowerCase() === name.toLowerCase());
  const close = [...new Set([...sameType, ...suggestNames(name, names)])].slice(0, 5);
  const hint = close.length > 0 ? `; did you mean ${close.join(", ")}?` : "; see vigil ra list";
  throw new UsageError(`vigil ra ${sub}: unknown agent "${name}"${hint}`);
}

/** Pads every column but the last to its widest cell (bounded), for text tables. */
function table(rows: string[][], maxWidth = 40): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => widths[i] = Math.min(maxWidth, Math.max(widths[i] ?? 0, cell.length)));
  }
  return rows.map((row) =>
    row.map((cell, i) => i === row.length - 1 ? cell : cell.padEnd(widths[i])).join("  ")
      .trimEnd()
  );
}

async function listCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse("list", args, { class: { type: "string" } });
  if (positionals.length > 0) {
    throw new UsageError(`vigil ra list: unexpected argument "${positionals[0]}"`);
  }
  const only = values.class as string | undefined;
  if (only !== undefined && !AGENT_SOURCES.includes(only as AgentSource)) {
    throw new UsageError(
      `vigil ra list: --class must be one of ${AGENT_SOURCES.join(", ")}, not "${only}"`,
    );
  }
  const resolver = await makeResolver(values, io);
  const listing = resolver.list().filter((l) => only === undefined || l.source === only);
  if (values.json) {
    io.out(JSON.stringify(listing, null, 2));
    return 0;
  }
  const rows = listing.map((l: AgentListing) => [l.name, l.source, l.description]);
  io.out(table([["AGENT", "SOURCE", "DESCRIPTION"], ...rows]).join("\n"));
  return 0;
}

/** One action of an agent and its default timeout. */
export interface ActionDescription {
  /** The action, as `vigil ra run` takes it (`start`, `validate`, ...). */
  name: string;
  /** Its default timeout in ms. */
  timeoutMs: number;
}

/** What `vigil ra describe --json` prints. */
export interface AgentDescription {
  /** The name as given (how configurations refer to it). */
  name: string;
  /** The definition's own name (e.g. `ocf-heartbeat-Dummy`). */
  definitionName: string;
  /** Where the agent comes from. */
  source: AgentSource;
  /** The script, for script agents. */
  path?: string;
  /** The agent's version. */
  version: string;
  /** Its one-line description. */
  description: string;
  /** Its long description (OCF `longdesc`, LSB `Description:`), when it has a different one. */
  longDescription?: string;
  /** Its parameters, from its params schema (for OCF scripts, built from their meta-data). */
  parameters: ParamDescription[];
  /** The actions it implements, with default timeouts. */
  actions: ActionDescription[];
}

/** The actions an agent implements, in OCF order, with their default timeouts. */
function actionsOf(def: ResourceAgentDefinition): ActionDescription[] {
  const order = ["start", "stop", "monitor", "validate", "promote", "demote", "notify"] as const;
  const timeouts = def.timeouts as Partial<Record<string, number>>;
  return order
    .filter((a) => typeof (def.actions as Record<string, unknown>)[a] === "function")
    .map((a) => ({ name: a, timeoutMs: timeouts[a] ?? DEFAULT_ACTION_TIMEOUT_MS }));
}

/** Describes a located agent (pure apart from reading its definition). */
export function describeAgent(name: string, located: LocatedAgent): AgentDescription {
  const def = located.definition;
  const longDescription = def.metadata?.longDescription;
  return {
    name,
    definitionName: def.name,
    source: located.source,
    ...(located.path ? { path: located.path } : {}),
    version: def.version,
    description: def.description,
    ...(longDescription && longDescription !== def.description ? { longDescription } : {}),
    parameters: describeParams(def.params),
    actions: actionsOf(def),
  };
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function renderDescription(d: AgentDescription): string[] {
  const lines = [
    `${d.name} (${d.source}${d.path ? ` ${d.path}` : ""}, version ${d.version})`,
    `  ${d.description}`,
  ];
  if (d.longDescription) lines.push("", ...wrap(d.longDescription, 76).map((l) => `  ${l}`));
  lines.push("", "Parameters:");
  if (d.parameters.length === 0) lines.push("  (none)");
  for (const p of d.parameters) {
    const facts = [p.type, p.required ? "required" : "optional"];
    if (p.default !== undefined) facts.push(`default ${JSON.stringify(p.default)}`);
    lines.push(`  ${p.name} (${facts.join(", ")})`);
    if (p.description) lines.push(...wrap(p.description, 72).map((l) => `      ${l}`));
  }
  lines.push("", "Actions (default timeout):");
  lines.push(...table(d.actions.map((a) => [`  ${a.name}`, formatMs(a.timeoutMs)])));
  return lines;
}

/** Wraps text at spaces to lines of at most `width` characters (longer words stay whole). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

async function describeCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse("describe", args, {});
  if (positionals.length !== 1) throw new UsageError("vigil ra describe: give one AGENT");
  const resolver = await makeResolver(values, io);
  const name = positionals[0];
  const description = describeAgent(name, locateOrThrow(resolver, name, "describe"));
  io.out(
    values.json ? JSON.stringify(description, null, 2) : renderDescription(description).join("\n"),
  );
  return 0;
}

/** The zod-like schema of one field of an object schema, when the schema has a shape. */
function fieldSchema(
  schema: unknown,
  key: string,
): { safeParse(v: unknown): { success: boolean } } | undefined {
  const shape = (schema as { shape?: Record<string, unknown> }).shape;
  const field = shape && typeof shape === "object" ? shape[key] : undefined;
  return field && typeof (field as { safeParse?: unknown }).safeParse === "function"
    ? field as { safeParse(v: unknown): { success: boolean } }
    : undefined;
}

/** The values a command-line text may stand for, most literal first. */
function interpretations(text: string): unknown[] {
  const out: unknown[] = [text];
  if (text.trim() !== "" && Number.isFinite(Number(text))) out.push(Number(text));
  if (text === "true" || text === "false") out.push(text === "true");
  if (/^[[{"]/.test(text)) {
    try {
      out.push(JSON.parse(text));
    } catch {
      // not JSON: the text stays a string
    }
  }
  out.push([text]); // a list parameter given once
  return out;
}

/**
 * Turns `--param NAME=VALUE` options into a params object for `def`: a repeated NAME gives
 * a list; each value is converted to what the parameter's schema accepts (number, boolean,
 * JSON) when the text itself is not accepted. Unknown names are usage errors for agents
 * whose parameters are all known (OCF scripts may take parameters they do not list).
 */
export function paramsFromOptions(
  options: readonly string[],
  located: LocatedAgent,
  agentName: string,
): Record<string, unknown> {
  if (options.length > MAX_PARAMS) {
    throw new UsageError(`vigil ra run: at most ${MAX_PARAMS} --param options`);
  }
  const texts = new Map<string, string[]>();
  for (const option of options) {
    const eq = option.indexOf("=");
    if (eq <= 0) {
      throw new UsageError(`vigil ra run: --param "${option}": expected NAME=VALUE`);
    }
    const key = option.slice(0, eq);
    texts.set(key, [...(texts.get(key) ?? []), option.slice(eq + 1)]);
  }
  const def = located.definition;
  const known = describeParams(def.params).map((p) => p.name);
  const hasShape = typeof (def.params as { shape?: unknown }).shape === "object";
  const params: Record<string, unknown> = {};
  for (const [key, values] of texts) {
    if (hasShape && located.source !== "ocf" && !known.includes(key)) {
      const close = suggestNames(key, known);
      const hint = known.length === 0
        ? `; ${agentName} takes no parameters`
        : `;${close.length > 0 ? ` did you mean ${close.join(", ")}?` : ""} ` +
          `(parameters: ${known.join(", ")})`;
      throw new UsageError(`vigil ra run: unknown parameter "${key}" for ${agentName}${hint}`);
    }
    const field = fieldSchema(def.params, key);
    const candidates = values.length === 1
      ? interpretations(values[0])
      : [values, values.map((v) => interpretations(v)[1] ?? v)];
    params[key] = field === undefined
      ? candidates[0]
      : candidates.find((c) => field.safeParse(c).success) ?? candidates[0];
  }
  return params;
}

/** What `vigil ra run --json` prints. */
export interface RunReport {
  /** The agent as named on the command line. */
  agent: string;
  /** The action run (OCF spellings mapped: `status` is `monitor`, `validate-all` `validate`). */
  action: ExecutorAction;
  /** The resource id the agent saw. */
  resourceId: string;
  /** The result code; also the exit code of `vigil ra run`. */
  rc: number;
  /** Its OCF name (`OK`, `NOT_RUNNING`, ...; `UNKNOWN` for a code OCF does not define). */
  rcName: string;
  /** Its meaning in words, as the LRM prints it. */
  rcText: string;
  /** How the operation ended (`done`, `timeout`, `invalid-params`, ...). */
  status: OperationResult["status"];
  /** How long it ran, in whole ms. */
  durationMs: number;
  /** The agent's output and the executor's notes. */
  output: string;
}

async function runOperationCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse("run", args, {
    param: { type: "string", multiple: true },
    resource: { type: "string" },
    timeout: { type: "string" },
    depth: { type: "string" },
    "state-dir": { type: "string" },
  });
  if (positionals.length !== 2) throw new UsageError("vigil ra run: give AGENT and ACTION");
  const [agentName, actionWord] = positionals;
  const action = ACTION_WORDS[actionWord];
  if (action === undefined) {
    const close = suggestNames(actionWord, Object.keys(ACTION_WORDS));
    throw new UsageError(
      `vigil ra run: unknown action "${actionWord}"` +
        (close.length > 0
          ? `; did you mean ${close.join(", ")}?`
          : `; actions are ${Object.keys(ACTION_WORDS).join(", ")}`),
    );
  }
  let timeoutMs: number | undefined;
  if (typeof values.timeout === "string") {
    timeoutMs = parseDuration(values.timeout);
    if (timeoutMs === undefined || !(timeoutMs > 0)) {
      throw new UsageError(`vigil ra run: --timeout is not a duration: "${values.timeout}"`);
    }
  }
  let depth = 0;
  if (typeof values.depth === "string") {
    depth = Number(values.depth);
    if (!/^\d+$/.test(values.depth) || depth > MAX_DEPTH) {
      throw new UsageError(
        `vigil ra run: --depth must be an integer from 0 to ${MAX_DEPTH}, not "${values.depth}"`,
      );
    }
  }
  const resourceId = (values.resource as string | undefined) ?? DEFAULT_RA_RESOURCE_ID;
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}$/.test(resourceId)) {
    throw new UsageError(`vigil ra run: --resource "${resourceId}" is not a resource id`);
  }

  const resolver = await makeResolver(values, io);
  const located = locateOrThrow(resolver, agentName, "run");
  const params = paramsFromOptions(
    (values.param as string[] | undefined) ?? [],
    located,
    agentName,
  );
  const stateDir = (values["state-dir"] as string | undefined) ?? defaultRaStateDir();
  try {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  } catch (e) {
    io.err(`vigil ra run: cannot create the state directory ${stateDir}: ${(e as Error).message}`);
    return 1;
  }

  const executor = new OperationExecutor({ node: hostname(), stateDir, maxConcurrent: 1 });
  const result = await executor.run({
    resourceId,
    agent: located.definition,
    action,
    params,
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(action === "monitor" ? { depth } : {}),
  });
  const report: RunReport = {
    agent: agentName,
    action,
    resourceId,
    rc: result.rc,
    rcName: ocfCodeName(result.rc),
    rcText: result.rcText,
    status: result.status,
    durationMs: Math.round(result.durationMs),
    output: result.output,
  };
  if (values.json) {
    io.out(JSON.stringify(report, null, 2));
  } else {
    if (result.output) io.out(result.output);
    const how = result.status === "done" ? "" : ` [${result.status}]`;
    io.out(
      `${action} of ${agentName} (resource ${resourceId}): ` +
        `rc ${report.rc} ${report.rcName} (${report.rcText}), ${report.durationMs} ms${how}`,
    );
  }
  // An exit status is one byte; OCF codes (0..9, 190, 191) fit.
  return report.rc >= 0 && report.rc <= 255 ? report.rc : 1;
}

/** `vigil ra`. */
export const raCommand: CliCommand = {
  name: "ra",
  summary: "vigil ra list|describe|run   resource agents on this machine; run one by hand",
  help: HELP,
  async run(args, io) {
    const [sub, ...rest] = args;
    switch (sub) {
      case "list":
        return await listCommand(rest, io);
      case "describe":
        return await describeCommand(rest, io);
      case "run":
        return await runOperationCommand(rest, io);
    }
    throw new UsageError(
      `vigil ra: ${sub === undefined ? "give a subcommand" : `unknown subcommand "${sub}"`}` +
        `\n\n${HELP}`,
    );
  },
};
