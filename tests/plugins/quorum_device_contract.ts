/**
 * The shared contract suite every quorum device must pass, built-in or third-party.
 * A device's test file calls {@link runQuorumDeviceContract} once, the way Hono runs one
 * test suite over every router.
 *
 * @module
 */

import assert from "node:assert/strict";
import { z } from "zod";
import {
  type QuorumDeviceContext,
  type QuorumDeviceDefinition,
  type QuorumDeviceInstance,
  quorumDeviceReadingSchema,
  runQuorumDeviceCheck,
  validateQuorumDevice,
} from "../../plugins/quorum_device.ts";

/** Options of {@link runQuorumDeviceContract}. */
export interface QuorumDeviceContractOptions {
  /** Parameter values the schema must reject, besides values no object schema accepts. */
  invalidParams?: unknown[];
  /** When set, the sample parameters must give a reading with this `healthy`. */
  expectHealthy?: boolean;
  /** This node and the configured nodes (default `n1` of `n1`, `n2`). */
  node?: string;
  /** The configured nodes. */
  nodes?: readonly string[];
  /** The membership the device sees (default: this node alone). */
  membership?: readonly string[] | null;
}

const DEFAULT_INVALID_PARAMS: unknown[] = [null, 42, "not an object"];
/** How long a check given an aborted signal may take to settle. */
const ABORT_SETTLE_MS = 1000;

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
      if (lines.length < 1000) lines.push(line);
    },
  };
}

/** Resolves with how the promise settled and how long it took, or "pending" after `ms`. */
async function settleWithin<T>(
  promise: Promise<T>,
  ms: number,
): Promise<{ state: "resolved"; value: T } | { state: "rejected" } | { state: "pending" }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const pending = new Promise<{ state: "pending" }>((resolve) => {
    timer = setTimeout(() => resolve({ state: "pending" }), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        (value) => ({ state: "resolved" as const, value }),
        () => ({ state: "rejected" as const }),
      ),
      pending,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Registers Deno tests checking that `def` honours the quorum-device contract: it
 * validates; its schema rejects invalid params, parses the sample idempotently, describes
 * every field and fills defaults; `votes` is a non-negative integer; a check returns a
 * valid reading within `timeoutMs`; abort is honoured; stop is idempotent.
 *
 * @param def the device definition under test
 * @param makeParams valid parameters, given a fresh temporary directory
 * @param options context and expectations
 */
export function runQuorumDeviceContract(
  def: QuorumDeviceDefinition<unknown>,
  makeParams: (tmpDir: string) => Record<string, unknown>,
  options: QuorumDeviceContractOptions = {},
): void {
  const name = `quorum device contract ${def.name}`;

  /** Runs `body` with a fresh instance over the sample params, cleaning up after it. */
  async function withInstance(
    body: (instance: QuorumDeviceInstance, lines: string[]) => Promise<void>,
  ): Promise<void> {
    const tmpDir = await Deno.makeTempDir({ prefix: `vgl-qdev-${def.name}-` });
    const lines: string[] = [];
    let instance: QuorumDeviceInstance | undefined;
    try {
      instance = def.create(
        def.params.parse(makeParams(tmpDir)),
        contractContext(def, options, lines),
      );
      await body(instance, lines);
    } finally {
      await instance?.stop().catch(() => {});
      await Deno.remove(tmpDir, { recursive: true });
    }
  }

  Deno.test(`${name}: definition validates, timeouts within the interval`, () => {
    const checked = validateQuorumDevice(def, `${def.name} (contract)`);
    assert.equal(checked.name, def.name);
    assert.ok(def.intervalMs > 0 && def.timeoutMs > 0);
    assert.ok(def.timeoutMs <= def.intervalMs, `timeoutMs ${def.timeoutMs} > ${def.intervalMs}`);
  });

  Deno.test(`${name}: invalid params are rejected by the schema`, () => {
    for (const bad of [...DEFAULT_INVALID_PARAMS, ...(options.invalidParams ?? [])]) {
      assert.equal(def.params.safeParse(bad).success, false, `accepted ${JSON.stringify(bad)}`);
    }
  });

  Deno.test(`${name}: sample params parse, idempotently, with defaults filled`, async () => {
    const tmpDir = await Deno.makeTempDir({ prefix: `vgl-qdev-${def.name}-` });
    try {
      const sample = makeParams(tmpDir);
      const first = def.params.safeParse(sample);
      assert.ok(first.success, first.success ? "" : first.error.message);
      const again = def.params.parse(first.data);
      assert.deepEqual(again, first.data, "parsing the parsed params changes them");
      const schema = z.toJSONSchema(def.params, { io: "input", unrepresentable: "any" }) as {
        properties?: Record<string, { description?: string; default?: unknown }>;
      };
      const properties = Object.entries(schema.properties ?? {});
      assert.ok(properties.length > 0, "params should be an object schema with fields");
      for (const [field, property] of properties) {
        assert.ok(property.description, `params.${field} has no .describe()`);
        if ("default" in property && !(field in sample)) {
          assert.deepEqual(
            (first.data as Record<string, unknown>)[field],
            property.default,
            `params.${field} default not filled`,
          );
        }
      }
      const votes = def.votes(first.data);
      assert.ok(Number.isInteger(votes) && votes >= 0, `votes(params) = ${votes}`);
    } finally {
      await Deno.remove(tmpDir, { recursive: true });
    }
  });

  Deno.test(`${name}: check returns a valid reading within timeoutMs`, async () => {
    await withInstance(async (instance, lines) => {
      const controller = new AbortController();
      const started = performance.now();
      const outcome = await settleWithin(instance.check(controller.signal), def.timeoutMs);
      const elapsed = performance.now() - started;
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
      if (options.expectHealthy !== undefined) assert.equal(run.healthy, options.expectHealthy);
    });
  });

  Deno.test(`${name}: an aborted check settles promptly`, async () => {
    await withInstance(async (instance) => {
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
    });
  });

  Deno.test(`${name}: stop is idempotent and a check after stop does not hang`, async () => {
    await withInstance(async (instance) => {
      await runQuorumDeviceCheck(instance, def.timeoutMs);
      await instance.stop();
      await instance.stop();
      const started = performance.now();
      const after = await runQuorumDeviceCheck(instance, def.timeoutMs);
      assert.ok(performance.now() - started < def.timeoutMs + 500);
      assert.ok(quorumDeviceReadingSchema.safeParse(after).success);
      assert.equal(after.votes, 0, "a stopped device gives no votes");
    });
  });
}
