import assert from "node:assert/strict";
import fc from "fast-check";
import { computeQuorum, type QuorumDecision, type QuorumInput } from "../../core/quorum/quorum.ts";

const three = { a: 1, b: 1, c: 1 };
const four = { a: 1, b: 1, c: 1, d: 1 };
const two = { a: 1, b: 1 };

/** One row of a table test: an input and the whole expected decision. */
interface Row {
  name: string;
  input: QuorumInput;
  want: QuorumDecision;
}

function runTable(rows: Row[]): void {
  for (const row of rows) {
    assert.deepEqual(computeQuorum(row.input), row.want, row.name);
  }
}

Deno.test("majority rule: a majority of three is quorate, a minority is not", () => {
  runTable([
    {
      name: "2 of 3",
      input: { members: ["a", "b"], votes: three },
      want: {
        quorate: true,
        votes: 2,
        expected: 3,
        needed: 2,
        deviceVotes: 0,
        reason: "2 of 3 votes (needed 2)",
      },
    },
    {
      name: "1 of 3",
      input: { members: ["c"], votes: three },
      want: {
        quorate: false,
        votes: 1,
        expected: 3,
        needed: 2,
        deviceVotes: 0,
        reason: "1 of 3 votes (needed 2)",
      },
    },
    {
      name: "3 of 3",
      input: { members: ["a", "b", "c"], votes: three },
      want: {
        quorate: true,
        votes: 3,
        expected: 3,
        needed: 2,
        deviceVotes: 0,
        reason: "3 of 3 votes (needed 2)",
      },
    },
  ]);
});

Deno.test("half of four is not quorate; three of four is", () => {
  const half = computeQuorum({ members: ["a", "b"], votes: four });
  assert.equal(half.quorate, false);
  assert.equal(half.needed, 3);
  assert.equal(half.reason, "2 of 4 votes (needed 3)");
  assert.equal(computeQuorum({ members: ["c", "d"], votes: four }).quorate, false);
  assert.equal(computeQuorum({ members: ["a", "b", "d"], votes: four }).quorate, true);
});

Deno.test("votes are weighted", () => {
  const votes = { a: 3, b: 1, c: 1 };
  const heavy = computeQuorum({ members: ["a"], votes });
  assert.equal(heavy.quorate, true);
  assert.equal(heavy.votes, 3);
  assert.equal(heavy.expected, 5);
  assert.equal(heavy.needed, 3);
  assert.equal(computeQuorum({ members: ["b", "c"], votes }).quorate, false);
});

Deno.test("a node with zero votes adds nothing, to votes or to expected", () => {
  const votes = { a: 1, b: 1, witness: 0 };
  const q = computeQuorum({ members: ["a", "witness"], votes });
  assert.equal(q.votes, 1);
  assert.equal(q.expected, 2);
  assert.equal(q.quorate, false);
  assert.equal(q.reason, "1 of 2 votes (needed 2)");
  assert.equal(computeQuorum({ members: ["a", "b"], votes }).quorate, true);
});

Deno.test("a member without configured votes counts one; a duplicate member counts once", () => {
  const q = computeQuorum({ members: ["a", "stranger"], votes: three });
  assert.equal(q.votes, 2);
  assert.equal(q.quorate, true);
  const dup = computeQuorum({ members: ["a", "a"], votes: three });
  assert.equal(dup.votes, 1);
  assert.equal(dup.quorate, false);
});

Deno.test("expectedVotes overrides the configured sum", () => {
  runTable([
    {
      name: "lower",
      input: { members: ["a"], votes: three, expectedVotes: 1 },
      want: {
        quorate: true,
        votes: 1,
        expected: 1,
        needed: 1,
        deviceVotes: 0,
        reason: "1 of 1 votes (needed 1)",
      },
    },
    {
      name: "higher",
      input: { members: ["a", "b", "c"], votes: three, expectedVotes: 7 },
      want: {
        quorate: false,
        votes: 3,
        expected: 7,
        needed: 4,
        deviceVotes: 0,
        reason: "3 of 7 votes (needed 4)",
      },
    },
  ]);
  const even = computeQuorum({ members: ["a"], votes: three, expectedVotes: 2 });
  assert.equal(even.needed, 2);
  assert.equal(even.quorate, false);
});

Deno.test("expected votes never drop below one, so an empty partition is not quorate", () => {
  const q = computeQuorum({ members: [], votes: {} });
  assert.equal(q.quorate, false);
  assert.equal(q.expected, 1);
  assert.equal(q.needed, 1);
  assert.equal(computeQuorum({ members: [], votes: three, expectedVotes: 0 }).expected, 1);
});

Deno.test("qdisk breaks a 2-2 split of four nodes: the side holding the disk is quorate", () => {
  const base = { votes: four, expectedDeviceVotes: 1, deviceName: "qdisk" };
  runTable([
    {
      name: "side with the disk",
      input: { ...base, members: ["a", "b"], deviceVotes: 1 },
      want: {
        quorate: true,
        votes: 3,
        expected: 5,
        needed: 3,
        deviceVotes: 1,
        reason: "2 of 5 votes + 1 from qdisk (needed 3)",
      },
    },
    {
      name: "side without the disk",
      input: { ...base, members: ["c", "d"], deviceVotes: 0 },
      want: {
        quorate: false,
        votes: 2,
        expected: 5,
        needed: 3,
        deviceVotes: 0,
        reason: "2 of 5 votes + 0 from qdisk (needed 3)",
      },
    },
    {
      name: "whole cluster without the disk still quorate",
      input: { ...base, members: ["a", "b", "c", "d"], deviceVotes: 0 },
      want: {
        quorate: true,
        votes: 4,
        expected: 5,
        needed: 3,
        deviceVotes: 0,
        reason: "4 of 5 votes + 0 from qdisk (needed 3)",
      },
    },
  ]);
});

Deno.test("a device with several votes lets one node of three survive (last man standing)", () => {
  // qdiskd's classic setup: device votes = nodes - 1.
  const q = computeQuorum({
    members: ["a"],
    votes: three,
    deviceVotes: 2,
    expectedDeviceVotes: 2,
    deviceName: "qdisk",
  });
  assert.equal(q.quorate, true);
  assert.equal(q.reason, "1 of 5 votes + 2 from qdisk (needed 3)");
  const without = computeQuorum({ members: ["b", "c"], votes: three, expectedDeviceVotes: 2 });
  assert.equal(without.quorate, false);
  assert.equal(without.reason, "2 of 5 votes + 0 from quorum device (needed 3)");
});

Deno.test("expectedVotes overrides node votes only; device votes are added to it", () => {
  const q = computeQuorum({
    members: ["a"],
    votes: three,
    expectedVotes: 2,
    deviceVotes: 1,
    expectedDeviceVotes: 1,
  });
  assert.equal(q.expected, 3);
  assert.equal(q.needed, 2);
  assert.equal(q.votes, 2);
  assert.equal(q.quorate, true);
});

Deno.test("two_node: one node alone is quorate once both have been seen", () => {
  runTable([
    {
      name: "alone, seen both",
      input: { members: ["a"], votes: two, twoNode: true, seenAllSinceBoot: true },
      want: {
        quorate: true,
        votes: 1,
        expected: 2,
        needed: 1,
        deviceVotes: 0,
        reason: "two_node: 1 of 2 votes is enough",
      },
    },
    {
      name: "both, seen both",
      input: { members: ["a", "b"], votes: two, twoNode: true, seenAllSinceBoot: true },
      want: {
        quorate: true,
        votes: 2,
        expected: 2,
        needed: 1,
        deviceVotes: 0,
        reason: "two_node: 2 of 2 votes is enough",
      },
    },
    {
      name: "empty partition",
      input: { members: [], votes: two, twoNode: true, seenAllSinceBoot: true },
      want: {
        quorate: false,
        votes: 0,
        expected: 2,
        needed: 1,
        deviceVotes: 0,
        reason: "two_node: 0 of 2 votes (needed 1)",
      },
    },
  ]);
});

Deno.test("two_node implies wait_for_all: blocked until both nodes were seen since boot", () => {
  const alone = computeQuorum({ members: ["a"], votes: two, twoNode: true });
  assert.equal(alone.quorate, false);
  assert.equal(alone.needed, 1, "the arithmetic is still shown");
  assert.equal(alone.reason, "waiting for all nodes (wait_for_all): 1 of 2 votes (needed 1)");
  // Even with both present, the caller has to record the sighting first.
  const both = computeQuorum({
    members: ["a", "b"],
    votes: two,
    twoNode: true,
    seenAllSinceBoot: false,
  });
  assert.equal(both.quorate, false);
  assert.match(both.reason, /^waiting for all nodes \(wait_for_all\)/);
  // After the sighting, the peer may die and the survivor stays quorate.
  const after = computeQuorum({
    members: ["a"],
    votes: two,
    twoNode: true,
    seenAllSinceBoot: true,
  });
  assert.equal(after.quorate, true);
});

Deno.test("two_node with waitForAll explicitly false is quorate alone right after boot", () => {
  const q = computeQuorum({ members: ["b"], votes: two, twoNode: true, waitForAll: false });
  assert.equal(q.quorate, true);
  assert.equal(q.reason, "two_node: 1 of 2 votes is enough");
});

Deno.test("two_node is ignored, with a note, unless exactly two nodes of one vote, no device", () => {
  const cases: { input: QuorumInput; label: string }[] = [
    { label: "three nodes", input: { members: ["a"], votes: three, twoNode: true } },
    { label: "weighted", input: { members: ["b"], votes: { a: 2, b: 1 }, twoNode: true } },
    {
      label: "device",
      input: { members: ["a"], votes: two, twoNode: true, expectedDeviceVotes: 1 },
    },
    {
      label: "expected override",
      input: { members: ["a"], votes: two, twoNode: true, expectedVotes: 3 },
    },
  ];
  for (const { input, label } of cases) {
    const q = computeQuorum({ ...input, waitForAll: false });
    assert.equal(q.quorate, false, label);
    assert.ok(q.needed >= 2, label);
    assert.match(q.reason, /two_node ignored/, label);
  }
  // A zero-vote witness does not count as a third voting node.
  const witness = computeQuorum({
    members: ["a"],
    votes: { a: 1, b: 1, w: 0 },
    twoNode: true,
    seenAllSinceBoot: true,
  });
  assert.equal(witness.quorate, true);
});

Deno.test("wait_for_all without two_node: blocks until all seen, then majority rules", () => {
  const before = computeQuorum({ members: ["a", "b"], votes: three, waitForAll: true });
  assert.equal(before.quorate, false);
  assert.equal(before.reason, "waiting for all nodes (wait_for_all): 2 of 3 votes (needed 2)");
  const seen = { waitForAll: true, seenAllSinceBoot: true };
  assert.equal(computeQuorum({ members: ["a", "b"], votes: three, ...seen }).quorate, true);
  const minority = computeQuorum({ members: ["a"], votes: three, ...seen });
  assert.equal(minority.quorate, false);
  assert.equal(minority.reason, "1 of 3 votes (needed 2)");
});

Deno.test("invalid vote counts are rejected, naming the field", () => {
  assert.throws(
    () => computeQuorum({ members: [], votes: three, deviceVotes: 2, expectedDeviceVotes: 1 }),
    /deviceVotes \(2\) exceeds expectedDeviceVotes \(1\)/,
  );
  assert.throws(() => computeQuorum({ members: [], votes: three, deviceVotes: 1 }), /exceeds/);
  assert.throws(
    () => computeQuorum({ members: [], votes: three, expectedDeviceVotes: -1 }),
    /expectedDeviceVotes must be a non-negative integer/,
  );
  assert.throws(
    () => computeQuorum({ members: [], votes: { a: 1.5 } }),
    /votes\.a must be a non-negative integer/,
  );
});

Deno.test("property: two disjoint partitions are never both quorate (device to one at most)", () => {
  const cluster = fc.integer({ min: 1, max: 9 }).chain((n) =>
    fc.record({
      votes: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: n, maxLength: n }),
      // 0 = partition A, 1 = partition B, 2 = in neither (crashed).
      side: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: n, maxLength: n }),
      expectedDeviceVotes: fc.integer({ min: 0, max: 4 }),
      deviceFraction: fc.double({ min: 0, max: 1, noNaN: true }),
      deviceTo: fc.constantFrom("a", "b", "none"),
      waitForAll: fc.boolean(),
      seenA: fc.boolean(),
      seenB: fc.boolean(),
    })
  );
  fc.assert(
    fc.property(cluster, (c) => {
      const names = c.votes.map((_, i) => `n${i}`);
      const votes = Object.fromEntries(names.map((n, i) => [n, c.votes[i]]));
      const a = names.filter((_, i) => c.side[i] === 0);
      const b = names.filter((_, i) => c.side[i] === 1);
      const held = Math.floor(c.deviceFraction * c.expectedDeviceVotes);
      const common = {
        votes,
        expectedDeviceVotes: c.expectedDeviceVotes,
        waitForAll: c.waitForAll,
        twoNode: false,
      };
      const qa = computeQuorum({
        ...common,
        members: a,
        deviceVotes: c.deviceTo === "a" ? held : 0,
        seenAllSinceBoot: c.seenA,
      });
      const qb = computeQuorum({
        ...common,
        members: b,
        deviceVotes: c.deviceTo === "b" ? held : 0,
        seenAllSinceBoot: c.seenB,
      });
      assert.ok(
        !(qa.quorate && qb.quorate),
        `both quorate: A ${qa.reason} / B ${qb.reason}`,
      );
      // The explanation always carries the arithmetic.
      assert.match(qa.reason, /\d+ of \d+ votes/);
    }),
    { numRuns: 2000, seed: 20240601 },
  );
});

Deno.test("property (control): with two_node, both halves of a 1-1 split are quorate", () => {
  // Shows the property above is not vacuous: two_node deliberately gives up on it,
  // leaving safety to fencing.
  const a = computeQuorum({ members: ["a"], votes: two, twoNode: true, seenAllSinceBoot: true });
  const b = computeQuorum({ members: ["b"], votes: two, twoNode: true, seenAllSinceBoot: true });
  assert.equal(a.quorate && b.quorate, true);
});
