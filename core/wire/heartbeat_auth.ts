/**
 * Heartbeat 3.0.6 authenticators: the digests of its `HBauth` plugins and the checks a
 * real heartbeat applies to received packets.
 *
 * - `sha1`: RFC 2104 HMAC-SHA1, key = the authkeys token's bytes, 40 lowercase hex digits.
 * - `md5`: RFC 2104 HMAC-MD5, 32 lowercase hex digits.
 * - `crc`: no key; CRC-32 MSB-first, polynomial 0x04C11DB7, init 0, final NOT, no length
 *   appended (unlike POSIX cksum), printed with `%lx`: lowercase, **no zero padding**.
 *
 * Two authenticators exist. The outer one (the netstring trailer) covers the exact
 * received bytes `###\n` through `%%%\n` and is the only one checked for netstring
 * packets. The inner one (the `auth` field) covers the NOHEAD text form and is the only
 * one checked for classic `>>>` text packets.
 *
 * @example
 * ```ts
 * const bytes = signHbNetstring(fields, hbSigner(keyring.active));
 * const parsed = parseHbPacket(bytes);
 * if (parsed.ok) verifyHbPacket(parsed.packet, keyring); // { ok: true, keyId: 1 }
 * ```
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createHmac, timingSafeEqual } from "node:crypto";
import type { AuthKey, Keyring } from "./authkeys.ts";
import {
  type HbAuthToken,
  hbField,
  type HbPacket,
  type HbSigner,
  hbTextNoHead,
  parseHbAuthToken,
} from "./heartbeat_message.ts";

/** The digest methods heartbeat 3.0.6 ships (`lib/plugins/HBauth`). */
export type HbAuthMethod = "sha1" | "md5" | "crc";

/** Highest authkeys entry number heartbeat accepts (`MAXAUTH` is 16). */
export const HB_MAX_KEY_ID = 15;

const CRC_TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = (c & 0x80000000) !== 0 ? (c << 1) ^ 0x04c11db7 : c << 1;
    table[i] = c >>> 0;
  }
  return table;
})();

/**
 * Heartbeat's `crc` digest.
 *
 * @param data the covered bytes.
 * @returns lowercase hex without zero padding (1..8 digits).
 */
export function hbCrc(data: Uint8Array): string {
  let crc = 0;
  for (let i = 0; i < data.length; i++) {
    crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ data[i]) & 0xff]) >>> 0;
  }
  return (~crc >>> 0).toString(16);
}

/**
 * The digest text heartbeat computes with one method.
 *
 * @param method sha1, md5 or crc.
 * @param secret the key (ignored by crc).
 * @param data the covered bytes.
 * @returns lowercase hex as heartbeat prints it.
 */
export function hbDigest(method: HbAuthMethod, secret: string, data: Uint8Array): string {
  if (method === "crc") return hbCrc(data);
  return createHmac(method, Buffer.from(secret, "utf8")).update(data).digest("hex");
}

/** @returns the key's algorithm if heartbeat knows it, else undefined (Vigil's sha256). */
function methodOf(key: AuthKey): HbAuthMethod | undefined {
  return key.algorithm === "sha256" ? undefined : key.algorithm;
}

/**
 * A signer for outgoing heartbeat packets (see `signHbNetstring`).
 *
 * @param key the signing key, normally the keyring's active key; its id travels as the authnum.
 * @returns the signer.
 * @throws RangeError if the key is sha256 (heartbeat has no such method) or its id is not 0..15.
 */
export function hbSigner(key: AuthKey): HbSigner {
  const method = methodOf(key);
  if (method === undefined) {
    throw new RangeError(
      `authkeys key ${key.id} is sha256; Heartbeat 3.0.6 only knows sha1, md5 and crc`,
    );
  }
  if (!Number.isInteger(key.id) || key.id < 0 || key.id > HB_MAX_KEY_ID) {
    throw new RangeError(`authkeys key id ${key.id} is outside Heartbeat's 0..${HB_MAX_KEY_ID}`);
  }
  return (data) => ({ keyId: key.id, digest: hbDigest(method, key.secret, data) });
}

/**
 * Why authentication failed; a closed set.
 * - `no-auth`: the packet has no authenticator of the kind its format requires (or a
 *   malformed inner `auth` value).
 * - `unknown-key`: the authnum names no entry in the receiver's keyring, or one whose
 *   method heartbeat does not have (sha256).
 * - `bad-digest`: the digest does not match.
 */
export type HbAuthReason = "no-auth" | "unknown-key" | "bad-digest";

/** Every {@link HbAuthReason}, for counters and tests. */
export const HB_AUTH_REASONS: readonly HbAuthReason[] = ["no-auth", "unknown-key", "bad-digest"];

/** Outcome of a verification. */
export type HbAuthResult = { ok: true; keyId: number } | { ok: false; reason: HbAuthReason };

function digestsEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a, "latin1"), Buffer.from(b, "latin1"));
}

/**
 * Check one token the way heartbeat's `hb_compute_authentication` does.
 *
 * Quirk (heartbeat 3.0.6, `at->auth(config->authmethod, ...)`): the **method** is taken
 * from the keyring entry the packet's authnum names, but the **key** is always the
 * receiver's *active* (`auth N`) entry's key. With several key lines only the active key
 * verifies; a packet naming another sha1 entry is checked with the active secret. This
 * is reproduced on purpose so Vigil accepts exactly what a heartbeat peer accepts.
 */
function verifyToken(token: HbAuthToken, data: Uint8Array, keyring: Keyring): HbAuthResult {
  const entry = keyring.keys.get(token.keyId);
  if (entry === undefined) return { ok: false, reason: "unknown-key" };
  const method = methodOf(entry);
  if (method === undefined) return { ok: false, reason: "unknown-key" };
  const expected = hbDigest(method, keyring.active.secret, data);
  return digestsEqual(expected, token.digest)
    ? { ok: true, keyId: token.keyId }
    : { ok: false, reason: "bad-digest" };
}

/**
 * Verify the outer trailer of a netstring packet over its exact received bytes.
 *
 * @param packet a parsed packet.
 * @param keyring the receiver's keys (see the quirk on key selection).
 * @returns ok with the authnum, or why not.
 */
export function verifyHbOuter(packet: HbPacket, keyring: Keyring): HbAuthResult {
  if (packet.signed === undefined || packet.outerAuth === undefined) {
    return { ok: false, reason: "no-auth" };
  }
  return verifyToken(packet.outerAuth, packet.signed, keyring);
}

/**
 * Verify the inner `auth` field over the NOHEAD text of the other fields.
 *
 * @param packet a parsed packet (either format).
 * @param keyring the receiver's keys (see the quirk on key selection).
 * @returns ok with the authnum, or why not.
 */
export function verifyHbInner(packet: HbPacket, keyring: Keyring): HbAuthResult {
  const field = hbField(packet.fields, "auth");
  if (field === undefined || field.type !== 0) return { ok: false, reason: "no-auth" };
  const token = parseHbAuthToken(field.value);
  const text = hbTextNoHead(packet.fields);
  if (token === undefined || text === undefined) return { ok: false, reason: "no-auth" };
  return verifyToken(token, text, keyring);
}

/**
 * Authenticate a received packet as a real heartbeat does: netstring packets by the outer
 * trailer only (the inner field is not checked, and may be absent), text packets by the
 * inner `auth` field.
 *
 * @param packet a parsed packet.
 * @param keyring the receiver's keys.
 * @returns ok with the authnum, or why not.
 */
export function verifyHbPacket(packet: HbPacket, keyring: Keyring): HbAuthResult {
  return packet.format === "netstring"
    ? verifyHbOuter(packet, keyring)
    : verifyHbInner(packet, keyring);
}
