import assert from "node:assert/strict";
import IPaddr, {
  addAddressArgs,
  arpCommand,
  findInterface,
  type InetAddress,
  type IpaddrParams,
  netmaskToPrefix,
  parseInetAddresses,
  parseIpv4,
  subnetContains,
} from "../../ra/ipaddr.ts";
import { findResourceAgent } from "../../ra/builtin.ts";
import { describeParams } from "../../plugins/param_description.ts";
import { type AgentContext, OCF } from "../../plugins/resource_agent.ts";
import { runResourceAgentContract } from "../plugins/resource_agent_contract.ts";
import { addressesOf, createRaLab, NIC1, RA_SUBNET, raLabUnavailable } from "../netns/ra_lab.ts";
import { IP } from "../netns/lab.ts";

const unavailable = raLabUnavailable();
const skipped = unavailable ? ` (skipped: ${unavailable})` : "";

// The contract's lifecycle needs a real interface: it runs in a namespace of our own, made
// once for this file, via the agent's `netns` parameter. Deleted by the last test and, if
// that is filtered out or never reached, when the process unloads.
const lab = unavailable ? undefined : await createRaLab("c");
if (lab) {
  globalThis.addEventListener("unload", () => {
    for (const ns of [lab.ns1, lab.ns2]) {
      new Deno.Command(IP, { args: ["netns", "del", ns], stdout: "null", stderr: "null" })
        .outputSync();
    }
  });
}

const VIP = `${RA_SUBNET}.100`;
const INVALID = [
  {},
  { ip: "10.0.0.256" },
  { ip: "10.0.0" },
  { ip: "010.0.0.1" },
  { ip: "10.0.0.1", cidr_netmask: 33 },
  { ip: "10.0.0.1", cidr_netmask: "255.0.255.0" },
  { ip: "10.0.0.1", nic: "eth0; reboot" },
  { ip: "10.0.0.1", nic: "a-name-longer-than-15" },
  { ip: "10.0.0.1", arp_count: -1 },
  { ip: "10.0.0.1", arp_mode: "later" },
  { ip: "10.0.0.1", netns: "../etc" },
  { ip: "10.0.0.1", label: "x y" },
];

if (lab) {
  runResourceAgentContract(
    IPaddr,
    () => ({ ip: VIP, cidr_netmask: "24", nic: NIC1, netns: lab.ns1 }),
    { invalidParams: INVALID },
  );
} else {
  Deno.test({ name: `contract IPaddr${skipped}`, ignore: true, fn: () => {} });
}

Deno.test("IPaddr: parseIpv4 accepts dotted quads and rejects the rest", () => {
  assert.equal(parseIpv4("0.0.0.0"), 0);
  assert.equal(parseIpv4("10.0.0.1"), 0x0a000001);
  assert.equal(parseIpv4("255.255.255.255"), 0xffffffff);
  for (const bad of ["256.0.0.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "a.b.c.d", "", " 1.2.3.4"]) {
    assert.equal(parseIpv4(bad), undefined, bad);
  }
});

Deno.test("IPaddr: subnet arithmetic and netmask conversion", () => {
  const net = parseIpv4("198.18.60.1")!;
  assert.ok(subnetContains(net, 24, parseIpv4("198.18.60.254")!));
  assert.ok(!subnetContains(net, 24, parseIpv4("198.18.61.1")!));
  assert.ok(subnetContains(net, 0, parseIpv4("8.8.8.8")!));
  assert.ok(subnetContains(net, 32, net));
  assert.ok(!subnetContains(net, 32, net + 1));
  assert.equal(netmaskToPrefix("255.255.255.0"), 24);
  assert.equal(netmaskToPrefix("255.255.255.255"), 32);
  assert.equal(netmaskToPrefix("255.0.255.0"), undefined);
});

const IP_OUTPUT = [
  "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever",
  "2: eth0    inet 10.0.0.1/16 brd 10.0.255.255 scope global eth0\\       valid_lft forever",
  "3: eth1    inet 10.0.5.1/24 brd 10.0.5.255 scope global eth1\\       valid_lft forever",
  "3: eth1    inet 10.0.5.100/24 brd 10.0.5.255 scope global secondary eth1:vip\\  valid_lft",
  "garbage line",
  "",
].join("\n");

Deno.test("IPaddr: parseInetAddresses reads `ip -o -f inet addr show`, labels included", () => {
  assert.deepEqual(parseInetAddresses(IP_OUTPUT), [
    { nic: "lo", address: "127.0.0.1", prefix: 8 },
    { nic: "eth0", address: "10.0.0.1", prefix: 16 },
    { nic: "eth1", address: "10.0.5.1", prefix: 24 },
    { nic: "eth1", address: "10.0.5.100", prefix: 24, label: "eth1:vip" },
  ]);
});

Deno.test("IPaddr: findInterface picks the longest matching prefix, like findif", () => {
  const addrs: InetAddress[] = parseInetAddresses(IP_OUTPUT);
  assert.deepEqual(findInterface(addrs, "10.0.5.7"), { nic: "eth1", prefix: 24 });
  assert.deepEqual(findInterface(addrs, "10.0.9.7"), { nic: "eth0", prefix: 16 });
  // A given prefix restricts the choice to subnets of that length.
  assert.deepEqual(findInterface(addrs, "10.0.5.7", 16), { nic: "eth0", prefix: 16 });
  assert.equal(findInterface(addrs, "192.168.1.1"), undefined);
  // Loopback is never chosen; the VIP's own copy does not count as a subnet.
  assert.equal(findInterface(addrs, "127.0.0.2"), undefined);
  assert.equal(
    findInterface([{ nic: "eth9", address: "1.2.3.4", prefix: 24 }], "1.2.3.4"),
    undefined,
  );
});

Deno.test("IPaddr: addAddressArgs builds the ip command line", () => {
  assert.deepEqual(addAddressArgs("10.0.0.100", 24, "eth0"), [
    "addr",
    "add",
    "10.0.0.100/24",
    "brd",
    "+",
    "dev",
    "eth0",
  ]);
  assert.deepEqual(
    addAddressArgs("10.0.0.100", 32, "eth0", { label: "vip" }),
    ["addr", "add", "10.0.0.100/32", "dev", "eth0", "label", "eth0:vip"],
  );
  assert.deepEqual(
    addAddressArgs("10.0.0.100", 24, "eth0", { broadcast: "10.0.0.255" }).slice(3, 5),
    ["brd", "10.0.0.255"],
  );
});

Deno.test("IPaddr: arpCommand rounds arping's interval up to seconds, send_arp keeps ms", () => {
  const a = arpCommand("arping", "/usr/bin/arping", "eth0", "10.0.0.100", 5, 200);
  assert.deepEqual(a.args, ["-q", "-U", "-c", "5", "-i", "1", "-I", "eth0", "10.0.0.100"]);
  assert.equal(a.expectedMs, 5000);
  const b = arpCommand("arping", "/usr/bin/arping", "eth0", "10.0.0.100", 2, 1500);
  assert.deepEqual(b.args.slice(4, 6), ["-i", "2"]);
  const s = arpCommand("send_arp", "/x/send_arp", "eth0", "10.0.0.100", 5, 200);
  assert.deepEqual(s.args, [
    "-i",
    "200",
    "-r",
    "5",
    "eth0",
    "10.0.0.100",
    "auto",
    "not_used",
    "not_used",
  ]);
});

Deno.test("IPaddr: params accept CIB strings and dotted netmasks, with defaults", () => {
  const p = IPaddr.params.parse({ ip: "10.0.0.1", cidr_netmask: "255.255.0.0", arp_count: "3" });
  assert.equal(p.cidr_netmask, 16);
  assert.equal(p.arp_count, 3);
  assert.equal(p.arp_interval, 200);
  assert.equal(p.arp_mode, "background");
  assert.equal(p.arp_sender, "auto");
  assert.equal(IPaddr.params.parse({ ip: "10.0.0.1", cidr_netmask: "24" }).cidr_netmask, 24);
});

Deno.test("IPaddr: every parameter is described; defaults show in the description table", () => {
  const rows = describeParams(IPaddr.params);
  assert.ok(rows.length > 0);
  for (const row of rows) assert.ok(row.description, `${row.name} has no description`);
  for (
    const [name, value] of [["arp_count", 5], ["arp_interval", 200], [
      "arp_mode",
      "background",
    ]] as [string, unknown][]
  ) {
    assert.deepEqual(rows.find((r) => r.name === name)?.default, value, name);
  }
});

Deno.test("IPaddr: registered as a built-in", () => {
  assert.equal(findResourceAgent("IPaddr"), IPaddr);
});

function context(params: IpaddrParams, lines: string[]): AgentContext<IpaddrParams> {
  return {
    params,
    resourceId: "vip",
    node: "n1",
    stateDir: "/nonexistent-state-dir",
    signal: new AbortController().signal,
    timeoutMs: 20_000,
    log: (line) => lines.push(line),
  };
}

Deno.test({
  name: `IPaddr: finds nic and netmask, labels the address, stop removes it${skipped}`,
  ignore: !lab,
  async fn() {
    const lines: string[] = [];
    const params = IPaddr.params.parse({ ip: `${RA_SUBNET}.101`, label: "vip", netns: lab!.ns1 });
    const ctx = context(params, lines);
    try {
      assert.equal(await IPaddr.actions.validate!(ctx), OCF.OK, lines.join("\n"));
      assert.equal(await IPaddr.actions.start(ctx), OCF.OK, lines.join("\n"));
      assert.ok((await addressesOf(lab!.ns1, NIC1)).includes(`${RA_SUBNET}.101/24`));
      const out = await new Deno.Command(IP, {
        args: ["-n", lab!.ns1, "-o", "-f", "inet", "addr", "show", "label", `${NIC1}:vip`],
        stdout: "piped",
      }).output();
      assert.match(new TextDecoder().decode(out.stdout), new RegExp(`${RA_SUBNET}\\.101/24`));
      assert.equal(await IPaddr.actions.monitor(ctx), OCF.OK);
      assert.equal(await IPaddr.actions.stop(ctx), OCF.OK, lines.join("\n"));
      assert.ok(!(await addressesOf(lab!.ns1, NIC1)).includes(`${RA_SUBNET}.101/24`));
      assert.equal(await IPaddr.actions.monitor(ctx), OCF.NOT_RUNNING);
    } finally {
      await IPaddr.actions.stop(ctx);
    }
  },
});

Deno.test({
  name: `IPaddr: an address in no local subnet without nic is ERR_CONFIGURED${skipped}`,
  ignore: !lab,
  async fn() {
    const lines: string[] = [];
    const ctx = context(IPaddr.params.parse({ ip: "203.0.113.9", netns: lab!.ns1 }), lines);
    assert.equal(await IPaddr.actions.validate!(ctx), OCF.ERR_CONFIGURED);
    assert.equal(await IPaddr.actions.start(ctx), OCF.ERR_CONFIGURED);
    assert.match(lines.join("\n"), /no interface has a subnet containing 203\.0\.113\.9/);
    assert.equal(await IPaddr.actions.monitor(ctx), OCF.NOT_RUNNING);
  },
});

Deno.test({
  name: `IPaddr: a missing nic is ERR_CONFIGURED for validate and start${skipped}`,
  ignore: !lab,
  async fn() {
    const lines: string[] = [];
    const p = IPaddr.params.parse({ ip: VIP, cidr_netmask: 24, nic: "nosuch0", netns: lab!.ns1 });
    const ctx = context(p, lines);
    assert.equal(await IPaddr.actions.validate!(ctx), OCF.ERR_CONFIGURED);
    assert.equal(await IPaddr.actions.start(ctx), OCF.ERR_CONFIGURED);
    // A probe on a node without that interface: not running here.
    assert.equal(await IPaddr.actions.monitor(ctx), OCF.NOT_RUNNING);
    assert.equal(await IPaddr.actions.stop(ctx), OCF.OK);
  },
});

Deno.test({
  name: `IPaddr: foreground ARP waits for the sender; an absent namespace fails${skipped}`,
  ignore: !lab,
  async fn() {
    const lines: string[] = [];
    const p = IPaddr.params.parse({
      ip: `${RA_SUBNET}.102`,
      nic: NIC1,
      cidr_netmask: 24,
      arp_count: 1,
      arp_mode: "foreground",
      netns: lab!.ns1,
    });
    const ctx = context(p, lines);
    try {
      const t0 = performance.now();
      assert.equal(await IPaddr.actions.start(ctx), OCF.OK, lines.join("\n"));
      const ms = performance.now() - t0;
      // Either a sender ran to completion (arping takes ~1 s for one packet) or none exists.
      assert.match(lines.join("\n"), /sent 1 gratuitous ARP|no gratuitous ARP sent/);
      if (/via arping/.test(lines.join("\n"))) assert.ok(ms >= 900, `start took ${ms} ms`);
    } finally {
      assert.equal(await IPaddr.actions.stop(ctx), OCF.OK);
    }
    const gone = context({ ...p, netns: "vgl-ra-no-such-ns" }, lines);
    assert.equal(await IPaddr.actions.monitor(gone), OCF.ERR_GENERIC);
  },
});

Deno.test({
  name: `IPaddr: delete the test namespaces${skipped}`,
  ignore: !lab,
  async fn() {
    await lab!.destroy();
  },
});
