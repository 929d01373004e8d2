/**
 * A small ordered XML element tree over the npm package fast-xml-parser: parse
 * text into {@link XmlElement}s (attributes as strings, children in document
 * order, the 1-based line each element starts on) and serialize a tree back.
 *
 * Only what a Pacemaker CIB needs: elements, attributes and text. Comments,
 * processing instructions and the DOCTYPE are skipped. Entities are decoded
 * here rather than by the parser, so only XML's five named entities and
 * character references are accepted (no DTD entities, hence no entity
 * expansion attacks); an unknown entity is an error naming the line.
 *
 * @example
 * ```ts
 * const root = parseXmlTree('<cib epoch="3">\n  <configuration/>\n</cib>', "cib.xml");
 * root.attributes.epoch; // "3"
 * root.children[0].line; // 2
 * serializeXmlTree(root); // '<cib epoch="3">\n  <configuration/>\n</cib>\n'
 * ```
 * @module
 */

import { XMLParser, XMLValidator } from "fast-xml-parser";

/** One element: name, attributes in document order, child elements, text. */
export interface XmlElement {
  /** The tag name. */
  readonly name: string;
  /** Attribute values, decoded, in the order written. */
  readonly attributes: Readonly<Record<string, string>>;
  /** Child elements in document order. */
  readonly children: readonly XmlElement[];
  /** The element's own text (trimmed pieces joined by a space), when it has any. */
  readonly text?: string;
  /** 1-based line of the element's `<` in the parsed text (absent for built trees). */
  readonly line?: number;
}

/** A document that is not well-formed XML; the message names source, line and column. */
export class XmlSyntaxError extends Error {
  /** Creates the error; `line` and `column` are 1-based when known. */
  constructor(
    message: string,
    /** The file or other source named in the message. */
    readonly source: string,
    /** The line of the error, when known. */
    readonly line?: number,
    /** The column of the error, when known. */
    readonly column?: number,
  ) {
    super(message);
    this.name = "XmlSyntaxError";
  }
}

/** Largest document accepted (real CIBs are a few MiB at most). */
export const MAX_XML_CHARS = 128 * 1024 * 1024;
/** Deepest element nesting accepted (a CIB nests about 8 levels; rules nest a few more). */
export const MAX_XML_DEPTH = 200;

const PARSER_OPTIONS = {
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: "",
  captureMetaData: true,
  parseAttributeValue: false,
  parseTagValue: false,
  // Attribute values keep their spaces ("hadev3 hadev2 "); text is trimmed below.
  trimValues: false,
  processEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
} as const;

/** The key fast-xml-parser keeps each element's start offset under. */
const META = XMLParser.getMetaDataSymbol() as unknown as string;

/** One entry of fast-xml-parser's ordered output: `{ [tag]: children, ":@"?: attributes }`. */
type OrderedNode = Record<string, unknown>;

/**
 * Parses `xml` into its root element. Throws an {@link XmlSyntaxError} naming
 * `source` and the line (and column) for text that is not well-formed XML, has
 * no root element, or uses an unknown entity.
 */
export function parseXmlTree(xml: string, source: string): XmlElement {
  if (xml.length > MAX_XML_CHARS) {
    throw new XmlSyntaxError(
      `${source}: too large (${xml.length} characters; at most ${MAX_XML_CHARS})`,
      source,
    );
  }
  // Nearly every CIB is in the plain subset the one-pass reader takes (about ten
  // times faster, and without fast-xml-parser's intermediate objects); anything
  // else, errors included, goes the general way so its result and messages stay as they were.
  return parsePlainXmlTree(xml) ?? parseGeneralXmlTree(xml, source);
}

/**
 * Parses `xml` with fast-xml-parser (validator first, so errors name line and
 * column); what {@link parseXmlTree} does for documents outside the subset of
 * {@link parsePlainXmlTree}. Exported so tests can check both agree.
 */
export function parseGeneralXmlTree(xml: string, source: string): XmlElement {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    const { msg, line, col } = valid.err;
    throw new XmlSyntaxError(
      `${source}:${line}:${col}: not well-formed XML: ${msg}`,
      source,
      line,
      col,
    );
  }
  const lineStarts = lineStartOffsets(xml);
  const ordered = new XMLParser(PARSER_OPTIONS).parse(xml) as OrderedNode[];
  const roots = ordered.filter((node) => elementName(node) !== undefined);
  if (roots.length !== 1) {
    throw new XmlSyntaxError(
      `${source}: expected one root element, found ${roots.length}`,
      source,
    );
  }
  return convert(roots[0], source, lineStarts, 1);
}

/** An element being read by {@link parsePlainXmlTree}. */
interface OpenElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  texts: string[];
  line: number;
}

const GT = 0x3e; // >
const SLASH = 0x2f; // /
const BANG = 0x21; // !
const QUESTION = 0x3f; // ?
const EQUALS = 0x3d; // =
const QUOTE = 0x22; // "
const APOSTROPHE = 0x27; // '

/** Space, tab or newline (carriage returns are left to the general parser). */
function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a;
}

/** A character of an ASCII XML name: letters, digits, `_`, `:`, `.`, `-`. */
function isNameChar(code: number): boolean {
  return (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) ||
    (code >= 0x30 && code <= 0x3a) || code === 0x5f || code === 0x2e || code === 0x2d;
}

/** A character an ASCII XML name may start with: letters, `_`, `:`. */
function isNameStart(code: number): boolean {
  return (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) ||
    code === 0x5f || code === 0x3a;
}

/** Whether `text` is only spaces, tabs and newlines. */
function isBlank(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (!isSpace(text.charCodeAt(i))) return false;
  return true;
}

/**
 * Reads `xml` in one pass when it is in the plain subset a CIB is written in,
 * giving exactly the tree {@link parseGeneralXmlTree} gives; returns undefined
 * for anything else, valid or not, so the caller can take the general way.
 *
 * The subset: LF line ends (no carriage return), an optional `<?xml ...?>`
 * declaration at the very start, comments, one root element, ASCII names,
 * attributes written `name="value"` or `name='value'` (no `<` or `>` in the
 * value, each name once), text without CDATA, entity references only of
 * XML's five named entities and character references, at most
 * {@link MAX_XML_DEPTH} levels. No DOCTYPE, other processing instructions or BOM.
 */
export function parsePlainXmlTree(xml: string): XmlElement | undefined {
  if (xml.includes("\r") || xml.length > MAX_XML_CHARS) return undefined;
  const end = xml.length;
  let i = 0;
  if (xml.startsWith("<?xml")) {
    const close = xml.indexOf("?>", 5);
    if (close === -1) return undefined;
    const body = xml.slice(5, close);
    if (!isSpace(body.charCodeAt(0)) || /[<>?]/.test(body)) return undefined;
    i = close + 2;
  }
  const stack: OpenElement[] = [];
  let root: XmlElement | undefined;
  // Text since the last tag of the current element; comments do not split it.
  let pending = "";
  // Line of the current tag: `newline` is the first line end not yet counted.
  let line = 1;
  let newline = xml.indexOf("\n");
  const flush = (): boolean => {
    if (pending === "") return true;
    const top = stack[stack.length - 1];
    const text = pending.trim();
    pending = "";
    if (text === "") return true;
    const decoded = decodeKnownEntities(text);
    if (decoded === undefined) return false;
    top.texts.push(decoded);
    return true;
  };
  while (i < end) {
    const lt = xml.indexOf("<", i);
    const textEnd = lt === -1 ? end : lt;
    if (textEnd > i) {
      const text = xml.slice(i, textEnd);
      if (stack.length === 0) {
        if (!isBlank(text)) return undefined;
      } else pending += text;
    }
    if (lt === -1) break;
    const next = xml.charCodeAt(lt + 1);
    if (next === BANG) {
      if (!xml.startsWith("<!--", lt)) return undefined;
      const close = xml.indexOf("-->", lt + 4);
      if (close === -1) return undefined;
      i = close + 3;
      continue;
    }
    if (next === QUESTION) return undefined;
    if (next === SLASH) {
      // Closing tag: </name> with optional white space before '>'.
      let j = lt + 2;
      while (j < end && isNameChar(xml.charCodeAt(j))) j++;
      const name = xml.slice(lt + 2, j);
      while (j < end && isSpace(xml.charCodeAt(j))) j++;
      const top = stack[stack.length - 1];
      if (xml.charCodeAt(j) !== GT || top === undefined || top.name !== name) return undefined;
      if (!flush()) return undefined;
      stack.pop();
      const element = finishElement(top);
      if (stack.length > 0) stack[stack.length - 1].children.push(element);
      else root = element;
      i = j + 1;
      continue;
    }
    // Opening tag.
    if (!isNameStart(next) || (stack.length === 0 && root !== undefined)) return undefined;
    let j = lt + 2;
    while (j < end && isNameChar(xml.charCodeAt(j))) j++;
    const name = xml.slice(lt + 1, j);
    if (name === "__proto__") return undefined;
    const attributes: Record<string, string> = {};
    let selfClosing = false;
    for (;;) {
      const before = j;
      while (j < end && isSpace(xml.charCodeAt(j))) j++;
      const c = xml.charCodeAt(j);
      if (c === GT) {
        j++;
        break;
      }
      if (c === SLASH) {
        if (xml.charCodeAt(j + 1) !== GT) return undefined;
        selfClosing = true;
        j += 2;
        break;
      }
      // An attribute: white space before it, name="value" with nothing in between.
      if (j === before || !isNameStart(c)) return undefined;
      const nameStart = j;
      while (j < end && isNameChar(xml.charCodeAt(j))) j++;
      const attr = xml.slice(nameStart, j);
      if (xml.charCodeAt(j) !== EQUALS) return undefined;
      const quote = xml.charCodeAt(j + 1);
      if (quote !== QUOTE && quote !== APOSTROPHE) return undefined;
      const close = xml.indexOf(quote === QUOTE ? '"' : "'", j + 2);
      if (close === -1) return undefined;
      const raw = xml.slice(j + 2, close);
      if (attr === "__proto__" || Object.hasOwn(attributes, attr)) return undefined;
      if (raw.includes("<") || raw.includes(">")) return undefined;
      // XML normalizes literal white space in attribute values to spaces before decoding.
      const value = decodeKnownEntities(
        raw.includes("\n") || raw.includes("\t") ? raw.replace(/[\t\n]/g, " ") : raw,
      );
      if (value === undefined) return undefined;
      attributes[attr] = value;
      j = close + 1;
    }
    // The general parser reports elements deeper than MAX_XML_DEPTH.
    if (stack.length >= MAX_XML_DEPTH) return undefined;
    if (stack.length > 0 && !flush()) return undefined;
    while (newline !== -1 && newline < lt) {
      line++;
      newline = xml.indexOf("\n", newline + 1);
    }
    const open: OpenElement = { name, attributes, children: [], texts: [], line };
    if (selfClosing) {
      const element = finishElement(open);
      if (stack.length > 0) stack[stack.length - 1].children.push(element);
      else root = element;
    } else stack.push(open);
    i = j;
  }
  return stack.length === 0 ? root : undefined;
}

/** The finished element, shaped as the general parser shapes it. */
function finishElement(open: OpenElement): XmlElement {
  const { name, attributes, children, texts, line } = open;
  return texts.length > 0
    ? { name, attributes, children, text: texts.join(" "), line }
    : { name, attributes, children, line };
}

/** Options of {@link serializeXmlTree}. */
export interface SerializeOptions {
  /** Spaces per nesting level (default 2). */
  readonly indent?: number;
  /** Start with `<?xml version="1.0"?>` (default false). */
  readonly declaration?: boolean;
}

/**
 * Serializes a tree as indented XML text ending in a newline. Attribute values
 * and text are escaped so that {@link parseXmlTree} gives the same tree back
 * (text is trimmed on parsing, as it is here).
 */
export function serializeXmlTree(root: XmlElement, options: SerializeOptions = {}): string {
  const step = " ".repeat(options.indent ?? 2);
  const out: string[] = options.declaration ? ['<?xml version="1.0"?>'] : [];
  const write = (element: XmlElement, depth: number) => {
    if (depth > MAX_XML_DEPTH) throw new Error(`XML deeper than ${MAX_XML_DEPTH} levels`);
    assertName(element.name);
    const pad = step.repeat(depth);
    let open = `${pad}<${element.name}`;
    for (const [name, value] of Object.entries(element.attributes)) {
      assertName(name);
      open += ` ${name}="${escapeAttribute(value)}"`;
    }
    const text = element.text !== undefined && element.text !== ""
      ? escapeText(element.text)
      : undefined;
    if (element.children.length === 0 && text === undefined) {
      out.push(`${open}/>`);
    } else if (element.children.length === 0) {
      out.push(`${open}>${text}</${element.name}>`);
    } else {
      out.push(`${open}>`);
      if (text !== undefined) out.push(`${pad}${step}${text}`);
      for (const child of element.children) write(child, depth + 1);
      out.push(`${pad}</${element.name}>`);
    }
  };
  write(root, 0);
  return out.join("\n") + "\n";
}

/** Builds an element (for exporters); attributes whose value is undefined are left out. */
export function xmlElement(
  name: string,
  attributes: Record<string, string | number | boolean | undefined> = {},
  children: readonly XmlElement[] = [],
): XmlElement {
  const attrs: Record<string, string> = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (value !== undefined) attrs[key] = String(value);
  }
  return { name, attributes: attrs, children };
}

/** The child elements of `element` named `name`, in order. */
export function childElements(element: XmlElement, name: string): XmlElement[] {
  return element.children.filter((child) => child.name === name);
}

function convert(
  node: OrderedNode,
  source: string,
  lineStarts: readonly number[],
  depth: number,
): XmlElement {
  const name = elementName(node);
  if (name === undefined) throw new Error("convert: not an element");
  const meta = node[META] as { startIndex?: number } | undefined;
  const line = meta?.startIndex === undefined ? undefined : lineOf(lineStarts, meta.startIndex);
  const where = line === undefined ? source : `${source}:${line}`;
  if (depth > MAX_XML_DEPTH) {
    throw new XmlSyntaxError(
      `${where}: elements nested deeper than ${MAX_XML_DEPTH}`,
      source,
      line,
    );
  }
  const attributes: Record<string, string> = {};
  const rawAttributes = (node[":@"] ?? {}) as Record<string, unknown>;
  for (const [key, value] of Object.entries(rawAttributes)) {
    // XML normalizes literal white space in attribute values to spaces before decoding.
    const raw = String(value).replace(/[\t\n\r]/g, " ");
    attributes[key] = decodeEntities(raw, `${where}: attribute ${key} of <${name}>`, source, line);
  }
  const children: XmlElement[] = [];
  const texts: string[] = [];
  for (const child of node[name] as OrderedNode[]) {
    if (elementName(child) !== undefined) {
      children.push(convert(child, source, lineStarts, depth + 1));
    } else if ("#text" in child) {
      const text = String(child["#text"]).trim();
      if (text !== "") {
        texts.push(decodeEntities(text, `${where}: text of <${name}>`, source, line));
      }
    }
  }
  const element: XmlElement = texts.length > 0
    ? { name, attributes, children, text: texts.join(" ") }
    : { name, attributes, children };
  return line === undefined ? element : { ...element, line };
}

/** The tag of an ordered node, or undefined for text, comments and declarations. */
function elementName(node: OrderedNode): string | undefined {
  for (const key of Object.keys(node)) {
    if (key === ":@" || key === "#text" || key.startsWith("?") || key.startsWith("!")) continue;
    return key;
  }
  return undefined;
}

function lineStartOffsets(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return starts;
}

function lineOf(lineStarts: readonly number[], offset: number): number {
  let lo = 0;
  let hi = lineStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (lineStarts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

const NAMED_ENTITIES: Readonly<Record<string, string>> = {
  lt: "<",
  gt: ">",
  amp: "&",
  quot: '"',
  apos: "'",
};

/** An entity reference as {@link decodeEntities} reads it (the body is checked separately). */
const ENTITY_REFERENCE = /&([^;&\s]{0,32});/g;

/** The text an entity body (`amp`, `#38`, `#x26`) stands for, or undefined if unknown. */
function entityText(body: string): string | undefined {
  // Own keys only: "&constructor;" is unknown, not Object's prototype.
  if (Object.hasOwn(NAMED_ENTITIES, body)) return NAMED_ENTITIES[body];
  const numeric = /^#(?:x([0-9a-fA-F]{1,6})|([0-9]{1,7}))$/.exec(body);
  const code = numeric ? parseInt(numeric[1] ?? numeric[2], numeric[1] ? 16 : 10) : NaN;
  if (Number.isInteger(code) && code > 0 && code <= 0x10ffff) return String.fromCodePoint(code);
  return undefined;
}

function decodeEntities(text: string, where: string, source: string, line?: number): string {
  if (!text.includes("&")) return text;
  return text.replace(ENTITY_REFERENCE, (whole, body: string) => {
    // Own keys only: "&constructor;" is an unknown entity, not Object's constructor.
    if (Object.hasOwn(NAMED_ENTITIES, body)) return NAMED_ENTITIES[body];
    const decoded = entityText(body);
    if (decoded !== undefined) return decoded;
    throw new XmlSyntaxError(`${where}: unknown entity ${whole}`, source, line);
  });
}

/**
 * `text` with its entity references decoded, or undefined when it has an
 * unknown entity or a `&` that starts none (the general parser then decides).
 */
function decodeKnownEntities(text: string): string | undefined {
  if (!text.includes("&")) return text;
  let known = true;
  const decoded = text.replace(ENTITY_REFERENCE, (whole, body: string) => {
    const value = entityText(body);
    if (value === undefined) known = false;
    return value ?? whole;
  });
  if (!known || text.replace(ENTITY_REFERENCE, "").includes("&")) return undefined;
  return decoded;
}

function assertName(name: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_.:-]*$/.test(name)) throw new Error(`not an XML name: ${name}`);
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;").replace(/\n/g, "&#10;").replace(/\r/g, "&#13;")
    .replace(/\t/g, "&#9;");
}

function escapeText(value: string): string {
  return value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
