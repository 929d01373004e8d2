import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  assertSigningKey,
  AuthkeysError,
  checkAuthkeysMode,
  loadAuthkeys,
  parseAuthkeys,
} from "../../core/wire/authkeys.ts";

const FILE = "/etc/vigil/authkeys";

/** Assert that parsing `text` fails with an AuthkeysError at `FILE:line` matching `what`. */
function assertParseError(text: string, line: number, what: RegExp): void {
  assert.throws(() => parseAuthkeys(text, FILE), (e: unknown) => {
    assert.ok(e instanceof AuthkeysError, `expected AuthkeysError, got ${e}`);
    assert.ok(
      e.message.startsWith(`${FILE}:${line}: `),
      `message should start with ${FILE}:${line}: but was: ${e.message}`,
    );
    assert.match(e.message, what);
    return true;
  });
}

Deno.test("parseAuthkeys: comments, blank lines, several keys, active key", () => {
  const ring = parseAuthkeys(
    [
      "# Vigil authkeys",
      "",
      "   # indented comment",
      "auth 2",
      "1 md5 old-secret",
      "2\tsha256   new-secret  ",
      "7 SHA1 mixed-case-algo",
      "",
    ].join("\n"),
    FILE,
  );
  assert.deepEqual(ring.active, { id: 2, algorithm: "sha256", secret: "new-secret" });
  assert.equal(ring.keys.size, 3);
  assert.deepEqual(ring.keys.get(1), { id: 1, algorithm: "md5", secret: "old-secret" });
  assert.deepEqual(ring.keys.get(7), { id: 7, algorithm: "sha1", secret: "mixed-case-algo" });
  assert.equal(ring.active, ring.keys.get(2));
});

Deno.test("parseAuthkeys: CRLF line endings and auth after the keys", () => {
  const ring = parseAuthkeys("255 sha1 s3cret\r\nauth 255\r\n", FILE);
  assert.deepEqual(ring.active, { id: 255, algorithm: "sha1", secret: "s3cret" });
});

Deno.test("parseAuthkeys: unknown algorithm names file:line", () => {
  assertParseError("auth 1\n1 sha512 secret\n", 2, /unknown algorithm "sha512"/);
});

Deno.test("parseAuthkeys: the key is the first token; the rest of the line is ignored", () => {
  // Changed behaviour: the secret used to be the rest of the line; Heartbeat reads one %s token.
  const ring = parseAuthkeys("auth 1\n1 sha1 somesecret trailing words # and a comment\n", FILE);
  assert.deepEqual(ring.active, { id: 1, algorithm: "sha1", secret: "somesecret" });
});

Deno.test("parseAuthkeys: crc takes no key and parses with an empty secret", () => {
  // Changed behaviour: crc lines used to be refused outright.
  const ring = parseAuthkeys("auth 0\n0 crc\n3 CRC   \n", FILE);
  assert.deepEqual(ring.active, { id: 0, algorithm: "crc", secret: "" });
  assert.deepEqual(ring.keys.get(3), { id: 3, algorithm: "crc", secret: "" });
});

Deno.test("parseAuthkeys: a key on a crc line is an error naming file:line", () => {
  assertParseError("auth 1\n\n1 crc anything\n", 3, /key 1 uses crc, which takes no key/);
  assertParseError("auth 1\n1 crc # comment\n", 2, /crc, which takes no key/);
});

Deno.test("assertSigningKey: refuses an active crc key, accepts HMAC keys", () => {
  const crc = parseAuthkeys("auth 2\n1 sha1 s\n2 crc\n", FILE);
  assert.throws(
    () => assertSigningKey(crc, FILE),
    (e: unknown) =>
      e instanceof AuthkeysError && e.message.startsWith(`${FILE}: auth 2 selects a crc key`) &&
      e.message.includes("crc offers no authentication; Vigil frames need sha256, sha1 or md5"),
  );
  for (const algo of ["sha256", "sha1", "md5"]) {
    // A crc entry elsewhere in the file does not matter; only the signing key does.
    assertSigningKey(parseAuthkeys(`auth 1\n1 ${algo} s\n2 crc\n`, FILE), FILE);
  }
});

Deno.test("parseAuthkeys: missing auth line", () => {
  assertParseError("# no auth\n1 sha1 secret\n", 2, /missing "auth N" line/);
  assertParseError("", 1, /missing "auth N" line/);
});

Deno.test("parseAuthkeys: auth naming an undefined key points at the auth line", () => {
  assertParseError("# c\nauth 3\n1 sha1 secret\n2 sha1 other\n", 2, /key 3, which is not defined/);
});

Deno.test("parseAuthkeys: duplicate key id", () => {
  assertParseError("auth 1\n1 sha1 a\n2 md5 b\n1 sha256 c\n", 4, /duplicate key id 1/);
});

Deno.test("parseAuthkeys: missing secret or algorithm", () => {
  assertParseError("auth 1\n1 sha256\n", 2, /key 1 has no secret/);
  assertParseError("auth 1\n1 sha256   \t \n", 2, /key 1 has no secret/);
  assertParseError("auth 1\n1\n", 2, /key 1 has no algorithm/);
});

Deno.test("parseAuthkeys: key id must be an integer 0..255", () => {
  for (const bad of ["256", "1.5", "-1", "+1", "1e2", "99999999999999999999"]) {
    assertParseError(`auth 1\n1 sha1 ok\n${bad} sha1 secret\n`, 3, /not an integer 0\.\.255/);
  }
  assertParseError("auth 256\n1 sha1 ok\n", 1, /key id "256" is not an integer 0\.\.255/);
  assertParseError("auth x\n1 sha1 ok\n", 1, /key id "x" is not an integer 0\.\.255/);
});

Deno.test("parseAuthkeys: key id 0 is legal, as in Heartbeat", () => {
  // Changed behaviour: 0 used to be refused.
  const ring = parseAuthkeys("auth 0\n0 md5 zero\n", FILE);
  assert.deepEqual(ring.active, { id: 0, algorithm: "md5", secret: "zero" });
});

Deno.test("parseAuthkeys: malformed auth lines and unrecognised lines", () => {
  assertParseError("auth\n1 sha1 ok\n", 1, /expected "auth N"/);
  assertParseError("auth 1 2\n1 sha1 ok\n", 1, /expected "auth N"/);
  assertParseError("auth 1\n1 sha1 ok\nauth 1\n", 3, /second "auth" line \(first at line 1\)/);
  assertParseError("auth 1\nkey 1 sha1 ok\n", 2, /unrecognised line/);
});

Deno.test("checkAuthkeysMode: owner-only modes pass", () => {
  for (const mode of [0o100600, 0o100400, 0o100700, 0o600, 0o000]) {
    checkAuthkeysMode(mode, "/x/authkeys");
  }
});

Deno.test("checkAuthkeysMode: group or other bits are refused with a chmod hint", () => {
  assert.throws(
    () => checkAuthkeysMode(0o100644, "/x/authkeys"),
    (e: unknown) =>
      e instanceof AuthkeysError &&
      e.message ===
        "authkeys file /x/authkeys is readable by group or others (mode 0644); " +
          "run: chmod 600 /x/authkeys",
  );
  for (const mode of [0o640, 0o604, 0o610, 0o601, 0o620, 0o602, 0o100660]) {
    assert.throws(
      () => checkAuthkeysMode(mode, "/x/authkeys"),
      (e: unknown) => e instanceof AuthkeysError && e.message.includes("chmod 600 /x/authkeys"),
      `mode ${mode.toString(8)}`,
    );
  }
});

Deno.test("loadAuthkeys: reads a 0600 file, refuses 0644 and missing files", () => {
  const dir = mkdtempSync(join(tmpdir(), "vigil-authkeys-"));
  try {
    const file = join(dir, "authkeys");
    writeFileSync(file, "auth 1\n1 sha256 topsecret\n");
    chmodSync(file, 0o600);
    const ring = loadAuthkeys(file);
    assert.deepEqual(ring.active, { id: 1, algorithm: "sha256", secret: "topsecret" });

    chmodSync(file, 0o644);
    assert.throws(
      () => loadAuthkeys(file),
      (e: unknown) =>
        e instanceof AuthkeysError && e.message.includes("(mode 0644)") &&
        e.message.includes(`run: chmod 600 ${file}`),
    );

    const broken = join(dir, "broken");
    writeFileSync(broken, "auth 1\n1 crc somekey\n");
    chmodSync(broken, 0o600);
    assert.throws(
      () => loadAuthkeys(broken),
      (e: unknown) => e instanceof AuthkeysError && e.message.startsWith(`${broken}:2: `),
    );

    assert.throws(
      () => loadAuthkeys(join(dir, "missing")),
      (e: unknown) => e instanceof AuthkeysError && e.message.includes("missing"),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
