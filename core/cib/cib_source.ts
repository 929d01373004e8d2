/**
 * Reads a CIB from a file in either form a user has: Vigil's JSON document or
 * a Pacemaker CIB XML (told apart by the first non-blank character). Anything
 * the import does not support is returned, never dropped silently.
 *
 * @example
 * ```ts
 * const { cib, unsupported } = readCibSource("cib.xml");
 * for (const u of unsupported) console.error(`not imported: ${u.path}: ${u.what}`);
 * ```
 * @module
 */

import { readFileSync } from "node:fs";
import { importPacemakerXml } from "./pacemaker_import.ts";
import type { UnsupportedItem } from "./import_report.ts";
import { type CibDocument, parseCibDocument } from "./schema/document.ts";

/** A CIB file that cannot be read or does not validate; the message names the file. */
export class CibSourceError extends Error {
  /** @param message the complete message, starting with the file name */
  constructor(message: string) {
    super(message);
    this.name = "CibSourceError";
  }
}

/** What {@link readCibSource} found. */
export interface CibSource {
  /** The document. */
  cib: CibDocument;
  /** Which form the file was in. */
  format: "vigil" | "pacemaker";
  /** What a Pacemaker import did not carry over. */
  unsupported: UnsupportedItem[];
}

/** Parses CIB text in either form; `source` names it in errors. */
export function parseCibSource(text: string, source: string): CibSource {
  if (text.trimStart().startsWith("<")) {
    try {
      const { cib, unsupported } = importPacemakerXml(text, source);
      return { cib, format: "pacemaker", unsupported };
    } catch (e) {
      const message = (e as Error).message;
      throw new CibSourceError(message.startsWith(source) ? message : `${source}: ${message}`);
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CibSourceError(`${source}: neither Pacemaker XML nor JSON: ${(e as Error).message}`);
  }
  // A file written by Vigil's CIB store wraps the document with its digest.
  const body = typeof json === "object" && json !== null && "digest" in json && "cib" in json
    ? (json as { cib: unknown }).cib
    : json;
  const parsed = parseCibDocument(body);
  if (!parsed.ok) {
    throw new CibSourceError(
      `${source}: invalid CIB:\n${parsed.errors.map((e) => `  ${e}`).join("\n")}`,
    );
  }
  return { cib: parsed.cib, format: "vigil", unsupported: [] };
}

/** Reads and parses a CIB file in either form. */
export function readCibSource(path: string): CibSource {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new CibSourceError(`${path}: cannot read: ${(e as Error).message}`);
  }
  return parseCibSource(text, path);
}
