/**
 * Binary frame of one authenticated cluster message.
 *
 * Layout:
 *
 * | offset | size | field                                                    |
 * | ------ | ---- | -------------------------------------------------------- |
 * | 0      | 4    | magic, ASCII `VGL1`                                      |
 * | 4      | 1    | key id (1..255), selects the secret from the keyring     |
 * | 5      | 32   | HMAC digest, zero-padded when the algorithm is shorter   |
 * | 37     | rest | header + body as UTF-8 JSON `{from, incarnation, seq, to?, body}` |
 *
 * The HMAC covers everything except the digest field: magic, key id and JSON.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { timingSafeEqual } from "node:crypto";
import { hmac, type HmacAlgorithm } from "./hmac.ts";
import { z } from "zod";
import type { AuthKey, Keyring } from "./authkeys.ts";

/** One cluster message as carried by a frame. */
export interface Frame {
  /** Sender node name (non-empty, at most 64 characters). */
  from: string;
  /** Sender's boot generation: a positive integer persisted across restarts. */
  incarnation: number;
  /** Per-incarnation sequence number, a positive integer. */
  seq: number;
  /**
   * The one node this frame is for; absent means every node. Broadcast and
   * multicast links deliver every frame to everyone, so receivers drop frames
   * addressed to another node.
   */
  to?: string;
  /** Message payload; any JSON value. */
  body: unknown;
}

/** Largest frame accepted or produced, in bytes (fits a UDP datagram with room to spare). */
export const MAX_FRAME_BYTES = 60000;

/** Why a received frame was dropped. */
export type DropReason =
  | "too-short"
  | "too-large"
  | "bad-magic"
  | "unknown-key"
  | "bad-digest"
  | "bad-json"
  | "bad-header";

/** Outcome of {@link decodeFrame}: a verified frame or the reason it was dropped. */
export type DecodeResult = { ok: true; frame: Frame } | { ok: false; reason: DropReason };

const MAGIC = new TextEncoder().encode("VGL1");
const KEY_ID_OFFSET = 4;
const DIGEST_OFFSET = 5;
const DIGEST_BYTES = 32;
const JSON_OFFSET = DIGEST_OFFSET + DIGEST_BYTES;

const HeaderSchema = z.object({
  from: z.string().min(1).max(64),
  incarnation: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  to: z.string().min(1).max(64).optional(),
  // JSON has no undefined: `body: undefined` is encoded by omitting the key.
  body: z.unknown().optional(),
});

const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/** Whether a key is an HMAC key (Heartbeat's authkeys may also hold a keyless crc entry). */
function isHmacKey(key: AuthKey): boolean {
  const algorithm: string = key.algorithm;
  return algorithm === "sha256" || algorithm === "sha1" || algorithm === "md5";
}

/** HMAC of magic + key id + JSON, zero-padded to the 32-byte digest field. */
function digestOf(bytes: Uint8Array, key: AuthKey): Buffer {
  const mac = hmac(
    key as AuthKey & { algorithm: HmacAlgorithm },
    bytes.subarray(0, DIGEST_OFFSET),
    bytes.subarray(JSON_OFFSET),
  );
  const padded = Buffer.alloc(DIGEST_BYTES);
  mac.copy(padded);
  return padded;
}

/**
 * Encode and sign a frame.
 *
 * @param frame the message; its header must satisfy the same rules the receiver checks.
 * @param key the signing key (normally the keyring's active key).
 * @returns the frame's bytes.
 * @throws Error if the header is invalid, the body is not JSON-serialisable, the key id
 *   is not 1..255, or the frame would exceed {@link MAX_FRAME_BYTES}.
 */
export function encodeFrame(frame: Frame, key: AuthKey): Uint8Array {
  const header = HeaderSchema.safeParse(frame);
  if (!header.success) {
    throw new Error(`encodeFrame: invalid frame header: ${header.error.message}`);
  }
  if (!Number.isInteger(key.id) || key.id < 0 || key.id > 255) {
    throw new Error(`encodeFrame: key id ${key.id} is not an integer 0..255`);
  }
  if (!isHmacKey(key)) {
    throw new Error(`encodeFrame: key ${key.id} uses ${key.algorithm}, which cannot sign frames`);
  }
  const json = utf8Encoder.encode(JSON.stringify({
    from: frame.from,
    incarnation: frame.incarnation,
    seq: frame.seq,
    ...(frame.to !== undefined ? { to: frame.to } : {}),
    body: frame.body,
  }));
  const size = JSON_OFFSET + json.length;
  if (size > MAX_FRAME_BYTES) {
    throw new Error(`encodeFrame: frame of ${size} bytes exceeds ${MAX_FRAME_BYTES}`);
  }
  const bytes = new Uint8Array(size);
  bytes.set(MAGIC, 0);
  bytes[KEY_ID_OFFSET] = key.id;
  bytes.set(json, JSON_OFFSET);
  bytes.set(digestOf(bytes, key), DIGEST_OFFSET);
  return bytes;
}

/**
 * Verify and decode untrusted bytes. Never throws: every failure is a drop reason.
 *
 * The digest is checked before any JSON parsing, so unauthenticated input never
 * reaches the parser.
 *
 * @param bytes one received datagram.
 * @param keyring keys the sender may have signed with.
 * @returns the verified frame, or why it was dropped.
 */
export function decodeFrame(bytes: Uint8Array, keyring: Keyring): DecodeResult {
  if (bytes.length > MAX_FRAME_BYTES) return { ok: false, reason: "too-large" };
  // The smallest valid JSON header is far longer than one byte; "{}" still fails zod.
  if (bytes.length <= JSON_OFFSET) return { ok: false, reason: "too-short" };
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) return { ok: false, reason: "bad-magic" };
  }
  const key = keyring.keys.get(bytes[KEY_ID_OFFSET]);
  // A crc entry (Heartbeat's keyless checksum) authenticates nothing: never accept it.
  if (key === undefined || !isHmacKey(key)) return { ok: false, reason: "unknown-key" };

  const expected = digestOf(bytes, key);
  const received = bytes.subarray(DIGEST_OFFSET, JSON_OFFSET);
  // Padding bytes are compared too, so a sha1/md5 frame has exactly one valid encoding.
  if (!timingSafeEqual(expected, received)) return { ok: false, reason: "bad-digest" };

  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8Decoder.decode(bytes.subarray(JSON_OFFSET)));
  } catch {
    // Invalid UTF-8, invalid JSON, or nesting deep enough to overflow the stack.
    return { ok: false, reason: "bad-json" };
  }
  const header = HeaderSchema.safeParse(parsed);
  if (!header.success) return { ok: false, reason: "bad-header" };
  const { from, incarnation, seq, to, body } = header.data;
  return {
    ok: true,
    frame: to === undefined
      ? { from, incarnation, seq, body }
      : { from, incarnation, seq, to, body },
  };
}
