/**
 * A qdisk node as a separate OS process, for `qdisk_test.ts`: checks the disk every
 * interval from `start` until `end` (wall clock, ms), partitioned from everyone (its
 * membership is itself alone), then prints one JSON line with what it saw. It exits
 * without stopping the device, like a node that dies, so the other process still sees
 * it alive on disk for its last checks.
 *
 * Usage: `deno run -A qdisk_worker.ts PATH NODE NODES(comma-separated) START END INTERVAL`
 *
 * @module
 */

import { createQdisk, qdiskParamsSchema } from "../../plugins/qdisk.ts";

/** What the worker prints. */
export interface WorkerReport {
  /** This worker's node. */
  node: string;
  /** Checks done. */
  checks: number;
  /** Checks that were unhealthy. */
  unhealthy: number;
  /** The details of the first few unhealthy readings. */
  problems: string[];
  /** Every node this worker ever saw alive on disk. */
  everAlive: string[];
  /** Whether this node ever claimed mastership. */
  everMaster: boolean;
  /** The master and the alive set at the last check. */
  master: string | null;
  alive: string[];
  /** Votes of the last reading. */
  votes: number;
}

const [path, node, nodeList, startText, endText, intervalText] = Deno.args;
const start = Number(startText);
const end = Number(endText);
const intervalMs = Number(intervalText);
if (!path || !node || !nodeList || !(end > start) || !(intervalMs > 0)) {
  console.error("usage: qdisk_worker.ts PATH NODE NODES START END INTERVAL");
  Deno.exit(2);
}

// tko 20: a process stalled for a moment on a busy machine is not declared dead.
const instance = createQdisk(qdiskParamsSchema.parse({ path, intervalMs, tko: 20 }), {
  node,
  nodes: nodeList.split(","),
  membership: () => [node],
  now: () => Date.now(),
  log: () => {},
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
await sleep(start - Date.now());

const report: WorkerReport = {
  node,
  checks: 0,
  unhealthy: 0,
  problems: [],
  everAlive: [],
  everMaster: false,
  master: null,
  alive: [],
  votes: 0,
};
const everAlive = new Set<string>();
const maxChecks = Math.ceil((end - start) / intervalMs) + 10;
for (let i = 0; i < maxChecks && Date.now() < end; i++) {
  const due = start + i * intervalMs;
  await sleep(due - Date.now());
  // Bounded like the daemon bounds it (the device's timeoutMs), not by the short test interval.
  const reading = await instance.check(AbortSignal.timeout(1000));
  const view = instance.view();
  report.checks++;
  if (!reading.healthy) {
    report.unhealthy++;
    if (report.problems.length < 5) report.problems.push(reading.detail);
  }
  for (const n of view.alive) everAlive.add(n);
  report.everMaster ||= view.isMaster;
  report.master = view.master;
  report.alive = view.alive;
  report.votes = reading.votes;
}
report.everAlive = [...everAlive].sort();
console.log(JSON.stringify(report));
