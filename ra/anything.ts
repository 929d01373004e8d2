/**
 * `anything`: runs any program as a managed daemon, the built-in counterpart of
 * ocf:heartbeat:anything.
 *
 * - start spawns `binfile` with `cmdline_options` in its own process group (a new
 *   session), stdout and stderr appended to `logfile` / `errlogfile`, writes the pid
 *   file, then watches the process for `start_wait` ms: if it exits meanwhile, start
 *   fails and logs its exit status and the tail of its error log.
 * - monitor: the pid in the pid file is alive AND is the process start launched. Next to
 *   the pid file the agent records the process's start time (`/proc/PID/stat`, field 22);
 *   a pid that now belongs to another process (pid reuse after a crash) is a failure, not
 *   a running resource. An optional `monitor_hook` command then checks the service itself.
 * - stop sends `kill_signal` (SIGTERM) to the whole process group, waits up to
 *   `stop_timeout` ms, then SIGKILLs the group, and removes the pid file. A process that is
 *   no longer ours is never signalled.
 *
 * The program must stay in the foreground (not fork into the background itself), since
 * the pid start records is the one monitored. `cmdline_options` is split into arguments
 * like a shell would split words, with '…', "…" and backslash quoting, but without any
 * expansion (no $VAR, globs or redirections): nothing runs through a shell. There is no
 * `user` parameter: switching users needs privileges this agent does not assume; run the
 * program through `setpriv`/`runuser` as `binfile` if needed.
 *
 * @example
 * ```ts
 * // { id: "web", agent: "anything", params: { binfile: "/usr/bin/python3",
 * //   cmdline_options: "-m http.server 8080", workdir: "/srv/www" } }
 * ```
 * @module
 */

import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync, statSync } from "node:fs";
import { mkdir, open, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, isAbsolute } from "node:path";
import process from "node:process";
import { z } from "zod";
import {
  type AgentContext,
  defineResourceAgent,
  OCF,
  type OcfCode,
} from "../plugins/resource_agent.ts";
import {
  describeCommandFailure,
  errorText,
  resolveProgram,
  runCommand,
  timeoutWithin,
} from "./agent_tools.ts";
import { integerParam } from "./params.ts";

// ---------------------------------------------------------------------------------------
// Pure helpers (exported for tests)

/** Most arguments {@link splitCommandLine} produces. */
export const MAX_ARGUMENTS = 1024;

/**
 * Splits a command line into arguments like a POSIX shell splits words: blanks separate
 * arguments; '…' keeps everything literally; "…" keeps everything but `\"`, `\\`, `\$`
 * and `` \` `` escapes; a backslash outside quotes escapes the next character. Nothing
 * is expanded.
 *
 * @throws Error on an unterminated quote, a trailing backslash or more than
 *   {@link MAX_ARGUMENTS} arguments
 */
export function splitCommandLine(line: string): string[] {
  const args: string[] = [];
  let current = "";
  let inWord = false;
  let i = 0;
  const push = () => {
    if (!inWord) return;
    if (args.length >= MAX_ARGUMENTS) throw new Error(`more than ${MAX_ARGUMENTS} arguments`);
    args.push(current);
    current = "";
    inWord = false;
  };
  while (i < line.length) {
    const c = line[i];
    if (c === " " || c === "\t" || c === "\n") {
      push();
      i++;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error("unterminated ' quote");
      current += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      inWord = true;
      i++;
      while (true) {
        if (i >= line.length) throw new Error('unterminated " quote');
        const d = line[i];
        if (d === '"') break;
        if (d === "\\" && i + 1 < line.length && '"\\$`'.includes(line[i + 1])) {
          current += line[i + 1];
          i += 2;
        } else {
          current += d;
          i++;
        }
      }
      i++;
    } else if (c === "\\") {
      if (i + 1 >= line.length) throw new Error("trailing backslash");
      current += line[i + 1];
      inWord = true;
      i += 2;
    } else {
      current += c;
      inWord = true;
      i++;
    }
  }
  push();
  return args;
}

/** What `/proc/PID/stat` says about a process. */
export interface ProcStat {
  /** State letter: R, S, D, Z (zombie), T, ... */
  state: string;
  /** Process group id. */
  pgrp: number;
  /** Start time in clock ticks since boot (field 22): with the pid, names one process. */
  startTicks: number;
}

/**
 * Parses the text of `/proc/PID/stat`. The command name (field 2) is in parentheses and
 * may itself contain spaces and parentheses, so fields are counted after the last `)`.
 */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(")");
  if (close < 0) return undefined;
  // After ") ": field 3 (state) is index 0, field 5 (pgrp) index 2, field 22 index 19.
  const fields = text.slice(close + 2).trim().split(/\s+/);
  if (fields.length < 20) return undefined;
  const pgrp = Number(fields[2]);
  const startTicks = Number(fields[19]);
  if (!Number.isInteger(pgrp) || !Number.isInteger(startTicks)) return undefined;
  return { state: fields[0], pgrp, startTicks };
}

// ---------------------------------------------------------------------------------------
// Parameters

const absolutePath = z.string().min(1).refine((s) => isAbsolute(s) && !s.includes("\0"), {
  error: "expected an absolute path",
});

const commandLine = z.string().refine((s) => {
  try {
    splitCommandLine(s);
    return true;
  } catch {
    return false;
  }
}, { error: "expected a command line with balanced quotes and at most 1024 arguments" });

const params = z.object({
  binfile: z.string().min(1).refine((s) => !s.includes("\0"), { error: "must not contain NUL" })
    .describe("The program to run: an absolute path, or a name looked up in $PATH."),
  cmdline_options: commandLine.default("").describe(
    "Its arguments, split like shell words ('…', \"…\", \\ quoting) but never expanded.",
  ),
  pidfile: absolutePath.optional().describe(
    "Pid file the agent writes; by default STATEDIR/anything-RESOURCE.pid.",
  ),
  workdir: absolutePath.default("/").describe("Working directory of the program."),
  logfile: absolutePath.default("/dev/null").describe(
    "File its standard output is appended to.",
  ),
  errlogfile: absolutePath.optional().describe(
    "File its standard error is appended to; by default logfile.",
  ),
  stop_timeout: integerParam(0, 3_600_000).prefault(10_000).describe(
    "Milliseconds stop waits after kill_signal before it sends SIGKILL.",
  ),
  kill_signal: z.enum(["SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"])
    .default("SIGTERM").describe("The signal stop sends first, to the whole process group."),
  start_wait: integerParam(0, 600_000).prefault(200).describe(
    "Milliseconds start watches the new process: exiting within them fails the start.",
  ),
  monitor_hook: commandLine.optional().describe(
    "A command monitor runs when the process is alive (e.g. a health probe); " +
      "a non-zero exit is a failure. Split like cmdline_options; $PATH lookup.",
  ),
});

/** The parsed parameters of an `anything` resource. */
export type AnythingParams = z.output<typeof params>;

// ---------------------------------------------------------------------------------------
// I/O

/** How often stop and start poll a process, in ms. */
const POLL_MS = 25;
/** How long stop waits after SIGKILL before giving up, in ms. */
const KILL_WAIT_MS = 2_000;
/** Bound of the monitor hook's run time when the operation allows more, in ms. */
const HOOK_TIMEOUT_MS = 60_000;
/** Most bytes of the hook's output kept; and of the error log shown after a failed start. */
const TAIL_BYTES = 2048;

type Ctx = AgentContext<AnythingParams>;

function pidfileOf(ctx: Ctx): string {
  return ctx.params.pidfile ?? `${ctx.stateDir}/anything-${ctx.resourceId}.pid`;
}

/** Where the identity (pid + start time) of the started process is kept. */
function identityOf(ctx: Ctx): string {
  return `${ctx.stateDir}/anything-${ctx.resourceId}.identity`;
}

/** The process `pid` as /proc shows it; undefined when there is no such process. */
function procStat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return undefined;
  }
}

/** Whether `pid` is a live process (a zombie is dead: it only waits to be reaped). */
function isAlive(pid: number): boolean {
  const stat = procStat(pid);
  if (stat) return stat.state !== "Z" && stat.state !== "X";
  // No /proc (not Linux): existence is all we can learn.
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === "EPERM";
  }
}

/** The identity start recorded: the pid and its start time. */
interface Identity {
  pid: number;
  startTicks?: number;
}

async function readPid(path: string): Promise<number | "missing" | "invalid"> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return "missing";
    throw e;
  }
  const pid = Number(text.trim().split("\n")[0]);
  return Number.isInteger(pid) && pid > 1 ? pid : "invalid";
}

async function readIdentity(ctx: Ctx): Promise<Identity | undefined> {
  try {
    const value = JSON.parse(await readFile(identityOf(ctx), "utf8"));
    if (Number.isInteger(value?.pid)) {
      return {
        pid: value.pid,
        startTicks: Number.isInteger(value.startTicks) ? value.startTicks : undefined,
      };
    }
  } catch {
    // Missing or unreadable: the pid file alone decides.
  }
  return undefined;
}

/** What the pid file points at. */
type Tracked =
  | { kind: "none" }
  | { kind: "ours"; pid: number }
  /** The pid file names a process that has died or is now another process. */
  | { kind: "gone"; pid: number; why: string };

/** Reads the pid file and decides whether it names the process start launched. */
async function tracked(ctx: Ctx): Promise<Tracked> {
  const pid = await readPid(pidfileOf(ctx));
  if (pid === "missing") return { kind: "none" };
  if (pid === "invalid") return { kind: "gone", pid: 0, why: `${pidfileOf(ctx)} holds no pid` };
  if (!isAlive(pid)) return { kind: "gone", pid, why: `process ${pid} has exited` };
  const identity = await readIdentity(ctx);
  if (identity?.pid === pid && identity.startTicks !== undefined) {
    const now = procStat(pid)?.startTicks;
    if (now !== undefined && now !== identity.startTicks) {
      return { kind: "gone", pid, why: `process ${pid} died; its pid now belongs to another` };
    }
  }
  return { kind: "ours", pid };
}

/** {@link tracked}; undefined (and a log line) when the pid file cannot be read. */
async function trackedOrLog(ctx: Ctx): Promise<Tracked | undefined> {
  try {
    return await tracked(ctx);
  } catch (e) {
    ctx.log(`anything: cannot read ${pidfileOf(ctx)}: ${errorText(e)}`);
    return undefined;
  }
}

async function removeFiles(ctx: Ctx): Promise<void> {
  await rm(pidfileOf(ctx), { force: true });
  await rm(identityOf(ctx), { force: true });
}

/** Sends `signal` to the process group `pid` leads, or to the process if it has none. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Gone already.
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Polls until `pid` is dead or `ms` pass (or the operation is aborted). */
async function waitForExit(pid: number, ms: number, signal: AbortSignal): Promise<boolean> {
  const rounds = Math.ceil(ms / POLL_MS);
  for (let i = 0; i < rounds && !signal.aborted; i++) {
    if (!isAlive(pid)) return true;
    await sleep(POLL_MS, signal);
  }
  return !isAlive(pid);
}

/** The last {@link TAIL_BYTES} of a regular file, for a failed start's log. */
async function tailOf(path: string): Promise<string> {
  try {
    if (!statSync(path).isFile()) return "";
    const handle = await open(path, "r");
    try {
      const size = (await handle.stat()).size;
      const length = Math.min(size, TAIL_BYTES);
      const buf = new Uint8Array(length);
      await handle.read(buf, 0, length, size - length);
      return new TextDecoder().decode(buf).trim();
    } finally {
      await handle.close();
    }
  } catch {
    return "";
  }
}

/** Runs the monitor hook; resolves with OK or ERR_GENERIC. */
async function runHook(ctx: Ctx, hook: string): Promise<OcfCode> {
  const [cmd, ...args] = splitCommandLine(hook);
  if (cmd === undefined) return OCF.OK;
  const r = await runCommand(cmd, args, {
    signal: ctx.signal,
    timeoutMs: timeoutWithin(HOOK_TIMEOUT_MS, ctx.timeoutMs),
    maxOutputBytes: TAIL_BYTES,
    cwd: ctx.params.workdir,
  });
  if (r.code === 0 && r.failure === undefined) return OCF.OK;
  const output = `${r.stdout}${r.stderr}`.trim().slice(-TAIL_BYTES);
  ctx.log(describeCommandFailure(`anything: monitor_hook ${hook}`, r, output));
  return OCF.ERR_GENERIC;
}

/** Spawns the program and records it; resolves with the start's OCF code. */
async function launch(ctx: Ctx, program: string): Promise<OcfCode> {
  const p = ctx.params;
  const pidfile = pidfileOf(ctx);
  const errlog = p.errlogfile ?? p.logfile;
  try {
    await mkdir(dirname(pidfile), { recursive: true });
    await mkdir(ctx.stateDir, { recursive: true });
    if (!statSync(p.workdir).isDirectory()) {
      throw new Error(`workdir ${p.workdir}: not a directory`);
    }
  } catch (e) {
    ctx.log(`anything: ${errorText(e)}`);
    return OCF.ERR_CONFIGURED;
  }
  const fds: number[] = [];
  let child;
  try {
    const out = openSync(p.logfile, "a");
    fds.push(out);
    const err = errlog === p.logfile ? out : openSync(errlog, "a");
    if (err !== out) fds.push(err);
    // detached: a new session and process group, so stop can signal the whole group and
    // the program survives this process (and is not hit by signals sent to our group).
    child = spawn(program, splitCommandLine(p.cmdline_options), {
      cwd: p.workdir,
      detached: true,
      stdio: ["ignore", out, err],
    });
  } catch (e) {
    ctx.log(`anything: cannot start ${program}: ${errorText(e)}`);
    return OCF.ERR_GENERIC;
  } finally {
    for (const fd of fds) closeSync(fd);
  }
  let exited: string | undefined;
  child.on("error", (e) => exited = `could not run: ${e.message}`);
  child.on("exit", (code, signal) => exited = code !== null ? `exit ${code}` : `signal ${signal}`);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) {
    await sleep(POLL_MS, ctx.signal); // the "error" event carries the reason
    ctx.log(`anything: cannot start ${program}: ${exited ?? "no pid"}`);
    return OCF.ERR_GENERIC;
  }
  try {
    const identity: Identity = { pid, startTicks: procStat(pid)?.startTicks };
    await writeFile(identityOf(ctx), `${JSON.stringify(identity)}\n`);
    await writeFile(pidfile, `${pid}\n`);
  } catch (e) {
    ctx.log(`anything: cannot write ${pidfile}: ${errorText(e)}; stopping ${pid}`);
    signalGroup(pid, "SIGKILL");
    return OCF.ERR_GENERIC;
  }
  const rounds = Math.ceil(p.start_wait / POLL_MS);
  for (let i = 0; i < rounds && !ctx.signal.aborted; i++) {
    if (exited !== undefined || !isAlive(pid)) break;
    await sleep(POLL_MS, ctx.signal);
  }
  if (exited !== undefined || !isAlive(pid)) {
    // Give the exit event a moment to name the status (isAlive may see the death first).
    if (exited === undefined) await sleep(POLL_MS, ctx.signal);
    const tail = await tailOf(errlog);
    ctx.log(`anything: ${program} (pid ${pid}) ended during start: ${exited ?? "exited"}`);
    if (tail) ctx.log(`anything: ${errlog} ends with:\n${tail}`);
    signalGroup(pid, "SIGKILL"); // anything it forked before dying
    await removeFiles(ctx);
    return OCF.ERR_GENERIC;
  }
  ctx.log(`anything: started ${program} as pid ${pid}`);
  return OCF.OK;
}

/** The `anything` agent definition. */
const Anything = defineResourceAgent({
  kind: "resource-agent",
  name: "anything",
  version: "1.0.0",
  description: "Runs any program as a daemon with a pid file, in its own process group.",
  params,
  metadata: {
    longDescription: "Like ocf:heartbeat:anything: start spawns binfile with cmdline_options " +
      "(no shell) in a new process group and records its pid and start time; monitor " +
      "checks that this very process is alive (pid reuse is detected) and runs " +
      "monitor_hook; stop signals the group, then SIGKILLs it after stop_timeout.",
  },
  actions: {
    async start(ctx) {
      const program = resolveProgram(ctx.params.binfile);
      if (!program) {
        ctx.log(`anything: ${ctx.params.binfile} is not an executable file (or not in $PATH)`);
        return OCF.ERR_INSTALLED;
      }
      try {
        const now = await tracked(ctx);
        if (now.kind === "ours") return OCF.OK;
        if (now.kind === "gone") {
          ctx.log(`anything: removing stale pid file: ${now.why}`);
          await removeFiles(ctx);
        }
      } catch (e) {
        ctx.log(`anything: cannot read ${pidfileOf(ctx)}: ${errorText(e)}`);
        return OCF.ERR_GENERIC;
      }
      return await launch(ctx, program);
    },

    async stop(ctx) {
      const p = ctx.params;
      const now = await trackedOrLog(ctx);
      if (now === undefined) return OCF.ERR_GENERIC;
      if (now.kind === "ours") {
        signalGroup(now.pid, p.kill_signal);
        if (!await waitForExit(now.pid, p.stop_timeout, ctx.signal)) {
          ctx.log(`anything: pid ${now.pid} still alive after ${p.stop_timeout} ms; SIGKILL`);
          signalGroup(now.pid, "SIGKILL");
          if (!await waitForExit(now.pid, KILL_WAIT_MS, ctx.signal)) {
            ctx.log(`anything: pid ${now.pid} survived SIGKILL`);
            return OCF.ERR_GENERIC;
          }
        }
        ctx.log(`anything: stopped pid ${now.pid}`);
      }
      if (now.kind !== "none" && now.pid > 1) {
        // Helpers the program started may outlive it in its group. While any of them
        // lives, the kernel does not reuse the group's id as a pid: when no live process
        // has that pid (or only our unreaped zombie), a group with that id is ours.
        const stat = procStat(now.pid);
        if (stat === undefined || stat.state === "Z") {
          try {
            process.kill(-now.pid, "SIGKILL");
          } catch {
            // No such group: nothing left.
          }
        }
      }
      try {
        await removeFiles(ctx);
      } catch (e) {
        ctx.log(`anything: cannot remove ${pidfileOf(ctx)}: ${errorText(e)}`);
        return OCF.ERR_GENERIC;
      }
      return OCF.OK;
    },

    async monitor(ctx) {
      const now = await trackedOrLog(ctx);
      if (now === undefined) return OCF.ERR_GENERIC;
      if (now.kind === "none") return OCF.NOT_RUNNING;
      if (now.kind === "gone") {
        ctx.log(`anything: ${now.why}`);
        return OCF.ERR_GENERIC;
      }
      if (ctx.params.monitor_hook !== undefined) return await runHook(ctx, ctx.params.monitor_hook);
      return OCF.OK;
    },

    validate(ctx) {
      const p = ctx.params;
      if (!resolveProgram(p.binfile)) {
        ctx.log(`anything: ${p.binfile} is not an executable file (or not in $PATH)`);
        return Promise.resolve(OCF.ERR_INSTALLED);
      }
      try {
        if (!statSync(p.workdir).isDirectory()) throw new Error("not a directory");
      } catch (e) {
        ctx.log(`anything: workdir ${p.workdir}: ${errorText(e)}`);
        return Promise.resolve(OCF.ERR_CONFIGURED);
      }
      return Promise.resolve(OCF.OK);
    },
  },
  timeouts: { start: 20_000, stop: 20_000, monitor: 20_000 },
});

/** The module's default export, as the plugin contract requires. */
export default Anything;
