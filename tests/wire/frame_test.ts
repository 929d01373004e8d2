import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import fc from "fast-check";
import type { AuthKey, Keyring } from "../../core/wire/authkeys.ts";
import {
  decodeFrame,
  type DecodeResult,
  type DropReason,
  encodeFrame,
  type Frame,
  MAX_FRAME_BYTES,
} from "../../core/wire/frame.ts";

const ALGORITHMS = ["sha256", "sha1", "md5"] as const;
const DIGEST_LENGTH = { sha256: 32, sha1: 20, md5: 16 } as const;

function key(id: number, algorithm: AuthKey["algorithm"], secret = `secret-${id}`): AuthKey {
  return { id, algorithm, secret };
}

function ring(...keys: AuthKey[]): Keyring {
  return { active: keys[0], keys: new Map(keys.map((k) => [k.id, k])) };
}

const FRAME: Frame = {
  from: "node-a",
  incarnation: 3,
  seq: 42,
  body: { type: "heartbeat", links: ["eth0", "eth1"], load: 0.25, ok: true, none: null },
};

function assertDropped(result: DecodeResult, reason: DropReason): void {
  assert.deepEqual(result, { ok: false, reason });
}

/** Build a correctly signed frame around arbitrary JSON bytes (bypassing encodeFrame checks). */
function signRaw(json: Uint8Array, k: AuthKey): Uint8Array {
  const bytes = new Uint8Array(37 + json.length);
  bytes.set(new TextEncoder().encode("VGL1"), 0);
  bytes[4] = k.id;
  bytes.set(json, 37);
  const mac = createHmac(k.algorithm, k.secret).update(bytes.subarray(0, 5)).update(json)
    .digest();
  bytes.set(mac, 5);
  return bytes;
}

function signJson(value: unknown, k: AuthKey): Uint8Array {
  return signRaw(new TextEncoder().encode(JSON.stringify(value)), k);
}

Deno.test("encode/decode round trip for each algorithm", () => {
  for (const algorithm of ALGORITHMS) {
    const k = key(9, algorithm);
    const bytes = encodeFrame(FRAME, k);
    assert.deepEqual(decodeFrame(bytes, ring(k)), { ok: true, frame: FRAME }, algorithm);
  }
});

Deno.test("frame layout: magic, key id, zero-padded HMAC over magic+keyid+json", () => {
  for (const algorithm of ALGORITHMS) {
    const k = key(200, algorithm);
    const bytes = encodeFrame(FRAME, k);
    assert.equal(new TextDecoder().decode(bytes.subarray(0, 4)), "VGL1");
    assert.equal(bytes[4], 200);
    const json = bytes.subarray(37);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(json)), FRAME);
    const mac = createHmac(algorithm, k.secret)
      .update(new Uint8Array([...bytes.subarray(0, 5), ...json]))
      .digest();
    const n = DIGEST_LENGTH[algorithm];
    assert.deepEqual([...bytes.subarray(5, 5 + n)], [...mac], algorithm);
    assert.ok(bytes.subarray(5 + n, 37).every((b) => b === 0), `${algorithm} padding is zero`);
  }
});

Deno.test("decode accepts any key of the keyring, not only the active one", () => {
  const old = key(1, "md5");
  const current = key(2, "sha256");
  const bytes = encodeFrame(FRAME, old);
  assert.deepEqual(decodeFrame(bytes, ring(current, old)), { ok: true, frame: FRAME });
});

Deno.test("wrong secret or missing key id", () => {
  const bytes = encodeFrame(FRAME, key(1, "sha256", "right"));
  assertDropped(decodeFrame(bytes, ring(key(1, "sha256", "wrong"))), "bad-digest");
  assertDropped(decodeFrame(bytes, ring(key(1, "sha1", "right"))), "bad-digest");
  assertDropped(decodeFrame(bytes, ring(key(2, "sha256", "right"))), "unknown-key");
});

Deno.test("flipped bits: digest, padding, body, key id, magic", () => {
  for (const algorithm of ALGORITHMS) {
    // Keys 1 and 3 share a secret: a key id flip 1 -> 3 must still fail (key id is signed).
    const k1 = key(1, algorithm, "shared");
    const k3 = key(3, algorithm, "shared");
    const bytes = encodeFrame(FRAME, k1);
    const flip = (index: number, bit: number) => {
      const copy = bytes.slice();
      copy[index] ^= 1 << bit;
      return decodeFrame(copy, ring(k1, k3));
    };
    assertDropped(flip(5, 0), "bad-digest");
    assertDropped(flip(5 + DIGEST_LENGTH[algorithm] - 1, 7), "bad-digest");
    assertDropped(flip(36, 3), "bad-digest"); // last padding byte (or last sha256 byte)
    assertDropped(flip(37, 0), "bad-digest"); // first JSON byte
    assertDropped(flip(bytes.length - 1, 5), "bad-digest");
    assertDropped(flip(4, 1), "bad-digest"); // key id 1 -> 3, a known key
    assertDropped(flip(4, 2), "unknown-key"); // key id 1 -> 5, unknown
    assertDropped(flip(0, 0), "bad-magic");
    assertDropped(flip(3, 6), "bad-magic");
  }
});

Deno.test("truncated and oversized input", () => {
  const k = key(1, "sha256");
  const bytes = encodeFrame(FRAME, k);
  for (const n of [0, 1, 4, 5, 36, 37]) {
    assertDropped(decodeFrame(bytes.subarray(0, n), ring(k)), "too-short");
  }
  for (const n of [38, 50, bytes.length - 1]) {
    assertDropped(decodeFrame(bytes.subarray(0, n), ring(k)), "bad-digest");
  }
  assertDropped(decodeFrame(new Uint8Array(MAX_FRAME_BYTES + 1), ring(k)), "too-large");
  const extended = new Uint8Array(bytes.length + 1);
  extended.set(bytes);
  assertDropped(decodeFrame(extended, ring(k)), "bad-digest");
});

Deno.test("signed but malformed JSON is bad-json", () => {
  const k = key(4, "sha1");
  const enc = new TextEncoder();
  assertDropped(decodeFrame(signRaw(enc.encode("{"), k), ring(k)), "bad-json");
  assertDropped(decodeFrame(signRaw(enc.encode("{\"from\":'a'}"), k), ring(k)), "bad-json");
  assertDropped(decodeFrame(signRaw(new Uint8Array([0xff, 0xfe, 0x7b]), k), ring(k)), "bad-json");
  // Invalid UTF-8 inside a JSON string must not be silently replaced with U+FFFD.
  const invalidUtf8 = new Uint8Array([...enc.encode('{"from":"'), 0xc3, ...enc.encode('"}')]);
  assertDropped(decodeFrame(signRaw(invalidUtf8, k), ring(k)), "bad-json");
  const deep = enc.encode("[".repeat(MAX_FRAME_BYTES - 40));
  assertDropped(decodeFrame(signRaw(deep, k), ring(k)), "bad-json");
});

Deno.test("signed JSON with an invalid header is bad-header", () => {
  const k = key(4, "md5");
  const bad: unknown[] = [
    null,
    [],
    "text",
    42,
    {},
    { ...FRAME, from: "" },
    { ...FRAME, from: "x".repeat(65) },
    { ...FRAME, from: 7 },
    { ...FRAME, incarnation: 0 },
    { ...FRAME, incarnation: -1 },
    { ...FRAME, incarnation: 1.5 },
    { ...FRAME, incarnation: "3" },
    { ...FRAME, seq: 0 },
    { ...FRAME, seq: 2 ** 53 },
    { ...FRAME, seq: null },
    { from: "a", incarnation: 1 },
  ];
  for (const value of bad) {
    assertDropped(decodeFrame(signJson(value, k), ring(k)), "bad-header");
  }
});

Deno.test("header edge values are accepted; unknown header fields are dropped", () => {
  const k = key(4, "sha256");
  const edge: Frame = {
    from: "n".repeat(64),
    incarnation: Number.MAX_SAFE_INTEGER,
    seq: 1,
    body: "é ✓ 𝄞",
  };
  assert.deepEqual(decodeFrame(encodeFrame(edge, k), ring(k)), { ok: true, frame: edge });
  const extra = decodeFrame(signJson({ ...FRAME, extra: 1 }, k), ring(k));
  assert.deepEqual(extra, { ok: true, frame: FRAME });
  const bare: Frame = { from: "a", incarnation: 1, seq: 1, body: undefined };
  assert.deepEqual(decodeFrame(encodeFrame(bare, k), ring(k)), { ok: true, frame: bare });
  const noBody = decodeFrame(signJson({ from: "a", incarnation: 1, seq: 1 }, k), ring(k));
  assert.deepEqual(noBody, {
    ok: true,
    frame: { from: "a", incarnation: 1, seq: 1, body: undefined },
  });
});

Deno.test("encodeFrame enforces MAX_FRAME_BYTES exactly", () => {
  const k = key(1, "sha256");
  const base = encodeFrame({ ...FRAME, body: "" }, k).length;
  const fits = { ...FRAME, body: "x".repeat(MAX_FRAME_BYTES - base) };
  const bytes = encodeFrame(fits, k);
  assert.equal(bytes.length, MAX_FRAME_BYTES);
  assert.deepEqual(decodeFrame(bytes, ring(k)), { ok: true, frame: fits });
  assert.throws(
    () => encodeFrame({ ...FRAME, body: "x".repeat(MAX_FRAME_BYTES - base + 1) }, k),
    /exceeds 60000/,
  );
});

Deno.test("encodeFrame refuses headers the receiver would drop, and bad key ids", () => {
  const k = key(1, "sha256");
  for (
    const frame of [
      { ...FRAME, from: "" },
      { ...FRAME, from: "x".repeat(65) },
      { ...FRAME, seq: 0 },
      { ...FRAME, incarnation: 2.5 },
      { ...FRAME, seq: 2 ** 53 },
    ]
  ) {
    assert.throws(() => encodeFrame(frame, k), /invalid frame header/);
  }
  for (const id of [-1, 256, 1.5]) {
    assert.throws(() => encodeFrame(FRAME, { ...k, id }), /key id/);
  }
});

const KEYS = ALGORITHMS.map((a, i) => key(i + 1, a, `prop-secret-${a}`));
const KEYRING = ring(...KEYS);

const frameArb: fc.Arbitrary<Frame> = fc.record({
  from: fc.string({ unit: "binary", minLength: 1, maxLength: 32 }),
  incarnation: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  body: fc.jsonValue({ maxDepth: 3 }),
});

/** A mutation of a byte string; may occasionally leave it unchanged. */
const mutationArb = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant("set" as const), at: fc.nat(), value: fc.nat(255) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.nat(),
    data: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({
    kind: fc.constant("delete" as const),
    at: fc.nat(),
    n: fc.integer({ min: 1, max: 8 }),
  }),
  fc.record({ kind: fc.constant("swap" as const), at: fc.nat(), other: fc.nat() }),
);

type Mutation = typeof mutationArb extends fc.Arbitrary<infer T> ? T : never;

function mutate(bytes: Uint8Array, m: Mutation): Uint8Array {
  const at = m.at % bytes.length;
  const out = bytes.slice();
  switch (m.kind) {
    case "flip":
      out[at] ^= 1 << m.bit;
      return out;
    case "set":
      out[at] = m.value;
      return out;
    case "truncate":
      return out.subarray(0, at);
    case "insert":
      return new Uint8Array([...out.subarray(0, at), ...m.data, ...out.subarray(at)]);
    case "delete":
      return new Uint8Array([...out.subarray(0, at), ...out.subarray(at + m.n)]);
    case "swap": {
      const other = m.other % bytes.length;
      [out[at], out[other]] = [out[other], out[at]];
      return out;
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

Deno.test("property: decodeFrame never throws and rejects random bytes", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const result = decodeFrame(bytes, KEYRING);
      assert.equal(result.ok, false);
    }),
    { numRuns: 10_000 },
  );
  // Random bytes behind a valid magic and key id must get as far as the digest check.
  fc.assert(
    fc.property(
      fc.constantFrom(...KEYS.map((k) => k.id)),
      fc.uint8Array({ maxLength: 300 }),
      (id, tail) => {
        const bytes = new Uint8Array([0x56, 0x47, 0x4c, 0x31, id, ...tail]);
        const result = decodeFrame(bytes, KEYRING);
        assert.ok(!result.ok);
        assert.equal(result.reason, tail.length <= 32 ? "too-short" : "bad-digest");
      },
    ),
    { numRuns: 10_000 },
  );
});

Deno.test("property: mutated frames are never accepted, intact ones always are", () => {
  fc.assert(
    fc.property(
      frameArb,
      fc.constantFrom(...KEYS),
      fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
      (frame, k, mutations) => {
        const original = encodeFrame(frame, k);
        let bytes = original;
        for (const m of mutations) bytes = bytes.length === 0 ? bytes : mutate(bytes, m);
        const result = decodeFrame(bytes, KEYRING);
        if (sameBytes(bytes, original)) {
          assert.ok(result.ok, "unchanged frame must decode");
          assert.equal(JSON.stringify(result.frame), JSON.stringify(frame));
        } else {
          assert.equal(result.ok, false, "mutated frame must be dropped");
        }
      },
    ),
    { numRuns: 10_000 },
  );
});

Deno.test("property: signed arbitrary payloads never throw and only valid headers pass", () => {
  const k = KEYS[0];
  const payload = fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.jsonValue().map((v) => new TextEncoder().encode(JSON.stringify(v) ?? "")),
    fc.tuple(frameArb, mutationArb).map(([frame, m]) => {
      const json = new TextEncoder().encode(JSON.stringify(frame));
      return json.length === 0 ? json : mutate(json, m);
    }),
  );
  fc.assert(
    fc.property(payload, (json) => {
      const result = decodeFrame(signRaw(json, k), KEYRING);
      if (json.length === 0) {
        assert.deepEqual(result, { ok: false, reason: "too-short" });
      } else if (result.ok) {
        const { from, incarnation, seq } = result.frame;
        assert.ok(from.length >= 1 && from.length <= 64);
        assert.ok(Number.isSafeInteger(incarnation) && incarnation >= 1);
        assert.ok(Number.isSafeInteger(seq) && seq >= 1);
      } else {
        assert.ok(result.reason === "bad-json" || result.reason === "bad-header");
      }
    }),
    { numRuns: 5_000 },
  );
});

Deno.test("the optional recipient travels in the header and is validated", () => {
  const k = key(7, "sha256");
  const addressed = decodeFrame(encodeFrame({ ...FRAME, to: "node-b" }, k), ring(k));
  assert.deepEqual(addressed, { ok: true, frame: { ...FRAME, to: "node-b" } });
  const everyone = decodeFrame(encodeFrame(FRAME, k), ring(k));
  assert.ok(everyone.ok && !("to" in everyone.frame));
  assert.throws(() => encodeFrame({ ...FRAME, to: "" }, k), /invalid frame header/);
  const raw = { from: "a", incarnation: 1, seq: 1, to: "x".repeat(65), body: null };
  assertDropped(decodeFrame(signJson(raw, k), ring(k)), "bad-header");
});

Deno.test("key id 0 signs (Heartbeat allows auth 0); a crc entry is never accepted", () => {
  const zero = key(0, "sha1");
  assert.ok(decodeFrame(encodeFrame(FRAME, zero), ring(zero)).ok);
  const crc = { id: 2, algorithm: "crc", secret: "" } as unknown as AuthKey;
  assert.throws(() => encodeFrame(FRAME, crc), /cannot sign frames/);
  const sha = key(2, "sha1", "");
  assertDropped(decodeFrame(encodeFrame(FRAME, sha), ring(crc)), "unknown-key");
});
