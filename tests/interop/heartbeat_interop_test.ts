/**
 * Interop against a real Linux-HA Heartbeat 3.0.6: heartbeat runs in namespace
 * vgl-hb-n1 as node `vglhb1`, a Vigil HeartbeatLink runs in vgl-hb-n2 as `vglcompat`.
 *
 * Shows (a) heartbeat reports the Vigil node `active` (cl_status) and keeps doing so for
 * 3 x its deadtime, and accepts our flow-control acks; (b) Vigil reports heartbeat up,
 * then dead within heartbeat's advertised deadtime (plus a margin) after it is stopped.
 * Skipped unless root with heartbeat installed.
 */

import assert from "node:assert/strict";
import {
  closeSync,
  constants,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import type { HbPeerEvent } from "../../core/compat/heartbeat_peers.ts";
import { fileURLToPath } from "node:url";
import {
  alive,
  clStatus,
  type CompatNode,
  LAB,
  labUnavailable,
  netDown,
  netUp,
  pidsInNetns,
  prepareHeartbeat,
  sleep,
  startCompatNode,
  startHeartbeat,
  stopTree,
  tail,
  waitForLine,
} from "./heartbeat_lab.ts";

const HB_NODE = "vglhb1";
const VIGIL_NODE = "vglcompat";
const HB_DEADTIME_MS = 2000; // ha.cf "deadtime 2"
/** Vigil's own deadtime, deliberately different so the test can tell which one was used. */
const VIGIL_DEADTIME_MS = 5000;
const AUTHKEYS = "auth 1\n1 sha1 vigil-interop-secret\n";
const REPO = fileURLToPath(new URL("../../", import.meta.url));
const DENO = join(REPO, "node_modules/.bin/deno");
const COMPAT_SCRIPT = join(REPO, "tests/interop/heartbeat_compat_node.ts");
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

Deno.test({
  name: "interop: real heartbeat 3.0.6 and a Vigil HeartbeatLink see each other",
  ignore: unavailable !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const started = Date.now();
    const deadline = started + BUDGET_MS;
    const left = () => Math.max(0, deadline - Date.now());
    const dir = mkdtempSync(join(tmpdir(), "vgl-hb-"));
    const hbDir = join(dir, "n1");
    let hbPid: number | undefined;
    let compat: CompatNode | undefined;
    const report: string[] = [];
    try {
      netDown(); // a leftover of an aborted run would make netUp fail
      netUp();
      prepareHeartbeat(hbDir, { node: HB_NODE, nodes: [HB_NODE, VIGIL_NODE], authkeys: AUTHKEYS });
      const authkeys = join(dir, "vigil-authkeys");
      writeFileSync(authkeys, AUTHKEYS, { mode: 0o600 });

      hbPid = await startHeartbeat(hbDir, LAB.nodeNs[0], HB_NODE);
      const hbStarted = Date.now();
      compat = startCompatNode(LAB.nodeNs[1], DENO, COMPAT_SCRIPT, [
        "--node",
        VIGIL_NODE,
        "--peer",
        HB_NODE,
        "--authkeys",
        authkeys,
        "--broadcast",
        LAB.broadcast,
        "--keepalive",
        "200",
        "--deadtime",
        String(VIGIL_DEADTIME_MS),
        // Persisted-generation stand-in: grows across runs.
        "--generation",
        String(Date.now()),
        "--seconds",
        String(Math.ceil(BUDGET_MS / 1000) + 5),
      ]);
      const c = compat;

      // (b, first half) Vigil sees heartbeat come up.
      const up = await waitForLine(
        c,
        (l) => l.event?.type === "up" && l.event.node === HB_NODE,
        Math.min(15_000, left()),
      );
      assert.ok(up, `no up event for ${HB_NODE}; stderr: ${c.stderr.join("")}`);
      report.push(`vigil: ${HB_NODE} up ${up.wallMs - hbStarted} ms after heartbeat started`);

      // (a) heartbeat reports us active (cl_status works only once heartbeat itself is up,
      // which needs our repnodes answer).
      let status = "";
      const pollEnd = Date.now() + Math.min(15_000, left());
      while (Date.now() < pollEnd) {
        status = clStatus(hbPid, ["nodestatus", VIGIL_NODE]);
        if (status === "active") break;
        await sleep(200);
      }
      assert.equal(status, "active", `cl_status nodestatus ${VIGIL_NODE}: ${status}`);
      const activeAt = Date.now();
      report.push(
        `cl_status nodestatus ${VIGIL_NODE} -> ${status} (${activeAt - hbStarted} ms after start)`,
      );

      // ... and it stays active for 3 x heartbeat's deadtime.
      const holdMs = 3 * HB_DEADTIME_MS + 500;
      const samples: string[] = [];
      while (Date.now() < activeAt + holdMs) {
        samples.push(clStatus(hbPid, ["nodestatus", VIGIL_NODE]));
        await sleep(250);
      }
      assert.ok(samples.length >= 15, `only ${samples.length} samples`);
      assert.deepEqual(
        samples.filter((s) => s !== "active"),
        [],
        `not active at some point: ${samples.join(",")}`,
      );
      report.push(`cl_status stayed active: ${samples.length} samples over ${holdMs} ms`);
      report.push(`cl_status nodestatus ${HB_NODE} -> ${clStatus(hbPid, ["nodestatus", HB_NODE])}`);
      report.push(`cl_status listnodes -> ${clStatus(hbPid, ["listnodes"]).replace(/\n/g, " ")}`);
      report.push(`cl_status rscstatus -> ${clStatus(hbPid, ["rscstatus"])}`);
      const hbLog = readFileSync(join(hbDir, "ha-log"), "utf8");
      assert.doesNotMatch(hbLog, /authtoken does not match|replay attack|bad node/);
      assert.match(hbLog, new RegExp(`Status update for node ${VIGIL_NODE}: status active`));

      // Flow control: heartbeat pauses its API clients once 250 of its messages are
      // unacknowledged by a live peer. Make it send 300 quickly (messages written to its
      // FIFO are broadcast with the next sequence numbers) and check it never paused:
      // only our NS_ackmsg can have moved its ackseq.
      const pumped = await pumpHeartbeatFifo(join(hbDir, "varlib", "fifo"), 300);
      await sleep(1000);
      assert.doesNotMatch(readFileSync(join(hbDir, "ha-log"), "utf8"), /clients are now paused/);
      assert.equal(clStatus(hbPid, ["nodestatus", VIGIL_NODE]), "active");
      report.push(`pumped ${pumped} messages through heartbeat: no client pause, still active`);

      // (b, second half) stop heartbeat; Vigil declares it dead after ITS advertised dt.
      const stop = await stopTree(hbPid, 3000);
      report.push(
        `heartbeat stop: ${stop.how} (SIGTERM${
          stop.how === "killed" ? " ignored for 3 s, SIGKILL" : ""
        })`,
      );
      const dead = await waitForLine(
        c,
        (l) => l.event?.type === "dead" && l.event.node === HB_NODE,
        Math.min(HB_DEADTIME_MS + 3000, left()),
      );
      assert.ok(dead, `no dead event for ${HB_NODE} after stop`);
      const event = dead.event as unknown as Extract<HbPeerEvent, { type: "dead" }>;
      const afterStop = dead.wallMs - stop.lastSignalAt;
      report.push(
        `vigil: ${HB_NODE} dead (${event.reason}) ${afterStop} ms after the stopping signal, ` +
          `silent ${Math.round(event.silentMs)} ms, deadtime applied ${event.deadtimeMs} ms`,
      );
      if (event.reason === "timeout") {
        // The advertised dt (2 s), not Vigil's configured 5 s.
        assert.equal(event.deadtimeMs, HB_DEADTIME_MS);
        assert.ok(event.silentMs > HB_DEADTIME_MS);
      }
      assert.ok(afterStop <= HB_DEADTIME_MS + 1000, `dead after ${afterStop} ms`);
      const upEvents = c.lines.filter((l) => l.event?.node === HB_NODE).map((l) => l.event!.type);
      report.push(`vigil events for ${HB_NODE}: ${upEvents.join(" -> ")}`);
      assert.equal(upEvents[0], "up");
      assert.equal(upEvents.at(-1), "dead");

      // The Vigil side's own account: it answered reqnodes, acked the pumped messages.
      await stopTree(c.child.pid!, 2000);
      const statsLine = await waitForLine(c, (l) => l.kind === "stats", 2000);
      assert.ok(statsLine, "compat node printed no stats");
      const stats = statsLine.stats as { repnodesSent: number; acksSent: number; dropped: object };
      const peer = (statsLine.peers as Array<{ name: string; lastSeq: number }>)[0];
      assert.ok(stats.repnodesSent >= 1, `repnodes sent: ${stats.repnodesSent}`);
      assert.ok(peer.lastSeq >= pumped, `heartbeat seq only reached ${peer.lastSeq}`);
      assert.ok(stats.acksSent >= Math.floor(pumped / 10), `acks sent: ${stats.acksSent}`);
      report.push(
        `vigil stats: repnodes ${stats.repnodesSent}, acks ${stats.acksSent}, heartbeat seq ` +
          `reached ${peer.lastSeq}, dropped ${JSON.stringify(stats.dropped)}`,
      );
      report.push(`test runtime ${Date.now() - started} ms`);
      console.log(report.map((l) => `  ${l}`).join("\n"));
    } catch (e) {
      console.log(report.join("\n"));
      console.log(`heartbeat log tail:\n${tail(join(hbDir, "ha-log"), 30)}`);
      if (compat) console.log(`compat stderr: ${compat.stderr.join("")}`);
      throw e;
    } finally {
      if (compat?.child.pid !== undefined && compat.child.exitCode === null) {
        await stopTree(compat.child.pid, 2000);
      }
      if (hbPid !== undefined && alive(hbPid)) await stopTree(hbPid, 500);
      // Anything still inside our namespaces was started by this test (heartbeat's
      // forked helpers): kill it by PID before deleting the namespaces.
      for (const ns of LAB.nodeNs) {
        for (const pid of pidsInNetns(ns)) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            // gone
          }
        }
      }
      netDown();
      rmSync(dir, { recursive: true, force: true });
    }
  },
});
