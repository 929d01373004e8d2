import assert from "node:assert/strict";
import { cibDocumentSchema } from "../../core/cib/schema/document.ts";
import type { LrmReport, ReportedResource } from "../../core/node/lrm_report.ts";
import {
  baseId,
  buildSchedulerInput,
  cibPrimitives,
  historyRecords,
  type NodeFacts,
  type SchedulerInputOptions,
} from "../../core/node/scheduler_input.ts";
import { schedule } from "../../core/pe/scheduler/policy_engine.ts";
import { INFINITY } from "../../core/score.ts";

const NOW = 1_700_000_000_000;

function cib(opts: { stonith?: boolean; expiresAt?: number } = {}) {
  return cibDocumentSchema.parse({
    config: {
      options: { stonithEnabled: opts.stonith ?? false },
      nodes: [{ name: "n1" }, { name: "n2" }, { name: "n3" }],
      resources: [{
        id: "web",
        agent: "Dummy",
        operations: [{ name: "monitor", intervalMs: 1000 }],
      }],
      constraints: {
        locations: opts.expiresAt !== undefined
          ? [{
            id: "cli-prefer-web",
            resource: "web",
            node: "n3",
            score: "INFINITY",
            expiresAt: opts.expiresAt,
          }]
          : [],
      },
    },
  });
}

function running(callId = 3): ReportedResource {
  return {
    agent: "Dummy",
    monitorMs: 1000,
    ops: [["monitor", 0, 7, 1, "done"], ["start", 0, 0, callId, "done"]],
    pending: null,
    failCount: 0,
    lastFailure: null,
  };
}

function stopped(): ReportedResource {
  return {
    agent: "Dummy",
    monitorMs: 1000,
    ops: [["monitor", 0, 7, 1, "done"]],
    pending: null,
    failCount: 0,
    lastFailure: null,
  };
}

function input(
  nodes: Record<string, NodeFacts>,
  over: Partial<SchedulerInputOptions> = {},
): SchedulerInputOptions {
  return {
    doc: cib(),
    wallNow: NOW,
    dc: "n1",
    nodes,
    quorate: true,
    quorumPending: false,
    bans: [],
    nodeScores: {},
    ...over,
  };
}

const member = (report: LrmReport): NodeFacts => ({ member: true, report, cleanlyDown: false });

Deno.test("scheduler input: members are online and joined, with their history", () => {
  const doc = buildSchedulerInput(input({
    n1: member({ web: running() }),
    n2: member({ web: stopped() }),
    n3: member({ web: stopped() }),
  }));
  const n1 = doc.status.nodes.n1;
  assert.deepEqual(
    [n1.inMembership, n1.online, n1.join, n1.expected],
    [true, true, "member", "member"],
  );
  const ops = n1.resources.web.operations;
  assert.deepEqual(ops.map((o) => [o.operation, o.intervalMs, o.rc, o.expectedRc]), [
    ["monitor", 0, 7, 7],
    ["start", 0, 0, 0],
    // The LRM runs the recurring monitor: reported active so it is not asked for again.
    ["monitor", 1000, 0, 0],
  ]);
  assert.equal(doc.status.haveQuorum, true);
  assert.equal(doc.status.dc, "n1");
  // A settled cluster: web stays on n1, nothing to do.
  const result = schedule(doc, { now: NOW });
  assert.deepEqual(result.placement.web, { role: "Started", nodes: ["n1"] });
  assert.deepEqual(result.actions.filter((a) => a.type !== "pseudo"), []);
});

Deno.test("scheduler input: a pending start counts as running there (no second start)", () => {
  const pending: ReportedResource = { ...stopped(), pending: "start" };
  const doc = buildSchedulerInput(input({
    n1: member({ web: stopped() }),
    n2: member({ web: pending }),
    n3: member({ web: stopped() }),
  }));
  const last = doc.status.nodes.n2.resources.web.operations.at(-1)!;
  assert.equal(last.status, "pending");
  const result = schedule(doc, { now: NOW });
  assert.ok(
    !result.actions.some((a) => a.task === "start" && a.node !== "n2"),
    `no start elsewhere: ${result.summary}`,
  );
});

Deno.test("scheduler input: a pending stop keeps the resource active there until it ends", () => {
  const stopping: ReportedResource = { ...running(), pending: "stop" };
  const doc = buildSchedulerInput(input({
    n1: member({ web: stopped() }),
    n2: member({ web: stopping }),
    n3: member({ web: stopped() }),
  }, {
    doc: cibDocumentSchema.parse({
      ...cib(),
      config: { ...cib().config, constraints: { locations: [] }, nodes: cib().config.nodes },
    }),
  }));
  const result = schedule(doc, { now: NOW });
  const start = result.actions.find((a) => a.task === "start" && a.resource === "web");
  if (start) {
    const stop = result.actions.find((a) =>
      a.task === "stop" && a.resource === "web" && a.node === "n2"
    );
    assert.ok(stop, `a start elsewhere waits for a stop on n2: ${result.summary}`);
  }
  assert.ok(
    result.placement.web.nodes.length <= 1,
    `one placement: ${JSON.stringify(result.placement.web)}`,
  );
});

Deno.test("scheduler input: a failed recurring monitor is not hidden by the active one", () => {
  const failed: ReportedResource = {
    ...running(),
    ops: [["start", 0, 0, 3, "done"], ["monitor", 1000, 7, 9, "done"]],
    failCount: 1,
  };
  const records = historyRecords(failed, 1000);
  assert.deepEqual(records.map((o) => `${o.operation}_${o.intervalMs}:${o.rc}`), [
    "start_0:0",
    "monitor_1000:7",
  ]);
  const doc = buildSchedulerInput(input({
    n1: member({ web: failed }),
    n2: member({ web: stopped() }),
    n3: member({ web: stopped() }),
  }));
  const result = schedule(doc, { now: NOW });
  assert.ok(result.summary.some((l) => /Recover\s+web/.test(l)), result.summary.join("\n"));
});

Deno.test("scheduler input: failures become fail counts; a recurring monitor older than the last start is dropped", () => {
  const r: ReportedResource = {
    agent: "Dummy",
    monitorMs: 1000,
    ops: [
      ["monitor", 1000, 7, 2, "done"],
      ["stop", 0, 0, 3, "done"],
      ["start", 0, 0, 4, "done"],
    ],
    pending: null,
    failCount: 2,
    lastFailure: 1_699_999_000,
  };
  const records = historyRecords(r, 1000);
  assert.deepEqual(records.map((o) => `${o.operation}_${o.intervalMs}:${o.rc}`), [
    "stop_0:0",
    "start_0:0",
    "monitor_1000:0",
  ]);
  const doc = buildSchedulerInput(input({ n1: member({ web: r }) }));
  assert.deepEqual(doc.status.nodes.n1.failures.web, { count: 2, lastFailure: 1_699_999_000 });
});

Deno.test("scheduler input: a dead node with the resource is fenced first with stonith, ignored without", () => {
  const nodes = {
    n1: member({ web: stopped() }),
    n2: member({ web: stopped() }),
    n3: { member: false, report: { web: running() }, cleanlyDown: false },
  };
  const off = buildSchedulerInput(input(nodes));
  assert.equal(off.status.nodes.n3.expected, "member");
  assert.equal(off.status.nodes.n3.inMembership, false);
  const withoutFencing = schedule(off, { now: NOW });
  assert.deepEqual(withoutFencing.fence, []);
  assert.equal(withoutFencing.placement.web.nodes.length, 1);
  assert.notEqual(withoutFencing.placement.web.nodes[0], "n3");

  // Fencing enabled, but no fence device: resources are left alone, nothing fenced.
  const noDevice = schedule(buildSchedulerInput(input(nodes, { doc: cib({ stonith: true }) })), {
    now: NOW,
  });
  assert.deepEqual(noDevice.fence, []);
  assert.ok(!noDevice.actions.some((a) => a.task === "start"), noDevice.summary.join("\n"));

  // With a configured fence driver the daemon tells the scheduler fencing is available.
  const on = buildSchedulerInput(input(nodes, { doc: cib({ stonith: true }) }));
  const withFencing = schedule(on, { now: NOW, fencingAvailable: true });
  assert.deepEqual(withFencing.fence, ["n3"]);
  const fence = withFencing.actions.find((a) => a.type === "fence" && a.node === "n3");
  const start = withFencing.actions.find((a) => a.task === "start" && a.resource === "web");
  assert.ok(fence && start, withFencing.summary.join("\n"));
  // The start waits (directly or through pseudo actions) for the fence.
  const waits = (id: number, seen = new Set<number>()): boolean => {
    if (id === fence.id) return true;
    if (seen.has(id)) return false;
    seen.add(id);
    return withFencing.actions[id].inputs.some((i) => waits(i, seen));
  };
  assert.ok(waits(start.id), "start after fence");

  // Once fenced (cleanly down), it is not fenced again.
  const fenced = buildSchedulerInput(input({
    ...nodes,
    n3: { member: false, report: { web: running() }, cleanlyDown: true },
  }, { doc: cib({ stonith: true }) }));
  assert.equal(fenced.status.nodes.n3.expected, "down");
  assert.deepEqual(fenced.status.nodes.n3.resources, {});
  const after = schedule(fenced, { now: NOW, fencingAvailable: true });
  assert.deepEqual(after.fence, []);
  assert.equal(after.placement.web.nodes.length, 1);
  // Nothing the DC added to its input is ever probed or started.
  assert.ok(!after.actions.some((a) => a.resource?.startsWith("vigil-dc-fence")));
});

Deno.test("scheduler input: yield bans and ping scores go into the copy only; moves expire", () => {
  const doc = cib({ expiresAt: NOW - 1 });
  const built = buildSchedulerInput(input({
    n1: member({ web: running() }),
    n2: member({ web: stopped() }),
    n3: member({ web: stopped() }),
  }, { doc, bans: [{ resource: "web", node: "n1" }], nodeScores: { n2: 500, n3: 0 } }));
  const locs = built.config.constraints.locations;
  assert.ok(!locs.some((l) => l.id === "cli-prefer-web"), "the expired move is gone");
  assert.ok(locs.some((l) => l.node === "n1" && l.score === -INFINITY));
  assert.ok(locs.some((l) => l.node === "n2" && l.score === 500));
  assert.ok(!locs.some((l) => l.node === "n3" && l.score === 0), "a zero score adds nothing");
  assert.equal(doc.config.constraints.locations.length, 1, "the replicated CIB is untouched");
  // Banned from n1 and pulled to n2 by connectivity: it moves there.
  assert.deepEqual(schedule(built, { now: NOW }).placement.web.nodes, ["n2"]);
});

Deno.test("scheduler input: quorum pending freezes, no quorum stops", () => {
  const nodes = { n1: member({ web: running() }) };
  const pending = buildSchedulerInput(
    input(nodes, { quorate: false, quorumPending: true }),
  );
  assert.equal(pending.config.options.noQuorumPolicy, "freeze");
  assert.equal(pending.status.haveQuorum, false);
  assert.deepEqual(schedule(pending, { now: NOW }).placement.web.nodes, ["n1"]);
  const lost = buildSchedulerInput(input(nodes, { quorate: false }));
  assert.deepEqual(schedule(lost, { now: NOW }).placement.web.nodes, []);
});

Deno.test("scheduler input: primitives of groups and clones, instance ids", () => {
  const doc = cibDocumentSchema.parse({
    config: {
      nodes: [{ name: "n1" }],
      resources: [
        {
          kind: "group",
          id: "g",
          members: [{ id: "a", agent: "Dummy" }, { id: "b", agent: "Dummy" }],
        },
        { kind: "clone", id: "c", resource: { id: "p", agent: "Dummy" } },
      ],
    },
  });
  assert.deepEqual(cibPrimitives(doc.config.resources).map((p) => p.id), ["a", "b", "p"]);
  assert.equal(baseId("p:2"), "p");
  assert.equal(baseId("web"), "web");
});
