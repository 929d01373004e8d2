/**
 * The CIB on disk: the document and its replication term, written atomically
 * (temporary file, fsync, rename, fsync of the directory) with a SHA-256
 * digest over their canonical JSON, and read back only if the digest matches.
 * The previous versions are kept as numbered backups.
 *
 * The file is `{"digest": "...", "term": 7, "cib": {...}}`; a file without a
 * term (written before replication had terms) reads as term 0.
 *
 * @example
 * ```ts
 * writeCibFile("/var/lib/vigil", doc, 7);
 * const stored = readCibFile("/var/lib/vigil"); // { term: 7, cib: doc }
 * ```
 * @module
 */

import {
  closeSync,
  copyFileSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { formatIssues } from "./cib.ts";
import { canonicalDigest } from "./replication/digest.ts";
import { type CibDocument, cibDocumentSchema } from "./schema/document.ts";
import type { CibVersion } from "./version.ts";

/** How many previous versions are kept as cib.xml.1 .. cib.xml.N style backups. */
export const CIB_BACKUPS = 5;

/** A CIB file that exists but cannot be trusted. */
export class CibFileError extends Error {}

/** A CIB as stored: the document and the replication term it was written in. */
export interface StoredCib {
  /** Membership generation of the quorate DC that last wrote the configuration (0: none). */
  term: number;
  /** The document. */
  cib: CibDocument;
}

/** SHA-256 over the canonical JSON (sorted keys) of the term and the document. */
export function cibDigest(cib: CibDocument, term = 0): string {
  return canonicalDigest({ term, cib });
}

/** Path of the current CIB file in `dir`. */
export function cibPath(dir: string): string {
  return join(dir, "cib.json");
}

/** Writes `cib` with its replication `term` atomically to `dir`, rotating backups. */
export function writeCibFile(dir: string, cib: CibDocument, term = 0): void {
  if (!Number.isSafeInteger(term) || term < 0) throw new RangeError(`bad CIB term ${term}`);
  mkdirSync(dir, { recursive: true });
  const path = cibPath(dir);
  const body = JSON.stringify({ digest: cibDigest(cib, term), term, cib }) + "\n";
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
    // A hard link, not a rename: the current file must exist at every instant, so a
    // crash anywhere in here leaves a readable CIB (the old one until the rename below).
    linkSync(path, `${path}.1`);
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
export function readCibFile(dir: string): StoredCib | undefined {
  const path = cibPath(dir);
  if (!existsSync(path)) return undefined;
  const problem = checkFile(path);
  if (typeof problem !== "string") return problem;
  let backup = "";
  for (let i = 1; i <= CIB_BACKUPS; i++) {
    if (existsSync(`${path}.${i}`) && typeof checkFile(`${path}.${i}`) !== "string") {
      backup =
        `; newest valid backup: ${path}.${i} (restore it with: vigil cib restore --state-dir ${dir})`;
      break;
    }
  }
  throw new CibFileError(`${path}: ${problem}${backup || "; no valid backup"}`);
}

function checkFile(path: string): StoredCib | string {
  let doc: { digest?: unknown; term?: unknown; cib?: unknown };
  try {
    doc = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    return `corrupt or truncated (${(e as Error).message})`;
  }
  if (typeof doc !== "object" || doc === null) return "not a CIB file (expected an object)";
  const term = doc.term ?? 0;
  if (typeof term !== "number" || !Number.isSafeInteger(term) || term < 0) {
    return `term: expected a non-negative integer, got ${JSON.stringify(doc.term)}`;
  }
  const parsed = cibDocumentSchema.safeParse(doc.cib);
  if (!parsed.success) return `invalid CIB:\n${formatIssues(parsed.error)}`;
  // The digest covers what was written; parsing may only add defaults, so check the raw text.
  if (doc.digest !== cibDigest(doc.cib as CibDocument, term)) {
    return "digest mismatch (the file was changed or damaged)";
  }
  return { term, cib: parsed.data };
}

/** One file of the CIB and its backups, with whether it can be trusted. */
export interface CibFileInfo {
  /** The file's path. */
  path: string;
  /** 0 for the current file, N for backup N (1 is the newest backup). */
  backup: number;
  /** The version, when the file is valid. */
  version?: CibVersion;
  /** The replication term, when the file is valid. */
  term?: number;
  /** Why it cannot be used, when it is not valid. */
  problem?: string;
}

/** Lists the current CIB file and every backup in `dir`, newest first, each checked. */
export function listCibFiles(dir: string): CibFileInfo[] {
  const path = cibPath(dir);
  const out: CibFileInfo[] = [];
  for (let i = 0; i <= CIB_BACKUPS; i++) {
    const file = i === 0 ? path : `${path}.${i}`;
    if (!existsSync(file)) continue;
    const checked = checkFile(file);
    out.push(
      typeof checked === "string"
        ? { path: file, backup: i, problem: checked }
        : { path: file, backup: i, version: checked.cib.version, term: checked.term },
    );
  }
  return out;
}

/**
 * Restores backup `backup` (default: the newest valid one) as the current CIB,
 * atomically; the file it replaces is kept as `cib.json.damaged`.
 *
 * @returns the restored file's info
 * @throws {CibFileError} when the backup is missing or invalid, or none is valid
 */
export function restoreCibBackup(dir: string, backup?: number): CibFileInfo {
  const files = listCibFiles(dir).filter((f) => f.backup > 0);
  const chosen = backup === undefined
    ? files.find((f) => f.problem === undefined)
    : files.find((f) => f.backup === backup);
  if (!chosen) {
    throw new CibFileError(
      backup === undefined
        ? `${cibPath(dir)}: no valid backup to restore`
        : `${cibPath(dir)}.${backup}: no such backup`,
    );
  }
  if (chosen.problem !== undefined) {
    throw new CibFileError(`${chosen.path}: ${chosen.problem}`);
  }
  const path = cibPath(dir);
  if (existsSync(path)) copyFileSync(path, `${path}.damaged`);
  copyFileSync(chosen.path, `${path}.tmp`);
  renameSync(`${path}.tmp`, path);
  const dirFd = openSync(dir, "r");
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
  return chosen;
}
