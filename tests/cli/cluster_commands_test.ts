/**
 * `vigil resource|node|config|standby|takeover` against a fake node API on
 * loopback: what each command sends, what it prints, and how errors surface.
 * (The same commands against a real 3-node cluster: tests/e2e/cli_cluster_test.ts.)
 */

import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CibUpdate, cibUpdateSchema } from "../../core/cib/cib_update.ts";
import { parseCibDocument } from "../../core/cib/schema/document.ts";
import { ApiError } from "../../core/cli/api_client.ts";
import type { CliCommand, CliIo } from "../../core/cli/command.ts";
import { configCommand } from "../../core/cli/config_command.ts";
import { explainCommand } from "../../core/cli/explain_command.ts";
import { nodeCommand, standbyCommand, takeoverCommand } from "../../core/cli/node_command.ts";
import { resourceCommand } from "../../core/cli/resource_command.ts";
import { renderStatus } from "../../core/cli/status_view.ts";

const CIB = (() => {
  const r = parseCibDocument({
    version: { epoch: 4 },
    config: {
      nodes: [{ name: "n1" }, { name: "n2", standby: true }],
      resources: [
        { id: "db", agent: "Dummy" },
        { kind: "group", id: "web", members: [{ id: "ip", agent: "IPaddr" }] },
      ],
      constraints: {
        locations: [{ id: "cli-prefer-db", resource: "db", node: "n1", score: "INFINITY" }],
      },
    },
  });
  if (!r.ok) throw new Error(r.errors.join("\n"));
  return r.cib;
})();

const STATUS = {
  node: "n2",
  nodes: ["n1", "n2"],
  membership: { members: ["n1", "n2"], generation: 3 },
  dc: "n1",
  resources: [
    { id: "db", agent: "Dummy", on: [{ node: "n1", state: "started", failCount: 2 }] },
    { id: "ip", agent: "IPaddr", on: [] },
  ],
};

interface FakeApi {
  api: string;
  updates: CibUpdate[];
  cleanups: unknown[];
  refuse: string | null;
  close(): Promise<void>;
}

async function fakeApi(): Promise<FakeApi> {
  const state: FakeApi = {
    api: "",
    updates: [],
    cleanups: [],
    refuse: null,
    close: () => new Promise((r) => server.close(() => r())),
  };
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const send = (code: number, value: unknown) => {
        res.writeHead(code, { "content-type": "application/json" });
        res.end(JSON.stringify(value));
      };
      if (req.method === "GET" && req.url === "/cib") {
        return send(200, { cib: CIB, stamp: { term: 3, version: CIB.version, digest: "x" } });
      }
      if (req.method === "GET" && req.url === "/status") return send(200, STATUS);
      if (req.method === "GET" && req.url === "/explain/db") {
        return send(200, {
          resource: "db",
          node: "n1",
          scores: { n1: 1_000_000, n2: null },
          reason: "db is on n1: cli-prefer-db prefers n1 with INFINITY",
          details: ["n2 is in standby"],
        });
      }
      if (req.method === "GET" && req.url?.startsWith("/explain/")) {
        return send(404, { error: `no resource "${req.url.slice(9)}"` });
      }
      if (req.method === "POST" && req.url === "/cib/update") {
        const update = cibUpdateSchema.parse(JSON.parse(body).update);
        if (state.refuse) return send(409, { ok: false, outcome: "refused", error: state.refuse });
        state.updates.push(update);
        return send(200, {
          ok: true,
          version: { adminEpoch: 0, epoch: 5, numUpdates: 0 },
          summary: `did ${update.op}`,
        });
      }
      if (req.method === "POST" && req.url === "/resource/cleanup") {
        state.cleanups.push(JSON.parse(body));
        return send(200, { ok: true, nodes: ["n1", "n2"] });
      }
      send(404, { error: "no such route" });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  state.api = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

function collector(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t) };
}

async function run(cmd: CliCommand, api: FakeApi, args: string[]) {
  const io = collector();
  const code = await cmd.run([...args, "--api", api.api], io);
  return { code, ...io };
}

Deno.test("vigil resource: each subcommand sends its update and prints the summary and version", async () => {
  const api = await fakeApi();
  try {
    const cases: [string[], CibUpdate][] = [
      [["stop", "db"], { op: "resource-target-role", resource: "db", role: "Stopped" }],
      [["start", "db"], { op: "resource-target-role", resource: "db", role: "Started" }],
      [["move", "db", "n2", "--lifetime", "10m"], {
        op: "resource-move",
        resource: "db",
        node: "n2",
        lifetimeMs: 600_000,
      }],
      [["move", "db", "n2"], { op: "resource-move", resource: "db", node: "n2" }],
      [["unmove", "db"], { op: "resource-unmove", resource: "db" }],
      [["delete", "db"], { op: "resource-delete", resource: "db" }],
    ];
    for (const [args, want] of cases) {
      const r = await run(resourceCommand, api, args);
      assert.equal(r.code, 0);
      assert.deepEqual(api.updates.at(-1), want);
      assert.match(r.stdout[0], /^did resource-\S+ \(CIB 0\.5\.0\)$/);
    }
    const created = await run(resourceCommand, api, [
      "create",
      "vip",
      "IPaddr",
      "--param",
      "ip=10.0.0.9",
      "--monitor",
      "10s",
    ]);
    assert.equal(created.code, 0);
    assert.deepEqual(api.updates.at(-1), {
      op: "resource-create",
      resource: {
        kind: "primitive",
        id: "vip",
        agent: "IPaddr",
        params: { ip: "10.0.0.9" },
        operations: [{ name: "monitor", intervalMs: 10_000 }],
      },
    });
    const cleaned = await run(resourceCommand, api, ["cleanup", "db", "--node", "n1"]);
    assert.equal(cleaned.code, 0);
    assert.deepEqual(api.cleanups, [{ resource: "db", node: "n1" }]);
    assert.match(cleaned.stdout[0], /failures forgotten on n1, n2/);
  } finally {
    await api.close();
  }
});

Deno.test("vigil resource list: placement, group members, fail counts and moves", async () => {
  const api = await fakeApi();
  try {
    const r = await run(resourceCommand, api, ["list"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout[0], /^db\s+Dummy\s+n1:started\s+fail-count n1=2\s+moved to n1$/);
    assert.match(r.stdout[1], /^web\s+group\s+Stopped$/);
    assert.match(r.stdout[2], /^\s+ip\s+IPaddr\s+Stopped$/);
    const j = await run(resourceCommand, api, ["list", "--json"]);
    const rows = JSON.parse(j.stdout[0]);
    assert.deepEqual(rows[0].failCounts, { n1: 2 });
    assert.equal(rows[2].parent, "web");
  } finally {
    await api.close();
  }
});

Deno.test("vigil: a refused change surfaces the node's reason as an ApiError", async () => {
  const api = await fakeApi();
  try {
    api.refuse = "no quorum: 1 of 3 nodes, 2 needed";
    await assert.rejects(() => run(resourceCommand, api, ["stop", "db"]), (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.equal(e.status, 409);
      assert.match(e.message, /no quorum: 1 of 3 nodes/);
      return true;
    });
    await assert.rejects(
      () => resourceCommand.run(["stop", "db", "--api", "127.0.0.1:9"], collector()),
      /cannot reach the node/,
    );
  } finally {
    await api.close();
  }
});

Deno.test("vigil node, standby and takeover", async () => {
  const api = await fakeApi();
  try {
    const list = await run(nodeCommand, api, ["list"]);
    assert.match(list.stdout[0], /^n1\s+online\s+DC$/);
    assert.match(list.stdout[1], /^n2\s+online \(standby\)$/);
    await run(nodeCommand, api, ["standby", "n1"]);
    assert.deepEqual(api.updates.at(-1), { op: "node-standby", node: "n1", standby: true });
    await run(nodeCommand, api, ["online", "n1"]);
    assert.deepEqual(api.updates.at(-1), { op: "node-standby", node: "n1", standby: false });
    // standby: the node the CLI talks to (n2).
    await run(standbyCommand, api, []);
    assert.deepEqual(api.updates.at(-1), { op: "node-standby", node: "n2", standby: true });
    // takeover: n2 leaves standby and every top-level resource moves to it.
    api.updates.length = 0;
    await run(takeoverCommand, api, ["--lifetime", "1h"]);
    assert.deepEqual(api.updates, [
      { op: "node-standby", node: "n2", standby: false },
      { op: "resource-move", resource: "db", node: "n2", lifetimeMs: 3_600_000 },
      { op: "resource-move", resource: "web", node: "n2", lifetimeMs: 3_600_000 },
    ]);
  } finally {
    await api.close();
  }
});

Deno.test("vigil config show/apply/edit", async () => {
  const api = await fakeApi();
  const dir = mkdtempSync(join(tmpdir(), "vigil-config-cli-"));
  const saved = Deno.env.get("EDITOR");
  try {
    const shown = await run(configCommand, api, ["show"]);
    assert.deepEqual(
      JSON.parse(shown.stdout.join("\n")).nodes.map((n: { name: string }) => n.name),
      ["n1", "n2"],
    );
    const xml = await run(configCommand, api, ["show", "--format", "pacemaker"]);
    assert.match(xml.stdout[0], /^<cib /);
    const file = join(dir, "new.json");
    writeFileSync(
      file,
      JSON.stringify({
        config: { nodes: [{ name: "n1" }], resources: [{ id: "x", agent: "Dummy" }] },
      }),
    );
    assert.equal((await run(configCommand, api, ["apply", file])).code, 0);
    const applied = api.updates.at(-1);
    assert.equal(applied?.op, "config-replace");
    // edit: an "editor" that breaks the file is refused with paths, nothing sent.
    const before = api.updates.length;
    Deno.env.set("EDITOR", `sed -i 's/"Dummy"/42/'`);
    const bad = await run(configCommand, api, ["edit"]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr.join("\n"), /config\.resources\[0\]\.agent/);
    assert.equal(api.updates.length, before);
    // An editor that changes an option applies it.
    Deno.env.set("EDITOR", `sed -i 's/"noQuorumPolicy": "stop"/"noQuorumPolicy": "freeze"/'`);
    const good = await run(configCommand, api, ["edit"]);
    assert.equal(good.code, 0);
    const replaced = api.updates.at(-1) as {
      op: string;
      config: { options: { noQuorumPolicy: string } };
    };
    assert.equal(replaced.config.options.noQuorumPolicy, "freeze");
    // An editor that changes nothing sends nothing.
    Deno.env.set("EDITOR", "true");
    const same = await run(configCommand, api, ["edit"]);
    assert.deepEqual(same.stdout, ["no change"]);
  } finally {
    if (saved === undefined) Deno.env.delete("EDITOR");
    else Deno.env.set("EDITOR", saved);
    rmSync(dir, { recursive: true, force: true });
    await api.close();
  }
});

Deno.test("status view lists fail counts and active moves", () => {
  const text = renderStatus(
    {
      ...STATUS,
      alive: ["n1"],
      proposal: null,
      quorum: null,
      cibVersion: CIB.version,
      lrm: {},
      lrmDetails: {},
      transition: null,
      version: "0.1.0",
      uptimeMs: 1,
      transport: { received: 0, sent: 0, dropped: {} },
      links: [],
      devices: [],
    } as unknown as Parameters<typeof renderStatus>[0],
    [{ resource: "db", node: "n1" }, {
      resource: "web",
      node: "n2",
      expiresAt: Date.UTC(2030, 0, 1),
    }],
  );
  assert.match(text, /Fail counts:\n {2}\* db on n1: fail-count=2/);
  assert.match(
    text,
    /Active moves:\n {2}\* db -> n1 \(until vigil resource unmove\)\n {2}\* web -> n2 \(until 2030-01-01T00:00:00\.000Z\)/,
  );
});

Deno.test("vigil explain prints the DC's scores and reason; unknown resources are errors", async () => {
  const api = await fakeApi();
  try {
    const r = await run(explainCommand, api, ["db"]);
    assert.equal(r.code, 0);
    assert.deepEqual(r.stdout, [
      "db: placed on n1",
      "  db is on n1: cli-prefer-db prefers n1 with INFINITY",
      "  n1    INFINITY",
      "  n2    -",
      "  * n2 is in standby",
    ]);
    await assert.rejects(() => run(explainCommand, api, ["dbx"]), /no resource "dbx"/);
  } finally {
    await api.close();
  }
});
