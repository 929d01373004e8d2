import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type ChannelEvent,
  type ChannelPacket,
  channelPacketSchema,
  ReliableChannel,
  type ReliableChannelOptions,
} from "../../core/messaging/reliable_channel.ts";
import { MAX_FRAGMENT_CHARS } from "../../core/messaging/reliable_packet.ts";
import { VirtualCluster } from "./lossy_network.ts";

type Opts = Partial<ReliableChannelOptions>;
type Data = Extract<ChannelPacket, { type: "rel-data" }>;
type Ack = Extract<ChannelPacket, { type: "rel-ack" }>;

const channel = (self: string, opts: Opts = {}) =>
  new ReliableChannel({ self, incarnation: 1, ...opts });

/** Drains a channel, checking that every packet it emits passes the schema. */
function drain(ch: ReliableChannel): { packets: ChannelPacket[]; events: ChannelEvent[] } {
  const { packets, events } = ch.drain();
  for (const { packet } of packets) assert.deepEqual(channelPacketSchema.parse(packet), packet);
  return { packets: packets.map((p) => p.packet), events };
}

const dataOf = (packets: ChannelPacket[]) =>
  packets.filter((p): p is Data => p.type === "rel-data");
const acksOf = (packets: ChannelPacket[]) => packets.filter((p): p is Ack => p.type === "rel-ack");
const delivered = (events: ChannelEvent[]) =>
  events.flatMap((e) => e.type === "delivered" ? [e.payload] : []);

/** Feeds packets to `to` as coming from `from` and returns what it produced. */
function feed(to: ReliableChannel, from: string, packets: ChannelPacket[], now: number) {
  for (const p of packets) to.receive(from, p, now);
  return drain(to);
}

Deno.test("messages are delivered in order whatever order their packets arrive in", () => {
  const a = channel("a"), b = channel("b");
  for (let i = 0; i < 5; i++) assert.equal(a.send("b", { i }, 0), true);
  const packets = dataOf(drain(a).packets);
  assert.deepEqual(packets.map((p) => p.seq), [1, 2, 3, 4, 5]);
  const out = feed(b, "a", packets.toReversed(), 1);
  assert.deepEqual(delivered(out.events), [0, 1, 2, 3, 4].map((i) => ({ i })));
  // seq 5 arriving first opened a hole: it was acked at once, as a retransmission request.
  assert.deepEqual(acksOf(out.packets), [{ type: "rel-ack", inc: 1, epoch: 1, cum: 0, sack: [5] }]);
  assert.equal(b.stats().a.outOfOrder, 4);
  assert.equal(b.stats().a.delivered, 5);
});

Deno.test("a 100 kB payload is cut into fragments within the bound and reassembled exactly", () => {
  const a = channel("a"), b = channel("b");
  // A surrogate pair straddles the first fragment boundary (the JSON starts with {"s":").
  const text = "x".repeat(MAX_FRAGMENT_CHARS - 7) + "😀" + 'é"\\\n'.repeat(21000);
  const payload = { s: text, n: [1, 2.5, null, true] };
  a.send("b", payload, 0);
  const packets = dataOf(drain(a).packets);
  const json = JSON.stringify(payload);
  assert.ok(json.length > 100_000);
  assert.equal(packets.length, Math.ceil(json.length / MAX_FRAGMENT_CHARS));
  assert.ok(
    packets.every((p) => p.data.length <= MAX_FRAGMENT_CHARS && p.frags === packets.length),
  );
  assert.deepEqual(packets.map((p) => p.frag), packets.map((_, i) => i));
  // Across the wire as JSON, the way a frame carries them, and shuffled.
  const wire = packets.map((p) => channelPacketSchema.parse(JSON.parse(JSON.stringify(p))));
  const out = feed(b, "a", [...wire.slice(3), ...wire.slice(0, 3)], 1);
  assert.deepEqual(delivered(out.events), [payload]);
});

Deno.test("duplicates are dropped, counted and acknowledged again", () => {
  const a = channel("a"), b = channel("b");
  a.send("b", "one", 0);
  a.send("b", "two", 0);
  const [p1, p2] = dataOf(drain(a).packets);
  assert.deepEqual(delivered(feed(b, "a", [p1, p1, p2, p1, p2], 0).events), ["one", "two"]);
  assert.equal(b.stats().a.duplicates, 3);
  b.tick(10);
  assert.deepEqual(acksOf(drain(b).packets), [{
    type: "rel-ack",
    inc: 1,
    epoch: 1,
    cum: 2,
    sack: [],
  }]);
  // The ack was lost and the sender retransmits: the duplicate is acked again.
  feed(b, "a", [p2], 500);
  assert.equal(b.stats().a.duplicates, 4);
  b.tick(510);
  assert.deepEqual(acksOf(drain(b).packets).map((p) => p.cum), [2]);
  assert.deepEqual(b.stats().a.delivered, 2);
});

Deno.test("an ack showing a hole retransmits it at once, and only once per timeout", () => {
  const a = channel("a"), b = channel("b");
  for (let i = 0; i < 4; i++) a.send("b", i, 0);
  const [, ...rest] = dataOf(drain(a).packets); // seq 1 is lost
  const acks = acksOf(feed(b, "a", rest, 5).packets);
  assert.deepEqual(acks, [{ type: "rel-ack", inc: 1, epoch: 1, cum: 0, sack: [2] }]);
  b.tick(15);
  const later = acksOf(drain(b).packets);
  assert.deepEqual(later, [{ type: "rel-ack", inc: 1, epoch: 1, cum: 0, sack: [2, 3, 4] }]);
  const retx = dataOf(feed(a, "b", acks, 10).packets);
  assert.deepEqual(retx.map((p) => p.seq), [1], "fast retransmit well before the 200 ms timeout");
  assert.deepEqual(dataOf(feed(a, "b", later, 20).packets), [], "not again within the timeout");
  assert.equal(a.stats().b.retransmitted, 1);
  // Sacked fragments are not retransmitted on timeout; seq 1 is, as its own timer expired.
  a.tick(210);
  assert.deepEqual(dataOf(drain(a).packets).map((p) => p.seq), [1]);
  assert.deepEqual(delivered(feed(b, "a", retx, 30).events), [0, 1, 2, 3]);
});

Deno.test("an unacknowledged fragment is retransmitted on timeout with exponential back-off", () => {
  const a = channel("a", { retransmitMs: 200, maxRetransmitMs: 2000 });
  a.send("b", "hello", 0);
  drain(a);
  assert.equal(a.nextDeadline(), 200);
  a.tick(199);
  assert.deepEqual(drain(a).packets, []);
  const times: number[] = [];
  for (let i = 0; i < 6; i++) {
    const due = a.nextDeadline()!;
    a.tick(due);
    assert.equal(dataOf(drain(a).packets).length, 1, `retransmission at ${due}`);
    times.push(due);
  }
  assert.deepEqual(times, [200, 600, 1400, 3000, 5000, 7000], "200, then x2 up to the 2000 cap");
  assert.equal(a.stats().b.retransmitted, 6);
  a.receive("b", { type: "rel-ack", inc: 1, epoch: 1, cum: 1, sack: [] }, 7001);
  assert.equal(a.nextDeadline(), null);
  assert.deepEqual([a.stats().b.queued, a.stats().b.inFlight], [0, 0]);
});

Deno.test("no more than the window is in flight; acks open it again", () => {
  const a = channel("a", { windowMessages: 4 });
  for (let i = 0; i < 10; i++) a.send("b", i, 0);
  assert.deepEqual(dataOf(drain(a).packets).map((p) => p.seq), [1, 2, 3, 4]);
  assert.deepEqual([a.stats().b.inFlight, a.stats().b.queued], [4, 10]);
  a.receive("b", { type: "rel-ack", inc: 1, epoch: 1, cum: 2, sack: [4] }, 5);
  assert.deepEqual(dataOf(drain(a).packets).map((p) => p.seq), [3, 5, 6], "hole 3 plus two new");
  assert.deepEqual([a.stats().b.inFlight, a.stats().b.queued], [4, 8]);
});

Deno.test("hitting the queue bound resets the stream, with overflow and stream-reset events", () => {
  const a = channel("a", { maxQueuedMessages: 3 }), b = channel("b");
  for (let i = 0; i < 3; i++) a.send("b", i, 0);
  const old = dataOf(drain(a).packets);
  assert.deepEqual(delivered(feed(b, "a", old.slice(0, 1), 1).events), [0]);
  assert.equal(a.send("b", 3, 2), true);
  const out = drain(a);
  assert.deepEqual(out.events, [{ type: "overflow", peer: "b", dropped: 3 }]);
  assert.deepEqual(dataOf(out.packets).map((p) => [p.epoch, p.seq]), [[2, 1]]);
  assert.deepEqual([a.stats().b.queued, a.stats().b.inFlight], [1, 1]);
  // An ack of the old epoch no longer counts.
  a.receive("b", { type: "rel-ack", inc: 1, epoch: 1, cum: 3, sack: [] }, 3);
  assert.equal(a.stats().b.queued, 1);
  const got = feed(b, "a", [...dataOf(out.packets), ...old.slice(1)], 4);
  assert.deepEqual(got.events, [
    { type: "stream-reset", peer: "a", reason: "peer-reset" },
    { type: "delivered", from: "a", payload: 3 },
  ]);
  // Late packets of the old epoch are refused.
  assert.equal(b.stats().a.duplicates, 2);
  assert.deepEqual(got.packets.filter((p) => p.type === "rel-reset").length, 2);
});

Deno.test("a peer's new incarnation resets its stream; its old incarnation is refused", () => {
  const a1 = channel("a", { incarnation: 1 }),
    a2 = channel("a", { incarnation: 2 }),
    b = channel("b");
  a1.send("b", "before", 0);
  a1.send("b", "lost", 0);
  const [before, lost] = dataOf(drain(a1).packets);
  assert.deepEqual(feed(b, "a", [before], 1).events, [{
    type: "delivered",
    from: "a",
    payload: "before",
  }]);
  a2.send("b", "after", 10);
  const got = feed(b, "a", dataOf(drain(a2).packets), 11);
  assert.deepEqual(got.events, [
    { type: "stream-reset", peer: "a", reason: "peer-restarted" },
    { type: "delivered", from: "a", payload: "after" },
  ]);
  const stale = feed(b, "a", [lost], 12);
  assert.deepEqual(stale.events, []);
  assert.deepEqual(stale.packets, [{ type: "rel-reset", inc: 1, epoch: 1 }]);
  assert.equal(b.stats().a.duplicates, 1);
  // The very first stream seen from a peer is no reset.
  const c = channel("c");
  assert.deepEqual(feed(c, "a", [lost], 0).events.filter((e) => e.type === "stream-reset"), []);
});

Deno.test("resetPeer on the sender drops its queue and starts a new epoch", () => {
  const a = channel("a"), b = channel("b");
  a.send("b", 1, 0);
  a.send("b", 2, 0);
  const old = dataOf(drain(a).packets);
  feed(b, "a", old.slice(0, 1), 1);
  a.resetPeer("b");
  assert.deepEqual([a.stats().b.queued, a.stats().b.inFlight, a.nextDeadline()], [0, 0, null]);
  assert.deepEqual(drain(a), { packets: [], events: [] }, "no event: the caller asked for it");
  a.send("b", 3, 2);
  const fresh = dataOf(drain(a).packets);
  assert.deepEqual(fresh.map((p) => [p.epoch, p.seq]), [[2, 1]]);
  assert.deepEqual(feed(b, "a", fresh, 3).events, [
    { type: "stream-reset", peer: "a", reason: "peer-reset" },
    { type: "delivered", from: "a", payload: 3 },
  ]);
});

Deno.test("resetPeer on the receiver refuses the old stream; the sender is told and starts over", () => {
  const a = channel("a"), b = channel("b");
  a.send("b", 1, 0);
  a.send("b", 2, 0);
  const [p1, p2] = dataOf(drain(a).packets);
  feed(b, "a", [p1], 1);
  b.tick(11);
  const ack = acksOf(drain(b).packets);
  b.resetPeer("a");
  assert.equal(b.nextDeadline(), null);
  const refused = feed(b, "a", [p2], 20);
  assert.deepEqual(refused.events, [], "the old stream is no longer delivered");
  assert.deepEqual(refused.packets, [{ type: "rel-reset", inc: 1, epoch: 1 }]);
  feed(a, "b", ack, 21);
  const told = feed(a, "b", refused.packets, 22);
  assert.deepEqual(told.events, [{ type: "stream-refused", peer: "b", dropped: 1 }]);
  assert.deepEqual([a.stats().b.queued, a.nextDeadline()], [0, null]);
  // A second, late refusal of the same stream changes nothing.
  assert.deepEqual(feed(a, "b", refused.packets, 23).events, []);
  a.send("b", 3, 30);
  assert.deepEqual(feed(b, "a", dataOf(drain(a).packets), 31).events, [
    { type: "stream-reset", peer: "a", reason: "peer-reset" },
    { type: "delivered", from: "a", payload: 3 },
  ]);
});

Deno.test("an ack is delayed to coalesce, and nextDeadline says when it is due", () => {
  const a = channel("a"), b = channel("b", { ackDelayMs: 10 });
  a.send("b", 1, 0);
  a.send("b", 2, 0);
  const packets = dataOf(drain(a).packets);
  feed(b, "a", packets.slice(0, 1), 100);
  assert.equal(b.nextDeadline(), 110);
  feed(b, "a", packets.slice(1), 105);
  assert.equal(b.nextDeadline(), 110, "still the first deadline");
  b.tick(109);
  assert.deepEqual(drain(b).packets, []);
  b.tick(110);
  assert.deepEqual(acksOf(drain(b).packets), [{
    type: "rel-ack",
    inc: 1,
    epoch: 1,
    cum: 2,
    sack: [],
  }]);
  assert.equal(b.nextDeadline(), null);
});

Deno.test("the reorder buffer is bounded; what it drops is recovered by retransmission", () => {
  const a = channel("a"), b = channel("b", { maxReorderBuffer: 2 });
  for (let i = 0; i < 5; i++) a.send("b", i, 0);
  const [p1, ...rest] = dataOf(drain(a).packets);
  feed(b, "a", rest, 1);
  assert.equal(b.stats().a.outOfOrder, 2, "only two held");
  b.tick(20);
  const ack = acksOf(drain(b).packets);
  assert.deepEqual(ack.map((p) => p.sack), [[2, 3]]);
  assert.deepEqual(
    dataOf(feed(a, "b", ack, 20).packets).map((p) => p.seq),
    [1],
    "the hole, at once",
  );
  a.tick(200);
  const retx = dataOf(drain(a).packets);
  assert.deepEqual(retx.map((p) => p.seq), [4, 5], "sacked 2 and 3 are not resent");
  assert.deepEqual(delivered(feed(b, "a", [p1], 21).events), [0, 1, 2]);
  assert.deepEqual(delivered(feed(b, "a", retx, 201).events), [3, 4]);
});

Deno.test("broken framing or JSON on a stream is dropped and counted, and the stream goes on", () => {
  const b = channel("b");
  const data = (seq: number, frag: number, frags: number, text: string): ChannelPacket => ({
    type: "rel-data",
    inc: 1,
    epoch: 1,
    seq,
    frag,
    frags,
    data: text,
  });
  const out = feed(b, "a", [
    data(1, 0, 1, "{not json"),
    data(2, 0, 1, "42"),
    data(3, 1, 2, "]"), // a second fragment without its first
    data(4, 0, 2, "[1,"),
    data(5, 0, 1, "7"), // interrupts the message begun at seq 4
    data(6, 0, 2, '"a'),
    data(7, 1, 2, 'b"'),
  ], 0);
  assert.deepEqual(delivered(out.events), [42, 7, "ab"]);
  assert.equal(b.stats().a.corrupt, 3);
});

Deno.test("send refuses a payload above maxMessageBytes and throws on one with no JSON form", () => {
  const a = channel("a", { maxMessageBytes: 100 });
  assert.equal(a.send("b", "x".repeat(99), 0), false, "101 chars of JSON with the quotes");
  assert.equal(a.send("b", "x".repeat(98), 0), true);
  assert.equal(a.stats().b.queued, 1);
  assert.throws(() => a.send("b", undefined, 0), TypeError);
});

Deno.test("acks of other streams or covering unsent seqs change nothing", () => {
  const a = channel("a", { incarnation: 3 });
  a.send("b", 1, 0);
  drain(a);
  for (
    const ack of [
      { type: "rel-ack", inc: 2, epoch: 1, cum: 1, sack: [] },
      { type: "rel-ack", inc: 3, epoch: 2, cum: 1, sack: [] },
      { type: "rel-ack", inc: 3, epoch: 1, cum: 5, sack: [] },
      { type: "rel-reset", inc: 3, epoch: 2 },
    ] as ChannelPacket[]
  ) a.receive("b", ack, 1);
  assert.deepEqual(drain(a), { packets: [], events: [] });
  assert.deepEqual([a.stats().b.queued, a.stats().b.inFlight, a.stats().b.corrupt], [1, 1, 1]);
});

Deno.test("the packet schema rejects malformed packets", () => {
  const good: unknown[] = [
    { type: "rel-data", inc: 1, epoch: 1, seq: 1, frag: 0, frags: 1, data: "" },
    { type: "rel-ack", inc: 1, epoch: 1, cum: 0, sack: [] },
    {
      type: "rel-ack",
      inc: 1,
      epoch: 1,
      cum: 5,
      sack: Array.from({ length: 64 }, (_, i) => i + 6),
    },
    { type: "rel-reset", inc: 2, epoch: 9 },
  ];
  for (const p of good) assert.ok(channelPacketSchema.safeParse(p).success, JSON.stringify(p));
  const data = good[0] as Record<string, unknown>;
  const ack = good[1] as Record<string, unknown>;
  const bad: [string, unknown][] = [
    ["negative seq", { ...data, seq: -1 }],
    ["seq 0", { ...data, seq: 0 }],
    ["fractional seq", { ...data, seq: 1.5 }],
    ["string seq", { ...data, seq: "1" }],
    ["inc 0", { ...data, inc: 0 }],
    ["frag not below frags", { ...data, frag: 1, frags: 1 }],
    ["too many frags", { ...data, frags: 1e9 }],
    ["data too long", { ...data, data: "x".repeat(MAX_FRAGMENT_CHARS + 1) }],
    ["data not a string", { ...data, data: 5 }],
    ["extra key", { ...data, extra: true }],
    ["missing key", { type: "rel-data", inc: 1, epoch: 1, seq: 1, frag: 0, frags: 1 }],
    ["huge sack", { ...ack, sack: Array.from({ length: 65 }, (_, i) => i + 1) }],
    ["sack of strings", { ...ack, sack: ["1"] }],
    ["negative cum", { ...ack, cum: -1 }],
    ["unsafe integer", { ...ack, cum: 2 ** 53 }],
    ["unknown type", { ...ack, type: "rel-nak" }],
    ["not an object", [1, 2]],
    ["null", null],
  ];
  for (const [why, p] of bad) assert.equal(channelPacketSchema.safeParse(p).success, false, why);
});

Deno.test("options out of range are refused at construction", () => {
  for (
    const opts of [
      { incarnation: 0 },
      { windowMessages: 0 },
      { maxFragmentBytes: MAX_FRAGMENT_CHARS + 1 },
      { maxFragmentBytes: 1 }, // 4 MiB would need millions of fragments
      { retransmitMs: 500, maxRetransmitMs: 100 },
      { self: "" },
    ]
  ) assert.throws(() => channel("a", opts), RangeError, JSON.stringify(opts));
});

// ---- property: exact delivery after arbitrary loss, duplication and reordering ----

/** What happens to the n-th packet on the network, cycling through the schedule. */
const fateArb = fc.record({
  copies: fc.constantFrom(0, 0, 1, 1, 1, 2),
  delay: fc.integer({ min: 0, max: 80 }),
  delay2: fc.integer({ min: 0, max: 80 }),
});

const payloadArb = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.string({ maxLength: 300 }),
  fc.record({ big: fc.string({ unit: "binary", minLength: 50, maxLength: 400 }) }),
);

Deno.test("property: after faults stop, each side receives exactly what the other sent, in order", () => {
  fc.assert(
    fc.property(
      fc.array(payloadArb, { maxLength: 20 }),
      fc.array(payloadArb, { maxLength: 20 }),
      fc.array(fateArb, { minLength: 1, maxLength: 40 }),
      fc.integer({ min: 0, max: 3000 }),
      fc.record({
        windowMessages: fc.integer({ min: 1, max: 16 }),
        maxReorderBuffer: fc.integer({ min: 1, max: 32 }),
        retransmitMs: fc.integer({ min: 5, max: 300 }),
        ackDelayMs: fc.integer({ min: 0, max: 30 }),
        maxFragmentBytes: fc.integer({ min: 8, max: 64 }),
        gapMs: fc.integer({ min: 0, max: 50 }),
      }),
      (fromA, fromB, schedule, faultsUntil, { gapMs, ...opts }) => {
        let n = 0;
        const cluster = new VirtualCluster({
          nodes: ["a", "b"],
          channel: { ...opts, maxMessageBytes: 100_000 },
          faults: (_from, _to, now) => {
            const fate = schedule[n++ % schedule.length];
            if (now >= faultsUntil) return [fate.delay];
            return [[], [fate.delay], [fate.delay, fate.delay2]][fate.copies];
          },
        });
        fromA.forEach((p, i) => cluster.at(i * gapMs, () => cluster.send("a", "b", p)));
        fromB.forEach((p, i) => cluster.at(i * gapMs, () => cluster.send("b", "a", p)));
        cluster.runUntilQuiet(500_000, 200_000);
        const roundTrip = (list: unknown[]) => list.map((p) => JSON.parse(JSON.stringify(p)));
        assert.deepEqual(
          cluster.entries("b", "a"),
          roundTrip(fromA).map((payload) => ({ kind: "msg", payload })),
        );
        assert.deepEqual(
          cluster.entries("a", "b"),
          roundTrip(fromB).map((payload) => ({ kind: "msg", payload })),
        );
        for (const node of ["a", "b"]) {
          assert.deepEqual(cluster.senderEvents.get(node), []);
          for (const s of Object.values(cluster.channel(node).stats())) {
            assert.deepEqual([s.queued, s.inFlight, s.corrupt], [0, 0, 0]);
          }
        }
      },
    ),
    { numRuns: 500 },
  );
});
