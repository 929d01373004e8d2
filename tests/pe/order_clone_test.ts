import assert from "node:assert/strict";
import { instancesOn, loc, prim, run, where } from "./cib_builder.ts";
import type { GraphAction } from "../../core/pe/scheduler/graph.ts";

function action(actions: GraphAction[], rsc: string, task: string): GraphAction {
  const a = actions.find((x) => x.resource === rsc && x.task === task);
  if (!a) throw new Error(`no ${task} of ${rsc}: ${actions.map((x) => x.key).join(" ")}`);
  return a;
}

/** Whether `later` waits (directly or transitively) for `earlier`. */
function waitsFor(actions: GraphAction[], later: GraphAction, earlier: GraphAction): boolean {
  const byId = new Map(actions.map((a) => [a.id, a]));
  const seen = new Set<number>();
  const stack = [...later.inputs];
  while (stack.length) {
    const id = stack.pop()!;
    if (id === earlier.id) return true;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...byId.get(id)!.inputs);
  }
  return false;
}

Deno.test("mandatory order: 'then' starts after 'first' and not at all if 'first' cannot", () => {
  const ok = run({
    resources: [prim("db"), prim("web")],
    orders: [{ id: "o", first: "db", then: "web" }],
  });
  assert.ok(
    waitsFor(ok.actions, action(ok.actions, "web", "start"), action(ok.actions, "db", "start")),
  );
  const blocked = run({
    resources: [prim("db", { meta: { targetRole: "Stopped" } }), prim("web")],
    orders: [{ id: "o", first: "db", then: "web" }],
    running: { web: "n2" },
  });
  assert.equal(
    where(blocked, "web"),
    "stopped",
    "a running 'then' is stopped when 'first' cannot run",
  );
});

Deno.test("a blocked start blocks the instances of a clone colocated with it", () => {
  const result = run({
    resources: [prim("r0", { meta: { targetRole: "Stopped" } }), prim("r1"), {
      kind: "clone",
      id: "cl",
      resource: prim("c"),
    }],
    orders: [{ id: "o", first: "r0", then: "r1" }],
    colocations: [{ id: "cc", resource: "cl", withResource: "r1", score: "INFINITY" }],
    running: { r1: "n2" },
  });
  assert.equal(where(result, "r1"), "stopped");
  assert.deepEqual(instancesOn(result, "c"), []);
  const line = result.summary.find((l) => l.includes("c:0"));
  assert.match(line ?? "", /due to colocation with r1 \(blocked\)/);
});

Deno.test("optional order: only sequences actions that happen anyway", () => {
  const result = run({
    resources: [prim("db", { meta: { targetRole: "Stopped" } }), prim("web")],
    orders: [{ id: "o", first: "db", then: "web", kind: "Optional" }],
  });
  assert.equal(where(result, "web"), "n1");
});

Deno.test("a moving 'first' restarts a mandatory 'then'; stops run in reverse order", () => {
  const result = run({
    resources: [prim("db"), prim("web")],
    locations: [loc("l", "db", "n2", 100), loc("w", "web", "n3", 100)],
    orders: [{ id: "o", first: "db", then: "web" }],
    running: { db: "n1", web: "n3" },
  });
  assert.equal(where(result, "db"), "n2");
  assert.equal(where(result, "web"), "n3");
  assert.deepEqual(result.changes.map((c) => `${c.verb} ${c.resource}`), [
    "Move db",
    "Restart web",
  ]);
  const a = result.actions;
  assert.ok(
    waitsFor(a, action(a, "db", "stop"), action(a, "web", "stop")),
    "web stops before db stops",
  );
  assert.ok(
    waitsFor(a, action(a, "web", "start"), action(a, "db", "start")),
    "web starts after db",
  );
});

Deno.test("an asymmetrical order does not stop 'then' when 'first' stops", () => {
  const result = run({
    resources: [prim("db", { meta: { targetRole: "Stopped" } }), prim("web")],
    orders: [{ id: "o", first: "db", then: "web", symmetrical: false }],
    running: { db: "n1", web: "n2" },
  });
  assert.equal(where(result, "db"), "stopped");
  assert.equal(where(result, "web"), "n2");
});

Deno.test("groups start members in order and stop them in reverse", () => {
  const result = run({
    resources: [{ kind: "group", id: "g", members: [prim("a"), prim("b"), prim("c")] }],
    locations: [loc("l", "g", "n2", 100)],
    running: { a: "n1", b: "n1", c: "n1" },
  });
  const x = result.actions;
  assert.ok(waitsFor(x, action(x, "b", "start"), action(x, "a", "start")));
  assert.ok(waitsFor(x, action(x, "c", "start"), action(x, "b", "start")));
  assert.ok(waitsFor(x, action(x, "a", "stop"), action(x, "b", "stop")));
  assert.ok(waitsFor(x, action(x, "b", "stop"), action(x, "c", "stop")));
  assert.ok(
    waitsFor(x, action(x, "a", "start"), action(x, "a", "stop")),
    "a moves: stop before start",
  );
});

Deno.test("anonymous clone: one instance per node by default, clone-max limits", () => {
  const all = run({ resources: [{ kind: "clone", id: "cl", resource: prim("d") }] });
  assert.deepEqual(instancesOn(all, "d"), ["n1", "n2", "n3"]);
  const two = run({
    resources: [{ kind: "clone", id: "cl", meta: { cloneMax: 2 }, resource: prim("d") }],
  });
  assert.deepEqual(instancesOn(two, "d"), ["n1", "n2"]);
  const banned = run({
    resources: [{ kind: "clone", id: "cl", resource: prim("d") }],
    locations: [loc("b", "cl", "n2", "-INFINITY")],
  });
  assert.deepEqual(instancesOn(banned, "d"), ["n1", "n3"]);
});

Deno.test("clone-node-max allows several instances per node", () => {
  const result = run({
    nodes: ["n1", "n2"],
    resources: [{
      kind: "clone",
      id: "cl",
      meta: { cloneMax: 4, cloneNodeMax: 2, globallyUnique: true },
      resource: prim("d", { agent: "ocf:pacemaker:Dummy" }),
    }],
  });
  assert.deepEqual(instancesOn(result, "d"), ["n1", "n1", "n2", "n2"]);
});

Deno.test("unique clone instances keep their numbers where they run", () => {
  const result = run({
    resources: [{
      kind: "clone",
      id: "cl",
      meta: { cloneMax: 3, globallyUnique: true },
      resource: prim("d", { agent: "ocf:pacemaker:Dummy" }),
    }],
    options: { stickiness: 1 },
    running: { "d:0": "n3", "d:1": "n1" },
  });
  assert.equal(where(result, "d:0"), "n3");
  assert.equal(where(result, "d:1"), "n1");
  assert.equal(where(result, "d:2"), "n2");
});

Deno.test("a resource colocated with a clone goes where an instance runs", () => {
  const result = run({
    resources: [
      { kind: "clone", id: "cl", meta: { cloneMax: 1 }, resource: prim("d") },
      prim("web"),
    ],
    locations: [loc("l", "cl", "n3", 100)],
    colocations: [{ id: "c", resource: "web", withResource: "cl", score: "INFINITY" }],
  });
  assert.deepEqual(instancesOn(result, "d"), ["n3"]);
  assert.equal(where(result, "web"), "n3");
});

Deno.test("interleaved clones: an instance without a peer on its node stops", () => {
  const result = run({
    resources: [
      { kind: "clone", id: "a-clone", resource: prim("a") },
      { kind: "clone", id: "b-clone", meta: { interleave: true }, resource: prim("b") },
    ],
    locations: [loc("ban", "a-clone", "n1", "-INFINITY")],
    orders: [{ id: "o", first: "a-clone", then: "b-clone" }],
    running: { a: ["n2", "n3"], b: ["n1", "n2", "n3"] },
  });
  assert.deepEqual(instancesOn(result, "a"), ["n2", "n3"]);
  assert.deepEqual(instancesOn(result, "b"), ["n2", "n3"]);
});

Deno.test("cloned groups run all members together per node", () => {
  const result = run({
    resources: [{
      kind: "clone",
      id: "cl",
      meta: { cloneMax: 2 },
      resource: { kind: "group", id: "g", members: [prim("x"), prim("y")] },
    }],
  });
  assert.deepEqual(instancesOn(result, "x"), ["n1", "n2"]);
  assert.deepEqual(instancesOn(result, "y"), ["n1", "n2"]);
  assert.equal(where(result, "x:0"), where(result, "y:0"));
});
