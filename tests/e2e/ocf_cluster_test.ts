import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { LocalCluster, vigilCommand } from "../../bench/local_cluster.ts";

const DUMMY = "/usr/lib/ocf/resource.d/heartbeat/Dummy";

/** Polls `find` every 100 ms until it returns a value; fails after `timeoutMs`. */
async function poll<T>(
  find: () => Promise<T | undefined>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const found = await find();
    if (found !== undefined) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: not within ${timeoutMs} ms`);
}

/** Nodes where the resource `id` is started, by their own /status. */
async function startedOn(cluster: LocalCluster, names: string[], id: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of names) {
    const doc = await cluster.status(name);
    if (doc.lrm[id]?.state === "started") out.push(name);
  }
  return out;
}

Deno.test({
  name: "e2e: the real ocf:heartbeat:Dummy runs in a 3-node cluster and fails over",
  ignore: !existsSync(DUMMY),
  async fn() {
    const cluster = await LocalCluster.start({
      size: 3,
      keepaliveMs: 100,
      deadtimeMs: 500,
      command: vigilCommand("deno"),
      // Dummy's state file lives in each node's own state directory (HA_RSCTMP).
      extraConfig: {
        resources: [{ id: "dummy", agent: "ocf:heartbeat:Dummy", monitor: "1s" }],
      },
    });
    const names = ["n1", "n2", "n3"];
    try {
      await cluster.waitForAgreement(names, { timeoutMs: 60_000 });
      const one = async (among: string[]) => {
        const on = await startedOn(cluster, among, "dummy");
        return on.length === 1 ? on[0] : undefined;
      };
      const victim = await poll(() => one(names), 20_000, "dummy started on one node");
      cluster.kill(victim);
      const survivors = names.filter((n) => n !== victim);
      await poll(() => one(survivors), 20_000, "dummy started on a survivor");
      const doc = await cluster.status(survivors[0]);
      const view = doc.resources.find((r) => r.id === "dummy");
      assert.equal(view?.agent, "ocf:heartbeat:Dummy");
      assert.equal(view?.on.length, 1, JSON.stringify(view));
      assert.notEqual(view?.on[0].node, victim);
    } finally {
      await cluster.stop();
    }
  },
});
