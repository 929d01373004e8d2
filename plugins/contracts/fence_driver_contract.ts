/**
 * The contract suite every fence driver must pass, built-in or third-party. It runs inside
 * the compiled binary (`vigil plugin test`) and under `deno test`
 * (`tests/plugins/fence_driver_contract.ts` registers each check).
 *
 * The suite really fences its target (`contract-node` unless told otherwise): run it
 * against a simulator or a lab device, never a production one.
 *
 * @example
 * ```ts
 * const checks = fenceDriverContract(TestFence, (dir) => ({ stateFile: `${dir}/fence.json` }));
 * const results = await runChecks(checks);
 * ```
 * @module
 */

import assert from "node:assert/strict";
import {
  type FenceAction,
  type FenceDriverDefinition,
  fenceListSchema,
  fenceResultSchema,
  type FenceStatus,
  fenceStatusSchema,
  validateFenceDriver,
} from "../fence_driver.ts";
import { type ContractCheck, settleWithin } from "./contract_check.ts";
import { assertRejectsInvalid, assertSampleParses, parseSample } from "./params_checks.ts";
import { withTempDir } from "./temp_dir.ts";

/** Options of {@link fenceDriverContract}. */
export interface FenceDriverContractOptions {
  /** Parameter values the schema must reject, besides values no object schema accepts. */
  invalidParams?: unknown[];
  /** The node fenced by the suite (default `contract-node`). */
  target?: string;
}

/** How long a call given an aborted signal may take to settle. */
const ABORT_SETTLE_MS = 1000;
/** Slack on top of the driver's own timeouts before a whole check counts as hung. */
const CHECK_SLACK_MS = 5_000;
/** Most log lines kept per check. */
const MAX_LOG_LINES = 200;

/**
 * The checks that `def` honours the fence-driver contract: it validates with positive
 * timeouts; its schema rejects invalid params, parses the sample idempotently, describes
 * every field and fills defaults; `status` answers validly in time; `off`, `on` and
 * `reboot` each succeed in time and `status` agrees afterwards (or says `unknown`); `list`
 * (when present) answers a list of names; a fence whose signal is already aborted settles.
 *
 * @param def the driver definition under test
 * @param makeParams valid parameters, given a fresh temporary directory
 * @param options the target and extra invalid params
 * @returns the checks, to run with `runChecks` or register as tests
 */
export function fenceDriverContract(
  def: FenceDriverDefinition<unknown>,
  makeParams: (tmpDir: string) => Record<string, unknown>,
  options: FenceDriverContractOptions = {},
): ContractCheck[] {
  const prefix = `vgl-fence-${def.name}-`;
  const target = options.target ?? "contract-node";

  /** The parts of every call's context besides the target and action. */
  function base(params: unknown, signal: AbortSignal, timeoutMs: number, lines: string[]) {
    return {
      params,
      signal,
      timeoutMs,
      log: (line: string) => {
        if (lines.length < MAX_LOG_LINES) lines.push(line);
      },
    };
  }

  function logOf(lines: string[]): string {
    return lines.length > 0 ? `; log:\n${lines.join("\n")}` : "";
  }

  /** Calls `status` bounded by its timeout and asserts a valid answer. */
  async function status(params: unknown, lines: string[]): Promise<FenceStatus> {
    const controller = new AbortController();
    const ctx = { ...base(params, controller.signal, def.timeouts.status, lines), target };
    const outcome = await settleWithin(
      Promise.resolve().then(() => def.actions.status(ctx)),
      def.timeouts.status,
    );
    controller.abort();
    assert.notEqual(
      outcome.state,
      "pending",
      `status ${target} did not answer within ${def.timeouts.status} ms${logOf(lines)}`,
    );
    if (outcome.state === "rejected") {
      assert.fail(`status ${target} threw: ${String(outcome.error)}${logOf(lines)}`);
    }
    const value = (outcome as { value: unknown }).value;
    const parsed = fenceStatusSchema.safeParse(value);
    assert.ok(parsed.success, `status ${target} returned ${JSON.stringify(value)}`);
    return parsed.data;
  }

  /** Calls `fence` bounded by its timeout and asserts it succeeded. */
  async function fence(params: unknown, action: FenceAction, lines: string[]): Promise<void> {
    const controller = new AbortController();
    const ctx = { ...base(params, controller.signal, def.timeouts.fence, lines), target, action };
    const outcome = await settleWithin(
      Promise.resolve().then(() => def.actions.fence(ctx)),
      def.timeouts.fence,
    );
    if (outcome.state === "pending") controller.abort(new Error("contract: timed out"));
    assert.notEqual(
      outcome.state,
      "pending",
      `${action} ${target} did not finish within ${def.timeouts.fence} ms${logOf(lines)}`,
    );
    if (outcome.state === "rejected") {
      assert.fail(`${action} ${target} threw: ${String(outcome.error)}${logOf(lines)}`);
    }
    const value = (outcome as { value: unknown }).value;
    const parsed = fenceResultSchema.safeParse(value);
    assert.ok(parsed.success, `${action} ${target} returned ${JSON.stringify(value)}`);
    assert.equal(parsed.data.ok, true, `${action} ${target} failed: ${parsed.data.detail}`);
  }

  /** A check that fences with `action` and then asks `status`, which must not say `not`. */
  function actionCheck(action: FenceAction, not: "on" | "off"): ContractCheck {
    const after = not === "on" ? "off" : "on";
    return {
      name: `${action} succeeds and status then says ${after} (or unknown)`,
      timeoutMs: def.timeouts.fence + 2 * def.timeouts.status + CHECK_SLACK_MS,
      run: () =>
        withTempDir(prefix, async (dir) => {
          const lines: string[] = [];
          const params = parseSample(def.params, makeParams(dir));
          await fence(params, action, lines);
          const state = await status(params, lines);
          assert.notEqual(
            state.power,
            not,
            `after ${action} ${target}, status says ${state.power}: ${state.detail}`,
          );
        }),
    };
  }

  const checks: ContractCheck[] = [
    {
      name: "definition validates, every timeout > 0",
      run() {
        const checked = validateFenceDriver(def, `${def.name} (contract)`);
        assert.equal(checked.name, def.name);
        for (const [key, value] of Object.entries(def.timeouts)) {
          if (value === undefined) continue;
          assert.ok(Number.isInteger(value) && value > 0, `timeouts.${key} is ${value}`);
        }
      },
    },
    {
      name: "invalid params are rejected by the schema",
      run: () => assertRejectsInvalid(def.params, options.invalidParams ?? []),
    },
    {
      name: "sample params parse, idempotently, with defaults filled",
      run: () =>
        withTempDir(prefix, (dir) => {
          assertSampleParses(def.params, makeParams(dir), { requireDescriptions: true });
        }),
    },
    {
      name: "status answers validly within its timeout",
      timeoutMs: def.timeouts.status + CHECK_SLACK_MS,
      run: () =>
        withTempDir(prefix, async (dir) => {
          const state = await status(parseSample(def.params, makeParams(dir)), []);
          assert.ok(state.detail.length > 0, "status detail is empty");
        }),
    },
    actionCheck("off", "on"),
    actionCheck("on", "off"),
    actionCheck("reboot", "off"),
  ];

  const list = def.actions.list;
  if (list) {
    const listTimeout = def.timeouts.list ?? def.timeouts.status;
    checks.push({
      name: "list answers node names within its timeout",
      timeoutMs: listTimeout + CHECK_SLACK_MS,
      run: () =>
        withTempDir(prefix, async (dir) => {
          const controller = new AbortController();
          const lines: string[] = [];
          const ctx = base(
            parseSample(def.params, makeParams(dir)),
            controller.signal,
            listTimeout,
            lines,
          );
          const outcome = await settleWithin(Promise.resolve().then(() => list(ctx)), listTimeout);
          controller.abort();
          assert.equal(outcome.state, "resolved", `list ${outcome.state}${logOf(lines)}`);
          const value = (outcome as { value: unknown }).value;
          assert.ok(
            fenceListSchema.safeParse(value).success,
            `list returned ${JSON.stringify(value)}`,
          );
        }),
    });
  }

  checks.push({
    name: "a fence whose signal is already aborted settles",
    timeoutMs: ABORT_SETTLE_MS + CHECK_SLACK_MS,
    run: () =>
      withTempDir(prefix, async (dir) => {
        const controller = new AbortController();
        controller.abort(new Error("contract: aborted before the fence"));
        const ctx = {
          ...base(
            parseSample(def.params, makeParams(dir)),
            controller.signal,
            def.timeouts.fence,
            [],
          ),
          target,
          action: "off" as const,
        };
        const outcome = await settleWithin(
          Promise.resolve().then(() => def.actions.fence(ctx)),
          ABORT_SETTLE_MS,
        );
        assert.notEqual(
          outcome.state,
          "pending",
          `off ${target} with an aborted signal did not settle within ${ABORT_SETTLE_MS} ms`,
        );
      }),
  });

  return checks;
}
