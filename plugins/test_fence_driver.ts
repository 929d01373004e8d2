/**
 * `test-fence`: a fence driver that fences nothing real. It keeps each node's power state
 * and a history of every fencing attempt in a JSON state file, and can be told to fail or
 * to hang for some targets. The transition engine's fencing is tested against it until
 * real drivers (stonith/) arrive, and it is a worked example of the fence-driver contract.
 *
 * Behaviour, per call:
 * - a target outside `nodes` (when `nodes` is not empty) cannot be fenced: `ok: false`;
 * - after `delayMs`, a target in `hangFor` (or `"*"`) waits until the call is aborted (its
 *   timeout), and one in `failFor` (or `"*"`) fails with `ok: false`;
 * - otherwise `off` records the target as powered off, `on` and `reboot` as on.
 *
 * `failFor` and `hangFor` may also be set in the state file (see
 * {@link setTestFenceBehaviour}); there they override the parameters, so a running test
 * can make fencing fail and then succeed without restarting anything.
 *
 * State file updates are serialized within one process and written atomically (write then
 * rename); two processes fencing through the same file at the same moment may lose one
 * history entry, which is acceptable for a test driver.
 *
 * @example
 * ```json
 * { "driver": "test-fence", "params": { "stateFile": "/tmp/fence.json", "failFor": ["n3"] } }
 * ```
 * @module
 */

import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import process from "node:process";
import { z } from "zod";
import {
  defineFenceDriver,
  FENCE_ACTIONS,
  type FenceAction,
  type FenceActionContext,
  type FenceResult,
} from "./fence_driver.ts";

/** Most history entries kept in the state file (the oldest are dropped first). */
export const MAX_TEST_FENCE_HISTORY = 1000;
/** The longest a hanging action waits for its caller to abort it, in milliseconds. */
export const MAX_HANG_MS = 600_000;
/** Largest state file read, in bytes. */
const MAX_STATE_BYTES = 4 * 1024 * 1024;

const nodeName = z.string().min(1).max(253);

/** The parameters of the test fence driver. */
export const testFenceParamsSchema = z.object({
  stateFile: z.string().min(1).describe(
    "JSON file that records each node's power state and every fencing attempt",
  ),
  nodes: z.array(nodeName).max(1024).default([]).describe(
    "the nodes this device can fence (empty: any node)",
  ),
  failFor: z.array(nodeName).max(1024).default([]).describe(
    'targets whose fencing fails ("*": every target)',
  ),
  hangFor: z.array(nodeName).max(1024).default([]).describe(
    'targets whose fencing never completes until it times out ("*": every target)',
  ),
  delayMs: z.number().int().min(0).max(60_000).default(0).describe(
    "how long each action takes before it completes, ms",
  ),
});

/** Parsed test fence driver parameters. */
export type TestFenceParams = z.output<typeof testFenceParamsSchema>;

/** One fencing attempt as recorded in the state file. */
export interface TestFenceHistoryEntry {
  /** Increases by one per attempt, from 1. */
  seq: number;
  /** The node fenced. */
  target: string;
  /** The action asked for. */
  action: FenceAction;
  /** How it ended: `ok`, `failed` (told to, or not fenceable) or `aborted` (timed out). */
  result: "ok" | "failed" | "aborted";
}

/** The contents of the state file. */
export interface TestFenceState {
  /** Power state of every node acted on so far (a node never fenced is `on`). */
  power: Record<string, "on" | "off">;
  /** Every attempt, oldest first, at most {@link MAX_TEST_FENCE_HISTORY}. */
  history: TestFenceHistoryEntry[];
  /** When present, replaces the `failFor` parameter. */
  failFor?: string[];
  /** When present, replaces the `hangFor` parameter. */
  hangFor?: string[];
}

const stateSchema: z.ZodType<TestFenceState> = z.object({
  power: z.record(z.string(), z.enum(["on", "off"])),
  history: z.array(z.object({
    seq: z.number().int().positive(),
    target: z.string(),
    action: z.enum(FENCE_ACTIONS),
    result: z.enum(["ok", "failed", "aborted"]),
  })),
  failFor: z.array(z.string()).optional(),
  hangFor: z.array(z.string()).optional(),
});

/**
 * Reads the state file; a missing file is the empty state.
 *
 * @throws Error naming the file when it is not valid JSON of the expected shape
 */
export async function readTestFenceState(path: string): Promise<TestFenceState> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as { code?: unknown }).code === "ENOENT") return { power: {}, history: [] };
    throw err;
  }
  if (text.length > MAX_STATE_BYTES) throw new Error(`${path}: state file is too large`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path}: not JSON: ${(err as Error).message}`);
  }
  const parsed = stateSchema.safeParse(json);
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`${path}: not a test-fence state file: ${why}`);
  }
  return parsed.data;
}

/** The last update of each state file made by this process, to chain the next onto. */
const pendingUpdates = new Map<string, Promise<unknown>>();

/**
 * Reads, changes and atomically rewrites the state file, one update per file at a time
 * within this process.
 */
function updateState<T>(path: string, change: (state: TestFenceState) => T): Promise<T> {
  const previous = pendingUpdates.get(path) ?? Promise.resolve();
  const next = previous.catch(() => {}).then(async () => {
    const state = await readTestFenceState(path);
    const result = change(state);
    if (state.history.length > MAX_TEST_FENCE_HISTORY) {
      state.history.splice(0, state.history.length - MAX_TEST_FENCE_HISTORY);
    }
    await mkdir(dirname(path), { recursive: true });
    const temporary = `${path}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`);
    await rename(temporary, path);
    return result;
  });
  pendingUpdates.set(path, next);
  // Forget the chain once it is idle, so the map stays bounded by files in use.
  void next.finally(() => {
    if (pendingUpdates.get(path) === next) pendingUpdates.delete(path);
  }).catch(() => {});
  return next;
}

/**
 * Sets (or, with `undefined`, clears) the state file's overrides of `failFor` and
 * `hangFor`, for tests that change the driver's behaviour while it runs.
 */
export function setTestFenceBehaviour(
  path: string,
  behaviour: { failFor?: string[]; hangFor?: string[] },
): Promise<void> {
  return updateState(path, (state) => {
    if (behaviour.failFor === undefined) delete state.failFor;
    else state.failFor = [...behaviour.failFor];
    if (behaviour.hangFor === undefined) delete state.hangFor;
    else state.hangFor = [...behaviour.hangFor];
  });
}

/** Whether `target` is named in `list` (or `list` holds `"*"`). */
function names(list: readonly string[], target: string): boolean {
  return list.includes("*") || list.includes(target);
}

/** Resolves after `ms`, or with false as soon as `signal` is aborted. */
function wait(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Appends one attempt to the history and applies its effect on the target's power. */
function record(
  ctx: FenceActionContext<TestFenceParams>,
  result: TestFenceHistoryEntry["result"],
): Promise<void> {
  return updateState(ctx.params.stateFile, (state) => {
    const seq = (state.history.at(-1)?.seq ?? 0) + 1;
    state.history.push({ seq, target: ctx.target, action: ctx.action, result });
    if (result === "ok") state.power[ctx.target] = ctx.action === "off" ? "off" : "on";
  });
}

/** The driver's `fence`. */
async function fence(ctx: FenceActionContext<TestFenceParams>): Promise<FenceResult> {
  const what = `${ctx.action} ${ctx.target}`;
  if (ctx.params.nodes.length > 0 && !ctx.params.nodes.includes(ctx.target)) {
    await record(ctx, "failed");
    return { ok: false, detail: `${what}: not one of this device's nodes` };
  }
  const state = await readTestFenceState(ctx.params.stateFile);
  const failFor = state.failFor ?? ctx.params.failFor;
  const hangFor = state.hangFor ?? ctx.params.hangFor;
  const inTime = await wait(ctx.params.delayMs, ctx.signal);
  if (inTime && names(hangFor, ctx.target)) {
    ctx.log(`test-fence: ${what}: hanging until aborted`);
    // The caller aborts the signal at the call's timeout; MAX_HANG_MS bounds a caller that
    // never does.
    if (await wait(MAX_HANG_MS, ctx.signal)) {
      await record(ctx, "failed");
      return { ok: false, detail: `${what}: hung for ${MAX_HANG_MS} ms` };
    }
  }
  if (ctx.signal.aborted) {
    await record(ctx, "aborted");
    return { ok: false, detail: `${what}: aborted` };
  }
  if (names(failFor, ctx.target)) {
    await record(ctx, "failed");
    return { ok: false, detail: `${what}: failed (as configured)` };
  }
  await record(ctx, "ok");
  ctx.log(`test-fence: ${what}: done`);
  return { ok: true, detail: `${what}: done` };
}

/** The test fence driver. */
const TestFenceDriver = defineFenceDriver<TestFenceParams>({
  kind: "fence-driver",
  name: "test-fence",
  version: "1.0.0",
  description: "records fencing in a state file; can fail or hang on purpose (for tests)",
  params: testFenceParamsSchema,
  actions: {
    fence,
    async status(ctx) {
      if (ctx.params.nodes.length > 0 && !ctx.params.nodes.includes(ctx.target)) {
        return { power: "unknown", detail: `${ctx.target} is not one of this device's nodes` };
      }
      const state = await readTestFenceState(ctx.params.stateFile);
      const power = state.power[ctx.target] ?? "on";
      return { power, detail: `${ctx.target} is ${power}` };
    },
    async list(ctx) {
      if (ctx.params.nodes.length > 0) return [...ctx.params.nodes];
      const state = await readTestFenceState(ctx.params.stateFile);
      return Object.keys(state.power).sort();
    },
  },
  timeouts: { fence: 20_000, status: 5_000, list: 5_000 },
});

/** The module's default export, as the plugin contract requires. */
export default TestFenceDriver;
