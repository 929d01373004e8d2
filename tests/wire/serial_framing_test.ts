import assert from "node:assert/strict";
import fc from "fast-check";
import {
  encodeSerialFrame,
  SerialFrameDecoder,
  SLIP_END,
  SLIP_ESC,
  SLIP_ESC_END,
  SLIP_ESC_ESC,
} from "../../core/wire/serial_framing.ts";
import { MAX_FRAME_BYTES } from "../../core/wire/frame.ts";

const END = SLIP_END;
const ESC = SLIP_ESC;

/** Bytes biased towards the special ones, so escaping is exercised often. */
const byteArb = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom(END, ESC, SLIP_ESC_END, SLIP_ESC_ESC) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 255 }) },
);
const frameArb = (maxLength: number) =>
  fc.array(byteArb, { minLength: 1, maxLength }).map((a) => Uint8Array.from(a));

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Splits `bytes` at the given cut points (any values; reduced modulo the length). */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const p of points) {
    chunks.push(bytes.subarray(from, p));
    from = p;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

function decodeAll(decoder: SerialFrameDecoder, chunks: Uint8Array[]): Uint8Array[] {
  return chunks.flatMap((c) => decoder.push(c));
}

/** Whether `needles` occur in `haystack` in order (not necessarily adjacent). */
function isSubsequence(needles: Uint8Array[], haystack: Uint8Array[]): boolean {
  let i = 0;
  for (const h of haystack) {
    if (i < needles.length && bytesEqual(h, needles[i])) i++;
  }
  return i === needles.length;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

Deno.test("encodeSerialFrame escapes END and ESC and wraps the frame in ENDs", () => {
  const encoded = encodeSerialFrame(Uint8Array.of(1, END, 2, ESC, 3));
  assert.deepEqual(
    [...encoded],
    [END, 1, ESC, SLIP_ESC_END, 2, ESC, SLIP_ESC_ESC, 3, END],
  );
  assert.deepEqual([...encodeSerialFrame(new Uint8Array(0))], [END, END]);
});

Deno.test("the decoder reassembles a frame split after its ESC byte", () => {
  const decoder = new SerialFrameDecoder();
  const wire = encodeSerialFrame(Uint8Array.of(7, END, 8));
  const escAt = wire.indexOf(ESC);
  assert.deepEqual(decoder.push(wire.subarray(0, escAt + 1)), []);
  assert.deepEqual(decoder.push(wire.subarray(escAt + 1)), [Uint8Array.of(7, END, 8)]);
  assert.equal(decoder.framingErrors, 0);
});

Deno.test("the decoder returns every frame of one chunk, skipping empty ones", () => {
  const decoder = new SerialFrameDecoder();
  const wire = concat([
    Uint8Array.of(END, END, END),
    encodeSerialFrame(Uint8Array.of(1)),
    encodeSerialFrame(Uint8Array.of(2, 3)),
  ]);
  assert.deepEqual(decoder.push(wire), [Uint8Array.of(1), Uint8Array.of(2, 3)]);
  assert.equal(decoder.framingErrors, 0);
});

Deno.test("returned frames are copies, not views of the decoder's buffer", () => {
  const decoder = new SerialFrameDecoder();
  const [first] = decoder.push(encodeSerialFrame(Uint8Array.of(1, 2, 3)));
  decoder.push(encodeSerialFrame(Uint8Array.of(9, 9, 9)));
  assert.deepEqual(first, Uint8Array.of(1, 2, 3));
});

Deno.test("an oversized frame is dropped and counted; the next frame decodes", () => {
  const decoder = new SerialFrameDecoder(4);
  const wire = concat([
    encodeSerialFrame(Uint8Array.of(1, 2, 3, 4, 5, 6)),
    encodeSerialFrame(Uint8Array.of(1, 2, 3, 4)),
  ]);
  assert.deepEqual(decoder.push(wire), [Uint8Array.of(1, 2, 3, 4)]);
  assert.equal(decoder.framingErrors, 1);
});

Deno.test("an oversized frame of escaped bytes is dropped at the bound", () => {
  const decoder = new SerialFrameDecoder(3);
  const frames = decoder.push(encodeSerialFrame(new Uint8Array(5).fill(END)));
  assert.deepEqual(frames, []);
  assert.equal(decoder.framingErrors, 1);
});

Deno.test("the default bound is MAX_FRAME_BYTES, inclusive", () => {
  const decoder = new SerialFrameDecoder();
  const biggest = new Uint8Array(MAX_FRAME_BYTES).fill(ESC);
  assert.deepEqual(decoder.push(encodeSerialFrame(biggest)), [biggest]);
  assert.deepEqual(decoder.push(encodeSerialFrame(new Uint8Array(MAX_FRAME_BYTES + 1))), []);
  assert.equal(decoder.framingErrors, 1);
});

Deno.test("an invalid escape drops the frame, counts an error and resyncs at END", () => {
  const decoder = new SerialFrameDecoder();
  const wire = concat([
    Uint8Array.of(END, 1, ESC, 0x41, 2, 3, END),
    Uint8Array.of(4, ESC, END), // ESC cut short by END
    encodeSerialFrame(Uint8Array.of(5)),
  ]);
  assert.deepEqual(decoder.push(wire), [Uint8Array.of(5)]);
  assert.equal(decoder.framingErrors, 2);
});

Deno.test("garbage with no END yields nothing and holds at most the bound", () => {
  const decoder = new SerialFrameDecoder(16);
  for (let i = 0; i < 100; i++) assert.deepEqual(decoder.push(new Uint8Array(100).fill(i)), []);
  assert.equal(decoder.framingErrors, 1);
  assert.deepEqual(decoder.push(encodeSerialFrame(Uint8Array.of(42))), [Uint8Array.of(42)]);
});

Deno.test("the decoder rejects a bound that is not a positive integer", () => {
  assert.throws(() => new SerialFrameDecoder(0), /positive integer/);
  assert.throws(() => new SerialFrameDecoder(1.5), /positive integer/);
});

Deno.test("property: encoded frames, concatenated and split anywhere, decode exactly", () => {
  fc.assert(
    fc.property(
      fc.array(frameArb(200), { maxLength: 20 }),
      fc.array(fc.nat(), { maxLength: 30 }),
      (frames, cuts) => {
        const wire = concat(frames.map(encodeSerialFrame));
        const decoder = new SerialFrameDecoder();
        assert.deepEqual(decodeAll(decoder, split(wire, cuts)), frames);
        assert.equal(decoder.framingErrors, 0);
      },
    ),
    { numRuns: 4000 },
  );
});

Deno.test("property: an encoded frame has END only at its ends and grows at most 2n+2", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 500 }), (frame) => {
      const wire = encodeSerialFrame(frame);
      assert.ok(wire.length <= 2 * frame.length + 2);
      assert.equal(wire[0], END);
      assert.equal(wire[wire.length - 1], END);
      assert.equal(wire.subarray(1, -1).indexOf(END), -1);
    }),
    { numRuns: 1000 },
  );
});

Deno.test("property: arbitrary garbage never throws and decoded frames stay bounded", () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 400 }), { maxLength: 12 }),
      fc.integer({ min: 1, max: 64 }),
      (chunks, max) => {
        const decoder = new SerialFrameDecoder(max);
        let total = 0;
        for (const chunk of chunks) {
          const frames = decoder.push(chunk);
          total += chunk.length;
          assert.ok(frames.length <= chunk.length / 2 + 1);
          for (const f of frames) assert.ok(f.length >= 1 && f.length <= max);
        }
        assert.ok(decoder.framingErrors <= total);
      },
    ),
    { numRuns: 2000 },
  );
});

Deno.test("property: garbage spliced into the stream loses at most the frames it lands in", () => {
  fc.assert(
    fc.property(
      fc.array(frameArb(60), { minLength: 1, maxLength: 15 }),
      fc.array(fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 40 })), {
        maxLength: 5,
      }),
      fc.array(fc.nat(), { maxLength: 10 }),
      (frames, insertions, cuts) => {
        const encoded = frames.map(encodeSerialFrame);
        const starts: number[] = [];
        let offset = 0;
        for (const e of encoded) {
          starts.push(offset);
          offset += e.length;
        }
        const wire = concat(encoded);
        // Insertion points, each with its garbage; a point strictly inside a frame's
        // encoding touches that frame.
        const points = insertions.map(([p, g]) => [p % (wire.length + 1), g] as const)
          .sort((a, b) => a[0] - b[0]);
        const touched = new Set<number>();
        for (const [p] of points) {
          encoded.forEach((e, i) => {
            if (starts[i] < p && p < starts[i] + e.length) touched.add(i);
          });
        }
        const parts: Uint8Array[] = [];
        let from = 0;
        for (const [p, garbage] of points) {
          parts.push(wire.subarray(from, p), garbage);
          from = p;
        }
        parts.push(wire.subarray(from));
        const decoder = new SerialFrameDecoder(100);
        const decoded = decodeAll(decoder, split(concat(parts), cuts));
        const survivors = frames.filter((_, i) => !touched.has(i));
        assert.ok(isSubsequence(survivors, decoded), "an untouched frame was lost");
        if (points.length === 0) assert.deepEqual(decoded, frames);
      },
    ),
    { numRuns: 3000 },
  );
});

Deno.test("property: oversized frames among valid ones are dropped one error each", () => {
  const max = 32;
  fc.assert(
    fc.property(fc.array(frameArb(2 * max), { maxLength: 20 }), (frames) => {
      const decoder = new SerialFrameDecoder(max);
      const decoded = decoder.push(concat(frames.map(encodeSerialFrame)));
      assert.deepEqual(decoded, frames.filter((f) => f.length <= max));
      assert.equal(decoder.framingErrors, frames.filter((f) => f.length > max).length);
    }),
    { numRuns: 1000 },
  );
});
