/**
 * Durations as Heartbeat writes them: a bare number is seconds ("2"), and a
 * suffix picks the unit ("200ms", "1.5s", "1m").
 *
 * @example
 * ```ts
 * parseDuration("200ms"); // 200
 * parseDuration("2"); // 2000
 * ```
 * @module
 */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, "": 1000, m: 60_000, h: 3_600_000 };

/** Parses a Heartbeat-style duration into milliseconds; undefined when malformed. */
export function parseDuration(text: string | number): number | undefined {
  if (typeof text === "number") return Number.isFinite(text) && text >= 0 ? text * 1000 : undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(text);
  if (!match) return undefined;
  const unit = UNIT_MS[(match[2] ?? "").toLowerCase()];
  return Math.round(Number(match[1]) * unit);
}
