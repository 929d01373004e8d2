/**
 * Pacemaker's scheduler regression corpus (../shared/pacemaker-scheduler): every
 * case is imported, scheduled and compared in process, as compare.py does. The
 * test prints the pass count and the failing cases and holds the line at a floor.
 *
 * @module
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { CORPUS_DIR, corpusNames, runCase } from "./corpus.ts";

/** Cases that must pass; raise it as the engine improves, never lower it. */
const PASS_FLOOR = 110;

const present = existsSync(join(CORPUS_DIR, "tests.txt"));

Deno.test({
  name: `Pacemaker scheduler corpus: at least ${PASS_FLOOR} cases pass`,
  ignore: !present,
  fn() {
    const names = corpusNames();
    assert.ok(names.length >= PASS_FLOOR, `only ${names.length} cases listed`);
    const failing: string[] = [];
    let passed = 0;
    for (const name of names) {
      const r = runCase(name);
      if (r.pass) passed++;
      else failing.push(`${name}: ${r.diffs.slice(0, 3).join("; ")}`);
    }
    console.log(`corpus: ${passed} of ${names.length} cases pass`);
    for (const f of failing) console.log(`  FAIL ${f}`);
    assert.ok(passed >= PASS_FLOOR, `${passed} passed, floor is ${PASS_FLOOR}`);
  },
});
