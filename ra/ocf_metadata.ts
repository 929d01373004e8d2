/**
 * Reads the few facts Vigil needs from an OCF resource agent's `meta-data` XML: the
 * agent's version, its one-line description and the advised timeout of each action.
 *
 * This is a small, careful regex-based reader, not an XML parser: it only looks at the
 * `<resource-agent>` start tag, the agent-level `<shortdesc>`, `<version>` and the
 * `<action .../>` entries inside `<actions>`. Anything it cannot read is left out, so the
 * caller falls back to defaults. Pure: no I/O.
 *
 * @example
 * ```ts
 * const meta = parseOcfMetadata('<resource-agent name="Dummy" version="1.0">' +
 *   '<actions><action name="start" timeout="20s"/></actions></resource-agent>');
 * meta.actionTimeouts.start; // 20000
 * ```
 * @module
 */

/** What {@link parseOcfMetadata} found; every field is optional. */
export interface OcfMetadata {
  /** The agent's version (`<resource-agent version=...>`, else the `<version>` element). */
  version?: string;
  /** The agent's `<shortdesc>` (not a parameter's), entities decoded, whitespace collapsed. */
  shortdesc?: string;
  /** Advised timeout in ms per action name (the first entry per name without a `role`). */
  actionTimeouts: Record<string, number>;
}

/** Longest meta-data text looked at; real agents print a few KiB to a few tens of KiB. */
export const MAX_METADATA_CHARS = 1024 * 1024;

/** Largest advised timeout accepted (one day); larger values are treated as unreadable. */
const MAX_TIMEOUT_MS = 24 * 60 * 60 * 1000;

/** Most `<action>` entries read; bounds the loop on hostile input. */
const MAX_ACTIONS = 256;

const ENTITIES: Record<string, string> = {
  lt: "<",
  gt: ">",
  amp: "&",
  quot: '"',
  apos: "'",
};

/** Decodes the five predefined XML entities and numeric character references. */
export function decodeXmlEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-z]{2,4});/g, (whole, ref: string) => {
    if (ref.startsWith("#")) {
      const code = ref[1] === "x" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[ref] ?? whole;
  });
}

/** Parses the attributes of one start tag's inside (`name="x" timeout='5s'`). */
export function parseXmlAttributes(inside: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  const re = /([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
  for (const m of inside.matchAll(re)) {
    if (!(m[1] in attrs)) attrs[m[1]] = decodeXmlEntities(m[2] ?? m[3] ?? "");
  }
  return attrs;
}

/**
 * Parses an OCF/Pacemaker duration (`20s`, `20`, `500ms`, `2min`, `1h`) into ms.
 * A bare number means seconds, as in Pacemaker.
 *
 * @returns the duration in whole ms, or undefined when unreadable, zero or above one day
 */
export function parseOcfDuration(text: string): number | undefined {
  const m = /^\s*(\d{1,9}(?:\.\d{1,6})?)\s*(ms|msec|s|sec|m|min|h|hr)?\s*$/i.exec(text);
  if (!m) return undefined;
  const factor: Record<string, number> = {
    ms: 1,
    msec: 1,
    s: 1000,
    sec: 1000,
    m: 60_000,
    min: 60_000,
    h: 3_600_000,
    hr: 3_600_000,
  };
  const ms = Math.round(Number(m[1]) * factor[(m[2] ?? "s").toLowerCase()]);
  return ms > 0 && ms <= MAX_TIMEOUT_MS ? ms : undefined;
}

function collapse(text: string): string {
  return decodeXmlEntities(text.replace(/\s+/g, " ").trim());
}

/**
 * Reads version, short description and action timeouts from `meta-data` output.
 * Never throws; unreadable parts are simply absent from the result.
 */
export function parseOcfMetadata(xml: string): OcfMetadata {
  // Comments could hide or fake elements; drop them first.
  const text = xml.slice(0, MAX_METADATA_CHARS).replace(/<!--[\s\S]*?-->/g, "");
  const result: OcfMetadata = { actionTimeouts: {} };

  const agentTag = /<resource-agent\b([^>]*)>/.exec(text);
  const agentVersion = agentTag ? parseXmlAttributes(agentTag[1]).version?.trim() : undefined;
  const versionElement = /<version>([^<]*)<\/version>/.exec(text)?.[1];
  const version = agentVersion || (versionElement ? collapse(versionElement) : "");
  if (version) result.version = version;

  // Parameters and actions have their own <shortdesc>s; only the agent's counts.
  const agentLevel = text
    .replace(/<parameters\b[\s\S]*?<\/parameters>/g, "")
    .replace(/<actions\b[\s\S]*?<\/actions>/g, "");
  const shortdesc = /<shortdesc\b[^>]*>([^<]*)<\/shortdesc>/.exec(agentLevel)?.[1];
  if (shortdesc !== undefined && collapse(shortdesc)) result.shortdesc = collapse(shortdesc);

  const actions = /<actions\b[^>]*>([\s\S]*?)<\/actions>/.exec(text)?.[1] ?? "";
  let count = 0;
  for (const m of actions.matchAll(/<action\b([^>]*?)\/?>/g)) {
    if (++count > MAX_ACTIONS) break;
    const attrs = parseXmlAttributes(m[1]);
    // Role-specific monitors (e.g. role="Promoted") are not the default one.
    if (!attrs.name || attrs.role !== undefined || attrs.name in result.actionTimeouts) continue;
    const ms = attrs.timeout === undefined ? undefined : parseOcfDuration(attrs.timeout);
    if (ms !== undefined) result.actionTimeouts[attrs.name] = ms;
  }
  return result;
}
