/**
 * Virtual IP agents on a real (namespaced) network: the built-in `IPaddr` and the real
 * ocf:heartbeat:IPaddr2 of Debian's resource-agents through the OCF adapter.
 *
 * Two namespaces joined by a veth (see `ra_lab.ts`). The agents run in the first: the
 * built-in IPaddr once in this process through its `netns` parameter, once in a worker
 * process started under `ip netns exec` (the way IPaddr2 must run, since the OCF adapter
 * spawns the script in its own namespace). The second namespace is the neighbour that
 * pings the VIP and whose ARP table shows the gratuitous ARP.
 *
 * Needs root and `ip`; skipped otherwise. IPaddr2 is skipped when resource-agents is not
 * installed.
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import IPaddr, { type IpaddrParams } from "../../ra/ipaddr.ts";
import { type AgentContext, OCF } from "../../plugins/resource_agent.ts";
import { ip } from "./lab.ts";
import {
  addressesOf,
  createRaLab,
  macOf,
  neighbourMac,
  NIC1,
  NIC2,
  pingFrom,
  RA_SUBNET,
  raLabUnavailable,
  startWorker,
} from "./ra_lab.ts";

const IPADDR2 = "/usr/lib/ocf/resource.d/heartbeat/IPaddr2";
const unavailable = raLabUnavailable();
const skipped = unavailable ? ` (skipped: ${unavailable})` : "";
const noIpaddr2 = unavailable ?? (existsSync(IPADDR2) ? undefined : `${IPADDR2} is missing`);

const VIP = `${RA_SUBNET}.100`;
/** A MAC no interface has: the neighbour's stale entry for the VIP before the failover. */
const OLD_OWNER_MAC = "02:00:00:00:00:99";

async function waitFor(what: string, check: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  for (let i = 0; i < 1000 && performance.now() < deadline; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out after ${ms} ms waiting for ${what}`);
}

Deno.test({
  name: `netns: built-in IPaddr moves a VIP onto ns1; gratuitous ARP, ping, stop${skipped}`,
  ignore: unavailable !== undefined,
  async fn() {
    const lab = await createRaLab("i");
    const lines: string[] = [];
    const ctx: AgentContext<IpaddrParams> = {
      params: IPaddr.params.parse({ ip: VIP, cidr_netmask: "24", nic: NIC1, netns: lab.ns1 }),
      resourceId: "vip",
      node: "n1",
      stateDir: "/nonexistent-state-dir",
      signal: new AbortController().signal,
      timeoutMs: 20_000,
      log: (line) => lines.push(line),
    };
    try {
      // The neighbour still believes the VIP lives at its previous owner's MAC.
      await ip([
        "-n",
        lab.ns2,
        "neigh",
        "replace",
        VIP,
        "lladdr",
        OLD_OWNER_MAC,
        "dev",
        NIC2,
        "nud",
        "stale",
      ]);
      assert.equal(await IPaddr.actions.validate!(ctx), OCF.OK, lines.join("\n"));
      assert.equal(await IPaddr.actions.monitor(ctx), OCF.NOT_RUNNING);
      assert.equal(await pingFrom(lab.ns2, VIP), false, "VIP answers before start");
      await ip([
        "-n",
        lab.ns2,
        "neigh",
        "replace",
        VIP,
        "lladdr",
        OLD_OWNER_MAC,
        "dev",
        NIC2,
        "nud",
        "stale",
      ]);

      const t0 = performance.now();
      assert.equal(await IPaddr.actions.start(ctx), OCF.OK, lines.join("\n"));
      const startMs = performance.now() - t0;
      assert.ok((await addressesOf(lab.ns1, NIC1)).includes(`${VIP}/24`));
      // Background ARP: start did not wait for the 5 announcements (≥ 4 s with arping).
      assert.ok(startMs < 1000, `start took ${startMs.toFixed(0)} ms`);

      const sender = /via (arping|send_arp)/.exec(lines.join("\n"))?.[1];
      if (sender) {
        // The gratuitous ARP rewrote the neighbour's entry before any traffic needed it.
        const mac = await macOf(lab.ns1, NIC1);
        await waitFor(
          `ns2's ARP entry for ${VIP} to become ${mac} (via ${sender})`,
          async () => await neighbourMac(lab.ns2, NIC2, VIP) === mac,
          3_000,
        );
      } else {
        console.warn("no ARP sender installed: gratuitous ARP not checked");
      }
      assert.ok(await pingFrom(lab.ns2, VIP), "VIP does not answer ping from ns2");
      assert.equal(await IPaddr.actions.monitor(ctx), OCF.OK);

      assert.equal(await IPaddr.actions.stop(ctx), OCF.OK, lines.join("\n"));
      assert.ok(!(await addressesOf(lab.ns1, NIC1)).includes(`${VIP}/24`));
      assert.equal(await IPaddr.actions.monitor(ctx), OCF.NOT_RUNNING);
      await ip(["-n", lab.ns2, "neigh", "flush", "dev", NIC2]);
      assert.equal(await pingFrom(lab.ns2, VIP), false, "VIP still answers after stop");
    } finally {
      await IPaddr.actions.stop(ctx).catch(() => {});
      await lab.destroy();
    }
  },
});

Deno.test({
  name: `netns: IPaddr and ocf:heartbeat:IPaddr2 run by the LRM executor inside ns1${
    noIpaddr2 ? ` (skipped: ${noIpaddr2})` : ""
  }`,
  ignore: noIpaddr2 !== undefined,
  async fn(t) {
    const lab = await createRaLab("w");
    const stateDir = await Deno.makeTempDir({ prefix: "vigil-ra-netns-" });
    const worker = startWorker(lab.ns1, stateDir);
    try {
      // No nic, no netns: the worker lives in ns1, and findif-style lookup finds ra1.
      const cases = [
        { agent: "IPaddr", params: { ip: VIP } },
        { agent: "ocf:heartbeat:IPaddr2", params: { ip: VIP, cidr_netmask: "24", nic: NIC1 } },
      ];
      for (const { agent, params } of cases) {
        await t.step(agent, async () => {
          const op = async (action: "start" | "stop" | "monitor", want: number) => {
            const r = await worker.run({ agent, action, params });
            assert.equal(r.rc, want, `${agent} ${action}: ${JSON.stringify(r)}`);
            return r;
          };
          await op("monitor", OCF.NOT_RUNNING);
          await op("start", OCF.OK);
          assert.ok((await addressesOf(lab.ns1, NIC1)).includes(`${VIP}/24`));
          assert.ok(await pingFrom(lab.ns2, VIP), `${agent}: VIP does not answer ping`);
          await op("monitor", OCF.OK);
          await op("start", OCF.OK); // idempotent
          await op("stop", OCF.OK);
          assert.ok(!(await addressesOf(lab.ns1, NIC1)).includes(`${VIP}/24`));
          await op("monitor", OCF.NOT_RUNNING);
          await op("stop", OCF.OK); // idempotent
        });
      }
    } finally {
      await worker.close();
      await lab.destroy();
      await Deno.remove(stateDir, { recursive: true });
    }
  },
});
