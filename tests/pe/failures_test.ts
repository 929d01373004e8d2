import assert from "node:assert/strict";
import { type CibSpec, prim, run, where } from "./cib_builder.ts";

const monitor = { name: "monitor", intervalMs: 10_000 };

function failedMonitor(node: string, rsc = "web"): CibSpec["history"] {
  return { [node]: { [rsc]: [{ op: "start" }, { op: "monitor", intervalMs: 10_000, rc: 7 }] } };
}

Deno.test("a failed monitor is recovered in place (stop and start on the same node)", () => {
  const result = run({
    resources: [prim("web", { operations: [monitor] })],
    history: failedMonitor("n2"),
    failures: { n2: { web: 1 } },
  });
  assert.equal(where(result, "web"), "n2");
  assert.deepEqual(result.changes.map((c) => `${c.verb} ${c.resource}`), ["Recover web"]);
  const keys = result.actions.filter((a) => a.resource === "web").map((a) => `${a.task}@${a.node}`);
  assert.ok(keys.includes("stop@n2") && keys.includes("start@n2"), keys.join(" "));
  const stop = result.actions.find((a) => a.resource === "web" && a.task === "stop")!;
  const start = result.actions.find((a) => a.resource === "web" && a.task === "start")!;
  assert.ok(start.inputs.includes(stop.id), "the start waits for the stop");
});

Deno.test("migration-threshold: reaching it bans the node, staying below does not", () => {
  const table: Array<[number, number, string]> = [
    [3, 2, "n2"],
    [3, 3, "n1"],
    [1, 1, "n1"],
    [0, 50, "n2"], // 0 disables the threshold
  ];
  for (const [threshold, fails, want] of table) {
    const result = run({
      resources: [prim("web", { operations: [monitor], meta: { migrationThreshold: threshold } })],
      locations: [{ id: "l", resource: "web", node: "n2", score: 100 }],
      history: failedMonitor("n2"),
      failures: { n2: { web: fails } },
    });
    assert.equal(where(result, "web"), want, `threshold ${threshold}, ${fails} failure(s)`);
  }
});

Deno.test("a failed start (fail count INFINITY) bans the node under the default threshold", () => {
  const result = run({
    resources: [prim("web")],
    locations: [{ id: "l", resource: "web", node: "n1", score: 100 }],
    history: { n1: { web: [{ op: "start", rc: 1 }] } },
    failures: { n1: { web: 1_000_000 } },
  });
  assert.equal(where(result, "web"), "n2");
});

Deno.test("on-fail policies", () => {
  const table: Array<[string, string, (r: ReturnType<typeof run>) => void]> = [
    ["restart", "n1", () => {}],
    ["stop", "stopped", () => {}],
    ["ignore", "n1", (r) => assert.equal(r.changes.length, 0, "nothing to do")],
    ["block", "n1", (r) => assert.equal(r.changes.length, 0, "a blocked resource is left alone")],
    ["standby", "n2", () => {}],
  ];
  for (const [onFail, want, extra] of table) {
    const result = run({
      resources: [prim("web", { operations: [{ ...monitor, onFail }] })],
      locations: [{ id: "l", resource: "web", node: "n1", score: 100 }],
      history: failedMonitor("n1"),
    });
    assert.equal(where(result, "web"), want, `on-fail=${onFail}`);
    extra(result);
  }
});

Deno.test("on-fail=standby moves every resource off the node", () => {
  const result = run({
    nodes: ["n1", "n2"],
    resources: [prim("web", { operations: [{ ...monitor, onFail: "standby" }] }), prim("other")],
    history: failedMonitor("n1"),
    running: { other: "n1" },
  });
  assert.equal(where(result, "web"), "n2");
  assert.equal(where(result, "other"), "n2");
});

Deno.test("on-fail=fence fences the node when fencing is possible", () => {
  const result = run({
    options: { stonithEnabled: true },
    resources: [
      prim("fence", { agent: "stonith:fence_dummy" }),
      prim("web", { operations: [{ ...monitor, onFail: "fence" }] }),
    ],
    running: { fence: "n3" },
    history: failedMonitor("n1"),
  });
  assert.deepEqual(result.fence, ["n1"]);
  assert.notEqual(where(result, "web"), "n1");
  assert.notEqual(where(result, "web"), "stopped");
});

Deno.test("a failed stop: fencing when possible, otherwise the resource is blocked where it is", () => {
  const history = { n1: { web: [{ op: "start" }, { op: "stop", rc: 1 }] } };
  const fenced = run({
    options: { stonithEnabled: true },
    resources: [prim("fence", { agent: "stonith:fence_dummy" }), prim("web")],
    running: { fence: "n3" },
    history,
  });
  assert.deepEqual(fenced.fence, ["n1"]);
  assert.equal(where(fenced, "web"), "n2");
  const blocked = run({ resources: [prim("web")], history });
  assert.deepEqual(blocked.fence, []);
  assert.equal(where(blocked, "web"), "n1", "it may still run there: it cannot be stopped");
});

Deno.test("a probe finding a resource running where it should not be is stopped there", () => {
  const result = run({
    resources: [prim("web")],
    locations: [{ id: "l", resource: "web", node: "n2", score: 100 }],
    history: { n1: { web: [{ op: "monitor", rc: 0, expected: 7 }] } },
  });
  assert.equal(where(result, "web"), "n2");
});

Deno.test("a resource found active on two nodes is stopped on both and started once", () => {
  const result = run({ resources: [prim("web")], running: { web: ["n1", "n2"] } });
  assert.equal(where(result, "web"), "n1");
  const stops = result.actions.filter((a) => a.resource === "web" && a.task === "stop").map((a) =>
    a.node
  );
  assert.deepEqual(stops.sort(), ["n1", "n2"]);
});

Deno.test("history is read newest call first: a stop after a start means stopped", () => {
  const result = run({
    resources: [prim("web", { meta: { targetRole: "Stopped" } })],
    history: { n1: { web: [{ op: "start" }, { op: "stop" }] } },
  });
  assert.equal(where(result, "web"), "stopped");
  assert.equal(result.changes.length, 0);
});
