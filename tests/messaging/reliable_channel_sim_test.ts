/**
 * Seeded simulations of 3-5 nodes exchanging messages over reliable channels on a network with
 * loss, duplication and random delay (hence reordering), in virtual time. Set
 * VIGIL_CHANNEL_SEED=N to replay one seed; VIGIL_CHANNEL_SEEDS=N to run more.
 */

import assert from "node:assert/strict";
import { Rng } from "../sim/rng.ts";
import type { ChannelPeerStats } from "../../core/messaging/reliable_channel.ts";
import { type FaultModel, type LogEntry, VirtualCluster } from "./lossy_network.ts";

const ONLY = Deno.env.get("VIGIL_CHANNEL_SEED");
const SEED_COUNT = Number(Deno.env.get("VIGIL_CHANNEL_SEEDS") ?? 50);
const SEEDS = ONLY !== undefined
  ? [Number(ONLY)]
  : Array.from({ length: SEED_COUNT }, (_, i) => i + 1);
const MAX_STEPS = 2_000_000;

/** 20 % loss and 5 % duplication until `faultsUntil`, then none; delay 1-30 ms throughout. */
function faultyNetwork(rng: Rng, faultsUntil: number): FaultModel {
  return (_from, _to, now) => {
    const faulty = now < faultsUntil;
    if (faulty && rng.chance(0.2)) return [];
    const copies = faulty && rng.chance(0.05) ? 2 : 1;
    return Array.from({ length: copies }, () => rng.int(1, 30));
  };
}

/** Mostly small payloads, one in ten large enough to be split into several fragments. */
function payload(rng: Rng, tag: Record<string, unknown>): Record<string, unknown> {
  const size = rng.chance(0.1) ? rng.int(1000, 5000) : rng.int(0, 200);
  return { ...tag, body: "x".repeat(size) };
}

/** Runs `body` for each seed; a failure names the seed so that it can be replayed. */
function forEachSeed(body: (seed: number) => void): void {
  for (const seed of SEEDS) {
    try {
      body(seed);
    } catch (e) {
      console.log(`VIGIL_CHANNEL_SEED=${seed} reproduces this failure`);
      throw new Error(`VIGIL_CHANNEL_SEED=${seed}: ${(e as Error).message}`, { cause: e });
    }
  }
}

/** Sums fragments sent and retransmitted over every node and peer. */
function retransmissions(cluster: VirtualCluster, nodes: string[]): { sent: number; retx: number } {
  let sent = 0, retx = 0;
  for (const n of nodes) {
    for (const s of Object.values(cluster.channel(n).stats())) {
      sent += s.sent;
      retx += s.retransmitted;
    }
  }
  return { sent, retx };
}

/** Checks the per-peer bounds of the nodes that just acted; records the largest queue seen. */
function boundChecker(maxQueued: number, window: number, seen: { maxQueued: number }) {
  return (cluster: VirtualCluster, acted: string[]) => {
    for (const n of acted) {
      for (
        const [peer, s] of Object.entries(cluster.channel(n).stats()) as [
          string,
          ChannelPeerStats,
        ][]
      ) {
        if (s.queued > maxQueued) {
          throw new Error(`${n}->${peer} queued ${s.queued} > ${maxQueued}`);
        }
        if (s.inFlight > window) {
          throw new Error(`${n}->${peer} in flight ${s.inFlight} > ${window}`);
        }
        seen.maxQueued = Math.max(seen.maxQueued, s.queued);
      }
    }
  };
}

/** Splits a receiver's log at its stream resets (and its own restarts). */
function segments(entries: LogEntry[]): unknown[][] {
  const out: unknown[][] = [[]];
  for (const e of entries) {
    if (e.kind === "msg") out[out.length - 1].push(e.payload);
    else out.push([]);
  }
  return out;
}

Deno.test("sim: every ordered pair receives exactly the sender's sequence despite loss, duplication and reordering", () => {
  const window = 32, maxQueued = 1024;
  let sentTotal = 0, retxTotal = 0, lostTotal = 0, packetsTotal = 0;
  const seen = { maxQueued: 0 };
  forEachSeed((seed) => {
    const rng = new Rng(seed);
    const nodes = Array.from({ length: rng.int(3, 5) }, (_, i) => `n${i + 1}`);
    const cluster = new VirtualCluster({
      nodes,
      channel: {
        windowMessages: window,
        maxQueuedMessages: maxQueued,
        maxFragmentBytes: 1000,
        maxReorderBuffer: 64,
      },
      faults: faultyNetwork(rng, 5000),
      afterStep: boundChecker(maxQueued, window, seen),
    });
    const sent = new Map<string, unknown[]>();
    for (const from of nodes) {
      const count = rng.int(200, 300);
      for (let n = 0; n < count; n++) {
        const to = rng.pick(nodes.filter((x) => x !== from));
        const message = payload(rng, { from, to, n });
        cluster.at(rng.int(0, 4000), () => {
          const key = `${from}->${to}`;
          if (!sent.has(key)) sent.set(key, []);
          sent.get(key)!.push(message);
          assert.equal(cluster.send(from, to, message), true);
        });
      }
    }
    cluster.runUntilQuiet(MAX_STEPS, 120_000);

    for (const from of nodes) {
      assert.deepEqual(cluster.senderEvents.get(from), [], `${from} lost a stream`);
      for (const to of nodes) {
        if (to === from) continue;
        const got = cluster.entries(to, from);
        assert.ok(got.every((e) => e.kind === "msg"), `${to} saw a stream reset from ${from}`);
        assert.deepEqual(
          got.map((e) => e.kind === "msg" && e.payload),
          sent.get(`${from}->${to}`) ?? [],
        );
      }
      for (const s of Object.values(cluster.channel(from).stats())) {
        assert.deepEqual([s.queued, s.inFlight, s.corrupt], [0, 0, 0], `${from} idle at the end`);
      }
    }
    const { sent: s, retx } = retransmissions(cluster, nodes);
    sentTotal += s;
    retxTotal += retx;
    lostTotal += cluster.traffic.lost;
    packetsTotal += cluster.traffic.packets;
  });
  assert.ok(lostTotal > 0.15 * packetsTotal, "the network did lose packets");
  assert.ok(retxTotal > 0, "losses were repaired by retransmission");
  const ratio = (retxTotal / sentTotal).toFixed(3);
  const lossPct = (lostTotal / packetsTotal * 100).toFixed(1);
  console.log(
    `reliable channel sim: ${SEEDS.length} seeds, ${sentTotal} fragments sent, ${retxTotal} ` +
      `retransmitted (ratio ${ratio}), ${lossPct} % of ${packetsTotal} packets lost, ` +
      `largest queue ${seen.maxQueued}`,
  );
});

Deno.test("sim: bursts beyond the queue bound reset the stream, with events on both sides and nothing lost silently", () => {
  const window = 4, maxQueued = 8;
  let overflows = 0;
  const seen = { maxQueued: 0 };
  forEachSeed((seed) => {
    const rng = new Rng(seed);
    const nodes = ["n1", "n2", "n3"];
    const cluster = new VirtualCluster({
      nodes,
      channel: { windowMessages: window, maxQueuedMessages: maxQueued, maxFragmentBytes: 1000 },
      faults: faultyNetwork(rng, 3000),
      afterStep: boundChecker(maxQueued, window, seen),
    });
    // Per pair: the messages of each epoch of its stream, as the sender's overflow events cut them.
    const epochs = new Map<string, unknown[][]>();
    for (let burst = 0; burst < 20; burst++) {
      const from = rng.pick(nodes), to = rng.pick(nodes.filter((x) => x !== from));
      const size = burst === 0 ? 20 : rng.int(1, 20); // the first burst always overflows
      cluster.at(rng.int(0, 2500), () => {
        const key = `${from}->${to}`;
        if (!epochs.has(key)) epochs.set(key, [[]]);
        const list = epochs.get(key)!;
        for (let i = 0; i < size; i++) {
          const before = cluster.senderEvents.get(from)!.length;
          const message = payload(rng, { from, to, burst, i });
          assert.equal(cluster.send(from, to, message), true);
          const fresh = cluster.senderEvents.get(from)!.slice(before);
          assert.ok(fresh.every((e) => e.type === "overflow" && e.peer === to));
          if (fresh.length > 0) list.push([]);
          list[list.length - 1].push(message);
        }
      });
    }
    cluster.runUntilQuiet(MAX_STEPS, 120_000);

    for (const [key, list] of epochs) {
      const [from, to] = key.split("->");
      const dropped = cluster.senderEvents.get(from)!
        .filter((e) => e.type === "overflow" && e.peer === to)
        .reduce((sum, e) => sum + (e.type === "overflow" ? e.dropped : 0), 0);
      const segs = segments(cluster.entries(to, from));
      // Each segment holds a prefix of one epoch, epochs increase; the last epoch arrives whole.
      let lastEpoch = -1;
      for (const seg of segs) {
        if (seg.length === 0) continue;
        const e = list.findIndex((msgs) =>
          msgs.some((m) => JSON.stringify(m) === JSON.stringify(seg[0]))
        );
        assert.ok(e > lastEpoch, `${key}: epochs out of order`);
        assert.deepEqual(seg, list[e].slice(0, seg.length), `${key}: epoch ${e} not a prefix`);
        lastEpoch = e;
      }
      assert.deepEqual(
        segs[segs.length - 1],
        list[list.length - 1],
        `${key}: last epoch incomplete`,
      );
      const delivered = segs.reduce((sum, s) => sum + s.length, 0);
      const total = list.reduce((sum, m) => sum + m.length, 0);
      assert.ok(
        total - delivered <= dropped,
        `${key}: ${total - delivered} lost, ${dropped} reported`,
      );
      assert.equal(segs.length - 1 <= list.length - 1, true, `${key}: more resets than epochs`);
      overflows += list.length - 1;
    }
  });
  assert.ok(overflows > 0, "some bursts overflowed the queue");
  assert.ok(seen.maxQueued === maxQueued, "queues reached their bound");
  console.log(
    `reliable channel overload sim: ${SEEDS.length} seeds, ${overflows} overflows, bound ${maxQueued} held`,
  );
});

Deno.test("sim: a peer restarted mid-stream is seen as a stream reset and its new stream arrives whole and in order", () => {
  let restartsSeen = 0;
  forEachSeed((seed) => {
    const rng = new Rng(seed);
    const nodes = ["n1", "n2", "n3"];
    const cluster = new VirtualCluster({
      nodes,
      channel: { windowMessages: 16, maxFragmentBytes: 1000 },
      faults: faultyNetwork(rng, 3000),
    });
    // Per pair and sender incarnation: what was sent, with the send time.
    const sent = new Map<string, { serial: number; message: unknown }[]>();
    let inc2 = 1;
    const sendAt = (at: number, from: string, to: string, n: number) =>
      cluster.at(at, () => {
        const inc = from === "n2" ? inc2 : 1;
        const message = payload(rng, { from, inc, to, n });
        const key = `${from}@${inc}->${to}`;
        if (!sent.has(key)) sent.set(key, []);
        assert.equal(cluster.send(from, to, message), true);
        sent.get(key)!.push({ serial: cluster.serial, message });
      });
    for (let n = 0; n < 150; n++) {
      for (const from of nodes) {
        sendAt(
          rng.int(0, 2000),
          from,
          rng.pick(nodes.filter((x) => x !== from)),
          n,
        );
      }
    }
    cluster.at(1000, () => {
      cluster.restart("n2");
      inc2 = 2;
    });
    cluster.runUntilQuiet(MAX_STEPS, 120_000);

    const messages = (key: string) => (sent.get(key) ?? []).map((s) => s.message);
    // Streams between the nodes that kept running are exact.
    for (const [a, b] of [["n1", "n3"], ["n3", "n1"]]) {
      assert.deepEqual(segments(cluster.entries(b, a)), [messages(`${a}@1->${b}`)]);
    }
    for (const peer of ["n1", "n3"]) {
      // Receivers of n2: old messages as a prefix, one reset for the restart, then the new stream whole.
      const segs = segments(cluster.entries(peer, "n2"));
      const resets = cluster.entries(peer, "n2").filter((e) => e.kind === "reset");
      assert.deepEqual(resets, [{ kind: "reset", reason: "peer-restarted" }], `${peer} from n2`);
      const old = messages(`n2@1->${peer}`);
      assert.deepEqual(
        segs[0],
        old.slice(0, segs[0].length),
        `${peer}: old stream of n2 not a prefix`,
      );
      assert.deepEqual(segs[1], messages(`n2@2->${peer}`), `${peer}: new stream of n2`);
      restartsSeen++;
      // The new n2 gets, complete and in order, what the peer sent once it knew of the restart.
      const reset = cluster.shellResets.find((r) => r.node === peer && r.peer === "n2");
      assert.ok(reset, `${peer} learnt of n2's restart`);
      const toN2 = sent.get(`${peer}@1->n2`) ?? [];
      const after = toN2.filter((s) => s.serial > reset.serial).map((s) => s.message);
      const log = cluster.entries("n2", peer);
      const got = segments(log.slice(log.findIndex((e) => e.kind === "restart") + 1));
      assert.deepEqual(got[got.length - 1], after, `n2 from ${peer} after the reset`);
      // Whatever else the new n2 got from the old stream was sent to n2, and only once.
      const all = got.flat().map((m) => JSON.stringify(m));
      assert.equal(new Set(all).size, all.length, `n2 got a duplicate from ${peer}`);
      const sentJson = new Set(toN2.map((s) => JSON.stringify(s.message)));
      assert.ok(all.every((m) => sentJson.has(m)), `n2 got from ${peer} something never sent`);
    }
  });
  assert.ok(restartsSeen > 0);
  console.log(
    `reliable channel restart sim: ${SEEDS.length} seeds, ${restartsSeen} restarts seen by peers`,
  );
});
