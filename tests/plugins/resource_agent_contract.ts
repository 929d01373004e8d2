/**
 * The shared contract suite every resource agent must pass, built-in or third-party.
 * An agent's test file calls {@link runResourceAgentContract} once.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type AgentContext,
  OCF,
  type ResourceAgentDefinition,
  validateResourceAgent,
} from "../../plugins/resource_agent.ts";

/** Options of {@link runResourceAgentContract}. */
export interface ContractOptions {
  /**
   * Parameter values the agent's schema must reject. Defaults to values no object
   * schema accepts (`null`, a number, a string); give agent-specific ones as well.
   */
  invalidParams?: unknown[];
}

const DEFAULT_INVALID_PARAMS: unknown[] = [null, 42, "not an object"];

/**
 * Registers Deno tests checking that `def` honours the resource-agent contract:
 * it validates, every timeout is > 0, its schema rejects invalid params, and the
 * lifecycle monitor / start / monitor / start / stop / monitor / stop gives
 * NOT_RUNNING, OK, OK, OK (idempotent), OK, NOT_RUNNING, OK (idempotent).
 *
 * @param def the agent definition under test
 * @param makeParams valid parameters for a resource, given a fresh temporary directory
 * @param options extra invalid parameter values to check
 */
export function runResourceAgentContract(
  def: ResourceAgentDefinition,
  makeParams: (tmpDir: string) => Record<string, unknown>,
  options: ContractOptions = {},
): void {
  const name = `contract ${def.name}`;

  Deno.test(`${name}: definition validates`, () => {
    const checked = validateResourceAgent(def, `${def.name} (contract)`);
    assert.equal(checked.name, def.name);
  });

  Deno.test(`${name}: every timeout > 0`, () => {
    for (const action of ["start", "stop", "monitor"] as const) {
      assert.ok(def.timeouts[action] > 0, `timeouts.${action} is ${def.timeouts[action]}`);
    }
  });

  Deno.test(`${name}: invalid params are rejected by the schema`, () => {
    for (const bad of [...DEFAULT_INVALID_PARAMS, ...(options.invalidParams ?? [])]) {
      assert.equal(def.params.safeParse(bad).success, false, `accepted ${JSON.stringify(bad)}`);
    }
  });

  Deno.test(`${name}: valid params are accepted by the schema`, async () => {
    const tmpDir = await Deno.makeTempDir({ prefix: `vigil-${def.name}-` });
    try {
      const result = def.params.safeParse(makeParams(tmpDir));
      assert.ok(result.success, result.success ? "" : result.error.message);
    } finally {
      await Deno.remove(tmpDir, { recursive: true });
    }
  });

  Deno.test(`${name}: lifecycle is idempotent and monitor reports state`, async (t) => {
    const tmpDir = await Deno.makeTempDir({ prefix: `vigil-${def.name}-` });
    const stateDir = `${tmpDir}/state`;
    await Deno.mkdir(stateDir);
    const lines: string[] = [];
    const controller = new AbortController();
    const ctx: AgentContext<unknown> = {
      params: def.params.parse(makeParams(tmpDir)),
      resourceId: "contract-rsc",
      node: "contract-node",
      stateDir,
      signal: controller.signal,
      log: (line) => lines.push(line),
    };
    const step = (label: string, action: "start" | "stop" | "monitor", want: number) =>
      t.step(label, async () => {
        const rc = await def.actions[action](ctx);
        assert.equal(rc, want, `${action} returned ${rc}; log:\n${lines.join("\n")}`);
      });
    try {
      await step("monitor before start = NOT_RUNNING", "monitor", OCF.NOT_RUNNING);
      await step("start = OK", "start", OCF.OK);
      await step("monitor after start = OK", "monitor", OCF.OK);
      await step("start again = OK (idempotent)", "start", OCF.OK);
      await step("monitor still OK", "monitor", OCF.OK);
      await step("stop = OK", "stop", OCF.OK);
      await step("monitor after stop = NOT_RUNNING", "monitor", OCF.NOT_RUNNING);
      await step("stop again = OK (idempotent)", "stop", OCF.OK);
    } finally {
      // Whatever failed above, leave nothing running or on disk.
      await def.actions.stop(ctx).catch(() => {});
      await Deno.remove(tmpDir, { recursive: true });
    }
  });
}
