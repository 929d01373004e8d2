/**
 * Resource-agent figures, printed rather than asserted:
 *
 * 1. start of a virtual IP in a network namespace (address up; ARP left to the
 *    background), N trials each, stopped between trials:
 *    - the built-in `IPaddr`, run by the LRM's OperationExecutor in a worker process
 *      inside the namespace (`ip netns exec`), and again from this process through its
 *      `netns` parameter (`ip -n NS`);
 *    - ocf:heartbeat:IPaddr2 (Debian's resource-agents) through the OCF adapter, run by
 *      the same worker in the same namespace; and the script alone, spawned under
 *      `ip netns exec` with its output discarded (wall time), which separates the script's
 *      own time from the adapter's (the adapter waits up to 25 ms for output pipes that
 *      IPaddr2's background send_arp keeps open).
 * 2. one monitor operation through the OperationExecutor: the TypeScript `Dummy` vs the
 *    OCF script ocf:heartbeat:Dummy (a fork and a shell per call), N trials each.
 *
 * Times are the executor's `durationMs` of each operation (queueing and the worker's
 * pipe excluded). Part 1 needs root and `ip`; IPaddr2 and ocf:heartbeat:Dummy need
 * resource-agents. A part that cannot run says why. The figures end with one JSON line.
 *
 * Usage: `deno run -A bench/ra_start.ts [--trials N]` (N defaults to 20).
 *
 * @module
 */

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { OperationExecutor, type OperationRequest } from "../core/lrm/executor.ts";
import { findResourceAgent } from "../ra/builtin.ts";
import IPaddr from "../ra/ipaddr.ts";
import { IP } from "../tests/netns/lab.ts";
import {
  addressesOf,
  createRaLab,
  NIC1,
  RA_SUBNET,
  raLabUnavailable,
  startWorker,
  type Worker,
} from "../tests/netns/ra_lab.ts";

const IPADDR2 = "/usr/lib/ocf/resource.d/heartbeat/IPaddr2";
const OCF_DUMMY = "/usr/lib/ocf/resource.d/heartbeat/Dummy";
const VIP = `${RA_SUBNET}.100`;
const MAX_TRIALS = 1000;

/** median, min and max of a sample, in ms rounded to 0.01. */
interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

function summarize(sample: number[]): Summary {
  if (sample.length === 0) throw new Error("empty sample");
  const s = [...sample].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  const round = (x: number) => Math.round(x * 100) / 100;
  return { median: round(median), min: round(s[0]), max: round(s.at(-1)!), n: s.length };
}

type Figure = Summary | { skipped: string } | { error: string };

function line(label: string, f: Figure): string {
  if ("skipped" in f) return `${label.padEnd(58)} skipped: ${f.skipped}`;
  if ("error" in f) return `${label.padEnd(58)} error: ${f.error}`;
  return `${label.padEnd(58)} median ${f.median.toFixed(2).padStart(7)} ms  ` +
    `min ${f.min.toFixed(2).padStart(7)}  max ${f.max.toFixed(2).padStart(7)}  n ${f.n}`;
}

/** Runs `fn` and turns a throw into an error figure. */
async function attempt(fn: () => Promise<Figure>): Promise<Figure> {
  try {
    return await fn();
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

/** Times N starts of a VIP agent in the worker, checking each put the address up. */
async function workerStarts(
  worker: Worker,
  ns: string,
  agent: string,
  params: Record<string, unknown>,
  trials: number,
): Promise<Summary> {
  const times: number[] = [];
  for (let i = 0; i < trials; i++) {
    const started = await worker.run({ agent, action: "start", params });
    if (started.rc !== 0) throw new Error(`${agent} start rc ${started.rc}: ${started.output}`);
    if (!(await addressesOf(ns, NIC1)).includes(`${VIP}/24`)) {
      throw new Error(`${agent} start returned OK but ${VIP}/24 is not on ${NIC1}`);
    }
    times.push(started.durationMs);
    const stopped = await worker.run({ agent, action: "stop", params });
    if (stopped.rc !== 0) throw new Error(`${agent} stop rc ${stopped.rc}: ${stopped.output}`);
  }
  return summarize(times);
}

/** Runs IPaddr2 ACTION directly in `ns` (output discarded); resolves with exit code and ms. */
function runIpaddr2(ns: string, action: string, rscTmp: string): Promise<[number, number]> {
  const env = {
    PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
    OCF_ROOT: "/usr/lib/ocf",
    OCF_RESOURCE_INSTANCE: "vip",
    OCF_RESKEY_ip: VIP,
    OCF_RESKEY_cidr_netmask: "24",
    OCF_RESKEY_nic: NIC1,
    HA_RSCTMP: rscTmp,
  };
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(IP, ["netns", "exec", ns, IPADDR2, action], { env, stdio: "ignore" });
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve([code ?? -1, performance.now() - t0]);
    });
  });
}

/** Times N direct starts of IPaddr2 in `ns`, stopped between trials. */
async function directIpaddr2Starts(ns: string, rscTmp: string, trials: number): Promise<Summary> {
  const times: number[] = [];
  for (let i = 0; i < trials; i++) {
    const [rc, ms] = await runIpaddr2(ns, "start", rscTmp);
    if (rc !== 0) throw new Error(`IPaddr2 start rc ${rc}`);
    times.push(ms);
    const [stopRc] = await runIpaddr2(ns, "stop", rscTmp);
    if (stopRc !== 0) throw new Error(`IPaddr2 stop rc ${stopRc}`);
  }
  return summarize(times);
}

/** Times N runs of `req` through `executor`, each expected to return `want`. */
async function executorRuns(
  executor: OperationExecutor,
  req: OperationRequest,
  want: number,
  trials: number,
  between?: () => Promise<void>,
): Promise<Summary> {
  const times: number[] = [];
  for (let i = 0; i < trials; i++) {
    const r = await executor.run(req);
    if (r.rc !== want) throw new Error(`${req.agent.name} ${req.action} rc ${r.rc}: ${r.output}`);
    times.push(r.durationMs);
    await between?.();
  }
  return summarize(times);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { trials: { type: "string", default: "20" } } });
  const trials = Number(values.trials);
  if (!Number.isInteger(trials) || trials < 1 || trials > MAX_TRIALS) {
    throw new Error(`--trials: expected an integer 1..${MAX_TRIALS}, got ${values.trials}`);
  }
  const stateDir = mkdtempSync(join(tmpdir(), "vigil-bench-ra-"));
  const figures: Record<string, Figure> = {};
  const vipParams = { ip: VIP, cidr_netmask: "24", nic: NIC1 };
  try {
    const noLab = raLabUnavailable();
    if (noLab) {
      for (const k of ["ipaddrWorker", "ipaddrNetnsParam", "ipaddr2Worker", "ipaddr2Direct"]) {
        figures[k] = { skipped: noLab };
      }
    } else {
      const lab = await createRaLab("b");
      const worker = startWorker(lab.ns1, stateDir);
      try {
        figures.ipaddrWorker = await attempt(() =>
          workerStarts(worker, lab.ns1, "IPaddr", vipParams, trials)
        );
        figures.ipaddrNetnsParam = await attempt(async () => {
          const executor = new OperationExecutor({ node: "bench", stateDir });
          const params = { ...vipParams, netns: lab.ns1 };
          const stop = async () => {
            const r = await executor.run({
              resourceId: "vip",
              agent: IPaddr,
              action: "stop",
              params,
            });
            if (r.rc !== 0) throw new Error(`IPaddr stop rc ${r.rc}: ${r.output}`);
          };
          const req: OperationRequest = {
            resourceId: "vip",
            agent: IPaddr,
            action: "start",
            params,
          };
          return await executorRuns(executor, req, 0, trials, stop);
        });
        figures.ipaddr2Worker = existsSync(IPADDR2)
          ? await attempt(() =>
            workerStarts(worker, lab.ns1, "ocf:heartbeat:IPaddr2", vipParams, trials)
          )
          : { skipped: `${IPADDR2} is missing` };
        figures.ipaddr2Direct = existsSync(IPADDR2)
          ? await attempt(() => {
            const rscTmp = join(stateDir, "direct-rsctmp");
            mkdirSync(rscTmp, { recursive: true });
            return directIpaddr2Starts(lab.ns1, rscTmp, trials);
          })
          : { skipped: `${IPADDR2} is missing` };
      } finally {
        await worker.close();
        await lab.destroy();
      }
    }

    const executor = new OperationExecutor({ node: "bench", stateDir });
    const monitorOf = async (name: string, params: Record<string, unknown>): Promise<Figure> => {
      const agent = findResourceAgent(name);
      if (!agent) return { skipped: `agent ${name} not found` };
      const base = { resourceId: `mon-${agent.name}`, agent, params };
      const started = await executor.run({ ...base, action: "start" });
      if (started.rc !== 0) return { error: `start rc ${started.rc}: ${started.output}` };
      try {
        return await executorRuns(executor, { ...base, action: "monitor" }, 0, trials);
      } finally {
        await executor.run({ ...base, action: "stop" });
      }
    };
    figures.monitorDummyTs = await attempt(() =>
      monitorOf("Dummy", { state: join(stateDir, "ts-dummy.state") })
    );
    figures.monitorDummyOcf = existsSync(OCF_DUMMY)
      ? await attempt(() =>
        monitorOf("ocf:heartbeat:Dummy", { state: join(stateDir, "ocf-dummy.state") })
      )
      : { skipped: `${OCF_DUMMY} is missing` };
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }

  console.log(`resource-agent figures, ${trials} trials each (ms, executor durationMs)`);
  console.log(line("start IPaddr, worker in the netns (ip)", figures.ipaddrWorker));
  console.log(line("start IPaddr, this process, netns param (ip -n)", figures.ipaddrNetnsParam));
  console.log(
    line("start ocf:heartbeat:IPaddr2, worker in the netns (OCF)", figures.ipaddr2Worker),
  );
  console.log(line("start IPaddr2 script alone, ip netns exec (wall time)", figures.ipaddr2Direct));
  console.log(line("monitor Dummy (TypeScript)", figures.monitorDummyTs));
  console.log(line("monitor ocf:heartbeat:Dummy (OCF script)", figures.monitorDummyOcf));
  console.log(JSON.stringify({ trials, ...figures }));
  const failed = Object.values(figures).some((f) => "error" in f);
  if (failed) process.exitCode = 1;
}

await main();
