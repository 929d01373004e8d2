/**
 * `vigil simulate`: runs the policy engine once over a CIB file (Vigil JSON or
 * Pacemaker XML) and prints what it would do: the transition summary and the
 * revised placement, the corpus JSON (`--json`), the transition graph
 * (`--graph`), or every resource's node scores and the reason it is where it
 * is (`--explain`). `--node-fail` and `--op-fail` change the status first.
 *
 * @example
 * ```sh
 * vigil simulate --cib cib.xml --node-fail n1
 * vigil simulate --cib cib.json --op-fail web:monitor:n2 --explain
 * vigil simulate --cib cib.xml --json   # {"resources": {...}, "fence": [...]}
 * ```
 * @module
 */

import { parseArgs } from "node:util";
import { CibSourceError, readCibSource } from "../cib/cib_source.ts";
import type { CibDocument } from "../cib/schema/document.ts";
import { injectNodeFailure, injectOpFailure, parseOpFailure } from "../pe/scheduler/inject.ts";
import { schedule, type ScheduleResult } from "../pe/scheduler/policy_engine.ts";
import { formatScore } from "../score.ts";
import { type CliCommand, type CliIo, UsageError } from "./command.ts";

const HELP = `vigil simulate --cib FILE [--json | --graph | --explain]
                 [--node-fail NAME]... [--op-fail RSC:OP:NODE[=RC]]...

Runs the policy engine once over FILE (Vigil's CIB JSON or a Pacemaker CIB
XML, told apart by the first character) and prints the transition summary
(Fence/Start/Stop/Move/Recover/Restart) and where every resource is after it.

  --cib FILE             the CIB to schedule
  --json                 print {"resources": {ID: {"role", "nodes"}}, "fence": [...]}
                         (the format of Pacemaker's scheduler regression corpus)
  --graph                print the transition graph as JSON (actions with inputs)
  --explain              print each resource's score per node and why it is where it is
  --node-fail NAME       treat node NAME as lost before scheduling (repeatable)
  --op-fail RSC:OP:NODE  record a failed OP of RSC on NODE (exit code RC, default 1)
  --now SECONDS          "now" as seconds since the epoch (default: the CIB's
                         execution date, else the current time)`;

/** The corpus JSON (`--json`): active primitives with role and nodes, and fenced nodes. */
export interface SimulateJsonOutput {
  resources: Record<string, { role: string; nodes: string[] }>;
  fence: string[];
}

/** Converts a schedule result to the corpus JSON format. */
export function simulateJson(result: ScheduleResult): SimulateJsonOutput {
  const resources: SimulateJsonOutput["resources"] = {};
  for (const [id, p] of Object.entries(result.placement)) {
    resources[id] = { role: p.role, nodes: p.nodes };
  }
  return { resources, fence: result.fence };
}

/** Options of one simulation. */
export interface SimulateOptions {
  nodeFail?: readonly string[];
  opFail?: readonly string[];
  /** Seconds since the epoch. */
  now?: number;
  explain?: boolean;
}

/** Applies the what-if changes and schedules. */
export function simulate(cib: CibDocument, opts: SimulateOptions = {}): ScheduleResult {
  let doc = cib;
  for (const name of opts.nodeFail ?? []) doc = injectNodeFailure(doc, name);
  const nowSeconds = opts.now ?? cib.status.executionDate;
  for (const spec of opts.opFail ?? []) {
    doc = injectOpFailure(doc, parseOpFailure(spec), nowSeconds ?? 0);
  }
  return schedule(doc, {
    now: nowSeconds !== undefined ? nowSeconds * 1000 : undefined,
    explain: opts.explain,
  });
}

/** Renders the default text output: summary, then the revised placement. */
export function renderSimulation(result: ScheduleResult): string[] {
  const out: string[] = ["Transition Summary:"];
  if (result.summary.length === 0) out.push("  (nothing to do)");
  for (const line of result.summary) out.push(`  * ${line}`);
  out.push("", "Revised placement:");
  const ids = Object.keys(result.placement);
  const width = Math.min(40, Math.max(8, ...ids.map((i) => i.length)));
  for (const id of ids) {
    const p = result.placement[id];
    out.push(`  ${id.padEnd(width)}  ${p.role}${p.nodes.length ? " " + p.nodes.join(" ") : ""}`);
  }
  if (result.fence.length) out.push("", `Fenced: ${result.fence.join(" ")}`);
  return out;
}

/** Renders `--explain`: per resource, scores per node and the reason. */
export function renderExplanations(result: ScheduleResult): string[] {
  const out: string[] = [];
  for (const e of result.explanations ?? []) {
    out.push(`${e.resource}: ${e.node ?? "stopped"}`);
    const scores = Object.entries(e.scores)
      .map(([n, s]) => `${n}=${s === null ? "-" : formatScore(s)}`)
      .join(" ");
    out.push(`  scores: ${scores}`);
    out.push(`  why: ${e.reason}`);
    for (const d of e.details.slice(0, 6)) out.push(`    - ${d}`);
  }
  return out;
}

/** `vigil simulate`. */
export const simulateCommand: CliCommand = {
  name: "simulate",
  summary:
    "vigil simulate --cib FILE [--json|--graph|--explain] [--node-fail N] [--op-fail R:OP:N]",
  help: HELP,
  // deno-lint-ignore require-await
  async run(args: string[], io: CliIo): Promise<number> {
    return runSimulate(args, io);
  },
};

function runSimulate(args: string[], io: CliIo): number {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        cib: { type: "string" },
        json: { type: "boolean", default: false },
        graph: { type: "boolean", default: false },
        explain: { type: "boolean", default: false },
        "node-fail": { type: "string", multiple: true },
        "op-fail": { type: "string", multiple: true },
        now: { type: "string" },
      },
    }));
  } catch (e) {
    throw new UsageError(`vigil simulate: ${(e as Error).message}`);
  }
  if (!values.cib) throw new UsageError("vigil simulate: --cib FILE is required");
  let now: number | undefined;
  if (values.now !== undefined) {
    now = Number(values.now);
    if (!Number.isFinite(now) || now < 0) {
      throw new UsageError("vigil simulate: --now takes seconds");
    }
  }
  let source;
  try {
    source = readCibSource(values.cib);
  } catch (e) {
    if (e instanceof CibSourceError) {
      io.err(`vigil simulate: ${e.message}`);
      return 1;
    }
    throw e;
  }
  if (source.unsupported.length > 0) {
    io.err(
      `vigil simulate: ${source.unsupported.length} item(s) of ${values.cib} not imported ` +
        `(vigil cib import-pacemaker lists them)`,
    );
  }
  if (now === undefined && source.cib.status.executionDate === undefined) {
    now = Math.floor(Date.now() / 1000);
  }
  let result: ScheduleResult;
  try {
    result = simulate(source.cib, {
      nodeFail: values["node-fail"],
      opFail: values["op-fail"],
      now,
      explain: values.explain,
    });
  } catch (e) {
    const message = (e as Error).message;
    if (message.startsWith("no node") || message.startsWith("--op-fail")) {
      throw new UsageError(`vigil simulate: ${message}`);
    }
    throw e;
  }
  if (values.json) {
    io.out(JSON.stringify(simulateJson(result), null, 2));
    return 0;
  }
  if (values.graph) {
    io.out(JSON.stringify({ actions: result.actions, fence: result.fence }, null, 2));
    return 0;
  }
  const lines = renderSimulation(result);
  if (values.explain) {
    lines.push(
      "",
      "Explanations:",
      ...renderExplanations(result).map((l) => `  ${l}`),
    );
  }
  for (const w of result.warnings) io.err(`vigil simulate: warning: ${w}`);
  io.out(lines.join("\n"));
  return 0;
}
