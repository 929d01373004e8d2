/**
 * Two serial links, one on each end of a null-modem cable, exchange frames both
 * ways; shared by the Deno test and the Bun check script (no Deno APIs here).
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Transport } from "../../core/messaging/transport.ts";
import { openTransport } from "../../core/transport/open_transport.ts";
import { MAX_FRAME_BYTES } from "../../core/wire/frame.ts";
import { Collector, waitFor } from "./collector.ts";

/** Deterministic test frames: varied sizes, every byte value (SLIP's END and ESC included). */
export function testFrames(tag: number, count: number): Uint8Array[] {
  const frames: Uint8Array[] = [];
  let x = 0x9e3779b9 ^ tag;
  for (let i = 0; i < count; i++) {
    // The last frame is the largest a link accepts.
    const size = i === count - 1 ? MAX_FRAME_BYTES : 1 + ((i * 397) % 3000);
    const frame = new Uint8Array(size);
    frame[0] = tag;
    for (let j = 1; j < size; j++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0; // LCG: reproducible bytes.
      frame[j] = x >>> 24;
    }
    frames.push(frame);
  }
  return frames;
}

/** What one exchange measured. */
export interface ExchangeResult {
  /** Frames each side received. */
  received: [number, number];
  /** Milliseconds from the first send until both sides had everything. */
  elapsedMs: number;
}

/**
 * Opens a serial link on each of `a` and `b`, sends `count` frames each way,
 * and asserts every frame arrived intact and in order with matching counters.
 */
export async function exchangeOverSerial(
  a: string,
  b: string,
  count: number,
  baud = 115200,
): Promise<ExchangeResult> {
  const ca = new Collector();
  const cb = new Collector();
  const received: [Uint8Array[], Uint8Array[]] = [[], []];
  const handlers = (side: 0 | 1, collector: Collector) => ({
    onFrame(bytes: Uint8Array, source: string) {
      received[side].push(bytes);
      collector.onFrame(bytes, source);
    },
    onError: (m: string) => collector.onError(m),
  });
  const links: Transport[] = [];
  try {
    links.push(
      await openTransport({ type: "serial", name: "sa", device: a, baud }, handlers(0, ca)),
    );
    links.push(
      await openTransport({ type: "serial", name: "sb", device: b, baud }, handlers(1, cb)),
    );
    const fromA = testFrames(0xa, count);
    const fromB = testFrames(0xb, count);
    const t0 = performance.now();
    for (let i = 0; i < count; i++) {
      links[0].send(fromA[i]);
      links[1].send(fromB[i]);
    }
    const done = await waitFor(
      () => received[0].length >= count && received[1].length >= count,
      20_000,
    );
    const elapsedMs = performance.now() - t0;
    assert.ok(
      done,
      `timed out: a got ${received[0].length}, b got ${received[1].length}; ` +
        `errors ${JSON.stringify([...ca.errors, ...cb.errors])}`,
    );
    assert.deepEqual(received[1], fromA, "b received a's frames intact and in order");
    assert.deepEqual(received[0], fromB, "a received b's frames intact and in order");
    assert.equal(ca.frames[0].source, a);
    const total = fromA.reduce((n, f) => n + f.length, 0);
    const counters = links[0].counters();
    assert.equal(counters.packetsOut, count);
    assert.equal(counters.bytesOut, total);
    assert.equal(counters.packetsIn, count);
    assert.equal(counters.sendErrors, 0);
    assert.equal(counters.framingErrors, 0);
    return { received: [received[0].length, received[1].length], elapsedMs };
  } finally {
    await Promise.all(links.map((l) => l.close()));
  }
}
