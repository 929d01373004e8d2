/**
 * The contract suites themselves: the runner, and that each suite fails a plugin that
 * breaks its contract (a suite that passes everything would prove nothing).
 */

import assert from "node:assert/strict";
import { z } from "zod";
import { type CheckResult, runChecks } from "../../plugins/contracts/contract_check.ts";
import { fenceDriverContract } from "../../plugins/contracts/fence_driver_contract.ts";
import { pluginContract } from "../../plugins/contracts/plugin_contract.ts";
import { quorumDeviceContract } from "../../plugins/contracts/quorum_device_contract.ts";
import { resourceAgentContract } from "../../plugins/contracts/resource_agent_contract.ts";
import { defineFenceDriver, type FenceDriverDefinition } from "../../plugins/fence_driver.ts";
import {
  defineQuorumDevice,
  type QuorumDeviceDefinition,
  type QuorumDeviceReading,
} from "../../plugins/quorum_device.ts";
import {
  defineResourceAgent,
  OCF,
  type ResourceAgentDefinition,
} from "../../plugins/resource_agent.ts";

/** Knobs that break an in-memory resource agent in one way each. */
interface AgentFaults {
  monitorAlwaysOk?: boolean;
  startTwiceFails?: boolean;
  monitorHangs?: boolean;
  validateFails?: boolean;
  startThrows?: boolean;
}

/** An in-memory agent (running resources in a Set), broken as `faults` say. */
function memoryAgent(faults: AgentFaults = {}): ResourceAgentDefinition {
  const running = new Set<string>();
  return defineResourceAgent({
    kind: "resource-agent",
    name: "Memory",
    version: "1",
    description: "in memory",
    params: z.object({ key: z.string().min(1).describe("which resource") }),
    actions: {
      start(ctx) {
        if (faults.startThrows) throw new Error("start exploded");
        if (faults.startTwiceFails && running.has(ctx.params.key)) {
          return Promise.resolve(OCF.ERR_GENERIC);
        }
        running.add(ctx.params.key);
        return Promise.resolve(OCF.OK);
      },
      stop(ctx) {
        running.delete(ctx.params.key);
        return Promise.resolve(OCF.OK);
      },
      monitor(ctx) {
        if (faults.monitorHangs && !ctx.signal.aborted) return new Promise(() => {});
        if (faults.monitorAlwaysOk) return Promise.resolve(OCF.OK);
        return Promise.resolve(running.has(ctx.params.key) ? OCF.OK : OCF.NOT_RUNNING);
      },
      validate: () => Promise.resolve(faults.validateFails ? OCF.ERR_CONFIGURED : OCF.OK),
    },
    timeouts: { start: 200, stop: 200, monitor: 200 },
  });
}

/** Runs the checks and returns the results by name. */
async function results(checks: Parameters<typeof runChecks>[0]): Promise<Map<string, CheckResult>> {
  return new Map((await runChecks(checks)).map((r) => [r.name, r]));
}

const LIFECYCLE = "lifecycle is idempotent and monitor reports state";

Deno.test("runChecks: runs in order, reports passes, failures and hung checks", async () => {
  const seen: string[] = [];
  const out = await runChecks([
    { name: "passes", run: () => {} },
    { name: "fails", run: () => assert.fail("one is not two") },
    { name: "rejects", run: () => Promise.reject(new Error("async no")) },
    { name: "hangs", run: () => new Promise(() => {}), timeoutMs: 30 },
    { name: "throws a string", run: () => Promise.reject("plain") },
  ], (r) => seen.push(r.name));
  assert.deepEqual(seen, ["passes", "fails", "rejects", "hangs", "throws a string"]);
  assert.deepEqual(out.map((r) => [r.name, r.ok, r.error]), [
    ["passes", true, undefined],
    ["fails", false, "one is not two"],
    ["rejects", false, "async no"],
    ["hangs", false, "timed out after 30 ms"],
    ["throws a string", false, "plain"],
  ]);
  assert.ok(out.every((r) => r.durationMs >= 0));
});

Deno.test("resource-agent suite: a correct agent passes every check", async () => {
  const out = await runChecks(resourceAgentContract(memoryAgent(), () => ({ key: "a" }), {
    invalidParams: [{}, { key: "" }],
  }));
  assert.deepEqual(out.filter((r) => !r.ok), []);
  assert.ok(out.some((r) => r.name === LIFECYCLE));
  assert.ok(out.some((r) => r.name === "validate returns OK for valid params"));
});

Deno.test("resource-agent suite: each broken agent fails the check that covers it", async () => {
  const monitorOk = await results(resourceAgentContract(
    memoryAgent({ monitorAlwaysOk: true }),
    () => ({ key: "a" }),
  ));
  assert.equal(monitorOk.get(LIFECYCLE)?.ok, false);
  assert.match(
    monitorOk.get(LIFECYCLE)!.error!,
    /step "monitor before start = NOT_RUNNING": monitor returned 0 \(OK\), expected 7 \(NOT_RUNNING\)/,
  );

  const notIdempotent = await results(resourceAgentContract(
    memoryAgent({ startTwiceFails: true }),
    () => ({ key: "a" }),
  ));
  assert.match(notIdempotent.get(LIFECYCLE)!.error!, /step "start again = OK \(idempotent\)"/);

  const hangs = await results(resourceAgentContract(
    memoryAgent({ monitorHangs: true }),
    () => ({ key: "a" }),
  ));
  assert.match(hangs.get(LIFECYCLE)!.error!, /monitor did not finish within its timeout of 200 ms/);

  const invalid = await results(resourceAgentContract(
    memoryAgent({ validateFails: true }),
    () => ({ key: "a" }),
  ));
  assert.match(
    invalid.get("validate returns OK for valid params")!.error!,
    /validate returned 6 \(ERR_CONFIGURED\)/,
  );

  const throws = await results(resourceAgentContract(
    memoryAgent({ startThrows: true }),
    () => ({ key: "a" }),
  ));
  assert.match(throws.get(LIFECYCLE)!.error!, /start threw: start exploded/);

  const lax = await results(resourceAgentContract(memoryAgent(), () => ({ key: "a" }), {
    invalidParams: [{ key: "fine" }],
  }));
  assert.match(
    lax.get("invalid params are rejected by the schema")!.error!,
    /accepted \{"key":"fine"\}/,
  );

  const badSample = await results(resourceAgentContract(memoryAgent(), () => ({ key: 1 })));
  assert.match(
    badSample.get("valid params are accepted by the schema")!.error!,
    /sample params rejected: key: /,
  );
});

/** A device whose reading is `reading`, with a schema that may lack descriptions. */
function device(
  reading: () => Promise<QuorumDeviceReading>,
  described = true,
): QuorumDeviceDefinition<unknown> {
  const field = z.number().default(1);
  return defineQuorumDevice<unknown>({
    kind: "quorum-device",
    name: "dev",
    version: "1",
    description: "d",
    params: z.object({ n: described ? field.describe("n") : field }),
    votes: () => 0,
    intervalMs: 200,
    timeoutMs: 100,
    create: () => ({ check: reading, stop: () => Promise.resolve() }),
  });
}

Deno.test("quorum-device suite: passes a good device, fails bad readings and bare params", async () => {
  const good = await runChecks(quorumDeviceContract(
    device(() => Promise.resolve({ votes: 0, score: 1, healthy: true, detail: "fine" })),
    () => ({}),
  ));
  assert.deepEqual(good.filter((r) => !r.ok), []);

  const invalid = await results(quorumDeviceContract(
    device(() => Promise.resolve({ votes: -1, score: 0, healthy: true, detail: "x" })),
    () => ({}),
  ));
  assert.match(
    invalid.get("check returns a valid reading within timeoutMs")!.error!,
    /invalid reading/,
  );

  const bare = await results(quorumDeviceContract(
    device(() => Promise.resolve({ votes: 0, score: 0, healthy: true, detail: "x" }), false),
    () => ({}),
  ));
  assert.match(
    bare.get("sample params parse, idempotently, with defaults filled")!.error!,
    /params\.n has no \.describe\(\) text/,
  );
});

/** A fence driver that reports success but whose status never changes from `on`. */
function liar(): FenceDriverDefinition<unknown> {
  return defineFenceDriver<unknown>({
    kind: "fence-driver",
    name: "liar",
    version: "1",
    description: "says it fenced",
    params: z.object({ n: z.number().default(1).describe("n") }),
    actions: {
      fence: () => Promise.resolve({ ok: true, detail: "sure" }),
      status: () => Promise.resolve({ power: "on", detail: "still on" }),
    },
    timeouts: { fence: 100, status: 100 },
  });
}

Deno.test("fence-driver suite: a driver whose status contradicts off fails that check", async () => {
  const out = await results(fenceDriverContract(liar(), () => ({}), { target: "n7" }));
  assert.match(
    out.get("off succeeds and status then says off (or unknown)")!.error!,
    /after off n7, status says on: still on/,
  );
  assert.equal(out.get("on succeeds and status then says on (or unknown)")?.ok, true);
  assert.equal(out.has("list answers node names within its timeout"), false);
});

Deno.test("pluginContract dispatches on kind", () => {
  const names = (checks: { name: string }[]) => checks.map((c) => c.name);
  assert.ok(names(pluginContract(memoryAgent(), () => ({ key: "a" }))).includes(LIFECYCLE));
  assert.ok(
    names(pluginContract(liar(), () => ({}))).includes(
      "off succeeds and status then says off (or unknown)",
    ),
  );
  assert.ok(
    names(pluginContract(
      device(() => Promise.resolve({ votes: 0, score: 0, healthy: true, detail: "x" })),
      () => ({}),
    )).includes("stop is idempotent and a check after stop does not hang"),
  );
});
