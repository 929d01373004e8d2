import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import fc from "fast-check";
import { hmac, type HmacAlgorithm } from "../../core/wire/hmac.ts";

Deno.test("hmac equals createHmac for every algorithm, key length and split of the message", () => {
  const algorithm = fc.constantFrom<HmacAlgorithm>("sha256", "sha1", "md5");
  fc.assert(
    fc.property(
      algorithm,
      fc.string({ maxLength: 150 }), // keys longer than the 64-byte block are hashed first
      fc.uint8Array({ maxLength: 300 }),
      fc.nat(300),
      (alg, secret, message, cut) => {
        const key = { algorithm: alg, secret };
        const at = Math.min(cut, message.length);
        const expected = createHmac(alg, secret).update(message).digest();
        assert.deepEqual(hmac(key, message), expected);
        assert.deepEqual(hmac(key, message.subarray(0, at), message.subarray(at)), expected);
        // The saved pad states are reused, not consumed.
        assert.deepEqual(hmac(key, message), expected);
      },
    ),
    { numRuns: 2000 },
  );
});

Deno.test("hmac: RFC 4231 test case 2 (sha256)", () => {
  const mac = hmac(
    { algorithm: "sha256", secret: "Jefe" },
    new TextEncoder().encode("what do ya want for nothing?"),
  );
  assert.equal(
    mac.toString("hex"),
    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
  );
});
