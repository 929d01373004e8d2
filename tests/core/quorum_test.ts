import assert from "node:assert/strict";
import { computeQuorum } from "../../core/quorum/quorum.ts";

const three = { a: 1, b: 1, c: 1 };

Deno.test("a majority of three nodes is quorate, a minority is not", () => {
  assert.deepEqual(computeQuorum({ members: ["a", "b"], votes: three }), {
    quorate: true,
    votes: 2,
    expected: 3,
    needed: 2,
  });
  assert.deepEqual(computeQuorum({ members: ["c"], votes: three }), {
    quorate: false,
    votes: 1,
    expected: 3,
    needed: 2,
  });
  assert.equal(computeQuorum({ members: ["a", "b", "c"], votes: three }).quorate, true);
});

Deno.test("half of four is not quorate; three of four is", () => {
  const four = { a: 1, b: 1, c: 1, d: 1 };
  const half = computeQuorum({ members: ["a", "b"], votes: four });
  assert.equal(half.quorate, false);
  assert.equal(half.needed, 3);
  assert.equal(computeQuorum({ members: ["c", "d"], votes: four }).quorate, false);
  assert.equal(computeQuorum({ members: ["a", "b", "d"], votes: four }).quorate, true);
});

Deno.test("votes are weighted", () => {
  const votes = { a: 3, b: 1, c: 1 };
  const heavy = computeQuorum({ members: ["a"], votes });
  assert.deepEqual(heavy, { quorate: true, votes: 3, expected: 5, needed: 3 });
  assert.equal(computeQuorum({ members: ["b", "c"], votes }).quorate, false);
});

Deno.test("a node with zero votes adds nothing", () => {
  const votes = { a: 1, b: 1, witness: 0 };
  const q = computeQuorum({ members: ["a", "witness"], votes });
  assert.equal(q.votes, 1);
  assert.equal(q.expected, 2);
  assert.equal(q.quorate, false);
});

Deno.test("a member without configured votes counts one", () => {
  const q = computeQuorum({ members: ["a", "stranger"], votes: three });
  assert.equal(q.votes, 2);
  assert.equal(q.quorate, true);
});

Deno.test("expectedVotes overrides the configured sum", () => {
  const low = computeQuorum({ members: ["a"], votes: three, expectedVotes: 1 });
  assert.deepEqual(low, { quorate: true, votes: 1, expected: 1, needed: 1 });
  const high = computeQuorum({ members: ["a", "b", "c"], votes: three, expectedVotes: 7 });
  assert.deepEqual(high, { quorate: false, votes: 3, expected: 7, needed: 4 });
  const two = computeQuorum({ members: ["a"], votes: three, expectedVotes: 2 });
  assert.equal(two.needed, 2);
  assert.equal(two.quorate, false);
});

Deno.test("expected votes never drop below one, so an empty partition is not quorate", () => {
  const q = computeQuorum({ members: [], votes: {} });
  assert.deepEqual(q, { quorate: false, votes: 0, expected: 1, needed: 1 });
  assert.equal(computeQuorum({ members: [], votes: three, expectedVotes: 0 }).expected, 1);
});
