/**
 * Small tools the built-in resource agents share: finding a program, running a short
 * command and reading its output, bounding a time limit by the operation's, reading the
 * head of a file, the state file of agents that only record "started" (Dummy, the
 * endpoint checks), and turning a caught value into a log line.
 *
 * Short commands (`ip`, `mount`, a monitor hook) run through {@link runCommand}: no
 * shell, a time bound, bounded output, the operation's signal. Resource-agent scripts
 * (init scripts, resource.d scripts), which must lead their own process group and log
 * line by line, run through `runScript` of ra/script_runner.ts instead.
 *
 * @example
 * ```ts
 * const ip = findProgram("ip", ["/usr/sbin", "/sbin"]);
 * if (ip === undefined) return OCF.ERR_INSTALLED;
 * const r = await runCommand(ip, ["-o", "addr", "show"], {
 *   signal: ctx.signal,
 *   timeoutMs: timeoutWithin(10_000, ctx.timeoutMs),
 *   maxOutputBytes: 1024 * 1024,
 * });
 * if (r.code !== 0) ctx.log(describeCommandFailure("ip -o addr show", r));
 * ```
 * @module
 */

import { execFile } from "node:child_process";
import { accessSync, closeSync, constants, openSync, readSync, statSync } from "node:fs";
import { mkdir, rm, stat, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import process from "node:process";
import { type AgentContext, OCF, type OcfCode } from "../plugins/resource_agent.ts";

// ---------------------------------------------------------------------------------------
// Errors

/** The message of a caught value: an Error's `message`, anything else as a string. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// ---------------------------------------------------------------------------------------
// Programs

/** Where {@link resolveProgram} looks when `$PATH` is not set. */
export const DEFAULT_PROGRAM_DIRS: readonly string[] = Object.freeze(["/usr/bin", "/bin"]);

/** Most `$PATH` entries looked at (a runaway `$PATH` is cut there). */
const MAX_PATH_DIRS = 256;

/** True when `path` is a regular file this process may execute. */
export function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The absolute directories of `$PATH`, in order (relative entries are skipped). */
function pathDirs(): string[] {
  return (process.env.PATH ?? "").split(":", MAX_PATH_DIRS).filter((d) => d.startsWith("/"));
}

/**
 * The absolute path of program `name`: the first executable `DIR/name` over the absolute
 * directories of `$PATH`, then over `fallbackDirs` (where system tools live even when
 * `$PATH` leaves them out, e.g. `/usr/sbin` for a daemon started with a user's PATH).
 *
 * @param name a program name without `/`
 * @param fallbackDirs absolute directories searched after `$PATH`, in order
 * @returns the path, or undefined when no such executable file exists
 * @throws RangeError when `name` is empty or contains `/`
 */
export function findProgram(
  name: string,
  fallbackDirs: readonly string[] = [],
): string | undefined {
  if (name === "" || name.includes("/")) {
    throw new RangeError(`findProgram: not a program name: ${JSON.stringify(name)}`);
  }
  for (const dir of [...pathDirs(), ...fallbackDirs]) {
    if (isExecutableFile(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  return undefined;
}

/**
 * Resolves a program the way a shell would: a name with a `/` (absolute or relative) is
 * taken as it is, a bare name is looked up in `$PATH` ({@link DEFAULT_PROGRAM_DIRS} when
 * `$PATH` is not set).
 *
 * @returns the path of an executable file, or undefined when there is none
 */
export function resolveProgram(name: string): string | undefined {
  if (name.includes("/")) return isExecutableFile(name) ? name : undefined;
  if (name === "") return undefined;
  return findProgram(name, process.env.PATH === undefined ? DEFAULT_PROGRAM_DIRS : []);
}

// ---------------------------------------------------------------------------------------
// Short commands

/** How {@link runCommand} runs a command. */
export interface CommandOptions {
  /** The operation's signal: aborting it kills the command. */
  signal: AbortSignal;
  /** Time bound in ms: the command is SIGKILLed when it runs longer. */
  timeoutMs: number;
  /** Most bytes of stdout (and of stderr) read; a command writing more is killed. */
  maxOutputBytes: number;
  /** Working directory; by default this process's. */
  cwd?: string;
}

/** How a short command ended. */
export interface CommandResult {
  /** Exit code; -1 when the program could not run or was killed. */
  code: number;
  /** Its standard output (at most `maxOutputBytes`), decoded as UTF-8. */
  stdout: string;
  /** Its standard error (at most `maxOutputBytes`), decoded as UTF-8. */
  stderr: string;
  /** Why the command did not exit by itself (not found, timed out, aborted), if so. */
  failure?: string;
}

/**
 * Runs `file args` (no shell) and captures its output, bounded in time and size and
 * ended by `opts.signal`. Never rejects: every failure is in the result.
 */
export function runCommand(
  file: string,
  args: readonly string[],
  opts: CommandOptions,
): Promise<CommandResult> {
  if (!(opts.timeoutMs > 0) || !(opts.maxOutputBytes > 0)) {
    throw new RangeError(
      `runCommand: timeoutMs and maxOutputBytes must be > 0 (${opts.timeoutMs}, ${opts.maxOutputBytes})`,
    );
  }
  return new Promise((resolve) => {
    execFile(file, [...args], {
      signal: opts.signal,
      timeout: opts.timeoutMs,
      killSignal: "SIGKILL",
      maxBuffer: opts.maxOutputBytes,
      encoding: "utf8",
      ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
    }, (err, stdout, stderr) => {
      if (!err) return resolve({ code: 0, stdout, stderr });
      const e = err as Error & { code?: unknown; killed?: boolean };
      if (typeof e.code === "number") return resolve({ code: e.code, stdout, stderr });
      // execFile marks a child it killed itself (the time bound) as `killed`.
      const failure = e.killed ? `timed out after ${opts.timeoutMs} ms` : e.message;
      resolve({ code: -1, stdout, stderr, failure });
    });
  });
}

/** Why a command did not succeed: its failure (e.g. `timed out after 100 ms`) or `exit N`. */
export function commandFailureReason(r: CommandResult): string {
  return r.failure ?? `exit ${r.code}`;
}

/**
 * A log line for a failed command: `WHAT: REASON` and, when there is any, `: DETAIL`.
 *
 * @param what names the command, e.g. `ip addr add 10.0.0.1/24 dev eth0`
 * @param detail what the command said; by default its trimmed stderr
 */
export function describeCommandFailure(
  what: string,
  r: CommandResult,
  detail: string = r.stderr.trim(),
): string {
  return `${what}: ${commandFailureReason(r)}${detail ? `: ${detail}` : ""}`;
}

/**
 * A tool's own time bound, never beyond the operation's (whose signal ends it anyway),
 * and at least 1 ms.
 *
 * @param limitMs the tool's own bound
 * @param operationTimeoutMs the operation's timeout, when known
 */
export function timeoutWithin(limitMs: number, operationTimeoutMs: number | undefined): number {
  return Math.max(1, Math.min(limitMs, operationTimeoutMs ?? limitMs));
}

// ---------------------------------------------------------------------------------------
// Files

/**
 * The first `maxBytes` of the file at `path`, decoded as UTF-8 (e.g. to read a script's
 * header comments); undefined when it cannot be read.
 */
export function readFileHead(path: string, maxBytes: number): string | undefined {
  if (!(Number.isInteger(maxBytes) && maxBytes >= 0)) {
    throw new RangeError(`readFileHead: maxBytes must be a whole number (${maxBytes})`);
  }
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const buf = new Uint8Array(maxBytes);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return new TextDecoder().decode(buf.subarray(0, n));
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------
// The state file of an agent that only records "started"

/**
 * Records that the resource is started: writes `content` to the state file at `path`,
 * creating its directory. Logs `AGENT: cannot write PATH: ...` on failure.
 *
 * @returns OK, or ERR_GENERIC when the file could not be written
 */
export async function writeStateFile(
  ctx: AgentContext<unknown>,
  agent: string,
  path: string,
  content: string,
): Promise<OcfCode> {
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content, { signal: ctx.signal });
    return OCF.OK;
  } catch (err) {
    ctx.log(`${agent}: cannot write ${path}: ${errorText(err)}`);
    return OCF.ERR_GENERIC;
  }
}

/**
 * Records that the resource is stopped: removes the state file at `path`. A missing file
 * is a stopped resource, so this is idempotent, as stop must be.
 *
 * @returns OK, or ERR_GENERIC (logged) when the file could not be removed
 */
export async function removeStateFile(
  ctx: AgentContext<unknown>,
  agent: string,
  path: string,
): Promise<OcfCode> {
  try {
    await rm(path, { force: true });
    return OCF.OK;
  } catch (err) {
    ctx.log(`${agent}: cannot remove ${path}: ${errorText(err)}`);
    return OCF.ERR_GENERIC;
  }
}

/**
 * Whether the state file at `path` says the resource is started.
 *
 * @returns OK when the file exists, NOT_RUNNING when it does not, ERR_GENERIC (logged)
 *   when that cannot be told
 */
export async function stateFileStatus(
  ctx: AgentContext<unknown>,
  agent: string,
  path: string,
): Promise<OcfCode> {
  try {
    await stat(path);
    return OCF.OK;
  } catch (err) {
    if ((err as { code?: unknown }).code === "ENOENT") return OCF.NOT_RUNNING;
    ctx.log(`${agent}: cannot check ${path}: ${errorText(err)}`);
    return OCF.ERR_GENERIC;
  }
}
