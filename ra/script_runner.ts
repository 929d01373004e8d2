/**
 * Runs one resource-agent script (an OCF agent, an LSB init script, a Heartbeat
 * resource.d script) the way an LRM must: in its own process group, with a fixed
 * environment, output passed line by line to the operation's log as it comes, and — when
 * the operation's signal aborts (its timeout) — the whole process group killed: SIGTERM,
 * then SIGKILL after a grace.
 *
 * Memory stays bounded whatever the script prints: a line without end keeps only its last
 * {@link MAX_LINE_BYTES}, and a run passes at most `maxLogBytes` to the log (by default
 * {@link MAX_SCRIPT_LOG_BYTES}; unlimited for a caller whose log keeps the tail).
 *
 * The runner reports what happened (exit code, killing signal, abort, spawn error) and the
 * first bytes of stdout; turning that into an OCF code is each adapter's business.
 *
 * @example
 * ```ts
 * const result = await runScript(
 *   { path: "/etc/init.d/ssh", args: ["status"], env: { PATH: "/usr/bin:/bin" } },
 *   { signal: ctx.signal, log: ctx.log },
 * );
 * if (result.outcome === "exited") console.log(result.code);
 * ```
 * @module
 */

import { spawn } from "node:child_process";
import process from "node:process";

/**
 * True when `path` is a regular file this process may execute (from ra/agent_tools.ts,
 * re-exported here for the modules that find scripts through this one).
 */
export { isExecutableFile } from "./agent_tools.ts";

/** Grace between SIGTERM and SIGKILL of an aborted script's process group, in ms. */
export const SCRIPT_KILL_GRACE_MS = 500;

/**
 * Most bytes of script output (stdout and stderr together) passed to `log` per run unless
 * {@link ScriptSpec.maxLogBytes} says otherwise.
 */
export const MAX_SCRIPT_LOG_BYTES = 64 * 1024;

/** Longest line passed to `log`, in bytes (approximately: counted in UTF-16 units). */
export const MAX_LINE_BYTES = 64 * 1024;

/** Most bytes of stdout kept in {@link ScriptResult.stdout} by default. */
export const DEFAULT_STDOUT_CAPTURE_BYTES = 16 * 1024;

/**
 * How long to wait for the output pipes after the script exited. A daemon the script
 * started (IPaddr2's background send_arp, an init script's server) may hold them open;
 * output the script wrote before exiting is already in the pipe and arrives within this.
 * It is on the failover path (every start waits it), so it is short.
 */
const PIPE_DRAIN_MS = 25;

/** How long to wait for the group leader to die after SIGKILL before giving up on it. */
const REAP_WAIT_MS = 2_000;

/** Most arguments a script may be given (Heartbeat scripts take a handful). */
const MAX_ARGS = 64;

/** What to run. */
export interface ScriptSpec {
  /** Absolute path of the executable script. */
  path: string;
  /** Its arguments (the action is usually the last one). */
  args: readonly string[];
  /** The complete environment of the script (nothing is inherited). */
  env: Record<string, string>;
  /** Working directory; defaults to `/`, as init(8) would use. */
  cwd?: string;
  /** Most stdout bytes kept in the result; default {@link DEFAULT_STDOUT_CAPTURE_BYTES}. */
  captureStdoutBytes?: number;
  /**
   * Most output bytes passed to `log` (the rest is dropped and the drop noted); default
   * {@link MAX_SCRIPT_LOG_BYTES}. `Infinity` passes every line, for a log that keeps the
   * tail itself (the LRM's).
   */
  maxLogBytes?: number;
}

/** The operation the script runs for: where it logs and what aborts it. */
export interface ScriptIo {
  /** Aborted at the operation's timeout: the process group is then killed. */
  signal: AbortSignal;
  /** Receives each output line (stderr lines prefixed with `stderr: `). */
  log: (line: string) => void;
}

/** How one run of a script ended. */
export type ScriptResult =
  & {
    /** The first bytes of stdout (at most `captureStdoutBytes`), decoded as UTF-8. */
    stdout: string;
  }
  & (
    /** The script exited by itself with `code`. */
    | { outcome: "exited"; code: number }
    /** The script was killed by `signal` without anyone here asking for it. */
    | { outcome: "killed"; signal: string }
    /** The operation's signal aborted; the process group was killed. */
    | { outcome: "aborted" }
    /** The script could not be started (missing, not executable, ...). */
    | { outcome: "spawn-error"; message: string }
  );

/**
 * Sends `signal` to the process group whose leader is `pid`; a group already gone is not
 * an error.
 */
export function killProcessGroup(pid: number, signal: "SIGTERM" | "SIGKILL"): void {
  if (!(Number.isInteger(pid) && pid > 1)) throw new RangeError(`not a process group: ${pid}`);
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/** The PATH scripts get: this process's, or a standard one when it has none. */
export function scriptPath(): string {
  return process.env.PATH ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

/**
 * The environment of a script that has no environment contract of its own (an init
 * script, a Heartbeat resource.d script): {@link scriptPath} and the C locale.
 */
export function plainScriptEnv(): Record<string, string> {
  return { PATH: scriptPath(), LANG: "C", LC_ALL: "C" };
}

/**
 * The exit code of a run that exited by itself; for any other ending (aborted, killed,
 * could not start) logs why as `ACTION: ...` and returns undefined.
 *
 * @param action names the run in the log line, e.g. `start` or `status`
 */
export function scriptExitCode(
  result: ScriptResult,
  action: string,
  log: (line: string) => void,
): number | undefined {
  switch (result.outcome) {
    case "exited":
      return result.code;
    case "aborted":
      log(`${action}: aborted (timeout); process group killed`);
      return undefined;
    case "killed":
      log(`${action}: killed by ${result.signal}`);
      return undefined;
    case "spawn-error":
      log(`${action}: cannot run the script: ${result.message}`);
      return undefined;
  }
}

/**
 * Splits a byte stream into lines for `log`, forwarding at most `budget.bytes` bytes (a
 * budget stdout and stderr share). An unfinished line longer than {@link MAX_LINE_BYTES}
 * keeps only its end, so memory is bounded even with an unlimited budget.
 */
class LineLog {
  #partial = "";
  #decoder = new TextDecoder();
  #cut = false;
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
    const take = chunk.length <= this.budget.bytes ? chunk : chunk.subarray(0, this.budget.bytes);
    if (take.length < chunk.length) this.#dropped = true;
    this.budget.bytes -= take.length;
    const lines = (this.#partial + this.#decoder.decode(take, { stream: true })).split("\n");
    this.#partial = lines.pop() ?? "";
    for (const line of lines) this.#emit(line);
    if (this.#partial.length > MAX_LINE_BYTES) {
      this.#partial = this.#partial.slice(-MAX_LINE_BYTES);
      this.#cut = true;
    }
  }

  /** Flushes the last unfinished line and notes dropped output, once. */
  end(maxLogBytes: number): void {
    const rest = this.#partial + this.#decoder.decode();
    this.#partial = "";
    if (rest) this.#emit(rest);
    if (this.#dropped) {
      this.log(`${this.prefix}[output truncated at ${maxLogBytes} bytes]`);
      this.#dropped = false;
    }
  }

  #emit(line: string): void {
    const mark = this.#cut ? "[line cut] " : "";
    this.#cut = false;
    this.log(this.prefix + mark + line);
  }
}

/** Keeps the first `max` bytes of a stream. */
class HeadCapture {
  readonly #chunks: Uint8Array[] = [];
  #bytes = 0;

  constructor(private readonly max: number) {}

  write(chunk: Uint8Array): void {
    const room = this.max - this.#bytes;
    if (room <= 0) return;
    const take = chunk.subarray(0, room);
    this.#chunks.push(take.slice());
    this.#bytes += take.length;
  }

  text(): string {
    const all = new Uint8Array(this.#bytes);
    let at = 0;
    for (const c of this.#chunks) {
      all.set(c, at);
      at += c.length;
    }
    return new TextDecoder().decode(all);
  }
}

/**
 * Runs the script once and resolves with how it ended; never rejects.
 *
 * The script leads a new process group (it is spawned detached). If `io.signal` aborts
 * before it exits, the group gets SIGTERM and, {@link SCRIPT_KILL_GRACE_MS} later (or at
 * once when the leader has died), SIGKILL, so helpers the script started die with it; the
 * promise settles once the leader is gone (or after a bounded wait). A script that exits by
 * itself may leave a daemon behind in its group (an init script's `start`): that one is
 * left alone, and its inherited pipes are not waited for beyond a short drain.
 */
export function runScript(spec: ScriptSpec, io: ScriptIo): Promise<ScriptResult> {
  if (spec.args.length > MAX_ARGS) {
    throw new RangeError(`too many script arguments: ${spec.args.length} > ${MAX_ARGS}`);
  }
  const maxLogBytes = spec.maxLogBytes ?? MAX_SCRIPT_LOG_BYTES;
  if (!(maxLogBytes > 0)) throw new RangeError(`maxLogBytes must be > 0: ${maxLogBytes}`);
  const capture = new HeadCapture(spec.captureStdoutBytes ?? DEFAULT_STDOUT_CAPTURE_BYTES);
  return new Promise((resolve) => {
    if (io.signal.aborted) {
      resolve({ outcome: "aborted", stdout: "" });
      return;
    }
    const budget = { bytes: maxLogBytes };
    const out = new LineLog("", budget, io.log);
    const err = new LineLog("stderr: ", budget, io.log);
    const child = spawn(spec.path, [...spec.args], {
      env: spec.env,
      cwd: spec.cwd ?? "/",
      // detached: the script leads a new process group, so the group can be killed at once.
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let settled = false;
    let exited = false;
    const timers: Array<ReturnType<typeof setTimeout>> = [];
    const later = (ms: number, fn: () => void) => timers.push(setTimeout(fn, ms));

    type Ending =
      | { outcome: "exited"; code: number }
      | { outcome: "killed"; signal: string }
      | { outcome: "aborted" }
      | { outcome: "spawn-error"; message: string };
    const finish = (ending: Ending) => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      io.signal.removeEventListener("abort", onAbort);
      out.end(maxLogBytes);
      err.end(maxLogBytes);
      child.stdout?.destroy();
      child.stderr?.destroy();
      resolve({ ...ending, stdout: capture.text() });
    };
    const onAbort = () => {
      if (child.pid === undefined) return;
      const why = String(io.signal.reason);
      io.log(`${spec.args.at(-1) ?? "run"}: aborted (${why}); killing process group ${child.pid}`);
      killProcessGroup(child.pid, "SIGTERM");
      later(SCRIPT_KILL_GRACE_MS, () => killProcessGroup(child.pid!, "SIGKILL"));
      // Bound the wait even if the leader somehow never dies (e.g. stuck in the kernel).
      later(SCRIPT_KILL_GRACE_MS + REAP_WAIT_MS, () => finish({ outcome: "aborted" }));
    };
    io.signal.addEventListener("abort", onAbort, { once: true });

    child.stdout?.on("data", (chunk: Uint8Array) => {
      capture.write(chunk);
      out.write(chunk);
    });
    child.stderr?.on("data", (chunk: Uint8Array) => err.write(chunk));
    child.on("error", (e) => {
      // Also emitted for a failed kill; only a failure to start ends the run.
      if (exited || child.pid !== undefined) return;
      finish({ outcome: "spawn-error", message: e.message });
    });
    const ending = (code: number | null, signal: string | null): Ending => {
      if (io.signal.aborted) return { outcome: "aborted" };
      if (code === null) return { outcome: "killed", signal: signal ?? "unknown signal" };
      return { outcome: "exited", code };
    };
    child.on("close", (code, signal) => finish(ending(code, signal)));
    child.on("exit", (code, signal) => {
      exited = true;
      if (io.signal.aborted && child.pid !== undefined) {
        // The leader is dead; make sure the rest of the group follows before settling.
        killProcessGroup(child.pid, "SIGKILL");
      }
      // A daemon started by `start` may keep the pipes open forever: do not wait for it.
      later(PIPE_DRAIN_MS, () => finish(ending(code, signal)));
    });
  });
}
