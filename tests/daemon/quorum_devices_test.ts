import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { parseNodeConfig } from "../../core/config/node_config.ts";
import {
  type LoadedQuorumDevice,
  loadQuorumDevices,
  QuorumDeviceRunner,
  type QuorumDeviceSum,
} from "../../core/daemon/quorum_devices.ts";
import { defineQuorumDevice } from "../../plugins/quorum_device.ts";
import { PluginError } from "../../plugins/resource_agent.ts";

function config(devices: unknown[]) {
  return parseNodeConfig(
    JSON.stringify({
      node: "n1",
      nodes: [{ name: "n1", address: "127.0.0.1", port: 7401 }],
      authkeys: "/nonexistent",
      stateDir: "/nonexistent",
      quorum: { devices },
    }),
    "/etc/vigil/n1.json",
  );
}

Deno.test("quorum devices: built-ins load with parsed params; bad params name the field", async () => {
  const loaded = await loadQuorumDevices(
    config([
      { plugin: "qdisk", params: { path: "/tmp/x", intervalMs: 250, votes: 2 } },
      { plugin: "ping", params: { hosts: ["127.0.0.1"], timeoutMs: 4000 } },
    ]),
    "/etc/vigil/n1.json",
  );
  assert.equal(loaded[0].intervalMs, 250, "qdisk's own interval drives its checks");
  assert.equal(loaded[0].votes, 2);
  assert.equal(loaded[1].votes, 0);
  assert.ok(loaded[1].timeoutMs >= 4500, "a check has room for the ping's own timeout");
  await assert.rejects(
    loadQuorumDevices(config([{ plugin: "ping", params: { hosts: [] } }]), "/etc/vigil/n1.json"),
    (e: Error) =>
      e instanceof PluginError && /n1\.json: quorum\.devices\[0\]/.test(e.message) &&
      /params\.hosts/.test(e.message),
  );
});

Deno.test("quorum devices: a third-party plugin file is loaded relative to the config", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vgl-qd-"));
  try {
    const plugin = join(dir, "always.ts");
    writeFileSync(
      plugin,
      `export default {
  kind: "quorum-device", name: "always", version: "1", description: "always one vote",
  params: { safeParse: (v) => ({ success: true, data: v ?? {} }) },
  votes: () => 1, intervalMs: 100, timeoutMs: 50,
  create: () => ({
    check: async () => ({ votes: 1, score: 0, healthy: true, detail: "yes" }),
    stop: async () => {},
  }),
};\n`,
    );
    const file = join(dir, "n1.json");
    const loaded = await loadQuorumDevices(config([{ plugin: "./always.ts" }]), file);
    assert.equal(loaded[0].definition.name, "always");
    assert.equal(loaded[0].votes, 1);
    writeFileSync(join(dir, "broken.ts"), `export default { kind: "quorum-device" };\n`);
    await assert.rejects(
      loadQuorumDevices(config([{ plugin: "./broken.ts" }]), file),
      (e: Error) => e instanceof PluginError && /broken\.ts/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("quorum devices: the runner sums readings, caps votes, reports changes only", async () => {
  let votes = 5;
  const fake = defineQuorumDevice({
    kind: "quorum-device",
    name: "fake",
    version: "1",
    description: "test",
    params: z.object({}),
    votes: () => 1,
    intervalMs: 20,
    timeoutMs: 20,
    create: () => ({
      check: () => Promise.resolve({ votes, score: 7, healthy: true, detail: "fine" }),
      stop: () => Promise.resolve(),
    }),
  });
  const device: LoadedQuorumDevice = {
    plugin: "fake",
    definition: fake as never,
    params: {},
    intervalMs: 20,
    timeoutMs: 20,
    votes: 1,
  };
  const changes: QuorumDeviceSum[] = [];
  const runner = new QuorumDeviceRunner([device, device], {
    node: "n1",
    nodes: ["n1"],
    membership: () => ["n1"],
    generation: () => 4,
    onChange: (sum) => changes.push(sum),
    log: () => {},
    now: () => performance.now(),
  });
  assert.equal(runner.expectedVotes, 2);
  runner.start();
  await new Promise((r) => setTimeout(r, 80));
  votes = 0;
  await new Promise((r) => setTimeout(r, 80));
  await runner.stop();
  // Two devices, each capped at its one configured vote; then both give none.
  assert.deepEqual(changes.at(0), { votes: 1, score: 7, generation: null }, "one not read yet");
  assert.ok(changes.some((c) => c.votes === 2 && c.score === 14 && c.generation === 4));
  assert.deepEqual(changes.at(-1), { votes: 0, score: 14, generation: 4 });
  for (let i = 1; i < changes.length; i++) {
    assert.notDeepEqual(changes[i], changes[i - 1], "only changes are reported");
  }
  assert.equal(runner.status()[0].reading?.detail, "fine");
});

Deno.test("quorum devices: recheck reads again at once under the new membership", async () => {
  let generation = 1;
  let checks = 0;
  const slow = defineQuorumDevice({
    kind: "quorum-device",
    name: "slow",
    version: "1",
    description: "test",
    params: z.object({}),
    votes: () => 1,
    intervalMs: 60_000,
    timeoutMs: 100,
    create: () => ({
      check: () => {
        checks++;
        return Promise.resolve({ votes: 1, score: 0, healthy: true, detail: "ok" });
      },
      stop: () => Promise.resolve(),
    }),
  });
  const changes: QuorumDeviceSum[] = [];
  const runner = new QuorumDeviceRunner([{
    plugin: "slow",
    definition: slow as never,
    params: {},
    intervalMs: 60_000,
    timeoutMs: 100,
    votes: 1,
  }], {
    node: "n1",
    nodes: ["n1", "n2"],
    membership: () => ["n1"],
    generation: () => generation,
    onChange: (sum) => changes.push(sum),
    log: () => {},
    now: () => performance.now(),
  });
  runner.start();
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(changes, [{ votes: 1, score: 0, generation: 1 }]);
  generation = 2;
  runner.recheck();
  await new Promise((r) => setTimeout(r, 20));
  await runner.stop();
  assert.equal(checks, 2, "read again without waiting the 60 s interval");
  assert.deepEqual(changes.at(-1), { votes: 1, score: 0, generation: 2 });
});
