import assert from "node:assert/strict";
import { createServer } from "node:net";
import HttpService from "../../ra/http_service.ts";
import { findResourceAgent } from "../../ra/builtin.ts";
import { type AgentContext, OCF } from "../../plugins/resource_agent.ts";
import { runResourceAgentContract } from "../plugins/resource_agent_contract.ts";

/** A TCP port that was free a moment ago: the OS picks one for a throwaway listener. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        reject(new Error("no port"));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

const contractPort = await freePort();

runResourceAgentContract(HttpService, () => ({ address: "127.0.0.1", port: contractPort }), {
  invalidParams: [
    {},
    { port: 0 },
    { port: 65536 },
    { port: 80.5 },
    { port: "http" },
    { address: 1, port: 8080 },
  ],
});

type Params = { address: string; port: number };

function context(
  resourceId: string,
  node: string,
  port: number,
  lines: string[] = [],
): AgentContext<Params> {
  return {
    params: HttpService.params.parse({ port }),
    resourceId,
    node,
    stateDir: "/nonexistent/vigil-test",
    signal: new AbortController().signal,
    timeoutMs: 20_000,
    log: (line) => lines.push(line),
  };
}

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

Deno.test("HttpService: GET / answers with the serving node's name, other paths 404", async () => {
  const port = await freePort();
  const ctx = context("web", "alpha", port);
  assert.equal(await HttpService.actions.start(ctx), OCF.OK);
  try {
    assert.deepEqual(await get(port, "/"), { status: 200, body: "alpha\n" });
    assert.deepEqual(await get(port, "/?probe=1"), { status: 200, body: "alpha\n" });
    assert.equal((await get(port, "/other")).status, 404);
  } finally {
    assert.equal(await HttpService.actions.stop(ctx), OCF.OK);
  }
  await assert.rejects(fetch(`http://127.0.0.1:${port}/`));
});

Deno.test("HttpService: a second resource on a held port fails with ERR_GENERIC", async () => {
  const port = await freePort();
  const first = context("web-a", "alpha", port);
  const lines: string[] = [];
  const second = context("web-b", "beta", port, lines);
  assert.equal(await HttpService.actions.start(first), OCF.OK);
  try {
    assert.equal(await HttpService.actions.start(second), OCF.ERR_GENERIC);
    assert.match(lines.join("\n"), /cannot listen on 127\.0\.0\.1:\d+: .*(EADDRINUSE|in use)/i);
    // The failed start leaves nothing behind: the second resource is not running.
    assert.equal(await HttpService.actions.monitor(second), OCF.NOT_RUNNING);
    assert.equal(await HttpService.actions.stop(second), OCF.OK);
    // ...and the first still serves.
    assert.equal(await HttpService.actions.monitor(first), OCF.OK);
    assert.deepEqual(await get(port, "/"), { status: 200, body: "alpha\n" });
  } finally {
    assert.equal(await HttpService.actions.stop(first), OCF.OK);
  }
  // Once the first lets go, the second can take over the port.
  assert.equal(await HttpService.actions.start(second), OCF.OK);
  try {
    assert.deepEqual(await get(port, "/"), { status: 200, body: "beta\n" });
  } finally {
    assert.equal(await HttpService.actions.stop(second), OCF.OK);
  }
});

Deno.test("HttpService: same resource id under different stateDirs are separate resources", async () => {
  const port = await freePort();
  const onAlpha = { ...context("web", "alpha", port), stateDir: "/tmp/vigil-test-alpha" };
  const onBeta = { ...context("web", "beta", port), stateDir: "/tmp/vigil-test-beta" };
  assert.equal(await HttpService.actions.start(onAlpha), OCF.OK);
  try {
    assert.equal(await HttpService.actions.monitor(onBeta), OCF.NOT_RUNNING);
    assert.equal(await HttpService.actions.start(onBeta), OCF.ERR_GENERIC);
  } finally {
    assert.equal(await HttpService.actions.stop(onAlpha), OCF.OK);
  }
});

Deno.test("HttpService: stop closes keep-alive connections and resolves", async () => {
  const port = await freePort();
  const ctx = context("web", "alpha", port);
  assert.equal(await HttpService.actions.start(ctx), OCF.OK);
  // fetch keeps the connection open for reuse; stop must not hang on it.
  assert.equal((await get(port, "/")).status, 200);
  assert.equal(await HttpService.actions.stop(ctx), OCF.OK);
  assert.equal(await HttpService.actions.monitor(ctx), OCF.NOT_RUNNING);
});

Deno.test("HttpService: start on a different port while running fails", async () => {
  const port = await freePort();
  const ctx = context("web", "alpha", port);
  assert.equal(await HttpService.actions.start(ctx), OCF.OK);
  try {
    const lines: string[] = [];
    const moved = { ...ctx, params: { ...ctx.params, port: port === 65535 ? 1 : port + 1 } };
    assert.equal(
      await HttpService.actions.start({ ...moved, log: (l: string) => lines.push(l) }),
      OCF.ERR_GENERIC,
    );
    assert.match(lines.join("\n"), /already serving/);
  } finally {
    assert.equal(await HttpService.actions.stop(ctx), OCF.OK);
  }
});

Deno.test("HttpService: port accepts a decimal string, as CIB parameters are strings", () => {
  assert.deepEqual(HttpService.params.parse({ port: "8080" }), {
    address: "127.0.0.1",
    port: 8080,
  });
});

Deno.test("HttpService: registered as a built-in", () => {
  assert.equal(findResourceAgent("HttpService"), HttpService);
});
