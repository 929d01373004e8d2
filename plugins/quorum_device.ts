/**
 * The quorum-device plugin contract.
 *
 * A quorum device is a TypeScript module whose default export is a
 * {@link QuorumDeviceDefinition}. It is something outside the cluster's membership
 * that helps decide which partition may run resources:
 *
 * - a **ping node** (Heartbeat's `ping`/`ping_group` with ipfail, Pacemaker's pingd) gives
 *   no votes but a placement score: nodes that can reach more of the outside world are
 *   preferred;
 * - a **qdisk** (RHCS qdiskd) is a shared disk that at most one partition holds at a time,
 *   and gives that partition its votes (see `core/quorum/quorum.ts`).
 *
 * The node daemon creates one instance per configured device, calls
 * {@link runQuorumDeviceCheck} every `intervalMs`, and feeds the readings into quorum
 * (`votes`) and placement (`score`). Built-ins (`plugins/builtin_quorum_devices.ts`) are
 * written against exactly this contract, like a third party's file loaded at run time and
 * checked with {@link validateQuorumDevice}.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * export default defineQuorumDevice({
 *   kind: "quorum-device",
 *   name: "always",
 *   version: "1.0.0",
 *   description: "a device that always answers",
 *   params: z.object({ score: z.number().default(10).describe("score to give") }),
 *   votes: () => 0,
 *   intervalMs: 1000,
 *   timeoutMs: 500,
 *   create: (params) => ({
 *     check: () => Promise.resolve({ votes: 0, score: params.score, healthy: true, detail: "ok" }),
 *     stop: () => Promise.resolve(),
 *   }),
 * });
 * ```
 * @module
 */

import { z } from "zod";
import {
  formatPluginIssues,
  PluginError,
  pluginFunction,
  pluginIdentityShape,
} from "./plugin_schema.ts";

export { PluginError };

/** What a device instance is given about its node and cluster. */
export interface QuorumDeviceContext {
  /** This node's name. */
  node: string;
  /** The configured nodes' names. */
  nodes: readonly string[];
  /** The current agreed membership, or null while it is in transition. */
  membership(): readonly string[] | null;
  /** Wall-clock milliseconds (injected; tests pass a fake). */
  now(): number;
  /** Records one line of device output. */
  log(line: string): void;
}

/** One reading of a device, taken by {@link QuorumDeviceInstance.check}. */
export interface QuorumDeviceReading {
  /** Votes this device gives this node's partition right now (0 if none). */
  votes: number;
  /** Added to this node's placement score for every resource (ping: connectivity). */
  score: number;
  /** False when the device itself cannot be read or written, or sees nothing. */
  healthy: boolean;
  /** One human sentence for /status. */
  detail: string;
}

/** A running device on one node. */
export interface QuorumDeviceInstance {
  /**
   * Takes one reading. Called every `intervalMs`, bounded by `timeoutMs`: once `signal` is
   * aborted the device should give up (kill children, stop I/O) and settle promptly; the
   * result is then ignored.
   */
  check(signal: AbortSignal): Promise<QuorumDeviceReading>;
  /** Releases whatever the instance holds. Idempotent; a check after stop gives no votes. */
  stop(): Promise<void>;
}

/**
 * The default export of a quorum-device module.
 *
 * `votes` and `create` are method signatures so a definition with specific params can be
 * stored as a `QuorumDeviceDefinition<unknown>` (e.g. in the registry of built-ins).
 */
export interface QuorumDeviceDefinition<P> {
  /** Discriminates the plugin type. */
  kind: "quorum-device";
  /** The device's name, as referenced by the configuration (e.g. `ping`). */
  name: string;
  /** The device's version, free-form. */
  version: string;
  /** One-line human description. */
  description: string;
  /** The zod schema of the parameters, with `.describe()` and defaults on every field. */
  params: z.ZodType<P>;
  /** Votes this device adds to the expected votes (ping: 0, qdisk: configured). */
  votes(params: P): number;
  /** Default interval between checks, in milliseconds. */
  intervalMs: number;
  /** Default bound of one check, in milliseconds. */
  timeoutMs: number;
  /** Creates an instance for this node. May throw on a configuration that cannot work. */
  create(params: P, ctx: QuorumDeviceContext): QuorumDeviceInstance;
}

/**
 * Identity function that types a definition: `votes` and `create` receive the output
 * type of the `params` schema. Use it as the default export of a device module.
 */
export function defineQuorumDevice<P>(def: QuorumDeviceDefinition<P>): QuorumDeviceDefinition<P> {
  return def;
}

/** Longest detail sentence kept from a reading (a device's output is bounded). */
export const MAX_DETAIL_CHARS = 500;

/** The zod schema every reading must satisfy. */
export const quorumDeviceReadingSchema: z.ZodType<QuorumDeviceReading> = z.object({
  votes: z.number().int().min(0),
  score: z.number().refine(Number.isFinite, { error: "expected a finite number" }),
  healthy: z.boolean(),
  detail: z.string(),
});

const millis = z.number().int().positive();

/** The zod schema of a {@link QuorumDeviceDefinition} (functions and schemas checked by kind). */
export const quorumDeviceDefinitionSchema = z.object({
  kind: z.literal("quorum-device"),
  ...pluginIdentityShape,
  votes: pluginFunction,
  intervalMs: millis,
  timeoutMs: millis,
  create: pluginFunction,
});

/**
 * Checks that `value` (a module's default export) is a valid quorum-device definition.
 *
 * @param value the candidate definition
 * @param file where it came from (a file path), used in error messages
 * @returns the definition, typed
 * @throws {PluginError} naming the file and every failing field path, e.g.
 *   `plugins/x.ts: create: expected a function`
 */
export function validateQuorumDevice(
  value: unknown,
  file: string,
): QuorumDeviceDefinition<unknown> {
  const result = quorumDeviceDefinitionSchema.safeParse(value);
  if (!result.success) throw new PluginError(file, formatPluginIssues(result.error.issues, file));
  const def = result.data as QuorumDeviceDefinition<unknown>;
  if (def.timeoutMs > def.intervalMs) {
    throw new PluginError(
      file,
      `${file}: timeoutMs: ${def.timeoutMs} exceeds intervalMs ${def.intervalMs} ` +
        "(a check must end before the next one is due)",
    );
  }
  return def;
}

/**
 * Parses a device's configured parameters with its schema.
 *
 * @param def the device
 * @param value the raw parameters (from the node configuration)
 * @param source where they came from, e.g. `n1.json: quorumDevices[0]`
 * @throws {PluginError} naming the source and every failing field under `params.`
 */
export function parseQuorumDeviceParams<P>(
  def: QuorumDeviceDefinition<P>,
  value: unknown,
  source: string,
): P {
  const result = def.params.safeParse(value);
  if (!result.success) {
    throw new PluginError(source, formatPluginIssues(result.error.issues, source, "params"));
  }
  return result.data;
}

/** An unhealthy reading that gives nothing, with `detail` cut to the bound. */
export function unhealthyReading(detail: string): QuorumDeviceReading {
  return { votes: 0, score: 0, healthy: false, detail: detail.slice(0, MAX_DETAIL_CHARS) };
}

/**
 * Runs one check of `instance`, bounded by `timeoutMs`. Never throws: a throw, a timeout
 * or a reading that does not satisfy {@link quorumDeviceReadingSchema} becomes an
 * unhealthy reading (no votes, no score) whose detail says what happened. On timeout the
 * check's signal is aborted so the device can stop its work.
 *
 * @example
 * ```ts
 * const reading = await runQuorumDeviceCheck(instance, def.timeoutMs);
 * ```
 */
export async function runQuorumDeviceCheck(
  instance: QuorumDeviceInstance,
  timeoutMs: number,
): Promise<QuorumDeviceReading> {
  if (!(timeoutMs > 0)) return unhealthyReading(`invalid check timeout ${timeoutMs} ms`);
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error(`check timed out after ${timeoutMs} ms`));
      resolve("timeout");
    }, timeoutMs);
  });
  try {
    // The check may throw synchronously, which `Promise.resolve().then` turns into a rejection.
    const checking = Promise.resolve().then(() => instance.check(controller.signal));
    // A check that settles after its timeout must not leave an unhandled rejection behind.
    checking.catch(() => {});
    const outcome = await Promise.race([checking, timedOut]);
    if (outcome === "timeout") return unhealthyReading(`check timed out after ${timeoutMs} ms`);
    const parsed = quorumDeviceReadingSchema.safeParse(outcome);
    if (!parsed.success) {
      const what = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
      return unhealthyReading(`device returned an invalid reading (${what})`);
    }
    return { ...parsed.data, detail: parsed.data.detail.slice(0, MAX_DETAIL_CHARS) };
  } catch (err) {
    return unhealthyReading(`check failed: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    clearTimeout(timer);
  }
}
