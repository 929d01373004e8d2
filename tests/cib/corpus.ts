/**
 * Shared inputs of the CIB import/export tests: Pacemaker's scheduler corpus
 * (present only where /work/shared holds it), the feature fixture, and
 * `crm_verify` (present only where Pacemaker is installed).
 *
 * @example
 * ```ts
 * Deno.test({ name: "...", ignore: !haveCorpus, fn() {
 *   for (const file of corpusFiles()) importPacemakerXml(readCorpus(file), file);
 * } });
 * ```
 * @module
 */

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SHARED_DIR } from "../shared_dir.ts";
import { fileURLToPath } from "node:url";

/** Pacemaker's scheduler regression CIBs (a folder of `*.xml`). */
export const CORPUS_DIR = join(SHARED_DIR, "pacemaker-scheduler", "xml") + "/";

/** The fixture that uses every Pacemaker feature the import maps or reports. */
export const FEATURES = fileURLToPath(
  new URL("../fixtures/cib/pacemaker_features.xml", import.meta.url),
);

/** Whether the corpus is there (tests that need it are ignored otherwise). */
export const haveCorpus = existsSync(CORPUS_DIR);

/** Pacemaker's `crm_verify`, if installed. */
export const CRM_VERIFY: string | undefined = ["/usr/sbin/crm_verify", "/usr/bin/crm_verify"]
  .find((p) => existsSync(p));

/** The corpus file names, sorted. */
export function corpusFiles(): string[] {
  return readdirSync(CORPUS_DIR).filter((f) => f.endsWith(".xml")).sort();
}

/** The text of one corpus file. */
export function readCorpus(name: string): string {
  return readFileSync(CORPUS_DIR + name, "utf8");
}

/** The text of the feature fixture. */
export function readFeatures(): string {
  return readFileSync(FEATURES, "utf8");
}

/** Runs `crm_verify --xml-file` on `xml` (in a temp dir it removes); exit status and output. */
export function crmVerify(xml: string): { status: number | null; output: string } {
  assert.ok(CRM_VERIFY, "crm_verify is not installed");
  const dir = mkdtempSync(join(tmpdir(), "vgl-cib-"));
  try {
    const file = join(dir, "cib.xml");
    writeFileSync(file, xml);
    const r = spawnSync(CRM_VERIFY, ["--xml-file", file], { encoding: "utf8", timeout: 20_000 });
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
