/**
 * End-to-end: two real node processes in network namespaces, joined by a UDP unicast
 * link on eth0 (`lan-a`) and a serial line (`serial`): socat, in the root namespace,
 * joins two ptys, and each node opens its end by path.
 *
 * Cut eth0: the nodes stay in one membership over the serial line alone for three
 * deadtimes, and `/status` shows the serial link up with its packet counters growing.
 * Then stop socat (the cable is pulled): each node loses the other.
 *
 * Serial links carry frames up to 4 KiB only (heartbeats and probes), by design.
 *
 * Needs root, `ip` and socat; skipped otherwise.
 */

import assert from "node:assert/strict";
import { reportFigure } from "./figure.ts";
import { createLab, labUnavailable } from "./lab.ts";
import {
  makeLabDir,
  nodeConfig,
  removeLabDir,
  writeAuthkeys,
  writeNodeConfig,
} from "./node_files.ts";
import {
  type LabStatus,
  sleep,
  stopAll,
  VigilNode,
  waitForMembership,
  withNodeOutput,
} from "./node_process.ts";
import { type NullModem, SOCAT, startNullModem } from "./null_modem.ts";

const KEEPALIVE_MS = 200;
const DEADTIME_MS = 1000;
const BAUD = 115200;
/** Slack on top of deadtime for scheduling on a busy 2-vCPU machine. */
const MARGIN_MS = 1000;
const STARTUP_TIMEOUT_MS = 20_000;
const PORT = 694;

const unavailable = labUnavailable([SOCAT]);
/** Shown in the test's name when it is skipped. */
const skipped = unavailable ? ` (skipped: ${unavailable})` : "";

function peerOn(s: LabStatus, link: string, peer: string) {
  return s.links.find((l) => l.name === link)?.peers.find((p) => p.peer === peer);
}

function serialPacketsIn(s: LabStatus): number {
  return s.links.find((l) => l.name === "serial")?.counters.packetsIn ?? -1;
}

Deno.test({
  name: "netns: serial line (socat ptys) + ucast; eth0 cut keeps the pair, socat gone loses it" +
    skipped,
  ignore: unavailable !== undefined,
  async fn(t) {
    const lab = await createLab("sl", 2);
    const dir = makeLabDir();
    const nodes: VigilNode[] = [];
    let cable: NullModem | undefined;
    try {
      cable = await startNullModem(dir, "ttyN1", "ttyN2");
      const authkeys = writeAuthkeys(dir);
      const names = lab.nodes.map((n) => n.name);
      lab.nodes.forEach((n, i) => {
        const other = lab.nodes[1 - i];
        const file = writeNodeConfig(
          dir,
          nodeConfig({
            dir,
            authkeys,
            node: n.name,
            nodes: names,
            keepalive: `${KEEPALIVE_MS}ms`,
            deadtime: `${DEADTIME_MS}ms`,
            links: [
              { type: "serial", name: "serial", device: cable!.ends[i], baud: BAUD },
              {
                type: "ucast",
                name: "lan-a",
                bind: `${n.addressA}:${PORT}`,
                peers: [`${other.addressA}:${PORT}`],
              },
            ],
          }),
        );
        nodes.push(VigilNode.start({ name: n.name, ns: n.ns, configFile: file }));
      });
      const [n1, n2] = nodes;
      const peerOf = (node: VigilNode) => node === n1 ? "n2" : "n1";

      await waitForMembership(nodes, names, { timeoutMs: STARTUP_TIMEOUT_MS });
      for (const node of nodes) {
        await node.waitForStatus(
          (s) =>
            peerOn(s, "serial", peerOf(node))?.up === true &&
            peerOn(s, "lan-a", peerOf(node))?.up === true,
          { timeoutMs: 5000, what: "serial and lan-a up for the peer" },
        );
      }

      // eth0 cut: only the serial line joins the two.
      const cut = await lab.cut("n1", "a");
      for (const node of nodes) {
        await node.waitForEvent(
          (e) =>
            e.kind === "link-down" && e.subject === peerOf(node) && e.text.includes("link lan-a "),
          { since: cut, timeoutMs: DEADTIME_MS + MARGIN_MS, what: "link-down lan-a" },
        );
      }
      const before = await Promise.all(nodes.map((n) => n.status()));
      await sleep(Math.max(0, cut + 3 * DEADTIME_MS - performance.now()));
      const after = await Promise.all(nodes.map((n) => n.status()));
      for (const [i, node] of nodes.entries()) {
        const changes = node.eventsSince(
          cut,
          (e) => e.kind === "node-lost" || e.kind === "membership",
        );
        assert.deepEqual(
          changes.map((e) => e.text),
          [],
          `${node.name}: no node lost, no membership change over the serial line`,
        );
        const doc = after[i];
        assert.deepEqual(doc.membership?.members, names, `${node.name}: still a pair`);
        const serial = peerOn(doc, "serial", peerOf(node));
        assert.equal(serial?.up, true, `${node.name} /status: serial up for the peer`);
        assert.equal(peerOn(doc, "lan-a", peerOf(node))?.up, false, `${node.name}: lan-a down`);
        const grewPeer = serial!.packetsIn - peerOn(before[i], "serial", peerOf(node))!.packetsIn;
        const grewLink = serialPacketsIn(doc) - serialPacketsIn(before[i]);
        // At least one heartbeat per keepalive over the interval, less some slack.
        const span = doc.uptimeMs - before[i].uptimeMs;
        const atLeast = Math.floor(span / KEEPALIVE_MS / 2);
        await reportFigure(
          t,
          `${node.name}: serial packetsIn +${grewLink} (from ${peerOf(node)} +${grewPeer}) ` +
            `in ${span} ms over the serial line alone, rtt ${serial!.rttMs ?? "?"} ms`,
          () => {
            assert.ok(grewPeer >= atLeast, `peer packetsIn grew by ${grewPeer} < ${atLeast}`);
            assert.ok(grewLink >= grewPeer, `link packetsIn grew by ${grewLink} < ${grewPeer}`);
          },
        );
      }

      // The cable is pulled: nothing joins them any more.
      const pulled = await cable.stop();
      const detections: number[] = [];
      for (const node of nodes) {
        const lost = await node.waitForEvent(
          (e) => e.kind === "node-lost" && e.subject === peerOf(node),
          { since: pulled, timeoutMs: DEADTIME_MS + MARGIN_MS, what: "node-lost" },
        );
        detections.push(Math.round(lost.arrivedAt - pulled));
      }
      await reportFigure(
        t,
        `serial cable pulled to node-lost: n1 ${detections[0]} ms, n2 ${detections[1]} ms ` +
          `(keepalive ${KEEPALIVE_MS} ms, deadtime ${DEADTIME_MS} ms)`,
        () => {
          for (const d of detections) {
            assert.ok(d >= DEADTIME_MS - KEEPALIVE_MS - 20, `lost too early: ${d} ms`);
            assert.ok(d <= DEADTIME_MS + MARGIN_MS, `lost too late: ${d} ms`);
          }
        },
      );
      await waitForMembership([n1], ["n1"], { since: pulled, timeoutMs: 3000 });
      await waitForMembership([n2], ["n2"], { since: pulled, timeoutMs: 3000 });
    } catch (e) {
      throw withNodeOutput(e, nodes);
    } finally {
      await stopAll(nodes);
      await cable?.stop();
      await lab.destroy();
      removeLabDir(dir);
    }
  },
});
