import assert from "node:assert/strict";
import fc from "fast-check";
import type { GraphAction } from "../../core/pe/scheduler/graph.ts";
import { schedule } from "../../core/pe/scheduler/policy_engine.ts";
import { injectNodeFailure } from "../../core/pe/scheduler/inject.ts";
import { type GraphDispatch, GraphError } from "../../core/te/graph_engine.ts";
import {
  engine,
  fence,
  FENCE_TIMEOUT_MS,
  op as rop,
  OP_TIMEOUT_MS,
  opDispatches,
  opIdOf,
  ops,
  probe,
  pseudo,
  RESEND_MS,
} from "./graph_helpers.ts";
import { cibOf } from "./sim_cib.ts";

const MEMBERS = { members: ["n1", "n2", "n3"] };

Deno.test("a stop completes before the start that depends on it", () => {
  const te = engine();
  const graph = [rop(0, "stop", "web", "n1"), rop(1, "start", "web", "n2", [0])];
  let out = te.start(1, graph, 0, MEMBERS);
  assert.deepEqual(ops(out), ["stop web@n1"]);
  assert.deepEqual(ops(te.tick(50)), [], "nothing else is ready, and no resend yet");
  out = te.result(opIdOf(out, 0), true, 60);
  assert.deepEqual(ops(out), ["start web@n2"]);
  assert.equal(te.state, "running");
  te.result(opIdOf(out, 1), true, 70);
  assert.equal(te.state, "finished");
  assert.equal(te.busy, false);
  assert.equal(te.reason, null);
  assert.equal(te.stats.completed, 2);
});

Deno.test("independent actions run in parallel, bounded per node", () => {
  const te = engine({ maxInFlightPerNode: 2 });
  const graph = [
    rop(0, "start", "a", "n1"),
    rop(1, "start", "b", "n1"),
    rop(2, "start", "c", "n1"),
    rop(3, "start", "d", "n2"),
  ];
  const out = te.start(1, graph, 0, MEMBERS);
  assert.deepEqual(ops(out), ["start a@n1", "start b@n1", "start d@n2"]);
  assert.equal(te.inFlightOn("n1"), 2);
  const next = te.result(opIdOf(out, 1), true, 10);
  assert.deepEqual(ops(next), ["start c@n1"], "a free slot on n1 lets c go");
  te.result(opIdOf(out, 0), true, 20);
  te.result(opIdOf(out, 3), true, 20);
  assert.equal(te.state, "running");
  te.result(opIdOf(next, 2), true, 30);
  assert.equal(te.state, "finished");
});

Deno.test("pseudo actions complete as soon as their inputs have", () => {
  const te = engine();
  const graph = [
    rop(0, "stop", "a", "n1"),
    pseudo(1, "grp_stopped_0", [0]),
    pseudo(2, "grp_start_0", [1]),
    rop(3, "start", "a", "n2", [2]),
  ];
  const out = te.start(1, graph, 0, MEMBERS);
  assert.deepEqual(ops(out), ["stop a@n1"]);
  assert.equal(te.progress().get(1), "pending");
  const next = te.result(opIdOf(out, 0), true, 5);
  assert.deepEqual(ops(next), ["start a@n2"], "two pseudo actions passed through in one step");
  assert.equal(te.progress().get(2), "done");

  const only = engine();
  assert.deepEqual(only.start(1, [pseudo(0, "x"), pseudo(1, "y", [0])], 0, MEMBERS), []);
  assert.equal(only.state, "finished", "a graph of pseudo actions finishes at once");
  assert.equal(engine().start(1, [], 0, MEMBERS).length, 0);
});

Deno.test("a probe is a monitor of each listed resource and completes when all answered", () => {
  const te = engine();
  const graph = [probe(0, "n2", ["a", "b"]), pseudo(1, "probe_complete", [0]), {
    ...rop(2, "start", "a", "n2", [1]),
  }];
  const out = te.start(1, graph, 0, MEMBERS);
  const probes = opDispatches(out);
  assert.deepEqual(
    probes.map((d) => [d.opId, d.operation, d.resource, d.intervalMs, d.probe]),
    [["0/0", "monitor", "a", 0, true], ["0/1", "monitor", "b", 0, true]],
  );
  assert.deepEqual(ops(te.result("0/1", true, 5)), []);
  assert.equal(te.progress().get(0), "in-flight");
  assert.deepEqual(ops(te.result("0/0", true, 6)), ["start a@n2"]);
  assert.equal(te.progress().get(2), "in-flight");
  assert.equal(engine().start(1, [probe(0, "n1", [])], 0, MEMBERS).length, 0);
});

Deno.test("recurring monitors carry their interval", () => {
  const te = engine();
  const mon: GraphAction = { ...rop(1, "monitor", "a", "n1", [0]), intervalMs: 10_000 };
  const out = te.start(1, [rop(0, "start", "a", "n1"), mon], 0, MEMBERS);
  const next = opDispatches(te.result(opIdOf(out, 0), true, 1));
  assert.deepEqual(next.map((d) => [d.operation, d.intervalMs, d.probe]), [
    ["monitor", 10_000, false],
  ]);
});

Deno.test("a failure aborts: nothing new is sent, in-flight actions are awaited", () => {
  const te = engine();
  const graph = [
    rop(0, "stop", "a", "n1"),
    rop(1, "stop", "b", "n2"),
    rop(2, "start", "a", "n3", [0]),
    rop(3, "start", "b", "n3", [1]),
  ];
  const out = te.start(1, graph, 0, MEMBERS);
  const failed = te.result(opIdOf(out, 0), false, 10, "rc 1 (generic error)");
  assert.deepEqual(failed, []);
  assert.equal(te.state, "aborting");
  assert.match(te.reason!, /stop of a on n1 \(a_stop_0\) failed: rc 1/);
  assert.equal(te.busy, true, "b's stop is still in flight");
  // Its resends continue until it answers, but its dependant is never sent.
  assert.deepEqual(ops(te.tick(10 + RESEND_MS)), ["stop b@n2*"]);
  assert.deepEqual(te.result(opIdOf(out, 1), true, 150), []);
  assert.equal(te.state, "aborted");
  assert.equal(te.busy, false);
  assert.equal(te.progress().get(3), "pending");
  assert.deepEqual(te.tick(10_000), [], "an aborted engine sends nothing");
  // The next transition may start now.
  assert.deepEqual(ops(te.start(2, [rop(0, "start", "a", "n2")], 200, MEMBERS)), ["start a@n2"]);
});

Deno.test("in-flight operations are re-sent and time out at their deadline", () => {
  const te = engine({ operationTimeoutMs: (o) => (o.operation === "start" ? 450 : 5_000) });
  const out = te.start(1, [rop(0, "start", "a", "n1"), rop(1, "stop", "b", "n2")], 0, MEMBERS);
  assert.deepEqual(opDispatches(out).map((d) => d.timeoutMs), [450, 5_000]);
  assert.deepEqual(ops(te.tick(RESEND_MS - 1)), []);
  assert.deepEqual(ops(te.tick(RESEND_MS)), ["start a@n1*", "stop b@n2*"]);
  assert.deepEqual(ops(te.tick(RESEND_MS + 50)), [], "not again before resendMs");
  te.tick(449);
  assert.equal(te.state, "running");
  te.tick(450);
  assert.equal(te.state, "aborting");
  assert.match(te.reason!, /start of a on n1 \(a_start_0\) timed out after 450 ms/);
  // A late result of the timed-out operation changes nothing.
  te.result(opIdOf(out, 0), true, 460);
  assert.equal(te.progress().get(0), "failed");
  te.tick(5_000);
  assert.equal(te.state, "aborted", "the other one timed out too: nothing left in flight");
  assert.equal(te.stats.failed, 2);
  assert.ok(te.stats.resent >= 2);
});

Deno.test("a membership change aborts; operations on nodes that left fail at once", () => {
  const te = engine();
  const graph = [rop(0, "stop", "a", "n1"), rop(1, "stop", "b", "n2"), rop(2, "start", "c", "n3")];
  const out = te.start(1, graph, 0, MEMBERS);
  assert.deepEqual(te.membershipChanged(["n1", "n3"], 10), []);
  assert.equal(te.state, "aborting");
  assert.match(te.reason!, /membership changed \(left: n2\)/);
  assert.equal(te.progress().get(1), "failed", "n2 will never answer");
  te.result(opIdOf(out, 0), true, 20);
  assert.equal(te.state, "aborting");
  te.result(opIdOf(out, 2), true, 30);
  assert.equal(te.state, "aborted");
  assert.deepEqual(te.result(opIdOf(out, 1), true, 40), [], "late result from n2 ignored");
});

Deno.test("a CIB change aborts the transition and nothing new is dispatched", () => {
  const te = engine();
  const out = te.start(1, [rop(0, "stop", "a", "n1"), rop(1, "start", "a", "n2", [0])], 0, MEMBERS);
  te.cibChanged(5);
  assert.equal(te.reason, "CIB changed");
  assert.deepEqual(te.result(opIdOf(out, 0), true, 10), [], "the start is not sent");
  assert.equal(te.state, "aborted");
  assert.equal(te.progress().get(1), "pending");
  // When idle, a CIB change is nothing to the engine.
  te.cibChanged(20);
  assert.equal(te.state, "aborted");
  assert.equal(te.stats.aborted, 1);
});

Deno.test("nothing is ever sent to a node outside the membership", () => {
  const sent: GraphDispatch[] = [];
  const te = engine();
  const graph = [rop(0, "stop", "a", "n1"), rop(1, "start", "a", "n4", [0])];
  const out = te.start(1, graph, 0, MEMBERS);
  sent.push(...out);
  sent.push(...te.result(opIdOf(out, 0), true, 10));
  assert.equal(te.state, "aborted");
  assert.match(te.reason!, /start of a on n4 \(a_start_0\): n4 is not a member/);
  assert.equal(te.progress().get(1), "failed");
  assert.ok(ops(sent).every((s) => !s.endsWith("@n4")), ops(sent).join(", "));

  // The same right at the start, and for a node that left before its action was ready.
  const first = engine();
  assert.deepEqual(first.start(1, [rop(0, "start", "a", "n9")], 0, MEMBERS), []);
  assert.equal(first.state, "aborted");
  const later = engine();
  const o = later.start(1, [rop(0, "stop", "a", "n1"), rop(1, "start", "a", "n2", [0])], 0, {
    members: ["n1", "n2"],
  });
  later.membershipChanged(["n1"], 5);
  assert.deepEqual(later.result(opIdOf(o, 0), true, 6), []);
  assert.equal(later.state, "aborted");
});

Deno.test("a fence is confirmed before anything that depends on it runs", () => {
  const te = engine();
  const graph = [fence(0, "n1"), pseudo(1, "a_stop_0", [0]), rop(2, "start", "a", "n2", [1])];
  const out = te.start(1, graph, 0, { members: ["n2", "n3"] });
  assert.deepEqual(out, [{
    kind: "fence",
    transition: 1,
    actionId: 0,
    target: "n1",
    action: "reboot",
    timeoutMs: FENCE_TIMEOUT_MS,
  }], "the fence target need not (and usually does not) be a member");
  assert.deepEqual(te.tick(FENCE_TIMEOUT_MS - 1), [], "fences are never re-sent; it waits");
  assert.deepEqual(te.result("0", true, 10), [], "an operation result cannot complete a fence");
  assert.deepEqual(te.fenced("n3", true, 20), [], "a fence of another node does not either");
  assert.equal(te.progress().get(2), "pending");
  assert.deepEqual(ops(te.fenced("n1", true, 30)), ["start a@n2"]);
  assert.equal(te.progress().get(0), "done");
});

Deno.test("a failed or timed-out fence aborts and nothing that depends on it runs", () => {
  for (const how of ["failed", "timeout", "failed-then-ok"] as const) {
    const te = engine({ operationTimeoutMs: () => 2 * FENCE_TIMEOUT_MS });
    const graph = [fence(0, "n1"), rop(1, "start", "a", "n2", [0]), rop(2, "stop", "b", "n3")];
    const sent = te.start(1, graph, 0, MEMBERS);
    if (how === "timeout") sent.push(...te.tick(FENCE_TIMEOUT_MS));
    else sent.push(...te.fenced("n1", false, 10, "device said no"));
    if (how === "failed-then-ok") sent.push(...te.fenced("n1", true, 20));
    assert.equal(te.state, "aborting", how);
    assert.match(te.reason!, how === "timeout" ? /n1 timed out/ : /n1 .* failed: device said no/);
    sent.push(...te.result(opIdOf(sent, 2), true, FENCE_TIMEOUT_MS + 1));
    assert.equal(te.state, "aborted", how);
    const fresh = ops(sent).filter((o) => !o.endsWith("*"));
    assert.deepEqual(fresh, ["stop b@n3"], `${how}: the start never went out`);
    assert.equal(te.progress().get(1), "pending", how);
  }
});

Deno.test("an abort while a fence is in flight waits for the fence's outcome", () => {
  const te = engine();
  te.start(1, [fence(0, "n1"), rop(1, "start", "a", "n2", [0])], 0, MEMBERS);
  te.cibChanged(5);
  assert.equal(te.state, "aborting", "the fence is still running");
  assert.deepEqual(te.fenced("n1", true, 10), []);
  assert.equal(te.state, "aborted");
  assert.equal(te.progress().get(0), "done");
  assert.equal(te.progress().get(1), "pending");
});

Deno.test("an abort drops queued probe operations and never sends them", () => {
  const te = engine({ maxInFlightPerNode: 1 });
  const out = te.start(1, [probe(0, "n1", ["a", "b", "c"])], 0, MEMBERS);
  assert.deepEqual(ops(out), ["monitor a@n1"]);
  te.cibChanged(1);
  assert.deepEqual(ops(te.result("0/0", true, 2)), []);
  assert.equal(te.state, "aborted");
  assert.equal(te.progress().get(0), "cancelled");
  assert.deepEqual(te.result("0/1", true, 3), [], "never sent, so no result is accepted");
});

Deno.test("shutdown actions go to their node and are re-sent like operations", () => {
  const te = engine({ shutdownTimeoutMs: () => 300 });
  const graph: GraphAction[] = [rop(0, "stop", "a", "n2"), {
    id: 1,
    key: "do_shutdown-n2",
    type: "shutdown",
    task: "do_shutdown",
    node: "n2",
    inputs: [0],
  }];
  const out = te.start(1, graph, 0, MEMBERS);
  const next = te.result(opIdOf(out, 0), true, 1);
  assert.deepEqual(next, [{
    kind: "shutdown",
    transition: 1,
    opId: "1",
    actionId: 1,
    node: "n2",
    timeoutMs: 300,
    resend: false,
  }]);
  assert.deepEqual(te.tick(1 + RESEND_MS).map((d) => d.kind === "shutdown" && d.resend), [true]);
  te.result("1", true, 150);
  assert.equal(te.state, "finished");
});

Deno.test("duplicate, late and unknown results are ignored", () => {
  const te = engine();
  const out = te.start(1, [rop(0, "start", "a", "n1"), rop(1, "start", "b", "n1")], 0, MEMBERS);
  te.result(opIdOf(out, 0), true, 1);
  assert.deepEqual(te.result(opIdOf(out, 0), false, 2), [], "duplicate (after a resend)");
  assert.deepEqual(te.result("77", false, 3), []);
  assert.deepEqual(te.result("0/0", false, 3), []);
  assert.equal(te.state, "running");
  te.result(opIdOf(out, 1), true, 4);
  assert.equal(te.state, "finished");
  assert.deepEqual(te.result(opIdOf(out, 1), false, 5), []);
  assert.equal(te.state, "finished");
});

Deno.test("start is refused while busy and needs increasing transition ids", () => {
  const te = engine();
  te.start(1, [rop(0, "start", "a", "n1")], 0, MEMBERS);
  assert.throws(() => te.start(2, [], 0, MEMBERS), /transition 1 is still running/);
  te.cibChanged(1);
  assert.throws(() => te.start(2, [], 0, MEMBERS), /still aborting/);
  te.result("0", true, 2);
  assert.throws(() => te.start(1, [], 3, MEMBERS), /above 1/);
  assert.throws(() => te.start(2.5, [], 3, MEMBERS), /integer/);
  te.start(2, [], 3, MEMBERS);
  assert.equal(te.state, "finished");
});

Deno.test("malformed graphs are rejected with an error that names the action", () => {
  const a = rop(0, "start", "a", "n1");
  const table: Array<[string, unknown[], RegExp]> = [
    ["duplicate id", [a, { ...a }], /graph\[1\] \(a_start_0\): duplicate id 0/],
    ["missing input", [rop(0, "start", "a", "n1", [9])], /action 0 \(a_start_0\): input 9 does/],
    ["self input", [rop(0, "start", "a", "n1", [0])], /action 0 \(a_start_0\): waits for itself/],
    [
      "cycle",
      [rop(0, "stop", "a", "n1", [2]), rop(1, "start", "a", "n2", [0]), pseudo(2, "p", [1])],
      /graph has a cycle: .*\(a_stop_0\).* waits for .*\(p\).* waits for .*\(a_start_0\)|cycle/,
    ],
    ["negative id", [{ ...a, id: -1 }], /id must be a non-negative integer/],
    ["no node", [{ ...a, node: undefined }], /a resource action needs a node/],
    ["no resource", [{ ...a, resource: "" }], /a resource action needs a resource/],
    ["bad interval", [{ ...a, intervalMs: -5 }], /intervalMs must be a non-negative/],
    ["unknown type", [{ ...a, type: "teleport" }], /unknown type "teleport"/],
    ["fence action", [{ ...fence(0, "n1"), fenceAction: "smash" }], /fenceAction must be one of/],
    ["probe list", [{ ...probe(0, "n1", []), resources: undefined }], /needs a list of resources/],
    ["no inputs", [{ ...a, inputs: undefined }], /inputs must be an array/],
  ];
  for (const [what, graph, pattern] of table) {
    const te = engine();
    assert.throws(
      () => te.start(1, graph as GraphAction[], 0, MEMBERS),
      (err: unknown) => err instanceof GraphError && pattern.test(err.message),
      what,
    );
    assert.equal(te.state, "idle", `${what}: nothing started`);
    assert.equal(te.transition, 0, what);
  }
  const big = Array.from({ length: 11 }, (_, i) => rop(i, "start", `r${i}`, "n1"));
  assert.throws(() => engine({ maxActions: 10 }).start(1, big, 0, MEMBERS), /11 actions, more/);
  assert.throws(
    () => engine({ maxOperations: 3 }).start(1, [probe(0, "n1", ["a", "b", "c", "d"])], 0, MEMBERS),
    /more than 3 operations/,
  );
});

Deno.test("the graph's cycle error lists the actions on the cycle", () => {
  const graph = [
    rop(0, "start", "x", "n1"),
    rop(1, "stop", "a", "n1", [0, 3]),
    rop(2, "start", "a", "n2", [1]),
    pseudo(3, "p", [2]),
  ];
  assert.throws(() => engine().start(1, graph, 0, MEMBERS), (err: unknown) => {
    assert.ok(err instanceof GraphError);
    for (const key of ["a_stop_0", "a_start_0", "(p)"]) assert.ok(err.message.includes(key));
    assert.ok(!err.message.includes("x_start_0"), "the action before the cycle is not on it");
    return true;
  });
});

Deno.test("bad options are refused", () => {
  assert.throws(() => engine({ resendMs: 0 }), /resendMs/);
  assert.throws(() => engine({ maxInFlightPerNode: 0 }), /maxInFlightPerNode/);
  assert.throws(
    () =>
      engine({ operationTimeoutMs: () => 0 }).start(1, [rop(0, "start", "a", "n1")], 0, MEMBERS),
    /operation timeout must be > 0/,
  );
});

Deno.test("a real graph: the lost node is fenced before its resources start elsewhere", () => {
  const cib = injectNodeFailure(
    cibOf({
      nodes: ["n1", "n2", "n3"],
      stonith: true,
      resources: ["web", "db"],
      running: { fence: "n3", web: "n1", db: "n1" },
    }),
    "n1",
  );
  const graph = schedule(cib).actions;
  const te = engine();
  const members = { members: ["n2", "n3"] };
  let pending = te.start(1, graph, 0, members);
  const order: string[] = [];
  // Answer everything in order until the engine stops; fence confirmations included.
  for (let step = 0; step < 50 && te.busy; step++) {
    const next: GraphDispatch[] = [];
    for (const d of pending) {
      order.push(d.kind === "fence" ? `fence ${d.target}` : `${d.kind} ${d.opId}`);
      if (d.kind === "fence") next.push(...te.fenced(d.target, true, step));
      else next.push(...te.result(d.opId, true, step));
    }
    pending = next;
  }
  assert.equal(te.state, "finished");
  const starts = graph.filter((a) => a.type === "resource" && a.task === "start");
  assert.equal(starts.length, 2, "web and db start on a survivor");
  const fenceAt = order.indexOf("fence n1");
  assert.ok(fenceAt >= 0, order.join(", "));
  for (const s of starts) assert.ok(order.indexOf(`operation ${s.id}`) > fenceAt, s.key);
});

Deno.test("property: random DAGs run every action once, each after all its inputs", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 30 }),
      fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 60 }),
      fc.array(fc.nat(), { minLength: 1, maxLength: 200 }),
      fc.integer({ min: 1, max: 4 }),
      (n, edges, choices, cap) => {
        const graph: GraphAction[] = [];
        for (let i = 0; i < n; i++) {
          const kind = i % 5;
          graph.push(
            kind === 3
              ? pseudo(i, `p${i}`)
              : kind === 4
              ? fence(i, `f${i}`)
              : rop(i, "start", `r${i}`, `n${i % 3 + 1}`),
          );
        }
        // Edges only from lower to higher ids: acyclic by construction.
        for (const [x, y] of edges) {
          const lo = Math.min(x % n, y % n), hi = Math.max(x % n, y % n);
          if (lo !== hi && !graph[hi].inputs.includes(lo)) graph[hi].inputs.push(lo);
        }
        const te = engine({ maxInFlightPerNode: cap });
        const inFlight: GraphDispatch[] = [...te.start(1, graph, 0, MEMBERS)];
        const done = new Set<number>();
        const begun = new Set<number>();
        const note = (out: GraphDispatch[]) => {
          for (const d of out) {
            if (d.kind === "shutdown" || (d.kind === "operation" && d.resend)) continue;
            assert.ok(!begun.has(d.actionId), `action ${d.actionId} dispatched twice`);
            begun.add(d.actionId);
            for (const i of graph[d.actionId].inputs) {
              assert.ok(done.has(i), `${d.actionId} dispatched before its input ${i} was done`);
            }
          }
        };
        for (const [id, p] of te.progress()) if (p === "done") done.add(id);
        note(inFlight);
        let k = 0;
        for (let step = 0; step < 500 && inFlight.length > 0; step++) {
          const d = inFlight.splice(choices[k++ % choices.length] % inFlight.length, 1)[0];
          const out = d.kind === "fence"
            ? te.fenced(d.target, true, step)
            : te.result(d.opId, true, step);
          for (const [id, p] of te.progress()) if (p === "done") done.add(id);
          note(out);
          inFlight.push(...out);
        }
        assert.equal(te.state, "finished");
        assert.equal(begun.size, graph.filter((a) => a.type !== "pseudo").length);
      },
    ),
    { numRuns: 300, seed: 5 },
  );
});

Deno.test("property: with random failures the engine always ends idle and never starts after abort", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 20 }),
      fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 40 }),
      fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 100 }),
      (n, edges, events) => {
        const graph: GraphAction[] = [];
        for (let i = 0; i < n; i++) graph.push(rop(i, "start", `r${i}`, `n${i % 3 + 1}`));
        for (const [x, y] of edges) {
          const lo = Math.min(x % n, y % n), hi = Math.max(x % n, y % n);
          if (lo !== hi && !graph[hi].inputs.includes(lo)) graph[hi].inputs.push(lo);
        }
        const te = engine({ maxInFlightPerNode: 2 });
        const inFlight = opDispatches(te.start(1, graph, 0, MEMBERS));
        let now = 0;
        let abortedAt = -1;
        for (let i = 0; i < 2_000 && te.busy; i++) {
          const e = events[i % events.length];
          now += 37;
          let out: GraphDispatch[];
          if (e === 0) out = [...te.cibChanged(now), ...te.tick(now)];
          else if (e === 1 || inFlight.length === 0) out = te.tick(now);
          else {
            const d = inFlight.shift()!;
            out = te.result(d.opId, e !== 2, now);
          }
          if (te.state !== "running" && abortedAt < 0) abortedAt = now;
          const fresh = opDispatches(out).filter((d) => !d.resend);
          if (abortedAt >= 0) assert.deepEqual(fresh, [], "nothing new after an abort");
          inFlight.push(...fresh);
        }
        assert.equal(te.busy, false, "bounded by the deadlines");
        assert.ok(te.state === "finished" || te.state === "aborted");
      },
    ),
    { numRuns: 300, seed: 7 },
  );
});

Deno.test("timeouts bound an abort even when no result ever comes", () => {
  const te = engine();
  te.start(1, [rop(0, "stop", "a", "n1"), rop(1, "stop", "b", "n2")], 0, MEMBERS);
  te.cibChanged(1);
  for (let t = 0; t <= OP_TIMEOUT_MS; t += RESEND_MS) te.tick(t);
  assert.equal(te.state, "aborted");
  assert.equal(te.reason, "CIB changed", "the first reason is kept");
});
