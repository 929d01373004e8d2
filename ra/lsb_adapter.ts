/**
 * Adapts an LSB init script (`lsb:NAME`, i.e. `/etc/init.d/NAME`) to Vigil's resource-agent
 * contract.
 *
 * An init script takes no parameters and is called as `/etc/init.d/NAME start|stop|status`
 * with no environment contract (it gets a bare `PATH` and `LANG=C`). Exit codes are mapped
 * the way Pacemaker's executor does it (`services__lsb2ocf` in lib/services/services_lsb.c):
 *
 * | action          | LSB exit code                                 | OCF result         |
 * | --------------- | --------------------------------------------- | ------------------ |
 * | start, stop     | 0..7 (shared with OCF: 1 generic ... 7)       | the same code      |
 * | start, stop     | anything else                                 | ERR_GENERIC        |
 * | status (monitor)| 0 running                                     | OK                 |
 * | status          | 1 dead, pid file exists; 2 dead, lock file; 3 not running | NOT_RUNNING |
 * | status          | 150 not installed (Pacemaker's own code)      | ERR_INSTALLED      |
 * | status          | 151 insufficient privilege (Pacemaker's)      | ERR_PERM           |
 * | status          | 4 unknown, anything else                      | ERR_GENERIC        |
 *
 * So a service that died leaving its pid or lock file behind counts as cleanly stopped, as in
 * Pacemaker: the cluster then starts it again (which an LSB `start` must cope with) rather
 * than treating the node as failed. The LSB requires `stop` of a stopped service to exit 0;
 * a script that does not is reported as it exits (a failed stop), again as Pacemaker does.
 *
 * When the operation's signal aborts (its timeout), the script's whole process group is
 * killed (see ra/script_runner.ts).
 *
 * @example
 * ```ts
 * const ssh = lsbAgent("ssh"); // /etc/init.d/ssh, or undefined when absent
 * if (ssh) await ssh.actions.monitor(ctx); // runs `/etc/init.d/ssh status`
 * ```
 * @module
 */

import { z } from "zod";
import { type AgentContext, OCF, type ResourceAgentDefinition } from "../plugins/resource_agent.ts";
import { isExecutableFile, readFileHead } from "./agent_tools.ts";
import { plainScriptEnv, runScript, scriptExitCode, type ScriptResult } from "./script_runner.ts";

/** Where init scripts live when no directory is given. */
export const DEFAULT_LSB_DIR = "/etc/init.d";

/** Default timeout of every LSB action, in ms (Pacemaker's default operation timeout). */
export const DEFAULT_LSB_TIMEOUT_MS = 20_000;

/** Most bytes of a script read when looking for its `### BEGIN INIT INFO` block. */
export const MAX_LSB_HEADER_BYTES = 16 * 1024;

/**
 * An init script's file name: no `/`, not `.` or `..`, no leading dot (hidden files and
 * editor backups are not services), a conservative character set.
 */
const SCRIPT_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,127}$/;

/** LSB status exit codes (and Pacemaker's two extensions, 150 and 151). */
export const LSB_STATUS = {
  OK: 0,
  VAR_PID: 1,
  VAR_LOCK: 2,
  NOT_RUNNING: 3,
  UNKNOWN: 4,
  NOT_INSTALLED: 150,
  INSUFFICIENT_PRIV: 151,
} as const;

/** Options of {@link lsbAgent}. */
export interface LsbAgentOptions {
  /** The init-script directory; defaults to {@link DEFAULT_LSB_DIR}. */
  lsbDir?: string;
}

/** What an init script's `### BEGIN INIT INFO` block says (the fields Vigil shows). */
export interface LsbHeader {
  /** `# Provides:` */
  provides?: string;
  /** `# Short-Description:` */
  shortDescription?: string;
  /** `# Description:` with its continuation lines, joined by spaces. */
  description?: string;
}

/** LSB agents take no parameters: anything given is a configuration mistake. */
export const lsbParamsSchema = z.strictObject({});

/** Parsed params of an LSB agent (always empty). */
export type LsbParams = z.output<typeof lsbParamsSchema>;

/** True when `name` may name an init script (a plain file name, no path). */
export function isLsbScriptName(name: string): boolean {
  return SCRIPT_NAME.test(name);
}

/** Maps the exit code of `start` or `stop` to an OCF code (0..7 shared, else ERR_GENERIC). */
export function lsbActionToOcf(code: number): number {
  return Number.isInteger(code) && code >= 0 && code <= OCF.NOT_RUNNING ? code : OCF.ERR_GENERIC;
}

/** Maps the exit code of `status` to an OCF monitor result (see the module table). */
export function lsbStatusToOcf(code: number): number {
  switch (code) {
    case LSB_STATUS.OK:
      return OCF.OK;
    case LSB_STATUS.VAR_PID:
    case LSB_STATUS.VAR_LOCK:
    case LSB_STATUS.NOT_RUNNING:
      return OCF.NOT_RUNNING;
    case LSB_STATUS.NOT_INSTALLED:
      return OCF.ERR_INSTALLED;
    case LSB_STATUS.INSUFFICIENT_PRIV:
      return OCF.ERR_PERM;
    default:
      return OCF.ERR_GENERIC;
  }
}

/**
 * Parses the LSB comment block (`### BEGIN INIT INFO` ... `### END INIT INFO`) of a script.
 * Pure; unreadable or missing fields are absent.
 */
export function parseLsbHeader(text: string): LsbHeader {
  const header: LsbHeader = {};
  const lines = text.split("\n");
  const begin = lines.findIndex((l) => l.startsWith("### BEGIN INIT INFO"));
  if (begin < 0) return header;
  for (let i = begin + 1; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith("### END INIT INFO") || !line.startsWith("#")) break;
    const field = /^#\s*([A-Za-z-]+):\s*(.*)$/.exec(line);
    if (!field) continue;
    const value = field[2].trim();
    switch (field[1]) {
      case "Provides":
        if (value) header.provides = value;
        break;
      case "Short-Description":
        if (value) header.shortDescription = value;
        break;
      case "Description": {
        // Continuation lines start with '#' and a tab or at least two spaces (the LSB).
        const parts = value ? [value] : [];
        while (i + 1 < lines.length && /^#(\t| {2,})/.test(lines[i + 1])) {
          parts.push(lines[++i].slice(1).trim());
        }
        if (parts.length > 0) header.description = parts.join(" ");
        break;
      }
    }
  }
  return header;
}

/** Reads the first {@link MAX_LSB_HEADER_BYTES} of `path` and parses its LSB header. */
export function readLsbHeader(path: string): LsbHeader {
  const head = readFileHead(path, MAX_LSB_HEADER_BYTES);
  return head === undefined ? {} : parseLsbHeader(head);
}

/** The resource-agent name of `lsb:NAME` (plugin names allow only letters, digits, `_`, `-`). */
export function lsbDefinitionName(script: string): string {
  return `lsb-${script.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

/**
 * Builds the resource-agent definition of the init script `name` (`NAME` or `lsb:NAME`).
 * Reads the script's LSB header for its description; runs nothing.
 *
 * The definition's `name` is {@link lsbDefinitionName} (`lsb-NAME`, other characters as
 * `_`), since plugin names cannot contain `:`; configurations refer to it as `lsb:NAME`.
 *
 * @returns the definition, or undefined when `name` is not a plain script name or
 *   `${lsbDir}/NAME` is not an executable file
 */
export function lsbAgent(
  name: string,
  opts: LsbAgentOptions = {},
): ResourceAgentDefinition<typeof lsbParamsSchema> | undefined {
  const script = name.startsWith("lsb:") ? name.slice(4) : name;
  if (!isLsbScriptName(script)) return undefined;
  const path = `${opts.lsbDir ?? DEFAULT_LSB_DIR}/${script}`;
  if (!isExecutableFile(path)) return undefined;
  const header = readLsbHeader(path);

  const run = async (
    argument: "start" | "stop" | "status",
    ctx: AgentContext<LsbParams>,
  ): Promise<ScriptResult> =>
    await runScript(
      // Every line goes to ctx.log: the LRM's executor keeps the tail, the useful end.
      { path, args: [argument], env: plainScriptEnv(), maxLogBytes: Infinity },
      { signal: ctx.signal, log: ctx.log },
    );

  const startStop = (argument: "start" | "stop") => async (ctx: AgentContext<LsbParams>) => {
    const code = scriptExitCode(await run(argument, ctx), argument, ctx.log);
    if (code === undefined) return OCF.ERR_GENERIC;
    const rc = lsbActionToOcf(code);
    if (rc !== code) ctx.log(`${argument}: LSB exit code ${code}: ERR_GENERIC`);
    return rc;
  };

  return {
    kind: "resource-agent",
    name: lsbDefinitionName(script),
    version: "0.0.0",
    description: header.shortDescription ?? header.description ?? `LSB init script ${path}`,
    ...(header.description ? { metadata: { longDescription: header.description } } : {}),
    params: lsbParamsSchema,
    actions: {
      start: startStop("start"),
      stop: startStop("stop"),
      async monitor(ctx) {
        const code = scriptExitCode(await run("status", ctx), "status", ctx.log);
        if (code === undefined) return OCF.ERR_GENERIC;
        const rc = lsbStatusToOcf(code);
        if (rc !== OCF.OK && rc !== OCF.NOT_RUNNING) {
          ctx.log(`status: LSB exit code ${code}: the service's state is unknown`);
        }
        return rc;
      },
    },
    timeouts: {
      start: DEFAULT_LSB_TIMEOUT_MS,
      stop: DEFAULT_LSB_TIMEOUT_MS,
      monitor: DEFAULT_LSB_TIMEOUT_MS,
    },
  };
}
