/**
 * End-to-end: the crm-like CLI (`vigil resource|node|config|status`) against a
 * 3-node loopback cluster of the compiled binary. Each command is run as a user
 * would, against a different node's API, to show it works the same on any node.
 *
 * @module
 */

import assert from "node:assert/strict";
import { LocalCluster } from "../../bench/local_cluster.ts";
import { binaryPath } from "../../scripts/compile.ts";
import { type BinaryRun, runBinary } from "../../scripts/run_binary.ts";
import { ensureBinary } from "./ensure_binary.ts";

const CLI_TIMEOUT_MS = 30_000;

async function vigil(cluster: LocalCluster, via: string, ...args: string[]): Promise<BinaryRun> {
  return await runBinary([...args, "--api", cluster.node(via).api], CLI_TIMEOUT_MS);
}

function ok(run: BinaryRun, what: string): string {
  assert.equal(run.code, 0, `${what}: exit ${run.code}\n${run.stdout}\n${run.stderr}`);
  return run.stdout;
}

/** Nodes where `id` is started, as each node reports its own LRM. */
async function holders(cluster: LocalCluster, id: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of cluster.names) {
    const doc = await cluster.status(name).catch(() => undefined);
    if (doc?.lrm[id]?.state === "started") out.push(name);
  }
  return out;
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>) {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: not within ${timeoutMs} ms`);
}

Deno.test({
  name: "e2e: vigil resource/node/config/status against a 3-node cluster, from any node",
  async fn() {
    await ensureBinary();
    const cluster = await LocalCluster.start({
      size: 3,
      keepaliveMs: 100,
      deadtimeMs: 500,
      command: [binaryPath],
      extraConfig: { resources: [{ id: "db", agent: "Dummy", monitor: "1s" }] },
    });
    try {
      const first = await until("db started", 15_000, async () => {
        const h = await holders(cluster, "db");
        return h.length === 1 ? h[0] : undefined;
      });

      // create from n2: acknowledged with a version, then placed.
      const created = ok(
        await vigil(cluster, "n2", "resource", "create", "web", "Dummy"),
        "create",
      );
      assert.match(created, /web created \(CIB \d+\.\d+\.\d+\)/);
      await until(
        "web started",
        15_000,
        async () => (await holders(cluster, "web")).length === 1 ? true : undefined,
      );

      // move db from n3 to a node it is not on; status (from n1) lists the move.
      const target = cluster.names.find((n) => n !== first)!;
      ok(await vigil(cluster, "n3", "resource", "move", "db", target, "--lifetime", "1h"), "move");
      await until(`db on ${target}`, 15_000, async () => {
        const h = await holders(cluster, "db");
        return h.length === 1 && h[0] === target ? true : undefined;
      });
      const status = ok(await vigil(cluster, "n1", "status"), "status");
      assert.match(status, new RegExp(`Active moves:\\n {2}\\* db -> ${target} \\(until `));
      const listed = JSON.parse(
        ok(await vigil(cluster, "n2", "resource", "list", "--json"), "list"),
      );
      assert.equal(listed.find((r: { id: string }) => r.id === "db").move.node, target);

      // explain from a non-DC node: the DC's reason names the move.
      const why = ok(await vigil(cluster, "n3", "explain", "db"), "explain");
      assert.match(why, new RegExp(`^db: placed on ${target}`));
      const whyJson = JSON.parse(
        ok(await vigil(cluster, "n2", "explain", "db", "--json"), "explain"),
      );
      assert.equal(whyJson.node, target);
      assert.ok(Object.keys(whyJson.scores).length === 3, JSON.stringify(whyJson.scores));

      // stop web: stopped everywhere; start brings it back.
      ok(await vigil(cluster, "n1", "resource", "stop", "web"), "stop");
      await until(
        "web stopped",
        15_000,
        async () => (await holders(cluster, "web")).length === 0 ? true : undefined,
      );

      // standby the node holding db: db leaves it (the move cannot hold it there).
      ok(await vigil(cluster, "n2", "resource", "unmove", "db"), "unmove");
      ok(await vigil(cluster, "n2", "node", "standby", target), "standby");
      await until(`db off ${target}`, 15_000, async () => {
        const h = await holders(cluster, "db");
        return h.length === 1 && h[0] !== target ? true : undefined;
      });
      const nodes = ok(await vigil(cluster, "n3", "node", "list"), "node list");
      assert.match(nodes, new RegExp(`${target}\\s+online \\(standby\\)`));

      // config show from any node gives the same configuration.
      const shown = ok(await vigil(cluster, "n1", "config", "show"), "config show");
      assert.equal(shown, ok(await vigil(cluster, "n3", "config", "show"), "config show n3"));
      assert.equal(
        JSON.parse(shown).nodes.find((n: { name: string }) => n.name === target).standby,
        true,
      );

      // A bad change is refused with the path, and nothing changes.
      const bad = await vigil(
        cluster,
        "n1",
        "resource",
        "create",
        "x",
        "Dummy",
        "--monitor",
        "soon",
      );
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /not a duration/);

      // Without quorum, changes are refused with a clear error.
      cluster.kill("n1");
      cluster.kill("n2");
      const lone = await until("n3 without quorum", 10_000, async () => {
        const doc = await cluster.status("n3").catch(() => undefined);
        return doc?.quorum && !doc.quorum.quorate ? doc : undefined;
      });
      assert.ok(lone);
      const refused = await vigil(cluster, "n3", "resource", "start", "web");
      assert.equal(refused.code, 1, refused.stdout);
      assert.match(refused.stderr, /quorum/i);
    } finally {
      await cluster.stop();
    }
  },
});
