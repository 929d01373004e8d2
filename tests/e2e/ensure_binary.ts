/**
 * Builds `dist/vigil` at most once per test process, when it is missing or older
 * than the sources, for the end-to-end tests that run the compiled binary.
 *
 * @module
 */

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { binaryPath, isBinaryStale, repoRoot, tool } from "../../scripts/compile.ts";

/** How long building the binary may take before the build is killed. */
const BUILD_TIMEOUT_MS = 900_000;

let built: Promise<void> | undefined;

/** Resolves once `dist/vigil` is up to date; rejects with the compiler's output on failure. */
export function ensureBinary(): Promise<void> {
  built ??= new Promise<void>((resolveBuild, rejectBuild) => {
    if (!isBinaryStale()) return resolveBuild();
    const child = spawn(tool("deno"), ["run", "-A", join(repoRoot, "scripts", "compile.ts")], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(child.pid, "SIGKILL");
    }, BUILD_TIMEOUT_MS);
    child.on("error", (err) => {
      clearTimeout(timer);
      rejectBuild(err);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0 && existsSync(binaryPath)) resolveBuild();
      else rejectBuild(new Error(`scripts/compile.ts failed (exit ${code}):\n${output}`));
    });
  });
  return built;
}
