/**
 * Durations as Heartbeat and Pacemaker write them: a bare number is seconds ("2"),
 * and a suffix picks the unit ("200ms", "1.5s", "1m", "2min", "20sec", "1hr").
 * Pacemaker's ISO 8601 form for intervals ("PT10S", "PT1M30S") is accepted too.
 *
 * @example
 * ```ts
 * parseDuration("200ms"); // 200
 * parseDuration("2"); // 2000
 * parseDuration("PT1M30S"); // 90000
 * ```
 * @module
 */

const UNIT_MS: Record<string, number> = {
  us: 0.001,
  usec: 0.001,
  ms: 1,
  msec: 1,
  s: 1000,
  sec: 1000,
  "": 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
};

const ISO_8601 = /^\s*P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?\s*$/i;

/** Parses a Heartbeat- or Pacemaker-style duration into milliseconds; undefined when malformed. */
export function parseDuration(text: string | number): number | undefined {
  if (typeof text === "number") return Number.isFinite(text) && text >= 0 ? text * 1000 : undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  if (match) {
    const unit = UNIT_MS[match[2].toLowerCase()];
    return unit === undefined ? undefined : Math.round(Number(match[1]) * unit);
  }
  const iso = ISO_8601.exec(text);
  if (!iso || text.trim().toUpperCase() === "P" || /T\s*$/i.test(text)) return undefined;
  const [d, h, m, s] = iso.slice(1).map((v) => Number(v ?? 0));
  return Math.round(((d * 24 + h) * 60 + m) * 60_000 + s * 1000);
}
