/**
 * Vigil's figures, printed rather than asserted. Run as `deno task bench`.
 *
 * 1. demo: `dist/vigil demo` run 5 times; each run's failover and detection times and
 *    the medians.
 * 2. idle: resident memory and CPU use of one idle node daemon (`dist/vigil run`),
 *    sampled from /proc over 10 s.
 * 3. binary: size of `dist/vigil` and the compiler that built it.
 *
 * `dist/vigil` is built with scripts/compile.ts first when missing or stale. A part that
 * fails prints its error and the others still run; the figures end with one JSON line.
 * The exit status is 1 if any part failed.
 *
 * @module
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createSocket } from "node:dgram";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { randomBytes } from "node:crypto";
import { runBinary } from "../scripts/run_binary.ts";
import { binaryPath, compilerNotePath, isBinaryStale, repoRoot, tool } from "../scripts/compile.ts";

/** Number of demo runs. */
const DEMO_RUNS = 5;
/** How long one demo run may take before it is killed. */
const DEMO_TIMEOUT_MS = 120_000;
/** Settling time before the idle daemon is sampled. */
const IDLE_SETTLE_MS = 2_000;
/** Length of the idle sampling window. */
const IDLE_WINDOW_MS = 10_000;

/** One demo run's figures. */
interface DemoRun {
  failoverMs: number;
  detectedMs: number;
}

/** Everything the bench measured; a part that failed holds `{ error }`. */
interface Figures {
  demo: { runs: DemoRun[]; failoverMsMedian: number; detectedMsMedian: number } | {
    error: string;
  };
  idle: { rssMiB: number; rssMiBMax: number; cpuPercent: number; seconds: number } | {
    error: string;
  };
  binary: { sizeMiB: number; compiler: string } | { error: string };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const round = (value: number, digits = 1) => Number(value.toFixed(digits));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

let buildTried = false;
let buildError: Error | undefined;

/** Builds `dist/vigil` (once) if missing or stale; throws if that fails. */
function ensureBinary(): void {
  if (!buildTried) {
    buildTried = true;
    if (isBinaryStale()) {
      console.log("bench: building dist/vigil with scripts/compile.ts");
      const result = spawnSync(tool("deno"), ["run", "-A", join(repoRoot, "scripts/compile.ts")], {
        cwd: repoRoot,
        stdio: "inherit",
      });
      if (result.status !== 0 || !existsSync(binaryPath)) {
        buildError = new Error(`scripts/compile.ts failed (exit ${result.status})`);
      }
    }
  }
  if (buildError) throw buildError;
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch { /* already gone */ }
}

async function benchDemo(): Promise<Figures["demo"]> {
  ensureBinary();
  const runs: DemoRun[] = [];
  for (let i = 1; i <= DEMO_RUNS; i++) {
    const run = await runBinary(["demo"], DEMO_TIMEOUT_MS);
    const lines = run.stdout.split("\n").map((l) => l.trim()).filter((l) => l !== "");
    const last = lines.at(-1) ?? "";
    const match = last.match(/^failover (\d+) ms \(detected in (\d+) ms\)$/);
    if (run.timedOut || run.code !== 0 || !match) {
      const why = run.timedOut ? `timed out after ${DEMO_TIMEOUT_MS / 1000} s` : `exit ${run.code}`;
      const tail = (run.stderr.trim() || last).split("\n").slice(-5).join("\n  ");
      throw new Error(`demo run ${i}: ${why}; last line "${last}"\n  ${tail}`);
    }
    const figures = { failoverMs: Number(match[1]), detectedMs: Number(match[2]) };
    runs.push(figures);
    console.log(
      `demo run ${i}/${DEMO_RUNS}: failover ${figures.failoverMs} ms ` +
        `(detected in ${figures.detectedMs} ms)`,
    );
  }
  const failoverMsMedian = median(runs.map((r) => r.failoverMs));
  const detectedMsMedian = median(runs.map((r) => r.detectedMs));
  console.log(
    `demo median: failover ${failoverMsMedian} ms (detected in ${detectedMsMedian} ms)`,
  );
  return { runs, failoverMsMedian, detectedMsMedian };
}

/** A port that was free a moment ago, for UDP or TCP on 127.0.0.1. */
function freePort(kind: "udp" | "tcp"): Promise<number> {
  return new Promise((resolve, reject) => {
    if (kind === "udp") {
      const socket = createSocket("udp4");
      socket.once("error", reject);
      socket.bind(0, "127.0.0.1", () => {
        const { port } = socket.address();
        socket.close(() => resolve(port));
      });
    } else {
      const server = createServer();
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        const address = server.address();
        const port = typeof address === "object" && address ? address.port : 0;
        server.close(() => resolve(port));
      });
    }
  });
}

/** utime + stime of `pid` in clock ticks, from /proc/PID/stat. */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after "(comm)": state is field 3, utime field 14, stime field 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

/** VmRSS of `pid` in MiB, from /proc/PID/status. */
function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = status.match(/^VmRSS:\s+(\d+)\s+kB/m);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) / 1024;
}

function clockTicksPerSecond(): number {
  const result = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
  const ticks = Number(result.stdout?.trim());
  return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
}

/** Sends SIGTERM, then SIGKILL if the process is still there after 3 s. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once("close", () => r()));
  killQuietly(child.pid, "SIGTERM");
  const timer = new Promise<"late">((r) => setTimeout(() => r("late"), 3_000));
  if ((await Promise.race([exited, timer])) === "late") {
    console.log(`idle: node did not stop within 3 s of SIGTERM; sending SIGKILL`);
    killQuietly(child.pid, "SIGKILL");
    await exited;
  }
}

async function benchIdle(): Promise<Figures["idle"]> {
  ensureBinary();
  const dir = mkdtempSync(join(tmpdir(), "vigil-bench-"));
  let child: ChildProcess | undefined;
  try {
    const authkeys = join(dir, "authkeys");
    writeFileSync(authkeys, `auth 1\n1 sha256 ${randomBytes(32).toString("hex")}\n`, {
      mode: 0o600,
    });
    chmodSync(authkeys, 0o600);
    const stateDir = join(dir, "n1");
    mkdirSync(stateDir);
    const port = await freePort("udp");
    const apiPort = await freePort("tcp");
    const config = {
      node: "n1",
      nodes: [{ name: "n1", address: "127.0.0.1", port, api: `127.0.0.1:${apiPort}` }],
      authkeys,
      stateDir,
      keepalive: "100ms",
      deadtime: "500ms",
      resources: [],
    };
    const configFile = join(dir, "vigil.json");
    writeFileSync(configFile, JSON.stringify(config, null, 2) + "\n");

    const proc = spawn(binaryPath, ["run", "--config", configFile], {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = proc;
    let output = "";
    const keep = (chunk: string) => (output = (output + chunk).slice(-4000));
    proc.stdout.setEncoding("utf8").on("data", keep);
    proc.stderr.setEncoding("utf8").on("data", keep);
    const spawned = new Promise<void>((resolve, reject) => {
      proc.once("spawn", () => resolve());
      proc.once("error", reject);
    });
    await spawned;
    const pid = proc.pid!;
    const died = () => proc.exitCode !== null || proc.signalCode !== null;

    await sleep(IDLE_SETTLE_MS);
    if (died()) {
      throw new Error(
        `node exited (code ${proc.exitCode}) before sampling:\n${output.trim() || "(no output)"}`,
      );
    }

    const hz = clockTicksPerSecond();
    const ticks0 = cpuTicks(pid);
    const t0 = performance.now();
    const rss: number[] = [];
    while (performance.now() - t0 < IDLE_WINDOW_MS) {
      rss.push(rssMiB(pid));
      await sleep(1_000);
      if (died()) {
        throw new Error(
          `node exited (code ${proc.exitCode}) while sampled:\n${output.trim() || "(no output)"}`,
        );
      }
    }
    const ticks1 = cpuTicks(pid);
    const seconds = (performance.now() - t0) / 1000;
    rss.push(rssMiB(pid));

    const cpuPercent = ((ticks1 - ticks0) / hz) / seconds * 100;
    const figures = {
      rssMiB: round(rss.reduce((a, b) => a + b, 0) / rss.length),
      rssMiBMax: round(Math.max(...rss)),
      cpuPercent: round(cpuPercent, 2),
      seconds: round(seconds),
    };
    console.log(
      `idle node: RSS ${figures.rssMiB} MiB (max ${figures.rssMiBMax} MiB), ` +
        `CPU ${figures.cpuPercent} % over ${figures.seconds} s`,
    );
    return figures;
  } finally {
    if (child) await stop(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

function benchBinary(): Figures["binary"] {
  ensureBinary();
  const sizeMiB = round(statSync(binaryPath).size / (1024 * 1024));
  const compiler = existsSync(compilerNotePath)
    ? readFileSync(compilerNotePath, "utf8").split("\n")[0].trim()
    : "unknown (no dist/vigil.compiler)";
  console.log(`binary: dist/vigil ${sizeMiB} MiB, built with ${compiler}`);
  return { sizeMiB, compiler };
}

async function part<T>(name: string, fn: () => T | Promise<T>): Promise<T | { error: string }> {
  try {
    return await fn();
  } catch (error) {
    console.log(`${name}: FAILED: ${message(error)}`);
    return { error: message(error) };
  }
}

if (import.meta.main) {
  const figures: Figures = {
    demo: await part("demo", benchDemo),
    idle: await part("idle", benchIdle),
    binary: await part("binary", benchBinary),
  };
  console.log(JSON.stringify(figures));
  if (Object.values(figures).some((value) => "error" in value)) process.exit(1);
}
