import assert from "node:assert/strict";
import fc from "fast-check";
import { LinkOpenError, LinkSet, type LinkSetOptions } from "../../core/daemon/link_set.ts";
import type { ResolvedLink } from "../../core/config/node_config.ts";
import type { LinkEvent } from "../../core/messaging/link_monitor.ts";
import {
  emptyCounters,
  type LinkSpec,
  type OpenTransport,
  type Transport,
  type TransportHandlers,
} from "../../core/messaging/transport.ts";
import type { Message } from "../../core/node/messages.ts";
import type { AuthKey, Keyring } from "../../core/wire/authkeys.ts";
import { encodeFrame, type Frame } from "../../core/wire/frame.ts";

const KEY: AuthKey = { id: 1, algorithm: "sha256", secret: "link-set-test" };
const KEYRING: Keyring = { active: KEY, keys: new Map([[1, KEY]]) };

const LINKS: ResolvedLink[] = [
  { type: "ucast", name: "udp", bind: "127.0.0.1:1", peers: ["127.0.0.1:2", "127.0.0.1:3"] },
  { type: "serial", name: "tty", device: "/dev/null", baud: 19200 },
];

/** A transport that records what is sent and lets the test inject frames. */
class FakeTransport implements Transport {
  readonly sent: { bytes: Uint8Array; to?: string }[] = [];
  closed = false;
  constructor(readonly spec: LinkSpec, readonly handlers: TransportHandlers) {}
  send(bytes: Uint8Array, to?: string): void {
    this.sent.push(to === undefined ? { bytes } : { bytes, to });
  }
  counters() {
    return emptyCounters();
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

interface Harness {
  set: LinkSet;
  transports: FakeTransport[];
  messages: { from: string; incarnation: number; body: Message }[];
  linkEvents: LinkEvent[];
  incarnations: [string, number][];
  clock: { now: number };
}

async function harness(over: Partial<LinkSetOptions> = {}): Promise<Harness> {
  const transports: FakeTransport[] = [];
  const messages: Harness["messages"] = [];
  const linkEvents: LinkEvent[] = [];
  const incarnations: [string, number][] = [];
  const clock = { now: 0 };
  const openTransport: OpenTransport = (spec, handlers) => {
    const t = new FakeTransport(spec, handlers);
    transports.push(t);
    return Promise.resolve(t);
  };
  const set = await LinkSet.open({
    self: "n1",
    nodes: ["n1", "n2", "n3"],
    links: LINKS,
    unicastAddresses: new Map([["udp", new Map([["n2", "127.0.0.1:2"]])]]),
    keyring: KEYRING,
    incarnation: 7,
    deadtimeMs: 500,
    probeIntervalMs: 1000,
    knownIncarnations: {},
    onIncarnation: (peer, inc) => incarnations.push([peer, inc]),
    onMessage: (from, incarnation, body) => messages.push({ from, incarnation, body }),
    onLinkEvent: (e) => linkEvents.push(e),
    onLog: () => {},
    now: () => clock.now,
    openTransport,
    ...over,
  });
  return { set, transports, messages, linkEvents, incarnations, clock };
}

const HB_BODY = {
  type: "hb",
  membership: {
    view: ["n2"],
    proposal: { members: ["n2"], generation: 1 },
    agreedGeneration: 1,
    ready: true,
    active: [],
  },
  dc: "n2",
  cibVersion: { adminEpoch: 0, epoch: 1, numUpdates: 0 },
  lrm: { seq: 0, resources: {} },
  done: [],
};

function frame(over: Partial<Frame> = {}): Uint8Array {
  return encodeFrame({ from: "n2", incarnation: 3, seq: 1, body: HB_BODY, ...over }, KEY);
}

Deno.test("link set: a frame arriving on two links is delivered once, both links hear it", async () => {
  const h = await harness();
  const [udp, tty] = h.transports;
  udp.handlers.onFrame(frame(), "127.0.0.1:40000");
  tty.handlers.onFrame(frame(), "/dev/null");
  assert.equal(h.messages.length, 1);
  assert.equal(h.messages[0].from, "n2");
  assert.equal(h.messages[0].incarnation, 3);
  assert.deepEqual(h.linkEvents, [
    { type: "link-up", link: "udp", peer: "n2" },
    { type: "link-up", link: "tty", peer: "n2" },
  ]);
  assert.equal(h.set.stats().dropped.duplicate, 1);
  assert.deepEqual(h.set.links(0).map((l) => [l.name, l.dropped, l.duplicates]), [
    ["udp", 0, 0],
    ["tty", 0, 1],
  ]);
  assert.deepEqual(h.incarnations, [["n2", 3]], "a new incarnation is reported once to persist");
  // Only the serial link falls silent: it alone goes down.
  h.clock.now = 300;
  udp.handlers.onFrame(frame({ seq: 2 }), "127.0.0.1:40000");
  h.clock.now = 600;
  h.set.tick(600);
  assert.deepEqual(h.linkEvents.slice(2), [{ type: "link-down", link: "tty", peer: "n2" }]);
  const links = h.set.links(600);
  assert.equal(links[0].up, true);
  assert.equal(links[1].up, false);
});

Deno.test("link set: sends one signed frame on every link; addressed frames use the known address", async () => {
  const h = await harness();
  const [udp, tty] = h.transports;
  h.set.send(null, HB_BODY);
  assert.equal(udp.sent.length, 1);
  assert.equal(tty.sent.length, 1);
  assert.equal(udp.sent[0].to, undefined);
  assert.deepEqual(udp.sent[0].bytes, tty.sent[0].bytes, "the same frame on both links");
  h.set.send("n2", { type: "rel-ack", inc: 1, epoch: 0, cum: 0, sack: [] });
  assert.equal(udp.sent[1].to, "127.0.0.1:2");
  h.set.send("n3", { type: "rel-ack", inc: 1, epoch: 0, cum: 0, sack: [] });
  assert.equal(udp.sent[2].to, undefined, "unknown address: every peer, the header names n3");
  // Serial links carry small frames only.
  h.set.send(null, { ...HB_BODY, done: [], lrm: { seq: 0, resources: big() } });
  assert.equal(udp.sent.length, 4);
  assert.equal(tty.sent.length, 3);
  assert.equal(h.set.stats().sent, 4);
});

function big(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < 100; i++) out[`r${i}`] = { state: "stopped", failCount: 0, lastRc: 7 };
  return out;
}

Deno.test("link set: drops and counts what must not reach the core", async () => {
  const h = await harness();
  const [udp] = h.transports;
  const other: AuthKey = { id: 1, algorithm: "sha256", secret: "wrong" };
  udp.handlers.onFrame(
    encodeFrame({ from: "n2", incarnation: 3, seq: 1, body: HB_BODY }, other),
    "a",
  );
  udp.handlers.onFrame(frame({ from: "intruder" }), "a");
  udp.handlers.onFrame(frame({ from: "n1" }), "a"); // our own broadcast, silently ignored
  udp.handlers.onFrame(frame({ seq: 5, to: "n3" }), "a");
  udp.handlers.onFrame(frame({ seq: 6, body: { type: "hb" } }), "a");
  udp.handlers.onFrame(frame({ seq: 7, incarnation: 2 }), "a");
  udp.handlers.onFrame(new Uint8Array([1, 2, 3]), "a");
  const d = h.set.stats().dropped;
  assert.equal(d["bad-digest"], 1);
  assert.equal(d["unknown-node"], 1);
  assert.equal(d["other-recipient"], 1);
  assert.equal(d["bad-body"], 1);
  assert.equal(d["old-incarnation"], 1);
  assert.equal(d["too-short"], 1);
  assert.equal(h.messages.length, 0);
  assert.equal(h.set.links(0)[0].dropped, 5, "everything but our own frame and other mail");
});

Deno.test("link set: persisted incarnations keep an earlier boot's frames out", async () => {
  const h = await harness({ knownIncarnations: { n2: 4, stranger: 9 } });
  h.transports[0].handlers.onFrame(frame({ incarnation: 3, seq: 100 }), "a");
  assert.equal(h.set.stats().dropped["old-incarnation"], 1);
  h.transports[0].handlers.onFrame(frame({ incarnation: 4, seq: 1 }), "a");
  assert.equal(h.messages.length, 1);
  assert.deepEqual(h.set.incarnations(), { n2: 4 }, "unconfigured names are not kept");
});

Deno.test("link set: a probe is echoed on its own link; echoes give a round-trip time", async () => {
  const h = await harness();
  const [udp, tty] = h.transports;
  h.clock.now = 50;
  tty.handlers.onFrame(frame({ seq: 1, body: { type: "link-probe", t: 12 } }), "/dev/null");
  assert.equal(udp.sent.length, 0, "the echo goes back on the probe's link only");
  assert.equal(tty.sent.length, 1);
  // The prober's probe goes out on every link; the echo comes back on one.
  h.set.tick(1000);
  assert.equal(udp.sent.length, 1);
  h.clock.now = 1004;
  udp.handlers.onFrame(frame({ seq: 2, to: "n1", body: { type: "link-echo", t: 1000 } }), "a");
  assert.equal(h.set.links(1004)[0].peers[0].rttMs, 4);
  assert.equal(h.messages.length, 0, "link messages never reach the core");
});

Deno.test("link set: a link that cannot open closes the others and names it", async () => {
  const opened: FakeTransport[] = [];
  await assert.rejects(
    harness({
      openTransport: (spec, handlers) => {
        if (spec.type === "serial") {
          return Promise.reject(new Error("link tty (serial): device /dev/ttyS9 does not exist"));
        }
        const t = new FakeTransport(spec, handlers);
        opened.push(t);
        return Promise.resolve(t);
      },
    }),
    (e: Error) => e instanceof LinkOpenError && /ttyS9 does not exist/.test(e.message),
  );
  assert.equal(opened[0].closed, true);
});

Deno.test("property: no input bytes on any link crash the receive path", async () => {
  const h = await harness();
  const valid = frame();
  const arb = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })).map(([i, b]) => {
      const copy = valid.slice();
      copy[i] = b;
      return copy;
    }),
    fc.nat(valid.length).map((n) => valid.slice(0, n)),
  );
  fc.assert(
    fc.property(arb, fc.boolean(), (bytes, serial) => {
      h.transports[serial ? 1 : 0].handlers.onFrame(bytes, "x");
    }),
    { numRuns: 3000 },
  );
  assert.ok(h.set.stats().received <= 1);
});
