/**
 * Pacemaker-style scores: integers where ±1,000,000 stand for ±INFINITY.
 *
 * Adding scores saturates at the infinities, and -INFINITY wins over
 * +INFINITY (a ban outranks a requirement), as in Pacemaker.
 *
 * @example
 * ```ts
 * addScores(INFINITY, 5); // INFINITY
 * addScores(INFINITY, -INFINITY); // -INFINITY
 * ```
 * @module
 */

/** The score that means "must" (Pacemaker's INFINITY). */
export const INFINITY = 1_000_000;

/** Adds two scores with Pacemaker's saturating rules. */
export function addScores(a: number, b: number): number {
  if (a <= -INFINITY || b <= -INFINITY) return -INFINITY;
  if (a >= INFINITY || b >= INFINITY) return INFINITY;
  return Math.max(-INFINITY, Math.min(INFINITY, a + b));
}

/** Renders a score the way Pacemaker prints it (INFINITY, -INFINITY or the number). */
export function formatScore(score: number): string {
  if (score >= INFINITY) return "INFINITY";
  if (score <= -INFINITY) return "-INFINITY";
  return String(score);
}

/**
 * Parses a score from configuration: a number, or "INFINITY", "+INFINITY",
 * "-INFINITY" (also "inf" spellings). Returns undefined when it is not a score.
 */
export function parseScore(value: number | string): number | undefined {
  if (typeof value === "number") {
    return Number.isFinite(value)
      ? Math.max(-INFINITY, Math.min(INFINITY, Math.trunc(value)))
      : undefined;
  }
  const text = value.trim().toUpperCase();
  if (text === "INFINITY" || text === "+INFINITY" || text === "INF" || text === "+INF") {
    return INFINITY;
  }
  if (text === "-INFINITY" || text === "-INF") return -INFINITY;
  if (!/^[+-]?\d+$/.test(text)) return undefined;
  return parseScore(Number(text));
}
