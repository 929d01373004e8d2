import assert from "node:assert/strict";
import { electDc, Election } from "../../core/election/election.ts";

Deno.test("electDc prefers the highest priority", () => {
  assert.equal(electDc(["n1", "n2", "n3"], { n3: 10, n2: 5 }), "n3");
  assert.equal(electDc(["n1", "n2", "n3"], { n1: -1 }), "n2", "default priority is 0");
});

Deno.test("electDc breaks priority ties by the lowest name", () => {
  assert.equal(electDc(["n3", "n1", "n2"]), "n1");
  assert.equal(electDc(["n3", "n2", "n1"], { n2: 5, n3: 5 }), "n2");
  assert.equal(electDc(["beta", "alpha"]), "alpha");
});

Deno.test("electDc is independent of member order", () => {
  const priority = { b: 2, c: 2 };
  const orders = [["a", "b", "c"], ["c", "b", "a"], ["b", "a", "c"], ["c", "a", "b"]];
  for (const order of orders) assert.equal(electDc(order, priority), "b");
});

Deno.test("electDc refuses an empty membership", () => {
  assert.throws(() => electDc([]), /no members/);
});

Deno.test("Election tracks the DC and whether it changed", () => {
  const e = new Election("n2");
  assert.equal(e.dc, null);
  assert.equal(e.isDc, false);
  assert.deepEqual(e.update({ members: ["n1", "n2"], generation: 3 }, {}), {
    dc: "n1",
    changed: true,
  });
  assert.equal(e.generation, 3);
  assert.equal(e.isDc, false);
  // Same DC in a new membership: not a change.
  assert.deepEqual(e.update({ members: ["n1", "n2", "n3"], generation: 4 }, {}), {
    dc: "n1",
    changed: false,
  });
  assert.equal(e.generation, 4);
  // n1 leaves: n2 becomes DC.
  assert.deepEqual(e.update({ members: ["n2", "n3"], generation: 5 }, {}), {
    dc: "n2",
    changed: true,
  });
  assert.equal(e.isDc, true);
});

Deno.test("a null membership (in transition) means no DC", () => {
  const e = new Election("n1");
  e.update({ members: ["n1", "n2"], generation: 1 }, {});
  assert.equal(e.isDc, true);
  assert.deepEqual(e.update(null, {}), { dc: null, changed: true });
  assert.equal(e.dc, null);
  assert.equal(e.isDc, false);
  assert.equal(e.generation, -1);
  assert.deepEqual(e.update(null, {}), { dc: null, changed: false });
});

Deno.test("priority decides the DC in Election too", () => {
  const e = new Election("n3");
  const result = e.update({ members: ["n1", "n2", "n3"], generation: 1 }, { n3: 1 });
  assert.deepEqual(result, { dc: "n3", changed: true });
  assert.equal(e.isDc, true);
});
