/**
 * End-to-end tests of the compiled binary `dist/vigil`.
 *
 * The binary is (re)built with `deno run -A scripts/compile.ts` when it is missing or
 * older than any source file. Then `--version`, `--help` and `demo` are run as a user
 * would run them. The demo must report its failover time and leave no process or
 * temporary directory behind.
 *
 * @module
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { resolve, sep } from "node:path";
import process from "node:process";
import { binaryPath, repoRoot } from "../../scripts/compile.ts";
import { ensureBinary } from "./ensure_binary.ts";
import { type BinaryRun, runBinary } from "../../scripts/run_binary.ts";

/** How long the demo may run before it is killed. */
const DEMO_TIMEOUT_MS = 120_000;
/** How long a quick command (`--version`, `--help`) may run. */
const QUICK_TIMEOUT_MS = 30_000;
/** How long after the demo exits its node processes may take to disappear. */
const EXIT_GRACE_MS = 2_000;

/** Last 40 lines of a run's output, for failure messages. */
function describe(run: BinaryRun): string {
  const tail = (text: string) => text.trimEnd().split("\n").slice(-40).join("\n");
  return `exit ${run.code}${run.signal ? ` (signal ${run.signal})` : ""}` +
    `${run.timedOut ? ", killed after timeout" : ""}\n` +
    `--- stdout (tail) ---\n${tail(run.stdout)}\n--- stderr (tail) ---\n${tail(run.stderr)}`;
}

/** Whether `pid` names a live process (a zombie counts as gone: it has exited). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false; // gone between the two looks
  }
}

/** PIDs in `pids` still alive after waiting up to `graceMs` for them to exit. */
async function survivors(pids: number[], graceMs: number): Promise<number[]> {
  const deadline = Date.now() + graceMs;
  let alive = pids.filter(isAlive);
  while (alive.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    alive = alive.filter(isAlive);
  }
  return alive;
}

/** Whether `dir` lies inside the system's temporary directory (safe to remove). */
function insideTmp(dir: string): boolean {
  const roots = new Set([resolve(tmpdir()), "/tmp"]);
  try {
    roots.add(realpathSync(tmpdir()));
  } catch { /* keep the others */ }
  const path = resolve(dir);
  return [...roots].some((root) => path.startsWith(root + sep));
}

Deno.test("dist/vigil --version prints the version", async () => {
  await ensureBinary();
  const run = await runBinary(["--version"], QUICK_TIMEOUT_MS);
  assert.equal(run.code, 0, describe(run));
  assert.match(run.stdout, /^vigil \d+\.\d+\.\d+/m, describe(run));
});

Deno.test("dist/vigil --help names the commands", async () => {
  await ensureBinary();
  const run = await runBinary(["--help"], QUICK_TIMEOUT_MS);
  assert.equal(run.code, 0, describe(run));
  for (const command of ["run", "status", "demo"]) {
    assert.match(run.stdout, new RegExp(`\\b${command}\\b`), `--help lacks "${command}"`);
  }
});

Deno.test("dist/vigil demo fails over and cleans up after itself", async () => {
  await ensureBinary();
  const run = await runBinary(["demo"], DEMO_TIMEOUT_MS);
  const lines = run.stdout.split("\n").map((line) => line.trim()).filter((line) => line !== "");

  const nodePids = new Map<string, number>();
  const stateDirs: string[] = [];
  for (const line of lines) {
    const node = line.match(/^node (\S+) pid (\d+)$/);
    if (node) nodePids.set(node[1], Number(node[2]));
    const state = line.match(/^state (.+)$/);
    if (state) stateDirs.push(state[1]);
  }

  // Look for leftovers first, whatever the outcome, so they can be cleaned up.
  const pids = [...nodePids.values()];
  const leftPids = await survivors(pids, EXIT_GRACE_MS);
  const leftDirs = stateDirs.filter((dir) => existsSync(dir));
  for (const pid of leftPids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch { /* gone meanwhile */ }
  }
  for (const dir of leftDirs) {
    if (insideTmp(dir)) rmSync(dir, { recursive: true, force: true });
  }

  assert.equal(run.timedOut, false, `demo ran over ${DEMO_TIMEOUT_MS / 1000} s\n${describe(run)}`);
  assert.equal(run.code, 0, describe(run));

  const last = lines.at(-1) ?? "";
  const figures = last.match(/^failover (\d+) ms \(detected in (\d+) ms\)$/);
  assert.ok(figures, `last line is not "failover N ms (detected in M ms)": ${last}`);
  const failover = Number(figures[1]);
  const detected = Number(figures[2]);
  assert.ok(detected > 0, `detection time must be positive: ${last}`);
  assert.ok(failover >= detected, `failover must not be shorter than detection: ${last}`);

  assert.ok(pids.length > 0, `demo announced no "node <name> pid <PID>" lines\n${describe(run)}`);
  assert.equal(stateDirs.length, 1, `demo must announce one "state <DIR>" line\n${describe(run)}`);
  const leftovers = [
    ...[...nodePids].filter(([, pid]) => leftPids.includes(pid)).map(([name, pid]) =>
      `node ${name} pid ${pid}`
    ),
    ...leftDirs.map((dir) => `state ${dir}`),
  ];
  assert.deepEqual(leftovers, [], "left behind after the demo exited (cleaned up by the test)");
});

Deno.test("dist/vigil demo interrupted by Ctrl-C leaves no process or file behind", async () => {
  await ensureBinary();
  // A process group of its own, signalled as a whole the way a terminal's Ctrl-C is.
  const child = spawn(binaryPath, ["demo"], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let stdout = "";
  child.stdout.setEncoding("utf8");
  const exited = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
  await new Promise<void>((resolveStarted, rejectStarted) => {
    const timer = setTimeout(
      () => rejectStarted(new Error(`demo never started:\n${stdout}`)),
      QUICK_TIMEOUT_MS,
    );
    child.stdout.on("data", (chunk: string) => {
      stdout += chunk;
      if (/^node n3 pid \d+$/m.test(stdout)) {
        clearTimeout(timer);
        resolveStarted();
      }
    });
  });
  await new Promise((r) => setTimeout(r, 200));
  process.kill(-child.pid!, "SIGINT");
  const code = await exited;
  const pids = [...stdout.matchAll(/^node \S+ pid (\d+)$/gm)].map((m) => Number(m[1]));
  const state = /^state (\S+)$/m.exec(stdout)?.[1];
  const left = await survivors(pids, EXIT_GRACE_MS);
  for (const pid of left) process.kill(pid, "SIGKILL");
  if (state && existsSync(state) && insideTmp(state)) {
    rmSync(state, { recursive: true, force: true });
  }
  const why = `exit ${code}\n--- demo stdout ---\n${stdout}`;
  assert.equal(code, 130, why);
  assert.match(stdout, /interrupted: stopping the demo cluster/, why);
  assert.equal(pids.length, 3, why);
  assert.deepEqual(left, [], `node processes left running: ${left}\n${why}`);
  assert.ok(state, why);
  assert.equal(existsSync(state), false, `state directory ${state} removed\n${why}`);
});
