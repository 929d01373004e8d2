import assert from "node:assert/strict";
import fc from "fast-check";
import { groupOf, partitionNodes } from "../../core/membership/partition.ts";

/** A symmetric adjacency relation from a list of edges "a-b". */
function edges(...pairs: string[]): (a: string, b: string) => boolean {
  const set = new Set<string>();
  for (const p of pairs) {
    const [a, b] = p.split("-");
    set.add(`${a}-${b}`);
    set.add(`${b}-${a}`);
  }
  return (a, b) => set.has(`${a}-${b}`);
}

/** All orderings of a small list. */
function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((x, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [x, ...rest])
  );
}

Deno.test("a full mesh is one group", () => {
  const adjacent = edges("a-b", "a-c", "a-d", "b-c", "b-d", "c-d");
  assert.deepEqual(partitionNodes(["d", "b", "a", "c"], adjacent), [["a", "b", "c", "d"]]);
});

Deno.test("a single node is its own group; no nodes give no groups", () => {
  assert.deepEqual(partitionNodes(["a"], () => false), [["a"]]);
  assert.deepEqual(partitionNodes([], () => true), []);
});

Deno.test("an isolated node forms a group of its own", () => {
  const adjacent = edges("a-b", "a-c", "b-c");
  assert.deepEqual(partitionNodes(["a", "b", "c", "d"], adjacent), [["a", "b", "c"], ["d"]]);
});

Deno.test("nobody connected: every node alone, groups sorted", () => {
  assert.deepEqual(partitionNodes(["c", "a", "b"], () => false), [["a"], ["b"], ["c"]]);
});

Deno.test("duplicate names are counted once", () => {
  const adjacent = edges("a-b");
  assert.deepEqual(partitionNodes(["a", "b", "a", "b"], adjacent), [["a", "b"]]);
});

Deno.test("partial partition: c goes with exactly one of a and b, whatever the input order", () => {
  // a-b broken, c reaches both.
  const adjacent = edges("a-c", "b-c");
  const results = permutations(["a", "b", "c"]).map((order) => partitionNodes(order, adjacent));
  for (const r of results) {
    assert.deepEqual(r, results[0]);
    assert.equal(r.length, 2);
    const withC = groupOf(r, "c");
    assert.equal(withC.length, 2, "c joins exactly one of a and b");
    assert.ok(!(withC.includes("a") && withC.includes("b")));
  }
  // With no hints the greater name (b) is dropped.
  assert.deepEqual(results[0], [["a", "c"], ["b"]]);
});

Deno.test("tie-break 1: the node seen by fewer others is dropped", () => {
  const adjacent = edges("a-c", "b-c");
  const seen: Record<string, number> = { a: 1, b: 2, c: 2 };
  const groups = partitionNodes(["a", "b", "c"], adjacent, { seenBy: (n) => seen[n] });
  assert.deepEqual(groups, [["a"], ["b", "c"]]);
});

Deno.test("seenBy receives the candidate set", () => {
  const adjacent = edges("a-c", "b-c");
  const calls: string[][] = [];
  partitionNodes(["a", "b", "c"], adjacent, {
    seenBy: (_n, among) => {
      calls.push([...among]);
      return 0;
    },
  });
  assert.ok(calls.length > 0);
  for (const among of calls) assert.deepEqual(among, ["a", "b", "c"]);
});

Deno.test("tie-break 2: with equal seenBy, the older generation is dropped", () => {
  const adjacent = edges("a-c", "b-c");
  const gen: Record<string, number> = { a: 3, b: 7, c: 7 };
  assert.deepEqual(
    partitionNodes(["a", "b", "c"], adjacent, { seenBy: () => 2, generation: (n) => gen[n] }),
    [["a"], ["b", "c"]],
  );
  gen.a = 9;
  assert.deepEqual(
    partitionNodes(["a", "b", "c"], adjacent, { seenBy: () => 2, generation: (n) => gen[n] }),
    [["a", "c"], ["b"]],
  );
});

Deno.test("seenBy outranks generation", () => {
  const adjacent = edges("a-c", "b-c");
  const seen: Record<string, number> = { a: 2, b: 1, c: 2 };
  const gen: Record<string, number> = { a: 1, b: 100, c: 1 };
  assert.deepEqual(
    partitionNodes(["a", "b", "c"], adjacent, {
      seenBy: (n) => seen[n],
      generation: (n) => gen[n],
    }),
    [["a", "c"], ["b"]],
  );
});

Deno.test("tie-break 3: with equal seenBy and generation, the greater name is dropped", () => {
  const adjacent = edges("x-m", "y-m");
  assert.deepEqual(
    partitionNodes(["y", "x", "m"], adjacent, { seenBy: () => 1, generation: () => 4 }),
    [["m", "x"], ["y"]],
  );
});

Deno.test("the node with the most broken pairs goes first, before tie-breaks", () => {
  // d reaches only a; a, b, c reach each other. d has 2 broken pairs, b and c have 1.
  const adjacent = edges("a-b", "a-c", "b-c", "a-d");
  // Even though d is "seen by" the most and has the newest generation, it is dropped.
  const groups = partitionNodes(["a", "b", "c", "d"], adjacent, {
    seenBy: (n) => (n === "d" ? 10 : 0),
    generation: (n) => (n === "d" ? 10 : 0),
  });
  assert.deepEqual(groups, [["a", "b", "c"], ["d"]]);
});

Deno.test("groupOf finds a node's group and throws for a stranger", () => {
  const groups = [["a", "b"], ["c"]];
  assert.deepEqual(groupOf(groups, "b"), ["a", "b"]);
  assert.deepEqual(groupOf(groups, "c"), ["c"]);
  assert.throws(() => groupOf(groups, "z"), /z is in no group/);
});

const NAMES = ["n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8"];

/** n nodes (1..8), a random symmetric adjacency matrix, and a random ordering of the nodes. */
const scenario = fc.integer({ min: 1, max: 8 }).chain((n) => {
  const names = NAMES.slice(0, n);
  return fc.record({
    names: fc.constant(names),
    matrix: fc.array(fc.boolean(), { minLength: n * n, maxLength: n * n }),
    order: fc.shuffledSubarray(names, { minLength: n, maxLength: n }),
  });
});

Deno.test("property: groups are disjoint cliques covering every node, independent of order", () => {
  fc.assert(
    fc.property(scenario, ({ names, matrix, order }) => {
      const index = new Map(names.map((n, i) => [n, i]));
      const n = names.length;
      const adjacent = (a: string, b: string) => {
        const i = index.get(a)!;
        const j = index.get(b)!;
        return i < j ? matrix[i * n + j] : matrix[j * n + i];
      };
      const groups = partitionNodes(names, adjacent);
      // Cover every node exactly once.
      const flat = groups.flat();
      assert.deepEqual([...flat].sort(), [...names].sort());
      assert.equal(new Set(flat).size, flat.length);
      // Every group is a non-empty clique, sorted.
      for (const g of groups) {
        assert.ok(g.length > 0);
        assert.deepEqual(g, [...g].sort());
        for (const a of g) for (const b of g) if (a !== b) assert.ok(adjacent(a, b), `${a}-${b}`);
      }
      // Independent of the order the nodes are given in.
      assert.deepEqual(partitionNodes(order, adjacent), groups);
      // And the same with tie-break hints that depend on the node only.
      const hints = {
        seenBy: (x: string) => index.get(x)! % 3,
        generation: (x: string) => x.length,
      };
      assert.deepEqual(
        partitionNodes(order, adjacent, hints),
        partitionNodes(names, adjacent, hints),
      );
    }),
    { numRuns: 500 },
  );
});
