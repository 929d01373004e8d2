/**
 * What an import could not carry into Vigil's CIB: every element, attribute,
 * name/value pair or value that was left out or changed is listed as an
 * {@link UnsupportedItem}, with an XPath-like location and the line it is on,
 * so nothing is dropped silently. Also the error an import throws.
 *
 * @example
 * ```ts
 * const { unsupported } = importPacemakerXml(text, "cib.xml");
 * for (const item of unsupported) console.log(formatUnsupportedItem(item, "cib.xml"));
 * // cib.xml:12: /cib/configuration/resources/primitive[@id='x']/meta_attributes/nvpair[@name='allow-migrate']: ...
 * summarizeUnsupported(unsupported); // { "nvpair allow-migrate": 1, ... }
 * ```
 * @module
 */

/** What sort of thing an {@link UnsupportedItem} is about. */
export type UnsupportedKind =
  /** An element Vigil has no counterpart for (bundle, acls, resource_set ...); left out whole. */
  | "element"
  /** An XML attribute that is not kept (op-digest, description ...). */
  | "attribute"
  /** A name/value pair with a name Vigil does not support (or Pacemaker does not know). */
  | "nvpair"
  /** A value that was invalid or unsupported and replaced (by Pacemaker's fallback) or left out. */
  | "value"
  /** Something kept in another form, losing detail (per-operation fail counts summed, ...). */
  | "lossy"
  /** A reference to something absent or left out; the referring item was left out too. */
  | "reference";

/** One thing an import did not carry over as it was. */
export interface UnsupportedItem {
  /**
   * XPath-like location, e.g.
   * `/cib/configuration/resources/primitive[@id='x']/meta_attributes/nvpair[@name='allow-migrate']`.
   * Attributes reported once for every element of the same place end in `/@name`
   * without predicates, with {@link UnsupportedItem.count}.
   */
  path: string;
  /** What was not supported and what the import did instead. */
  what: string;
  /** 1-based line in the source (the first occurrence for aggregated items). */
  line?: number;
  /** The sort of item. */
  kind: UnsupportedKind;
  /** The element, attribute or nvpair name concerned (used for summaries). */
  name: string;
  /** How many occurrences this item stands for, when more than one. */
  count?: number;
}

/** An import that failed: malformed input or content Vigil's CIB schema rejects. */
export class CibImportError extends Error {
  /** Creates the error; the message already names the source (and line). */
  constructor(
    message: string,
    /** The file or other source being imported. */
    readonly source: string,
    /** The 1-based line of the (first) problem, when known. */
    readonly line?: number,
  ) {
    super(message);
    this.name = "CibImportError";
  }
}

/** One line for a person: `source:line: path: what` (with `(xN)` for aggregated items). */
export function formatUnsupportedItem(item: UnsupportedItem, source: string): string {
  const where = item.line === undefined ? source : `${source}:${item.line}`;
  const times = item.count !== undefined && item.count > 1 ? ` (x${item.count})` : "";
  return `${where}: ${item.path}: ${item.what}${times}`;
}

/** Counts items by `kind name` (an aggregated item counts as its occurrences). */
export function summarizeUnsupported(
  items: readonly UnsupportedItem[],
): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) {
    const key = `${item.kind} ${item.name}`;
    counts[key] = (counts[key] ?? 0) + (item.count ?? 1);
  }
  return counts;
}
