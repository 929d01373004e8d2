import assert from "node:assert/strict";
import {
  type Membership,
  MembershipCore,
  type MembershipReport,
  sameMembers,
} from "../../core/membership/membership.ts";

interface Cluster {
  cores: Map<string, MembershipCore>;
  /** Whether `a` hears `b` (need not be symmetric). */
  hears: (a: string, b: string) => boolean;
  ready: (n: string) => boolean;
  active: (n: string) => string[];
}

function cluster(names: string[], opts: Partial<Omit<Cluster, "cores">> = {}): Cluster {
  return {
    cores: new Map(names.map((n) => [n, new MembershipCore(n)])),
    hears: opts.hears ?? (() => true),
    ready: opts.ready ?? (() => true),
    active: opts.active ?? (() => []),
  };
}

/**
 * One round: every node updates from the reports all nodes published at the end
 * of the previous round (a node only uses reports of peers it hears).
 * Returns whether anything a node reports or agrees on changed (a changed view
 * counts: peers only react to it in the next round).
 */
function round(c: Cluster): boolean {
  const reports = new Map<string, MembershipReport>();
  for (const [n, core] of c.cores) reports.set(n, core.report());
  let changed = false;
  for (const [n, core] of c.cores) {
    const alive = [...c.cores.keys()].filter((p) => p !== n && c.hears(n, p));
    const change = core.update({ alive, reports, ready: c.ready(n), active: c.active(n) });
    if (change.proposalChanged || change.agreedChanged) changed = true;
    if (JSON.stringify(core.report()) !== JSON.stringify(reports.get(n))) changed = true;
  }
  return changed;
}

/** Runs rounds until nothing changes (at most 20); returns the rounds used. */
function settle(c: Cluster): number {
  for (let i = 1; i <= 20; i++) if (!round(c)) return i;
  throw new Error("membership did not settle within 20 rounds");
}

function agreed(c: Cluster, n: string): Membership | null {
  return c.cores.get(n)!.agreed;
}

Deno.test("a single node agrees on itself at once", () => {
  const m = new MembershipCore("n1");
  const change = m.update({ alive: [], reports: new Map(), ready: true, active: [] });
  assert.deepEqual(m.agreed?.members, ["n1"]);
  assert.equal(change.agreedChanged, true);
  assert.deepEqual(m.report().view, []);
  // Nothing changes on a second identical update.
  assert.deepEqual(m.update({ alive: [], reports: new Map(), ready: true, active: [] }), {
    proposalChanged: false,
    agreedChanged: false,
  });
});

// Regression: the first agreement once reused the seed generation (0, which also
// means "never agreed").
Deno.test({
  name: "a lone node's first agreed membership has a fresh generation (JSDoc example: 1)",
  fn() {
    const m = new MembershipCore("n1");
    m.update({ alive: [], reports: new Map(), ready: true, active: [] });
    assert.deepEqual(m.agreed, { members: ["n1"], generation: 1 });
    const restarted = new MembershipCore("n1", 5);
    restarted.update({ alive: [], reports: new Map(), ready: true, active: [] });
    assert.ok(restarted.agreed!.generation > 5);
  },
});

Deno.test("two nodes exchanging reports converge to the same membership and generation", () => {
  const c = cluster(["a", "b"]);
  const rounds = settle(c);
  assert.ok(rounds <= 5, `took ${rounds} rounds`);
  const a = agreed(c, "a");
  const b = agreed(c, "b");
  assert.deepEqual(a?.members, ["a", "b"]);
  assert.deepEqual(a, b);
  assert.ok(a!.generation > 0);
  assert.deepEqual(c.cores.get("a")!.report().view, ["b"]);
  assert.equal(c.cores.get("a")!.report().agreedGeneration, a!.generation);
});

Deno.test("five nodes in a full mesh converge to one membership", () => {
  const names = ["n1", "n2", "n3", "n4", "n5"];
  const c = cluster(names);
  settle(c);
  const first = agreed(c, "n1");
  assert.deepEqual(first?.members, names);
  for (const n of names) assert.deepEqual(agreed(c, n), first);
});

Deno.test("while proposals differ there is no agreed membership", () => {
  const c = cluster(["a", "b"]);
  settle(c);
  const before = agreed(c, "a")!;
  const cores = c.cores;
  // c appears: once a proposes [a, b, c], no membership is agreed until all match.
  cores.set("c", new MembershipCore("c"));
  for (let i = 0; i < 5 && cores.get("a")!.proposal.members.length < 3; i++) round(c);
  assert.equal(agreed(c, "a"), null, "a is in transition");
  assert.equal(agreed(c, "b"), null, "b is in transition");
  assert.deepEqual(cores.get("a")!.proposal.members, ["a", "b", "c"]);
  assert.ok(cores.get("a")!.proposal.generation > before.generation);
  settle(c);
  assert.deepEqual(agreed(c, "a")?.members, ["a", "b", "c"]);
  assert.deepEqual(agreed(c, "c"), agreed(c, "a"));
});

Deno.test("the generation increases on every change of members", () => {
  const links = new Set(["a-b", "a-c", "b-c"]);
  const hears = (x: string, y: string) => links.has([x, y].sort().join("-"));
  const c = cluster(["a", "b", "c"], { hears });
  const history = new Map<string, Membership[]>([["a", []], ["b", []], ["c", []]]);
  const record = () => {
    for (const [n, h] of history) {
      const m = agreed(c, n);
      const last = h.at(-1);
      if (
        m && (!last || !sameMembers(last.members, m.members) || last.generation !== m.generation)
      ) {
        h.push(m);
      }
    }
  };
  const settleRecording = () => {
    for (let i = 0; i < 20; i++) {
      const changed = round(c);
      record();
      if (!changed) return;
    }
    throw new Error("did not settle");
  };
  settleRecording(); // a, b, c together
  links.delete("a-c");
  links.delete("b-c"); // c cut off
  settleRecording();
  assert.deepEqual(agreed(c, "a")?.members, ["a", "b"]);
  assert.deepEqual(agreed(c, "c")?.members, ["c"]);
  links.add("a-c");
  links.add("b-c"); // healed
  settleRecording();
  assert.deepEqual(agreed(c, "a")?.members, ["a", "b", "c"]);
  links.delete("a-b"); // a and b cannot reach each other any more
  settleRecording();
  for (const [n, h] of history) {
    assert.ok(h.length >= 4, `${n} saw ${h.length} memberships`);
    for (let i = 1; i < h.length; i++) {
      assert.ok(
        h[i].generation > h[i - 1].generation,
        `${n}: generation ${h[i].generation} after ${h[i - 1].generation}`,
      );
    }
  }
  // Whoever ended up together agrees on the same generation.
  const groupA = agreed(c, "a")!;
  for (const m of groupA.members) assert.deepEqual(agreed(c, m), groupA);
});

Deno.test("a node that is not ready is left out of everyone's membership", () => {
  const c = cluster(["a", "b", "c"], { ready: (n) => n !== "c" });
  settle(c);
  assert.deepEqual(agreed(c, "a")?.members, ["a", "b"]);
  assert.deepEqual(agreed(c, "b"), agreed(c, "a"));
  assert.deepEqual(agreed(c, "c")?.members, ["c"], "an unready node joins nobody");
  assert.equal(c.cores.get("c")!.report().ready, false);
});

Deno.test("a node that becomes ready joins", () => {
  const ready = new Set(["a", "b"]);
  const c = cluster(["a", "b", "c"], { ready: (n) => ready.has(n) });
  settle(c);
  const before = agreed(c, "a")!;
  ready.add("c");
  settle(c);
  const after = agreed(c, "a")!;
  assert.deepEqual(after.members, ["a", "b", "c"]);
  assert.ok(after.generation > before.generation);
  for (const n of ["b", "c"]) assert.deepEqual(agreed(c, n), after);
});

Deno.test("two nodes holding the same resource are not merged", () => {
  const c = cluster(["a", "b"], { active: () => ["web"] });
  settle(c);
  assert.deepEqual(agreed(c, "a")?.members, ["a"]);
  assert.deepEqual(agreed(c, "b")?.members, ["b"]);
});

Deno.test("different resources do not conflict", () => {
  const c = cluster(["a", "b"], { active: (n) => (n === "a" ? ["web"] : ["db"]) });
  settle(c);
  assert.deepEqual(agreed(c, "a")?.members, ["a", "b"]);
  assert.deepEqual(agreed(c, "b"), agreed(c, "a"));
});

Deno.test("a conflicting third node joins only one side of the conflict", () => {
  const c = cluster(["a", "b", "c"], { active: (n) => (n === "c" ? [] : ["web"]) });
  settle(c);
  const ma = agreed(c, "a")!;
  const mb = agreed(c, "b")!;
  assert.ok(!ma.members.includes("b"), "a and b are never together");
  // Both with c is impossible; c is with exactly one of them.
  const mc = agreed(c, "c")!;
  assert.equal(mc.members.length, 2);
  assert.ok(mc.members.includes("a") !== mc.members.includes("b"));
  assert.deepEqual(mc.members.includes("a") ? ma : mb, mc);
});

Deno.test("nodes already together stay together when both hold the same resource", () => {
  const active = new Map<string, string[]>([["a", []], ["b", []]]);
  const c = cluster(["a", "b"], { active: (n) => active.get(n)! });
  settle(c);
  const together = agreed(c, "a")!;
  assert.deepEqual(together.members, ["a", "b"]);
  active.set("a", ["web"]);
  active.set("b", ["web"]);
  settle(c);
  assert.deepEqual(agreed(c, "a"), together, "unchanged, same generation");
  assert.deepEqual(agreed(c, "b"), together);
  assert.deepEqual(c.cores.get("a")!.report().active, ["web"]);
});

Deno.test("an asymmetric view (a hears b, b does not hear a) gives no common membership", () => {
  const c = cluster(["a", "b"], { hears: (x, y) => x === "a" && y === "b" });
  settle(c);
  assert.deepEqual(agreed(c, "a")?.members, ["a"]);
  assert.deepEqual(agreed(c, "b")?.members, ["b"]);
});

Deno.test("reports of peers that are not alive are ignored", () => {
  const a = new MembershipCore("a");
  const ghost: MembershipReport = {
    view: ["a"],
    proposal: { members: ["a", "ghost"], generation: 9 },
    agreedGeneration: 9,
    ready: true,
    active: [],
  };
  a.update({ alive: [], reports: new Map([["ghost", ghost]]), ready: true, active: [] });
  assert.deepEqual(a.agreed?.members, ["a"]);
  assert.deepEqual(a.report().view, []);
});

Deno.test("a new proposal takes a generation above every generation reported", () => {
  const a = new MembershipCore("a");
  const b: MembershipReport = {
    view: ["a"],
    proposal: { members: ["b"], generation: 41 },
    agreedGeneration: 40,
    ready: true,
    active: [],
  };
  const change = a.update({ alive: ["b"], reports: new Map([["b", b]]), ready: true, active: [] });
  assert.equal(change.proposalChanged, true);
  assert.deepEqual(a.proposal, { members: ["a", "b"], generation: 42 });
  assert.equal(a.agreed, null);
});

Deno.test("sameMembers ignores order", () => {
  assert.equal(sameMembers(["a", "b"], ["b", "a"]), true);
  assert.equal(sameMembers(["a", "b"], ["a"]), false);
  assert.equal(sameMembers(["a", "b"], ["a", "c"]), false);
  assert.equal(sameMembers([], []), true);
});
