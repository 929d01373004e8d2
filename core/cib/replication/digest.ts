/**
 * A canonical digest of a document for replica stamps: SHA-256 over JSON with
 * object keys sorted at every level. Every node must compute the same digest
 * for the same content, whatever order its code or its zod parse put the keys
 * in, or two copies of one version would look different and acknowledgements
 * would never match.
 *
 * @example
 * ```ts
 * canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] }); // '{"a":[{"c":3,"d":2}],"b":1}'
 * const ops = { ...docOps, digest: canonicalDigest };
 * ```
 * @module
 */

import { createHash } from "node:crypto";

/** Deepest nesting accepted (a CIB is far shallower; guards against cycles). */
const MAX_DEPTH = 64;

/** JSON with sorted object keys; `undefined` object fields are left out as JSON.stringify does. */
export function canonicalJson(value: unknown): string {
  return encode(value, 0);
}

/** SHA-256 (hex) of {@link canonicalJson}. */
export function canonicalDigest(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex");
}

function encode(value: unknown, depth: number): string {
  if (depth > MAX_DEPTH) throw new Error(`canonicalJson: nested deeper than ${MAX_DEPTH}`);
  if (value === null || typeof value !== "object") {
    const text = JSON.stringify(value);
    if (text === undefined) throw new Error(`canonicalJson: cannot encode a ${typeof value}`);
    return text;
  }
  if (Array.isArray(value)) {
    return `[${value.map((v) => (v === undefined ? "null" : encode(v, depth + 1))).join(",")}]`;
  }
  const fields = Object.keys(value).sort()
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${encode((value as Record<string, unknown>)[k], depth + 1)}`);
  return `{${fields.join(",")}}`;
}
