/**
 * The on-disk slot format of the qdisk quorum device (pure: bytes in, bytes out).
 *
 * The disk (or file) is divided into fixed-size slots, one per node, slot `i` at byte
 * offset `i * slotBytes`. A slot that was never written is all zeros. All integers are
 * little-endian:
 *
 * | offset      | size | field                                                        |
 * | ----------- | ---- | ------------------------------------------------------------ |
 * | 0           | 4    | magic `VGQD`                                                 |
 * | 4           | 2    | format version ({@link SLOT_FORMAT_VERSION})                 |
 * | 6           | 2    | slot index (must equal the slot's position)                  |
 * | 8           | 8    | writer's wall-clock timestamp, ms (informational only)       |
 * | 16          | 8    | write counter: changes on every write (liveness)             |
 * | 24          | 1    | state: 1 running, 2 master, 3 leaving (stopped cleanly)      |
 * | 25          | 1    | length of the node name in bytes (1..64)                     |
 * | 26          | 2    | slot index of the node the writer follows as master (0xFFFF: none) |
 * | 28          | 64   | node name, UTF-8, zero-padded                                |
 * | 92          | ...  | reserved, zero                                               |
 * | slotBytes-4 | 4    | CRC-32 (IEEE) of bytes 0 .. slotBytes-4                      |
 *
 * The checksum makes a torn write (a read racing a write) or a foreign write show up as
 * a corrupt slot instead of as data.
 *
 * @example
 * ```ts
 * const bytes = encodeSlot({ index: 0, node: "n1", timestampMs: 0, counter: 1,
 *   state: "running", masterIndex: null }, 512);
 * decodeSlot(bytes, 0).kind; // "valid"
 * ```
 * @module
 */

/** The magic at the start of every written slot: ASCII `VGQD`. */
export const SLOT_MAGIC = 0x44514756; // "VGQD" read as a little-endian u32
/** The slot format version this module writes and reads. */
export const SLOT_FORMAT_VERSION = 1;
/** The most slots (nodes) a qdisk holds. */
export const MAX_SLOTS = 64;
/** Longest node name, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 64;
/** Smallest slot size: the fixed fields, the name and the checksum. */
export const MIN_SLOT_BYTES = 128;
/** Largest slot size. */
export const MAX_SLOT_BYTES = 4096;

const NO_MASTER = 0xffff;
const NAME_OFFSET = 28;
const STATE_CODES = { running: 1, master: 2, leaving: 3 } as const;

/** What a node says about itself in its slot. */
export type SlotState = keyof typeof STATE_CODES;

/** The content of one slot. */
export interface SlotRecord {
  /** The slot's position (0-based). */
  index: number;
  /** The name of the node writing this slot. */
  node: string;
  /** The writer's wall clock when it wrote, ms (never compared across nodes). */
  timestampMs: number;
  /** The writer's write counter; a change means the writer is alive. */
  counter: number;
  /** The writer's state. */
  state: SlotState;
  /** Slot index of the master the writer follows (itself when `state` is master), or null. */
  masterIndex: number | null;
}

/** The result of decoding one slot. */
export type DecodedSlot =
  | { kind: "empty" }
  | { kind: "corrupt"; problem: string }
  | { kind: "valid"; slot: SlotRecord };

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE 802.3, as zlib's crc32) of `bytes`. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Throws unless `slotBytes` is a valid slot size (128..4096, a multiple of 64). */
export function assertSlotBytes(slotBytes: number): void {
  if (
    !Number.isInteger(slotBytes) || slotBytes < MIN_SLOT_BYTES || slotBytes > MAX_SLOT_BYTES ||
    slotBytes % 64 !== 0
  ) {
    throw new RangeError(
      `qdisk: slotBytes must be a multiple of 64 in ${MIN_SLOT_BYTES}..${MAX_SLOT_BYTES}, got ${slotBytes}`,
    );
  }
}

/** Encodes `slot` into `slotBytes` bytes. Throws on a value the format cannot hold. */
export function encodeSlot(slot: SlotRecord, slotBytes: number): Uint8Array {
  assertSlotBytes(slotBytes);
  if (!Number.isInteger(slot.index) || slot.index < 0 || slot.index >= MAX_SLOTS) {
    throw new RangeError(`qdisk: slot index ${slot.index} outside 0..${MAX_SLOTS - 1}`);
  }
  const name = new TextEncoder().encode(slot.node);
  if (name.length < 1 || name.length > MAX_NAME_BYTES) {
    throw new RangeError(`qdisk: node name must be 1..${MAX_NAME_BYTES} UTF-8 bytes`);
  }
  if (!Number.isSafeInteger(slot.counter) || slot.counter < 0) {
    throw new RangeError(`qdisk: counter ${slot.counter} is not a non-negative safe integer`);
  }
  const master = slot.masterIndex;
  if (master !== null && (!Number.isInteger(master) || master < 0 || master >= MAX_SLOTS)) {
    throw new RangeError(`qdisk: master slot ${master} outside 0..${MAX_SLOTS - 1}`);
  }
  const bytes = new Uint8Array(slotBytes);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, SLOT_MAGIC, true);
  view.setUint16(4, SLOT_FORMAT_VERSION, true);
  view.setUint16(6, slot.index, true);
  view.setBigUint64(8, BigInt(Math.max(0, Math.trunc(slot.timestampMs))), true);
  view.setBigUint64(16, BigInt(slot.counter), true);
  view.setUint8(24, STATE_CODES[slot.state]);
  view.setUint8(25, name.length);
  view.setUint16(26, master ?? NO_MASTER, true);
  bytes.set(name, NAME_OFFSET);
  view.setUint32(slotBytes - 4, crc32(bytes.subarray(0, slotBytes - 4)), true);
  return bytes;
}

/**
 * Decodes the slot at position `index` from its `bytes` (exactly one slot). Never throws:
 * anything that is not a valid slot written for this position is `corrupt` with a reason.
 */
export function decodeSlot(bytes: Uint8Array, index: number): DecodedSlot {
  const slotBytes = bytes.length;
  if (slotBytes < MIN_SLOT_BYTES) return { kind: "corrupt", problem: "short slot" };
  if (bytes.every((b) => b === 0)) return { kind: "empty" };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== SLOT_MAGIC) return { kind: "corrupt", problem: "bad magic" };
  const stored = view.getUint32(slotBytes - 4, true);
  if (crc32(bytes.subarray(0, slotBytes - 4)) !== stored) {
    return { kind: "corrupt", problem: "bad checksum" };
  }
  const version = view.getUint16(4, true);
  if (version !== SLOT_FORMAT_VERSION) {
    return { kind: "corrupt", problem: `unknown format version ${version}` };
  }
  const own = view.getUint16(6, true);
  if (own !== index) return { kind: "corrupt", problem: `written for slot ${own}` };
  const stateCode = view.getUint8(24);
  const state = (Object.keys(STATE_CODES) as SlotState[]).find((s) => STATE_CODES[s] === stateCode);
  if (!state) return { kind: "corrupt", problem: `unknown state ${stateCode}` };
  const nameLength = view.getUint8(25);
  if (nameLength < 1 || nameLength > MAX_NAME_BYTES) {
    return { kind: "corrupt", problem: `bad name length ${nameLength}` };
  }
  let node: string;
  try {
    node = new TextDecoder("utf-8", { fatal: true }).decode(
      bytes.subarray(NAME_OFFSET, NAME_OFFSET + nameLength),
    );
  } catch {
    return { kind: "corrupt", problem: "node name is not UTF-8" };
  }
  const counter = view.getBigUint64(16, true);
  if (counter > BigInt(Number.MAX_SAFE_INTEGER)) {
    return { kind: "corrupt", problem: "counter out of range" };
  }
  const master = view.getUint16(26, true);
  if (master !== NO_MASTER && master >= MAX_SLOTS) {
    return { kind: "corrupt", problem: `bad master slot ${master}` };
  }
  return {
    kind: "valid",
    slot: {
      index,
      node,
      timestampMs: Number(view.getBigUint64(8, true)),
      counter: Number(counter),
      state,
      masterIndex: master === NO_MASTER ? null : master,
    },
  };
}
