/**
 * Interop against a real Linux-HA Heartbeat 3.0.6: heartbeat runs in namespace
 * vgl-hb-n1 as node `vglhb1`; the real Vigil daemon (`main.ts run --config FILE`) runs in
 * vgl-hb-n2 as `vglcompat`, one Vigil node with no Vigil links and a `heartbeatCompat`
 * section that makes it a Heartbeat node too.
 *
 * Shows (a) heartbeat reports the Vigil node `active` (cl_status) and keeps doing so for
 * 3 x its deadtime, and accepts our flow-control acks (300 messages, no client pause);
 * (b) the daemon logs heartbeat up and its `/status` shows it `active`, then logs it dead
 * within heartbeat's advertised deadtime (plus a margin) after it is stopped; (c) the
 * daemon's `/status` counts the repnodes and acks it sent.
 *
 * A control runs heartbeat_compat_node.ts with acks disabled: the same pump then pauses
 * heartbeat's clients, so (a)'s "no pause" check can fail.
 *
 * Skipped unless root with heartbeat installed.
 */

import assert from "node:assert/strict";
import {
  closeSync,
  constants,
  mkdtempSync,
  openSync,
  readFileSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { StatusDocument } from "../../core/api/status_app.ts";
import type { HbPeerSnapshot } from "../../core/compat/heartbeat_peers.ts";
import { HB_AUTH_REASONS } from "../../core/wire/heartbeat_auth.ts";
import {
  clStatus,
  type CompatLine,
  type DaemonLine,
  isCompatLine,
  LAB,
  type LabLeftovers,
  labUnavailable,
  type LineChild,
  netDown,
  netUp,
  prepareHeartbeat,
  sleep,
  spawnInNetns,
  startHeartbeat,
  startVigilDaemon,
  stopTree,
  tail,
  tearDownLab,
  vigilStatus,
  waitForLine,
} from "./heartbeat_lab.ts";

const HB_NODE = "vglhb1";
const VIGIL_NODE = "vglcompat";
const HB_DEADTIME_MS = 2000; // ha.cf "deadtime 2"
/** Vigil's own deadtime, deliberately different so the test can tell which one was used. */
const VIGIL_DEADTIME_MS = 5000;
const VIGIL_KEEPALIVE_MS = 200;
/** The daemon's API, on loopback inside its namespace. */
const VIGIL_API = "127.0.0.1:7501";
const AUTHKEYS = "auth 1\n1 sha1 vigil-interop-secret\n";
const REPO = fileURLToPath(new URL("../../", import.meta.url));
const DENO = join(REPO, "node_modules/.bin/deno");
const MAIN = join(REPO, "main.ts");
const COMPAT_SCRIPT = join(REPO, "tests/interop/heartbeat_compat_node.ts");
/** Messages pushed through heartbeat; it pauses its clients at 250 unacknowledged. */
const PUMPED = 300;
/** Whole-test budget; every wait below is also bounded on its own. */
const BUDGET_MS = 55_000;

const unavailable = labUnavailable();
if (unavailable !== undefined) {
  console.log(`heartbeat interop test skipped: ${unavailable}`);
}

/**
 * Write `count` harmless classic-text messages into heartbeat's FIFO (as `ha_clustermsg`
 * does), in bursts of 30 every 100 ms, so heartbeat broadcasts them with sequence numbers.
 *
 * @returns how many were written.
 */
async function pumpHeartbeatFifo(fifo: string, count: number): Promise<number> {
  // O_NONBLOCK: fail at once (ENXIO) instead of hanging if heartbeat's reader is gone.
  const fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  let written = 0;
  try {
    while (written < count) {
      for (let i = 0; i < 30 && written < count; i++, written++) {
        writeSync(fd, `>>>\nt=vgl-interop-pump\nn=${written}\n<<<\n`);
      }
      await sleep(100);
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

/** The daemon configuration: one Vigil node, no Vigil link, heartbeat-compat on the veth. */
function vigilConfig(dir: string, authkeys: string): object {
  return {
    node: VIGIL_NODE,
    // No Vigil link at all: heartbeatCompat is this node's only medium.
    nodes: [{ name: VIGIL_NODE, api: VIGIL_API }],
    authkeys,
    stateDir: join(dir, "vigil-state"),
    keepalive: `${VIGIL_KEEPALIVE_MS}ms`,
    deadtime: `${VIGIL_DEADTIME_MS}ms`,
    heartbeatCompat: { nodes: [HB_NODE], port: 694, broadcast: [LAB.ifname] },
  };
}

/** What a `heartbeat-node` line of the daemon says happened to `node`. */
type HbNodeEvent = "up" | "dead" | "restarted" | "status";

function hbNodeEvent(l: DaemonLine, node: string): HbNodeEvent | undefined {
  if (l.kind !== "heartbeat-node" || l.subject !== node) return undefined;
  if (l.text.startsWith(`Heartbeat node ${node} is up `)) return "up";
  if (l.text.startsWith(`Heartbeat node ${node} is dead `)) return "dead";
  if (l.text.startsWith(`Heartbeat node ${node} restarted `)) return "restarted";
  return "status";
}

function hbPeer(status: StatusDocument, node: string): HbPeerSnapshot | undefined {
  return status.heartbeatPeers?.find((p) => p.name === node);
}

Deno.test({
  name: "interop: real heartbeat 3.0.6 and the Vigil daemon in heartbeat-compat mode",
  ignore: unavailable !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const started = Date.now();
    const deadline = started + BUDGET_MS;
    const left = () => Math.max(0, deadline - Date.now());
    const dir = mkdtempSync(join(tmpdir(), "vgl-hb-"));
    const hbDir = join(dir, "n1");
    const leftovers: LabLeftovers = { children: [], hbPid: undefined, dir };
    let vigil: LineChild<DaemonLine> | undefined;
    const report: string[] = [];
    const status = () => vigilStatus(LAB.nodeNs[1], VIGIL_API, DENO);
    try {
      netDown(); // a leftover of an aborted run would make netUp fail
      netUp();
      prepareHeartbeat(hbDir, { node: HB_NODE, nodes: [HB_NODE, VIGIL_NODE], authkeys: AUTHKEYS });
      const authkeys = join(dir, "vigil-authkeys");
      writeFileSync(authkeys, AUTHKEYS, { mode: 0o600 });
      const configFile = join(dir, "vigil.json");
      writeFileSync(configFile, JSON.stringify(vigilConfig(dir, authkeys), null, 2));

      const hbPid = await startHeartbeat(hbDir, LAB.nodeNs[0], HB_NODE);
      leftovers.hbPid = hbPid;
      const hbStarted = Date.now();
      vigil = startVigilDaemon(LAB.nodeNs[1], DENO, MAIN, configFile);
      leftovers.children.push(vigil.child);
      const v = vigil;
      const events = () =>
        v.lines.map((l) => hbNodeEvent(l, HB_NODE)).filter((e) => e !== undefined);

      // (b, first half) the daemon sees heartbeat come up.
      const up = await waitForLine(
        v,
        (l) => hbNodeEvent(l, HB_NODE) === "up",
        Math.min(20_000, left()),
      );
      assert.ok(up, `no "is up" line for ${HB_NODE}; stderr: ${v.stderr.join("")}`);
      report.push(`vigil: ${up.text} ${up.at - hbStarted} ms after heartbeat started`);
      // The interface name was resolved to the namespace's broadcast address.
      const compatLine = v.lines.find((l) =>
        l.kind === "log" && l.text.startsWith("heartbeat-compat:")
      );
      assert.equal(
        compatLine?.text,
        `heartbeat-compat: port 694, watching ${HB_NODE}, broadcast ${LAB.broadcast}`,
      );

      // (a) heartbeat reports us active (cl_status works only once heartbeat itself is up,
      // which needs our repnodes answer).
      let nodeStatus = "";
      const pollEnd = Date.now() + Math.min(15_000, left());
      while (Date.now() < pollEnd) {
        nodeStatus = clStatus(hbPid, ["nodestatus", VIGIL_NODE]);
        if (nodeStatus === "active") break;
        await sleep(200);
      }
      assert.equal(nodeStatus, "active", `cl_status nodestatus ${VIGIL_NODE}: ${nodeStatus}`);
      const activeAt = Date.now();
      report.push(
        `cl_status nodestatus ${VIGIL_NODE} -> ${nodeStatus} (${
          activeAt - hbStarted
        } ms after start)`,
      );

      // Heartbeat announces init, then up, then active: wait (bounded) for the daemon's
      // /status to show it active ...
      let peerStatus = "";
      const peerEnd = Date.now() + Math.min(5000, left());
      while (Date.now() < peerEnd) {
        peerStatus = hbPeer(status(), HB_NODE)?.status ?? "absent";
        if (peerStatus === "active") break;
        await sleep(100);
      }
      assert.equal(peerStatus, "active", `/status heartbeatPeers ${HB_NODE}: ${peerStatus}`);
      report.push(`vigil /status: ${HB_NODE} active ${Date.now() - hbStarted} ms after start`);

      // ... and cl_status keeps saying active for 3 x heartbeat's deadtime, while the
      // daemon's /status keeps showing heartbeat active (sampled about once a second).
      const holdMs = 3 * HB_DEADTIME_MS + 500;
      const samples: string[] = [];
      const peerSamples: string[] = [];
      const holdStart = Date.now();
      while (Date.now() < holdStart + holdMs) {
        samples.push(clStatus(hbPid, ["nodestatus", VIGIL_NODE]));
        if (samples.length % 4 === 1) {
          const peer = hbPeer(status(), HB_NODE);
          peerSamples.push(
            peer
              ? `${peer.status}/${Math.round(peer.lastHeardAgoMs ?? -1)}ms/dt${peer.deadtimeMs}`
              : "absent",
          );
        }
        await sleep(250);
      }
      assert.ok(samples.length >= 15, `only ${samples.length} samples`);
      assert.deepEqual(
        samples.filter((s) => s !== "active"),
        [],
        `not active at some point: ${samples.join(",")}`,
      );
      report.push(`cl_status stayed active: ${samples.length} samples over ${holdMs} ms`);
      // Once active, heartbeat stays active: every sample must say so.
      assert.ok(peerSamples.length >= 5, `only ${peerSamples.length} /status samples`);
      assert.deepEqual(
        peerSamples.filter((s) => !s.startsWith("active/")),
        [],
        `/status heartbeatPeers not active at some point: ${peerSamples.join(", ")}`,
      );
      report.push(`vigil /status heartbeatPeers ${HB_NODE}: ${peerSamples.join(", ")}`);
      const running = status();
      const peer = hbPeer(running, HB_NODE)!;
      // The advertised dt (2 s; heartbeat advertises its initdead, 4 s, for its first
      // seconds), not Vigil's configured 5 s; heard within a deadtime.
      assert.equal(peer.deadtimeMs, HB_DEADTIME_MS);
      assert.ok(peer.generation > 0, `generation ${peer.generation}`);
      assert.ok(
        peer.lastHeardAgoMs !== null && peer.lastHeardAgoMs < HB_DEADTIME_MS,
        `last heard ${peer.lastHeardAgoMs} ms ago`,
      );
      assert.deepEqual(running.links, [], "the Vigil node should have no Vigil link");
      assert.deepEqual(running.alive, []);
      assert.deepEqual(events().filter((e) => e === "dead" || e === "restarted"), []);

      report.push(`cl_status nodestatus ${HB_NODE} -> ${clStatus(hbPid, ["nodestatus", HB_NODE])}`);
      report.push(`cl_status listnodes -> ${clStatus(hbPid, ["listnodes"]).replace(/\n/g, " ")}`);
      report.push(`cl_status rscstatus -> ${clStatus(hbPid, ["rscstatus"])}`);
      const hbLog = readFileSync(join(hbDir, "ha-log"), "utf8");
      assert.doesNotMatch(hbLog, /authtoken does not match|replay attack|bad node/);
      assert.match(hbLog, new RegExp(`Status update for node ${VIGIL_NODE}: status active`));

      // Flow control: heartbeat pauses its API clients once 250 of its messages are
      // unacknowledged by a live peer. Make it send 300 quickly (messages written to its
      // FIFO are broadcast with the next sequence numbers) and check it never paused:
      // only our NS_ackmsg can have moved its ackseq (the control test below shows it
      // pauses without them).
      const pumped = await pumpHeartbeatFifo(join(hbDir, "varlib", "fifo"), PUMPED);
      await sleep(1000);
      assert.doesNotMatch(readFileSync(join(hbDir, "ha-log"), "utf8"), /clients are now paused/);
      assert.equal(clStatus(hbPid, ["nodestatus", VIGIL_NODE]), "active");
      report.push(`pumped ${pumped} messages through heartbeat: no client pause, still active`);

      // (c) the daemon's own account: it answered reqnodes and acked the pumped messages.
      const pumpedStatus = status();
      const link = pumpedStatus.heartbeatLink;
      assert.ok(link, "/status has no heartbeatLink");
      const seqPeer = hbPeer(pumpedStatus, HB_NODE)!;
      assert.ok(link.repnodesSent >= 1, `repnodes sent: ${link.repnodesSent}`);
      assert.ok(seqPeer.lastSeq !== null && seqPeer.lastSeq >= pumped, `seq ${seqPeer.lastSeq}`);
      assert.ok(link.acksSent >= Math.floor(pumped / 10), `acks sent: ${link.acksSent}`);
      assert.ok(link.accepted >= pumped, `accepted ${link.accepted}`);
      for (const reason of HB_AUTH_REASONS) {
        assert.equal(link.dropped[reason] ?? 0, 0, `dropped ${reason}: ${link.dropped[reason]}`);
      }
      assert.equal(link.sendErrors, 0);
      report.push(
        `vigil /status heartbeatLink: sent ${link.sent}, repnodes ${link.repnodesSent}, acks ` +
          `${link.acksSent}, received ${link.received}, accepted ${link.accepted}, heartbeat ` +
          `seq reached ${seqPeer.lastSeq}, dropped ${JSON.stringify(link.dropped)}`,
      );

      // (b, second half) stop heartbeat; the daemon declares it dead after ITS advertised dt.
      const stop = await stopTree(hbPid, 3000);
      report.push(
        `heartbeat stop: ${stop.how} (SIGTERM${
          stop.how === "killed" ? " ignored for 3 s, SIGKILL" : ""
        })`,
      );
      const dead = await waitForLine(
        v,
        (l) => hbNodeEvent(l, HB_NODE) === "dead",
        Math.min(HB_DEADTIME_MS + 3000, left()),
      );
      assert.ok(dead, `no "is dead" line for ${HB_NODE} after stop`);
      const said = /\((timeout|shutdown): silent (\d+) ms, deadtime (\d+) ms\)$/.exec(dead.text);
      assert.ok(said, `no reason, silence and deadtime in "${dead.text}"`);
      assert.equal(Number(said[3]), HB_DEADTIME_MS, "heartbeat's advertised deadtime applied");
      assert.ok(Number(said[2]) >= HB_DEADTIME_MS, `silent at least a deadtime: ${dead.text}`);
      const afterStop = dead.at - stop.lastSignalAt;
      const deadPeer = hbPeer(status(), HB_NODE)!;
      report.push(
        `vigil: ${dead.text} ${afterStop} ms after the stopping signal; /status: ` +
          `${deadPeer.status}, last heard ${Math.round(deadPeer.lastHeardAgoMs ?? -1)} ms ago, ` +
          `deadtime ` +
          `${deadPeer.deadtimeMs} ms`,
      );
      assert.equal(deadPeer.status, "dead");
      assert.equal(deadPeer.deadtimeMs, HB_DEADTIME_MS);
      if (said[1] === "timeout") {
        assert.ok(
          deadPeer.lastHeardAgoMs !== null && deadPeer.lastHeardAgoMs > HB_DEADTIME_MS,
          `dead after only ${deadPeer.lastHeardAgoMs} ms of silence`,
        );
      }
      // Vigil's own deadtime is 5 s: dying within 3 s shows the advertised 2 s applied.
      assert.ok(afterStop <= HB_DEADTIME_MS + 1000, `dead after ${afterStop} ms`);
      const hbEvents = events();
      report.push(`vigil events for ${HB_NODE}: ${hbEvents.join(" -> ")}`);
      assert.equal(hbEvents[0], "up");
      assert.equal(hbEvents.at(-1), "dead");
      assert.deepEqual(hbEvents.filter((e) => e === "dead" || e === "restarted"), ["dead"]);

      // The daemon stops on SIGTERM by itself.
      const vigilStop = await stopTree(v.child.pid!, 5000);
      for (let i = 0; i < 100 && v.child.exitCode === null && v.child.signalCode === null; i++) {
        await sleep(20);
      }
      assert.equal(vigilStop.how, "exited", "the daemon ignored SIGTERM for 5 s");
      assert.equal(v.child.exitCode, 0, `daemon exit ${v.child.exitCode}/${v.child.signalCode}`);
      report.push(
        `vigil daemon stopped on SIGTERM in ${vigilStop.goneAt - vigilStop.lastSignalAt} ms`,
      );
      report.push(`test runtime ${Date.now() - started} ms`);
      console.log(report.map((l) => `  ${l}`).join("\n"));
    } catch (e) {
      console.log(report.join("\n"));
      console.log(`heartbeat log tail:\n${tail(join(hbDir, "ha-log"), 30)}`);
      if (vigil) {
        console.log(`vigil lines:\n${vigil.lines.map((l) => `  ${l.kind}: ${l.text}`).join("\n")}`);
        console.log(`vigil stderr: ${vigil.stderr.join("")}`);
      }
      throw e;
    } finally {
      await tearDownLab(leftovers);
    }
  },
});

Deno.test({
  name: "interop control: without acks, heartbeat pauses its clients under the same pump",
  ignore: unavailable !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const started = Date.now();
    const deadline = started + BUDGET_MS;
    const left = () => Math.max(0, deadline - Date.now());
    const dir = mkdtempSync(join(tmpdir(), "vgl-hb-"));
    const hbDir = join(dir, "n1");
    const leftovers: LabLeftovers = { children: [], hbPid: undefined, dir };
    let compat: LineChild<CompatLine> | undefined;
    try {
      netDown();
      netUp();
      prepareHeartbeat(hbDir, { node: HB_NODE, nodes: [HB_NODE, VIGIL_NODE], authkeys: AUTHKEYS });
      const authkeys = join(dir, "vigil-authkeys");
      writeFileSync(authkeys, AUTHKEYS, { mode: 0o600 });
      const hbPid = await startHeartbeat(hbDir, LAB.nodeNs[0], HB_NODE);
      leftovers.hbPid = hbPid;
      // A bare HeartbeatLink that never acks (the daemon has no such setting).
      // deno-fmt-ignore
      compat = spawnInNetns(LAB.nodeNs[1], [
        DENO, "run", "-A", COMPAT_SCRIPT, "--node", VIGIL_NODE, "--peer", HB_NODE,
        "--authkeys", authkeys, "--broadcast", LAB.broadcast,
        "--keepalive", String(VIGIL_KEEPALIVE_MS), "--deadtime", String(VIGIL_DEADTIME_MS),
        "--generation", String(Date.now()), "--seconds", String(Math.ceil(BUDGET_MS / 1000) + 5),
        "--ack-every", "0",
      ], isCompatLine);
      leftovers.children.push(compat.child);
      const c = compat;

      let nodeStatus = "";
      const pollEnd = Date.now() + Math.min(20_000, left());
      while (Date.now() < pollEnd) {
        nodeStatus = clStatus(hbPid, ["nodestatus", VIGIL_NODE]);
        if (nodeStatus === "active") break;
        await sleep(200);
      }
      assert.equal(nodeStatus, "active", `cl_status nodestatus ${VIGIL_NODE}: ${nodeStatus}`);

      const pumped = await pumpHeartbeatFifo(join(hbDir, "varlib", "fifo"), PUMPED);
      let paused = false;
      const pauseEnd = Date.now() + Math.min(5000, left());
      while (!paused && Date.now() < pauseEnd) {
        paused = /clients are now paused/.test(readFileSync(join(hbDir, "ha-log"), "utf8"));
        if (!paused) await sleep(100);
      }
      assert.ok(paused, `heartbeat did not pause its clients after ${pumped} unacked messages`);

      // The control really sent no ack, and did hear the pumped messages.
      await stopTree(c.child.pid!, 2000);
      const statsLine = await waitForLine(c, (l) => l.kind === "stats", 2000);
      assert.ok(statsLine, `compat node printed no stats; stderr: ${c.stderr.join("")}`);
      const stats = statsLine.stats as { acksSent: number; repnodesSent: number };
      const peer = (statsLine.peers as Array<{ name: string; lastSeq: number | null }>)
        .find((p) => p.name === HB_NODE);
      assert.equal(stats.acksSent, 0);
      assert.ok(stats.repnodesSent >= 1, `repnodes sent: ${stats.repnodesSent}`);
      assert.ok(peer?.lastSeq !== undefined && peer.lastSeq !== null && peer.lastSeq >= 250);
      console.log(
        `  control (acks off): heartbeat paused its clients after ${pumped} messages; ` +
          `acks ${stats.acksSent}, repnodes ${stats.repnodesSent}, seq heard ${peer.lastSeq}; ` +
          `runtime ${Date.now() - started} ms`,
      );
    } catch (e) {
      console.log(`heartbeat log tail:\n${tail(join(hbDir, "ha-log"), 30)}`);
      if (compat) console.log(`compat stderr: ${compat.stderr.join("")}`);
      throw e;
    } finally {
      await tearDownLab(leftovers);
    }
  },
});
