/**
 * Adapts an OCF resource-agent script (`ocf:PROVIDER:TYPE`, e.g. the `Dummy` of the
 * resource-agents package at `/usr/lib/ocf/resource.d/heartbeat/Dummy`) to Vigil's
 * resource-agent contract.
 *
 * Each action runs the script (through `runScript` of ra/script_runner.ts) with the action
 * name as its argument, in its own process group, with the OCF environment (`OCF_ROOT`,
 * `OCF_RESKEY_<param>`, `OCF_RESKEY_CRM_meta_timeout` from the operation's timeout,
 * `OCF_CHECK_LEVEL` from the monitor's depth, `HA_RSCTMP`, ...). When the operation's signal aborts (timeout), the
 * whole group is sent SIGTERM, then SIGKILL after a short grace, so helper processes the
 * script started die with it.
 *
 * Results: exit codes 0 to 9 and 190/191 are OCF codes and returned as they are; any other
 * exit code is returned raw too (the LRM reports it as unexpected, it is never passed off
 * as an OCF code); a script killed by a signal nobody here sent makes the action throw
 * (`killed by SIGSEGV`), which the LRM reports as an error.
 *
 * Output goes to `ctx.log` line by line as it comes, however much there is (the LRM keeps
 * the tail); a line without end is cut to its last {@link MAX_LINE_BYTES} bytes, so memory
 * stays bounded even for an agent that prints megabytes without a newline. After the
 * script exits, its output pipes are drained only briefly (a daemon it started, such as
 * IPaddr2's send_arp, may hold them).
 *
 * The `meta-data` is read once, when the definition is built: default timeouts, version,
 * descriptions, the optional actions it lists (`promote`, `demote`, `notify`) and its
 * parameters, which become the zod params schema (names, required, types, defaults and
 * descriptions, as `describeParams` shows for TypeScript plugins).
 *
 * @example
 * ```ts
 * const dummy = ocfAgent("ocf:heartbeat:Dummy");
 * if (dummy) await dummy.actions.start(ctx); // ctx: AgentContext from the LRM
 * ```
 * @module
 */

import { spawnSync } from "node:child_process";
import { mkdir } from "node:fs/promises";
import process from "node:process";
import { z } from "zod";
import { type AgentContext, OCF, type ResourceAgentDefinition } from "../plugins/resource_agent.ts";
import {
  MAX_METADATA_CHARS,
  type OcfMetadata,
  type OcfParameter,
  parseOcfMetadata,
} from "./ocf_metadata.ts";
import { isExecutableFile } from "./agent_tools.ts";
import { MAX_LINE_BYTES, runScript, scriptPath } from "./script_runner.ts";

/** Longest line passed to `ctx.log` (from ra/script_runner.ts, which cuts the lines). */
export { MAX_LINE_BYTES };

/** The standard location of OCF agents on Linux. */
const STANDARD_OCF_ROOT = "/usr/lib/ocf";

/**
 * Where OCF agents live when no root is given: `$OCF_ROOT` when this process has it (as
 * for every OCF caller), else the Linux standard location `/usr/lib/ocf`.
 */
export const DEFAULT_OCF_ROOT: string = process.env.OCF_ROOT || STANDARD_OCF_ROOT;

/** Timeout of an action when the meta-data advises none, in ms. */
export const DEFAULT_OCF_TIMEOUT_MS = 20_000;

/** How long the `meta-data` call may take while the definition is built, in ms. */
export const METADATA_TIMEOUT_MS = 5_000;

/** A provider or type: a plain file name, so it can never walk out of `resource.d`. */
const PLAIN_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$/;

/** A parameter name usable as an `OCF_RESKEY_` suffix. */
const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** Options of {@link ocfAgent}. */
export interface OcfAgentOptions {
  /** The OCF root directory; defaults to {@link DEFAULT_OCF_ROOT}. */
  ocfRoot?: string;
}

/** A parsed `ocf:PROVIDER:TYPE` reference. */
export interface OcfSpec {
  /** The provider, e.g. `heartbeat`. */
  provider: string;
  /** The agent type, e.g. `Dummy`. */
  type: string;
}

/**
 * Parses `ocf:PROVIDER:TYPE`. PROVIDER and TYPE must be plain names (letters, digits,
 * `_`, `-`), which rules out `/`, `..` and anything else that could leave `resource.d`.
 *
 * @returns the parts, or undefined when `spec` is not such a reference
 */
export function parseOcfSpec(spec: string): OcfSpec | undefined {
  const parts = spec.split(":");
  if (parts.length !== 3 || parts[0] !== "ocf") return undefined;
  const [, provider, type] = parts;
  if (!PLAIN_NAME.test(provider) || !PLAIN_NAME.test(type)) return undefined;
  return { provider, type };
}

/** One parameter value an OCF script can get through its environment. */
type OcfValue = string | number | boolean;

function isOcfValue(v: unknown): v is OcfValue {
  return (typeof v === "string" && !v.includes("\0")) ||
    (typeof v === "number" && Number.isFinite(v)) || typeof v === "boolean";
}

const VALUE_ERROR = "expected a string (without NUL bytes), a finite number or a boolean";

/**
 * One parameter value. A custom check rather than a union so that the JSON-schema view
 * (`describeParams`) shows the OCF type given in the meta-data, not the union.
 */
const ocfValue = () => z.custom<OcfValue>(isOcfValue, { error: VALUE_ERROR });

const paramName = z.string().regex(PARAM_NAME, {
  error: "expected a parameter name of letters, digits and '_' (an OCF_RESKEY_ suffix)",
});

/**
 * The params of an OCF agent without meta-data: any name usable in an environment
 * variable, mapped to a string, number or boolean. The script itself checks meaning
 * (`validate-all`).
 */
export const ocfParamsSchema = z.record(paramName, ocfValue());

/** Parsed params of an OCF agent. */
export type OcfParams = Record<string, OcfValue>;

/** The JSON-schema type shown for an OCF content type. */
function shownType(type: string | undefined): string {
  return type === "integer" || type === "boolean" ? type : "string";
}

/**
 * The params schema of an agent whose meta-data lists `parameters`: each listed one
 * described (type, default, description; required when `required="1"`), others still
 * accepted as for {@link ocfParamsSchema} (scripts take parameters they do not list).
 * Defaults are shown, not filled in: the script applies its own.
 */
export function ocfParamsSchemaFor(parameters: readonly OcfParameter[]): z.ZodType<OcfParams> {
  const shape: Record<string, z.ZodType> = {};
  for (const p of parameters) {
    if (!PARAM_NAME.test(p.name)) continue;
    const description = p.shortdesc && p.longdesc && p.longdesc !== p.shortdesc
      ? `${p.shortdesc}: ${p.longdesc}`
      : p.shortdesc ?? p.longdesc;
    const meta = {
      type: shownType(p.type),
      ...(p.default !== undefined ? { default: p.default } : {}),
      ...(description ? { description } : {}),
    };
    shape[p.name] = p.required ? ocfValue().meta(meta) : ocfValue().optional().meta(meta);
  }
  return z.object(shape).catchall(ocfValue()).superRefine((params, ctx) => {
    for (const key of Object.keys(params)) {
      if (!PARAM_NAME.test(key)) {
        ctx.addIssue({
          code: "custom",
          path: [key],
          message: "expected a parameter name of letters, digits and '_' (an OCF_RESKEY_ suffix)",
        });
      }
    }
  }) as unknown as z.ZodType<OcfParams>;
}

/** The OCF actions Vigil runs, with the script argument each maps to. */
const SCRIPT_ACTION = {
  start: "start",
  stop: "stop",
  monitor: "monitor",
  validate: "validate-all",
  promote: "promote",
  demote: "demote",
  notify: "notify",
} as const;

type ScriptAction = keyof typeof SCRIPT_ACTION;

/** The environment every call of the script gets (without per-resource variables). */
function baseEnv(root: string, spec: OcfSpec): Record<string, string> {
  const env: Record<string, string> = {
    OCF_ROOT: root,
    OCF_FUNCTIONS_DIR: `${root}/lib/heartbeat`,
    OCF_RESOURCE_TYPE: spec.type,
    OCF_RESOURCE_PROVIDER: spec.provider,
    OCF_RA_VERSION_MAJOR: "1",
    OCF_RA_VERSION_MINOR: "0",
    PATH: scriptPath(),
  };
  return env;
}

/** Runs `meta-data` synchronously (bounded in time and size); undefined when it fails. */
function readMetadata(script: string, env: Record<string, string>): OcfMetadata | undefined {
  try {
    const result = spawnSync(script, ["meta-data"], {
      env: { ...env, OCF_RESOURCE_INSTANCE: "meta-data" },
      timeout: METADATA_TIMEOUT_MS,
      killSignal: "SIGKILL",
      maxBuffer: MAX_METADATA_CHARS,
      stdio: ["ignore", "pipe", "ignore"],
      encoding: "utf8",
    });
    if (result.status !== OCF.OK || typeof result.stdout !== "string") return undefined;
    return parseOcfMetadata(result.stdout);
  } catch {
    return undefined;
  }
}

/**
 * Runs the script once with `argument` and resolves with its exit code, raw whatever it is
 * (ERR_GENERIC when the operation was aborted: the process group was killed). Every output
 * line reaches `ctx.log` (the LRM keeps the tail).
 *
 * @throws Error when the script could not be started or was killed by a signal nobody
 *   here sent (`monitor: killed by SIGSEGV`)
 */
async function runOcfScript(
  script: string,
  argument: string,
  env: Record<string, string>,
  ctx: AgentContext<OcfParams>,
): Promise<number> {
  const result = await runScript(
    { path: script, args: [argument], env, captureStdoutBytes: 0, maxLogBytes: Infinity },
    { signal: ctx.signal, log: ctx.log },
  );
  switch (result.outcome) {
    case "exited":
      return result.code;
    case "aborted":
      return OCF.ERR_GENERIC;
    case "killed":
      throw new Error(`${argument}: killed by ${result.signal}`);
    case "spawn-error":
      throw new Error(`cannot run ${script}: ${result.message}`);
  }
}

/**
 * Builds the resource-agent definition of the OCF agent `spec` (`ocf:PROVIDER:TYPE`).
 * Runs the script's `meta-data` once (synchronously, at most {@link METADATA_TIMEOUT_MS})
 * for the default timeouts, version, descriptions, parameters and optional actions.
 *
 * The definition's `name` is `ocf-PROVIDER-TYPE`, since plugin names cannot contain `:`.
 *
 * @param spec the agent reference, e.g. `ocf:heartbeat:Dummy`
 * @param opts `ocfRoot`: the OCF root (default {@link DEFAULT_OCF_ROOT})
 * @returns the definition, or undefined when `spec` is malformed or the script at
 *   `${ocfRoot}/resource.d/PROVIDER/TYPE` is missing or not executable
 */
export function ocfAgent(
  spec: string,
  opts: OcfAgentOptions = {},
): ResourceAgentDefinition<z.ZodType<OcfParams>> | undefined {
  const parsed = parseOcfSpec(spec);
  if (!parsed) return undefined;
  const root = opts.ocfRoot ?? DEFAULT_OCF_ROOT;
  const script = `${root}/resource.d/${parsed.provider}/${parsed.type}`;
  if (!isExecutableFile(script)) return undefined;

  const env = baseEnv(root, parsed);
  const meta = readMetadata(script, env);
  const advised = (action: string) => meta?.actionTimeouts[action] ?? DEFAULT_OCF_TIMEOUT_MS;
  const timeouts = {
    start: advised("start"),
    stop: advised("stop"),
    monitor: advised("monitor"),
  };

  const action = (name: ScriptAction) => async (ctx: AgentContext<OcfParams>): Promise<number> => {
    const argument = SCRIPT_ACTION[name];
    const rscTmp = `${ctx.stateDir}/ocf-rsctmp`;
    try {
      await mkdir(rscTmp, { recursive: true });
    } catch (e) {
      ctx.log(`${argument}: cannot create ${rscTmp}: ${(e as Error).message}`);
      return OCF.ERR_GENERIC;
    }
    // Callers of the contract always give the operation's timeout; the advice is a fallback.
    const timeoutMs = ctx.timeoutMs ?? advised(argument);
    const runEnv: Record<string, string> = {
      ...env,
      OCF_RESOURCE_INSTANCE: ctx.resourceId,
      OCF_RESKEY_CRM_meta_timeout: String(Math.round(timeoutMs)),
      HA_RSCTMP: rscTmp,
    };
    if (name === "monitor") runEnv.OCF_CHECK_LEVEL = String(ctx.depth ?? 0);
    for (const [key, value] of Object.entries(ctx.params)) {
      if (value !== undefined) runEnv[`OCF_RESKEY_${key}`] = String(value);
    }
    return await runOcfScript(script, argument, runEnv, ctx);
  };

  // Promotable agents list promote/demote; notify-aware ones list notify.
  const listed = (name: string) => meta?.actions.includes(name) ?? false;
  const optional: Partial<Record<"promote" | "demote" | "notify", ReturnType<typeof action>>> = {};
  for (const name of ["promote", "demote", "notify"] as const) {
    if (listed(name)) optional[name] = action(name);
  }

  return {
    kind: "resource-agent",
    name: `ocf-${parsed.provider}-${parsed.type}`,
    version: meta?.version ?? "0.0.0",
    description: meta?.shortdesc ?? `OCF agent ${spec}`,
    params: meta && meta.parameters.length > 0
      ? ocfParamsSchemaFor(meta.parameters)
      : ocfParamsSchema,
    actions: {
      start: action("start"),
      stop: action("stop"),
      monitor: action("monitor"),
      validate: action("validate"),
      ...optional,
    },
    timeouts,
    ...(meta?.longdesc ? { metadata: { longDescription: meta.longdesc } } : {}),
  };
}
