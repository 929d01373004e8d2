/**
 * Runs the scheduler over Pacemaker's regression cases in
 * ../shared/pacemaker-scheduler (import + schedule + compare, in process).
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { importPacemakerXml } from "../../core/cib/pacemaker_import.ts";
import { simulateJson } from "../../core/cli/simulate_command.ts";
import { schedule } from "../../core/pe/scheduler/policy_engine.ts";
import { SHARED_DIR } from "../shared_dir.ts";
import { anonymousPrims, cibModel, compareResults, expectedResult } from "./corpus_expectations.ts";

/** Where the corpus lives, relative to the repository root. */
export const CORPUS_DIR = join(SHARED_DIR, "pacemaker-scheduler") + "/";

/** The outcome of one case. */
export interface CaseResult {
  name: string;
  pass: boolean;
  /** Differences, or the error that stopped the case. */
  diffs: string[];
  ms: number;
}

/** The names listed in tests.txt. */
export function corpusNames(dir = CORPUS_DIR): string[] {
  return readFileSync(join(dir, "tests.txt"), "utf8").split("\n").map((l) => l.trim()).filter((l) =>
    l && !l.startsWith("#")
  );
}

/** Runs one case in process. */
export function runCase(name: string, dir = CORPUS_DIR): CaseResult {
  const t0 = performance.now();
  try {
    const xml = readFileSync(join(dir, "xml", `${name}.xml`), "utf8");
    const summary = readFileSync(join(dir, "summary", `${name}.summary`), "utf8");
    const model = cibModel(xml);
    const anonFromSummary = new Set<string>();
    const expected = expectedResult(summary, model, anonFromSummary);
    const { cib } = importPacemakerXml(xml, `${name}.xml`);
    const actual = simulateJson(schedule(cib));
    const diffs = compareResults(expected, actual, anonymousPrims(model, anonFromSummary));
    return { name, pass: diffs.length === 0, diffs, ms: performance.now() - t0 };
  } catch (e) {
    return {
      name,
      pass: false,
      diffs: [`error: ${(e as Error).stack ?? e}`],
      ms: performance.now() - t0,
    };
  }
}
