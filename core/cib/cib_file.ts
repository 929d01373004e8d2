/**
 * The CIB on disk: written atomically (temporary file, fsync, rename, fsync of
 * the directory) with a SHA-256 digest, and read back only if the digest
 * matches. The previous versions are kept as numbered backups.
 *
 * @module
 */

import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { type Cib, cibSchema, formatIssues } from "./cib.ts";

/** How many previous versions are kept as cib.xml.1 .. cib.xml.N style backups. */
export const CIB_BACKUPS = 5;

/** A CIB file that exists but cannot be trusted. */
export class CibFileError extends Error {}

/** SHA-256 over the canonical JSON of a CIB. */
export function cibDigest(cib: Cib): string {
  return createHash("sha256").update(JSON.stringify(cib)).digest("hex");
}

/** Path of the current CIB file in `dir`. */
export function cibPath(dir: string): string {
  return join(dir, "cib.json");
}

/** Writes `cib` atomically to `dir`, rotating backups. */
export function writeCibFile(dir: string, cib: Cib): void {
  mkdirSync(dir, { recursive: true });
  const path = cibPath(dir);
  const body = JSON.stringify({ digest: cibDigest(cib), cib }) + "\n";
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, "w", 0o600);
  try {
    writeSync(fd, body);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (existsSync(path)) {
    for (let i = CIB_BACKUPS - 1; i >= 1; i--) {
      if (existsSync(`${path}.${i}`)) renameSync(`${path}.${i}`, `${path}.${i + 1}`);
    }
    renameSync(path, `${path}.1`);
  }
  renameSync(tmp, path);
  const dirFd = openSync(dir, "r");
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

/**
 * Reads the CIB from `dir`; undefined when there is none. A corrupt file throws
 * a CibFileError naming the file and the newest valid backup.
 */
export function readCibFile(dir: string): Cib | undefined {
  const path = cibPath(dir);
  if (!existsSync(path)) return undefined;
  const problem = checkFile(path);
  if (typeof problem !== "string") return problem;
  let backup = "";
  for (let i = 1; i <= CIB_BACKUPS; i++) {
    if (existsSync(`${path}.${i}`) && typeof checkFile(`${path}.${i}`) !== "string") {
      backup = `; newest valid backup: ${path}.${i} (copy it over ${path} to restore it)`;
      break;
    }
  }
  throw new CibFileError(`${path}: ${problem}${backup || "; no valid backup"}`);
}

function checkFile(path: string): Cib | string {
  let doc: { digest?: unknown; cib?: unknown };
  try {
    doc = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    return `corrupt or truncated (${(e as Error).message})`;
  }
  const parsed = cibSchema.safeParse(doc?.cib);
  if (!parsed.success) return `invalid CIB:\n${formatIssues(parsed.error)}`;
  if (doc.digest !== cibDigest(parsed.data)) {
    return "digest mismatch (the file was changed or damaged)";
  }
  return parsed.data;
}
