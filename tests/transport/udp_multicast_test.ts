import assert from "node:assert/strict";
import { openTransport } from "../../core/transport/open_transport.ts";
import { Collector } from "./collector.ts";
import { canUseNetns, createNetwork, type ProbeReport, runProbe } from "./netns.ts";

const NETNS = canUseNetns();
if (!NETNS) console.warn("multicast link tests in network namespaces skipped: not root");

const PORT = 6941;

/** Labels of the probes whose frames `report` received on `link`, and how many each. */
function senders(report: ProbeReport, link: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { text } of report.links[link].received) {
    const [sender, onLink] = text.split("/");
    assert.equal(onLink, link, `${text} arrived on ${link}`);
    counts.set(sender, (counts.get(sender) ?? 0) + 1);
  }
  return counts;
}

Deno.test({
  name: "mcast: three nodes (deno, bun, deno) hear the members of their group only",
  ignore: !NETNS,
  async fn() {
    const net = await createNetwork("mc", 3);
    try {
      const runtimes = ["deno", "bun", "deno"] as const;
      const reports = await Promise.all(
        net.nodes.map((node, i) =>
          runProbe(node.ns, runtimes[i], `n${i + 1}`, [
            // Loopback on: each node's own frames come back to it and must be dropped.
            {
              type: "mcast",
              name: "m0",
              interface: "eth0",
              group: "239.72.0.1",
              port: PORT,
              ttl: 1,
              loop: true,
            },
            // On eth1, n3 is in another group on the same port: it must hear nobody.
            {
              type: "mcast",
              name: "m1",
              interface: node.eth1,
              group: i < 2 ? "239.72.0.2" : "239.72.0.3",
              port: PORT,
              ttl: 1,
              loop: false,
            },
          ])
        ),
      );
      for (const report of reports) {
        assert.equal(report.error, undefined, `${report.label}: ${report.error}`);
        const m0 = senders(report, "m0");
        const others = ["n1", "n2", "n3"].filter((l) => l !== report.label);
        assert.deepEqual([...m0.keys()].sort(), others, `${report.label} m0 senders`);
        for (const [sender, count] of m0) {
          assert.ok(count >= 10, `${report.label} got ${count} from ${sender} on m0`);
        }
        const m1 = senders(report, "m1");
        const groupMates = report.label === "n3" ? [] : others.filter((l) => l !== "n3");
        assert.deepEqual([...m1.keys()].sort(), groupMates, `${report.label} m1 senders`);
        for (const link of ["m0", "m1"]) {
          const counters = report.links[link].counters;
          assert.equal(counters.sendErrors, 0, `${report.label} ${link} send errors`);
          assert.ok(counters.packetsOut >= 20);
        }
      }
    } finally {
      await net.destroy();
    }
  },
});

Deno.test("mcast: opening fails clearly for a bad group or a missing interface", async () => {
  const spec = {
    type: "mcast" as const,
    name: "m",
    interface: "lo",
    group: "10.1.1.1",
    port: PORT,
    ttl: 1,
    loop: false,
  };
  await assert.rejects(
    openTransport(spec, new Collector()),
    /^Error: link m \(mcast\): invalid spec: group: expected an IPv4 multicast group/,
  );
  await assert.rejects(
    openTransport({ ...spec, group: "239.72.0.9", ttl: 256 }, new Collector()),
    /^Error: link m \(mcast\): invalid spec: ttl: /,
  );
  await assert.rejects(
    openTransport({ ...spec, group: "239.72.0.9", interface: "eth9" }, new Collector()),
    /^Error: link m \(mcast\): no such interface "eth9"/,
  );
});
