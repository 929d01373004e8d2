/**
 * Linux-HA Heartbeat 3.0.6 messages (`ha_msg`) and their two wire forms.
 *
 * A message is an ordered list of fields; each field has a name, a type digit
 * (0 string, 1 binary, 2 struct, 3 list, 4 compress, 5 uncompress) and a value.
 * Order matters: both authenticators are computed over it.
 *
 * Netstring form (what heartbeat sends on UDP):
 *
 * ```
 * ###\n  <len>:(T)name=value,  ...  %%%\n  <len>:<authnum> <hexdigest>,
 * ```
 *
 * Classic text form (accepted by heartbeat on receive, no outer trailer):
 *
 * ```
 * >>>\n  name=value\n  (1)name=<base64>\n  ...  <<<\n
 * ```
 *
 * The parser reads netstrings by their length prefix (binary values such as
 * `srcuuid` contain arbitrary bytes, including `,` `=` and `\n`), accepts only the
 * canonical encoding (no leading zeros, no spare bytes), is bounded (packet size,
 * field count, struct nesting depth) and never throws: failures are a
 * {@link HbParseReason}. Because only canonical input is accepted, an accepted netstring
 * packet re-encodes to exactly the bytes received.
 *
 * This module has no crypto: signing is injected as an {@link HbSigner} (see
 * `heartbeat_auth.ts`).
 *
 * @example
 * ```ts
 * const parsed = parseHbPacket(datagram);
 * if (parsed.ok) console.log(hbFieldText(parsed.packet.fields, "src"));
 * ```
 *
 * @module
 */

import { Buffer } from "node:buffer";

/** Largest packet accepted or produced: heartbeat's MAXMSG (256 KiB). */
export const HB_MAX_PACKET_BYTES = 256 * 1024;
/** Most fields in one packet, counting the fields of nested struct messages too. */
export const HB_MAX_FIELDS = 1024;
/** Deepest struct nesting accepted: a top-level message is depth 0. */
export const HB_MAX_DEPTH = 8;
/** Longest field name accepted or produced, in bytes. */
export const HB_MAX_NAME_BYTES = 256;

/** Field type digits, as in cluster-glue's `FT_*` constants. */
export const HbFieldType = {
  string: 0,
  binary: 1,
  struct: 2,
  list: 3,
  compress: 4,
  uncompress: 5,
} as const;

/** One of the six field type digits 0..5. */
export type HbFieldTypeDigit = 0 | 1 | 2 | 3 | 4 | 5;

/** One field of a heartbeat message. */
export interface HbField {
  /** Field name (printable ASCII without `=`, `(`, `)`, `,`). */
  readonly name: string;
  /** Type digit. */
  readonly type: HbFieldTypeDigit;
  /** Raw value bytes; for a struct this is the whole nested `###\n...%%%\n` message. */
  readonly value: Uint8Array;
  /** For struct fields (type 2) received by the parser: the nested message's fields. */
  readonly nested?: readonly HbField[];
}

/** An `"<authnum> <hexdigest>"` token: the outer trailer or the value of the inner `auth` field. */
export interface HbAuthToken {
  /** The authkeys entry number (the `auth N` of the signer). */
  readonly keyId: number;
  /** The digest as printed (lowercase hex; crc has no zero padding). */
  readonly digest: string;
}

/** A parsed datagram. */
export interface HbPacket {
  /** Which wire form it came in. */
  readonly format: "netstring" | "text";
  /** Top-level fields in wire order. */
  readonly fields: readonly HbField[];
  /** Netstring form: the exact received bytes from `###\n` through `%%%\n` (what the outer auth covers). */
  readonly signed?: Uint8Array;
  /** Netstring form: the outer auth trailer, if the packet had one. */
  readonly outerAuth?: HbAuthToken;
}

/**
 * Why a datagram could not be parsed; a closed set.
 *
 * - `too-large`: more than {@link HB_MAX_PACKET_BYTES}.
 * - `bad-magic`: starts with neither `###\n` nor `>>>\n` (or is shorter than that).
 * - `bad-netstring`: a length prefix that is not canonical decimal, points past the end,
 *   or is not followed by `,`.
 * - `bad-field`: a field without `(T)` prefix, with an unknown type, without `=`, or with
 *   a name outside the allowed characters; or a text line that is not a field.
 * - `bad-base64`: a binary field in text form whose value is not canonical base64.
 * - `too-many-fields`: more than {@link HB_MAX_FIELDS}.
 * - `too-deep`: struct nesting deeper than {@link HB_MAX_DEPTH}.
 * - `truncated`: the end marker (`%%%\n` / `<<<\n`) is missing.
 * - `bad-trailer`: the outer auth netstring is malformed or followed by more bytes.
 */
export type HbParseReason =
  | "too-large"
  | "bad-magic"
  | "bad-netstring"
  | "bad-field"
  | "bad-base64"
  | "too-many-fields"
  | "too-deep"
  | "truncated"
  | "bad-trailer";

/** Every {@link HbParseReason}, for counters and tests. */
export const HB_PARSE_REASONS: readonly HbParseReason[] = [
  "too-large",
  "bad-magic",
  "bad-netstring",
  "bad-field",
  "bad-base64",
  "too-many-fields",
  "too-deep",
  "truncated",
  "bad-trailer",
];

/** Outcome of {@link parseHbPacket}. */
export type HbParseResult =
  | { ok: true; packet: HbPacket }
  | { ok: false; reason: HbParseReason };

/** Computes an auth token over some bytes (HMAC or crc with the signer's key); see `heartbeat_auth.ts`. */
export type HbSigner = (data: Uint8Array) => HbAuthToken;

const utf8 = new TextEncoder();
const utf8Fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const NETSTRING_START = bytesOf("###\n");
const NETSTRING_END = bytesOf("%%%\n");
const TEXT_START = bytesOf(">>>\n");
const TEXT_END = bytesOf("<<<\n");
const COLON = 0x3a;
const COMMA = 0x2c;
const EQUALS = 0x3d;
const NEWLINE = 0x0a;
const OPEN_PAREN = 0x28;
const CLOSE_PAREN = 0x29;
const ZERO = 0x30;
/** Enough digits for any length up to HB_MAX_PACKET_BYTES. */
const MAX_LENGTH_DIGITS = 7;

function bytesOf(text: string): Uint8Array {
  return utf8.encode(text);
}

/** True if `buf` holds `pattern` at `pos`. */
function hasAt(buf: Uint8Array, pos: number, pattern: Uint8Array): boolean {
  if (pos < 0 || pos + pattern.length > buf.length) return false;
  for (let i = 0; i < pattern.length; i++) {
    if (buf[pos + i] !== pattern[i]) return false;
  }
  return true;
}

/** A name byte: printable ASCII except the characters the wire forms give meaning to. */
function isNameByte(b: number): boolean {
  return b >= 0x21 && b <= 0x7e && b !== EQUALS && b !== OPEN_PAREN && b !== CLOSE_PAREN &&
    b !== COMMA;
}

/** @returns true if `name` is usable as a field name in both wire forms. */
export function isValidHbFieldName(name: string): boolean {
  if (name.length === 0 || name.length > HB_MAX_NAME_BYTES) return false;
  for (let i = 0; i < name.length; i++) {
    if (!isNameByte(name.charCodeAt(i))) return false;
  }
  return true;
}

/** Latin-1 view of name bytes (they are ASCII, checked by the caller). */
function asciiOf(buf: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]);
  return s;
}

/** Running count of fields across nesting levels, so the bound covers the whole packet. */
interface FieldBudget {
  left: number;
}

type Step<T> = { ok: true; value: T; next: number } | { ok: false; reason: HbParseReason };

/**
 * Read one netstring `<len>:<data>,` at `pos`, refusing non-canonical lengths (leading
 * zeros, more digits than any legal length needs). Running out of bytes is `truncated`.
 */
function readNetstring(buf: Uint8Array, pos: number): Step<Uint8Array> {
  let p = pos;
  let len = 0;
  while (p < buf.length && buf[p] !== COLON) {
    const b = buf[p];
    if (b < ZERO || b > ZERO + 9) return { ok: false, reason: "bad-netstring" };
    if (p - pos >= MAX_LENGTH_DIGITS) return { ok: false, reason: "bad-netstring" };
    len = len * 10 + (b - ZERO);
    p++;
  }
  if (p >= buf.length) return { ok: false, reason: "truncated" };
  const digits = p - pos;
  if (digits === 0 || (digits > 1 && buf[pos] === ZERO)) {
    return { ok: false, reason: "bad-netstring" };
  }
  const dataStart = p + 1;
  const dataEnd = dataStart + len;
  if (dataEnd >= buf.length) return { ok: false, reason: "truncated" };
  if (buf[dataEnd] !== COMMA) return { ok: false, reason: "bad-netstring" };
  return { ok: true, value: buf.subarray(dataStart, dataEnd), next: dataEnd + 1 };
}

/** Parse the body of one netstring field: `(T)name=value`. */
function parseNetstringField(data: Uint8Array, depth: number, budget: FieldBudget): Step<HbField> {
  if (data.length < 4 || data[0] !== OPEN_PAREN || data[2] !== CLOSE_PAREN) {
    return { ok: false, reason: "bad-field" };
  }
  const type = data[1] - ZERO;
  if (type < 0 || type > 5) return { ok: false, reason: "bad-field" };
  const eq = data.indexOf(EQUALS, 3);
  if (eq < 0 || eq === 3 || eq - 3 > HB_MAX_NAME_BYTES) return { ok: false, reason: "bad-field" };
  for (let i = 3; i < eq; i++) {
    if (!isNameByte(data[i])) return { ok: false, reason: "bad-field" };
  }
  const name = asciiOf(data, 3, eq);
  const value = data.subarray(eq + 1);
  if (type !== HbFieldType.struct) {
    return { ok: true, value: { name, type: type as HbFieldTypeDigit, value }, next: 0 };
  }
  if (depth + 1 > HB_MAX_DEPTH) return { ok: false, reason: "too-deep" };
  const inner = parseNetstringBody(value, depth + 1, budget);
  if (!inner.ok) return inner;
  // A nested message carries no auth trailer: it must fill the value exactly.
  if (inner.next !== value.length) return { ok: false, reason: "bad-field" };
  return { ok: true, value: { name, type: 2, value, nested: inner.value }, next: 0 };
}

/** Parse `###\n <fields> %%%\n` at the start of `buf`; `next` is the index after `%%%\n`. */
function parseNetstringBody(
  buf: Uint8Array,
  depth: number,
  budget: FieldBudget,
): Step<HbField[]> {
  if (!hasAt(buf, 0, NETSTRING_START)) return { ok: false, reason: "bad-magic" };
  const fields: HbField[] = [];
  let p = NETSTRING_START.length;
  // Each iteration consumes at least 3 bytes ("0:,"), so the loop is bounded by the length.
  while (!hasAt(buf, p, NETSTRING_END)) {
    if (p >= buf.length) return { ok: false, reason: "truncated" };
    if (budget.left <= 0) return { ok: false, reason: "too-many-fields" };
    const ns = readNetstring(buf, p);
    if (!ns.ok) return ns;
    const field = parseNetstringField(ns.value, depth, budget);
    if (!field.ok) return field;
    budget.left--;
    fields.push(field.value);
    p = ns.next;
  }
  return { ok: true, value: fields, next: p + NETSTRING_END.length };
}

/** Parse an `"<authnum> <hexdigest>"` token; undefined unless canonical. */
export function parseHbAuthToken(bytes: Uint8Array): HbAuthToken | undefined {
  if (bytes.length < 3 || bytes.length > 140) return undefined;
  const text = asciiOf(bytes, 0, bytes.length);
  const m = /^(0|[1-9][0-9]{0,2}) ([0-9a-f]{1,128})$/.exec(text);
  if (m === null) return undefined;
  return { keyId: Number(m[1]), digest: m[2] };
}

function parseNetstringPacket(buf: Uint8Array): HbParseResult {
  const body = parseNetstringBody(buf, 0, { left: HB_MAX_FIELDS });
  if (!body.ok) return body;
  const signed = buf.subarray(0, body.next);
  if (body.next === buf.length) {
    return { ok: true, packet: { format: "netstring", fields: body.value, signed } };
  }
  const trailer = readNetstring(buf, body.next);
  if (!trailer.ok || trailer.next !== buf.length) return { ok: false, reason: "bad-trailer" };
  const outerAuth = parseHbAuthToken(trailer.value);
  if (outerAuth === undefined) return { ok: false, reason: "bad-trailer" };
  return { ok: true, packet: { format: "netstring", fields: body.value, signed, outerAuth } };
}

/** Strict base64 (standard alphabet, `=` padding): undefined unless it re-encodes identically. */
function decodeBase64(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  const bytes = Buffer.from(text, "base64");
  if (bytes.toString("base64") !== text) return undefined;
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

function parseTextPacket(buf: Uint8Array): HbParseResult {
  let end = buf.length;
  // cluster-glue's classic writer counts the C string's NUL; tolerate exactly one.
  if (end > 0 && buf[end - 1] === 0) end--;
  if (!hasAt(buf, end - TEXT_END.length, TEXT_END) || end < TEXT_START.length + TEXT_END.length) {
    return { ok: false, reason: "truncated" };
  }
  const bodyEnd = end - TEXT_END.length;
  const fields: HbField[] = [];
  let p = TEXT_START.length;
  while (p < bodyEnd) {
    if (fields.length >= HB_MAX_FIELDS) return { ok: false, reason: "too-many-fields" };
    let nl = buf.indexOf(NEWLINE, p);
    if (nl < 0 || nl >= bodyEnd) nl = -1;
    if (nl < 0) return { ok: false, reason: "bad-field" };
    const line = buf.subarray(p, nl);
    p = nl + 1;
    let type: HbFieldTypeDigit = 0;
    let nameStart = 0;
    if (line[0] === OPEN_PAREN) {
      // Only binary carries a prefix in text form (strings never do; the rest are netstring-only).
      if (line.length < 3 || line[1] !== ZERO + 1 || line[2] !== CLOSE_PAREN) {
        return { ok: false, reason: "bad-field" };
      }
      type = 1;
      nameStart = 3;
    }
    const eq = line.indexOf(EQUALS, nameStart);
    if (eq <= nameStart || eq - nameStart > HB_MAX_NAME_BYTES) {
      return { ok: false, reason: "bad-field" };
    }
    for (let i = nameStart; i < eq; i++) {
      if (!isNameByte(line[i])) return { ok: false, reason: "bad-field" };
    }
    const name = asciiOf(line, nameStart, eq);
    let value: Uint8Array = line.subarray(eq + 1);
    if (type === 1) {
      const decoded = decodeBase64(asciiOf(value, 0, value.length));
      if (decoded === undefined) return { ok: false, reason: "bad-base64" };
      value = decoded;
    }
    fields.push({ name, type, value });
  }
  return { ok: true, packet: { format: "text", fields } };
}

/**
 * Parse one UDP payload in either wire form. Never throws.
 *
 * @param payload the received datagram (untrusted).
 * @returns the packet (fields, and for netstring the signed bytes and outer trailer) or
 *   why it was refused. Authentication is not checked here (see `heartbeat_auth.ts`).
 */
export function parseHbPacket(payload: Uint8Array): HbParseResult {
  if (payload.length > HB_MAX_PACKET_BYTES) return { ok: false, reason: "too-large" };
  if (hasAt(payload, 0, NETSTRING_START)) return parseNetstringPacket(payload);
  if (hasAt(payload, 0, TEXT_START)) return parseTextPacket(payload);
  return { ok: false, reason: "bad-magic" };
}

// ---------------------------------------------------------------------------------- encoding

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function netstring(data: Uint8Array): Uint8Array {
  return concat([bytesOf(`${data.length}:`), data, bytesOf(",")]);
}

function assertFieldName(name: string): void {
  if (!isValidHbFieldName(name)) {
    throw new Error(`heartbeat field name ${JSON.stringify(name)} is not printable ASCII 1..256`);
  }
}

function assertFieldCount(fields: readonly HbField[]): void {
  if (fields.length > HB_MAX_FIELDS) {
    throw new Error(`heartbeat message has ${fields.length} fields, more than ${HB_MAX_FIELDS}`);
  }
}

/**
 * A string field (type 0) with UTF-8 value.
 *
 * @param name field name.
 * @param value text value.
 * @returns the field.
 */
export function hbString(name: string, value: string): HbField {
  assertFieldName(name);
  return { name, type: 0, value: utf8.encode(value) };
}

/**
 * A binary field (type 1).
 *
 * @param name field name.
 * @param value raw bytes (copied).
 * @returns the field.
 */
export function hbBinary(name: string, value: Uint8Array): HbField {
  assertFieldName(name);
  return { name, type: 1, value: value.slice() };
}

/**
 * The `###\n ... %%%\n` part of the netstring form: what the outer auth covers.
 *
 * @param fields fields in wire order (struct values must already be nested messages).
 * @returns the bytes.
 * @throws Error on an invalid name or too many fields.
 */
export function encodeHbNetstringBody(fields: readonly HbField[]): Uint8Array {
  assertFieldCount(fields);
  const parts: Uint8Array[] = [NETSTRING_START];
  for (const f of fields) {
    assertFieldName(f.name);
    parts.push(netstring(concat([bytesOf(`(${f.type})${f.name}=`), f.value])));
  }
  parts.push(NETSTRING_END);
  return concat(parts);
}

/** @returns the canonical `"<authnum> <hexdigest>"` bytes of a token. */
export function encodeHbAuthToken(token: HbAuthToken): Uint8Array {
  if (!Number.isInteger(token.keyId) || token.keyId < 0 || token.keyId > 999) {
    throw new Error(`heartbeat auth key id ${token.keyId} is not an integer 0..999`);
  }
  if (!/^[0-9a-f]{1,128}$/.test(token.digest)) {
    throw new Error(`heartbeat auth digest ${JSON.stringify(token.digest)} is not lowercase hex`);
  }
  return bytesOf(`${token.keyId} ${token.digest}`);
}

/**
 * The whole netstring form with a given outer trailer (or none): re-encodes a received
 * packet exactly.
 *
 * @param fields fields in wire order.
 * @param outerAuth the trailer token; omitted for a nested/unsigned message.
 * @returns the datagram bytes.
 * @throws Error if the result would exceed {@link HB_MAX_PACKET_BYTES} or a field is invalid.
 */
export function encodeHbNetstring(fields: readonly HbField[], outerAuth?: HbAuthToken): Uint8Array {
  const body = encodeHbNetstringBody(fields);
  const out = outerAuth === undefined
    ? body
    : concat([body, netstring(encodeHbAuthToken(outerAuth))]);
  if (out.length > HB_MAX_PACKET_BYTES) {
    throw new Error(`heartbeat packet of ${out.length} bytes exceeds ${HB_MAX_PACKET_BYTES}`);
  }
  return out;
}

/**
 * The NOHEAD text form (`msg2string_buf(msg, NOHEAD)`): every field except `auth`, one
 * `name=value\n` line each, binary as `(1)name=<base64>\n`. It is what the inner `auth`
 * field covers and the body of the classic text form.
 *
 * @param fields fields in wire order.
 * @returns the bytes, or undefined if a field is a struct/list/compressed field (they
 *   have no text form here; heartbeat only sends them in netstring-only messages).
 */
export function hbTextNoHead(fields: readonly HbField[]): Uint8Array | undefined {
  const parts: Uint8Array[] = [];
  for (const f of fields) {
    if (f.name === "auth") continue;
    if (f.type === 0) {
      parts.push(bytesOf(`${f.name}=`), f.value, bytesOf("\n"));
    } else if (f.type === 1) {
      parts.push(bytesOf(`(1)${f.name}=${Buffer.from(f.value).toString("base64")}\n`));
    } else {
      return undefined;
    }
  }
  return concat(parts);
}

/**
 * The classic text form `>>>\n ... <<<\n` (no trailing NUL), fields in the given order
 * (an `auth` field is written where it stands; {@link signHbText} puts it last).
 *
 * @param fields fields in wire order; only string and binary fields.
 * @returns the datagram bytes.
 * @throws Error for other field types, a string value containing `\n`, or an invalid name.
 */
export function encodeHbText(fields: readonly HbField[]): Uint8Array {
  assertFieldCount(fields);
  const parts: Uint8Array[] = [TEXT_START];
  for (const f of fields) {
    assertFieldName(f.name);
    if (f.type === 0) {
      if (f.value.includes(NEWLINE)) {
        throw new Error(`heartbeat field ${f.name} contains a newline; text form cannot carry it`);
      }
      parts.push(bytesOf(`${f.name}=`), f.value, bytesOf("\n"));
    } else if (f.type === 1) {
      parts.push(bytesOf(`(1)${f.name}=${Buffer.from(f.value).toString("base64")}\n`));
    } else {
      throw new Error(`heartbeat field ${f.name} of type ${f.type} has no classic text form`);
    }
  }
  parts.push(TEXT_END);
  const out = concat(parts);
  if (out.length > HB_MAX_PACKET_BYTES) {
    throw new Error(`heartbeat packet of ${out.length} bytes exceeds ${HB_MAX_PACKET_BYTES}`);
  }
  return out;
}

/** Fields without any `auth` field, plus a fresh one signed over their NOHEAD text. */
function withInnerAuth(fields: readonly HbField[], signer: HbSigner): HbField[] {
  const rest = fields.filter((f) => f.name !== "auth");
  const text = hbTextNoHead(rest);
  if (text === undefined) {
    throw new Error("heartbeat inner auth needs string/binary fields only");
  }
  return [...rest, { name: "auth", type: 0, value: encodeHbAuthToken(signer(text)) }];
}

/**
 * Sign and encode in netstring form, as heartbeat 3.0.6 sends: with `innerAuth` (its
 * default `msgfmt classic`) an `auth` field over the NOHEAD text is appended (replacing
 * any given one), then the outer trailer over `###\n...%%%\n` follows.
 *
 * @param fields fields in wire order (without `auth`).
 * @param signer computes tokens with the signing key.
 * @param options `innerAuth` (default true) adds the inner `auth` field.
 * @returns the datagram bytes.
 * @throws Error on invalid fields or oversize.
 */
export function signHbNetstring(
  fields: readonly HbField[],
  signer: HbSigner,
  options: { innerAuth?: boolean } = {},
): Uint8Array {
  const all = (options.innerAuth ?? true)
    ? withInnerAuth(fields, signer)
    : fields.filter((f) => f.name !== "auth");
  const body = encodeHbNetstringBody(all);
  return encodeHbNetstring(all, signer(body));
}

/**
 * Sign and encode in classic text form: the `auth` field (over the NOHEAD text) is the
 * only authenticator, as heartbeat's `isauthentic()` checks it.
 *
 * @param fields string/binary fields in wire order (without `auth`).
 * @param signer computes the token with the signing key.
 * @returns the datagram bytes.
 */
export function signHbText(fields: readonly HbField[], signer: HbSigner): Uint8Array {
  return encodeHbText(withInnerAuth(fields, signer));
}

// ---------------------------------------------------------------------------------- access

/**
 * The first field with this name (heartbeat's `ha_msg_value` also returns the first).
 *
 * @param fields the message.
 * @param name field name.
 * @returns the field or undefined.
 */
export function hbField(fields: readonly HbField[], name: string): HbField | undefined {
  return fields.find((f) => f.name === name);
}

/**
 * The first string field with this name, as text.
 *
 * @param fields the message.
 * @param name field name.
 * @returns its value, or undefined if absent, not a string field, or not valid UTF-8.
 */
export function hbFieldText(fields: readonly HbField[], name: string): string | undefined {
  const f = hbField(fields, name);
  if (f === undefined || f.type !== 0) return undefined;
  try {
    return utf8Fatal.decode(f.value);
  } catch {
    return undefined;
  }
}
