import assert from "node:assert/strict";
import { createQdisk, type QdiskInstance, qdiskParamsSchema } from "../../plugins/qdisk.ts";
import {
  crc32,
  decodeSlot,
  encodeSlot,
  MAX_SLOTS,
  type SlotRecord,
} from "../../plugins/qdisk_slot.ts";
import type { QuorumDeviceReading } from "../../plugins/quorum_device.ts";
import type { WorkerReport } from "./qdisk_worker.ts";

const SLOT = 512;

/** A fake wall clock shared by the nodes of one test. */
interface Clock {
  t: number;
}

/** One qdisk node with a fake clock and a settable membership. */
interface TestNode {
  name: string;
  instance: QdiskInstance;
  membership: readonly string[] | null;
  log: string[];
}

function node(
  path: string,
  name: string,
  nodes: string[],
  clock: Clock,
  extra: Record<string, unknown> = {},
): TestNode {
  const n: TestNode = { name, membership: [name], log: [], instance: undefined as never };
  n.instance = createQdisk(qdiskParamsSchema.parse({ path, ...extra }), {
    node: name,
    nodes,
    membership: () => n.membership,
    now: () => clock.t,
    log: (line) => n.log.push(line),
  });
  return n;
}

const check = (n: TestNode) => n.instance.check(new AbortController().signal);

/** Advances the clock one interval and checks every node in turn. */
async function round(clock: Clock, nodes: TestNode[]): Promise<QuorumDeviceReading[]> {
  clock.t += 1000;
  const readings: QuorumDeviceReading[] = [];
  for (const n of nodes) readings.push(await check(n));
  return readings;
}

/** Runs `body` with a fresh temporary directory, removed afterwards. */
async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "vgl-qdisk-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Overwrites slot `index` of the file at `path` with `bytes`. */
async function writeSlot(path: string, index: number, bytes: Uint8Array): Promise<void> {
  const file = await Deno.open(path, { write: true });
  try {
    await file.seek(index * SLOT, Deno.SeekMode.Start);
    await file.write(bytes);
  } finally {
    file.close();
  }
}

async function readSlot(path: string, index: number): Promise<Uint8Array> {
  const all = await Deno.readFile(path);
  return all.slice(index * SLOT, (index + 1) * SLOT);
}

const sample: SlotRecord = {
  index: 3,
  node: "node-3",
  timestampMs: 1_700_000_000_000,
  counter: 42,
  state: "master",
  masterIndex: 3,
};

Deno.test("slot format: CRC-32 matches the standard check value", () => {
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
});

Deno.test("slot format: encode/decode round trip; empty; size bounds", () => {
  const bytes = encodeSlot(sample, SLOT);
  assert.equal(bytes.length, SLOT);
  assert.deepEqual(decodeSlot(bytes, 3), { kind: "valid", slot: sample });
  const none = { ...sample, state: "running" as const, masterIndex: null, node: "ñ" };
  assert.deepEqual(decodeSlot(encodeSlot(none, 128), 3), { kind: "valid", slot: none });
  assert.deepEqual(decodeSlot(new Uint8Array(SLOT), 0), { kind: "empty" });
  for (const size of [64, 100, 8192, 520]) {
    assert.throws(() => encodeSlot(sample, size), /slotBytes/);
  }
  assert.throws(() => encodeSlot({ ...sample, index: MAX_SLOTS }, SLOT), /slot index 64/);
  assert.throws(() => encodeSlot({ ...sample, node: "x".repeat(65) }, SLOT), /node name/);
  assert.throws(() => encodeSlot({ ...sample, node: "" }, SLOT), /node name/);
  assert.throws(() => encodeSlot({ ...sample, counter: -1 }, SLOT), /counter/);
});

Deno.test("slot format: torn, foreign and misplaced slots decode as corrupt with a reason", () => {
  const good = encodeSlot(sample, SLOT);
  const torn = good.slice();
  torn[30] ^= 0x01; // one bit of the name
  assert.deepEqual(decodeSlot(torn, 3), { kind: "corrupt", problem: "bad checksum" });
  const halfWritten = good.slice();
  halfWritten.fill(0, SLOT / 2); // the second half never made it
  assert.deepEqual(decodeSlot(halfWritten, 3), { kind: "corrupt", problem: "bad checksum" });
  const foreign = new TextEncoder().encode("ext4 superblock".padEnd(SLOT, "."));
  assert.deepEqual(decodeSlot(foreign, 3), { kind: "corrupt", problem: "bad magic" });
  assert.deepEqual(decodeSlot(good, 4), { kind: "corrupt", problem: "written for slot 3" });
});

Deno.test("qdisk params: defaults and bounds", () => {
  const p = qdiskParamsSchema.parse({ path: "/dev/sdq" });
  assert.deepEqual(p, { path: "/dev/sdq", votes: 1, intervalMs: 1000, tko: 10, slotBytes: 512 });
  for (const bad of [{ slotBytes: 100 }, { slotBytes: 8192 }, { nodeId: 64 }, { tko: 1 }]) {
    assert.equal(qdiskParamsSchema.safeParse({ path: "/x", ...bad }).success, false);
  }
});

Deno.test("qdisk create: refuses a node without a slot and more than 64 nodes", () => {
  const ctx = (nodeName: string, nodes: string[]) => ({
    node: nodeName,
    nodes,
    membership: () => null,
    now: () => 0,
    log: () => {},
  });
  const p = qdiskParamsSchema.parse({ path: "/nonexistent" });
  assert.throws(() => createQdisk(p, ctx("z", ["a", "b"])), /node z is not a configured node/);
  const many = Array.from({ length: 65 }, (_, i) => `n${i}`);
  assert.throws(() => createQdisk(p, ctx("n0", many)), /at most 64 nodes/);
  assert.equal(createQdisk({ ...p, nodeId: 7 }, ctx("z", ["a"])).view().slot, 7);
  assert.equal(createQdisk(p, ctx("b", ["c", "b", "a"])).view().slot, 1, "sorted position");
});

Deno.test("qdisk partitioned: only the master's side gets the vote; takeover after tko", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/disk`;
    const clock = { t: 0 };
    const nodes = ["n1", "n2"];
    const a = node(path, "n1", nodes, clock); // slot 0
    const b = node(path, "n2", nodes, clock); // slot 1
    try {
      // First round: everyone writes once before anyone claims.
      const [a1, b1] = await round(clock, [a, b]);
      assert.deepEqual([a1.votes, b1.votes], [0, 0]);
      assert.match(a1.detail, /no master yet/);
      for (let i = 0; i < 3; i++) {
        const [ra, rb] = await round(clock, [a, b]);
        assert.deepEqual([ra.votes, rb.votes], [1, 0], `round ${i + 2}`);
        assert.ok(ra.healthy && rb.healthy);
        assert.equal(a.instance.view().master, "n1");
        assert.equal(b.instance.view().master, "n1", "n2 follows n1");
        assert.deepEqual(b.instance.view().alive, ["n1", "n2"]);
        assert.match(rb.detail, /master n1 \(not in our partition\); 2 alive on disk \(n1, n2\)/);
      }

      // n1 stops writing (hangs or dies). n2 waits tko = 10 intervals, then takes over.
      let takeover = 0;
      for (let k = 1; k <= 15 && takeover === 0; k++) {
        const [rb] = await round(clock, [b]);
        if (rb.votes > 0) takeover = k;
        else assert.equal(b.instance.view().master, "n1", `interval ${k}`);
      }
      assert.equal(takeover, 11, "dead after more than tko x interval without a write");
      assert.equal(b.instance.view().master, "n2");
      assert.deepEqual(b.instance.view().alive, ["n2"]);

      // n1 comes back: its mastership lapsed, so it follows n2 (who keeps it).
      for (let i = 0; i < 3; i++) {
        const [ra, rb] = await round(clock, [a, b]);
        assert.deepEqual([ra.votes, rb.votes], [0, 1], `after return, round ${i + 1}`);
        assert.equal(a.instance.view().master, "n2");
      }
      assert.ok(a.log.some((l) => /giving up mastership/.test(l)), a.log.join("\n"));
    } finally {
      await a.instance.stop();
      await b.instance.stop();
    }
  });
});

Deno.test("qdisk in one membership: every node reports the vote", async () => {
  await withDir(async (dir) => {
    const clock = { t: 0 };
    const nodes = ["n1", "n2", "n3"];
    const all = nodes.map((n) => node(`${dir}/disk`, n, nodes, clock));
    for (const n of all) n.membership = nodes;
    try {
      await round(clock, all);
      const readings = await round(clock, all);
      assert.deepEqual(readings.map((r) => r.votes), [1, 1, 1]);
      assert.deepEqual(all.map((n) => n.instance.view().master), ["n1", "n1", "n1"]);
      assert.deepEqual(all.map((n) => n.instance.view().isMaster), [true, false, false]);
      // While the membership is in transition nobody counts the device.
      all[1].membership = null;
      const [, inTransition] = await round(clock, all.slice(0, 2));
      assert.equal(inTransition.votes, 0);
      assert.match(inTransition.detail, /master n1 \(membership in transition\)/);
    } finally {
      for (const n of all) await n.instance.stop();
    }
  });
});

Deno.test("qdisk: a clean stop hands mastership over at the next check", async () => {
  await withDir(async (dir) => {
    const clock = { t: 0 };
    const nodes = ["n1", "n2"];
    const a = node(`${dir}/disk`, "n1", nodes, clock);
    const b = node(`${dir}/disk`, "n2", nodes, clock);
    try {
      await round(clock, [a, b]);
      await round(clock, [a, b]);
      assert.equal(b.instance.view().master, "n1");
      await a.instance.stop();
      await a.instance.stop(); // idempotent
      const [rb] = await round(clock, [b]);
      assert.equal(rb.votes, 1);
      assert.equal(b.instance.view().master, "n2");
      const after = await check(a);
      assert.deepEqual([after.votes, after.healthy], [0, false]);
    } finally {
      await a.instance.stop();
      await b.instance.stop();
    }
  });
});

Deno.test("qdisk: stop during a check waits for it, then marks the slot leaving", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/disk`;
    const clock = { t: 0 };
    const a = node(path, "n1", ["n1", "n2"], clock);
    await round(clock, [a]);
    const checking = check(a);
    const busy = await check(a);
    assert.match(busy.detail, /previous check still running/);
    await a.instance.stop();
    assert.equal((await checking).healthy, true);
    const slot = decodeSlot(await readSlot(path, 0), 0);
    assert.equal(slot.kind === "valid" && slot.slot.state, "leaving");
    assert.equal(slot.kind === "valid" && slot.slot.counter, 3);
  });
});

Deno.test("qdisk: garbage in a slot is ignored and reported, not fatal", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/disk`;
    const clock = { t: 0 };
    const nodes = ["n1", "n2", "n3"];
    const a = node(path, "n1", nodes, clock);
    const b = node(path, "n2", nodes, clock);
    try {
      await round(clock, [a, b]);
      await round(clock, [a, b]); // n1 has now seen n2 write
      // Deterministic garbage in n3's slot (a stray write from some other program).
      const garbage = Uint8Array.from({ length: SLOT }, (_, i) => (i * 131 + 7) & 0xff);
      await writeSlot(path, 2, garbage);
      // A torn copy of n2's slot: one flipped byte.
      const torn = await readSlot(path, 1);
      torn[40] ^= 0xff;
      await writeSlot(path, 1, torn);
      const ra = await check(a);
      assert.equal(ra.healthy, true);
      assert.match(ra.detail, /slot 1 corrupt \(bad checksum\)/);
      assert.match(ra.detail, /slot 2 corrupt \(bad magic\)/);
      assert.deepEqual(a.instance.view().corrupt, [
        { slot: 1, problem: "bad checksum" },
        { slot: 2, problem: "bad magic" },
      ]);
      // n2's last good sighting still counts; nobody called "garbage" alive.
      assert.deepEqual(a.instance.view().alive, ["n1", "n2"]);
      // An intruder's well-formed slot is reported and ignored too.
      await writeSlot(path, 5, encodeSlot({ ...sample, index: 5, node: "intruder" }, SLOT));
      clock.t += 1000;
      const again = await check(a);
      assert.match(again.detail, /slot 5 holds unknown node intruder/);
      assert.equal(a.instance.view().master, "n1");
      assert.equal(again.votes, 1);
    } finally {
      await a.instance.stop();
      await b.instance.stop();
    }
  });
});

Deno.test("qdisk: two nodes configured with the same slot both notice and give no votes", async () => {
  await withDir(async (dir) => {
    const clock = { t: 0 };
    const nodes = ["n1", "n2"];
    const a = node(`${dir}/disk`, "n1", nodes, clock, { nodeId: 0 });
    const b = node(`${dir}/disk`, "n2", nodes, clock, { nodeId: 0 });
    try {
      await round(clock, [a, b]);
      const readings = await round(clock, [a, b]);
      for (const r of readings) {
        assert.deepEqual([r.healthy, r.votes], [false, 0]);
        assert.match(r.detail, /slot 0 is also written by n[12]: check nodeId/);
      }
      assert.equal(a.instance.view().isMaster, false);
    } finally {
      await a.instance.stop();
      await b.instance.stop();
    }
  });
});

Deno.test("qdisk: an unusable disk is unhealthy, without votes, and does not throw", async () => {
  await withDir(async (dir) => {
    const clock = { t: 0 };
    const a = node(dir, "n1", ["n1"], clock); // a directory, not a disk
    try {
      const r = await round(clock, [a]);
      assert.deepEqual([r[0].healthy, r[0].votes, r[0].score], [false, 0, 0]);
      assert.match(r[0].detail, /cannot use the disk/);
    } finally {
      await a.instance.stop();
    }
  });
});

Deno.test("qdisk: a restarted node continues its write counter", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/disk`;
    const clock = { t: 0 };
    const first = node(path, "n1", ["n1", "n2"], clock);
    await round(clock, [first]);
    await round(clock, [first]);
    const before = decodeSlot(await readSlot(path, 0), 0);
    assert.equal(before.kind === "valid" && before.slot.counter, 2);
    // Crash: no stop. The new incarnation goes on from the counter on disk.
    const second = node(path, "n1", ["n1", "n2"], clock);
    try {
      await round(clock, [second]);
      const after = decodeSlot(await readSlot(path, 0), 0);
      assert.equal(after.kind === "valid" && after.slot.counter, 3);
    } finally {
      await second.instance.stop();
    }
  });
});

Deno.test("qdisk: two OS processes share one file, see each other and agree on the master", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/disk`;
    const deno = new URL("../../node_modules/.bin/deno", import.meta.url).pathname;
    const worker = new URL("./qdisk_worker.ts", import.meta.url).pathname;
    const start = Date.now() + 2000; // time for both runtimes to boot, even on a busy machine
    const end = start + 2000;
    const spawn = (name: string) =>
      new Deno.Command(deno, {
        args: ["run", "-A", "--quiet", worker, path, name, "n1,n2", `${start}`, `${end}`, "100"],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    const children = [spawn("n1"), spawn("n2")];
    try {
      const outputs = await Promise.all(children.map((c) => c.output()));
      const reports = outputs.map((o) => {
        const err = new TextDecoder().decode(o.stderr);
        assert.ok(o.success, `worker failed: ${err}`);
        return JSON.parse(new TextDecoder().decode(o.stdout)) as WorkerReport;
      });
      const all = JSON.stringify(reports);
      for (const r of reports) {
        assert.ok(r.checks >= 8, `${r.node} did only ${r.checks} checks: ${all}`);
        assert.equal(r.unhealthy, 0, `${r.node} had unhealthy checks: ${all}`);
        assert.deepEqual(r.everAlive, ["n1", "n2"], all);
        assert.deepEqual(r.alive, ["n1", "n2"], `${r.node} at the end: ${all}`);
      }
      assert.ok(reports[0].master !== null);
      assert.equal(reports[0].master, reports[1].master, `not the same master: ${all}`);
      // Partitioned from each other: exactly the master's process holds the vote.
      const voters = reports.filter((r) => r.votes > 0).map((r) => r.node);
      assert.deepEqual(voters, [reports[0].master], all);
    } finally {
      for (const c of children) {
        try {
          c.kill("SIGKILL");
        } catch {
          // already exited
        }
      }
    }
  });
});
