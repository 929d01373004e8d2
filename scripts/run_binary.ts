/**
 * Runs `dist/vigil` to completion with captured output and a time limit, for
 * the end-to-end tests and the benchmark.
 *
 * @module
 */

import { spawn } from "node:child_process";
import process from "node:process";
import { binaryPath, repoRoot } from "./compile.ts";

/** How one run of the binary ended. */
export interface BinaryRun {
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  /** The signal that ended it, if any. */
  signal: NodeJS.Signals | null;
  /** Everything it printed on stdout. */
  stdout: string;
  /** Everything it printed on stderr. */
  stderr: string;
  /** Whether it was killed for running past the limit. */
  timedOut: boolean;
  /** Its PID. */
  pid: number | undefined;
}

/** Runs `dist/vigil` with `args`, killing it by PID (SIGKILL) after `timeoutMs`. */
export function runBinary(args: string[], timeoutMs: number): Promise<BinaryRun> {
  return new Promise((resolveRun, rejectRun) => {
    const child = spawn(binaryPath, args, { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid === undefined) return;
      try {
        process.kill(child.pid, "SIGKILL");
      } catch { /* already gone */ }
    }, timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      rejectRun(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolveRun({ code, signal, stdout, stderr, timedOut, pid: child.pid });
    });
  });
}
