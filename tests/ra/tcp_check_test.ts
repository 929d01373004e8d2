import assert from "node:assert/strict";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer as createTcpServer, type Server as TcpServer } from "node:net";
import { existsSync } from "node:fs";
import TcpCheck, { HttpCheck, probeHttp, probeTcp } from "../../ra/tcp_check.ts";
import { findResourceAgent } from "../../ra/builtin.ts";
import { describeParams } from "../../plugins/param_description.ts";
import { type AgentContext, OCF } from "../../plugins/resource_agent.ts";
import { runResourceAgentContract } from "../plugins/resource_agent_contract.ts";

// Local servers the contract's monitors reach; made once for the file, closed by the last
// test (unref'd, so a filtered run does not hang on them either).
function listening<S extends TcpServer | HttpServer>(server: S): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.unref();
      resolve((server.address() as { port: number }).port);
    });
  });
}

const tcpServer = createTcpServer((socket) => socket.destroy());
const tcpPort = await listening(tcpServer);
const httpServer = createHttpServer((req, res) => {
  const status = Number(new URL(req.url ?? "/", "http://x").searchParams.get("status") ?? 200);
  res.writeHead(status, { "content-type": "text/plain", connection: "close" });
  res.end("body that the check does not read\n");
});
const httpPort = await listening(httpServer);

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const s = createTcpServer();
  const port = await listening(s);
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

runResourceAgentContract(TcpCheck, (dir) => ({ port: tcpPort, state: `${dir}/tcp.state` }), {
  invalidParams: [
    {},
    { port: 0 },
    { port: 70000 },
    { port: "80x" },
    { port: 80, host: "" },
    { port: 80, host: "a b" },
    { port: 80, connect_timeout: 0 },
  ],
});

runResourceAgentContract(
  HttpCheck,
  (dir) => ({ url: `http://127.0.0.1:${httpPort}/health`, state: `${dir}/http.state` }),
  {
    invalidParams: [
      {},
      { url: "ftp://127.0.0.1/" },
      { url: "not a url" },
      { url: "http://127.0.0.1/", expect_status: 99 },
      { url: "http://127.0.0.1/", request_timeout: "soon" },
    ],
  },
);

Deno.test("TcpCheck: every parameter is described; defaults show in the description table", () => {
  const rows = describeParams(TcpCheck.params);
  assert.ok(rows.length > 0);
  for (const row of rows) assert.ok(row.description, `${row.name} has no description`);
  for (
    const [name, value] of [["connect_timeout", 2_000], ["host", "127.0.0.1"]] as [
      string,
      unknown,
    ][]
  ) {
    assert.deepEqual(rows.find((r) => r.name === name)?.default, value, name);
  }
});

Deno.test("HttpCheck: every parameter is described", () => {
  const rows = describeParams(HttpCheck.params);
  for (const row of rows) assert.ok(row.description, `${row.name} has no description`);
  assert.equal(rows.find((r) => r.name === "request_timeout")?.default, 5_000);
});

Deno.test("TcpCheck/HttpCheck: registered as built-ins", () => {
  assert.equal(findResourceAgent("TcpCheck"), TcpCheck);
  assert.equal(findResourceAgent("HttpCheck"), HttpCheck);
});

Deno.test("probeTcp: an open port is healthy, a closed one names the error", async () => {
  assert.equal(await probeTcp("127.0.0.1", tcpPort, 2000), undefined);
  const failure = await probeTcp("127.0.0.1", await closedPort(), 2000);
  assert.match(failure ?? "", /ECONNREFUSED|refused/i);
});

Deno.test("probeTcp: an aborted signal ends the probe", async () => {
  const controller = new AbortController();
  controller.abort();
  assert.equal(await probeTcp("127.0.0.1", tcpPort, 2000, controller.signal), "aborted");
});

Deno.test("probeHttp: the status decides; 3xx counts by default, redirects are not followed", async () => {
  const base = `http://127.0.0.1:${httpPort}/`;
  assert.equal(await probeHttp(base, undefined, 2000), undefined);
  assert.equal(await probeHttp(`${base}?status=302`, undefined, 2000), undefined);
  assert.match((await probeHttp(`${base}?status=503`, undefined, 2000))!, /status 503/);
  assert.equal(await probeHttp(`${base}?status=204`, 204, 2000), undefined);
  assert.match((await probeHttp(base, 204, 2000))!, /status 200, expected 204/);
});

Deno.test("probeHttp: a server that never answers times out", async () => {
  // Accepts connections but never writes a byte.
  const held: import("node:net").Socket[] = [];
  const silent = createTcpServer((socket) => held.push(socket));
  const port = await listening(silent);
  try {
    const t0 = performance.now();
    const failure = await probeHttp(`http://127.0.0.1:${port}/`, undefined, 300);
    assert.match(failure ?? "", /no response within 300 ms/);
    assert.ok(performance.now() - t0 < 2000);
  } finally {
    for (const s of held) s.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  }
});

function context<P>(params: P, stateDir: string, lines: string[]): AgentContext<P> {
  return {
    params,
    resourceId: "chk",
    node: "n1",
    stateDir,
    signal: new AbortController().signal,
    timeoutMs: 20_000,
    log: (line) => lines.push(line),
  };
}

Deno.test("TcpCheck: started but the port is closed is ERR_GENERIC; stopped is NOT_RUNNING", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigil-tcpcheck-" });
  try {
    const lines: string[] = [];
    const port = await closedPort();
    const ctx = context(TcpCheck.params.parse({ port: String(port) }), dir, lines);
    assert.equal(await TcpCheck.actions.monitor(ctx), OCF.NOT_RUNNING);
    assert.equal(await TcpCheck.actions.start(ctx), OCF.OK);
    assert.ok(existsSync(`${dir}/TcpCheck-chk.state`), "default state file in stateDir");
    assert.equal(await TcpCheck.actions.monitor(ctx), OCF.ERR_GENERIC);
    assert.match(lines.join("\n"), new RegExp(`127\\.0\\.0\\.1:${port}: .*refused`, "i"));
    assert.equal(await TcpCheck.actions.stop(ctx), OCF.OK);
    assert.equal(await TcpCheck.actions.monitor(ctx), OCF.NOT_RUNNING);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("HttpCheck: a wrong status while started is ERR_GENERIC", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigil-httpcheck-" });
  try {
    const lines: string[] = [];
    const url = `http://127.0.0.1:${httpPort}/?status=500`;
    const ctx = context(HttpCheck.params.parse({ url }), dir, lines);
    assert.equal(await HttpCheck.actions.start(ctx), OCF.OK);
    assert.equal(await HttpCheck.actions.monitor(ctx), OCF.ERR_GENERIC);
    assert.match(lines.join("\n"), /status 500, expected 2xx or 3xx/);
    const wanted = context(HttpCheck.params.parse({ url, expect_status: "500" }), dir, lines);
    assert.equal(await HttpCheck.actions.monitor(wanted), OCF.OK);
    assert.equal(await HttpCheck.actions.stop(ctx), OCF.OK);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("TcpCheck/HttpCheck: close the local servers", async () => {
  await new Promise<void>((resolve) => tcpServer.close(() => resolve()));
  httpServer.closeAllConnections();
  await new Promise<void>((resolve) => httpServer.close(() => resolve()));
  assert.equal(tcpServer.listening, false);
  assert.equal(httpServer.listening, false);
});
