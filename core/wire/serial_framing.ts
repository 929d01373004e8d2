/**
 * Framing of Vigil frames on a byte stream (a serial line): SLIP, RFC 1055.
 *
 * Encoding: every frame is written as `END, escaped bytes, END`, where
 *
 * | byte in frame | written as          |
 * | ------------- | ------------------- |
 * | `0xC0` (END)  | `0xDB 0xDC` (ESC ESC_END) |
 * | `0xDB` (ESC)  | `0xDB 0xDD` (ESC ESC_ESC) |
 * | anything else | itself              |
 *
 * The leading END (RFC 1055's recommendation) flushes whatever line noise the
 * receiver has accumulated, so garbage between two frames never damages the
 * frame after it: at worst the garbage itself comes out as one more (bogus)
 * frame, which the frame's HMAC rejects later. Empty frames (two ENDs in a row)
 * are skipped silently.
 *
 * The decoder is a pure streaming state machine: feed it chunks as they arrive
 * at any boundaries and it returns the complete frames. It never throws on
 * input, never holds more than `maxFrameBytes` bytes, and counts framing errors:
 * a frame longer than the bound (dropped whole, up to the next END) and an
 * invalid escape (ESC followed by anything but ESC_END or ESC_ESC; the frame is
 * dropped, up to the next END).
 *
 * @example
 * ```ts
 * const decoder = new SerialFrameDecoder();
 * const wire = encodeSerialFrame(new Uint8Array([1, 0xc0, 2]));
 * decoder.push(wire.subarray(0, 3)); // []
 * decoder.push(wire.subarray(3)); // [Uint8Array [1, 0xc0, 2]]
 * ```
 * @module
 */

import { MAX_FRAME_BYTES } from "./frame.ts";

/** SLIP frame delimiter. */
export const SLIP_END = 0xc0;
/** SLIP escape byte. */
export const SLIP_ESC = 0xdb;
/** Follows ESC to stand for an END byte in the frame. */
export const SLIP_ESC_END = 0xdc;
/** Follows ESC to stand for an ESC byte in the frame. */
export const SLIP_ESC_ESC = 0xdd;

/**
 * Encodes one frame for the byte stream: `END, escaped bytes, END`.
 *
 * @param bytes the frame (any length; the receiver drops frames over its bound).
 * @returns the bytes to write, at most `2 * bytes.length + 2` long.
 */
export function encodeSerialFrame(bytes: Uint8Array): Uint8Array {
  let escapes = 0;
  for (const b of bytes) if (b === SLIP_END || b === SLIP_ESC) escapes++;
  const out = new Uint8Array(bytes.length + escapes + 2);
  let o = 0;
  out[o++] = SLIP_END;
  for (const b of bytes) {
    if (b === SLIP_END) {
      out[o++] = SLIP_ESC;
      out[o++] = SLIP_ESC_END;
    } else if (b === SLIP_ESC) {
      out[o++] = SLIP_ESC;
      out[o++] = SLIP_ESC_ESC;
    } else {
      out[o++] = b;
    }
  }
  out[o++] = SLIP_END;
  if (o !== out.length) throw new Error(`encodeSerialFrame: wrote ${o} of ${out.length} bytes`);
  return out;
}

/** Where the decoder is within the current frame. */
type DecoderState = "data" | "escape" | "discard";

/**
 * Streaming SLIP decoder with a bound on frame length and resynchronisation on
 * errors. Feed chunks with {@link SerialFrameDecoder.push}.
 */
export class SerialFrameDecoder {
  readonly #max: number;
  readonly #buffer: Uint8Array;
  #length = 0;
  #state: DecoderState = "data";
  #framingErrors = 0;

  /**
   * Creates a decoder.
   *
   * @param maxFrameBytes the longest decoded frame kept (default {@link MAX_FRAME_BYTES});
   *   longer frames are dropped and counted as framing errors.
   */
  constructor(maxFrameBytes: number = MAX_FRAME_BYTES) {
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 1) {
      throw new Error(
        `SerialFrameDecoder: maxFrameBytes ${maxFrameBytes} is not a positive integer`,
      );
    }
    this.#max = maxFrameBytes;
    this.#buffer = new Uint8Array(maxFrameBytes);
  }

  /** Frames dropped so far: oversized, or with an invalid escape sequence. */
  get framingErrors(): number {
    return this.#framingErrors;
  }

  /**
   * Consumes one chunk of the stream.
   *
   * @param chunk bytes as read, at any boundary.
   * @returns the frames completed by this chunk, in order (each a fresh copy);
   *   at most `chunk.length / 2 + 1` of them.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    const frames: Uint8Array[] = [];
    for (const b of chunk) {
      if (b === SLIP_END) {
        // END always ends the frame, whatever state: this is how the decoder resyncs.
        if (this.#state === "escape") this.#framingErrors++;
        else if (this.#state === "data" && this.#length > 0) {
          frames.push(this.#buffer.slice(0, this.#length));
        }
        this.#length = 0;
        this.#state = "data";
        continue;
      }
      switch (this.#state) {
        case "discard":
          break;
        case "escape":
          if (b === SLIP_ESC_END) this.#append(SLIP_END);
          else if (b === SLIP_ESC_ESC) this.#append(SLIP_ESC);
          else {
            this.#framingErrors++;
            this.#state = "discard";
          }
          break;
        case "data":
          if (b === SLIP_ESC) this.#state = "escape";
          else this.#append(b);
          break;
      }
    }
    return frames;
  }

  /** Appends one decoded byte, switching to discard (one framing error) past the bound. */
  #append(b: number): void {
    if (this.#length >= this.#max) {
      this.#framingErrors++;
      this.#length = 0;
      this.#state = "discard";
      return;
    }
    this.#buffer[this.#length++] = b;
    this.#state = "data";
  }
}
