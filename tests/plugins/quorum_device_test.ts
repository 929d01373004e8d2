import assert from "node:assert/strict";
import { z } from "zod";
import { builtinQuorumDevices, findQuorumDevice } from "../../plugins/builtin_quorum_devices.ts";
import {
  defineQuorumDevice,
  MAX_DETAIL_CHARS,
  parseQuorumDeviceParams,
  PluginError,
  type QuorumDeviceInstance,
  type QuorumDeviceReading,
  runQuorumDeviceCheck,
  validateQuorumDevice,
} from "../../plugins/quorum_device.ts";
import {
  type QuorumDeviceContractOptions,
  runQuorumDeviceContract,
} from "./quorum_device_contract.ts";

/** Sample parameters and expectations for every built-in device. */
const samples: Record<
  string,
  { params: (tmpDir: string) => Record<string, unknown>; options: QuorumDeviceContractOptions }
> = {
  ping: {
    params: () => ({ hosts: ["127.0.0.1"], timeoutMs: 500 }),
    options: {
      expectHealthy: true,
      invalidParams: [{}, { hosts: [] }, { hosts: ["-f"] }, { hosts: ["h"], multiplier: -1 }],
    },
  },
  qdisk: {
    params: (tmpDir) => ({ path: `${tmpDir}/qdisk` }),
    options: {
      expectHealthy: true,
      invalidParams: [{}, { path: "" }, { path: "/x", slotBytes: 100 }, { path: "/x", tko: 0 }],
    },
  },
};

for (const def of builtinQuorumDevices) {
  const sample = samples[def.name];
  if (sample) runQuorumDeviceContract(def, sample.params, sample.options);
}

Deno.test("every built-in quorum device has contract samples and a unique name", () => {
  const names = builtinQuorumDevices.map((def) => validateQuorumDevice(def, def.name).name);
  assert.deepEqual(names, ["ping", "qdisk"]);
  assert.equal(new Set(names).size, names.length);
  for (const name of names) assert.ok(samples[name], `no contract sample for ${name}`);
});

Deno.test("findQuorumDevice finds built-ins by exact name", () => {
  assert.equal(findQuorumDevice("qdisk")?.name, "qdisk");
  assert.equal(findQuorumDevice("ping")?.name, "ping");
  assert.equal(findQuorumDevice("Qdisk"), undefined);
  assert.equal(findQuorumDevice("nope"), undefined);
});

Deno.test("device votes: ping adds none, qdisk adds its configured votes", () => {
  const ping = findQuorumDevice("ping")!;
  const qdisk = findQuorumDevice("qdisk")!;
  assert.equal(ping.votes(ping.params.parse({ hosts: ["127.0.0.1"] })), 0);
  assert.equal(qdisk.votes(qdisk.params.parse({ path: "/x" })), 1);
  assert.equal(qdisk.votes(qdisk.params.parse({ path: "/x", votes: 3 })), 3);
});

function validDefinition(): Record<string, unknown> {
  return {
    kind: "quorum-device",
    name: "test-device_1",
    version: "1.0.0",
    description: "test",
    params: z.object({ n: z.number().default(1).describe("n") }),
    votes: () => 0,
    intervalMs: 1000,
    timeoutMs: 500,
    create: () => ({
      check: () => Promise.resolve({ votes: 0, score: 0, healthy: true, detail: "ok" }),
      stop: () => Promise.resolve(),
    }),
  };
}

/** Asserts validation of `value` fails with a message naming the file and `field`. */
function assertRejects(value: unknown, field: string, message?: RegExp): void {
  assert.throws(
    () => validateQuorumDevice(value, "plugins/x.ts"),
    (err: unknown) => {
      assert.ok(err instanceof PluginError, `not a PluginError: ${err}`);
      assert.equal(err.source, "plugins/x.ts");
      assert.ok(
        err.message.split("\n").some((line) => line.startsWith(`plugins/x.ts: ${field}: `)),
        `message does not name ${field}: ${err.message}`,
      );
      if (message) assert.match(err.message, message);
      return true;
    },
  );
}

Deno.test("validateQuorumDevice accepts a valid definition and keeps its parts", () => {
  const def = validDefinition();
  const checked = validateQuorumDevice(def, "plugins/x.ts");
  assert.equal(checked.name, "test-device_1");
  assert.equal(checked.params, def.params);
  assert.equal(checked.create, def.create);
});

Deno.test("validateQuorumDevice: non-function create and votes name their fields", () => {
  const def = validDefinition();
  def.create = "create.sh";
  def.votes = 1;
  assertRejects(def, "create", /plugins\/x\.ts: create: expected a function/);
  assertRejects(def, "votes", /plugins\/x\.ts: votes: expected a function/);
});

Deno.test("validateQuorumDevice: params that are not a zod schema name params", () => {
  const def = validDefinition();
  def.params = { path: "string" };
  assertRejects(def, "params", /expected a zod schema/);
});

Deno.test("validateQuorumDevice: wrong kind, bad name, missing version name the field", () => {
  const kind = validDefinition();
  kind.kind = "resource-agent";
  assertRejects(kind, "kind");
  for (const name of ["", "1x", "has space", "a.b"]) {
    const def = validDefinition();
    def.name = name;
    assertRejects(def, "name", /letters, digits/);
  }
  const version = validDefinition();
  delete version.version;
  assertRejects(version, "version");
});

Deno.test("validateQuorumDevice: bad intervals name intervalMs / timeoutMs", () => {
  for (const bad of [0, -5, 1.5, "1s", Infinity]) {
    const def = validDefinition();
    def.intervalMs = bad;
    assertRejects(def, "intervalMs");
  }
  const slow = validDefinition();
  slow.timeoutMs = 2000;
  assertRejects(slow, "timeoutMs", /exceeds intervalMs 1000/);
});

Deno.test("validateQuorumDevice: a non-object names the definition; all problems listed", () => {
  for (const bad of [undefined, null, 7, "device"]) assertRejects(bad, "(definition)");
  const def = validDefinition();
  def.name = "";
  def.create = null;
  assert.throws(() => validateQuorumDevice(def, "d.ts"), (err: Error) => {
    const lines = err.message.split("\n");
    assert.equal(lines.length, 2);
    assert.ok(lines.every((line) => line.startsWith("d.ts: ")));
    return true;
  });
});

Deno.test("parseQuorumDeviceParams names the source and params.field", () => {
  const qdisk = findQuorumDevice("qdisk")!;
  assert.throws(
    () => parseQuorumDeviceParams(qdisk, { path: "/x", tko: "ten" }, "n1.json: quorumDevices[0]"),
    (err: unknown) => {
      assert.ok(err instanceof PluginError);
      assert.match(err.message, /^n1\.json: quorumDevices\[0\]: params\.tko: /m);
      return true;
    },
  );
  const parsed = parseQuorumDeviceParams(qdisk, { path: "/x" }, "n1.json") as { tko: number };
  assert.equal(parsed.tko, 10);
});

Deno.test("defineQuorumDevice types votes and create from the schema", () => {
  const def = defineQuorumDevice({
    kind: "quorum-device",
    name: "typed",
    version: "0.1.0",
    description: "typed",
    params: z.object({ weight: z.number().default(2).describe("weight") }),
    // Compile-time check: params.weight is a number.
    votes: (params) => params.weight,
    intervalMs: 10,
    timeoutMs: 10,
    create: (params) => ({
      check: () =>
        Promise.resolve({ votes: 0, score: params.weight * 10, healthy: true, detail: "typed" }),
      stop: () => Promise.resolve(),
    }),
  });
  assert.equal(def.votes(def.params.parse({})), 2);
  assert.equal(validateQuorumDevice(def, "typed.ts").create, def.create);
});

/** An instance whose check does what `check` says. */
function instanceOf(check: (signal: AbortSignal) => Promise<QuorumDeviceReading>) {
  const instance: QuorumDeviceInstance = { check, stop: () => Promise.resolve() };
  return instance;
}

Deno.test("runQuorumDeviceCheck returns a good reading as it is", async () => {
  const reading = { votes: 1, score: 5, healthy: true, detail: "fine" };
  assert.deepEqual(
    await runQuorumDeviceCheck(instanceOf(() => Promise.resolve(reading)), 100),
    reading,
  );
});

Deno.test("runQuorumDeviceCheck: a hanging check is cut off at timeoutMs and its signal aborted", async () => {
  let seen: AbortSignal | undefined;
  let release: (() => void) | undefined;
  const hanging = instanceOf((signal) => {
    seen = signal;
    return new Promise((_, reject) => {
      release = () => reject(signal.reason);
      signal.addEventListener("abort", release, { once: true });
    });
  });
  const started = performance.now();
  const reading = await runQuorumDeviceCheck(hanging, 50);
  const elapsed = performance.now() - started;
  assert.equal(reading.healthy, false);
  assert.equal(reading.votes, 0);
  assert.equal(reading.score, 0);
  assert.match(reading.detail, /timed out after 50 ms/);
  assert.ok(elapsed >= 45 && elapsed < 1000, `took ${elapsed} ms`);
  assert.equal(seen?.aborted, true);
  assert.ok(release);
});

Deno.test("runQuorumDeviceCheck: throws (sync or async) become unhealthy readings", async () => {
  const asyncThrow = await runQuorumDeviceCheck(
    instanceOf(() => Promise.reject(new Error("disk gone"))),
    100,
  );
  assert.deepEqual(asyncThrow, {
    votes: 0,
    score: 0,
    healthy: false,
    detail: "check failed: disk gone",
  });
  const syncThrow = await runQuorumDeviceCheck(
    instanceOf(() => {
      throw new Error("boom");
    }),
    100,
  );
  assert.equal(syncThrow.healthy, false);
  assert.equal(syncThrow.detail, "check failed: boom");
});

Deno.test("runQuorumDeviceCheck: an invalid reading becomes unhealthy, naming the field", async () => {
  const bad = await runQuorumDeviceCheck(
    instanceOf(() =>
      Promise.resolve({ votes: -1, score: 0, healthy: true, detail: "x" } as QuorumDeviceReading)
    ),
    100,
  );
  assert.equal(bad.healthy, false);
  assert.match(bad.detail, /invalid reading \(votes: /);
  const nan = await runQuorumDeviceCheck(
    instanceOf(() => Promise.resolve({ votes: 0, score: NaN, healthy: true, detail: "x" })),
    100,
  );
  assert.match(nan.detail, /score: /);
});

Deno.test("runQuorumDeviceCheck bounds the detail and rejects a non-positive timeout", async () => {
  const long = await runQuorumDeviceCheck(
    instanceOf(() =>
      Promise.resolve({ votes: 0, score: 1, healthy: true, detail: "x".repeat(10_000) })
    ),
    100,
  );
  assert.equal(long.detail.length, MAX_DETAIL_CHARS);
  assert.equal(long.healthy, true);
  let called = false;
  const zero = await runQuorumDeviceCheck(
    instanceOf(() => {
      called = true;
      return Promise.resolve({ votes: 1, score: 1, healthy: true, detail: "x" });
    }),
    0,
  );
  assert.equal(zero.healthy, false);
  assert.equal(called, false);
});
