/**
 * The LRM's operation executor: the shell part of the local resource manager that runs
 * one resource-agent operation (start, stop, monitor with depth, promote, demote, notify,
 * validate, meta-data) with parameter validation, a timeout, output capture and a bound on
 * how many operations run at once.
 *
 * Nothing an agent does can wedge it: an agent that hangs is abandoned at its timeout (its
 * `AbortSignal` fires; script adapters kill the process group) and its slot is freed; one
 * that prints megabytes costs at most {@link MAX_OUTPUT_BYTES} (the tail is kept); one that
 * throws, or resolves with something that is not an OCF code, is reported as `error`.
 *
 * @example
 * ```ts
 * const executor = new OperationExecutor({ node: "n1", stateDir: "/var/lib/vigil/agents" });
 * const r = await executor.run({ resourceId: "web", agent, action: "monitor", params: {},
 *   depth: 10 });
 * console.log(r.rc, r.rcText, r.status, r.durationMs, r.output);
 * ```
 * @module
 */

import {
  type AgentAction,
  OCF,
  type ResourceAgentDefinition,
} from "../../plugins/resource_agent.ts";
import { agentMetadataXml } from "./agent_metadata.ts";
import { isOcfCode, ocfCodeText } from "./ocf_codes.ts";
import type { LrmAction, OperationStatus, RoleAction } from "./operation_record.ts";
import { OutputTail } from "./output_tail.ts";

export type { OperationStatus };

/**
 * What the executor runs: the LRM's resource operations, plus `validate` (the schema,
 * then the agent's `validate` action when it has one: OCF `validate-all`) and
 * `meta-data` (the agent's description as OCF meta-data XML, in the output).
 */
export type ExecutorAction = LrmAction | RoleAction | "validate" | "meta-data";

/** One operation for the executor to run. */
export interface OperationRequest {
  /** The resource the operation is for. */
  resourceId: string;
  /** The agent implementing the resource. */
  agent: ResourceAgentDefinition;
  /** Which action to run. */
  action: ExecutorAction;
  /** Raw parameters; parsed with the agent's `params` schema before running. */
  params: Record<string, unknown>;
  /** Timeout in ms, counted from when the operation starts running (after any queueing);
   * defaults to the agent's timeout for the action ({@link DEFAULT_ACTION_TIMEOUT_MS} for
   * actions the agent has no timeout for). */
  timeoutMs?: number;
  /** Monitor depth (OCF_CHECK_LEVEL), passed to the agent as `ctx.depth`; default 0. */
  depth?: number;
}

/** The outcome of one operation. */
export interface OperationResult {
  /**
   * The agent's code. ERR_GENERIC when the executor decided (timeout, a throw, a value that
   * is not a number), ERR_CONFIGURED for invalid params, ERR_UNIMPLEMENTED for a missing
   * action; a number 0..255 that is not an OCF code is kept as it is, with status `error`.
   */
  rc: number;
  /** The meaning of `rc` (`ok`, `not running`, `unexpected exit code 42`, ...). */
  rcText: string;
  /** How it ended; see {@link OperationStatus}. */
  status: OperationStatus;
  /** How long the operation ran, excluding time spent queued. */
  durationMs: number;
  /** The lines the agent logged (plus the executor's own notes), at most 64 KiB, keeping the tail. */
  output: string;
  /** When it began running, from the wall clock (epoch ms). */
  startedAt: number;
}

/** Bound of {@link OperationResult.output}, in UTF-8 bytes. */
export const MAX_OUTPUT_BYTES = 64 * 1024;

/** Timeout of actions the agent's `timeouts` has no entry for (validate, promote, ...). */
export const DEFAULT_ACTION_TIMEOUT_MS = 20_000;

/** Default bound of operations waiting for a slot; more are refused as `error`. */
export const DEFAULT_MAX_QUEUED = 1024;

/** Depths accepted for a monitor (OCF uses 0, 10, 20 ...). */
const MAX_DEPTH = 1000;

const TIMED_OUT: unique symbol = Symbol("timed out");

function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** Options of {@link OperationExecutor}. */
export interface OperationExecutorOptions {
  /** This node's name, passed to agents. */
  node: string;
  /** Directory private to this node for agent state files. */
  stateDir: string;
  /** How many operations may run at once; more are queued in arrival order. Default 4. */
  maxConcurrent?: number;
  /** How many may wait for a slot; beyond, `run` reports `error` at once. Default 1024. */
  maxQueued?: number;
  /** Monotonic clock in ms, for durations. Default `performance.now()`. */
  now?: () => number;
  /** Wall clock in epoch ms, for {@link OperationResult.startedAt}. Default `Date.now()`. */
  wallClock?: () => number;
}

/**
 * Runs resource-agent operations for one node.
 *
 * Parameters are validated before queueing; at most `maxConcurrent` operations run at
 * once. An operation that exceeds its timeout has its `AbortSignal` aborted and is
 * reported as `timeout` at once, even if the agent never settles; its slot is freed then,
 * so a hung agent cannot starve the node (whatever it does afterwards is ignored).
 */
export class OperationExecutor {
  readonly #node: string;
  readonly #stateDir: string;
  readonly #maxConcurrent: number;
  readonly #maxQueued: number;
  readonly #now: () => number;
  readonly #wallClock: () => number;
  #running = 0;
  readonly #waiting: Array<() => void> = [];

  /** @param opts see {@link OperationExecutorOptions} */
  constructor(opts: OperationExecutorOptions) {
    const maxConcurrent = opts.maxConcurrent ?? 4;
    if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1) {
      throw new RangeError(`maxConcurrent must be a positive integer, got ${maxConcurrent}`);
    }
    const maxQueued = opts.maxQueued ?? DEFAULT_MAX_QUEUED;
    if (!Number.isInteger(maxQueued) || maxQueued < 0) {
      throw new RangeError(`maxQueued must be a non-negative integer, got ${maxQueued}`);
    }
    this.#node = opts.node;
    this.#stateDir = opts.stateDir;
    this.#maxConcurrent = maxConcurrent;
    this.#maxQueued = maxQueued;
    this.#now = opts.now ?? (() => performance.now());
    this.#wallClock = opts.wallClock ?? (() => Date.now());
  }

  /** Operations running now. */
  get running(): number {
    return this.#running;
  }

  /** Operations waiting for a slot. */
  get queued(): number {
    return this.#waiting.length;
  }

  /** Runs one operation; never rejects for agent failures (they become the result). */
  async run(req: OperationRequest): Promise<OperationResult> {
    const timeoutMs = req.timeoutMs ?? defaultTimeout(req.agent, req.action);
    if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
      throw new RangeError(`timeoutMs must be a positive number, got ${timeoutMs}`);
    }
    const depth = req.depth ?? 0;
    if (!Number.isInteger(depth) || depth < 0 || depth > MAX_DEPTH) {
      throw new RangeError(`depth must be an integer 0..${MAX_DEPTH}, got ${depth}`);
    }
    const immediate = (rc: number, status: OperationStatus, output: string) => ({
      rc,
      rcText: ocfCodeText(rc),
      status,
      durationMs: 0,
      output,
      startedAt: this.#wallClock(),
    });

    // meta-data describes the agent; it needs no parameters and runs nothing.
    if (req.action === "meta-data") {
      return immediate(OCF.OK, "done", agentMetadataXml(req.agent));
    }

    const parsed = req.agent.params.safeParse(req.params);
    if (!parsed.success) {
      const output = parsed.error.issues
        .map((issue) => {
          const path = issue.path.length > 0 ? issue.path.map(String).join(".") : "(params)";
          return `invalid params for ${req.agent.name} ${req.resourceId}: ${path}: ${issue.message}`;
        })
        .join("\n");
      return immediate(OCF.ERR_CONFIGURED, "invalid-params", output);
    }

    const action = actionOf(req.agent, req.action);
    if (action === "schema-only") {
      return immediate(OCF.OK, "done", `params of ${req.resourceId} are valid`);
    }
    if (action === undefined) {
      return immediate(
        OCF.ERR_UNIMPLEMENTED,
        "unsupported",
        `${req.agent.name} does not implement ${req.action}`,
      );
    }

    if (this.#running >= this.#maxConcurrent && this.#waiting.length >= this.#maxQueued) {
      return immediate(
        OCF.ERR_GENERIC,
        "error",
        `${req.action} of ${req.resourceId} refused: ${this.#waiting.length} operations queued`,
      );
    }
    await this.#acquire();
    try {
      return await this.#execute(req, action, parsed.data, timeoutMs, depth);
    } finally {
      this.#release();
    }
  }

  async #execute(
    req: OperationRequest,
    action: AgentAction<unknown>,
    params: unknown,
    timeoutMs: number,
    depth: number,
  ): Promise<OperationResult> {
    const out = new OutputTail(MAX_OUTPUT_BYTES);
    const controller = new AbortController();
    const started = this.#now();
    const startedAt = this.#wallClock();
    const finish = (rc: number, status: OperationStatus): OperationResult => {
      out.close();
      return {
        rc,
        rcText: ocfCodeText(rc),
        status,
        durationMs: this.#now() - started,
        output: out.text(),
        startedAt,
      };
    };

    // Wrapped in a promise chain so a synchronous throw becomes a rejection too.
    const agentDone = Promise.resolve().then(() =>
      action({
        params,
        resourceId: req.resourceId,
        node: this.#node,
        stateDir: this.#stateDir,
        signal: controller.signal,
        timeoutMs,
        ...(req.action === "monitor" ? { depth } : {}),
        log: (line) => out.push(String(line)),
      })
    );

    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), timeoutMs);
    });

    try {
      const winner = await Promise.race([agentDone, timedOut]);
      if (winner === TIMED_OUT) {
        // A late rejection of the abandoned agent must not become an unhandled rejection.
        agentDone.catch(() => {});
        out.push(`${req.action} of ${req.resourceId} timed out after ${timeoutMs} ms`);
        controller.abort(new DOMException("operation timed out", "TimeoutError"));
        return finish(OCF.ERR_GENERIC, "timeout");
      }
      if (!Number.isInteger(winner) || winner < 0 || winner > 255) {
        out.push(`${req.action} of ${req.resourceId} returned an invalid code: ${String(winner)}`);
        return finish(OCF.ERR_GENERIC, "error");
      }
      if (!isOcfCode(winner)) {
        // Kept as it is: "exit 42" must read as 42, not as some OCF code it is not.
        out.push(`${req.action} of ${req.resourceId}: ${ocfCodeText(winner)}`);
        return finish(winner, "error");
      }
      return finish(winner, "done");
    } catch (err) {
      out.push(`${req.action} of ${req.resourceId} failed: ${errorText(err)}`);
      return finish(OCF.ERR_GENERIC, "error");
    } finally {
      clearTimeout(timer);
    }
  }

  #acquire(): Promise<void> {
    if (this.#running < this.#maxConcurrent) {
      this.#running++;
      return Promise.resolve();
    }
    // The slot is handed over directly by #release, so #running is not incremented here.
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#running--;
  }
}

/**
 * The agent function that runs `action`: undefined when the agent lacks it, and
 * "schema-only" for `validate` of an agent without a `validate` action (the parameters
 * passed its schema, which is all there is to check).
 */
function actionOf(
  agent: ResourceAgentDefinition,
  action: Exclude<ExecutorAction, "meta-data">,
): AgentAction<unknown> | "schema-only" | undefined {
  const fn = agent.actions[action];
  if (fn === undefined && action === "validate") return "schema-only";
  return fn;
}

/** The agent's default timeout of `action`, or {@link DEFAULT_ACTION_TIMEOUT_MS}. */
function defaultTimeout(agent: ResourceAgentDefinition, action: ExecutorAction): number {
  const timeouts: Partial<Record<ExecutorAction, number>> = agent.timeouts;
  return timeouts[action] ?? DEFAULT_ACTION_TIMEOUT_MS;
}
