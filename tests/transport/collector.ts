/**
 * Test helpers for transports: handlers that record what arrives, bounded
 * waiting, free loopback ports.
 *
 * @module
 */

import type { TransportHandlers } from "../../core/messaging/transport.ts";

export { freeUdpPort } from "../../core/demo/free_port.ts";

/** One received frame, decoded as UTF-8 for easy assertions. */
export interface Received {
  /** The frame's bytes as text. */
  text: string;
  /** Where it came from, as the transport reported. */
  source: string;
}

/** Transport handlers that record frames and error reports. */
export class Collector implements TransportHandlers {
  /** Frames in arrival order (bounded: tests send few). */
  readonly frames: Received[] = [];
  /** Error reports in order. */
  readonly errors: string[] = [];

  /** Records a frame. */
  onFrame(bytes: Uint8Array, source: string): void {
    if (this.frames.length < 100_000) {
      this.frames.push({ text: new TextDecoder().decode(bytes), source });
    }
  }

  /** Records an error report. */
  onError(message: string): void {
    if (this.errors.length < 1000) this.errors.push(message);
  }

  /** Texts of the frames received, in order. */
  texts(): string[] {
    return this.frames.map((f) => f.text);
  }
}

/** Bytes of a UTF-8 text. */
export function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Waits until `condition()` holds, polling every 10 ms, for at most `timeoutMs`.
 *
 * @returns whether the condition held in time.
 */
export async function waitFor(condition: () => boolean, timeoutMs = 3000): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) return false;
    await sleep(10);
  }
  return true;
}
