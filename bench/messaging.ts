/**
 * The messaging-layer benchmark: how fast real Vigil nodes on loopback notice a dead
 * peer, whether aggressive timing kills healthy ones, what an idle node costs, and how
 * 8, 16 and 32 nodes behave. Figures are printed (and with `--json FILE` written), not
 * asserted; the exit status is 1 only if a part could not run.
 *
 * 1. detection: 3 nodes at keepalive 20 ms / deadtime 100 ms. Each trial waits for a
 *    membership of 3 stable for 1 s, sleeps a random 0..20 ms (random heartbeat phase),
 *    SIGKILLs a node that is not the DC, and measures from just before the kill until
 *    both survivors logged a membership without the victim (and until the first
 *    node-lost). The victim restarts on its state directory (its incarnation grows) and
 *    rejoins before the next trial.
 * 2. falsedeath: 3 nodes at 20 ms / 100 ms left alone; node-lost, link-down and
 *    membership changes after the first agreement are counted, and CPU use sampled.
 * 3. idle: 3 nodes at 100 ms / 500 ms, CPU % and RSS per node after a warm-up; then one
 *    node alone at the same timing.
 * 4. scale: 8, 16 and 32 nodes at 200 ms / 2 s: time to the first agreement of all N,
 *    stability afterwards, and per node CPU, RSS, bytes and packets per second (from the
 *    link counters of `GET /status`).
 *
 * Every wait has a time limit; a cluster that hangs or loses a node is stopped and the
 * part reports the error. Long waits print a progress line every 30 s.
 *
 * @example
 * ```sh
 * ./node_modules/.bin/deno run -A bench/messaging.ts --quick --json /tmp/messaging.json
 * ./node_modules/.bin/deno run -A bench/messaging.ts --only detection,idle --deno
 * ```
 * @module
 */

import { spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { cpus, loadavg, release, tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import {
  clockTicksPerSecond,
  hasMembers,
  LocalCluster,
  type LocalClusterOptions,
  type NodeLogEvent,
  parseMembership,
  type ProcessUsage,
  vigilCommand,
} from "./local_cluster.ts";
import type { StatusDocument } from "../core/api/status_app.ts";
import { binaryPath, compilerNotePath, isBinaryStale, repoRoot, tool } from "../scripts/compile.ts";

/** The parts of the benchmark, in the order they run. */
export const PARTS = ["detection", "falsedeath", "idle", "scale"] as const;
/** One part of the benchmark. */
export type Part = typeof PARTS[number];

/** Settings of one run, from the command line. */
export interface BenchOptions {
  /** Shorter windows (falsedeath 1 min, idle 10 + 20 s, scale 0.5 min per size). */
  quick: boolean;
  /** Parts to run. */
  parts: Part[];
  /** Length of the falsedeath run, minutes. */
  minutesIdle: number;
  /** Length of each scale run, minutes. */
  minutesScale: number;
  /** Where to write the figures as JSON, if anywhere. */
  json?: string;
  /** Run the compiled binary, or main.ts under deno. */
  runtime: "binary" | "deno";
  /** Detection trials. */
  trials: number;
  /** Cluster sizes of the scale part. */
  sizes: number[];
  /** Keepalive and deadtime of the detection and falsedeath parts, ms. */
  timing: { keepaliveMs: number; deadtimeMs: number };
}

/** Detection and falsedeath default timing (the issue's 20 ms / 100 ms); `--timing` overrides. */
const DETECTION = { keepaliveMs: 20, deadtimeMs: 100, stableMs: 1_000 };
const DETECTION_TARGET_MS = 120;
const DEFAULT_TRIALS = 15;
const IDLE = { keepaliveMs: 100, deadtimeMs: 500 };
const IDLE_TARGET_PERCENT = 0.5;
const SCALE = { keepaliveMs: 200, deadtimeMs: 2_000 };
const DEFAULT_SIZES = [8, 16, 32];

/** Time limits of the waits. */
const AGREE_TIMEOUT_MS = 30_000;
const SCALE_AGREE_TIMEOUT_MS = 180_000;
const DETECT_TIMEOUT_MS = 10_000;
const NODE_LOST_GRACE_MS = 2_000;
/** Time limit of one `GET /status` in the scale part (an overloaded node answers late). */
const STATUS_TIMEOUT_MS = 20_000;
/** How often usage is sampled during a hold, and how often progress is printed. */
const SAMPLE_MS = 5_000;
const PROGRESS_MS = 30_000;
/** Upper bounds on the command-line numbers. */
const MAX_MINUTES = 240;
const MAX_TRIALS = 500;

/**
 * Failover anchors measured on this machine by ../shared/anchors-failover (RESULTS.md):
 * median time from a cable cut (bridge-side veth down) to the first probe of the virtual
 * IP answered by the other node, so detection plus takeover.
 */
const DETECTION_ANCHORS = [
  { stack: "keepalived 2.2.7, advert_int 10 ms (VRRPv3)", medianMs: 37, range: "33-43" },
  { stack: "keepalived 2.2.7, advert_int 100 ms (VRRPv3)", medianMs: 292, range: "283-327" },
  {
    stack: "heartbeat 3.0.6 v1, keepalive 100 ms / deadtime 500 ms",
    medianMs: 1210,
    range: "1074-1484",
  },
] as const;

/** Idle anchors from the same file (CPU % per node over 30 s, RSS summed over processes). */
const IDLE_ANCHORS = [
  {
    stack: "heartbeat 3.0.6 v1, keepalive 100 ms / deadtime 500 ms",
    cpu: "0.70-0.77 %",
    rss: "25 MiB",
  },
  { stack: "keepalived 2.2.7, advert_int 100 ms", cpu: "0.03-0.13 %", rss: "13 MiB" },
] as const;

/** median, p90 (nearest rank), min and max of a sample. */
export interface Summary {
  /** Sample size. */
  n: number;
  /** Median. */
  median: number;
  /** 90th percentile, nearest rank. */
  p90: number;
  /** Smallest value. */
  min: number;
  /** Largest value. */
  max: number;
}

/** One detection trial. */
export interface DetectionTrial {
  /** Node killed. */
  victim: string;
  /** The DC when it was killed. */
  dc: string;
  /** Random delay before the kill, ms. */
  phaseMs: number;
  /** From the kill until both survivors logged a membership without the victim, ms. */
  outOfMembershipMs: number;
  /** Same, each survivor on its own, ms. */
  perSurvivorMs: Record<string, number>;
  /** Same end point from the nodes' own clocks (event `at` minus wall time of the kill). */
  outOfMembershipNodeClockMs: number;
  /** From the kill to the first survivor's node-lost for the victim, ms (null if none). */
  firstNodeLostMs: number | null;
  /** Whether both survivors' memberships were exactly the two survivors. */
  survivorsTogether: boolean;
  /** node-lost events about a node other than the victim during the trial. */
  spuriousNodeLost: number;
  /** From the restart until all 3 agreed again, ms. */
  rejoinMs: number;
  /** The victim's incarnation after the restart (from its start-up line), if seen. */
  incarnation: number | null;
}

/** What the detection part measured. */
export interface DetectionFigures {
  /** Timing. */
  keepaliveMs: number;
  /** Timing. */
  deadtimeMs: number;
  /** Every completed trial. */
  trials: DetectionTrial[];
  /** Kill to out of both survivors' membership. */
  outOfMembership: Summary | null;
  /** Kill to first node-lost. */
  firstNodeLost: Summary | null;
  /** Kill to rejoin after restart. */
  rejoin: Summary | null;
  /** Target on the median of outOfMembership. */
  targetMs: number;
  /** Whether the median met the target. */
  targetMet: boolean;
  /** Why the trials stopped early, if they did. */
  aborted?: string;
}

/** CPU and memory of one node over a hold. */
export interface NodeUsage {
  /** Average CPU over the hold, % of one core. */
  cpuPercent: number;
  /** Highest CPU over one sampling window (5 s). */
  cpuPercentMaxWindow: number;
  /** Average RSS, MiB. */
  rssMiB: number;
  /** Largest RSS, MiB. */
  rssMiBMax: number;
}

/** Usage of every node over a hold. */
export interface HoldUsage {
  /** Length of the hold, s. */
  seconds: number;
  /** Per node. */
  nodes: Record<string, NodeUsage>;
}

/** Counts of instability events after a cluster's first agreement. */
export interface Instability {
  /** node-lost events. */
  nodeLost: number;
  /** link-down events. */
  linkDown: number;
  /** membership events (every one is a change after the agreement). */
  membershipChanges: number;
  /** node-late events (a heartbeat later than warntime). */
  nodeLate: number;
  /** self-stop events. */
  selfStop: number;
}

/** What the falsedeath part measured. */
export interface FalseDeathFigures extends Instability {
  /** Timing. */
  keepaliveMs: number;
  /** Timing. */
  deadtimeMs: number;
  /** Minutes held. */
  minutes: number;
  /** Launch to first agreement of 3, ms. */
  firstAgreementMs: number;
  /** CPU and RSS per node. */
  usage: HoldUsage;
  /** Whether no node-lost happened. */
  targetMet: boolean;
}

/** What the idle part measured. */
export interface IdleFigures {
  /** Timing. */
  keepaliveMs: number;
  /** Timing. */
  deadtimeMs: number;
  /** Warm-up before the window, s. */
  warmupSeconds: number;
  /** Three nodes: usage over the window. */
  three: HoldUsage;
  /** Membership changes during the three-node window. */
  threeMembershipChanges: number;
  /** One node alone: usage over the window. */
  single: HoldUsage;
  /** Target per node, %. */
  targetPercent: number;
  /** Whether every node of the three met it. */
  targetMet: boolean;
}

/** Traffic of one node over a scale run, from its link counters. */
export interface NodeTraffic {
  /** Bytes sent per second. */
  bytesOutPerS: number;
  /** Bytes received per second. */
  bytesInPerS: number;
  /** Packets sent per second. */
  packetsOutPerS: number;
  /** Packets received per second. */
  packetsInPerS: number;
}

/** Mean and largest value over the nodes of a cluster. */
export interface Spread {
  /** Mean over nodes. */
  mean: number;
  /** Largest node. */
  max: number;
}

/** One cluster size of the scale part. */
export interface ScaleRun extends Instability {
  /** Cluster size. */
  nodes: number;
  /** Minutes held after the first agreement. */
  minutes: number;
  /** Time to spawn every process, ms. */
  spawnMs: number;
  /** From the first spawn until all N logged the same full membership, ms. */
  firstAgreementMs: number;
  /** No node-lost and no membership change after the first agreement. */
  stable: boolean;
  /** Per-node figures, mean and max over the nodes. */
  cpuPercent: Spread;
  /** CPU of all nodes together, % of one core (the machine has `machine.cpus` cores). */
  cpuPercentTotal: number;
  /** RSS, MiB. */
  rssMiB: Spread;
  /** Nodes whose `GET /status` answered before and after the hold (traffic is over these). */
  trafficNodes: number;
  /** Bytes sent per second (null when no node answered `GET /status`). */
  bytesOutPerS: Spread | null;
  /** Bytes received per second. */
  bytesInPerS: Spread | null;
  /** Packets sent per second. */
  packetsOutPerS: Spread | null;
  /** Packets received per second. */
  packetsInPerS: Spread | null;
}

/** What the scale part measured: one entry per size, or its error. */
export interface ScaleFigures {
  /** Timing. */
  keepaliveMs: number;
  /** Timing. */
  deadtimeMs: number;
  /** Per size. */
  runs: (ScaleRun | { nodes: number; error: string })[];
}

/** Where the figures come from. */
export interface MachineInfo {
  /** Logical CPUs. */
  cpus: number;
  /** Kernel release. */
  kernel: string;
  /** 1, 5, 15 minute load averages when the run started. */
  loadAtStart: number[];
  /** Same, at the end. */
  loadAtEnd: number[];
  /** ISO time the run started. */
  startedAt: string;
  /** What ran the nodes. */
  runtime: string;
  /** The binary's compiler, when the binary ran. */
  compiler: string | null;
  /** Whether dist/vigil was older than a source file. */
  binaryStale: boolean | null;
}

/** The whole result; a part that did not run is absent, one that failed holds `{ error }`. */
export interface MessagingFigures {
  /** Where they were measured. */
  machine: MachineInfo;
  /** Options of the run. */
  options: BenchOptions;
  /** Part 1. */
  detection?: DetectionFigures | { error: string };
  /** Part 2. */
  falsedeath?: FalseDeathFigures | { error: string };
  /** Part 3. */
  idle?: IdleFigures | { error: string };
  /** Part 4. */
  scale?: ScaleFigures | { error: string };
}

const USAGE = `usage: deno run -A bench/messaging.ts [--quick] [--only PARTS] [--minutes-idle N]
       [--minutes-scale N] [--trials N] [--sizes 8,16,32] [--timing KA/DT] [--json FILE] [--deno]

  --quick            falsedeath 1 min, idle 10 s warm-up + 20 s, scale 0.5 min per size
  --only PARTS       comma-separated subset of ${PARTS.join(",")}
  --minutes-idle N   length of the falsedeath run (default 10; quick 1)
  --minutes-scale N  length of each scale run (default 5; quick 0.5)
  --trials N         detection trials (default ${DEFAULT_TRIALS})
  --sizes LIST       scale cluster sizes (default ${DEFAULT_SIZES.join(",")})
  --timing KA/DT     keepalive/deadtime in ms of detection and falsedeath (default 20/100)
  --json FILE        also write the figures as JSON
  --deno             run main.ts under deno instead of dist/vigil`;

/** A command line that cannot be run. */
export class UsageError extends Error {}

function positive(name: string, text: string | undefined, fallback: number, max: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || value > max) {
    throw new UsageError(`--${name}: expected a number in (0, ${max}], not "${text}"`);
  }
  return value;
}

/** Parses the command line; throws {@link UsageError} naming the bad option. */
export function parseBenchOptions(argv: string[]): BenchOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        quick: { type: "boolean", default: false },
        only: { type: "string" },
        "minutes-idle": { type: "string" },
        "minutes-scale": { type: "string" },
        trials: { type: "string" },
        sizes: { type: "string" },
        timing: { type: "string" },
        json: { type: "string" },
        deno: { type: "boolean", default: false },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const parts = values.only === undefined
    ? [...PARTS]
    : values.only.split(",").map((p) => p.trim()).filter((p) => p !== "");
  for (const p of parts) {
    if (!(PARTS as readonly string[]).includes(p)) {
      throw new UsageError(`--only: unknown part "${p}" (parts: ${PARTS.join(", ")})`);
    }
  }
  if (parts.length === 0) throw new UsageError("--only: no part named");
  const sizes = values.sizes === undefined
    ? [...DEFAULT_SIZES]
    : values.sizes.split(",").map((s) => Number(s.trim()));
  for (const s of sizes) {
    if (!Number.isInteger(s) || s < 2 || s > 64) {
      throw new UsageError(`--sizes: each size must be an integer 2..64 (got "${values.sizes}")`);
    }
  }
  const quick = values.quick ?? false;
  const trials = positive("trials", values.trials, DEFAULT_TRIALS, MAX_TRIALS);
  if (!Number.isInteger(trials)) throw new UsageError(`--trials: expected an integer`);
  return {
    quick,
    parts: PARTS.filter((p) => parts.includes(p)),
    minutesIdle: positive("minutes-idle", values["minutes-idle"], quick ? 1 : 10, MAX_MINUTES),
    minutesScale: positive("minutes-scale", values["minutes-scale"], quick ? 0.5 : 5, MAX_MINUTES),
    ...(values.json !== undefined ? { json: values.json } : {}),
    runtime: values.deno ? "deno" : "binary",
    trials,
    sizes,
    timing: parseTiming(values.timing),
  };
}

function parseTiming(text: string | undefined): { keepaliveMs: number; deadtimeMs: number } {
  if (text === undefined) {
    return { keepaliveMs: DETECTION.keepaliveMs, deadtimeMs: DETECTION.deadtimeMs };
  }
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const keepaliveMs = Number(m?.[1]);
  const deadtimeMs = Number(m?.[2]);
  if (!m || keepaliveMs < 1 || deadtimeMs <= keepaliveMs) {
    throw new UsageError(
      `--timing: expected KEEPALIVE/DEADTIME in ms with deadtime > keepalive, not "${text}"`,
    );
  }
  return { keepaliveMs, deadtimeMs };
}

/** Median, p90 (nearest rank), min, max; null for an empty sample. */
export function summarize(values: readonly number[]): Summary | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  const p90 = s[Math.min(s.length - 1, Math.ceil(0.9 * s.length) - 1)];
  return {
    n: s.length,
    median: round(median),
    p90: round(p90),
    min: round(s[0]),
    max: round(s.at(-1)!),
  };
}

function round(value: number, digits = 1): number {
  return Number(value.toFixed(digits));
}

function spread(values: readonly number[], digits?: number): Spread;
function spread(values: readonly number[], digits: number, orNull: true): Spread | null;
function spread(values: readonly number[], digits = 1, orNull = false): Spread | null {
  if (values.length === 0) {
    if (orNull) return null;
    throw new Error("spread of no values");
  }
  const mean = values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
  return { mean: round(mean, digits), max: round(Math.max(...values), digits) };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** What every part needs: how to launch a cluster, the clock tick rate, the log. */
class BenchContext {
  readonly options: BenchOptions;
  readonly command: string[];
  readonly hz = clockTicksPerSecond();
  readonly #t0 = performance.now();
  readonly #active = new Set<LocalCluster>();

  constructor(options: BenchOptions, command: string[]) {
    this.options = options;
    this.command = command;
  }

  /** Prints a line stamped with the time since the benchmark started. */
  log(line: string): void {
    const s = Math.round((performance.now() - this.#t0) / 1000);
    const stamp = `${String(Math.floor(s / 60)).padStart(2, "0")}:${
      String(s % 60).padStart(2, "0")
    }`;
    console.log(`[${stamp}] ${line}`);
  }

  /** Starts a cluster that {@link stopAll} will stop if the benchmark is interrupted. */
  async launch(opts: Omit<LocalClusterOptions, "command">): Promise<LocalCluster> {
    const cluster = await LocalCluster.start({
      ...opts,
      command: this.command,
      tempPrefix: "vigil-bench-msg-",
    });
    this.#active.add(cluster);
    return cluster;
  }

  /** Stops a cluster, reporting any node that needed SIGKILL or survived it. */
  async release(cluster: LocalCluster): Promise<void> {
    const report = await cluster.stop();
    this.#active.delete(cluster);
    if (report.killed > 0) {
      this.log(
        `  note: ${report.killed} node(s) did not stop within 5 s of SIGTERM and got SIGKILL`,
      );
    }
    if (report.stuck.length > 0) {
      this.log(`  WARNING: PIDs ${report.stuck.join(", ")} survived SIGKILL`);
    }
  }

  /** Stops every cluster still running. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.#active].map((c) => c.stop()));
    this.#active.clear();
  }
}

/** Events after `seq` that say the cluster was not stable. */
function instability(cluster: LocalCluster, seq: number): Instability {
  const count = (kind: string) => cluster.eventsSince(seq, kind).length;
  return {
    nodeLost: count("node-lost"),
    linkDown: count("link-down"),
    membershipChanges: count("membership"),
    nodeLate: count("node-late"),
    selfStop: count("self-stop"),
  };
}

function describeInstability(i: Instability): string {
  return `node-lost ${i.nodeLost}, link-down ${i.linkDown}, membership changes ${i.membershipChanges}, node-late ${i.nodeLate}`;
}

/**
 * Keeps the cluster running for `durationMs`, sampling CPU and RSS of every node each
 * {@link SAMPLE_MS} and printing a progress line each {@link PROGRESS_MS}. Throws as soon
 * as a node has ended.
 */
async function hold(
  ctx: BenchContext,
  cluster: LocalCluster,
  durationMs: number,
  label: string,
  progress: () => string,
): Promise<HoldUsage> {
  const names = cluster.names;
  const read = (): ProcessUsage[] =>
    names.map((n) => {
      const u = cluster.usage(n);
      if (!u) {
        throw new Error(`${label}: node ${n} is not running\n${cluster.diagnostics()}`);
      }
      return u;
    });
  const first = read();
  const t0 = performance.now();
  let previous = { at: t0, usage: first };
  let last = previous;
  const maxWindow = names.map(() => 0);
  const rss = names.map((_, i) => [first[i].rssKiB]);
  let nextProgress = t0 + PROGRESS_MS;
  // Bounded: each pass sleeps at least a few ms until the deadline.
  for (let pass = 0; pass < 1_000_000; pass++) {
    const left = durationMs - (performance.now() - t0);
    if (left <= 0) break;
    await sleep(Math.max(5, Math.min(SAMPLE_MS, left)));
    const usage = read();
    const at = performance.now();
    if (at - previous.at >= SAMPLE_MS / 2 || left <= SAMPLE_MS) {
      const s = (at - previous.at) / 1000;
      usage.forEach((u, i) => {
        const pct = (u.cpuTicks - previous.usage[i].cpuTicks) / ctx.hz / s * 100;
        maxWindow[i] = Math.max(maxWindow[i], pct);
        rss[i].push(u.rssKiB);
      });
      previous = { at, usage };
    }
    last = { at, usage };
    if (at >= nextProgress) {
      nextProgress += PROGRESS_MS;
      const s = (at - t0) / 1000;
      const cpu = last.usage.map((u, i) => (u.cpuTicks - first[i].cpuTicks) / ctx.hz / s * 100);
      const cpuText = names.length <= 4
        ? names.map((n, i) => `${n} ${cpu[i].toFixed(2)} %`).join(", ")
        : `mean ${(cpu.reduce((a, b) => a + b, 0) / cpu.length).toFixed(2)} %, max ${
          Math.max(...cpu).toFixed(2)
        } %`;
      ctx.log(
        `  ${label}: ${Math.round(s)}/${
          Math.round(durationMs / 1000)
        } s; ${progress()}; CPU ${cpuText}`,
      );
    }
  }
  const seconds = (last.at - t0) / 1000;
  const nodes: Record<string, NodeUsage> = {};
  names.forEach((n, i) => {
    const kib = rss[i];
    nodes[n] = {
      cpuPercent: round((last.usage[i].cpuTicks - first[i].cpuTicks) / ctx.hz / seconds * 100, 2),
      cpuPercentMaxWindow: round(maxWindow[i], 2),
      rssMiB: round(kib.reduce((a, b) => a + b, 0) / kib.length / 1024),
      rssMiBMax: round(Math.max(...kib) / 1024),
    };
  });
  return { seconds: round(seconds), nodes };
}

/** Where a cluster stands on the way to agreement, for progress lines. */
function agreementDetail(cluster: LocalCluster, names: readonly string[]): string {
  const views = names.map((n) => cluster.membership(n));
  const full = views.filter((m) => hasMembers(m, names)).length;
  const sizes = views.map((m) => m?.members.length ?? 0);
  const generations = views.filter((m) => m !== null).map((m) => m!.generation);
  const range = generations.length > 0
    ? `generations ${Math.min(...generations)}..${Math.max(...generations)}`
    : "no membership yet";
  return `${full} of ${names.length} nodes see all ${names.length}; largest membership ${
    Math.max(...sizes)
  }; ${range}`;
}

/** {@link LocalCluster.waitForAgreement} with a progress line every {@link PROGRESS_MS}. */
async function agree(
  ctx: BenchContext,
  cluster: LocalCluster,
  names: readonly string[],
  opts: { timeoutMs: number; label: string; stableMs?: number },
): ReturnType<LocalCluster["waitForAgreement"]> {
  const t0 = performance.now();
  const timer = setInterval(() => {
    const s = Math.round((performance.now() - t0) / 1000);
    ctx.log(`  ${opts.label}: still waiting after ${s} s; ${agreementDetail(cluster, names)}`);
  }, PROGRESS_MS);
  try {
    return await cluster.waitForAgreement(names, opts);
  } catch (e) {
    // The launcher's message lists every node; keep it short for big clusters.
    if (names.length > 8) {
      throw new Error(
        `${opts.label}: not within ${opts.timeoutMs} ms (${agreementDetail(cluster, names)})`,
        { cause: e },
      );
    }
    throw e;
  } finally {
    clearInterval(timer);
  }
}

/**
 * `GET /status` of every node at once, each within {@link STATUS_TIMEOUT_MS}; a node that
 * does not answer (an overloaded machine) gives undefined instead of failing the run.
 */
async function statusAll(
  cluster: LocalCluster,
  names: readonly string[],
): Promise<(StatusDocument | undefined)[]> {
  const results = await Promise.allSettled(names.map((n) => cluster.status(n, STATUS_TIMEOUT_MS)));
  return results.map((r) => r.status === "fulfilled" ? r.value : undefined);
}

/** The DC all nodes report in `GET /status`; throws if they disagree or name none. */
async function agreedDc(cluster: LocalCluster, names: readonly string[]): Promise<string> {
  const docs = await Promise.all(names.map((n) => cluster.status(n)));
  const first = docs[0];
  for (const d of docs) {
    if (
      d.dc === null || d.dc !== first.dc || !d.membership ||
      d.membership.generation !== first.membership?.generation
    ) {
      throw new Error(
        `status disagrees: ${
          docs.map((x) => `${x.node} dc ${x.dc} membership ${x.membership?.generation}`).join("; ")
        }`,
      );
    }
  }
  return first.dc!;
}

/** The first membership event of `node` after `seq` that leaves `victim` out. */
function firstWithout(
  cluster: LocalCluster,
  seq: number,
  node: string,
  victim: string,
): NodeLogEvent | undefined {
  return cluster.eventsSince(seq, "membership").find((e) => {
    const m = parseMembership(e.text);
    return e.node === node && m !== null && !m.members.includes(victim);
  });
}

async function benchDetection(ctx: BenchContext): Promise<DetectionFigures> {
  const { keepaliveMs, deadtimeMs } = ctx.options.timing;
  const total = ctx.options.trials;
  ctx.log(
    `detection: 3 nodes, keepalive ${keepaliveMs} ms, deadtime ${deadtimeMs} ms, ${total} trials`,
  );
  const cluster = await ctx.launch({ size: 3, keepaliveMs, deadtimeMs });
  const names = cluster.names;
  const trials: DetectionTrial[] = [];
  let aborted: string | undefined;
  try {
    for (let i = 1; i <= total; i++) {
      await agree(ctx, cluster, names, {
        stableMs: DETECTION.stableMs,
        timeoutMs: AGREE_TIMEOUT_MS,
        label: `trial ${i}: membership of 3 stable for ${DETECTION.stableMs} ms`,
      });
      const dc = await agreedDc(cluster, names);
      const candidates = names.filter((n) => n !== dc);
      const victim = candidates[(i - 1) % candidates.length];
      const survivors = names.filter((n) => n !== victim);
      // A random phase within one heartbeat interval.
      const phaseMs = Math.random() * keepaliveMs;
      await sleep(phaseMs);
      const seq0 = cluster.lastSeq;
      const wall0 = Date.now();
      const t0 = cluster.kill(victim, "SIGKILL");
      const out = await cluster.waitUntil(() => {
        const events = survivors.map((s) => firstWithout(cluster, seq0, s, victim));
        return events.every((e) => e !== undefined) ? events as NodeLogEvent[] : undefined;
      }, {
        timeoutMs: DETECT_TIMEOUT_MS,
        label: `trial ${i}: survivors leave ${victim} out of their membership`,
      });
      const lostOf = () =>
        cluster.eventsSince(seq0, "node-lost").find((e) =>
          survivors.includes(e.node) && e.subject === victim
        );
      const lost = await cluster.waitUntil(lostOf, {
        timeoutMs: NODE_LOST_GRACE_MS,
        label: `trial ${i}: node-lost for ${victim}`,
      }).catch(() => undefined);
      const perSurvivorMs = Object.fromEntries(
        out.map((e) => [e.node, round(e.arrivedAt - t0)]),
      );
      const outOfMembershipMs = round(Math.max(...out.map((e) => e.arrivedAt)) - t0);
      const outOfMembershipNodeClockMs = Math.max(...out.map((e) => e.at)) - wall0;
      const survivorsTogether = out.every((e) => hasMembers(parseMembership(e.text), survivors));

      const seqRestart = cluster.lastSeq;
      const restartAt = performance.now();
      await cluster.restart(victim);
      const rejoined = await agree(ctx, cluster, names, {
        timeoutMs: AGREE_TIMEOUT_MS,
        label: `trial ${i}: ${victim} rejoins`,
      });
      const spuriousNodeLost = cluster.eventsSince(seq0, "node-lost")
        .filter((e) => e.subject !== victim && e.node !== victim).length;
      const startLine = cluster.eventsSince(seqRestart, "log")
        .find((e) => e.node === victim && /incarnation \d+/.test(e.text));
      const incarnation = startLine ? Number(startLine.text.match(/incarnation (\d+)/)![1]) : null;
      const trial: DetectionTrial = {
        victim,
        dc,
        phaseMs: round(phaseMs),
        outOfMembershipMs,
        perSurvivorMs,
        outOfMembershipNodeClockMs,
        firstNodeLostMs: lost ? round(lost.arrivedAt - t0) : null,
        survivorsTogether,
        spuriousNodeLost,
        rejoinMs: round(rejoined.reachedAt - restartAt),
        incarnation,
      };
      trials.push(trial);
      ctx.log(
        `  trial ${i}/${total}: SIGKILL ${victim} (DC ${dc}, phase ${trial.phaseMs} ms): ` +
          `first node-lost ${trial.firstNodeLostMs ?? "none"} ms, out of both survivors' ` +
          `membership ${outOfMembershipMs} ms (${
            survivors.map((s) => `${s} ${perSurvivorMs[s]}`).join(", ")
          }; node clocks ${outOfMembershipNodeClockMs})` +
          `${survivorsTogether ? "" : " [survivors split]"}` +
          `${spuriousNodeLost ? ` [${spuriousNodeLost} spurious node-lost]` : ""}; ` +
          `rejoined in ${trial.rejoinMs} ms (incarnation ${incarnation ?? "?"})`,
      );
    }
  } catch (e) {
    aborted = message(e);
    ctx.log(`  detection stopped after ${trials.length} trials: ${aborted}`);
  } finally {
    await ctx.release(cluster);
  }
  const outOfMembership = summarize(trials.map((t) => t.outOfMembershipMs));
  return {
    keepaliveMs,
    deadtimeMs,
    trials,
    outOfMembership,
    firstNodeLost: summarize(
      trials.map((t) => t.firstNodeLostMs).filter((v): v is number => v !== null),
    ),
    rejoin: summarize(trials.map((t) => t.rejoinMs)),
    targetMs: DETECTION_TARGET_MS,
    targetMet: aborted === undefined && outOfMembership !== null &&
      outOfMembership.median <= DETECTION_TARGET_MS,
    ...(aborted !== undefined ? { aborted } : {}),
  };
}

async function benchFalseDeath(ctx: BenchContext): Promise<FalseDeathFigures> {
  const { keepaliveMs, deadtimeMs } = ctx.options.timing;
  const minutes = ctx.options.minutesIdle;
  ctx.log(
    `falsedeath: 3 nodes, keepalive ${keepaliveMs} ms, deadtime ${deadtimeMs} ms, ${minutes} min`,
  );
  const launchedAt = performance.now();
  const cluster = await ctx.launch({ size: 3, keepaliveMs, deadtimeMs });
  try {
    const agreed = await agree(ctx, cluster, cluster.names, {
      timeoutMs: AGREE_TIMEOUT_MS,
      label: "falsedeath: first agreement of 3",
    });
    const seq0 = cluster.lastSeq;
    const usage = await hold(
      ctx,
      cluster,
      minutes * 60_000,
      "falsedeath",
      () => describeInstability(instability(cluster, seq0)),
    );
    const counts = instability(cluster, seq0);
    ctx.log(`  falsedeath: ${describeInstability(counts)} over ${usage.seconds} s`);
    return {
      keepaliveMs,
      deadtimeMs,
      minutes,
      firstAgreementMs: round(agreed.reachedAt - launchedAt),
      ...counts,
      usage,
      targetMet: counts.nodeLost === 0,
    };
  } finally {
    await ctx.release(cluster);
  }
}

async function benchIdle(ctx: BenchContext): Promise<IdleFigures> {
  const { keepaliveMs, deadtimeMs } = IDLE;
  const warmupMs = ctx.options.quick ? 10_000 : 30_000;
  const windowMs = ctx.options.quick ? 20_000 : 60_000;
  const measure = async (size: number) => {
    ctx.log(
      `idle: ${size} node${
        size > 1 ? "s" : ""
      }, keepalive ${keepaliveMs} ms, deadtime ${deadtimeMs} ms: ` +
        `${warmupMs / 1000} s warm-up, ${windowMs / 1000} s window`,
    );
    const cluster = await ctx.launch({ size, keepaliveMs, deadtimeMs });
    try {
      await agree(ctx, cluster, cluster.names, {
        timeoutMs: AGREE_TIMEOUT_MS,
        label: `idle: agreement of ${size}`,
      });
      await hold(ctx, cluster, warmupMs, `idle ${size}: warm-up`, () => "warming up");
      const seq0 = cluster.lastSeq;
      const usage = await hold(
        ctx,
        cluster,
        windowMs,
        `idle ${size}`,
        () => describeInstability(instability(cluster, seq0)),
      );
      const changes = instability(cluster, seq0).membershipChanges;
      ctx.log(
        `  idle ${size}: ${
          Object.entries(usage.nodes).map(([n, u]) => `${n} ${u.cpuPercent} % ${u.rssMiB} MiB`)
            .join(", ")
        }`,
      );
      return { usage, changes };
    } finally {
      await ctx.release(cluster);
    }
  };
  const three = await measure(3);
  const single = await measure(1);
  return {
    keepaliveMs,
    deadtimeMs,
    warmupSeconds: warmupMs / 1000,
    three: three.usage,
    threeMembershipChanges: three.changes,
    single: single.usage,
    targetPercent: IDLE_TARGET_PERCENT,
    targetMet: Object.values(three.usage.nodes).every((u) => u.cpuPercent <= IDLE_TARGET_PERCENT),
  };
}

/** Sums the counters of every link of a status document. */
function linkTotals(doc: StatusDocument) {
  const t = { bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0 };
  for (const l of doc.links) {
    t.bytesIn += l.counters.bytesIn;
    t.bytesOut += l.counters.bytesOut;
    t.packetsIn += l.counters.packetsIn;
    t.packetsOut += l.counters.packetsOut;
  }
  return t;
}

async function benchScaleSize(ctx: BenchContext, size: number): Promise<ScaleRun> {
  const { keepaliveMs, deadtimeMs } = SCALE;
  const minutes = ctx.options.minutesScale;
  ctx.log(
    `scale: ${size} nodes, keepalive ${keepaliveMs} ms, deadtime ${deadtimeMs} ms, ${minutes} min`,
  );
  const launchedAt = performance.now();
  const cluster = await ctx.launch({ size, keepaliveMs, deadtimeMs });
  try {
    const spawnMs = performance.now() - launchedAt;
    const names = cluster.names;
    const agreed = await agree(ctx, cluster, names, {
      timeoutMs: SCALE_AGREE_TIMEOUT_MS,
      label: `scale ${size}: first agreement of all ${size}`,
    });
    const firstAgreementMs = agreed.reachedAt - launchedAt;
    ctx.log(
      `  scale ${size}: all ${size} agreed on membership ${agreed.membership.generation} ` +
        `${Math.round(firstAgreementMs)} ms after the first spawn (spawning took ${
          Math.round(spawnMs)
        } ms)`,
    );
    const seq0 = cluster.lastSeq;
    const before = await statusAll(cluster, names);
    const usage = await hold(
      ctx,
      cluster,
      minutes * 60_000,
      `scale ${size}`,
      () => describeInstability(instability(cluster, seq0)),
    );
    const after = await statusAll(cluster, names);
    const counts = instability(cluster, seq0);
    const traffic: NodeTraffic[] = names.flatMap((_, i) => {
      const [x, y] = [before[i], after[i]];
      if (!x || !y || y.uptimeMs <= x.uptimeMs) return [];
      const s = (y.uptimeMs - x.uptimeMs) / 1000;
      const a = linkTotals(y);
      const b = linkTotals(x);
      return [{
        bytesOutPerS: (a.bytesOut - b.bytesOut) / s,
        bytesInPerS: (a.bytesIn - b.bytesIn) / s,
        packetsOutPerS: (a.packetsOut - b.packetsOut) / s,
        packetsInPerS: (a.packetsIn - b.packetsIn) / s,
      }];
    });
    if (traffic.length < size) {
      ctx.log(
        `  scale ${size}: only ${traffic.length} of ${size} nodes answered GET /status ` +
          `within ${STATUS_TIMEOUT_MS / 1000} s before and after; traffic is over those`,
      );
    }
    const nodes = Object.values(usage.nodes);
    const run: ScaleRun = {
      nodes: size,
      minutes,
      spawnMs: round(spawnMs),
      firstAgreementMs: round(firstAgreementMs),
      ...counts,
      stable: counts.nodeLost === 0 && counts.membershipChanges === 0,
      cpuPercent: spread(nodes.map((u) => u.cpuPercent), 2),
      rssMiB: spread(nodes.map((u) => u.rssMiB)),
      cpuPercentTotal: round(nodes.reduce((a, u) => a + u.cpuPercent, 0), 1),
      trafficNodes: traffic.length,
      bytesOutPerS: spread(traffic.map((t) => t.bytesOutPerS), 0, true),
      bytesInPerS: spread(traffic.map((t) => t.bytesInPerS), 0, true),
      packetsOutPerS: spread(traffic.map((t) => t.packetsOutPerS), 1, true),
      packetsInPerS: spread(traffic.map((t) => t.packetsInPerS), 1, true),
    };
    ctx.log(
      `  scale ${size}: ${run.stable ? "stable" : "NOT stable"} (${
        describeInstability(counts)
      }); ` +
        `per node CPU ${run.cpuPercent.mean} % (max ${run.cpuPercent.max}; all nodes ` +
        `${run.cpuPercentTotal} %), RSS ${run.rssMiB.mean} MiB, ` +
        `out ${run.bytesOutPerS?.mean ?? "n/a"} B/s, in ${run.bytesInPerS?.mean ?? "n/a"} B/s`,
    );
    return run;
  } finally {
    await ctx.release(cluster);
  }
}

async function benchScale(ctx: BenchContext): Promise<ScaleFigures> {
  const runs: ScaleFigures["runs"] = [];
  for (const size of ctx.options.sizes) {
    try {
      runs.push(await benchScaleSize(ctx, size));
    } catch (e) {
      ctx.log(`  scale ${size}: FAILED: ${message(e)}`);
      runs.push({ nodes: size, error: message(e) });
    }
  }
  return { keepaliveMs: SCALE.keepaliveMs, deadtimeMs: SCALE.deadtimeMs, runs };
}

/** Formats rows as a table: first column left-aligned, the others right-aligned. */
function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  return rows.map((r) =>
    "  " +
    r.map((cell, c) => c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])).join("  ")
  );
}

function summaryRow(label: string, s: Summary | null, unit: string): string[] {
  if (!s) return [label, "-", "-", "-", "-", "0"];
  return [
    label,
    `${s.median} ${unit}`,
    `${s.p90} ${unit}`,
    `${s.min} ${unit}`,
    `${s.max} ${unit}`,
    `${s.n}`,
  ];
}

/** The report printed at the end, as lines. */
export function report(f: MessagingFigures): string[] {
  const out: string[] = [];
  const m = f.machine;
  out.push("");
  out.push("== Vigil messaging-layer benchmark ==");
  out.push(
    `Figures are from this machine only: ${m.cpus} CPUs shared with other work, kernel ${m.kernel}, ` +
      `load average ${m.loadAtStart.map((l) => l.toFixed(2)).join(" ")} at start, ` +
      `${m.loadAtEnd.map((l) => l.toFixed(2)).join(" ")} at end.`,
  );
  out.push(
    `Nodes ran as ${m.runtime}${m.compiler ? ` (${m.compiler})` : ""}${
      m.binaryStale ? "; NOTE: dist/vigil was older than the sources" : ""
    }. Started ${m.startedAt}${f.options.quick ? ", --quick" : ""}.`,
  );

  const d = f.detection;
  if (d) {
    out.push("");
    if ("error" in d) out.push(`detection: FAILED: ${d.error}`);
    else {
      out.push(
        `detection: 3 nodes, keepalive ${d.keepaliveMs} ms, deadtime ${d.deadtimeMs} ms, ` +
          `SIGKILL of a non-DC node at a random phase, ${d.trials.length} trials`,
      );
      out.push(...table([
        ["from SIGKILL to", "median", "p90", "min", "max", "n"],
        summaryRow("out of both survivors' membership", d.outOfMembership, "ms"),
        summaryRow("first node-lost", d.firstNodeLost, "ms"),
        summaryRow("(victim restarted) all 3 agree again", d.rejoin, "ms"),
      ]));
      out.push(
        `  target: median out of membership <= ${d.targetMs} ms: ${
          d.targetMet ? "met" : "NOT met"
        }` +
          (d.aborted ? ` (trials stopped early: ${d.aborted.split("\n")[0]})` : ""),
      );
      out.push(
        "  for comparison, failover medians measured on this machine (anchors-failover, cable cut " +
          "to the VIP answered by the other node, so detection plus takeover):",
      );
      for (const a of DETECTION_ANCHORS) out.push(`    ${a.stack}: ${a.medianMs} ms (${a.range})`);
    }
  }

  const fd = f.falsedeath;
  if (fd) {
    out.push("");
    if ("error" in fd) out.push(`falsedeath: FAILED: ${fd.error}`);
    else {
      out.push(
        `falsedeath: 3 nodes idle at keepalive ${fd.keepaliveMs} ms, deadtime ${fd.deadtimeMs} ms ` +
          `for ${fd.usage.seconds} s after the first agreement (${fd.firstAgreementMs} ms after launch)`,
      );
      out.push(`  ${describeInstability(fd)}, self-stop ${fd.selfStop}`);
      out.push(`  target: zero node-lost: ${fd.targetMet ? "met" : "NOT met"}`);
      out.push(...usageTable(fd.usage));
    }
  }

  const idle = f.idle;
  if (idle) {
    out.push("");
    if ("error" in idle) out.push(`idle: FAILED: ${idle.error}`);
    else {
      out.push(
        `idle: keepalive ${idle.keepaliveMs} ms, deadtime ${idle.deadtimeMs} ms, ` +
          `${idle.warmupSeconds} s warm-up, ${idle.three.seconds} s window`,
      );
      out.push(`  3 nodes (membership changes in the window: ${idle.threeMembershipChanges}):`);
      out.push(...usageTable(idle.three));
      out.push("  1 node alone:");
      out.push(...usageTable(idle.single));
      out.push(
        `  target: <= ${idle.targetPercent} % CPU per node (3 nodes): ${
          idle.targetMet ? "met" : "NOT met"
        }`,
      );
      out.push("  for comparison (anchors-failover, idle per node, 2 nodes):");
      for (const a of IDLE_ANCHORS) out.push(`    ${a.stack}: ${a.cpu} CPU, ${a.rss} RSS`);
    }
  }

  const sc = f.scale;
  if (sc) {
    out.push("");
    if ("error" in sc) out.push(`scale: FAILED: ${sc.error}`);
    else {
      out.push(
        `scale: keepalive ${sc.keepaliveMs} ms, deadtime ${sc.deadtimeMs} ms; per node: mean (max)`,
      );
      const rows = [[
        "nodes",
        "min",
        "agree ms",
        "stable",
        "lost",
        "memb. chg",
        "CPU %",
        "all CPU %",
        "RSS MiB",
        "out B/s",
        "in B/s",
        "out pkt/s",
        "in pkt/s",
      ]];
      const failures: string[] = [];
      for (const r of sc.runs) {
        if ("error" in r) {
          rows.push([`${r.nodes}`, "FAILED"]);
          failures.push(`  ${r.nodes} nodes FAILED: ${r.error.split("\n")[0]}`);
          continue;
        }
        const both = (s: Spread | null) => s ? `${s.mean} (${s.max})` : "n/a";
        rows.push([
          `${r.nodes}`,
          `${r.minutes}`,
          `${Math.round(r.firstAgreementMs)}`,
          r.stable ? "yes" : "NO",
          `${r.nodeLost}`,
          `${r.membershipChanges}`,
          both(r.cpuPercent),
          `${r.cpuPercentTotal}`,
          both(r.rssMiB),
          both(r.bytesOutPerS),
          both(r.bytesInPerS),
          both(r.packetsOutPerS),
          both(r.packetsInPerS),
        ]);
      }
      out.push(...table(rows));
      out.push(...failures);
      out.push(
        "  agree ms: from the first spawn until all N logged the same full membership; " +
          `all CPU %: the nodes together, % of one core (${m.cpus} cores)`,
      );
      for (const r of sc.runs) {
        if (!("error" in r) && r.trafficNodes < r.nodes) {
          out.push(
            `  ${r.nodes} nodes: traffic from ${r.trafficNodes} of ${r.nodes} nodes ` +
              `(the others did not answer GET /status within ${STATUS_TIMEOUT_MS / 1000} s)`,
          );
        }
      }
    }
  }
  return out;
}

function usageTable(u: HoldUsage): string[] {
  const rows = [["node", "CPU %", "max 5 s CPU %", "RSS MiB", "max RSS MiB"]];
  for (const [n, x] of Object.entries(u.nodes)) {
    rows.push([n, `${x.cpuPercent}`, `${x.cpuPercentMaxWindow}`, `${x.rssMiB}`, `${x.rssMiBMax}`]);
  }
  return table(rows).map((l) => `  ${l}`);
}

/** Copies dist/vigil so a recompile by someone else neither fails on nor changes our nodes. */
function snapshotBinary(): { command: string[]; dir: string; stale: boolean; compiler: string } {
  if (!existsSync(binaryPath)) {
    console.log("dist/vigil is missing: building it with scripts/compile.ts");
    const r = spawnSync(tool("deno"), ["run", "-A", join(repoRoot, "scripts/compile.ts")], {
      cwd: repoRoot,
      stdio: "inherit",
      timeout: 900_000,
    });
    if (r.status !== 0 || !existsSync(binaryPath)) {
      throw new Error(`scripts/compile.ts failed (exit ${r.status}); run deno task compile`);
    }
  }
  const stale = isBinaryStale();
  const compiler = existsSync(compilerNotePath)
    ? readFileSync(compilerNotePath, "utf8").split("\n")[0].trim()
    : "unknown compiler";
  const dir = mkdtempSync(join(tmpdir(), "vigil-bench-bin-"));
  const copy = join(dir, "vigil");
  copyFileSync(binaryPath, copy);
  chmodSync(copy, 0o755);
  return { command: [copy], dir, stale, compiler };
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  let options: BenchOptions;
  try {
    options = parseBenchOptions(argv);
  } catch (e) {
    console.error(`${message(e)}\n\n${USAGE}`);
    return 2;
  }
  let binary: ReturnType<typeof snapshotBinary> | undefined;
  let command: string[];
  if (options.runtime === "binary") {
    binary = snapshotBinary();
    command = binary.command;
  } else {
    command = vigilCommand("deno");
  }
  const ctx = new BenchContext(options, command);
  const machine: MachineInfo = {
    cpus: cpus().length,
    kernel: release(),
    loadAtStart: loadavg(),
    loadAtEnd: [],
    startedAt: new Date().toISOString(),
    runtime: options.runtime === "binary" ? "dist/vigil (a copy)" : "deno run main.ts",
    compiler: binary?.compiler ?? null,
    binaryStale: binary?.stale ?? null,
  };
  ctx.log(
    `messaging benchmark: parts ${options.parts.join(", ")}; nodes run as ${machine.runtime}` +
      `${binary ? ` (${binary.compiler})` : ""}; ${machine.cpus} CPUs shared with other work`,
  );
  if (binary?.stale) ctx.log("note: dist/vigil is older than some source file");

  let interrupted = false;
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    ctx.log("interrupted: stopping every cluster");
    ctx.stopAll().finally(() => {
      if (binary) rmSync(binary.dir, { recursive: true, force: true });
      process.exit(130);
    });
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const figures: MessagingFigures = { machine, options };
  let failed = false;
  const part = async <T>(name: Part, run: (c: BenchContext) => Promise<T>) => {
    if (!options.parts.includes(name)) return undefined;
    try {
      return await run(ctx);
    } catch (e) {
      failed = true;
      ctx.log(`${name}: FAILED: ${message(e)}`);
      return { error: message(e) };
    }
  };
  try {
    figures.detection = await part("detection", benchDetection);
    if (figures.detection && "aborted" in figures.detection) failed = true;
    figures.falsedeath = await part("falsedeath", benchFalseDeath);
    figures.idle = await part("idle", benchIdle);
    figures.scale = await part("scale", benchScale);
    if (figures.scale && "runs" in figures.scale) {
      if (figures.scale.runs.some((r) => "error" in r)) failed = true;
    }
  } finally {
    await ctx.stopAll();
    if (binary) rmSync(binary.dir, { recursive: true, force: true });
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  machine.loadAtEnd = loadavg();
  for (const line of report(figures)) console.log(line);
  if (options.json) {
    writeFileSync(options.json, JSON.stringify(figures, null, 2) + "\n");
    console.log(`\nfigures written to ${options.json}`);
  }
  return failed ? 1 : 0;
}

if (import.meta.main) {
  process.exit(await main(process.argv.slice(2)));
}
