import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { existsSync } from "node:fs";
import type { Transport } from "../../core/messaging/transport.ts";
import { openTransport } from "../../core/transport/open_transport.ts";
import { bytes, Collector, freeUdpPort, sleep, waitFor } from "./collector.ts";
import { MAX_FRAME_BYTES } from "../../core/wire/frame.ts";

const HOST = "127.0.0.1";

/** Opens unicast links named a, b, c... on free loopback ports, each listing all of them. */
async function openMesh(
  count: number,
  extraPeers: string[] = [],
): Promise<{ links: Transport[]; collectors: Collector[]; addresses: string[] }> {
  const addresses: string[] = [];
  for (let i = 0; i < count; i++) addresses.push(`${HOST}:${await freeUdpPort(HOST)}`);
  const links: Transport[] = [];
  const collectors: Collector[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const collector = new Collector();
      collectors.push(collector);
      links.push(
        await openTransport({
          type: "ucast",
          name: String.fromCharCode(97 + i),
          bind: addresses[i],
          peers: [...extraPeers, ...addresses],
        }, collector),
      );
    }
  } catch (e) {
    await Promise.all(links.map((l) => l.close()));
    throw e;
  }
  return { links, collectors, addresses };
}

Deno.test("ucast: two links exchange frames both ways and ignore their own", async () => {
  const { links: [a, b], collectors: [ca, cb] } = await openMesh(2);
  try {
    for (let i = 0; i < 20; i++) {
      a.send(bytes(`a${i}`));
      b.send(bytes(`b${i}`));
    }
    assert.ok(await waitFor(() => ca.frames.length >= 20 && cb.frames.length >= 20));
    await sleep(50); // Would let our own frames arrive, if they were not dropped.
    assert.deepEqual(ca.texts(), Array.from({ length: 20 }, (_, i) => `b${i}`));
    assert.deepEqual(cb.texts(), Array.from({ length: 20 }, (_, i) => `a${i}`));
    const counters = a.counters();
    assert.equal(counters.packetsOut, 20, "a sends to b only, not to itself");
    assert.equal(counters.packetsIn, 20);
    assert.equal(counters.bytesOut, 20 * 2 + 10 * 1);
    assert.equal(counters.bytesIn, counters.bytesOut);
    assert.equal(counters.sendErrors, 0);
    // A source is the sender's address with the port of its send socket.
    for (const f of ca.frames) assert.match(f.source, /^127\.0\.0\.1:\d+$/);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

Deno.test("ucast: `to` sends to one seen source or one configured peer only", async () => {
  const { links: [a, b, c], collectors: [ca, cb, cc], addresses } = await openMesh(3);
  try {
    a.send(bytes("hello"));
    assert.ok(await waitFor(() => cb.frames.length === 1 && cc.frames.length === 1));
    const sourceOfA = cb.frames[0].source;
    assert.notEqual(sourceOfA, addresses[0], "frames leave from a send socket, not the bind");

    b.send(bytes("reply-to-source"), sourceOfA);
    assert.ok(await waitFor(() => ca.frames.length === 1));
    assert.deepEqual(ca.texts(), ["reply-to-source"]);

    b.send(bytes("to-c"), addresses[2]);
    assert.ok(await waitFor(() => cc.frames.length === 2));
    assert.deepEqual(cc.texts(), ["hello", "to-c"]);

    const before = b.counters().sendErrors;
    b.send(bytes("nowhere"), "127.0.0.1:9");
    assert.equal(b.counters().sendErrors, before + 1, "an unseen, unconfigured `to` is refused");
    assert.match(cb.errors.at(-1) ?? "", /link b: not sending to 127\.0\.0\.1:9/);

    await sleep(50);
    assert.deepEqual(ca.texts(), ["reply-to-source"], "only the addressed peer got frames");
    assert.equal(cb.frames.length, 1);
  } finally {
    await Promise.all([a.close(), b.close(), c.close()]);
  }
});

Deno.test("ucast: a dead peer does not stop sends to a live one", async () => {
  const deadPort = await freeUdpPort(HOST); // Nobody listens there: ICMP port-unreachable.
  const { links: [a, b], collectors: [, cb] } = await openMesh(2, [`${HOST}:${deadPort}`]);
  try {
    const rounds = 50;
    for (let i = 0; i < rounds; i++) {
      a.send(bytes(`r${i}`)); // To the dead peer first, then to b, back to back.
      if (i % 10 === 9) await sleep(5); // Let ICMP errors come back between bursts.
    }
    assert.ok(await waitFor(() => cb.frames.length >= rounds), `b got ${cb.frames.length}`);
    assert.deepEqual(cb.texts(), Array.from({ length: rounds }, (_, i) => `r${i}`));
    assert.ok(a.counters().packetsOut >= rounds);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

Deno.test("ucast: a node listed with a wildcard bind skips itself", async () => {
  const port = await freeUdpPort(HOST);
  const peerPort = await freeUdpPort(HOST);
  const collector = new Collector();
  const self = await openTransport({
    type: "ucast",
    name: "w",
    bind: `0.0.0.0:${port}`,
    peers: [`${HOST}:${port}`, `${HOST}:${peerPort}`],
  }, collector);
  const peer = createSocket("udp4");
  try {
    let got = 0;
    peer.on("message", () => got++);
    await new Promise<void>((r) => peer.bind(peerPort, HOST, () => r()));
    self.send(bytes("x"));
    assert.ok(await waitFor(() => got === 1));
    await sleep(50);
    assert.equal(collector.frames.length, 0, "own frame not received");
    assert.equal(self.counters().packetsOut, 1);
  } finally {
    await self.close();
    await new Promise<void>((r) => peer.close(() => r()));
  }
});

Deno.test("ucast: oversized and empty frames, and sends after close, are counted errors", async () => {
  const { links: [a, b], collectors: [ca] } = await openMesh(2);
  try {
    a.send(new Uint8Array(MAX_FRAME_BYTES + 1));
    a.send(new Uint8Array(0));
    assert.equal(a.counters().sendErrors, 2);
    assert.equal(ca.errors.length, 1, "error reports are rate-limited to one per second");
    assert.match(ca.errors[0], /link a: not sending a frame of 60001 bytes/);
    a.send(new Uint8Array(MAX_FRAME_BYTES)); // The largest frame goes through.
    await a.close();
    a.send(bytes("late"));
    assert.equal(a.counters().sendErrors, 3);
    await a.close(); // Idempotent.
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

Deno.test("ucast: a throwing frame handler is reported and the link keeps going", async () => {
  const { links: [a, b], collectors: [, cb] } = await openMesh(2);
  const original = cb.onFrame.bind(cb);
  let calls = 0;
  cb.onFrame = (frame, source) => {
    if (++calls === 1) throw new Error("handler bug");
    original(frame, source);
  };
  try {
    a.send(bytes("one"));
    a.send(bytes("two"));
    assert.ok(await waitFor(() => cb.frames.length === 1));
    assert.deepEqual(cb.texts(), ["two"]);
    assert.match(cb.errors[0], /^link b: frame handler failed: handler bug/);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

Deno.test("ucast: a received datagram over MAX_FRAME_BYTES is a framing error", async () => {
  const { links: [a], collectors: [ca], addresses } = await openMesh(1);
  const raw = createSocket("udp4");
  try {
    const port = Number(addresses[0].split(":")[1]);
    await new Promise<void>((r) => raw.bind(0, HOST, () => r()));
    raw.send(new Uint8Array(MAX_FRAME_BYTES + 1), port, HOST);
    raw.send(bytes("ok"), port, HOST);
    assert.ok(await waitFor(() => ca.frames.length === 1));
    assert.equal(a.counters().framingErrors, 1);
    assert.deepEqual(ca.texts(), ["ok"]);
  } finally {
    await a.close();
    await new Promise<void>((r) => raw.close(() => r()));
  }
});

Deno.test("ucast: opening on an address in use fails with a clear message", async () => {
  const { links: [a], addresses } = await openMesh(1);
  try {
    await assert.rejects(
      openTransport({ type: "ucast", name: "dup", bind: addresses[0], peers: addresses }, {
        onFrame() {},
        onError() {},
      }),
      (e: Error) => {
        assert.match(
          e.message,
          new RegExp(
            `^link dup \\(ucast\\): cannot listen on ${addresses[0]}: address already in use`,
          ),
        );
        return true;
      },
    );
    await assert.rejects(
      openTransport({ type: "ucast", name: "far", bind: "198.18.72.250:7000", peers: addresses }, {
        onFrame() {},
        onError() {},
      }),
      /^Error: link far \(ucast\): cannot bind 198\.18\.72\.250:7000: 198\.18\.72\.250 is not an address of this host$/,
    );
  } finally {
    await a.close();
  }
});

const BUN = new URL("../../node_modules/.bin/bun", import.meta.url).pathname;
const BUN_CHECK = new URL("./bun_ucast_check.ts", import.meta.url).pathname;
if (!existsSync(BUN)) console.warn(`ucast under bun skipped: no bun at ${BUN}`);

Deno.test({
  name: "ucast under bun: exchange, `to`, dead peer and bind errors all work",
  ignore: !existsSync(BUN),
  async fn() {
    const output = await new Deno.Command(BUN, {
      args: ["run", BUN_CHECK],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
    const stdout = new TextDecoder().decode(output.stdout).trim();
    const stderr = new TextDecoder().decode(output.stderr).trim();
    assert.equal(output.code, 0, `bun check failed:\n${stdout}\n${stderr}`);
    const result = JSON.parse(stdout.split("\n").at(-1)!);
    assert.equal(result.ok, true);
    assert.equal(Object.keys(result.checks).length, 4);
    for (const [name, verdict] of Object.entries(result.checks)) assert.equal(verdict, "ok", name);
  },
});
