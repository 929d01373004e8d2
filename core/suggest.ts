/**
 * "Did you mean ...?": the known names closest to a mistyped one, by edit
 * distance, for error messages that help.
 *
 * @example
 * ```ts
 * suggestNames("dbx", ["db", "web"]); // ["db"]
 * ```
 * @module
 */

/** Levenshtein distance, bounded: Infinity when the lengths differ by more than 8 or a is over 64. */
export function editDistance(a: string, b: string): number {
  // Names are short; the input is bounded by what a user typed.
  if (Math.abs(a.length - b.length) > 8 || a.length > 64) return Infinity;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
    }
    previous = current;
  }
  return previous[b.length];
}

/**
 * The candidates close enough to `name` to suggest (case-insensitive), nearest
 * first, at most `limit`: within a third of the name's length, between 1 and 3 edits.
 */
export function suggestNames(name: string, candidates: Iterable<string>, limit = 3): string[] {
  const lower = name.toLowerCase();
  const allowed = Math.max(1, Math.min(3, Math.floor(lower.length / 3)));
  const scored: { candidate: string; distance: number }[] = [];
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance <= allowed) scored.push({ candidate, distance });
  }
  scored.sort((a, b) => a.distance - b.distance || (a.candidate < b.candidate ? -1 : 1));
  return scored.slice(0, limit).map((s) => s.candidate);
}
