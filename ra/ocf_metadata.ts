/**
 * Reads what Vigil needs from an OCF resource agent's `meta-data` XML: the agent's
 * version, its descriptions, its parameters (name, required, type, default, descriptions)
 * and its actions with their advised timeouts.
 *
 * This is a small, careful regex-based reader, not an XML parser: it only looks at the
 * `<resource-agent>` start tag, the agent-level `<shortdesc>`, `<longdesc>`, `<version>`,
 * the `<parameter>` entries inside `<parameters>` and the `<action .../>` entries inside
 * `<actions>`. Anything it cannot read is left out, so the caller falls back to defaults.
 * Every loop is bounded. Pure: no I/O.
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
  /** The agent's `<longdesc>`, entities decoded, whitespace collapsed. */
  longdesc?: string;
  /** Advised timeout in ms per action name (the first entry per name without a `role`). */
  actionTimeouts: Record<string, number>;
  /** Names of every action listed, in order, without repeats (e.g. `start`, `promote`). */
  actions: string[];
  /** The parameters, in order. */
  parameters: OcfParameter[];
}

/** One `<parameter>` of the meta-data. */
export interface OcfParameter {
  /** Its name (the `OCF_RESKEY_` suffix). */
  name: string;
  /** `required="1"`. */
  required: boolean;
  /** `unique="1"`: no two resources may share the value. */
  unique: boolean;
  /** `<content type=...>`: `string`, `integer`, `boolean`, `select` ... */
  type?: string;
  /** `<content default=...>`, as text: the agent applies it itself when the param is unset. */
  default?: string;
  /** Its `<shortdesc>`. */
  shortdesc?: string;
  /** Its `<longdesc>`. */
  longdesc?: string;
}

/** Longest meta-data text looked at; real agents print a few KiB to a few tens of KiB. */
export const MAX_METADATA_CHARS = 1024 * 1024;

/** Largest advised timeout accepted (one day); larger values are treated as unreadable. */
const MAX_TIMEOUT_MS = 24 * 60 * 60 * 1000;

/** Most `<action>` entries read; bounds the loop on hostile input. */
const MAX_ACTIONS = 256;

/** Most `<parameter>` entries read; bounds the loop on hostile input. */
const MAX_PARAMETERS = 256;

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
  const result: OcfMetadata = { actionTimeouts: {}, actions: [], parameters: [] };

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
  const longdesc = /<longdesc\b[^>]*>([^<]*)<\/longdesc>/.exec(agentLevel)?.[1];
  if (longdesc !== undefined && collapse(longdesc)) result.longdesc = collapse(longdesc);
  result.parameters = parseParameters(text);

  const actions = /<actions\b[^>]*>([\s\S]*?)<\/actions>/.exec(text)?.[1] ?? "";
  let count = 0;
  for (const m of actions.matchAll(/<action\b([^>]*?)\/?>/g)) {
    if (++count > MAX_ACTIONS) break;
    const attrs = parseXmlAttributes(m[1]);
    if (attrs.name && !result.actions.includes(attrs.name)) result.actions.push(attrs.name);
    // Role-specific monitors (e.g. role="Promoted") are not the default one.
    if (!attrs.name || attrs.role !== undefined || attrs.name in result.actionTimeouts) continue;
    const ms = attrs.timeout === undefined ? undefined : parseOcfDuration(attrs.timeout);
    if (ms !== undefined) result.actionTimeouts[attrs.name] = ms;
  }
  return result;
}

/** The `<parameter>` entries of the `<parameters>` section, in order (bounded). */
function parseParameters(text: string): OcfParameter[] {
  const section = /<parameters\b[^>]*>([\s\S]*?)<\/parameters>/.exec(text)?.[1] ?? "";
  const out: OcfParameter[] = [];
  const re = /<parameter\b([^>]*?)(?:\/>|>([\s\S]*?)<\/parameter>)/g;
  for (const m of section.matchAll(re)) {
    if (out.length >= MAX_PARAMETERS) break;
    const attrs = parseXmlAttributes(m[1]);
    if (!attrs.name || out.some((p) => p.name === attrs.name)) continue;
    const body = m[2] ?? "";
    const param: OcfParameter = {
      name: attrs.name,
      required: attrs.required === "1" || attrs.required === "true",
      unique: attrs.unique === "1" || attrs.unique === "true",
    };
    const content = /<content\b([^>]*?)\/?>/.exec(body);
    if (content) {
      const c = parseXmlAttributes(content[1]);
      if (c.type) param.type = c.type;
      if (c.default !== undefined) param.default = c.default;
    }
    const short = /<shortdesc\b[^>]*>([^<]*)<\/shortdesc>/.exec(body)?.[1];
    if (short !== undefined && collapse(short)) param.shortdesc = collapse(short);
    const long = /<longdesc\b[^>]*>([^<]*)<\/longdesc>/.exec(body)?.[1];
    if (long !== undefined && collapse(long)) param.longdesc = collapse(long);
    out.push(param);
  }
  return out;
}
