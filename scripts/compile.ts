/**
 * Builds the single Vigil binary `dist/vigil` from `main.ts`.
 *
 * Run as `deno task compile` (that is, `deno run -A scripts/compile.ts`).
 *
 * Choice of compiler:
 * - `deno compile -A --output dist/vigil main.ts` when the env var `DENORT_BIN` is set
 *   (a local denort runtime, so nothing is downloaded) or when a bounded attempt at
 *   `deno compile` succeeds (it downloads denort, which fails where the internet is
 *   unreachable);
 * - otherwise `bun build --compile --minify main.ts --outfile dist/vigil`.
 *
 * It prints which compiler was used and why, writes `dist/vigil.compiler` with one line
 * naming the compiler, and exits non-zero with a clear message if both compilers fail.
 *
 * Plain `node:` built-ins only, so the script runs under Deno, Node or Bun.
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** Absolute path of the repository root (the parent of `scripts/`). */
export const repoRoot: string = fileURLToPath(new URL("..", import.meta.url));

/** Absolute path of the compiled binary, `dist/vigil`. */
export const binaryPath: string = join(repoRoot, "dist", "vigil");

/** Absolute path of the file naming the compiler that built the binary. */
export const compilerNotePath: string = join(repoRoot, "dist", "vigil.compiler");

/** Source folders whose `.ts` files go into the binary (besides `main.ts`). */
export const sourceDirs: readonly string[] = ["core", "ra", "plugins", "stonith", "runtime"];

/** How long the opportunistic `deno compile` attempt may take, in milliseconds. */
const DENO_ATTEMPT_TIMEOUT_MS = 60_000;
/** How long a compile we rely on (DENORT_BIN set, or bun) may take, in milliseconds. */
const COMPILE_TIMEOUT_MS = 600_000;

/** Outcome of one compiler run. */
interface RunResult {
  ok: boolean;
  /** Combined stdout and stderr, ANSI colour codes removed. */
  output: string;
  /** Short reason for a failure (empty on success). */
  reason: string;
}

/**
 * Path of a tool installed by npm in `node_modules/.bin`, or the bare name (found on
 * PATH) if it is not installed there.
 *
 * @param name the executable's name, e.g. `deno` or `bun`
 * @returns an absolute path or the bare name
 */
export function tool(name: string): string {
  const local = join(repoRoot, "node_modules", ".bin", name);
  return existsSync(local) ? local : name;
}

/**
 * Whether `dist/vigil` is missing or older than `main.ts` or any `.ts` file under the
 * source folders.
 *
 * @returns true when the binary must be (re)built
 */
export function isBinaryStale(): boolean {
  if (!existsSync(binaryPath)) return true;
  const built = statSync(binaryPath).mtimeMs;
  const sources = [join(repoRoot, "main.ts")];
  for (const dir of sourceDirs) collectTs(join(repoRoot, dir), sources);
  return sources.some((file) => existsSync(file) && statSync(file).mtimeMs > built);
}

function collectTs(dir: string, into: string[]): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) collectTs(path, into);
    else if (entry.name.endsWith(".ts")) into.push(path);
  }
}

function stripAnsi(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");
}

/** The most telling line of a compiler's failure output. */
function firstErrorLine(output: string): string {
  const lines = output.split("\n").map((line) => line.trim()).filter((line) => line !== "");
  const error = lines.find((line) => /^error\b/i.test(line)) ?? lines[0] ?? "no output";
  // Deno puts the root cause last in a "Caused by:" list ("4: failed to lookup ..."),
  // which may be followed by a "Stack backtrace:" list of the same shape.
  const from = lines.indexOf("Caused by:");
  const to = lines.indexOf("Stack backtrace:", from);
  const causes = from < 0
    ? []
    : lines.slice(from + 1, to < 0 ? undefined : to).filter((line) => /^\d+: /.test(line));
  const cause = causes.length > 0 ? causes[causes.length - 1].replace(/^\d+: /, "") : "";
  return cause !== "" ? `${error}: ${cause}` : error;
}

function run(
  command: string,
  args: string[],
  timeoutMs: number,
  env: NodeJS.ProcessEnv = process.env,
): RunResult {
  const result = spawnSync(command, args, {
    cwd: repoRoot,
    env,
    encoding: "utf8",
    timeout: timeoutMs,
    killSignal: "SIGKILL",
    maxBuffer: 64 * 1024 * 1024,
  });
  const output = stripAnsi(`${result.stdout ?? ""}${result.stderr ?? ""}`);
  if (result.error) {
    const code = (result.error as NodeJS.ErrnoException).code;
    const reason = code === "ETIMEDOUT"
      ? `timed out after ${timeoutMs / 1000} s`
      : code === "ENOENT"
      ? `${command} not found`
      : result.error.message;
    return { ok: false, output, reason };
  }
  if (result.status !== 0) {
    const how = result.signal ? `killed by ${result.signal}` : `exit ${result.status}`;
    return { ok: false, output, reason: `${firstErrorLine(output)} [${how}]` };
  }
  return { ok: true, output, reason: "" };
}

/** `deno 2.9.6` / `bun 1.4.5`, or the bare name if the version cannot be read. */
function versionOf(name: "deno" | "bun"): string {
  const result = run(tool(name), ["--version"], 30_000);
  if (!result.ok) return name;
  const match = result.output.match(/(\d+\.\d+\.\d+\S*)/);
  return match ? `${name} ${match[1]}` : name;
}

function printTail(output: string): void {
  const lines = output.trimEnd().split("\n").slice(-20);
  for (const line of lines) console.error(`  | ${line}`);
}

function tryDeno(timeoutMs: number): RunResult {
  // DENORT_BIN (if set) is passed through: deno compile then uses that runtime.
  return run(tool("deno"), ["compile", "-A", "--output", binaryPath, "main.ts"], timeoutMs);
}

function tryBun(): RunResult {
  return run(
    tool("bun"),
    ["build", "--compile", "--minify", "main.ts", "--outfile", binaryPath],
    COMPILE_TIMEOUT_MS,
  );
}

/**
 * Builds `dist/vigil`, choosing the compiler as described in the module doc, and writes
 * `dist/vigil.compiler`.
 *
 * @returns the compiler's name and version, e.g. `bun 1.4.5`
 * @throws Error when neither compiler produced the binary
 */
export function compile(): string {
  if (!existsSync(join(repoRoot, "main.ts"))) {
    throw new Error(`compile: ${join(repoRoot, "main.ts")} does not exist`);
  }
  mkdirSync(join(repoRoot, "dist"), { recursive: true });
  // A failed build must not leave an older binary behind that looks current.
  rmSync(binaryPath, { force: true });
  rmSync(compilerNotePath, { force: true });

  let compiler: string | undefined;
  let denoFailure = "";
  const denort = process.env.DENORT_BIN;
  if (denort) {
    console.log(`compile: DENORT_BIN=${denort} is set; using deno compile`);
    const deno = tryDeno(COMPILE_TIMEOUT_MS);
    if (deno.ok) compiler = `${versionOf("deno")} (deno compile, DENORT_BIN)`;
    else {
      denoFailure = deno.reason;
      console.error(`compile: deno compile failed with DENORT_BIN set:`);
      printTail(deno.output);
      console.log(`compile: deno compile failed (${deno.reason}); using bun build --compile`);
    }
  } else {
    console.log(`compile: trying deno compile (DENORT_BIN not set; runtime download needed)`);
    const deno = tryDeno(DENO_ATTEMPT_TIMEOUT_MS);
    if (deno.ok) {
      console.log(`compile: deno compile succeeded (downloaded its runtime)`);
      compiler = `${versionOf("deno")} (deno compile)`;
    } else {
      denoFailure = deno.reason;
      console.log(`compile: deno compile unavailable (${deno.reason}); using bun build --compile`);
    }
  }

  if (compiler === undefined) {
    const bun = tryBun();
    if (!bun.ok) {
      console.error(`compile: bun build --compile failed:`);
      printTail(bun.output);
      throw new Error(
        `compile: could not build dist/vigil: deno compile failed (${denoFailure}) ` +
          `and bun build --compile failed (${bun.reason})`,
      );
    }
    compiler = `${versionOf("bun")} (bun build --compile --minify)`;
  }

  if (!existsSync(binaryPath)) {
    throw new Error(`compile: ${compiler} reported success but ${binaryPath} is missing`);
  }
  writeFileSync(compilerNotePath, `${compiler}\n`);
  const mib = statSync(binaryPath).size / (1024 * 1024);
  console.log(`compile: wrote dist/vigil (${mib.toFixed(1)} MiB) with ${compiler}`);
  return compiler;
}

if (import.meta.main) {
  try {
    compile();
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}
