/**
 * End-to-end: three real node processes in network namespaces joined by two LANs,
 * `lan-a` (UDP broadcast on eth0) and `lan-b` (UDP unicast on eth1). Every frame goes
 * out on both, so a node is lost only when it is silent on both.
 *
 * (a) Cut n3 from LAN a: the others see link lan-a down for n3 but keep it as a
 *     member (it is still heard on lan-b).
 * (b) Cut n3 from LAN b too: n1 and n2 lose n3 within deadtime plus a margin, agree
 *     on {n1, n2} and keep quorum (2 of 3 votes). The detection time is printed.
 * (c) Restore both: n3 rejoins; the time to a membership of three is printed.
 *
 * Needs root and `ip`; skipped otherwise.
 */

import assert from "node:assert/strict";
import { reportFigure } from "./figure.ts";
import { createLab, type Lab, labUnavailable } from "./lab.ts";
import {
  makeLabDir,
  nodeConfig,
  removeLabDir,
  writeAuthkeys,
  writeNodeConfig,
} from "./node_files.ts";
import {
  type LabStatus,
  membershipOf,
  type ObservedEvent,
  sleep,
  stopAll,
  VigilNode,
  waitForMembership,
  withNodeOutput,
} from "./node_process.ts";

const KEEPALIVE_MS = 100;
const DEADTIME_MS = 500;
/** Slack on top of deadtime for scheduling on a busy 2-vCPU machine. */
const MARGIN_MS = 1000;
const STARTUP_TIMEOUT_MS = 20_000;
const PORT = 694;
const REJOIN_TIMEOUT_MS = 10_000;

const unavailable = labUnavailable();
/** Shown in the test's name when it is skipped. */
const skipped = unavailable ? ` (skipped: ${unavailable})` : "";

function linkConfigs(lab: Lab, name: string): Record<string, unknown>[] {
  const others = lab.nodes.filter((n) => n.name !== name);
  return [
    { type: "bcast", name: "lan-a", interface: "eth0", port: PORT },
    {
      type: "ucast",
      name: "lan-b",
      bind: `${lab.node(name).addressB}:${PORT}`,
      peers: others.map((o) => `${o.addressB}:${PORT}`),
    },
  ];
}

/** How `peer` looks on link `link` in a status document. */
function peerView(s: LabStatus, link: string, peer: string) {
  return s.links.find((l) => l.name === link)?.peers.find((p) => p.peer === peer);
}

/** Whether `peer` is up on link `link` in a status document. */
function linkUpFor(s: LabStatus, link: string, peer: string): boolean | undefined {
  return peerView(s, link, peer)?.up;
}

const isLinkDown = (link: string, peer: string) => (e: ObservedEvent) =>
  e.kind === "link-down" && e.subject === peer && e.text.includes(`link ${link} `);

Deno.test({
  name: "netns: two links (bcast + ucast); one cut keeps n3, both cuts lose it, restore rejoins" +
    skipped,
  ignore: unavailable !== undefined,
  async fn(t) {
    const lab = await createLab("2l", 3);
    const dir = makeLabDir();
    const nodes: VigilNode[] = [];
    try {
      const authkeys = writeAuthkeys(dir);
      const names = lab.nodes.map((n) => n.name);
      for (const n of lab.nodes) {
        const file = writeNodeConfig(
          dir,
          nodeConfig({
            dir,
            authkeys,
            node: n.name,
            nodes: names,
            keepalive: `${KEEPALIVE_MS}ms`,
            deadtime: `${DEADTIME_MS}ms`,
            links: linkConfigs(lab, n.name),
          }),
        );
        nodes.push(VigilNode.start({ name: n.name, ns: n.ns, configFile: file }));
      }
      const [n1, n2, n3] = nodes;
      const survivors = [n1, n2];

      await waitForMembership(nodes, names, { timeoutMs: STARTUP_TIMEOUT_MS });
      for (const node of nodes) {
        await node.waitForStatus(
          (s) =>
            s.membership?.members.length === 3 &&
            names.filter((p) => p !== node.name).every((p) =>
              linkUpFor(s, "lan-a", p) === true && linkUpFor(s, "lan-b", p) === true
            ),
          { timeoutMs: 5000, what: "membership of 3 with both links up for every peer" },
        );
      }

      // (a) n3 off LAN a: only that link goes down.
      const cutA = await lab.cut("n3", "a");
      const linkDownMs: number[] = [];
      for (const s of survivors) {
        const e = await s.waitForEvent(isLinkDown("lan-a", "n3"), {
          since: cutA,
          timeoutMs: DEADTIME_MS + MARGIN_MS,
          what: "link-down lan-a for n3",
        });
        linkDownMs.push(Math.round(e.arrivedAt - cutA));
      }
      await reportFigure(
        t,
        `(a) lan-a down for n3 after the cut: n1 ${linkDownMs[0]} ms, n2 ${linkDownMs[1]} ms`,
        () => linkDownMs.forEach((ms) => assert.ok(ms >= DEADTIME_MS - KEEPALIVE_MS - 20, `${ms}`)),
      );
      for (const peer of ["n1", "n2"]) {
        await n3.waitForEvent(isLinkDown("lan-a", peer), {
          since: cutA,
          timeoutMs: DEADTIME_MS + MARGIN_MS,
          what: `link-down lan-a for ${peer}`,
        });
      }
      await sleep(Math.max(0, cutA + 3 * DEADTIME_MS - performance.now()));
      for (const node of nodes) {
        const changes = node.eventsSince(
          cutA,
          (e) => e.kind === "node-lost" || e.kind === "membership",
        );
        assert.deepEqual(
          changes.map((e) => e.text),
          [],
          `${node.name}: no node lost and no membership change while lan-b still joins n3`,
        );
      }
      const afterA = await n1.status();
      assert.equal(linkUpFor(afterA, "lan-a", "n3"), false, "n1 /status: lan-a down for n3");
      assert.equal(linkUpFor(afterA, "lan-b", "n3"), true, "n1 /status: lan-b up for n3");
      assert.equal(linkUpFor(afterA, "lan-a", "n2"), true, "n1 /status: lan-a still up for n2");
      assert.deepEqual(afterA.membership?.members, names, "n1 /status: n3 still a member");
      const n3OnA = peerView(afterA, "lan-a", "n3")!;
      const n3OnB = peerView(afterA, "lan-b", "n3")!;
      assert.ok(
        n3OnA.lastHeardAgoMs !== null && n3OnA.lastHeardAgoMs >= DEADTIME_MS,
        `lan-a: n3 silent since the cut: ${JSON.stringify(n3OnA)}`,
      );
      assert.ok(
        n3OnB.lastHeardAgoMs !== null && n3OnB.lastHeardAgoMs < DEADTIME_MS,
        `lan-b: n3 heard recently: ${JSON.stringify(n3OnB)}`,
      );
      // Probes go out every second on each link until every peer has a round-trip time.
      assert.ok(
        typeof n3OnB.rttMs === "number" && n3OnB.rttMs >= 0,
        `lan-b: round-trip time to n3 measured: ${JSON.stringify(n3OnB)}`,
      );

      // (b) n3 off LAN b too: lost.
      const cutB = await lab.cut("n3", "b");
      const detections: number[] = [];
      for (const s of survivors) {
        const lost = await s.waitForEvent((e) => e.kind === "node-lost" && e.subject === "n3", {
          since: cutB,
          timeoutMs: DEADTIME_MS + MARGIN_MS,
          what: "node-lost n3",
        });
        detections.push(Math.round(lost.arrivedAt - cutB));
      }
      await reportFigure(
        t,
        `(b) detection after the double cut (cut to node-lost): n1 ${detections[0]} ms, ` +
          `n2 ${detections[1]} ms (keepalive ${KEEPALIVE_MS} ms, deadtime ${DEADTIME_MS} ms)`,
        () => {
          for (const d of detections) {
            // The last frame may have left up to one keepalive before the cut; never earlier.
            assert.ok(
              d >= DEADTIME_MS - KEEPALIVE_MS - 20,
              `lost too early: ${d} ms after the cut`,
            );
            assert.ok(d <= DEADTIME_MS + MARGIN_MS, `lost too late: ${d} ms after the cut`);
          }
        },
      );
      await waitForMembership(survivors, ["n1", "n2"], {
        since: cutB,
        timeoutMs: DEADTIME_MS + MARGIN_MS,
      });
      for (const s of survivors) {
        const doc = await s.waitForStatus(
          (d) => d.membership?.members.join(",") === "n1,n2" && d.quorum !== null,
          { timeoutMs: 3000, what: "membership {n1,n2} with quorum computed" },
        );
        assert.equal(doc.quorum?.quorate, true, `${s.name} keeps quorum: ${doc.quorum?.reason}`);
        assert.equal(doc.quorum?.votes, 2);
        assert.equal(doc.quorum?.expected, 3);
        assert.equal(linkUpFor(doc, "lan-b", "n3"), false, `${s.name}: lan-b down for n3`);
      }
      for (const s of survivors) {
        // Quorum never changed for the survivors, so no quorum event at all.
        const quorumEvents = s.eventsSince(cutB, (e) => e.kind === "quorum");
        assert.deepEqual(quorumEvents.map((e) => e.text), [], `${s.name} kept quorum throughout`);
      }
      const alone = await n3.waitForStatus(
        (d) => d.membership?.members.join(",") === "n3" && d.quorum !== null,
        { timeoutMs: DEADTIME_MS + MARGIN_MS + 2000, what: "n3 alone" },
      );
      assert.equal(alone.quorum?.quorate, false, "n3 alone has no quorum (1 of 3)");

      // (c) Both links back: n3 rejoins.
      const restoredAt = await lab.restore("n3", "a");
      await lab.restore("n3", "b");
      const joined = await waitForMembership(nodes, names, {
        since: restoredAt,
        timeoutMs: REJOIN_TIMEOUT_MS,
      });
      const rejoinMs = Math.round(Math.max(...joined.map((e) => e.arrivedAt)) - restoredAt);
      await reportFigure(
        t,
        `(c) rejoin: restore to a membership of 3 on every node ${rejoinMs} ms`,
        () => assert.ok(rejoinMs >= 0 && rejoinMs <= REJOIN_TIMEOUT_MS, `${rejoinMs}`),
      );
      for (const node of nodes) {
        const doc = await node.waitForStatus(
          (d) =>
            names.filter((p) => p !== node.name).every((p) =>
              linkUpFor(d, "lan-a", p) === true && linkUpFor(d, "lan-b", p) === true
            ),
          { timeoutMs: 3000, what: "both links up for every peer after the restore" },
        );
        assert.deepEqual(doc.membership?.members, names);
        assert.equal(doc.quorum?.quorate, true);
      }
      // A membership of three was reported after the restore by all (not a stale one).
      for (const e of joined) assert.deepEqual(membershipOf(e), names);
    } catch (e) {
      throw withNodeOutput(e, nodes);
    } finally {
      await stopAll(nodes);
      await lab.destroy();
      removeLabDir(dir);
    }
  },
});
