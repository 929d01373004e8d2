import assert from "node:assert/strict";
import { buildCib, type CibSpec, prim, run, where } from "./cib_builder.ts";
import { schedule } from "../../core/pe/scheduler/policy_engine.ts";
import { injectNodeFailure } from "../../core/pe/scheduler/inject.ts";

const FENCE = prim("fence", { agent: "stonith:fence_dummy" });

Deno.test("no-quorum-policy decides what a partition without quorum does", () => {
  const table: Array<[string, string, string]> = [
    // policy, running resource, stopped resource wanting to start
    ["stop", "stopped", "stopped"],
    ["freeze", "n1", "stopped"],
    ["ignore", "n1", "n2"],
  ];
  for (const [policy, running, starting] of table) {
    const result = run({
      options: { noQuorumPolicy: policy },
      quorum: false,
      resources: [prim("a"), prim("b")],
      running: { a: "n1" },
    });
    assert.equal(where(result, "a"), running, `${policy}: running resource`);
    assert.equal(where(result, "b"), starting, `${policy}: new resource`);
  }
});

Deno.test("requires=nothing lets a resource start without quorum", () => {
  const result = run({
    quorum: false,
    resources: [prim("a", { meta: { requires: "nothing" } })],
  });
  assert.equal(where(result, "a"), "n1");
});

Deno.test("no-quorum-policy=suicide fences the nodes of a quorumless partition", () => {
  const result = run({
    options: { stonithEnabled: true, noQuorumPolicy: "suicide" },
    quorum: false,
    nodes: ["n1", "n2"],
    resources: [FENCE],
  });
  assert.deepEqual(result.fence, ["n1", "n2"]);
});

Deno.test("fencing enabled but no fence device: resources are left alone", () => {
  const result = run({
    options: { stonithEnabled: true },
    resources: [prim("a"), prim("b")],
    locations: [{ id: "l", resource: "a", node: "n2", score: 100 }],
    running: { a: "n1" },
  });
  assert.equal(where(result, "a"), "n1");
  assert.equal(where(result, "b"), "stopped");
  assert.equal(result.actions.filter((x) => x.type === "resource").length, 0);
});

function lostNodeSpec(stonithEnabled: boolean): CibSpec {
  return {
    options: { stonithEnabled },
    resources: [FENCE, prim("web")],
    locations: [{ id: "l", resource: "web", node: "n1", score: 100 }],
    running: { fence: "n3", web: "n1" },
  };
}

Deno.test("a lost node is fenced before its resources are recovered elsewhere", () => {
  const cib = injectNodeFailure(buildCib(lostNodeSpec(true)), "n1");
  const result = schedule(cib);
  assert.deepEqual(result.fence, ["n1"]);
  assert.equal(where(result, "web"), "n2");
  assert.match(result.summary[0], /^Fence \(reboot\) n1 'peer is no longer part of the cluster'/);
  // The start on n2 must (transitively) wait for the fencing of n1.
  const byId = new Map(result.actions.map((a) => [a.id, a]));
  const fence = result.actions.find((a) => a.type === "fence" && a.node === "n1")!;
  const start = result.actions.find((a) => a.resource === "web" && a.task === "start")!;
  const seen = new Set<number>();
  const stack = [...start.inputs];
  while (stack.length) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...byId.get(id)!.inputs);
  }
  assert.ok(seen.has(fence.id), "start of web depends on fencing n1");
  // The stop on the fenced node is implied (a pseudo action), not sent to n1.
  assert.ok(!result.actions.some((a) => a.type === "resource" && a.node === "n1"));
});

Deno.test("without fencing a lost node's resources restart elsewhere and nobody is fenced", () => {
  const cib = injectNodeFailure(buildCib(lostNodeSpec(false)), "n1");
  const result = schedule(cib);
  assert.deepEqual(result.fence, []);
  assert.equal(where(result, "web"), "n2");
});

Deno.test("an unclean node cannot be fenced without quorum: its resources wait", () => {
  const spec = {
    ...lostNodeSpec(true),
    quorum: false,
    options: { stonithEnabled: true, noQuorumPolicy: "stop" },
  };
  const result = schedule(injectNodeFailure(buildCib(spec), "n1"));
  assert.deepEqual(result.fence, []);
  assert.equal(where(result, "web"), "n1", "still thought to run on n1");
});

Deno.test("a node shutting down stops its resources before its shutdown action", () => {
  const result = run({
    nodes: ["n1", "n2"],
    resources: [prim("web")],
    running: { web: "n1" },
    nodeState: { n1: { shutdown: 1700000000 } },
  });
  const shutdown = result.actions.find((a) => a.type === "shutdown");
  const stop = result.actions.find((a) => a.resource === "web" && a.task === "stop");
  assert.ok(shutdown && stop);
  assert.equal(shutdown.node, "n1");
  assert.ok(shutdown.inputs.includes(stop.id));
  assert.equal(where(result, "web"), "n2");
});

Deno.test("a node that was never seen is fenced at startup when fencing is possible", () => {
  const cib = buildCib({
    options: { stonithEnabled: true },
    resources: [FENCE],
    running: { fence: "n1" },
  });
  const status = structuredClone(cib.status);
  delete status.nodes["n3"];
  const result = schedule({ ...cib, status });
  assert.deepEqual(result.fence, ["n3"]);
});
