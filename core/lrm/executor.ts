/**
 * The LRM's operation executor: the shell part of the local resource manager that runs
 * one resource-agent operation (start, stop, monitor) with parameter validation, a
 * timeout, output capture and a bound on how many operations run at once.
 *
 * @module
 */

import { OCF, type ResourceAgentDefinition } from "../../plugins/resource_agent.ts";

/** One operation for the executor to run. */
export interface OperationRequest {
  /** The resource the operation is for. */
  resourceId: string;
  /** The agent implementing the resource. */
  agent: ResourceAgentDefinition;
  /** Which action to run. */
  action: "start" | "stop" | "monitor";
  /** Raw parameters; parsed with the agent's `params` schema before running. */
  params: Record<string, unknown>;
  /** Timeout in ms, counted from when the operation starts running (after any queueing);
   * defaults to the agent's timeout for the action. */
  timeoutMs?: number;
}

/** The outcome of one operation. */
export interface OperationResult {
  /** The OCF code: the agent's, or ERR_GENERIC / ERR_CONFIGURED when the executor decided. */
  rc: number;
  /**
   * - `done`: the agent settled with `rc`;
   * - `timeout`: the agent did not settle in time (rc ERR_GENERIC);
   * - `error`: the agent threw or returned something that is not an OCF code (rc ERR_GENERIC);
   * - `invalid-params`: the parameters failed the agent's schema; the agent was not run
   *   (rc ERR_CONFIGURED).
   */
  status: "done" | "timeout" | "error" | "invalid-params";
  /** How long the operation ran, excluding time spent queued. */
  durationMs: number;
  /** The lines the agent logged (plus the executor's own notes), at most 64 KiB, keeping the tail. */
  output: string;
}

/** Bound of {@link OperationResult.output}, in UTF-8 bytes. */
const MAX_OUTPUT_BYTES = 64 * 1024;
const TRUNCATED_MARK = "[output truncated]";
const TIMED_OUT: unique symbol = Symbol("timed out");

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function byteLength(s: string): number {
  return encoder.encode(s).length;
}

/** Keeps the most recent lines of output within {@link MAX_OUTPUT_BYTES}. */
class OutputTail {
  #lines: string[] = [];
  #bytes = 0; // bytes of #lines joined with "\n"
  #truncated = false;
  #closed = false;

  push(line: string): void {
    if (this.#closed) return;
    this.#lines.push(line);
    this.#bytes += byteLength(line) + (this.#lines.length > 1 ? 1 : 0);
    if (this.#bytes > MAX_OUTPUT_BYTES) this.#truncated = true;
    if (!this.#truncated) return;
    // Once truncated, leave room for the mark line so the whole text stays within bound.
    const budget = MAX_OUTPUT_BYTES - byteLength(TRUNCATED_MARK) - 1;
    while (this.#bytes > budget && this.#lines.length > 1) {
      this.#bytes -= byteLength(this.#lines.shift()!) + 1;
    }
    if (this.#bytes > budget) {
      this.#lines[0] = tailBytes(this.#lines[0], budget);
      this.#bytes = byteLength(this.#lines[0]);
    }
  }

  /** Ignores lines logged from now on (e.g. by an agent still running after its timeout). */
  close(): void {
    this.#closed = true;
  }

  text(): string {
    const body = this.#lines.join("\n");
    return this.#truncated ? `${TRUNCATED_MARK}\n${body}` : body;
  }
}

/** The last at most `maxBytes` UTF-8 bytes of `s`, without a broken leading character. */
function tailBytes(s: string, maxBytes: number): string {
  const bytes = encoder.encode(s);
  if (bytes.length <= maxBytes) return s;
  let start = bytes.length - maxBytes;
  // Skip UTF-8 continuation bytes so decoding starts on a character boundary.
  while (start < bytes.length && (bytes[start] & 0xc0) === 0x80) start++;
  return decoder.decode(bytes.subarray(start));
}

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
  /** Monotonic clock in ms, for durations. Default `performance.now()`. */
  now?: () => number;
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
  readonly #now: () => number;
  #running = 0;
  readonly #waiting: Array<() => void> = [];

  /** @param opts see {@link OperationExecutorOptions} */
  constructor(opts: OperationExecutorOptions) {
    const maxConcurrent = opts.maxConcurrent ?? 4;
    if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1) {
      throw new RangeError(`maxConcurrent must be a positive integer, got ${maxConcurrent}`);
    }
    this.#node = opts.node;
    this.#stateDir = opts.stateDir;
    this.#maxConcurrent = maxConcurrent;
    this.#now = opts.now ?? (() => performance.now());
  }

  /** Runs one operation; never rejects for agent failures (they become the result). */
  async run(req: OperationRequest): Promise<OperationResult> {
    const timeoutMs = req.timeoutMs ?? req.agent.timeouts[req.action];
    if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
      throw new RangeError(`timeoutMs must be a positive number, got ${timeoutMs}`);
    }

    const parsed = req.agent.params.safeParse(req.params);
    if (!parsed.success) {
      const output = parsed.error.issues
        .map((issue) => {
          const path = issue.path.length > 0 ? issue.path.map(String).join(".") : "(params)";
          return `invalid params for ${req.agent.name} ${req.resourceId}: ${path}: ${issue.message}`;
        })
        .join("\n");
      return { rc: OCF.ERR_CONFIGURED, status: "invalid-params", durationMs: 0, output };
    }

    await this.#acquire();
    try {
      return await this.#execute(req, parsed.data, timeoutMs);
    } finally {
      this.#release();
    }
  }

  async #execute(
    req: OperationRequest,
    params: unknown,
    timeoutMs: number,
  ): Promise<OperationResult> {
    const out = new OutputTail();
    const controller = new AbortController();
    const started = this.#now();
    const finish = (rc: number, status: OperationResult["status"]): OperationResult => {
      out.close();
      return { rc, status, durationMs: this.#now() - started, output: out.text() };
    };

    // Wrapped in a promise chain so a synchronous throw becomes a rejection too.
    const agentDone = Promise.resolve().then(() =>
      req.agent.actions[req.action]({
        params,
        resourceId: req.resourceId,
        node: this.#node,
        stateDir: this.#stateDir,
        signal: controller.signal,
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
