/**
 * Where the project's shared reference data lives (Pacemaker's scheduler corpus,
 * Heartbeat's lab files): `$VIGIL_SHARED_DIR`, else `../shared` next to the
 * repository, else `/work/shared` (this machine's copy, for clones made elsewhere).
 * Tests that need it are skipped, with their names saying so, when none exists.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

function findSharedDir(): string {
  const candidates = [
    process.env.VIGIL_SHARED_DIR,
    fileURLToPath(new URL("../../shared", import.meta.url)),
    "/work/shared",
  ];
  for (const dir of candidates) {
    if (dir && existsSync(join(dir, "pacemaker-scheduler"))) return dir;
  }
  return fileURLToPath(new URL("../../shared", import.meta.url));
}

/** The shared data directory (may not exist; check the paths you need). */
export const SHARED_DIR: string = findSharedDir();
