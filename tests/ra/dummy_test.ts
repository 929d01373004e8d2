import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import Dummy from "../../ra/dummy.ts";
import { findResourceAgent } from "../../ra/builtin.ts";
import { type AgentContext, OCF } from "../../plugins/resource_agent.ts";
import { runResourceAgentContract } from "../plugins/resource_agent_contract.ts";

// Explicit state file path.
runResourceAgentContract(Dummy, (tmpDir) => ({ state: `${tmpDir}/dummy.state` }), {
  invalidParams: [{ state: 42 }, { state: "" }],
});

function context(stateDir: string, params: { state?: string }): AgentContext<{ state?: string }> {
  return {
    params,
    resourceId: "d1",
    node: "alpha",
    stateDir,
    signal: new AbortController().signal,
    timeoutMs: 20_000,
    log: () => {},
  };
}

Deno.test("Dummy: default state file lives in stateDir, named after the resource", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigil-dummy-" });
  try {
    const ctx = context(dir, Dummy.params.parse({}));
    const path = `${dir}/Dummy-d1.state`;
    assert.equal(await Dummy.actions.start(ctx), OCF.OK);
    assert.ok(existsSync(path));
    assert.equal(await Deno.readTextFile(path), "alpha\n");
    assert.equal(await Dummy.actions.monitor(ctx), OCF.OK);
    assert.equal(await Dummy.actions.stop(ctx), OCF.OK);
    assert.ok(!existsSync(path));
    assert.equal(await Dummy.actions.monitor(ctx), OCF.NOT_RUNNING);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Dummy: start creates missing parent directories of the state file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigil-dummy-" });
  try {
    const ctx = context(dir, { state: `${dir}/a/b/c.state` });
    assert.equal(await Dummy.actions.start(ctx), OCF.OK);
    assert.equal(await Dummy.actions.monitor(ctx), OCF.OK);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Dummy: start fails with ERR_GENERIC and logs when the file cannot be written", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigil-dummy-" });
  try {
    await Deno.writeTextFile(`${dir}/file`, "");
    const lines: string[] = [];
    // The parent "directory" is a regular file, so the write must fail.
    const ctx = {
      ...context(dir, { state: `${dir}/file/x.state` }),
      log: (l: string) => lines.push(l),
    };
    assert.equal(await Dummy.actions.start(ctx), OCF.ERR_GENERIC);
    assert.match(lines.join("\n"), /cannot write/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Dummy: registered as a built-in", () => {
  assert.equal(findResourceAgent("Dummy"), Dummy);
  assert.equal(findResourceAgent("dummy"), undefined);
});
