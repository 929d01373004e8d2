/**
 * A two-LAN test network in Linux network namespaces for end-to-end tests of real
 * Vigil node processes.
 *
 * ```
 *  vgl-nl-<pid>-<tag>-n1        -n2                -n3
 *    eth0 198.18.80.N/24 ------ br-a (in -sw) ------ ...
 *    eth1 198.18.81.N/24 ------ br-b (in -sw) ------ ...
 * ```
 *
 * The switch namespace holds both bridges; each node namespace has `eth0` on bridge a
 * and `eth1` on bridge b, loopback up, and no default route, so nothing leaves the lab.
 * The switch-side end of node N's veth on bridge a is `nNa`, on bridge b `nNb`.
 * Cutting a link of a node sets that switch-side end down (the node sees NO-CARRIER,
 * its peers just stop hearing it), as `shared/anchors-failover` does for "cut".
 *
 * Names carry the process id and a per-file tag, so concurrent runs and the test
 * files of one run stay apart.
 *
 * @example
 * ```ts
 * const lab = await createLab("2l", 3);
 * try {
 *   const t0 = await lab.cut("n3", "a");
 *   await lab.restore("n3", "a");
 * } finally {
 *   await lab.destroy();
 * }
 * ```
 * @module
 */

import { existsSync } from "node:fs";

/** Where `ip` is expected (Debian's iproute2). */
export const IP = "/usr/sbin/ip";

/** One of the two bridges. */
export type Bridge = "a" | "b";

/** One node's namespace and addresses. */
export interface LabNode {
  /** Node name: n1, n2, ... */
  name: string;
  /** Its network namespace. */
  ns: string;
  /** Its address on bridge a (`eth0`). */
  addressA: string;
  /** Its address on bridge b (`eth1`). */
  addressB: string;
}

/** A created lab; {@link Lab.destroy} removes every namespace it made. */
export interface Lab {
  /** Name of the switch namespace. */
  switchNs: string;
  /** The nodes, n1 first. */
  nodes: LabNode[];
  /** The node called `name` (throws for an unknown one). */
  node(name: string): LabNode;
  /**
   * Cuts `name`'s link on `bridge` (switch-side veth down). Resolves to
   * `performance.now()` taken just before the `ip` call: the instant of the cut.
   */
  cut(name: string, bridge: Bridge): Promise<number>;
  /** Undoes {@link Lab.cut}; resolves to `performance.now()` just before the `ip` call. */
  restore(name: string, bridge: Bridge): Promise<number>;
  /** Deletes every namespace (with them the veths and bridges). Idempotent, never throws. */
  destroy(): Promise<void>;
}

/** Subnet of bridge a (the first 3 octets). */
export const SUBNET_A = "198.18.80";
/** Subnet of bridge b (the first 3 octets). */
export const SUBNET_B = "198.18.81";

const IP_TIMEOUT_MS = 10_000;
const MAX_NODES = 9;

/**
 * Why the lab cannot run here (not root, `ip` missing, or one of `commands` missing),
 * or undefined when it can.
 */
export function labUnavailable(commands: readonly string[] = []): string | undefined {
  if (Deno.uid() !== 0) return "needs root (network namespaces)";
  for (const path of [IP, ...commands]) {
    if (!existsSync(path)) return `${path} is missing`;
  }
  return undefined;
}

/**
 * Runs `ip ARGS` with a time bound.
 *
 * @returns its standard output.
 * @throws Error naming the command and its standard error when it fails.
 */
export async function ip(args: readonly string[]): Promise<string> {
  const out = await new Deno.Command(IP, {
    args: [...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(IP_TIMEOUT_MS),
  }).output();
  if (out.code !== 0) {
    const stderr = new TextDecoder().decode(out.stderr).trim();
    throw new Error(`ip ${args.join(" ")}: exit ${out.code}: ${stderr}`);
  }
  return new TextDecoder().decode(out.stdout);
}

async function namespaceExists(ns: string): Promise<boolean> {
  const list = await ip(["netns", "list"]);
  return list.split("\n").some((line) => line.split(" ")[0] === ns);
}

/**
 * Creates the switch namespace with bridges `br-a` and `br-b` and `count` node
 * namespaces (1..9). `tag` (short, [a-z0-9]) tells the test files of one run apart.
 * On failure everything created so far is deleted before the error is thrown.
 */
export async function createLab(tag: string, count: number): Promise<Lab> {
  if (!/^[a-z0-9]{1,6}$/.test(tag)) throw new Error(`createLab: bad tag ${JSON.stringify(tag)}`);
  if (!Number.isInteger(count) || count < 1 || count > MAX_NODES) {
    throw new Error(`createLab: ${count} nodes (1..${MAX_NODES})`);
  }
  const prefix = `vgl-nl-${Deno.pid}-${tag}`;
  const switchNs = `${prefix}-sw`;
  const created: string[] = [];
  const destroy = async () => {
    for (const ns of created.splice(0).reverse()) {
      await ip(["netns", "del", ns]).catch((e) => console.error(`lab: ${e}`));
    }
  };
  const addNamespace = async (ns: string) => {
    // Left over by an earlier run that had the same pid and died: it is ours by name.
    if (await namespaceExists(ns)) await ip(["netns", "del", ns]);
    await ip(["netns", "add", ns]);
    created.push(ns);
    await ip(["-n", ns, "link", "set", "lo", "up"]);
  };
  try {
    await addNamespace(switchNs);
    for (const br of ["br-a", "br-b"]) {
      // Snooping off: broadcasts and multicasts reach every port from the start.
      await ip(["-n", switchNs, "link", "add", br, "type", "bridge", "mcast_snooping", "0"]);
      await ip(["-n", switchNs, "link", "set", br, "up"]);
    }
    const nodes: LabNode[] = [];
    for (let i = 1; i <= count; i++) {
      const node: LabNode = {
        name: `n${i}`,
        ns: `${prefix}-n${i}`,
        addressA: `${SUBNET_A}.${i}`,
        addressB: `${SUBNET_B}.${i}`,
      };
      await addNamespace(node.ns);
      const legs = [["a", "eth0", node.addressA], ["b", "eth1", node.addressB]] as const;
      for (const [bridge, dev, address] of legs) {
        const port = switchPort(node.name, bridge);
        await ip([
          "-n",
          switchNs,
          "link",
          "add",
          port,
          "type",
          "veth",
          "peer",
          "name",
          dev,
          "netns",
          node.ns,
        ]);
        await ip(["-n", switchNs, "link", "set", port, "master", `br-${bridge}`, "up"]);
        await ip(["-n", node.ns, "addr", "add", `${address}/24`, "dev", dev]);
        await ip(["-n", node.ns, "link", "set", dev, "up"]);
      }
      nodes.push(node);
    }
    const node = (name: string) => {
      const found = nodes.find((n) => n.name === name);
      if (!found) throw new Error(`lab: no node ${name}`);
      return found;
    };
    const setPort = async (name: string, bridge: Bridge, state: "up" | "down") => {
      const at = performance.now();
      await ip(["-n", switchNs, "link", "set", switchPort(node(name).name, bridge), state]);
      return at;
    };
    return {
      switchNs,
      nodes,
      node,
      cut: (name, bridge) => setPort(name, bridge, "down"),
      restore: (name, bridge) => setPort(name, bridge, "up"),
      destroy,
    };
  } catch (e) {
    await destroy();
    throw e;
  }
}

/** The switch-side end of `node`'s veth on `bridge` (at most 15 characters: nNa, nNb). */
function switchPort(node: string, bridge: Bridge): string {
  return `${node}${bridge}`;
}
