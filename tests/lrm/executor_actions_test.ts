import assert from "node:assert/strict";
import { z } from "zod";
import { agentMetadataXml } from "../../core/lrm/agent_metadata.ts";
import { DEFAULT_ACTION_TIMEOUT_MS, OperationExecutor } from "../../core/lrm/executor.ts";
import {
  type AgentContext,
  defineResourceAgent,
  OCF,
  type ResourceAgentDefinition,
} from "../../plugins/resource_agent.ts";
import { parseOcfMetadata } from "../../ra/ocf_metadata.ts";
import Dummy from "../../ra/dummy.ts";

const params = z.object({
  port: z.number().int().min(1).default(80).describe("TCP <port> & more"),
  name: z.string().describe("instance name"),
});

/** An agent recording the context of every call; `extra` adds optional actions. */
function recordingAgent(
  seen: Array<{ action: string; ctx: AgentContext<unknown> }>,
  extra: Partial<ResourceAgentDefinition["actions"]> = {},
): ResourceAgentDefinition {
  const record = (action: string) => (ctx: AgentContext<unknown>) => {
    seen.push({ action, ctx });
    return Promise.resolve(OCF.OK);
  };
  return defineResourceAgent({
    kind: "resource-agent",
    name: "Rec",
    version: "2.1.0",
    description: "records calls",
    params,
    actions: { start: record("start"), stop: record("stop"), monitor: record("monitor"), ...extra },
    timeouts: { start: 3_000, stop: 4_000, monitor: 5_000 },
    metadata: { longDescription: "Records every call it gets." },
  });
}

const executor = () => new OperationExecutor({ node: "n1", stateDir: "/tmp/vigil-lrm-actions" });

Deno.test("executor: the context carries the operation's timeout, and depth for monitors", async () => {
  const seen: Array<{ action: string; ctx: AgentContext<unknown> }> = [];
  const agent = recordingAgent(seen);
  const exec = executor();
  const p = { name: "x" };
  await exec.run({ resourceId: "r", agent, action: "monitor", params: p, depth: 20 });
  await exec.run({ resourceId: "r", agent, action: "monitor", params: p, timeoutMs: 750 });
  await exec.run({ resourceId: "r", agent, action: "start", params: p, depth: 20 });
  assert.deepEqual(
    seen.map((s) => [s.action, s.ctx.timeoutMs, s.ctx.depth]),
    [["monitor", 5_000, 20], ["monitor", 750, 0], ["start", 3_000, undefined]],
  );
  // Parsed params (with the schema's default) reach the agent.
  assert.deepEqual(seen[0].ctx.params, { port: 80, name: "x" });
  for (const depth of [-1, 1.5, 1001]) {
    await assert.rejects(
      exec.run({ resourceId: "r", agent, action: "monitor", params: p, depth }),
      RangeError,
    );
  }
});

Deno.test("executor: promote, demote and notify run when the agent has them, else unsupported", async () => {
  const seen: Array<{ action: string; ctx: AgentContext<unknown> }> = [];
  const promote = (ctx: AgentContext<unknown>) => {
    seen.push({ action: "promote", ctx });
    return Promise.resolve(OCF.OK);
  };
  const withPromote = recordingAgent(seen, { promote });
  const exec = executor();
  const p = { name: "x" };
  const ok = await exec.run({ resourceId: "r", agent: withPromote, action: "promote", params: p });
  assert.deepEqual([ok.status, ok.rc], ["done", OCF.OK]);
  assert.equal(seen[0].ctx.timeoutMs, DEFAULT_ACTION_TIMEOUT_MS, "no promote timeout: default");
  for (const action of ["demote", "notify"] as const) {
    const r = await exec.run({ resourceId: "r", agent: withPromote, action, params: p });
    assert.equal(r.status, "unsupported");
    assert.equal(r.rc, OCF.ERR_UNIMPLEMENTED);
    assert.equal(r.rcText, "unimplemented feature");
    assert.match(r.output, new RegExp(`Rec does not implement ${action}`));
  }
  assert.equal(seen.length, 1);
});

Deno.test("executor: validate checks the schema, then runs the agent's validate if any", async () => {
  const seen: Array<{ action: string; ctx: AgentContext<unknown> }> = [];
  const exec = executor();
  const plain = recordingAgent(seen);
  const good = await exec.run({
    resourceId: "r",
    agent: plain,
    action: "validate",
    params: { name: "x" },
  });
  assert.deepEqual([good.status, good.rc], ["done", OCF.OK]);
  const bad = await exec.run({ resourceId: "r", agent: plain, action: "validate", params: {} });
  assert.deepEqual([bad.status, bad.rc], ["invalid-params", OCF.ERR_CONFIGURED]);
  assert.match(bad.output, /name: /);

  const validate = (ctx: AgentContext<unknown>) => {
    seen.push({ action: "validate", ctx });
    return Promise.resolve(OCF.ERR_INSTALLED);
  };
  const strict = recordingAgent(seen, { validate });
  const r = await exec.run({
    resourceId: "r",
    agent: strict,
    action: "validate",
    params: { name: "x" },
  });
  assert.deepEqual([r.status, r.rc, r.rcText], ["done", OCF.ERR_INSTALLED, "not installed"]);
  assert.deepEqual(seen.map((s) => s.action), ["validate"]);
});

Deno.test("executor: meta-data describes the agent as OCF XML without running it", async () => {
  const seen: Array<{ action: string; ctx: AgentContext<unknown> }> = [];
  const agent = recordingAgent(seen, { notify: () => Promise.resolve(OCF.OK) });
  // Invalid params do not matter: meta-data needs none.
  const r = await executor().run({ resourceId: "r", agent, action: "meta-data", params: {} });
  assert.deepEqual([r.status, r.rc], ["done", OCF.OK]);
  assert.equal(seen.length, 0);
  assert.equal(r.output, agentMetadataXml(agent));
  assert.match(r.output, /^<\?xml version="1.0"\?>\n<!DOCTYPE resource-agent/);
  assert.match(r.output, /<resource-agent name="Rec" version="2.1.0">/);
  assert.match(r.output, /<longdesc lang="en">Records every call it gets.<\/longdesc>/);
  assert.match(
    r.output,
    /<parameter name="port" required="0" unique="0">\n<longdesc lang="en">TCP &lt;port&gt; &amp; more<\/longdesc>/,
  );
  assert.match(r.output, /<content type="integer" default="80"\/>/);
  assert.match(r.output, /<parameter name="name" required="1"/);
  assert.match(r.output, /<action name="notify" timeout="3s"\/>/);
  assert.doesNotMatch(r.output, /name="promote"/);

  // Vigil's own OCF reader reads it back: timeouts, version, descriptions, parameters.
  const meta = parseOcfMetadata(r.output);
  assert.deepEqual(meta.actionTimeouts, {
    start: 3_000,
    stop: 4_000,
    monitor: 5_000,
    notify: 3_000,
    "validate-all": 5_000,
    "meta-data": 5_000,
  });
  assert.equal(meta.version, "2.1.0");
  assert.equal(meta.shortdesc, "records calls");
  assert.deepEqual(meta.parameters.map((p) => [p.name, p.required, p.type, p.default]), [
    ["port", false, "integer", "80"],
    ["name", true, "string", undefined],
  ]);
  assert.equal(meta.parameters[0].shortdesc, "TCP <port> & more");
});

Deno.test("executor: meta-data of the built-in Dummy lists its optional state parameter", () => {
  const meta = parseOcfMetadata(agentMetadataXml(Dummy));
  assert.deepEqual(meta.parameters.map((p) => [p.name, p.required]), [["state", false]]);
  assert.equal(meta.actionTimeouts.start, 20_000);
});

Deno.test("executor: beyond maxQueued waiting operations, run reports an error at once", async () => {
  const release: Array<() => void> = [];
  const agent = defineResourceAgent({
    kind: "resource-agent",
    name: "Slow",
    version: "0",
    description: "waits until released",
    params: z.object({}),
    actions: {
      start: () => new Promise<number>((resolve) => release.push(() => resolve(OCF.OK))),
      stop: () => Promise.resolve(OCF.OK),
      monitor: () => Promise.resolve(OCF.OK),
    },
    timeouts: { start: 5_000, stop: 5_000, monitor: 5_000 },
  });
  const exec = new OperationExecutor({
    node: "n1",
    stateDir: "/tmp",
    maxConcurrent: 2,
    maxQueued: 3,
  });
  const runs = Array.from(
    { length: 5 },
    (_, i) => exec.run({ resourceId: `r${i}`, agent, action: "start", params: {} }),
  );
  assert.equal(exec.running, 2);
  assert.equal(exec.queued, 3);
  const refused = await exec.run({ resourceId: "r5", agent, action: "start", params: {} });
  assert.equal(refused.status, "error");
  assert.equal(refused.rc, OCF.ERR_GENERIC);
  assert.match(refused.output, /refused: 3 operations queued/);
  // Release one at a time: never more than 2 running, all 5 complete.
  for (let i = 0; i < 50 && (release.length > 0 || exec.running > 0); i++) {
    assert.ok(exec.running <= 2);
    release.shift()?.();
    await new Promise((r) => setTimeout(r, 1));
  }
  const results = await Promise.all(runs);
  assert.ok(results.every((r) => r.status === "done" && r.rc === OCF.OK));
  assert.throws(
    () => new OperationExecutor({ node: "n", stateDir: "/tmp", maxQueued: -1 }),
    RangeError,
  );
});
