/**
 * Resolving a link's `interface` (a name like `eth0`, or one of the host's IPv4
 * addresses) to the IPv4 address and broadcast address to use.
 *
 * {@link resolveInterface} is pure over the table it is given; the table
 * defaults to `networkInterfaces()` from node:os, which works the same under
 * Deno and Bun.
 *
 * @example
 * ```ts
 * resolveInterface("eth0"); // { name: "eth0", address: "10.0.0.1", broadcast: "10.0.0.255", prefix: 24 }
 * resolveInterface("10.0.0.1"); // the same
 * ```
 * @module
 */

import { networkInterfaces } from "node:os";
import { intToIPv4, ipv4ToInt, isIPv4 } from "../messaging/transport.ts";

/** One address of an interface, as node:os `networkInterfaces()` reports it. */
export interface InterfaceAddressInfo {
  /** The address. */
  address: string;
  /** Its netmask, dotted for IPv4. */
  netmask: string;
  /** "IPv4" or "IPv6" (some runtimes once reported 4 or 6). */
  family: string | number;
}

/** The host's interfaces by name, like node:os `networkInterfaces()`. */
export type InterfaceTable = Record<string, InterfaceAddressInfo[] | undefined>;

/** An interface resolved for a broadcast or multicast link. */
export interface ResolvedInterface {
  /** Interface name, e.g. `eth0`. */
  name: string;
  /** The IPv4 address used (the one given, or the interface's first). */
  address: string;
  /** Directed broadcast address of that address's subnet. */
  broadcast: string;
  /** Prefix length of the subnet, 0..32. */
  prefix: number;
}

/**
 * The directed broadcast address of `address` with `netmask` (address | ~netmask).
 *
 * @throws Error if either is not IPv4 or the netmask is not contiguous.
 */
export function broadcastAddress(address: string, netmask: string): string {
  prefixLength(netmask);
  const inverted = 0xffffffff - ipv4ToInt(netmask);
  // Bitwise operators work on signed 32-bit integers; `>>> 0` brings it back to unsigned.
  return intToIPv4((ipv4ToInt(address) | inverted) >>> 0);
}

/** The prefix length of a contiguous IPv4 netmask. Throws otherwise. */
export function prefixLength(netmask: string): number {
  const mask = ipv4ToInt(netmask);
  for (let prefix = 0; prefix <= 32; prefix++) {
    const candidate = prefix === 0 ? 0 : (0xffffffff - (2 ** (32 - prefix) - 1));
    if (candidate === mask) return prefix;
  }
  throw new Error(`netmask ${netmask} is not contiguous`);
}

function isV4(info: InterfaceAddressInfo): boolean {
  return info.family === "IPv4" || info.family === 4;
}

/**
 * Resolves an interface name or one of the host's IPv4 addresses.
 *
 * @param nameOrAddress `eth0`, or an IPv4 address assigned to some interface.
 * @param table the host's interfaces (default: node:os `networkInterfaces()`).
 * @throws Error naming the interface and listing the ones that exist, when there is no
 *   such interface, it has no IPv4 address, or no interface has the address.
 */
export function resolveInterface(
  nameOrAddress: string,
  table: InterfaceTable = networkInterfaces() as InterfaceTable,
): ResolvedInterface {
  const known = Object.keys(table).sort().join(", ") || "none";
  const pick = (name: string, info: InterfaceAddressInfo): ResolvedInterface => ({
    name,
    address: info.address,
    broadcast: broadcastAddress(info.address, info.netmask),
    prefix: prefixLength(info.netmask),
  });
  if (isIPv4(nameOrAddress)) {
    for (const [name, infos] of Object.entries(table)) {
      const info = (infos ?? []).find((i) => isV4(i) && i.address === nameOrAddress);
      if (info) return pick(name, info);
    }
    throw new Error(
      `no interface has the address ${nameOrAddress} (interfaces with addresses: ${known})`,
    );
  }
  const infos = table[nameOrAddress];
  if (infos === undefined) {
    throw new Error(
      `no such interface ${JSON.stringify(nameOrAddress)} (or it has no address; ` +
        `interfaces with addresses: ${known})`,
    );
  }
  const info = infos.find(isV4);
  if (!info) throw new Error(`interface ${nameOrAddress} has no IPv4 address`);
  return pick(nameOrAddress, info);
}

/** Every IPv4 address of the host (from `table`, default node:os). */
export function localIPv4Addresses(
  table: InterfaceTable = networkInterfaces() as InterfaceTable,
): string[] {
  return Object.values(table).flatMap((infos) => (infos ?? []).filter(isV4).map((i) => i.address));
}
