/**
 * A two-namespace lab for resource-agent tests and benches, and the worker that runs
 * agent operations inside one of its namespaces.
 *
 * ```
 *  vgl-ra<tag><pid>-1            vgl-ra<tag><pid>-2
 *    ra1 198.18.60.1/24 ---veth--- ra2 198.18.60.2/24
 * ```
 *
 * Loopback up, no default route, nothing in the host's namespace is touched (like
 * `/work/shared/interop/netns.sh`, with Vigil's own names). {@link RaLab.destroy}
 * deletes both namespaces (and with them the veth pair).
 *
 * Run as a program (`ip netns exec NS deno run -A tests/netns/ra_lab.ts`) this module is
 * a worker: it reads one JSON {@link WorkerRequest} per line on stdin, runs the operation
 * through the LRM's {@link OperationExecutor} in the namespace it was started in, and
 * answers with one JSON {@link WorkerReply} per line. The OCF adapter spawns its scripts
 * in the worker's namespace, which is how ocf:heartbeat:IPaddr2 runs inside the lab.
 *
 * @example
 * ```ts
 * const lab = await createRaLab("t");
 * const worker = startWorker(lab.ns1, stateDir);
 * try {
 *   const r = await worker.run({ agent: "IPaddr", action: "start", params: { ip: VIP } });
 * } finally {
 *   await worker.close();
 *   await lab.destroy();
 * }
 * ```
 * @module
 */

import { existsSync } from "node:fs";
import { OperationExecutor, type OperationResult } from "../../core/lrm/executor.ts";
import { findResourceAgent } from "../../ra/builtin.ts";
import { IP, ip, labUnavailable } from "./lab.ts";

/** The lab's subnet (first three octets), as in the interop lab's netns.sh. */
export const RA_SUBNET = "198.18.60";
/** Interface name in the first namespace. */
export const NIC1 = "ra1";
/** Interface name in the second namespace. */
export const NIC2 = "ra2";

/** A created lab. */
export interface RaLab {
  /** The "cluster node" namespace, where agents run. */
  ns1: string;
  /** The "neighbour" namespace, which pings and keeps an ARP table. */
  ns2: string;
  /** ns1's address on {@link NIC1}. */
  address1: string;
  /** ns2's address on {@link NIC2}. */
  address2: string;
  /** Deletes both namespaces. Idempotent, never throws. */
  destroy(): Promise<void>;
}

/** Why the lab cannot run here (not root, `ip` missing), or undefined when it can. */
export function raLabUnavailable(): string | undefined {
  return labUnavailable();
}

async function namespaceExists(ns: string): Promise<boolean> {
  const list = await ip(["netns", "list"]);
  return list.split("\n").some((line) => line.split(" ")[0] === ns);
}

/**
 * Creates the two namespaces joined by a veth pair. `tag` (1..4 of [a-z0-9]) keeps the
 * files of one run apart; the process id keeps concurrent runs apart.
 * On failure everything created so far is deleted before the error is thrown.
 */
export async function createRaLab(tag: string): Promise<RaLab> {
  if (!/^[a-z0-9]{1,4}$/.test(tag)) throw new Error(`createRaLab: bad tag ${JSON.stringify(tag)}`);
  const prefix = `vgl-ra${tag}${Deno.pid}`;
  const ns1 = `${prefix}-1`;
  const ns2 = `${prefix}-2`;
  const created: string[] = [];
  const destroy = async () => {
    for (const ns of created.splice(0).reverse()) {
      await ip(["netns", "del", ns]).catch((e) => console.error(`ra lab: ${e}`));
    }
  };
  try {
    for (const ns of [ns1, ns2]) {
      // Left over by an earlier run that had the same pid and died: it is ours by name.
      if (await namespaceExists(ns)) await ip(["netns", "del", ns]);
      await ip(["netns", "add", ns]);
      created.push(ns);
      await ip(["-n", ns, "link", "set", "lo", "up"]);
    }
    await ip(["-n", ns1, "link", "add", NIC1, "type", "veth", "peer", "name", NIC2, "netns", ns2]);
    const address1 = `${RA_SUBNET}.1`;
    const address2 = `${RA_SUBNET}.2`;
    for (const [ns, nic, address] of [[ns1, NIC1, address1], [ns2, NIC2, address2]]) {
      await ip(["-n", ns, "addr", "add", `${address}/24`, "dev", nic]);
      await ip(["-n", ns, "link", "set", nic, "up"]);
    }
    return { ns1, ns2, address1, address2, destroy };
  } catch (e) {
    await destroy();
    throw e;
  }
}

/** Whether `address` answers one ping from namespace `ns` within a second. */
export async function pingFrom(ns: string, address: string): Promise<boolean> {
  const out = await new Deno.Command(IP, {
    args: ["netns", "exec", ns, "ping", "-n", "-q", "-c", "1", "-W", "1", address],
    stdin: "null",
    stdout: "null",
    stderr: "null",
    signal: AbortSignal.timeout(5_000),
  }).output();
  return out.code === 0;
}

/** The IPv4 addresses on `nic` in namespace `ns`, as `a.b.c.d/len` strings. */
export async function addressesOf(ns: string, nic: string): Promise<string[]> {
  const out = await ip(["-n", ns, "-o", "-f", "inet", "addr", "show", "dev", nic]);
  return [...out.matchAll(/\sinet\s(\S+)/g)].map((m) => m[1]);
}

/** The MAC address of `nic` in namespace `ns`. */
export async function macOf(ns: string, nic: string): Promise<string> {
  const out = await ip(["-n", ns, "-o", "link", "show", "dev", nic]);
  const m = /link\/ether\s+([0-9a-f:]{17})/.exec(out);
  if (!m) throw new Error(`no MAC address for ${nic} in ${ns}: ${out}`);
  return m[1];
}

/** The link-layer address `ns` has in its neighbour table for `address`, if any. */
export async function neighbourMac(
  ns: string,
  nic: string,
  address: string,
): Promise<string | undefined> {
  const out = await ip(["-n", ns, "neigh", "show", address, "dev", nic]);
  return /lladdr\s+([0-9a-f:]{17})/.exec(out)?.[1];
}

/** One operation for the worker. */
export interface WorkerRequest {
  /** A built-in agent name or `ocf:PROVIDER:TYPE`. */
  agent: string;
  /** The action to run. */
  action: "start" | "stop" | "monitor";
  /** The resource's parameters. */
  params: Record<string, unknown>;
  /** The resource id (default `vip`). */
  resourceId?: string;
}

/** The worker's answer: the executor's result, or why it could not run. */
export type WorkerReply = OperationResult | { error: string };

/** A worker process running in a namespace. */
export interface Worker {
  /** The worker's process id (for cleanup by pid). */
  pid: number;
  /** Runs one operation in the worker and resolves with its result. */
  run(req: WorkerRequest): Promise<OperationResult>;
  /** Closes its stdin, waits (bounded) for it to exit, kills it if it does not. */
  close(): Promise<void>;
}

const ROOT = new URL("../../", import.meta.url).pathname;
const DENO = `${ROOT}node_modules/.bin/deno`;
/** Bound of one operation round trip, ms (the agents' own timeouts are shorter). */
const WORKER_REPLY_TIMEOUT_MS = 60_000;
const WORKER_EXIT_TIMEOUT_MS = 5_000;
const MAX_LINE = 1024 * 1024;

/**
 * Starts this module as a worker inside namespace `ns` (`ip netns exec`), agents keeping
 * state in `stateDir`. Operations are answered in order.
 */
export function startWorker(ns: string, stateDir: string): Worker {
  const child = new Deno.Command(IP, {
    args: ["netns", "exec", ns, DENO, "run", "-A", `${ROOT}tests/netns/ra_lab.ts`, stateDir],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  const lines = readLines(child.stdout);
  const encoder = new TextEncoder();
  let queue = Promise.resolve();

  const run = (req: WorkerRequest): Promise<OperationResult> => {
    const answer = queue.then(async () => {
      await writer.write(encoder.encode(`${JSON.stringify(req)}\n`));
      let timer: ReturnType<typeof setTimeout> | undefined;
      const line = await Promise.race([
        lines.next(),
        new Promise<never>((_, reject) =>
          timer = setTimeout(
            () => reject(new Error(`worker: no reply to ${req.action} within timeout`)),
            WORKER_REPLY_TIMEOUT_MS,
          )
        ),
      ]).finally(() => clearTimeout(timer));
      if (line.done) throw new Error(`worker in ${ns} exited before answering ${req.action}`);
      const reply = JSON.parse(line.value) as WorkerReply;
      if ("error" in reply) throw new Error(`worker: ${reply.error}`);
      return reply;
    });
    queue = answer.then(() => {}, () => {});
    return answer;
  };

  const close = async () => {
    await writer.close().catch(() => {});
    let timer: ReturnType<typeof setTimeout> | undefined;
    const exited = await Promise.race([
      child.status.then(() => true),
      new Promise<boolean>((resolve) =>
        timer = setTimeout(() => resolve(false), WORKER_EXIT_TIMEOUT_MS)
      ),
    ]);
    clearTimeout(timer);
    if (!exited) {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
      await child.status;
    }
    await lines.return(undefined);
  };
  return { pid: child.pid, run, close };
}

/** Splits a byte stream into lines (each at most {@link MAX_LINE} characters). */
async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  try {
    while (true) {
      let nl = buffered.indexOf("\n");
      while (nl >= 0) {
        yield buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        nl = buffered.indexOf("\n");
      }
      if (buffered.length > MAX_LINE) throw new Error("worker: line too long");
      const { value, done } = await reader.read();
      if (done) return;
      buffered += value;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** The worker's main loop: one request line in, one reply line out, until stdin ends. */
async function workerMain(stateDir: string): Promise<void> {
  const executor = new OperationExecutor({ node: "ra-lab", stateDir });
  const encoder = new TextEncoder();
  for await (const line of readLines(Deno.stdin.readable)) {
    if (line.trim() === "") continue;
    let reply: WorkerReply;
    try {
      const req = JSON.parse(line) as WorkerRequest;
      const agent = findResourceAgent(req.agent);
      reply = agent
        ? await executor.run({
          resourceId: req.resourceId ?? "vip",
          agent,
          action: req.action,
          params: req.params,
        })
        : { error: `no agent ${req.agent}` };
    } catch (e) {
      reply = { error: e instanceof Error ? e.message : String(e) };
    }
    await Deno.stdout.write(encoder.encode(`${JSON.stringify(reply)}\n`));
  }
}

if (import.meta.main) {
  const stateDir = Deno.args[0];
  if (!stateDir || !existsSync(stateDir)) {
    console.error("usage: ra_lab.ts STATE_DIR (an existing directory)");
    Deno.exit(2);
  }
  await workerMain(stateDir);
  // Background helpers (an ARP sender) must not keep the worker alive after stdin ends.
  Deno.exit(0);
}
