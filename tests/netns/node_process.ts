/**
 * One real Vigil node process in a network namespace, as the end-to-end lab tests run
 * it: `ip netns exec NS <vigil> run --config FILE --log-format json`, from the
 * repository root.
 *
 * `<vigil>` is `./node_modules/.bin/deno run -A main.ts`, or the binary named by the
 * `VIGIL_BIN` environment variable (e.g. `VIGIL_BIN=dist/vigil`). `ip netns exec`
 * replaces itself with that program, so the PID we hold is the daemon's own: SIGTERM
 * reaches it directly. Standard input is a pipe and the daemon runs with
 * `--exit-on-stdin-close`, so it also stops if the test process dies.
 *
 * Every JSON event line is kept with its arrival time (`performance.now()` of the
 * test process, the clock the lab's cut instants use). `GET /status` is read inside
 * the namespace (the API listens on the namespace's own loopback, which the test
 * process cannot reach) by a short `deno eval`.
 *
 * @example
 * ```ts
 * const n1 = VigilNode.start({ name: "n1", ns: lab.node("n1").ns, configFile });
 * try {
 *   await n1.waitForEvent((e) => e.kind === "membership", { timeoutMs: 10_000, what: "a membership" });
 *   console.log((await n1.status()).links);
 * } finally {
 *   await n1.stop();
 * }
 * ```
 * @module
 */

import { isAbsolute, join } from "node:path";
import type { StatusDocument } from "../../core/api/status_app.ts";
import { IP } from "./lab.ts";

/** The repository root (node processes run from here). */
export const ROOT = new URL("../../", import.meta.url).pathname;

/** Where the API of every lab node listens, inside its own namespace. */
export const API_ADDRESS = "127.0.0.1:7500";

const DENO = join(ROOT, "node_modules/.bin/deno");
/** Most events kept per node. */
export const MAX_EVENTS = 5000;
const MAX_TAIL_LINES = 60;
const POLL_MS = 10;
const STATUS_TIMEOUT_MS = 5000;
const TERM_GRACE_MS = 5000;

/** A cluster event as a node logged it, with when the test process read it. */
export interface ObservedEvent {
  /** The node that logged it. */
  node: string;
  /** Event kind (node-lost, membership, link-down, ...). */
  kind: string;
  /** Its sentence. */
  text: string;
  /** The peer or resource it is about, if any. */
  subject?: string;
  /** Wall-clock ms when the node logged it. */
  at: number;
  /** `performance.now()` of the test process when the line arrived. */
  arrivedAt: number;
}

/** The `/status` document as the lab tests read it (parsed JSON: check before trusting). */
export type LabStatus = StatusDocument;

/** How to start one node. */
export interface VigilNodeOptions {
  /** Node name (for messages). */
  name: string;
  /** Namespace to run it in. */
  ns: string;
  /** Its configuration file. */
  configFile: string;
}

/** Options of {@link VigilNode.waitForEvent}. */
export interface WaitOptions {
  /** Only events that arrived at or after this `performance.now()` instant count. */
  since?: number;
  /** Give up after this long. */
  timeoutMs: number;
  /** What is awaited, for the error message. */
  what: string;
}

/** The command line that starts Vigil: `VIGIL_BIN` if set, else deno on main.ts. */
export function vigilCommand(): string[] {
  const bin = Deno.env.get("VIGIL_BIN");
  if (bin) return [isAbsolute(bin) ? bin : join(ROOT, bin)];
  return [DENO, "run", "-A", join(ROOT, "main.ts")];
}

/** Sleeps `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A running node process. */
export class VigilNode {
  /** Node name. */
  readonly name: string;
  /** Its namespace. */
  readonly ns: string;
  /** Every event it logged so far, in arrival order (the first {@link MAX_EVENTS}). */
  readonly events: ObservedEvent[] = [];
  readonly #child: Deno.ChildProcess;
  readonly #tail: string[] = [];
  readonly #drained: Promise<void>;
  #exit: Deno.CommandStatus | undefined;
  #stopped = false;

  private constructor(opts: VigilNodeOptions) {
    this.name = opts.name;
    this.ns = opts.ns;
    const [cmd, ...args] = vigilCommand();
    this.#child = new Deno.Command(IP, {
      args: [
        "netns",
        "exec",
        opts.ns,
        cmd,
        ...args,
        "run",
        "--config",
        opts.configFile,
        "--log-format",
        "json",
        "--exit-on-stdin-close",
      ],
      cwd: ROOT,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child.status.then((s) => this.#exit = s);
    this.#drained = Promise.all([
      this.#readLines(this.#child.stdout, (line) => this.#onStdout(line)),
      this.#readLines(this.#child.stderr, (line) => this.#keep(`stderr: ${line}`)),
    ]).then(() => {});
  }

  /** Starts a node process. */
  static start(opts: VigilNodeOptions): VigilNode {
    return new VigilNode(opts);
  }

  /** The process id (the daemon's own, since `ip netns exec` execs it). */
  get pid(): number {
    return this.#child.pid;
  }

  /** Whether the process has exited. */
  get exited(): boolean {
    return this.#exit !== undefined;
  }

  /** The last lines it printed (events, log lines, stderr), for failure messages. */
  tail(): string {
    return `--- ${this.name} (pid ${this.pid}${
      this.#exit ? `, exited ${this.#exit.code}` : ""
    }) ---\n${this.#tail.join("\n")}`;
  }

  /** Events that arrived at or after `since` and match `pred`. */
  eventsSince(since: number, pred: (e: ObservedEvent) => boolean = () => true): ObservedEvent[] {
    return this.events.filter((e) => e.arrivedAt >= since && pred(e));
  }

  /**
   * The first event (arrived at or after `since`) that matches `pred`; waits for it at
   * most `timeoutMs`.
   *
   * @throws Error naming `what` on timeout or exit (see {@link withNodeOutput}).
   */
  async waitForEvent(
    pred: (e: ObservedEvent) => boolean,
    opts: WaitOptions,
  ): Promise<ObservedEvent> {
    const since = opts.since ?? 0;
    const deadline = performance.now() + opts.timeoutMs;
    let checked = 0;
    for (;;) {
      for (; checked < this.events.length; checked++) {
        const e = this.events[checked];
        if (e.arrivedAt >= since && pred(e)) return e;
      }
      if (this.exited) throw new Error(`${this.name} exited waiting for ${opts.what}`);
      if (performance.now() > deadline) {
        throw new Error(`${this.name}: no ${opts.what} within ${opts.timeoutMs} ms`);
      }
      await sleep(POLL_MS);
    }
  }

  /** Reads `GET /status` inside the node's namespace. */
  async status(): Promise<LabStatus> {
    const url = `http://${API_ADDRESS}/status`;
    const code = `const r = await fetch(${JSON.stringify(url)}, ` +
      `{ signal: AbortSignal.timeout(${STATUS_TIMEOUT_MS - 1000}) }); ` +
      `if (!r.ok) throw new Error("HTTP " + r.status); console.log(await r.text());`;
    const out = await new Deno.Command(IP, {
      args: ["netns", "exec", this.ns, DENO, "eval", code],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(STATUS_TIMEOUT_MS),
    }).output();
    const text = new TextDecoder().decode(out.stdout).trim();
    if (out.code !== 0) {
      const stderr = new TextDecoder().decode(out.stderr).trim();
      throw new Error(`${this.name}: GET ${url} failed: ${stderr}`);
    }
    return JSON.parse(text) as LabStatus;
  }

  /**
   * Polls `/status` every `intervalMs` until `pred` holds; at most `timeoutMs`.
   *
   * @returns the document that satisfied `pred`.
   * @throws Error naming `what`, with the last document's relevant parts, on timeout.
   */
  async waitForStatus(
    pred: (s: LabStatus) => boolean,
    opts: { timeoutMs: number; what: string; intervalMs?: number },
  ): Promise<LabStatus> {
    const deadline = performance.now() + opts.timeoutMs;
    let last: LabStatus | undefined;
    let lastError: unknown;
    for (;;) {
      try {
        last = await this.status();
        if (pred(last)) return last;
      } catch (e) {
        // The API may not listen yet right after start.
        lastError = e;
      }
      if (performance.now() > deadline) {
        const shown = last
          ? JSON.stringify({
            membership: last.membership,
            alive: last.alive,
            quorum: last.quorum,
            lrm: last.lrm,
            devices: last.devices,
          })
          : String(lastError);
        throw new Error(`${this.name}: ${opts.what} not seen in ${opts.timeoutMs} ms: ${shown}`);
      }
      await sleep(opts.intervalMs ?? 100);
    }
  }

  /**
   * Stops the process: SIGTERM, then SIGKILL if it has not exited within `graceMs`.
   * Waits for it and for its output to drain. Idempotent, never throws.
   */
  async stop(graceMs = TERM_GRACE_MS): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#signal("SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const killed = await Promise.race([
      this.#child.status.then(() => false),
      new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(true), graceMs)),
    ]);
    clearTimeout(timer);
    if (killed) {
      this.#keep(`(no exit ${graceMs} ms after SIGTERM: SIGKILL)`);
      this.#signal("SIGKILL");
    }
    await this.#child.status;
    await this.#child.stdin.close().catch(() => {});
    await this.#drained;
  }

  #signal(signal: Deno.Signal): void {
    if (this.exited) return;
    try {
      this.#child.kill(signal);
    } catch {
      // It exited between the check and the signal.
    }
  }

  async #readLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) {
    let rest = "";
    try {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        rest += chunk;
        let i: number;
        while ((i = rest.indexOf("\n")) >= 0) {
          onLine(rest.slice(0, i));
          rest = rest.slice(i + 1);
        }
      }
    } catch {
      // The pipe broke: the process is gone.
    }
    if (rest) onLine(rest);
  }

  #onStdout(line: string): void {
    const arrivedAt = performance.now();
    this.#keep(line);
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      return; // not an event line
    }
    const e = raw as Partial<ObservedEvent>;
    if (typeof e.kind !== "string" || e.kind === "log" || typeof e.text !== "string") return;
    // Bounded: a run that logs this much has gone wrong; keep the first ones (waiters index them).
    if (this.events.length >= MAX_EVENTS) return;
    this.events.push({
      node: typeof e.node === "string" ? e.node : this.name,
      kind: e.kind,
      text: e.text,
      ...(typeof e.subject === "string" ? { subject: e.subject } : {}),
      at: typeof e.at === "number" ? e.at : Date.now(),
      arrivedAt,
    });
  }

  #keep(line: string): void {
    this.#tail.push(line);
    if (this.#tail.length > MAX_TAIL_LINES) this.#tail.shift();
  }
}

/** Stops every node in parallel (each SIGTERM, then SIGKILL after its grace). */
export async function stopAll(nodes: readonly VigilNode[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.stop()));
}

/** The members named by a `membership` event ("membership 4: n1, n2"), else null. */
export function membershipOf(e: ObservedEvent): string[] | null {
  if (e.kind !== "membership") return null;
  // "membership 7: n1, n2 (left: n3)": the members come before any parenthesis.
  const m = /^membership \d+: ([^(]*)/.exec(e.text);
  return m ? m[1].split(",").map((s) => s.trim()).filter((s) => s !== "").sort() : null;
}

/**
 * Waits until every node in `nodes` logged (at or after `since`) a membership of
 * exactly `members`; resolves to those events, in the order of `nodes`. Every wait runs
 * to its end before a failure is thrown, so none is left polling after the test.
 */
export async function waitForMembership(
  nodes: readonly VigilNode[],
  members: readonly string[],
  opts: { since?: number; timeoutMs: number },
): Promise<ObservedEvent[]> {
  const want = [...members].sort().join(",");
  const results = await Promise.allSettled(
    nodes.map((n) =>
      n.waitForEvent((e) => membershipOf(e)?.join(",") === want, {
        ...opts,
        what: `membership {${want}}`,
      })
    ),
  );
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<ObservedEvent>).value);
}

/**
 * `error` with the last output of every node appended to its message (failure output
 * must not rely on console output, which `deno test --quiet` hides).
 */
export function withNodeOutput(error: unknown, nodes: readonly VigilNode[]): Error {
  const e = error instanceof Error ? error : new Error(String(error));
  e.message = `${e.message}\n${nodes.map((n) => n.tail()).join("\n")}`;
  return e;
}
