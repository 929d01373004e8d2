/**
 * The contract suite every resource agent must pass, built-in, adapted (OCF, LSB,
 * resource.d) or third-party. It runs inside the compiled binary (`vigil plugin test`) and
 * under `deno test` (`tests/plugins/resource_agent_contract.ts` registers each check).
 *
 * The lifecycle check plays the LRM: each action gets a context whose `timeoutMs` is the
 * agent's default timeout for it and whose signal is aborted when that passes.
 *
 * @example
 * ```ts
 * const checks = resourceAgentContract(Dummy, (dir) => ({ state: `${dir}/dummy.state` }));
 * const results = await runChecks(checks);
 * ```
 * @module
 */

import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import {
  type AgentContext,
  OCF,
  type ResourceAgentDefinition,
  validateResourceAgent,
} from "../resource_agent.ts";
import { type ContractCheck, settleWithin } from "./contract_check.ts";
import { assertRejectsInvalid, assertSampleParses, parseSample } from "./params_checks.ts";
import { withTempDir } from "./temp_dir.ts";

/** Options of {@link resourceAgentContract}. */
export interface ResourceAgentContractOptions {
  /**
   * Parameter values the agent's schema must reject, besides values no object schema
   * accepts (`null`, a number, a string).
   */
  invalidParams?: unknown[];
}

/** The actions the lifecycle runs, with the timeout each gets. */
type LifecycleAction = "start" | "stop" | "monitor" | "validate";

/** `7 (NOT_RUNNING)` for an OCF code, just `42` for one outside {@link OCF}. */
function codeName(code: number): string {
  const name = Object.entries(OCF).find(([, value]) => value === code)?.[0];
  return name === undefined ? String(code) : `${code} (${name})`;
}

/** The agent's log lines, for a failure message (nothing when there are none). */
function logOf(lines: readonly string[]): string {
  return lines.length > 0 ? `; log:\n${lines.join("\n")}` : "";
}

/** Slack on top of an agent's own timeouts before a whole check counts as hung. */
const CHECK_SLACK_MS = 5_000;
/** Most log lines kept per check (quoted in failure messages). */
const MAX_LOG_LINES = 200;

/** The lifecycle: each step's label, action and the code it must return. */
const LIFECYCLE: ReadonlyArray<readonly [string, "start" | "stop" | "monitor", number]> = [
  ["monitor before start = NOT_RUNNING", "monitor", OCF.NOT_RUNNING],
  ["start = OK", "start", OCF.OK],
  ["monitor after start = OK", "monitor", OCF.OK],
  ["start again = OK (idempotent)", "start", OCF.OK],
  ["monitor still OK", "monitor", OCF.OK],
  ["stop = OK", "stop", OCF.OK],
  ["monitor after stop = NOT_RUNNING", "monitor", OCF.NOT_RUNNING],
  ["stop again = OK (idempotent)", "stop", OCF.OK],
];

/**
 * The checks that `def` honours the resource-agent contract: it validates, every timeout
 * is > 0, its schema rejects invalid params and accepts the sample, `validate` (when
 * present) accepts the sample, the lifecycle monitor / start / monitor / start / monitor /
 * stop / monitor / stop gives NOT_RUNNING, OK, OK, OK, OK, OK, NOT_RUNNING, OK, and a
 * monitor whose signal is already aborted settles.
 *
 * @param def the agent definition under test
 * @param makeParams valid parameters for a resource, given a fresh temporary directory
 * @param options extra invalid parameter values
 * @returns the checks, to run with `runChecks` or register as tests
 */
export function resourceAgentContract(
  def: ResourceAgentDefinition,
  makeParams: (tmpDir: string) => Record<string, unknown>,
  options: ResourceAgentContractOptions = {},
): ContractCheck[] {
  const prefix = `vgl-ra-${def.name}-`;

  /** A context for one action, as the LRM would build it. */
  function context(
    params: unknown,
    stateDir: string,
    action: LifecycleAction,
    signal: AbortSignal,
    lines: string[],
  ): AgentContext<unknown> {
    return {
      params,
      resourceId: "contract-rsc",
      node: "contract-node",
      stateDir,
      signal,
      timeoutMs: timeoutOf(action),
      depth: 0,
      log: (line) => {
        if (lines.length < MAX_LOG_LINES) lines.push(line);
      },
    };
  }

  function timeoutOf(action: LifecycleAction): number {
    return action === "validate" ? def.timeouts.start : def.timeouts[action];
  }

  /**
   * Runs one action bounded by its timeout (aborting its signal then) and returns its code;
   * throws an assertion error naming the step when it hangs or throws.
   */
  async function act(
    label: string,
    action: LifecycleAction,
    params: unknown,
    stateDir: string,
    lines: string[],
  ): Promise<number> {
    const run = def.actions[action];
    assert.ok(run, `${action} is not implemented`);
    const controller = new AbortController();
    const ctx = context(params, stateDir, action, controller.signal, lines);
    const outcome = await settleWithin(Promise.resolve().then(() => run(ctx)), ctx.timeoutMs);
    if (outcome.state === "pending") controller.abort(new Error("contract: timed out"));
    const log = logOf(lines);
    assert.notEqual(
      outcome.state,
      "pending",
      `step "${label}": ${action} did not finish within its timeout of ${ctx.timeoutMs} ms${log}`,
    );
    if (outcome.state === "rejected") {
      const why = outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
      assert.fail(`step "${label}": ${action} threw: ${why}${log}`);
    }
    const value = (outcome as { value: unknown }).value;
    assert.equal(
      typeof value,
      "number",
      `step "${label}": ${action} resolved with ${JSON.stringify(value)}, not an OCF code`,
    );
    return value as number;
  }

  const checks: ContractCheck[] = [
    {
      name: "definition validates",
      run() {
        const checked = validateResourceAgent(def, `${def.name} (contract)`);
        assert.equal(checked.name, def.name);
      },
    },
    {
      name: "every timeout > 0",
      run() {
        for (const action of ["start", "stop", "monitor"] as const) {
          const value = def.timeouts[action];
          assert.ok(
            Number.isInteger(value) && value > 0,
            `timeouts.${action} is ${value}, expected a positive integer`,
          );
        }
      },
    },
    {
      name: "invalid params are rejected by the schema",
      run: () => assertRejectsInvalid(def.params, options.invalidParams ?? []),
    },
    {
      name: "valid params are accepted by the schema",
      run: () => withTempDir(prefix, (dir) => void assertSampleParses(def.params, makeParams(dir))),
    },
  ];

  if (def.actions.validate) {
    checks.push({
      name: "validate returns OK for valid params",
      timeoutMs: def.timeouts.start + CHECK_SLACK_MS,
      run: () =>
        withTempDir(prefix, async (dir) => {
          const lines: string[] = [];
          const params = parseSample(def.params, makeParams(dir));
          const rc = await act("validate = OK", "validate", params, dir, lines);
          assert.equal(rc, OCF.OK, `validate returned ${codeName(rc)}${logOf(lines)}`);
        }),
    });
  }

  checks.push({
    name: "lifecycle is idempotent and monitor reports state",
    timeoutMs: LIFECYCLE.reduce((sum, [, action]) => sum + def.timeouts[action], 0) +
      def.timeouts.stop + CHECK_SLACK_MS,
    run: () =>
      withTempDir(prefix, async (dir) => {
        const stateDir = `${dir}/state`;
        await mkdir(stateDir);
        const lines: string[] = [];
        const params = parseSample(def.params, makeParams(dir));
        try {
          for (const [label, action, want] of LIFECYCLE) {
            const rc = await act(label, action, params, stateDir, lines);
            assert.equal(
              rc,
              want,
              `step "${label}": ${action} returned ${codeName(rc)}, expected ${codeName(want)}` +
                logOf(lines),
            );
          }
        } finally {
          // Whatever failed above, leave nothing running.
          await act("cleanup stop", "stop", params, stateDir, []).catch(() => {});
        }
      }),
  });

  checks.push({
    name: "a monitor whose signal is already aborted settles",
    timeoutMs: def.timeouts.monitor + CHECK_SLACK_MS,
    run: () =>
      withTempDir(prefix, async (dir) => {
        const params = parseSample(def.params, makeParams(dir));
        const controller = new AbortController();
        controller.abort(new Error("contract: aborted before the monitor"));
        const ctx = context(params, dir, "monitor", controller.signal, []);
        const outcome = await settleWithin(
          Promise.resolve().then(() => def.actions.monitor(ctx)),
          def.timeouts.monitor,
        );
        assert.notEqual(
          outcome.state,
          "pending",
          `monitor with an aborted signal did not settle within ${def.timeouts.monitor} ms`,
        );
      }),
  });

  return checks;
}
