/**
 * Score arithmetic and per-node score tables for the scheduler.
 *
 * Scores use core/score.ts (±1,000,000 stand for ±INFINITY, -INFINITY wins).
 * A resource's "allowed nodes" are a {@link NodeScores} table: one slot per
 * node index, `NaN` where the node is not in the table at all (Pacemaker's
 * allowed-node hash table without an entry, which differs from -INFINITY in an
 * asymmetric cluster). Tables are plain `Float64Array`s so that copying one
 * (for a rollback) costs a memcpy of 8 bytes per node.
 *
 * @example
 * ```ts
 * const t = newScoreTable(3, 0);
 * addToScore(t, 1, INFINITY); // t[1] === INFINITY
 * ```
 * @module
 */

import { addScores, formatScore, INFINITY, parseScore } from "../../score.ts";

export { addScores, formatScore, INFINITY };

/**
 * Pacemaker's marker for "unusable while merging optional colocation scores"
 * (INFINITY * -100); never survives a merge.
 */
export const INFINITY_HACK = INFINITY * -100;

/** Scores of one resource on every node; NaN marks a node absent from the table. */
export type NodeScores = Float64Array;

/** A new table with every node present at `initial` (or absent with NaN). */
export function newScoreTable(nodeCount: number, initial: number = NaN): NodeScores {
  const table = new Float64Array(nodeCount);
  if (initial !== 0) table.fill(initial);
  return table;
}

/** Whether node `index` is in the table. */
export function hasNode(table: NodeScores, index: number): boolean {
  return !Number.isNaN(table[index]);
}

/** Adds `score` to a node's entry, creating the entry (at `base`) if absent. */
export function addToScore(table: NodeScores, index: number, score: number, base = 0): void {
  const current = table[index];
  table[index] = Number.isNaN(current) ? addScores(base, score) : addScores(current, score);
}

/**
 * Parses a score the way Pacemaker's char2score does: INFINITY spellings,
 * integers (clamped), node-health colours; anything else is 0.
 */
export function char2score(value: string | undefined): number {
  if (value === undefined) return 0;
  const parsed = parseScore(value);
  if (parsed !== undefined) return parsed;
  const text = value.trim().toLowerCase();
  if (text === "red") return -INFINITY;
  if (text === "yellow" || text === "green") return 0;
  // Pacemaker uses atoi-like parsing: a numeric prefix counts.
  const prefix = /^\s*([+-]?\d+)/.exec(value);
  return prefix ? (parseScore(prefix[1]) ?? 0) : 0;
}

/**
 * Rounds `factor * score` the way Pacemaker does when merging colocation
 * scores: half away from zero, and never to 0 for a non-zero score.
 */
export function scaleScore(score: number, factor: number): number {
  const product = factor * score;
  let scaled = product < 0 ? Math.trunc(product - 0.5) : Math.trunc(product + 0.5);
  // As Pacemaker does, the sign comes from the factor, not from the product.
  if (scaled === 0 && score !== 0) {
    if (factor > 0) scaled = 1;
    else if (factor < 0) scaled = -1;
  }
  return scaled + 0; // no -0
}

/**
 * GLib's g_list_sort: a stable top-down merge sort that splits off the first
 * ceil(n/2) elements. Pacemaker's results depend on this exact procedure when
 * a comparator is not a total order (clone instances), so we mirror it.
 */
export function glibSort<T>(items: readonly T[], compare: (a: T, b: T) => number): T[] {
  if (items.length < 2) return items.slice();
  const mid = Math.ceil(items.length / 2);
  const left = glibSort(items.slice(0, mid), compare);
  const right = glibSort(items.slice(mid), compare);
  const out: T[] = new Array(items.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < left.length && j < right.length) {
    // GLib takes from the left list when compare <= 0.
    if (compare(left[i], right[j]) <= 0) out[k++] = left[i++];
    else out[k++] = right[j++];
  }
  while (i < left.length) out[k++] = left[i++];
  while (j < right.length) out[k++] = right[j++];
  return out;
}

/** C strcmp on JavaScript strings (UTF-16 code units, fine for ids and node names). */
export function strcmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
