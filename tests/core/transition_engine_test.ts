import assert from "node:assert/strict";
import type { PlannedAction } from "../../core/pe/policy_engine.ts";
import { type Dispatch, TransitionEngine } from "../../core/te/transition_engine.ts";

function action(id: string, node: string, after: string[] = []): PlannedAction {
  const [resource, act] = id.split("_") as [string, "start" | "stop"];
  return { id, resource, action: act, node, after };
}

const ids = (ds: Dispatch[]) => ds.map((d) => d.action.id);
const MEMBERS = ["n1", "n2", "n3"];

const stopA = action("a_stop_n1", "n1");
const startA = action("a_start_n2", "n2", ["a_stop_n1"]);
const stopB = action("b_stop_n3", "n3");

Deno.test("a start waits for the stop it depends on", () => {
  const te = new TransitionEngine({ resendMs: 200 });
  const first = te.start(1, [startA, stopA], 0);
  assert.deepEqual(ids(first), ["a_stop_n1"]);
  assert.deepEqual(first[0], { transition: 1, action: stopA, resend: false });
  assert.deepEqual(te.progress(), { a_start_n2: "pending", a_stop_n1: "in-flight" });
  assert.deepEqual(te.tick(50, MEMBERS), [], "nothing else is ready");
  assert.deepEqual(ids(te.result("a_stop_n1", true, 60)), ["a_start_n2"]);
  assert.equal(te.busy, true);
  assert.deepEqual(te.result("a_start_n2", true, 80), []);
  assert.equal(te.busy, false);
  assert.equal(te.abortReason, null);
  assert.equal(te.completedActions, 2);
  assert.deepEqual(te.progress(), { a_start_n2: "done", a_stop_n1: "done" });
});

Deno.test("a chain runs one step at a time", () => {
  const te = new TransitionEngine({ resendMs: 200 });
  const chain = [
    action("x_stop_n1", "n1"),
    action("x_start_n2", "n2", ["x_stop_n1"]),
    action("y_start_n2", "n2", ["x_start_n2"]),
  ];
  assert.deepEqual(ids(te.start(7, chain, 0)), ["x_stop_n1"]);
  assert.deepEqual(ids(te.result("x_stop_n1", true, 1)), ["x_start_n2"]);
  assert.deepEqual(ids(te.result("x_start_n2", true, 2)), ["y_start_n2"]);
  assert.deepEqual(te.result("y_start_n2", true, 3), []);
  assert.equal(te.busy, false);
  assert.equal(te.transition, 7);
});

Deno.test("an action with two dependencies waits for both", () => {
  const te = new TransitionEngine({ resendMs: 200 });
  const both = action("c_start_n2", "n2", ["a_stop_n1", "b_stop_n3"]);
  assert.deepEqual(ids(te.start(1, [stopA, stopB, both], 0)).sort(), ["a_stop_n1", "b_stop_n3"]);
  assert.deepEqual(te.result("b_stop_n3", true, 5), []);
  assert.deepEqual(ids(te.result("a_stop_n1", true, 6)), ["c_start_n2"]);
});

Deno.test("independent actions are dispatched in parallel", () => {
  const te = new TransitionEngine({ resendMs: 200 });
  const out = te.start(1, [stopA, stopB, action("c_start_n2", "n2")], 0);
  assert.deepEqual(ids(out).sort(), ["a_stop_n1", "b_stop_n3", "c_start_n2"]);
  assert.ok(out.every((d) => !d.resend && d.transition === 1));
});

Deno.test("an empty transition is idle at once", () => {
  const te = new TransitionEngine({ resendMs: 200 });
  assert.deepEqual(te.start(3, [], 0), []);
  assert.equal(te.busy, false);
  assert.equal(te.transition, 3);
});

Deno.test("an in-flight action is re-sent every resendMs until its result arrives", () => {
  const te = new TransitionEngine({ resendMs: 200 });
  te.start(1, [stopA], 1000);
  assert.deepEqual(te.tick(1199, MEMBERS), []);
  const again = te.tick(1200, MEMBERS);
  assert.deepEqual(again, [{ transition: 1, action: stopA, resend: true }]);
  assert.deepEqual(te.tick(1300, MEMBERS), [], "not again before another resendMs");
  assert.deepEqual(ids(te.tick(1400, MEMBERS)), ["a_stop_n1"]);
  te.result("a_stop_n1", true, 1450);
  assert.deepEqual(te.tick(2000, MEMBERS), [], "done actions are not re-sent");
});

Deno.test("a timed-out action fails and aborts the transition", () => {
  const te = new TransitionEngine({
    resendMs: 10_000,
    timeoutMs: (a) => (a.action === "stop" ? 500 : 5000),
  });
  te.start(1, [stopA, startA], 0);
  assert.deepEqual(te.tick(499, MEMBERS), []);
  assert.equal(te.abortReason, null);
  assert.deepEqual(te.tick(500, MEMBERS), []);
  assert.deepEqual(te.progress(), { a_stop_n1: "failed", a_start_n2: "pending" });
  assert.equal(te.abortReason, "action a_stop_n1 timed out after 500 ms");
  assert.equal(te.busy, false, "nothing in flight, and aborted pending actions do not count");
  // A late result of the timed-out action changes nothing.
  assert.deepEqual(te.result("a_stop_n1", true, 600), []);
  assert.equal(te.completedActions, 0);
});

Deno.test("the default timeout is 60 s", () => {
  const te = new TransitionEngine({ resendMs: 100_000 });
  te.start(1, [stopA], 0);
  te.tick(59_999, MEMBERS);
  assert.equal(te.progress().a_stop_n1, "in-flight");
  te.tick(60_000, MEMBERS);
  assert.equal(te.progress().a_stop_n1, "failed");
  assert.match(te.abortReason!, /timed out after 60000 ms/);
});

Deno.test("an action on a node that left the membership fails and aborts", () => {
  const te = new TransitionEngine({ resendMs: 200 });
  te.start(1, [stopA, stopB, startA], 0);
  assert.deepEqual(te.tick(10, ["n1", "n2"]), []);
  assert.equal(te.progress().b_stop_n3, "failed");
  assert.equal(te.abortReason, "node n3 left during b_stop_n3");
  assert.equal(te.busy, true, "a_stop_n1 is still in flight");
  // Completing the other in-flight action dispatches nothing new.
  assert.deepEqual(te.result("a_stop_n1", true, 20), []);
  assert.equal(te.progress().a_start_n2, "pending");
  assert.equal(te.busy, false);
});

Deno.test("a failed result aborts: no new dispatches, but in-flight actions are waited for", () => {
  const te = new TransitionEngine({ resendMs: 200 });
  te.start(1, [stopA, stopB, startA], 0);
  assert.deepEqual(te.result("a_stop_n1", false, 10), []);
  assert.equal(te.abortReason, "action a_stop_n1 failed");
  assert.equal(te.busy, true, "b_stop_n3 is in flight");
  assert.throws(() => te.start(2, [], 20), /still busy/);
  // The in-flight action is still re-sent while waited for.
  assert.deepEqual(ids(te.tick(200, MEMBERS)), ["b_stop_n3"]);
  assert.deepEqual(te.result("b_stop_n3", true, 250), []);
  assert.equal(te.busy, false);
  assert.deepEqual(te.progress(), {
    a_stop_n1: "failed",
    b_stop_n3: "done",
    a_start_n2: "pending",
  });
  assert.equal(te.completedActions, 1);
});

Deno.test("abort() stops dispatching and keeps the first reason", () => {
  const te = new TransitionEngine({ resendMs: 200 });
  te.start(1, [stopA, startA], 0);
  te.abort("new event");
  te.abort("another event");
  assert.equal(te.abortReason, "new event");
  assert.equal(te.busy, true);
  assert.deepEqual(te.result("a_stop_n1", true, 5), [], "the dependent start is not dispatched");
  assert.deepEqual(te.tick(1000, MEMBERS), []);
  assert.equal(te.busy, false);
  // A new transition clears the abort.
  assert.deepEqual(ids(te.start(2, [stopA], 1000)), ["a_stop_n1"]);
  assert.equal(te.abortReason, null);
  assert.equal(te.transition, 2);
});

Deno.test("results for unknown or finished actions are ignored", () => {
  const te = new TransitionEngine({ resendMs: 200 });
  te.start(1, [stopA, startA], 0);
  assert.deepEqual(te.result("nope", true, 1), []);
  assert.deepEqual(te.result("a_start_n2", true, 1), [], "pending, not in flight");
  assert.equal(te.progress().a_start_n2, "pending");
  te.result("a_stop_n1", true, 2);
  assert.equal(te.completedActions, 1);
  assert.deepEqual(te.result("a_stop_n1", true, 3), [], "duplicate result");
  assert.deepEqual(te.result("a_stop_n1", false, 3), [], "a contradicting duplicate");
  assert.equal(te.completedActions, 1);
  assert.equal(te.abortReason, null);
  assert.equal(te.progress().a_stop_n1, "done");
});

Deno.test("start() while busy throws; after completion a new transition starts", () => {
  const te = new TransitionEngine({ resendMs: 200 });
  te.start(1, [stopA], 0);
  assert.throws(() => te.start(2, [stopB], 1), /transition 1 is still busy/);
  assert.equal(te.transition, 1);
  te.result("a_stop_n1", true, 2);
  assert.deepEqual(ids(te.start(2, [stopB], 3)), ["b_stop_n3"]);
  assert.equal(te.transition, 2);
  assert.deepEqual(Object.keys(te.progress()), ["b_stop_n3"], "the old transition is forgotten");
  assert.deepEqual(te.result("a_stop_n1", true, 4), [], "a late result of the old transition");
  assert.equal(te.completedActions, 1);
});

Deno.test("an unknown dependency throws and leaves the engine as it was", () => {
  const te = new TransitionEngine({ resendMs: 200 });
  assert.throws(
    () => te.start(1, [action("a_start_n2", "n2", ["ghost_stop_n1"])], 0),
    /action a_start_n2 depends on unknown ghost_stop_n1/,
  );
  assert.equal(te.transition, 0);
  assert.equal(te.busy, false);
  assert.deepEqual(te.progress(), {});
});
