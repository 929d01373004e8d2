/**
 * The CIB routes against three real daemons in this process, on loopback: a
 * change submitted on a member is acknowledged and lands in every node's copy
 * (and on disk); cleanup reaches every node; without quorum a change is
 * refused with an error that says so.
 */

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readCibFile } from "../../core/cib/cib_file.ts";
import { parseNodeConfig } from "../../core/config/node_config.ts";
import { NodeDaemon } from "../../core/daemon/node_daemon.ts";
import { freeTcpPort, freeUdpPort } from "../../core/demo/free_port.ts";

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < 1000 && Date.now() < deadline; i++) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

Deno.test("daemon: POST /cib/update, GET /cib and POST /resource/cleanup on a 3-node cluster", async () => {
  const root = mkdtempSync(join(tmpdir(), "vigil-cib-api-"));
  const daemons: NodeDaemon[] = [];
  try {
    const authkeys = join(root, "authkeys");
    writeFileSync(authkeys, "auth 1\n1 sha256 cib-api-test-secret\n", { mode: 0o600 });
    const names = ["n1", "n2", "n3"];
    const nodes: { name: string; address: string; port: number; api: string }[] = [];
    for (const name of names) {
      nodes.push({
        name,
        address: "127.0.0.1",
        port: await freeUdpPort(),
        api: `127.0.0.1:${await freeTcpPort()}`,
      });
    }
    for (const name of names) {
      const file = join(root, `${name}.json`);
      const config = parseNodeConfig(
        JSON.stringify({
          node: name,
          nodes,
          authkeys,
          stateDir: join(root, name),
          keepalive: "50ms",
          deadtime: "400ms",
          resources: [{ id: "web", agent: "Dummy", params: { state: join(root, "web.state") } }],
        }),
        file,
      );
      daemons.push(
        await NodeDaemon.start({ config, configFile: file, version: "test", write: () => {} }),
      );
    }
    const api = (i: number) => `http://${nodes[i].api}`;
    const get = async (i: number, path: string) => await (await fetch(api(i) + path)).json();
    const post = async (i: number, path: string, body: unknown) => {
      const res = await fetch(api(i) + path, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() };
    };
    // Settled: one membership of three, DC n1, web started somewhere.
    await waitFor("the cluster to place web", async () => {
      const s = await get(0, "/status");
      const placed = s.resources?.[0]?.on?.some((o: { state: string }) => o.state === "started");
      return s.membership?.members.length === 3 && s.cibPhase === "ready" && placed
        ? true
        : undefined;
    });

    const stopped = await post(2, "/cib/update", {
      update: { op: "resource-target-role", resource: "web", role: "Stopped" },
    });
    assert.equal(stopped.status, 200, JSON.stringify(stopped.body));
    assert.deepEqual(stopped.body.version, { adminEpoch: 0, epoch: 2, numUpdates: 0 });
    assert.equal(stopped.body.summary, "web: target-role Stopped");
    for (const i of [0, 1, 2]) {
      const got = await waitFor(`n${i + 1}'s copy`, async () => {
        const c = await get(i, "/cib");
        return c.stamp.version.epoch === 2 ? c : undefined;
      });
      assert.equal(got.cib.config.resources[0].meta.targetRole, "Stopped");
      assert.equal(readCibFile(join(root, names[i]))?.cib.version.epoch, 2, "on disk too");
    }
    await waitFor("web to stop", async () => {
      const s = await get(0, "/status");
      return s.resources[0].on.length === 0 ? true : undefined;
    });

    const cleaned = await post(1, "/resource/cleanup", { resource: "web" });
    assert.equal(cleaned.status, 200);
    assert.deepEqual(cleaned.body, { ok: true, nodes: ["n1", "n2", "n3"] });
    const bad = await post(1, "/cib/update", { update: { op: "resource-move", resource: "web" } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /update\.node/);

    // n2 and n3 stop: n1 alone has no quorum and refuses changes, saying so.
    await daemons[1].close();
    await daemons[2].close();
    await waitFor("n1 alone", async () => {
      const s = await get(0, "/status");
      return s.membership?.members.length === 1 ? true : undefined;
    });
    const refused = await post(0, "/cib/update", {
      update: { op: "node-standby", node: "n2", standby: true },
    });
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.equal(refused.body.outcome, "refused");
    assert.match(refused.body.error, /^no quorum/);
  } finally {
    for (const d of daemons) await d.close();
    rmSync(root, { recursive: true, force: true });
  }
});
