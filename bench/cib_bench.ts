/**
 * CIB change figures, printed rather than asserted: `deno task bench:cib`.
 *
 * On a 3-node loopback cluster of `dist/vigil` (keepalive 100 ms, deadtime 1 s):
 * 1. latency: N acknowledged configuration changes in a row (default 1,000), each a
 *    `POST /cib/update` to a node chosen round-robin, timed from the request to the
 *    answer, which comes only once a majority of the configured nodes have persisted
 *    the change (fsync'd);
 * 2. throughput: 8 concurrent clients (one per node in turn), N changes in all.
 * Prints median, p90, p99 and max, changes per second, and one JSON line.
 *
 * Options: --changes N (default 1000), --clients C (default 8).
 *
 * @module
 */

import process from "node:process";
import { parseArgs } from "node:util";
import { LocalCluster } from "./local_cluster.ts";
import { binaryPath, compile, isBinaryStale } from "../scripts/compile.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    changes: { type: "string", default: "1000" },
    clients: { type: "string", default: "8" },
  },
});
const CHANGES = Math.max(10, Math.min(100_000, Number(values.changes)));
const CLIENTS = Math.max(1, Math.min(64, Number(values.clients)));

/** One acknowledged change: alternates a cluster option so every change is real. */
async function change(api: string, i: number): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`http://${api}/cib/update`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ update: { op: "options-set", options: { stickiness: 1 + (i % 97) } } }),
    signal: AbortSignal.timeout(15_000),
  });
  const body = await res.json() as { ok?: boolean; error?: string };
  if (!res.ok || !body.ok) throw new Error(`change ${i}: HTTP ${res.status}: ${body.error}`);
  return performance.now() - t0;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function summary(ms: number[]) {
  const s = [...ms].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 100) / 100;
  return {
    n: s.length,
    median: r(quantile(s, 0.5)),
    p90: r(quantile(s, 0.9)),
    p99: r(quantile(s, 0.99)),
    max: r(s[s.length - 1]),
  };
}

if (isBinaryStale()) {
  console.log("building dist/vigil ...");
  compile();
}
const cluster = await LocalCluster.start({
  size: 3,
  keepaliveMs: 100,
  deadtimeMs: 1000,
  command: [binaryPath],
});
try {
  await cluster.waitForAgreement(cluster.names, { timeoutMs: 15_000 });
  const apis = cluster.names.map((n) => cluster.node(n).api);
  // Warm-up: the first changes also settle the replica's first sync.
  for (let i = 0; i < 20; i++) await change(apis[i % apis.length], i);

  const latencies: number[] = [];
  for (let i = 0; i < CHANGES; i++) {
    latencies.push(await change(apis[i % apis.length], i));
    if ((i + 1) % 200 === 0) console.log(`  latency: ${i + 1}/${CHANGES} changes`);
  }
  const lat = summary(latencies);

  const perClient = Math.ceil(CHANGES / CLIENTS);
  const concurrent: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      for (let i = 0; i < perClient; i++) {
        concurrent.push(await change(apis[c % apis.length], c * perClient + i));
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const thr = summary(concurrent);
  const perSecond = Math.round(concurrent.length / seconds);

  console.log(`\nacknowledged configuration changes, 3-node loopback cluster (dist/vigil)`);
  console.log(
    `sequential, 1 client:   ${lat.n} changes  median ${lat.median} ms  p90 ${lat.p90}  p99 ${lat.p99}  max ${lat.max}`,
  );
  console.log(
    `concurrent, ${CLIENTS} clients: ${thr.n} changes in ${
      seconds.toFixed(2)
    } s = ${perSecond}/s  median ${thr.median} ms  p99 ${thr.p99}`,
  );
  console.log(
    JSON.stringify({ sequential: lat, concurrent: { ...thr, clients: CLIENTS, perSecond } }),
  );
} finally {
  await cluster.stop();
}
