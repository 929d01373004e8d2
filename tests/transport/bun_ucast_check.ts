/**
 * The unicast link's checks as a plain script, runnable under Bun (the runtime
 * of the shipped binary) as well as Deno: `bun run tests/transport/bun_ucast_check.ts`.
 *
 * Prints one JSON line `{ ok, checks, control }` and exits 0 when every check
 * passed, 1 otherwise. `control` measures the Bun quirk the unicast link works
 * around (one shared socket, dead peer then live peer, back to back): how many
 * of its sends to the live peer arrived. It is information, not a check.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { openTransport } from "../../core/transport/open_transport.ts";
import { bytes, Collector, freeUdpPort, sleep, waitFor } from "./collector.ts";

const HOST = "127.0.0.1";
const checks: Record<string, string> = {};

async function check(name: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
    checks[name] = "ok";
  } catch (e) {
    checks[name] = `FAILED: ${(e as Error).message}`;
  }
}

async function pair(extraPeers: string[] = []) {
  const addresses = [`${HOST}:${await freeUdpPort(HOST)}`, `${HOST}:${await freeUdpPort(HOST)}`];
  const ca = new Collector();
  const cb = new Collector();
  const peers = [...extraPeers, ...addresses];
  const a = await openTransport({ type: "ucast", name: "a", bind: addresses[0], peers }, ca);
  const b = await openTransport({ type: "ucast", name: "b", bind: addresses[1], peers }, cb);
  return { a, b, ca, cb, addresses };
}

await check("exchange both ways, in order, own frames ignored", async () => {
  const { a, b, ca, cb } = await pair();
  try {
    for (let i = 0; i < 20; i++) {
      a.send(bytes(`a${i}`));
      b.send(bytes(`b${i}`));
    }
    assert.ok(await waitFor(() => ca.frames.length >= 20 && cb.frames.length >= 20));
    await sleep(50);
    assert.deepEqual(ca.texts(), Array.from({ length: 20 }, (_, i) => `b${i}`));
    assert.deepEqual(cb.texts(), Array.from({ length: 20 }, (_, i) => `a${i}`));
    assert.equal(a.counters().packetsOut, 20);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

await check("reply with `to` reaches the sender only", async () => {
  const { a, b, ca, cb } = await pair();
  try {
    a.send(bytes("hello"));
    assert.ok(await waitFor(() => cb.frames.length === 1));
    b.send(bytes("reply"), cb.frames[0].source);
    assert.ok(await waitFor(() => ca.frames.length === 1));
    assert.deepEqual(ca.texts(), ["reply"]);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

await check("a dead peer does not stop sends to a live one", async () => {
  const dead = `${HOST}:${await freeUdpPort(HOST)}`;
  const { a, b, cb } = await pair([dead]);
  try {
    for (let i = 0; i < 50; i++) {
      a.send(bytes(`r${i}`));
      if (i % 10 === 9) await sleep(5);
    }
    assert.ok(await waitFor(() => cb.frames.length >= 50), `live peer got ${cb.frames.length}/50`);
    assert.deepEqual(cb.texts(), Array.from({ length: 50 }, (_, i) => `r${i}`));
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

await check("address in use is a clear error", async () => {
  const { a, b, addresses } = await pair();
  try {
    await assert.rejects(
      openTransport({ type: "ucast", name: "dup", bind: addresses[0], peers: addresses }, {
        onFrame() {},
        onError() {},
      }),
      /link dup \(ucast\): cannot listen on .*: address already in use/,
    );
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

/** One shared socket sending dead, live, dead, live...: how many reach the live peer. */
async function sharedSocketControl(): Promise<{ live: number; of: number; errors: number }> {
  const live = createSocket("udp4");
  const shared = createSocket("udp4");
  let got = 0;
  let errors = 0;
  try {
    await new Promise<void>((r) => live.bind(0, HOST, () => r()));
    await new Promise<void>((r) => shared.bind(0, HOST, () => r()));
    shared.on("error", () => {});
    live.on("message", () => got++);
    const deadPort = await freeUdpPort(HOST);
    const of = 20;
    for (let i = 0; i < of; i++) {
      shared.send(bytes("x"), deadPort, HOST, (e) => e && errors++);
      shared.send(bytes("y"), live.address().port, HOST, (e) => e && errors++);
      await sleep(5);
    }
    await sleep(100);
    return { live: got, of, errors };
  } finally {
    await new Promise<void>((r) => live.close(() => r()));
    await new Promise<void>((r) => shared.close(() => r()));
  }
}

const control = await sharedSocketControl();
const ok = Object.values(checks).every((v) => v === "ok");
console.log(JSON.stringify({ ok, checks, control }));
// Sockets are closed; exit explicitly so a lingering runtime handle cannot hang the caller.
(globalThis as unknown as { process: { exit(code: number): void } }).process.exit(ok ? 0 : 1);
