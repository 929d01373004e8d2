/**
 * Adapts an OCF resource-agent script (`ocf:PROVIDER:TYPE`, e.g. the `Dummy` of the
 * resource-agents package at `/usr/lib/ocf/resource.d/heartbeat/Dummy`) to Vigil's
 * resource-agent contract.
 *
 * Each action runs the script with the action name as its argument, in its own process
 * group, with the OCF environment (`OCF_ROOT`, `OCF_RESKEY_<param>`, `HA_RSCTMP`, ...).
 * When the operation's signal aborts (timeout), the whole group is sent SIGTERM, then
 * SIGKILL after a short grace, so helper processes the script started die with it.
 * Default timeouts, version and description come from the script's `meta-data`.
 *
 * @example
 * ```ts
 * const dummy = ocfAgent("ocf:heartbeat:Dummy");
 * if (dummy) await dummy.actions.start(ctx); // ctx: AgentContext from the LRM
 * ```
 * @module
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import process from "node:process";
import { z } from "zod";
import { type AgentContext, OCF, type ResourceAgentDefinition } from "../plugins/resource_agent.ts";
import { MAX_METADATA_CHARS, type OcfMetadata, parseOcfMetadata } from "./ocf_metadata.ts";

/** Where OCF agents live when no root is given (the Linux standard location). */
export const DEFAULT_OCF_ROOT = "/usr/lib/ocf";

/** Timeout of an action when the meta-data advises none, in ms. */
export const DEFAULT_OCF_TIMEOUT_MS = 20_000;

/** How long the `meta-data` call may take while the definition is built, in ms. */
export const METADATA_TIMEOUT_MS = 5_000;

/** Grace between SIGTERM and SIGKILL of an aborted action's process group, in ms. */
export const KILL_GRACE_MS = 500;

/** Most bytes of script output passed to `ctx.log` per action; the rest is dropped. */
export const MAX_ACTION_OUTPUT_BYTES = 64 * 1024;

/** How long to wait for the output pipes after the script exited (a daemon may hold them). */
const PIPE_DRAIN_MS = 200;

/** A provider or type: a plain file name, so it can never walk out of `resource.d`. */
const PLAIN_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$/;

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

/**
 * The params of an OCF agent: any name usable in an environment variable, mapped to a
 * string, number or boolean. The script itself checks meaning (`validate-all`).
 */
export const ocfParamsSchema = z.record(
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, {
    error: "expected a parameter name of letters, digits and '_' (an OCF_RESKEY_ suffix)",
  }),
  z.union([
    z.string().refine((s) => !s.includes("\0"), { error: "must not contain a NUL byte" }),
    z.number().refine(Number.isFinite, { error: "expected a finite number" }),
    z.boolean(),
  ]),
);

/** Parsed params of an OCF agent. */
export type OcfParams = z.output<typeof ocfParamsSchema>;

/** The OCF actions Vigil runs, with the script argument each maps to. */
const SCRIPT_ACTION = {
  start: "start",
  stop: "stop",
  monitor: "monitor",
  validate: "validate-all",
} as const;

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The environment every call of the script gets (without per-resource variables). */
function baseEnv(root: string, spec: OcfSpec): Record<string, string> {
  const env: Record<string, string> = {
    OCF_ROOT: root,
    OCF_FUNCTIONS_DIR: `${root}/lib/heartbeat`,
    OCF_RESOURCE_TYPE: spec.type,
    OCF_RESOURCE_PROVIDER: spec.provider,
    OCF_RA_VERSION_MAJOR: "1",
    OCF_RA_VERSION_MINOR: "0",
  };
  const path = process.env.PATH;
  if (path !== undefined) env.PATH = path;
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

/** Splits a byte stream into lines for `log`, forwarding at most `budget.bytes` bytes. */
class BoundedLineLog {
  #partial = "";
  #decoder = new TextDecoder();
  #dropped = false;

  constructor(
    private readonly prefix: string,
    private readonly budget: { bytes: number },
    private readonly log: (line: string) => void,
  ) {}

  write(chunk: Uint8Array): void {
    if (this.budget.bytes <= 0) {
      this.#dropped = true;
      return;
    }
    const take = chunk.subarray(0, this.budget.bytes);
    if (take.length < chunk.length) this.#dropped = true;
    this.budget.bytes -= take.length;
    const lines = (this.#partial + this.#decoder.decode(take, { stream: true })).split("\n");
    this.#partial = lines.pop() ?? "";
    for (const line of lines) this.log(this.prefix + line);
  }

  /** Flushes the last partial line and notes dropped output, once. */
  end(): void {
    const rest = this.#partial + this.#decoder.decode();
    this.#partial = "";
    if (rest) this.log(this.prefix + rest);
    if (this.#dropped) {
      this.log(`${this.prefix}[output truncated at ${MAX_ACTION_OUTPUT_BYTES} bytes]`);
      this.#dropped = false;
    }
  }
}

/** Sends `signal` to the process group led by `child`; a gone group is not an error. */
function killGroup(child: ChildProcess, signal: "SIGTERM" | "SIGKILL"): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/** What one run of the script needs besides the context. */
interface RunSpec {
  script: string;
  argument: string;
  env: Record<string, string>;
}

/**
 * Runs the script once and resolves with its OCF code. On abort, kills the process group
 * (SIGTERM, then SIGKILL after {@link KILL_GRACE_MS}) and resolves with ERR_GENERIC.
 */
function runScript(run: RunSpec, ctx: AgentContext<OcfParams>): Promise<number> {
  return new Promise((resolve) => {
    if (ctx.signal.aborted) {
      resolve(OCF.ERR_GENERIC);
      return;
    }
    const budget = { bytes: MAX_ACTION_OUTPUT_BYTES };
    const out = new BoundedLineLog("", budget, ctx.log);
    const err = new BoundedLineLog("stderr: ", budget, ctx.log);
    // detached: the script leads a new process group, so the group can be killed at once.
    const child = spawn(run.script, [run.argument], {
      env: run.env,
      cwd: "/",
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let settled = false;
    let graceTimer: ReturnType<typeof setTimeout> | undefined;
    let drainTimer: ReturnType<typeof setTimeout> | undefined;

    const finish = (rc: number) => {
      if (settled) return;
      settled = true;
      clearTimeout(graceTimer);
      clearTimeout(drainTimer);
      ctx.signal.removeEventListener("abort", onAbort);
      out.end();
      err.end();
      child.stdout?.destroy();
      child.stderr?.destroy();
      resolve(rc);
    };
    const onAbort = () => {
      ctx.log(`${run.argument}: aborted (${String(ctx.signal.reason)}); killing process group`);
      killGroup(child, "SIGTERM");
      graceTimer = setTimeout(() => killGroup(child, "SIGKILL"), KILL_GRACE_MS);
    };
    ctx.signal.addEventListener("abort", onAbort, { once: true });

    child.stdout?.on("data", (chunk: Uint8Array) => out.write(chunk));
    child.stderr?.on("data", (chunk: Uint8Array) => err.write(chunk));
    child.on("error", (e) => {
      ctx.log(`${run.argument}: cannot run ${run.script}: ${e.message}`);
      finish(OCF.ERR_GENERIC);
    });
    const toCode = (code: number | null, signal: string | null): number => {
      if (ctx.signal.aborted) return OCF.ERR_GENERIC;
      if (code === null) {
        ctx.log(`${run.argument}: killed by ${signal}`);
        return OCF.ERR_GENERIC;
      }
      if (code >= 0 && code <= 9) return code;
      ctx.log(`${run.argument}: exit code ${code} is not an OCF code; treated as ERR_GENERIC`);
      return OCF.ERR_GENERIC;
    };
    child.on("close", (code, signal) => finish(toCode(code, signal)));
    child.on("exit", (code, signal) => {
      if (ctx.signal.aborted) {
        // The leader is dead; make sure the rest of the group follows before settling.
        killGroup(child, "SIGKILL");
      }
      // A daemon started by `start` may keep the pipes open forever: do not wait for it.
      drainTimer = setTimeout(() => finish(toCode(code, signal)), PIPE_DRAIN_MS);
    });
  });
}

/**
 * Builds the resource-agent definition of the OCF agent `spec` (`ocf:PROVIDER:TYPE`).
 * Runs the script's `meta-data` once (synchronously, at most {@link METADATA_TIMEOUT_MS})
 * for the default timeouts, version and description.
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
): ResourceAgentDefinition<typeof ocfParamsSchema> | undefined {
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
  const validateTimeout = advised("validate-all");

  const action =
    (name: keyof typeof SCRIPT_ACTION, timeoutMs: number) =>
    async (ctx: AgentContext<OcfParams>): Promise<number> => {
      const rscTmp = `${ctx.stateDir}/ocf-rsctmp`;
      try {
        await mkdir(rscTmp, { recursive: true });
      } catch (e) {
        ctx.log(`${SCRIPT_ACTION[name]}: cannot create ${rscTmp}: ${(e as Error).message}`);
        return OCF.ERR_GENERIC;
      }
      const runEnv: Record<string, string> = {
        ...env,
        OCF_RESOURCE_INSTANCE: ctx.resourceId,
        // The executor does not pass the operation's timeout; the default is the best guess.
        OCF_RESKEY_CRM_meta_timeout: String(timeoutMs),
        HA_RSCTMP: rscTmp,
      };
      for (const [key, value] of Object.entries(ctx.params)) {
        runEnv[`OCF_RESKEY_${key}`] = String(value);
      }
      return await runScript({ script, argument: SCRIPT_ACTION[name], env: runEnv }, ctx);
    };

  return {
    kind: "resource-agent",
    name: `ocf-${parsed.provider}-${parsed.type}`,
    version: meta?.version ?? "0.0.0",
    description: meta?.shortdesc ?? `OCF agent ${spec}`,
    params: ocfParamsSchema,
    actions: {
      start: action("start", timeouts.start),
      stop: action("stop", timeouts.stop),
      monitor: action("monitor", timeouts.monitor),
      validate: action("validate", validateTimeout),
    },
    timeouts,
  };
}
