import assert from "node:assert/strict";
import fc from "fast-check";
import {
  broadcastAddress,
  type InterfaceTable,
  localIPv4Addresses,
  prefixLength,
  resolveInterface,
} from "../../core/transport/interfaces.ts";
import { intToIPv4, ipv4ToInt } from "../../core/messaging/transport.ts";

const TABLE: InterfaceTable = {
  lo: [{ address: "127.0.0.1", netmask: "255.0.0.0", family: "IPv4" }],
  eth0: [
    { address: "fe80::1", netmask: "ffff:ffff:ffff:ffff::", family: "IPv6" },
    { address: "10.0.0.1", netmask: "255.255.255.0", family: "IPv4" },
    { address: "10.9.0.1", netmask: "255.255.0.0", family: "IPv4" },
  ],
  eth1: [{ address: "192.168.7.33", netmask: "255.255.255.224", family: 4 }],
  v6only: [{ address: "fd00::1", netmask: "ffff:ffff:ffff:ffff::", family: "IPv6" }],
};

Deno.test("resolveInterface: a name gives its first IPv4 address and broadcast", () => {
  assert.deepEqual(resolveInterface("eth0", TABLE), {
    name: "eth0",
    address: "10.0.0.1",
    broadcast: "10.0.0.255",
    prefix: 24,
  });
  assert.deepEqual(resolveInterface("eth1", TABLE), {
    name: "eth1",
    address: "192.168.7.33",
    broadcast: "192.168.7.63",
    prefix: 27,
  });
});

Deno.test("resolveInterface: an address picks that address and its interface", () => {
  assert.deepEqual(resolveInterface("10.9.0.1", TABLE), {
    name: "eth0",
    address: "10.9.0.1",
    broadcast: "10.9.255.255",
    prefix: 16,
  });
});

Deno.test("resolveInterface: errors name the interface and list the ones there are", () => {
  assert.throws(
    () => resolveInterface("eth7", TABLE),
    /^Error: no such interface "eth7" \(or it has no address; interfaces with addresses: eth0, eth1, lo, v6only\)$/,
  );
  assert.throws(
    () => resolveInterface("10.0.0.2", TABLE),
    /^Error: no interface has the address 10\.0\.0\.2/,
  );
  assert.throws(() => resolveInterface("v6only", TABLE), /interface v6only has no IPv4 address/);
});

Deno.test("resolveInterface: the real table has loopback", () => {
  assert.equal(resolveInterface("127.0.0.1").address, "127.0.0.1");
  assert.ok(localIPv4Addresses().includes("127.0.0.1"));
  assert.deepEqual(localIPv4Addresses(TABLE), [
    "127.0.0.1",
    "10.0.0.1",
    "10.9.0.1",
    "192.168.7.33",
  ]);
});

Deno.test("prefixLength rejects a non-contiguous netmask", () => {
  assert.equal(prefixLength("0.0.0.0"), 0);
  assert.equal(prefixLength("255.255.255.255"), 32);
  assert.throws(() => prefixLength("255.0.255.0"), /not contiguous/);
  assert.throws(() => broadcastAddress("10.0.0.1", "255.255.0.255"), /not contiguous/);
});

Deno.test("property: the broadcast address is the subnet's highest address", () => {
  fc.assert(
    fc.property(fc.nat({ max: 0xffffffff }), fc.integer({ min: 0, max: 32 }), (addr, prefix) => {
      const hostBits = 32 - prefix;
      const mask = prefix === 0 ? 0 : 0xffffffff - (2 ** hostBits - 1);
      const netmask = intToIPv4(mask);
      assert.equal(prefixLength(netmask), prefix);
      const network = addr - (addr % 2 ** hostBits);
      const expected = intToIPv4(network + 2 ** hostBits - 1);
      assert.equal(broadcastAddress(intToIPv4(addr), netmask), expected);
      assert.equal(ipv4ToInt(intToIPv4(addr)), addr);
    }),
    { numRuns: 1000 },
  );
});
