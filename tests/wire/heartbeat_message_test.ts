import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { type AuthKey, type Keyring, parseAuthkeys } from "../../core/wire/authkeys.ts";
import {
  HB_AUTH_REASONS,
  hbCrc,
  hbDigest,
  hbSigner,
  verifyHbInner,
  verifyHbOuter,
  verifyHbPacket,
} from "../../core/wire/heartbeat_auth.ts";
import {
  encodeHbNetstring,
  encodeHbNetstringBody,
  encodeHbText,
  HB_MAX_DEPTH,
  HB_MAX_FIELDS,
  HB_MAX_PACKET_BYTES,
  HB_PARSE_REASONS,
  hbBinary,
  type HbField,
  hbFieldText,
  type HbPacket,
  hbString,
  hbTextNoHead,
  parseHbPacket,
  signHbNetstring,
  signHbText,
} from "../../core/wire/heartbeat_message.ts";

// ------------------------------------------------------------------ the captured vectors

/** One vector of tests/fixtures/heartbeat/test-vectors.txt. */
interface Vector {
  number: number;
  tags: string;
  payload: Uint8Array;
  /** Fields as listed: [name, type, value bytes]. */
  fields: Array<[string, number, Uint8Array]>;
  /** Outer trailer as sent and as recomputed with the right key, or null for text. */
  outer: { sent: string; recomputed: string; match: boolean } | null;
  innerText: Uint8Array | null;
  inner: { sent: string; recomputed: string; match: boolean } | null;
}

/** Decode a Python bytes literal body (the part between b' and '). */
function pyBytes(literal: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < literal.length; i++) {
    const c = literal[i];
    if (c !== "\\") {
      out.push(c.charCodeAt(0));
      continue;
    }
    const e = literal[++i];
    if (e === "x") {
      out.push(parseInt(literal.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      const simple: Record<string, number> = { n: 10, r: 13, t: 9, "\\": 92, "'": 39, '"': 34 };
      assert.ok(e in simple, `unknown escape \\${e}`);
      out.push(simple[e]);
    }
  }
  return new Uint8Array(out);
}

function loadVectors(): Vector[] {
  const text = readFileSync(
    new URL("../fixtures/heartbeat/test-vectors.txt", import.meta.url),
    "utf8",
  );
  const blocks = text.split(/^={20,}$/m).slice(1);
  return blocks.map((block) => {
    const head = /^VECTOR (\d+):.*\[(.*)\]$/m.exec(block);
    assert.ok(head, `vector header in ${block.slice(0, 80)}`);
    const hex = /^payload_hex=([0-9a-f]+)$/m.exec(block);
    assert.ok(hex);
    const fieldLines = block.split("decoded fields (wire order):\n")[1].split(/\n(?! {2})/)[0];
    const fields: Vector["fields"] = fieldLines.split("\n").map((line) => {
      const bin = /^ {2}\(1\)(\S+)=<\d+ bytes binary> hex=([0-9a-f]*)$/.exec(line);
      if (bin) return [bin[1], 1, new Uint8Array(Buffer.from(bin[2], "hex"))];
      const str = /^ {2}([^=]+)=(.*)$/.exec(line);
      assert.ok(str, `field line ${line}`);
      return [str[1], 0, new TextEncoder().encode(str[2])];
    });
    const digestLine = (label: string) => {
      const m = new RegExp(
        `^${label}: '(\\d+ [0-9a-f]+)'\\s+-> recomputed ([0-9a-f]+)\\s+(MATCH|MISMATCH)`,
        "m",
      )
        .exec(block);
      return m ? { sent: m[1], recomputed: m[2], match: m[3] === "MATCH" } : null;
    };
    const innerText = /^inner TEXT covered by auth field: b'(.*)'$/m.exec(block);
    return {
      number: Number(head[1]),
      tags: head[2],
      payload: new Uint8Array(Buffer.from(hex[1], "hex")),
      fields,
      outer: digestLine("outer auth netstring"),
      innerText: innerText ? pyBytes(innerText[1]) : null,
      inner: digestLine("inner auth field"),
    };
  });
}

const VECTORS = loadVectors();
const KEYRING = parseAuthkeys("auth 1\n1 sha1 somesecret\n", "lab-authkeys");

function parsed(payload: Uint8Array): HbPacket {
  const r = parseHbPacket(payload);
  assert.ok(r.ok, `parse failed: ${!r.ok && r.reason}`);
  return r.packet;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

function ring(active: AuthKey, ...others: AuthKey[]): Keyring {
  return { active, keys: new Map([active, ...others].map((k) => [k.id, k])) };
}

Deno.test("vectors: the fixture holds all 20 captured packets", () => {
  assert.equal(VECTORS.length, 20);
  assert.deepEqual(VECTORS.map((v) => v.number), Array.from({ length: 20 }, (_, i) => i + 1));
  assert.equal(VECTORS.filter((v) => v.outer === null).length, 1, "one text-format vector");
});

Deno.test("vectors: every packet decodes to the listed fields in wire order", () => {
  for (const v of VECTORS) {
    const p = parsed(v.payload);
    assert.equal(p.format, v.outer === null ? "text" : "netstring", `vector ${v.number}`);
    assert.deepEqual(
      p.fields.map((f) => [f.name, f.type, hex(f.value)]),
      v.fields.map(([n, t, val]) => [n, t, hex(val)]),
      `vector ${v.number}`,
    );
  }
});

Deno.test("vectors: both digests are reproduced, and verification matches the capture", () => {
  for (const v of VECTORS) {
    const p = parsed(v.payload);
    const where = `vector ${v.number} [${v.tags}]`;
    if (v.outer !== null) {
      assert.ok(p.signed && p.outerAuth, where);
      // The outer digest covers the exact bytes through "%%%\n".
      const end = Buffer.from(v.payload).indexOf("%%%\n") + 4;
      assert.equal(hex(p.signed), hex(v.payload.subarray(0, end)), where);
      assert.equal(`${p.outerAuth.keyId} ${p.outerAuth.digest}`, v.outer.sent, where);
      assert.equal(hbDigest("sha1", "somesecret", p.signed), v.outer.recomputed, where);
      assert.deepEqual(
        verifyHbOuter(p, KEYRING),
        v.outer.match ? { ok: true, keyId: 1 } : { ok: false, reason: "bad-digest" },
        where,
      );
    }
    if (v.inner !== null) {
      assert.ok(v.innerText, where);
      assert.equal(hex(hbTextNoHead(p.fields)!), hex(v.innerText), where);
      assert.equal(hbDigest("sha1", "somesecret", v.innerText), v.inner.recomputed, where);
      assert.deepEqual(
        verifyHbInner(p, KEYRING),
        v.inner.match ? { ok: true, keyId: 1 } : { ok: false, reason: "bad-digest" },
        where,
      );
    } else {
      assert.deepEqual(verifyHbInner(p, KEYRING), { ok: false, reason: "no-auth" }, where);
    }
    // What a heartbeat receiver checks: outer for netstring, inner for text.
    const expectOk = (v.outer ?? v.inner)!.match;
    assert.equal(verifyHbPacket(p, KEYRING).ok, expectOk, where);
  }
});

Deno.test("vectors: re-encoding the decoded fields reproduces the exact bytes", () => {
  for (const v of VECTORS) {
    const p = parsed(v.payload);
    const again = p.format === "netstring"
      ? encodeHbNetstring(p.fields, p.outerAuth)
      : encodeHbText(p.fields);
    assert.equal(hex(again), hex(v.payload), `vector ${v.number}`);
  }
});

Deno.test("vectors: signing the fields afresh reproduces every correctly signed packet", () => {
  const signer = hbSigner(KEYRING.active);
  let reproduced = 0;
  for (const v of VECTORS) {
    if (!(v.outer ?? v.inner)!.match) continue;
    const p = parsed(v.payload);
    const bare = p.fields.filter((f) => f.name !== "auth");
    const bytes = p.format === "netstring"
      ? signHbNetstring(bare, signer, { innerAuth: v.inner !== null })
      : signHbText(bare, signer);
    assert.equal(hex(bytes), hex(v.payload), `vector ${v.number}`);
    reproduced++;
  }
  assert.equal(reproduced, 19);
});

// ------------------------------------------------------------------ text form

Deno.test("classic text: round trip with awkward binary bytes, verified by the inner auth", () => {
  const uuid = new Uint8Array([
    0x0a,
    0x3d,
    0x2c,
    0x00,
    0xff,
    0x25,
    0x25,
    0x25,
    0x0a,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
  ]);
  const fields = [
    hbString("t", "status"),
    hbString("st", "active"),
    hbString("info", "a=b, c=(d)"),
    hbBinary("srcuuid", uuid),
    hbString("empty", ""),
  ];
  const bytes = signHbText(fields, hbSigner(KEYRING.active));
  assert.ok(new TextDecoder().decode(bytes).startsWith(">>>\nt=status\nst=active\n"));
  assert.ok(new TextDecoder().decode(bytes).includes("\n(1)srcuuid=Cj0sAP8lJSUKAQIDBAUGBw==\n"));
  const p = parsed(bytes);
  assert.equal(p.format, "text");
  assert.equal(p.outerAuth, undefined);
  assert.deepEqual(
    p.fields.slice(0, 5).map((f) => [f.name, f.type, hex(f.value)]),
    fields.map((f) => [f.name, f.type, hex(f.value)]),
  );
  assert.equal(p.fields[5].name, "auth");
  assert.deepEqual(verifyHbPacket(p, KEYRING), { ok: true, keyId: 1 });
  assert.equal(hex(encodeHbText(p.fields)), hex(bytes));
  // One trailing NUL (C string length) is tolerated.
  assert.deepEqual(parsed(new Uint8Array([...bytes, 0])).fields, p.fields);
  // Changing a value breaks the inner digest.
  const tampered = parsed(Buffer.from(new TextDecoder().decode(bytes).replace("active", "activf")));
  assert.deepEqual(verifyHbPacket(tampered, KEYRING), { ok: false, reason: "bad-digest" });
});

Deno.test("classic text: malformed lines and base64 are refused with a reason", () => {
  const cases: Array<[string, string]> = [
    [">>>\nt=status\n", "truncated"],
    [">>>\nt=status\nnoequals\n<<<\n", "bad-field"],
    [">>>\n=x\n<<<\n", "bad-field"],
    [">>>\n(0)t=x\n<<<\n", "bad-field"],
    [">>>\n(2)t=x\n<<<\n", "bad-field"],
    [">>>\n(1)u=abc\n<<<\n", "bad-base64"],
    [">>>\n(1)u=YW==\n<<<\n", "bad-base64"], // non-canonical padding bits
    [">>>\nt=a<<<\n", "bad-field"],
    ["<<<\n", "bad-magic"],
  ];
  for (const [text, reason] of cases) {
    assert.deepEqual(parseHbPacket(Buffer.from(text, "latin1")), { ok: false, reason }, text);
  }
  assert.deepEqual(parsed(Buffer.from(">>>\n<<<\n")).fields, []);
  assert.deepEqual(verifyHbPacket(parsed(Buffer.from(">>>\nt=x\n<<<\n")), KEYRING), {
    ok: false,
    reason: "no-auth",
  });
});

// ------------------------------------------------------------------ netstring parser details

function ns(s: string): string {
  return `${Buffer.byteLength(s, "latin1")}:${s},`;
}

Deno.test("netstring: structural errors map to their reasons", () => {
  const good = `###\n${ns("(0)t=x")}%%%\n`;
  assert.ok(parseHbPacket(Buffer.from(good)).ok, "unsigned body parses");
  const cases: Array<[string, string]> = [
    ["", "bad-magic"],
    ["##", "bad-magic"],
    ["###\n", "truncated"],
    ["###\n6:(0)t=x", "truncated"],
    ["###\n20:(0)t=x,%%%\n", "truncated"], // length runs past the end
    ["###\n9:(0)t=x,%%%\n", "bad-netstring"], // length ends inside the next bytes
    ["###\n06:(0)t=x,%%%\n", "bad-netstring"], // leading zero
    ["###\n5:(0)t=x,%%%\n", "bad-netstring"], // no comma where the length ends
    ["###\nx:(0)t=x,%%%\n", "bad-netstring"],
    ["###\n:(0)t=x,%%%\n", "bad-netstring"],
    ["###\n12345678:(0)t=x,%%%\n", "bad-netstring"],
    [`###\n${ns("t=x")}%%%\n`, "bad-field"],
    [`###\n${ns("(7)t=x")}%%%\n`, "bad-field"],
    [`###\n${ns("(0)t")}%%%\n`, "bad-field"],
    [`###\n${ns("(0)=x")}%%%\n`, "bad-field"],
    [`###\n${ns("(0)a b=x")}%%%\n`, "bad-field"],
    [`###\n${ns("(2)s=not a message")}%%%\n`, "bad-magic"],
    [`${good}5:1 ab,`, "bad-trailer"],
    [`${good}4:1 ab,x`, "bad-trailer"],
    [`${good}4:1 AB,`, "bad-trailer"],
    [`${good}4:x ab,`, "bad-trailer"],
    [`${good}4:1 ab`, "bad-trailer"],
  ];
  for (const [text, reason] of cases) {
    assert.deepEqual(parseHbPacket(Buffer.from(text, "latin1")), { ok: false, reason }, text);
  }
});

/** A message nested `depth` structs deep. */
function nested(depth: number): HbField[] {
  let fields: HbField[] = [hbString("leaf", "v")];
  for (let i = 0; i < depth; i++) {
    fields = [hbString("level", String(i)), {
      name: "child",
      type: 2,
      value: encodeHbNetstringBody(fields),
    }];
  }
  return fields;
}

Deno.test("netstring: struct fields nest up to the bound; deeper is too-deep", () => {
  const ok = parsed(encodeHbNetstring(nested(HB_MAX_DEPTH)));
  let level: readonly HbField[] | undefined = ok.fields;
  let depth = 0;
  while (level?.[1]?.nested) {
    level = level[1].nested;
    depth++;
  }
  assert.equal(depth, HB_MAX_DEPTH);
  assert.equal(hbFieldText(level!, "leaf"), "v");
  assert.deepEqual(parseHbPacket(encodeHbNetstring(nested(HB_MAX_DEPTH + 1))), {
    ok: false,
    reason: "too-deep",
  });
  // A struct value with bytes after its "%%%\n" is not a nested message.
  const body = encodeHbNetstringBody([hbString("a", "b")]);
  const extra = encodeHbNetstring([{ name: "s", type: 2, value: new Uint8Array([...body, 0x78]) }]);
  assert.deepEqual(parseHbPacket(extra), { ok: false, reason: "bad-field" });
});

Deno.test("netstring: field count and packet size are bounded", () => {
  const many = Array.from({ length: HB_MAX_FIELDS }, (_, i) => hbString("f", String(i)));
  assert.equal(parsed(encodeHbNetstring(many)).fields.length, HB_MAX_FIELDS);
  const tooMany = Buffer.from(
    `###\n${many.map((f) => ns(`(0)f=${new TextDecoder().decode(f.value)}`)).join("")}${
      ns("(0)g=1")
    }%%%\n`,
  );
  assert.deepEqual(parseHbPacket(tooMany), { ok: false, reason: "too-many-fields" });
  assert.throws(() => encodeHbNetstring([...many, hbString("g", "1")]), /more than 1024/);
  const big = new Uint8Array(HB_MAX_PACKET_BYTES + 1);
  big.set(Buffer.from("###\n"));
  assert.deepEqual(parseHbPacket(big), { ok: false, reason: "too-large" });
  assert.throws(
    () => encodeHbNetstring([{ name: "x", type: 1, value: new Uint8Array(HB_MAX_PACKET_BYTES) }]),
    /exceeds/,
  );
});

Deno.test("encode: invalid names and text-unsafe values are refused", () => {
  assert.throws(() => hbString("a=b", "x"), /field name/);
  assert.throws(() => hbString("", "x"), /field name/);
  assert.throws(() => encodeHbText([hbString("a", "x\ny")]), /newline/);
  assert.throws(
    () => encodeHbText([{ name: "s", type: 2, value: new Uint8Array() }]),
    /no classic/,
  );
  assert.equal(hbTextNoHead([{ name: "s", type: 2, value: new Uint8Array() }]), undefined);
});

// ------------------------------------------------------------------ digests

/** Independent bitwise CRC-32 (MSB first, poly 0x04C11DB7, init 0, final NOT), no table. */
function crcBitwise(data: Uint8Array): string {
  let crc = 0n;
  for (const byte of data) {
    crc ^= BigInt(byte) << 24n;
    for (let k = 0; k < 8; k++) {
      crc = (crc & 0x80000000n) !== 0n ? ((crc << 1n) ^ 0x04c11db7n) : crc << 1n;
      crc &= 0xffffffffn;
    }
  }
  return ((~crc) & 0xffffffffn).toString(16);
}

Deno.test("crc: known answers (verified with hbwire.hb_crc) and a bitwise cross-check", () => {
  const known: Array<[string, string]> = [
    ["", "ffffffff"],
    ["a", "579b24df"],
    ["123456789", "765e7680"], // the CRC-32/CKSUM check value
    ["###\n%%%\n", "2cb3ca6c"],
    ["The quick brown fox jumps over the lazy dog", "36b78081"],
    ["x40", "6a039b"], // %lx: no zero padding, six digits
  ];
  for (const [text, digest] of known) {
    assert.equal(hbCrc(Buffer.from(text)), digest, text);
    assert.equal(crcBitwise(Buffer.from(text)), digest, text);
  }
  const v1 = parsed(VECTORS[0].payload);
  assert.equal(hbCrc(v1.signed!), "f73d3bef");
  assert.equal(hbCrc(hbTextNoHead(v1.fields)!), "e2599deb");
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (data) => hbCrc(data) === crcBitwise(data)),
    { numRuns: 500 },
  );
});

Deno.test("md5 and sha1: RFC 2202 answers and node:crypto cross-checks", () => {
  const jefe = Buffer.from("what do ya want for nothing?");
  assert.equal(hbDigest("md5", "Jefe", jefe), "750c783e6ab0b503eaa86e310a5db738");
  assert.equal(hbDigest("sha1", "Jefe", jefe), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  const v1 = parsed(VECTORS[0].payload);
  // Verified with hbwire.hb_digest("md5", "somesecret", signed).
  assert.equal(hbDigest("md5", "somesecret", v1.signed!), "a45f8a18705de32d9ea4713bbaafab96");
  assert.equal(
    hbDigest("md5", "somesecret", v1.signed!),
    createHmac("md5", "somesecret").update(v1.signed!).digest("hex"),
  );
  // Keys longer than a block are hashed first (RFC 2104), as sha1.c does.
  const longKey = "k".repeat(100);
  assert.equal(
    hbDigest("sha1", longKey, jefe),
    createHmac("sha1", longKey).update(jefe).digest("hex"),
  );
});

Deno.test("signing with md5 and crc keys verifies; a crc digest can be short", () => {
  const fields = [hbString("t", "status"), hbString("src", "x40")];
  for (const text of ["auth 3\n3 md5 k3\n", "auth 0\n0 crc\n"]) {
    const keys = parseAuthkeys(text, "k");
    const bytes = signHbNetstring(fields, hbSigner(keys.active));
    const p = parsed(bytes);
    assert.deepEqual(verifyHbPacket(p, keys), { ok: true, keyId: keys.active.id }, text);
    assert.deepEqual(verifyHbInner(p, keys), { ok: true, keyId: keys.active.id }, text);
    assert.equal(
      p.outerAuth!.digest.length,
      keys.active.algorithm === "md5" ? 32 : hbCrc(p.signed!).length,
    );
  }
  assert.throws(() => hbSigner({ id: 1, algorithm: "sha256", secret: "s" }), /only knows sha1/);
  assert.throws(() => hbSigner({ id: 16, algorithm: "sha1", secret: "s" }), /0\.\.15/);
});

Deno.test("verification quirk: method from the packet's authnum, key from the active entry", () => {
  const a: AuthKey = { id: 1, algorithm: "sha1", secret: "alpha" };
  const b: AuthKey = { id: 2, algorithm: "sha1", secret: "bravo" };
  const m: AuthKey = { id: 3, algorithm: "md5", secret: "mike" };
  const receiver = ring(a, b, m);
  const fields = [hbString("t", "status")];
  // Signed properly with entry 2's own key: heartbeat checks it with the active key, fails.
  assert.deepEqual(verifyHbPacket(parsed(signHbNetstring(fields, hbSigner(b))), receiver), {
    ok: false,
    reason: "bad-digest",
  });
  // Authnum 2 but computed with the active secret: accepted.
  const forged = signHbNetstring(fields, hbSigner({ ...b, secret: "alpha" }));
  assert.deepEqual(verifyHbPacket(parsed(forged), receiver), { ok: true, keyId: 2 });
  // Authnum 3 selects md5, still with the active secret.
  const md5 = signHbNetstring(fields, hbSigner({ ...m, secret: "alpha" }));
  assert.deepEqual(verifyHbPacket(parsed(md5), receiver), { ok: true, keyId: 3 });
  // Unknown authnum, and a sha256 entry heartbeat cannot have.
  const unknown = signHbNetstring(fields, hbSigner({ id: 9, algorithm: "sha1", secret: "alpha" }));
  assert.deepEqual(verifyHbPacket(parsed(unknown), receiver), { ok: false, reason: "unknown-key" });
  const withSha256 = ring(a, { id: 9, algorithm: "sha256", secret: "alpha" });
  assert.deepEqual(verifyHbPacket(parsed(unknown), withSha256), {
    ok: false,
    reason: "unknown-key",
  });
  // No trailer at all.
  assert.deepEqual(verifyHbPacket(parsed(encodeHbNetstring(fields)), receiver), {
    ok: false,
    reason: "no-auth",
  });
});

// ------------------------------------------------------------------ property test

const NETSTRING_VECTORS = VECTORS.map((v) => v.payload);
const CORPUS: Uint8Array[] = [
  ...NETSTRING_VECTORS,
  encodeHbNetstring(nested(3), { keyId: 1, digest: "abc" }),
  signHbText(
    [hbString("t", "status"), hbBinary("u", new Uint8Array([10, 61, 44]))],
    hbSigner(KEYRING.active),
  ),
];
const ORIGINALS = new Set(CORPUS.map(hex));

type Mutation =
  | { kind: "flip"; at: number; xor: number }
  | { kind: "truncate"; at: number }
  | { kind: "splice"; other: number; at: number; otherAt: number }
  | { kind: "length"; nth: number; value: number }
  | { kind: "insert"; at: number; bytes: Uint8Array }
  | { kind: "delete"; at: number; count: number }
  | { kind: "value"; nth: number; bytes: Uint8Array };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant("flip" as const),
    at: fc.nat(),
    xor: fc.integer({ min: 1, max: 255 }),
  }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant("splice" as const),
    other: fc.nat(),
    at: fc.nat(),
    otherAt: fc.nat(),
  }),
  fc.record({
    kind: fc.constant("length" as const),
    nth: fc.nat(),
    value: fc.oneof(fc.nat({ max: 400 }), fc.nat()),
  }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({
    kind: fc.constant("delete" as const),
    at: fc.nat(),
    count: fc.integer({ min: 1, max: 8 }),
  }),
);

function mutate(input: Uint8Array, m: Mutation): Uint8Array {
  const at = input.length === 0
    ? 0
    : m.kind === "length"
    ? 0
    : (m as { at: number }).at % (input.length + 1);
  switch (m.kind) {
    case "flip": {
      const out = input.slice();
      if (out.length > 0) out[at % out.length] ^= m.xor;
      return out;
    }
    case "truncate":
      return input.slice(0, at);
    case "splice": {
      const other = CORPUS[m.other % CORPUS.length];
      return new Uint8Array([
        ...input.subarray(0, at),
        ...other.subarray(m.otherAt % (other.length + 1)),
      ]);
    }
    case "length": {
      // Replace the nth run of digits followed by ':' (a length prefix) with another number.
      const text = Buffer.from(input).toString("latin1");
      const runs = [...text.matchAll(/[0-9]+:/g)];
      if (runs.length === 0) return input;
      const r = runs[m.nth % runs.length];
      const out = text.slice(0, r.index) + `${m.value}:` + text.slice(r.index! + r[0].length);
      return new Uint8Array(Buffer.from(out, "latin1"));
    }
    case "insert":
      return new Uint8Array([...input.subarray(0, at), ...m.bytes, ...input.subarray(at)]);
    case "delete":
      return new Uint8Array([...input.subarray(0, at), ...input.subarray(at + m.count)]);
    case "value": {
      const r = parseHbPacket(input);
      if (!r.ok || r.packet.format !== "netstring" || r.packet.fields.length === 0) return input;
      const fields = [...r.packet.fields];
      const i = m.nth % fields.length;
      fields[i] = {
        name: fields[i].name,
        type: fields[i].type === 2 ? 1 : fields[i].type,
        value: m.bytes,
      };
      return encodeHbNetstring(fields, r.packet.outerAuth);
    }
  }
}

/** Outcomes seen by the property test, so it can show that every branch was exercised. */
const seen = new Map<string, number>();

function checkOne(payload: Uint8Array): void {
  const r = parseHbPacket(payload);
  if (!r.ok) {
    assert.ok(HB_PARSE_REASONS.includes(r.reason), `reason ${r.reason}`);
    seen.set(r.reason, (seen.get(r.reason) ?? 0) + 1);
    return;
  }
  const p = r.packet;
  const auth = verifyHbPacket(p, KEYRING);
  if (!auth.ok) assert.ok(HB_AUTH_REASONS.includes(auth.reason), `auth reason ${auth.reason}`);
  // With SHA-1 no mutation can pass unless it rebuilt an original packet byte for byte.
  if (auth.ok) assert.ok(ORIGINALS.has(hex(payload)), "a mutated packet verified");
  const outcome = auth.ok ? "verified" : `parsed/${auth.reason}`;
  seen.set(outcome, (seen.get(outcome) ?? 0) + 1);
  // Any accepted packet re-encodes to its own bytes (the parser takes only canonical input).
  if (p.format === "netstring") {
    assert.equal(hex(encodeHbNetstring(p.fields, p.outerAuth)), hex(payload));
  } else {
    const body = payload[payload.length - 1] === 0 ? payload.subarray(0, -1) : payload;
    assert.equal(hex(encodeHbText(p.fields)), hex(body));
  }
}

Deno.test("property: 10,000+ mutated and random packets never throw and re-encode exactly", () => {
  let runs = 0;
  fc.assert(
    fc.property(
      fc.nat(),
      fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
      (pick, mutations) => {
        let bytes = CORPUS[pick % CORPUS.length];
        for (const m of mutations) bytes = mutate(bytes, m);
        runs++;
        checkOne(bytes);
      },
    ),
    { numRuns: 12_000 },
  );
  fc.assert(
    fc.property(
      fc.constantFrom("###\n", ">>>\n", ""),
      fc.uint8Array({ maxLength: 200 }),
      (prefix, tail) => {
        runs++;
        checkOne(new Uint8Array([...Buffer.from(prefix), ...tail]));
      },
    ),
    { numRuns: 3_000 },
  );
  assert.ok(runs >= 15_000, `runs ${runs}`);
  // Mutants must reach the interesting paths, not only the first parse error.
  const parsedOk = [...seen].filter(([k]) => k.startsWith("parsed/")).reduce(
    (a, [, n]) => a + n,
    0,
  );
  assert.ok(parsedOk >= 300, `only ${parsedOk} mutants parsed: ${JSON.stringify([...seen])}`);
  for (const reason of ["truncated", "bad-netstring", "bad-field", "bad-trailer", "bad-magic"]) {
    assert.ok((seen.get(reason) ?? 0) > 0, `no mutant produced ${reason}`);
  }
  // The intact corpus is part of the same contract.
  for (const original of CORPUS) checkOne(original);
});
