/**
 * A small switched network in Linux network namespaces for link tests.
 *
 * A switch namespace holds two bridges; each node namespace has `eth0` on the
 * first (198.18.72.1N/25) and `eth1` on the second (198.18.72.13N/25), with no
 * default route. Names start with `vgl-tr-`. Needs root; {@link canUseNetns}
 * says whether the tests can run here.
 *
 * @module
 */

import type { Received } from "./collector.ts";

/** One node of the test network. */
export interface NetNode {
  /** Namespace name. */
  ns: string;
  /** Address on eth0 (first bridge). */
  eth0: string;
  /** Address on eth1 (second bridge). */
  eth1: string;
}

/** A created network; {@link NetnsNetwork.destroy} removes every namespace. */
export interface NetnsNetwork {
  /** The nodes, in order n1, n2, ... */
  nodes: NetNode[];
  /** Deletes the namespaces (and with them the veths and bridges). */
  destroy(): Promise<void>;
}

async function run(args: string[]): Promise<void> {
  const out = await new Deno.Command("ip", { args, stdout: "piped", stderr: "piped" }).output();
  if (out.code !== 0) {
    throw new Error(`ip ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

/** Whether this process may create network namespaces (is root and has `ip`). */
export function canUseNetns(): boolean {
  try {
    return Deno.uid() === 0 && Deno.statSync("/usr/sbin/ip").isFile;
  } catch {
    return false;
  }
}

/**
 * Creates the switch and `count` nodes (1..9). `tag` keeps concurrent test
 * files apart; the process id keeps concurrent runs apart.
 */
export async function createNetwork(tag: string, count: number): Promise<NetnsNetwork> {
  if (count < 1 || count > 9) throw new Error(`createNetwork: ${count} nodes (1..9)`);
  const prefix = `vgl-tr-${tag}-${Deno.pid}`;
  const sw = `${prefix}-sw`;
  const created: string[] = [];
  const destroy = async () => {
    for (const ns of created.reverse()) {
      await run(["netns", "del", ns]).catch(() => {});
    }
    created.length = 0;
  };
  try {
    await run(["netns", "add", sw]);
    created.push(sw);
    for (const br of ["br0", "br1"]) {
      await run(["-n", sw, "link", "add", br, "type", "bridge", "mcast_snooping", "0"]);
      await run(["-n", sw, "link", "set", br, "up"]);
    }
    const nodes: NetNode[] = [];
    for (let i = 1; i <= count; i++) {
      const ns = `${prefix}-n${i}`;
      await run(["netns", "add", ns]);
      created.push(ns);
      await run(["-n", ns, "link", "set", "lo", "up"]);
      const node: NetNode = { ns, eth0: `198.18.72.${10 + i}`, eth1: `198.18.72.${130 + i}` };
      for (const [k, address] of [[0, node.eth0], [1, node.eth1]] as const) {
        const port = `n${i}e${k}`;
        await run([
          "-n",
          sw,
          "link",
          "add",
          port,
          "type",
          "veth",
          "peer",
          "name",
          `eth${k}`,
          "netns",
          ns,
        ]);
        await run(["-n", sw, "link", "set", port, "master", `br${k}`, "up"]);
        await run(["-n", ns, "addr", "add", `${address}/25`, "dev", `eth${k}`]);
        await run(["-n", ns, "link", "set", `eth${k}`, "up"]);
      }
      nodes.push(node);
    }
    return { nodes, destroy };
  } catch (e) {
    await destroy();
    throw e;
  }
}

/** What one probe printed. */
export interface ProbeReport {
  /** The probe's label. */
  label: string;
  /** Set when the probe could not open its links. */
  error?: string;
  /** Per link name: what it received, its counters and error reports. */
  links: Record<
    string,
    { received: Received[]; counters: Record<string, number>; errors: string[] }
  >;
}

const ROOT = new URL("../../", import.meta.url).pathname;

/**
 * Runs `tests/transport/link_probe.ts` in namespace `ns` under `runtime`, with
 * the given links; resolves to its report. Bounded by a 30 s timeout.
 */
export async function runProbe(
  ns: string,
  runtime: "deno" | "bun",
  label: string,
  specs: unknown[],
  sendMs = 1500,
  lingerMs = 400,
): Promise<ProbeReport> {
  const runner = runtime === "deno"
    ? [`${ROOT}node_modules/.bin/deno`, "run", "-A"]
    : [`${ROOT}node_modules/.bin/bun`, "run"];
  const out = await new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      ns,
      ...runner,
      `${ROOT}tests/transport/link_probe.ts`,
      label,
      String(sendMs),
      String(lingerMs),
      ...specs.map((s) => JSON.stringify(s)),
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  const stdout = new TextDecoder().decode(out.stdout).trim();
  const stderr = new TextDecoder().decode(out.stderr).trim();
  const last = stdout.split("\n").at(-1) ?? "";
  try {
    return JSON.parse(last) as ProbeReport;
  } catch {
    throw new Error(
      `probe ${label} in ${ns} (${runtime}) printed no report:\n${stdout}\n${stderr}`,
    );
  }
}
