/**
 * Policy-engine benchmark: Vigil's scheduler and Pacemaker's `crm_simulate`
 * side by side on the same generated CIBs (../shared/pacemaker-scheduler/gen_cib.py).
 *
 * For each scenario (nodes x resources, cold start or a failover with one node
 * lost) it prints: Vigil's schedule() time alone (best of two runs in fresh
 * processes), time and peak RSS with the Pacemaker XML import included, peak
 * RSS of scheduling an already imported document, time per resource, and
 * crm_simulate's wall
 * time and peak RSS (`crm_simulate -x FILE -R -Q -G OUT`, killed after
 * --crm-timeout seconds). Each measurement runs in a fresh process.
 *
 * ```sh
 * deno run -A bench/pe_bench.ts                 # 1k, 10k, 100k on 32 nodes + a 10k failover
 * deno run -A bench/pe_bench.ts --quick         # 1k and 10k only
 * deno run -A bench/pe_bench.ts --sizes 5000x16 --scenario failover --no-crm
 * ```
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import type { CibDocument } from "../core/cib/schema/document.ts";

const SHARED = new URL("../../shared/pacemaker-scheduler/", import.meta.url).pathname;
const GEN = join(SHARED, "gen_cib.py");
const SELF = new URL(import.meta.url).pathname;
/** Heap limit for worker processes (the 100k-resource import needs room). */
const HEAP_MB = 6144;

const USAGE = `usage: deno run -A bench/pe_bench.ts [options]
  --quick              1k and 10k resources on 32 nodes only
  --sizes RxN[,RxN]    resources x nodes to measure (e.g. 5000x16)
  --scenario KIND      empty (cold start, default) or failover (one node lost)
  --no-crm             do not run crm_simulate
  --crm-timeout SECS   kill crm_simulate after SECS seconds (default 300)
  --json FILE          also write the table as JSON`;

/** One scenario to measure. */
interface Scenario {
  nodes: number;
  resources: number;
  kind: "empty" | "failover";
}

/** One worker's figures. */
interface WorkerResult {
  importMs: number;
  scheduleMs: number;
  peakRssMb: number;
  actions: number;
  placed: number;
}

/** One row of the table. */
interface Row {
  scenario: string;
  vigilScheduleMs: number | null;
  vigilTotalMs: number | null;
  vigilPeakMb: number | null;
  vigilPePeakMb: number | null;
  usPerResource: number | null;
  crmMs: number | null;
  crmPeakMb: number | null;
  crmNote: string;
  note: string;
}

/** Peak resident memory of this process in MB (Linux VmHWM, else current RSS). */
function peakRssMb(): number {
  try {
    const status = readFileSync("/proc/self/status", "utf8");
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(status);
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.memoryUsage().rss / 1024 / 1024;
}

/** Reads the input file: a CibDocument JSON as is, else a Pacemaker XML CIB imported. */
function readInput(
  file: string,
  importXml: (text: string, file: string) => { cib: CibDocument },
): CibDocument {
  const text = readFileSync(file, "utf8");
  return file.endsWith(".json") ? (JSON.parse(text) as CibDocument) : importXml(text, file).cib;
}

/** Restarts the kernel's peak-RSS count (VmHWM) after a GC when available (Linux). */
function resetPeakRss(): void {
  (globalThis as { gc?: () => void }).gc?.();
  try {
    writeFileSync("/proc/self/clear_refs", "5");
  } catch {
    // not Linux: the peak then includes reading the input
  }
}

/**
 * Worker: import an XML CIB (or read an already imported CibDocument JSON,
 * trusted as written by this benchmark) and schedule it once; prints one JSON
 * line. With `jsonOut`, also writes the imported document there.
 */
async function worker(file: string, jsonOut?: string): Promise<void> {
  const { importPacemakerXml } = await import("../core/cib/pacemaker_import.ts");
  const { schedule } = await import("../core/pe/scheduler/policy_engine.ts");
  const t0 = performance.now();
  // Read and parse in a helper so the input text is garbage by the time schedule() runs.
  const cib = readInput(file, importPacemakerXml);
  const t1 = performance.now();
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify(cib));
  // From JSON (the "PE-only" column), restart the peak after the input is read: the
  // figure then covers scheduling with the parsed document held, not the text and parse.
  if (file.endsWith(".json")) resetPeakRss();
  const result = schedule(cib, { now: 0 });
  const t2 = performance.now();
  const placed = Object.values(result.placement).filter((p) => p.nodes.length > 0).length;
  const out: WorkerResult = {
    importMs: t1 - t0,
    scheduleMs: t2 - t1,
    peakRssMb: peakRssMb(),
    actions: result.actions.length,
    placed,
  };
  console.log(JSON.stringify(out));
}

function generate(dir: string, s: Scenario): string {
  const file = join(dir, `${s.kind}-${s.nodes}x${s.resources}.xml`);
  const args = [GEN, "-n", String(s.nodes), "-r", String(s.resources), "--clones", "0", "-o", file];
  if (s.kind === "empty") args.push("--state", "empty");
  else args.push("--state", "running", "--probes", "all", "--fail-node", "1");
  const r = spawnSync("python3", args, { encoding: "utf8", timeout: 600_000 });
  if (r.status !== 0) throw new Error(`gen_cib.py failed: ${r.stderr || r.error}`);
  return file;
}

function runVigil(file: string, jsonOut?: string): WorkerResult | string {
  const extra = jsonOut ? ["--json-out", jsonOut] : [];
  const r = spawnSync(
    process.execPath,
    [
      "run",
      "-A",
      `--v8-flags=--max-old-space-size=${HEAP_MB},--expose-gc`,
      SELF,
      "--worker",
      file,
      ...extra,
    ],
    { encoding: "utf8", timeout: 900_000, maxBuffer: 16 * 1024 * 1024 },
  );
  if (r.status !== 0) return `failed: ${(r.stderr || String(r.error)).trim().split("\n").pop()}`;
  const line = r.stdout.trim().split("\n").pop() ?? "";
  return JSON.parse(line) as WorkerResult;
}

function haveCrmSimulate(): boolean {
  return spawnSync("crm_simulate", ["--version"], { encoding: "utf8" }).status === 0;
}

function runCrm(
  file: string,
  dir: string,
  timeoutS: number,
): { ms: number; peakMb: number } | string {
  const out = join(dir, "graph.xml");
  const timeBin = existsSync("/usr/bin/time") ? "/usr/bin/time" : null;
  const cmd = ["crm_simulate", "-x", file, "-R", "-Q", "-G", out];
  const t0 = performance.now();
  const r = timeBin
    ? spawnSync(timeBin, ["-f", "%M", ...cmd], { encoding: "utf8", timeout: timeoutS * 1000 })
    : spawnSync(cmd[0], cmd.slice(1), { encoding: "utf8", timeout: timeoutS * 1000 });
  const ms = performance.now() - t0;
  if (r.error && (r.error as NodeJS.ErrnoException).code === "ETIMEDOUT") {
    return `> ${timeoutS} s (killed)`;
  }
  if (r.signal) return `killed (${r.signal}) after ${(ms / 1000).toFixed(0)} s`;
  if (r.status !== 0) return `exit ${r.status}`;
  const kb = Number((r.stderr.trim().split("\n").pop() ?? "").trim());
  return { ms, peakMb: Number.isFinite(kb) ? kb / 1024 : NaN };
}

function fmt(v: number | null, digits = 0): string {
  return v === null || Number.isNaN(v) ? "-" : v.toFixed(digits);
}

function printTable(rows: Row[]): void {
  const header = [
    "scenario",
    "vigil PE ms",
    "vigil +import ms",
    "vigil peak MB",
    "PE-only peak MB",
    "µs/resource",
    "crm_simulate ms",
    "crm peak MB",
  ];
  const body = rows.map((r) => [
    r.scenario,
    fmt(r.vigilScheduleMs),
    fmt(r.vigilTotalMs),
    fmt(r.vigilPeakMb),
    fmt(r.vigilPePeakMb),
    fmt(r.usPerResource, 1),
    r.crmMs !== null ? fmt(r.crmMs) : r.crmNote,
    fmt(r.crmPeakMb),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const b of body) console.log(line(b));
  for (const r of rows) if (r.note) console.log(`note ${r.scenario}: ${r.note}`);
}

function parseSizes(text: string, kind: Scenario["kind"]): Scenario[] {
  return text.split(",").map((part) => {
    const m = /^(\d+)x(\d+)$/.exec(part.trim());
    if (!m) throw new Error(`--sizes: "${part}" is not RESOURCESxNODES`);
    return { resources: Number(m[1]), nodes: Number(m[2]), kind };
  });
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      worker: { type: "string" },
      "json-out": { type: "string" },
      quick: { type: "boolean", default: false },
      sizes: { type: "string" },
      scenario: { type: "string", default: "empty" },
      "no-crm": { type: "boolean", default: false },
      "crm-timeout": { type: "string", default: "300" },
      json: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.worker) {
    await worker(values.worker, values["json-out"]);
    return 0;
  }
  let scenarios: Scenario[];
  if (values.sizes) {
    scenarios = parseSizes(values.sizes, values.scenario === "failover" ? "failover" : "empty");
  } else if (values.quick) {
    scenarios = parseSizes("1000x32,10000x32", "empty");
  } else {
    scenarios = [
      ...parseSizes("1000x32,10000x32,100000x32", "empty"),
      ...parseSizes("10000x16", "failover"),
    ];
  }
  const crmTimeout = Number(values["crm-timeout"]);
  const crm = !values["no-crm"] && haveCrmSimulate();
  if (!values["no-crm"] && !crm) console.log("crm_simulate not found: Vigil only");
  const dir = mkdtempSync(join(tmpdir(), "vigil-pe-bench-"));
  const rows: Row[] = [];
  try {
    for (const s of scenarios) {
      const label = `${s.kind} ${s.resources} rsc / ${s.nodes} nodes`;
      console.log(`# ${label}`);
      const file = generate(dir, s);
      const jsonFile = file.replace(/\.xml$/, ".json");
      const v = runVigil(file, jsonFile);
      // The scheduler alone, from the imported document (no XML import in memory).
      const pe = runVigil(jsonFile);
      rmSync(jsonFile, { force: true });
      const row: Row = {
        scenario: label,
        vigilScheduleMs: null,
        vigilTotalMs: null,
        vigilPeakMb: null,
        vigilPePeakMb: typeof pe === "string" ? null : pe.peakRssMb,
        usPerResource: null,
        crmMs: null,
        crmPeakMb: null,
        crmNote: crm ? "" : "not run",
        note: "",
      };
      if (typeof v === "string") {
        row.note = `vigil ${v}`;
      } else {
        row.vigilScheduleMs = typeof pe === "string"
          ? v.scheduleMs
          : Math.min(v.scheduleMs, pe.scheduleMs);
        row.vigilTotalMs = v.importMs + v.scheduleMs;
        row.vigilPeakMb = v.peakRssMb;
        row.usPerResource = (row.vigilScheduleMs * 1000) / s.resources;
        row.note = `${v.placed} placed, ${v.actions} graph actions`;
      }
      if (crm) {
        const c = runCrm(file, dir, crmTimeout);
        if (typeof c === "string") row.crmNote = c;
        else {
          row.crmMs = c.ms;
          row.crmPeakMb = c.peakMb;
        }
      }
      rows.push(row);
      rmSync(file, { force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  printTable(rows);
  if (values.json) writeFileSync(values.json, JSON.stringify(rows, null, 2));
  return 0;
}

process.exitCode = await main();
