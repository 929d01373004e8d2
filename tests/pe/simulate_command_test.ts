import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CliIo, UsageError } from "../../core/cli/command.ts";
import { simulateCommand } from "../../core/cli/simulate_command.ts";
import { injectOpFailure, parseOpFailure } from "../../core/pe/scheduler/inject.ts";
import { buildCib, prim } from "./cib_builder.ts";

function collector(): CliIo & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, out: (t) => lines.push(t), err: (t) => errors.push(t) };
}

const CIB = buildCib({
  options: { stickiness: 100 },
  resources: [prim("web", { operations: [{ name: "monitor", intervalMs: 10_000 }] }), prim("db")],
  locations: [{ id: "l", resource: "web", node: "n1", score: 100 }],
  running: { web: "n1", db: "n2" },
});

async function withCibFile(body: (path: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "vigil-simulate-"));
  try {
    const path = join(dir, "cib.json");
    writeFileSync(path, JSON.stringify(CIB));
    await body(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

Deno.test("simulate --json prints the corpus format: resources and fence only", async () => {
  await withCibFile(async (path) => {
    const io = collector();
    assert.equal(await simulateCommand.run(["--cib", path, "--json", "--node-fail", "n1"], io), 0);
    const out = JSON.parse(io.lines.join("\n"));
    assert.deepEqual(Object.keys(out).sort(), ["fence", "resources"]);
    assert.deepEqual(out.resources.web, { role: "Started", nodes: ["n2"] });
    assert.deepEqual(out.resources.db, { role: "Started", nodes: ["n2"] });
    assert.deepEqual(out.fence, []);
  });
});

Deno.test("simulate prints the transition summary and the revised placement", async () => {
  await withCibFile(async (path) => {
    const io = collector();
    assert.equal(await simulateCommand.run(["--cib", path, "--op-fail", "web:monitor:n1"], io), 0);
    const text = io.lines.join("\n");
    assert.match(text, /Transition Summary:\n {2}\* Recover +web +\( n1 \)/);
    assert.match(text, /Revised placement:\n {2}web +Started n1\n {2}db +Started n2/);
  });
});

Deno.test("simulate --explain prints scores per node and a reason", async () => {
  await withCibFile(async (path) => {
    const io = collector();
    await simulateCommand.run(["--cib", path, "--explain"], io);
    const text = io.lines.join("\n");
    assert.match(
      text,
      /web: n1\n\s+scores: n1=200 n2=0 n3=0\n\s+why: on n1, the best node \(score 200\): location l gives 100 on n1/,
    );
  });
});

Deno.test("simulate --graph prints actions with inputs", async () => {
  await withCibFile(async (path) => {
    const io = collector();
    await simulateCommand.run(["--cib", path, "--graph", "--node-fail", "n1"], io);
    const graph = JSON.parse(io.lines.join("\n"));
    const start = graph.actions.find((a: { key: string }) => a.key === "web_start_0");
    assert.equal(start.node, "n2");
    assert.ok(Array.isArray(start.inputs));
  });
});

Deno.test("simulate usage errors name the option", async () => {
  const io = collector();
  await assert.rejects(() => simulateCommand.run(["--json"], io), UsageError);
  await withCibFile(async (path) => {
    await assert.rejects(
      () => simulateCommand.run(["--cib", path, "--node-fail", "nope"], io),
      /no node "nope"/,
    );
    await assert.rejects(
      () => simulateCommand.run(["--cib", path, "--op-fail", "web:monitor"], io),
      /RSC:OP:NODE/,
    );
  });
});

Deno.test("op-fail specs: resource ids may contain ':'; rc after '='", () => {
  assert.deepEqual(parseOpFailure("child:0:monitor:n2=7"), {
    resource: "child:0",
    operation: "monitor",
    node: "n2",
    rc: 7,
  });
  const failed = injectOpFailure(CIB, parseOpFailure("web:monitor:n1"));
  const ops = failed.status.nodes.n1.resources.web.operations;
  assert.equal(ops[ops.length - 1].intervalMs, 10_000, "the configured monitor's interval");
  assert.equal(failed.status.nodes.n1.failures.web.count, 1);
  assert.equal(CIB.status.nodes.n1.resources.web.operations.length, 1, "the input is not modified");
});
