/**
 * The contract suite every quorum device must pass, built-in or third-party. It runs
 * inside the compiled binary (`vigil plugin test`) and under `deno test`
 * (`tests/plugins/quorum_device_contract.ts` registers each check).
 *
 * @example
 * ```ts
 * const checks = quorumDeviceContract(Qdisk, (dir) => ({ path: `${dir}/qdisk` }));
 * const results = await runChecks(checks);
 * ```
 * @module
 */

import assert from "node:assert/strict";
import {
  type QuorumDeviceContext,
  type QuorumDeviceDefinition,
  type QuorumDeviceInstance,
  quorumDeviceReadingSchema,
  runQuorumDeviceCheck,
  validateQuorumDevice,
} from "../quorum_device.ts";
import { type ContractCheck, settleWithin } from "./contract_check.ts";
import { assertRejectsInvalid, assertSampleParses, parseSample } from "./params_checks.ts";
import { withTempDir } from "./temp_dir.ts";

/** Options of {@link quorumDeviceContract}. */
export interface QuorumDeviceContractOptions {
  /** Parameter values the schema must reject, besides values no object schema accepts. */
  invalidParams?: unknown[];
  /** When set, the sample parameters must give a reading with this `healthy`. */
  expectHealthy?: boolean;
  /** This node (default `n1`). */
  node?: string;
  /** The configured nodes (default `n1`, `n2`). */
  nodes?: readonly string[];
  /** The membership the device sees (default: this node alone). */
  membership?: readonly string[] | null;
}

/** How long a check given an aborted signal may take to settle. */
const ABORT_SETTLE_MS = 1000;
/** Most log lines kept per check. */
const MAX_LOG_LINES = 1000;
/** Slack on top of the device's own timeouts before a whole check counts as hung. */
const CHECK_SLACK_MS = 5_000;

/** A context with a fake clock that advances one interval per reading. */
function contractContext(
  def: QuorumDeviceDefinition<unknown>,
  options: QuorumDeviceContractOptions,
  lines: string[],
): QuorumDeviceContext {
  let clock = 1_000_000;
  const node = options.node ?? "n1";
  const membership = options.membership === undefined ? [node] : options.membership;
  return {
    node,
    nodes: options.nodes ?? ["n1", "n2"],
    membership: () => membership,
    now: () => (clock += def.intervalMs),
    log: (line) => {
      if (lines.length < MAX_LOG_LINES) lines.push(line);
    },
  };
}

/**
 * The checks that `def` honours the quorum-device contract: it validates with its timeout
 * within its interval; its schema rejects invalid params, parses the sample idempotently,
 * describes every field and fills defaults; `votes` is a non-negative integer; a check
 * returns a valid reading within `timeoutMs`; abort is honoured; stop is idempotent.
 *
 * @param def the device definition under test
 * @param makeParams valid parameters, given a fresh temporary directory
 * @param options context and expectations
 * @returns the checks, to run with `runChecks` or register as tests
 */
export function quorumDeviceContract(
  def: QuorumDeviceDefinition<unknown>,
  makeParams: (tmpDir: string) => Record<string, unknown>,
  options: QuorumDeviceContractOptions = {},
): ContractCheck[] {
  const prefix = `vgl-qdev-${def.name}-`;
  const slow = def.timeoutMs * 3 + CHECK_SLACK_MS;

  /** Runs `body` with a fresh instance over the sample params, cleaning up after it. */
  function withInstance(
    body: (instance: QuorumDeviceInstance, lines: string[]) => Promise<void>,
  ): Promise<void> {
    return withTempDir(prefix, async (dir) => {
      const lines: string[] = [];
      let instance: QuorumDeviceInstance | undefined;
      try {
        instance = def.create(
          parseSample(def.params, makeParams(dir)),
          contractContext(def, options, lines),
        );
        await body(instance, lines);
      } finally {
        await instance?.stop().catch(() => {});
      }
    });
  }

  return [
    {
      name: "definition validates, timeouts within the interval",
      run() {
        const checked = validateQuorumDevice(def, `${def.name} (contract)`);
        assert.equal(checked.name, def.name);
        assert.ok(def.intervalMs > 0 && def.timeoutMs > 0);
        assert.ok(
          def.timeoutMs <= def.intervalMs,
          `timeoutMs ${def.timeoutMs} > ${def.intervalMs}`,
        );
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
          const parsed = assertSampleParses(def.params, makeParams(dir), {
            requireDescriptions: true,
          });
          const votes = def.votes(parsed);
          assert.ok(Number.isInteger(votes) && votes >= 0, `votes(params) = ${votes}`);
        }),
    },
    {
      name: "check returns a valid reading within timeoutMs",
      timeoutMs: slow,
      run: () =>
        withInstance(async (instance, lines) => {
          const controller = new AbortController();
          const started = performance.now();
          const outcome = await settleWithin(instance.check(controller.signal), def.timeoutMs);
          const elapsed = Math.round(performance.now() - started);
          controller.abort();
          assert.equal(outcome.state, "resolved", `check ${outcome.state} after ${elapsed} ms`);
          if (outcome.state !== "resolved") return;
          const parsed = quorumDeviceReadingSchema.safeParse(outcome.value);
          assert.ok(parsed.success, `invalid reading ${JSON.stringify(outcome.value)}`);
          assert.ok(outcome.value.detail.length > 0, "detail is empty");
          if (options.expectHealthy !== undefined) {
            assert.equal(
              outcome.value.healthy,
              options.expectHealthy,
              `${outcome.value.detail}\n${lines.join("\n")}`,
            );
          }
          // The runner agrees with a direct call.
          const run = await runQuorumDeviceCheck(instance, def.timeoutMs);
          assert.ok(quorumDeviceReadingSchema.safeParse(run).success);
          if (options.expectHealthy !== undefined) {
            assert.equal(run.healthy, options.expectHealthy, run.detail);
          }
        }),
    },
    {
      name: "an aborted check settles promptly",
      timeoutMs: slow,
      run: () =>
        withInstance(async (instance) => {
          const pre = new AbortController();
          pre.abort(new Error("aborted before the check"));
          const before = await settleWithin(instance.check(pre.signal), ABORT_SETTLE_MS);
          assert.notEqual(before.state, "pending", "check with an aborted signal did not settle");
          if (before.state === "resolved") {
            assert.ok(quorumDeviceReadingSchema.safeParse(before.value).success);
          }

          const mid = new AbortController();
          const checking = instance.check(mid.signal);
          setTimeout(() => mid.abort(new Error("aborted during the check")), 1);
          const during = await settleWithin(checking, ABORT_SETTLE_MS);
          assert.notEqual(during.state, "pending", "check aborted midway did not settle");
        }),
    },
    {
      name: "stop is idempotent and a check after stop does not hang",
      timeoutMs: slow,
      run: () =>
        withInstance(async (instance) => {
          await runQuorumDeviceCheck(instance, def.timeoutMs);
          await instance.stop();
          await instance.stop();
          const started = performance.now();
          const after = await runQuorumDeviceCheck(instance, def.timeoutMs);
          assert.ok(performance.now() - started < def.timeoutMs + 500);
          assert.ok(quorumDeviceReadingSchema.safeParse(after).success);
          assert.equal(after.votes, 0, "a stopped device gives no votes");
        }),
    },
  ];
}
