/**
 * The fence-driver (STONITH) plugin contract.
 *
 * A fence driver is a TypeScript module whose default export is a
 * {@link FenceDriverDefinition}: it knows how to power a node off, on or cycle it through
 * some device outside that node (a power switch, a BMC over IPMI, a hypervisor), and how
 * to ask that device for the node's power state. The fencing part of the cluster calls
 * {@link runFenceAction} before it recovers a failed node's resources elsewhere, and
 * recovers them only when the result says `ok`. Drivers in `stonith/` are written against
 * exactly this contract, like a third party's file loaded from the plugin directory and
 * checked with {@link validateFenceDriver}.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * export default defineFenceDriver({
 *   kind: "fence-driver",
 *   name: "manual",
 *   version: "1.0.0",
 *   description: "asks an operator (never succeeds by itself)",
 *   params: z.object({ note: z.string().default("").describe("shown to the operator") }),
 *   actions: {
 *     fence: (ctx) => Promise.resolve({ ok: false, detail: `please ${ctx.action} ${ctx.target}` }),
 *     status: () => Promise.resolve({ power: "unknown", detail: "no device" }),
 *   },
 *   timeouts: { fence: 60_000, status: 10_000 },
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

/** The fencing actions: power cycle, power off, power on. */
export const FENCE_ACTIONS = ["reboot", "off", "on"] as const;

/** One fencing action (`reboot` is off-then-on; `off` leaves the node powered off). */
export type FenceAction = typeof FENCE_ACTIONS[number];

/** What every driver call receives. */
export interface FenceDriverContext<P> {
  /** The device's parameters, already parsed with the driver's `params` schema. */
  params: P;
  /** Aborted when the call times out (or is cancelled); the driver should give up then. */
  signal: AbortSignal;
  /** This call's timeout in milliseconds (`signal` is aborted when it passes). */
  timeoutMs: number;
  /** Records one line of driver output (kept with the fencing history). */
  log: (line: string) => void;
}

/** What `status` receives: the node asked about. */
export interface FenceTargetContext<P> extends FenceDriverContext<P> {
  /** The cluster node name of the node to act on or ask about. */
  target: string;
}

/** What `fence` receives: the node and what to do to it. */
export interface FenceActionContext<P> extends FenceTargetContext<P> {
  /** The action to carry out. */
  action: FenceAction;
}

/** The outcome of one fencing action. */
export interface FenceResult {
  /**
   * True only when the device confirms the action was carried out: for `off` and
   * `reboot` that the target was powered off (and, for `reboot`, on again). Only then
   * may the cluster recover the target's resources elsewhere.
   */
  ok: boolean;
  /** One human sentence for the fencing history. */
  detail: string;
}

/** A target's power state as the device reports it. */
export interface FenceStatus {
  /** `on`, `off`, or `unknown` when the device cannot tell. */
  power: "on" | "off" | "unknown";
  /** One human sentence. */
  detail: string;
}

/**
 * One call of a driver, declared through a method signature so that it is checked
 * bivariantly: a definition with specific params can be stored as a
 * `FenceDriverDefinition<unknown>` (e.g. in a registry of built-ins) without casts.
 */
type DriverCall<C, R> = { bivarianceHack(ctx: C): Promise<R> }["bivarianceHack"];

/** The default export of a fence-driver module. */
export interface FenceDriverDefinition<P> {
  /** Discriminates the plugin type. */
  kind: "fence-driver";
  /** The driver's name, as the configuration refers to it (e.g. `ipmi`). */
  name: string;
  /** The driver's version, free-form. */
  version: string;
  /** One-line human description. */
  description: string;
  /** The zod schema of the device parameters, with `.describe()` and defaults. */
  params: z.ZodType<P>;
  /** What the driver can do. */
  actions: {
    /** Carries out `ctx.action` on `ctx.target`; resolves `ok` only when confirmed. */
    fence: DriverCall<FenceActionContext<P>, FenceResult>;
    /** Asks the device for `ctx.target`'s power state. */
    status: DriverCall<FenceTargetContext<P>, FenceStatus>;
    /** The cluster node names this device can fence, when the device can tell. */
    list?: DriverCall<FenceDriverContext<P>, string[]>;
  };
  /** Default timeout of each call, in milliseconds. */
  timeouts: { fence: number; status: number; list?: number };
}

/**
 * Identity function that types a definition: the calls' `ctx.params` are the output type
 * of the `params` schema. Use it as the default export of a driver module.
 */
export function defineFenceDriver<P>(def: FenceDriverDefinition<P>): FenceDriverDefinition<P> {
  return def;
}

/** Longest detail sentence kept from a result (a driver's output is bounded). */
export const MAX_FENCE_DETAIL_CHARS = 500;
/** Most node names kept from one `list` call. */
export const MAX_FENCE_LIST_NODES = 1024;

const millis = z.number().int().positive();

/** The zod schema of a {@link FenceDriverDefinition} (functions and schemas checked by kind). */
export const fenceDriverDefinitionSchema = z.object({
  kind: z.literal("fence-driver"),
  ...pluginIdentityShape,
  actions: z.object({
    fence: pluginFunction,
    status: pluginFunction,
    list: pluginFunction.optional(),
  }),
  timeouts: z.object({ fence: millis, status: millis, list: millis.optional() }),
});

/** The zod schema every {@link FenceResult} must satisfy. */
export const fenceResultSchema: z.ZodType<FenceResult> = z.object({
  ok: z.boolean(),
  detail: z.string(),
});

/** The zod schema every {@link FenceStatus} must satisfy. */
export const fenceStatusSchema: z.ZodType<FenceStatus> = z.object({
  power: z.enum(["on", "off", "unknown"]),
  detail: z.string(),
});

/** The zod schema of a `list` answer. */
export const fenceListSchema: z.ZodType<string[]> = z.array(z.string().min(1)).max(
  MAX_FENCE_LIST_NODES,
);

/**
 * Checks that `value` (a module's default export) is a valid fence-driver definition.
 *
 * @param value the candidate definition
 * @param source where it came from (a file path), used in error messages
 * @returns the definition, typed
 * @throws {PluginError} naming the source and every failing field path, e.g.
 *   `plugins/x.ts: actions.fence: expected a function`
 */
export function validateFenceDriver(
  value: unknown,
  source: string,
): FenceDriverDefinition<unknown> {
  const result = fenceDriverDefinitionSchema.safeParse(value);
  if (!result.success) {
    throw new PluginError(source, formatPluginIssues(result.error.issues, source));
  }
  return result.data as FenceDriverDefinition<unknown>;
}

/**
 * Parses a device's configured parameters with its driver's schema.
 *
 * @param def the driver
 * @param value the raw parameters (from the configuration)
 * @param source where they came from, e.g. `n1.json: fencing.devices[0]`
 * @throws {PluginError} naming the source and every failing field under `params.`
 */
export function parseFenceDriverParams<P>(
  def: FenceDriverDefinition<P>,
  value: unknown,
  source: string,
): P {
  const result = def.params.safeParse(value);
  if (!result.success) {
    throw new PluginError(source, formatPluginIssues(result.error.issues, source, "params"));
  }
  return result.data;
}

/** The outcome of {@link runFenceAction}: the driver's result, or why there is none. */
export interface FenceOutcome extends FenceResult {
  /** True when the call was cut off at its timeout (then `ok` is false). */
  timedOut: boolean;
}

/** What {@link runFenceAction} and {@link runFenceStatus} need besides the driver. */
export interface FenceRequest<P> {
  /** Parsed device parameters. */
  params: P;
  /** The node to act on or ask about. */
  target: string;
  /** Overrides the driver's default timeout for this call, in milliseconds. */
  timeoutMs?: number;
  /** Records one line of driver output. */
  log: (line: string) => void;
  /** Cancels the call from outside (e.g. the node is shutting down). */
  signal?: AbortSignal;
}

/**
 * Runs `call` bounded by `timeoutMs` and `outer`: never throws. Resolves with the call's
 * value, `{ timedOut: true }`, or `{ error }` when it threw or was cancelled.
 */
async function bounded<T>(
  call: (signal: AbortSignal) => Promise<T>,
  timeoutMs: number,
  outer: AbortSignal | undefined,
): Promise<{ value: T } | { timedOut: true } | { error: string }> {
  if (!(timeoutMs > 0)) return { error: `invalid timeout ${timeoutMs} ms` };
  const controller = new AbortController();
  const onOuter = () => controller.abort(outer?.reason ?? new Error("cancelled"));
  if (outer?.aborted) return { error: "cancelled before it started" };
  outer?.addEventListener("abort", onOuter, { once: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => {
      // Settle first: aborting also settles `cancelled`, which must not win the race.
      resolve("timeout");
      controller.abort(new Error(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
  });
  const cancelled = new Promise<"cancelled">((resolve) => {
    controller.signal.addEventListener("abort", () => resolve("cancelled"), { once: true });
  });
  try {
    // A synchronous throw becomes a rejection; a late rejection must not go unhandled.
    const calling = Promise.resolve().then(() => call(controller.signal));
    calling.catch(() => {});
    const outcome = await Promise.race([calling, timedOut, cancelled]);
    if (outcome === "timeout") return { timedOut: true };
    if (outcome === "cancelled") return { error: "cancelled" };
    return { value: outcome as T };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener("abort", onOuter);
  }
}

/**
 * Runs one fencing action, bounded by the request's (or the driver's) timeout. Never
 * throws: a throw, a timeout, a cancellation or a result that does not satisfy
 * {@link fenceResultSchema} is a failed outcome (`ok: false`) whose detail says what
 * happened. On timeout the call's signal is aborted so the driver can stop.
 *
 * @example
 * ```ts
 * const outcome = await runFenceAction(driver, "off", { params, target: "n2", log });
 * if (outcome.ok) recoverResourcesOf("n2");
 * ```
 */
export async function runFenceAction<P>(
  def: FenceDriverDefinition<P>,
  action: FenceAction,
  request: FenceRequest<P>,
): Promise<FenceOutcome> {
  const timeoutMs = request.timeoutMs ?? def.timeouts.fence;
  const what = `${action} ${request.target}`;
  const run = await bounded(
    (signal) =>
      def.actions.fence({
        params: request.params,
        target: request.target,
        action,
        signal,
        timeoutMs,
        log: request.log,
      }),
    timeoutMs,
    request.signal,
  );
  if ("timedOut" in run) {
    return { ok: false, timedOut: true, detail: `${what}: timed out after ${timeoutMs} ms` };
  }
  if ("error" in run) return { ok: false, timedOut: false, detail: `${what}: ${run.error}` };
  const parsed = fenceResultSchema.safeParse(run.value);
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    return {
      ok: false,
      timedOut: false,
      detail: `${what}: driver returned an invalid result (${why})`,
    };
  }
  return {
    ok: parsed.data.ok,
    timedOut: false,
    detail: parsed.data.detail.slice(0, MAX_FENCE_DETAIL_CHARS),
  };
}

/**
 * Asks the driver for a target's power state, bounded like {@link runFenceAction}. Never
 * throws: any failure is `power: "unknown"` with a detail saying why.
 */
export async function runFenceStatus<P>(
  def: FenceDriverDefinition<P>,
  request: FenceRequest<P>,
): Promise<FenceStatus> {
  const timeoutMs = request.timeoutMs ?? def.timeouts.status;
  const run = await bounded(
    (signal) =>
      def.actions.status({
        params: request.params,
        target: request.target,
        signal,
        timeoutMs,
        log: request.log,
      }),
    timeoutMs,
    request.signal,
  );
  const what = `status ${request.target}`;
  if ("timedOut" in run) {
    return { power: "unknown", detail: `${what}: timed out after ${timeoutMs} ms` };
  }
  if ("error" in run) return { power: "unknown", detail: `${what}: ${run.error}` };
  const parsed = fenceStatusSchema.safeParse(run.value);
  if (!parsed.success) {
    return { power: "unknown", detail: `${what}: driver returned an invalid status` };
  }
  return { ...parsed.data, detail: parsed.data.detail.slice(0, MAX_FENCE_DETAIL_CHARS) };
}

/**
 * Asks the driver which nodes its device can fence, bounded like {@link runFenceAction}.
 * Never throws.
 *
 * @returns the node names, or `null` when the driver has no `list` or the call failed
 *   (`log` is told why)
 */
export async function runFenceList<P>(
  def: FenceDriverDefinition<P>,
  request: Omit<FenceRequest<P>, "target">,
): Promise<string[] | null> {
  const list = def.actions.list;
  if (list === undefined) return null;
  const timeoutMs = request.timeoutMs ?? def.timeouts.list ?? def.timeouts.status;
  const run = await bounded(
    (signal) => list({ params: request.params, signal, timeoutMs, log: request.log }),
    timeoutMs,
    request.signal,
  );
  if ("timedOut" in run) {
    request.log(`list: timed out after ${timeoutMs} ms`);
    return null;
  }
  if ("error" in run) {
    request.log(`list: ${run.error}`);
    return null;
  }
  const parsed = fenceListSchema.safeParse(run.value);
  if (!parsed.success) {
    request.log(`list: driver returned an invalid list`);
    return null;
  }
  return parsed.data;
}
