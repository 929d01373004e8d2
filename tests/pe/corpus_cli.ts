/**
 * Developer runner: `deno run -A tests/pe/corpus_cli.ts [-v] [NAME...]` runs the
 * corpus cases in process and prints PASS/FAIL per case, the differences with
 * -v, and `N passed, M failed`.
 *
 * @module
 */

import process from "node:process";
import { corpusNames, runCase } from "./corpus.ts";

const args = process.argv.slice(2);
const verbose = args.includes("-v");
const names = args.filter((a) => a !== "-v");
let passed = 0;
let failed = 0;
for (const name of names.length ? names : corpusNames()) {
  const r = runCase(name);
  if (r.pass) passed++;
  else failed++;
  console.log(
    `${r.pass ? "PASS" : "FAIL"} ${name}${r.pass ? "" : `: ${r.diffs.length} difference(s)`}`,
  );
  if (verbose && !r.pass) { for (const d of r.diffs.slice(0, 30)) console.log(`    ${d}`); }
}
console.log(`${passed} passed, ${failed} failed`);
