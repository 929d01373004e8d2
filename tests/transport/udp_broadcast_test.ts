import assert from "node:assert/strict";
import { openTransport } from "../../core/transport/open_transport.ts";
import { openUdpBroadcast } from "../../core/transport/udp_broadcast.ts";
import { Collector } from "./collector.ts";
import { canUseNetns, createNetwork, type ProbeReport, runProbe } from "./netns.ts";

const NETNS = canUseNetns();
if (!NETNS) console.warn("broadcast link tests in network namespaces skipped: not root");

const PORT = 6940;

/** Texts received on `link` by `report`, grouped by the sending probe's label. */
function bySender(report: ProbeReport, link: string): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const { text } of report.links[link].received) {
    const sender = text.split("/")[0];
    groups.set(sender, [...(groups.get(sender) ?? []), text]);
  }
  return groups;
}

Deno.test({
  name: "bcast: three nodes (deno, bun, deno) hear each other on two interfaces kept apart",
  ignore: !NETNS,
  async fn() {
    const net = await createNetwork("bc", 3);
    try {
      const runtimes = ["deno", "bun", "deno"] as const;
      const reports = await Promise.all(
        net.nodes.map((node, i) =>
          runProbe(node.ns, runtimes[i], `n${i + 1}`, [
            { type: "bcast", name: "net0", interface: "eth0", port: PORT },
            // The second link names its interface by address, and uses the same port.
            { type: "bcast", name: "net1", interface: node.eth1, port: PORT },
          ])
        ),
      );
      for (const report of reports) {
        assert.equal(report.error, undefined, `${report.label}: ${report.error}`);
        for (const link of ["net0", "net1"]) {
          const groups = bySender(report, link);
          const others = reports.map((r) => r.label).filter((l) => l !== report.label);
          assert.deepEqual([...groups.keys()].sort(), others, `${report.label} ${link} senders`);
          for (const [sender, texts] of groups) {
            assert.ok(texts.length >= 10, `${report.label} got ${texts.length} from ${sender}`);
            // Each interface's broadcasts stay on their own link.
            for (const t of texts) assert.equal(t.split("/")[1], link, `${t} arrived on ${link}`);
          }
          const node = net.nodes[Number(report.label.slice(1)) - 1];
          const sources = new Set(report.links[link].received.map((f) => f.source.split(":")[0]));
          const subnet = link === "net0" ? "eth0" : "eth1";
          const expected = net.nodes.filter((n) => n !== node).map((n) => n[subnet]).sort();
          assert.deepEqual([...sources].sort(), expected, "sources are the senders' addresses");
          const counters = report.links[link].counters;
          assert.equal(counters.sendErrors, 0);
          assert.ok(counters.packetsOut >= 20);
          assert.equal(counters.packetsIn, report.links[link].received.length);
        }
      }
    } finally {
      await net.destroy();
    }
  },
});

Deno.test("bcast: opening fails clearly for a missing interface or one without broadcast", async () => {
  await assert.rejects(
    openTransport({ type: "bcast", name: "b0", interface: "eth9", port: PORT }, new Collector()),
    /^Error: link b0 \(bcast\): no such interface "eth9" \(or it has no address; interfaces with addresses: .*lo.*\)$/,
  );
  await assert.rejects(
    openTransport(
      { type: "bcast", name: "b1", interface: "198.18.72.250", port: PORT },
      new Collector(),
    ),
    /^Error: link b1 \(bcast\): no interface has the address 198\.18\.72\.250/,
  );
  await assert.rejects(
    openUdpBroadcast(
      { type: "bcast", name: "b2", interface: "tun0", port: PORT },
      new Collector(),
      {
        interfaces: { tun0: [{ address: "10.1.2.3", netmask: "255.255.255.255", family: "IPv4" }] },
      },
    ),
    /interface tun0 has the address 10\.1\.2\.3\/32: a subnet with no broadcast address/,
  );
  await assert.rejects(
    openTransport({ type: "bcast", name: "b3", interface: "lo", port: 0 }, new Collector()),
    /^Error: link b3 \(bcast\): invalid spec: port: /,
  );
});
