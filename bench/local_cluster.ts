/**
 * A local Vigil cluster for benchmarks and tests: N node daemons (`vigil run --log-format
 * json`) on loopback, node i on address 127.0.0.i (Linux answers all of 127/8 on `lo`),
 * each with free UDP and API ports, in one temporary directory (authkeys mode 600, one
 * config and state directory per node).
 *
 * The launcher spawns each node as its own child process, reads its JSON events line by
 * line and stamps each with `performance.now()` on arrival, so waits and measurements use
 * this process's monotonic clock. It signals only the PIDs it started, and only while they
 * are still its running children; {@link LocalCluster.stop} always stops every node
 * (SIGTERM, then SIGKILL) and removes the directory. Every wait has a time limit and fails
 * early, naming the node, if a node exits that was not asked to.
 *
 * Nodes are started with `--exit-on-stdin-close` and a stdin pipe (unless
 * `stdinLifeline: false`), so they also stop if the launcher's process dies abruptly.
 *
 * @example
 * ```ts
 * const cluster = await LocalCluster.start({ size: 3, keepaliveMs: 100, deadtimeMs: 500 });
 * try {
 *   const agreed = await cluster.waitForAgreement(cluster.names, { timeoutMs: 30_000 });
 *   console.log(`membership ${agreed.membership.generation} of 3`);
 *   const t0 = cluster.kill("n3");
 *   await cluster.waitUntil(() => cluster.membership("n1")?.members.length === 2 || undefined, {
 *     timeoutMs: 10_000,
 *     label: "n1 drops n3",
 *   });
 *   console.log(`${performance.now() - t0} ms`);
 * } finally {
 *   await cluster.stop();
 * }
 * ```
 * @module
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { createInterface } from "node:readline";
import type { StatusDocument } from "../core/api/status_app.ts";
import { freeTcpPort, freeUdpPort } from "../core/demo/free_port.ts";
import { binaryPath, repoRoot, tool } from "../scripts/compile.ts";

/** Most nodes one launcher starts (addresses 127.0.0.1 to 127.0.0.64). */
export const MAX_CLUSTER_SIZE = 64;
/** Events kept in memory by default; the oldest tenth is dropped beyond this. */
export const DEFAULT_MAX_EVENTS = 200_000;
/** Characters of each node's non-event output (stderr, plain lines) kept for diagnostics. */
const OUTPUT_TAIL_CHARS = 4_000;
/** How often a wait re-evaluates its condition when no event arrives, ms. */
const WAIT_POLL_MS = 50;
/** How long {@link LocalCluster.stop} waits after SIGTERM, and then after SIGKILL, ms. */
const STOP_GRACE_MS = 5_000;
const KILL_GRACE_MS = 3_000;

/** One cluster event a node printed, with the time it reached this process. */
export interface NodeLogEvent {
  /** Arrival order within the cluster, from 1. */
  seq: number;
  /** `performance.now()` when this process read the line. */
  arrivedAt: number;
  /** The node's wall-clock time of the event (`Date.now()` in the node). */
  at: number;
  /** Node that printed it. */
  node: string;
  /** Event kind: node-up, node-lost, membership, quorum, dc-elected, link-up, log, ... */
  kind: string;
  /** The node's sentence. */
  text: string;
  /** Peer or resource it is about, if any. */
  subject?: string;
}

/** An agreed membership as a node logged it. */
export interface Membership {
  /** Membership generation. */
  generation: number;
  /** Members in the order the node printed them. */
  members: string[];
}

/** Where one node listens and keeps its files. */
export interface LocalNodeInfo {
  /** Node name, `n1` ... `nN`. */
  name: string;
  /** Heartbeat address, 127.0.0.i. */
  address: string;
  /** Heartbeat UDP port. */
  port: number;
  /** HOST:PORT of its HTTP API. */
  api: string;
  /** Its state directory (kept across restarts, so its incarnation grows). */
  stateDir: string;
  /** Its configuration file. */
  configFile: string;
}

/** How a node process ended. */
export interface NodeExit {
  /** Node name. */
  node: string;
  /** PID of the process that ended. */
  pid: number;
  /** Exit code, or null when ended by a signal. */
  code: number | null;
  /** Signal that ended it, or null. */
  signal: NodeJS.Signals | null;
  /** Whether the launcher had asked it to end (kill, restart, stop). */
  expected: boolean;
}

/** CPU time and resident memory of one process, read from /proc. */
export interface ProcessUsage {
  /** utime + stime in clock ticks (see {@link clockTicksPerSecond}). */
  cpuTicks: number;
  /** VmRSS in KiB. */
  rssKiB: number;
}

/** Options of {@link LocalCluster.start}. */
export interface LocalClusterOptions {
  /** Number of nodes, 1..{@link MAX_CLUSTER_SIZE}. */
  size: number;
  /** Heartbeat interval, ms. */
  keepaliveMs: number;
  /** Silence after which a peer is dead, ms. */
  deadtimeMs: number;
  /** Argument vector prefix that runs vigil (default: `dist/vigil`); see {@link vigilCommand}. */
  command?: readonly string[];
  /** Extra fields merged into every node's configuration (e.g. `{ initdead: "1s" }`). */
  extraConfig?: Readonly<Record<string, unknown>>;
  /** Called with every event as it arrives. */
  onEvent?: (event: NodeLogEvent) => void;
  /** Events kept in memory (default {@link DEFAULT_MAX_EVENTS}). */
  maxEvents?: number;
  /** Give nodes a stdin pipe and `--exit-on-stdin-close` (default true). */
  stdinLifeline?: boolean;
  /** Prefix of the temporary directory's name (default `vigil-cluster-`). */
  tempPrefix?: string;
}

/** Options of a wait. */
export interface WaitOptions {
  /** Give up after this long, ms. */
  timeoutMs: number;
  /** What is waited for, for the error message. */
  label?: string;
}

/** What {@link LocalCluster.stop} did. */
export interface StopReport {
  /** Nodes that were running and got SIGTERM. */
  terminated: number;
  /** How long the nodes took to end after SIGTERM (capped at the grace time), ms. */
  termMs: number;
  /** Nodes that needed SIGKILL after {@link STOP_GRACE_MS}. */
  killed: number;
  /** PIDs still not reaped after SIGKILL (should be empty). */
  stuck: number[];
  /** Whether the temporary directory is gone. */
  dirRemoved: boolean;
}

/** A wait that ran out of time or a cluster that broke while waited on. */
export class ClusterWaitError extends Error {}

/** The argument vector prefix that runs vigil: the compiled binary or main.ts under deno. */
export function vigilCommand(runtime: "binary" | "deno"): string[] {
  return runtime === "binary"
    ? [binaryPath]
    : [tool("deno"), "run", "-A", join(repoRoot, "main.ts")];
}

/**
 * Parses a membership event's text, `membership 7: n1, n2, n3`, possibly followed by a
 * note in parentheses (`(joined: n3; left: n4)`); null if it is not one.
 */
export function parseMembership(text: string): Membership | null {
  // Node names cannot hold parentheses, so the member list ends at the first " (".
  const match = text.match(/^membership (\d+): ([^()]*?)(?: \(.*\))?$/);
  if (!match) return null;
  const members = match[2].split(",").map((m) => m.trim()).filter((m) => m !== "");
  return { generation: Number(match[1]), members };
}

/** Whether `m` has exactly the members `names`, in any order. */
export function hasMembers(m: Membership | null, names: readonly string[]): boolean {
  if (m === null || m.members.length !== names.length) return false;
  const set = new Set(m.members);
  return names.every((n) => set.has(n));
}

/** CPU ticks and RSS of `pid` from /proc; undefined when the process is gone. */
export function readProcessUsage(pid: number): ProcessUsage | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after "(comm) ": state is field 3, utime field 14, stime field 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cpuTicks = Number(fields[11]) + Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const rss = status.match(/^VmRSS:\s+(\d+)\s+kB/m);
    if (!rss || !Number.isFinite(cpuTicks)) return undefined;
    return { cpuTicks, rssKiB: Number(rss[1]) };
  } catch {
    return undefined;
  }
}

/** Clock ticks per second of /proc CPU times (`getconf CLK_TCK`; 100 if that fails). */
export function clockTicksPerSecond(): number {
  const result = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8", timeout: 5_000 });
  const ticks = Number(result.stdout?.trim());
  return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** One node: its fixed addresses and its current process, if any. */
class NodeSlot {
  readonly info: LocalNodeInfo;
  child: ChildProcess | undefined;
  /** Resolves when the current process has exited (or failed to spawn). */
  exited: Promise<void> = Promise.resolve();
  /** Whether the launcher asked the current process to end. */
  ending = false;
  /** Whether the current process has ended (its exit event came, or it failed to spawn). */
  ended = true;
  membership: Membership | null = null;
  output = "";

  constructor(info: LocalNodeInfo) {
    this.info = info;
  }

  get running(): boolean {
    return this.child?.pid !== undefined && !this.ended;
  }

  /**
   * Sends `sig` to the current process if it still runs. This uses process.kill on the
   * child's PID rather than ChildProcess.kill: Deno's ChildProcess.kill marks the child
   * as killed (signalCode set, later kill() calls ignored) and closes its pipes, so a
   * SIGKILL after an ignored SIGTERM would never be sent. The PID cannot have been
   * reused while the child's exit has not been reported.
   */
  signal(sig: NodeJS.Signals): boolean {
    const pid = this.child?.pid;
    if (pid === undefined || this.ended) return false;
    try {
      process.kill(pid, sig);
      return true;
    } catch {
      return false; // it ended in the meantime
    }
  }

  keep(text: string): void {
    this.output = (this.output + text + "\n").slice(-OUTPUT_TAIL_CHARS);
  }
}

/** N vigil node processes on loopback, with their events; see the module documentation. */
export class LocalCluster {
  /** The temporary directory holding keys, configs and state. */
  readonly dir: string;
  /** Node names in order, `n1` ... `nN`. */
  readonly names: readonly string[];
  readonly #opts: LocalClusterOptions;
  readonly #command: readonly string[];
  readonly #slots = new Map<string, NodeSlot>();
  readonly #events: NodeLogEvent[] = [];
  readonly #exits: NodeExit[] = [];
  readonly #pids: number[] = [];
  readonly #listeners = new Set<() => void>();
  readonly #maxEvents: number;
  #seq = 0;
  #lastMembershipAt = -Infinity;
  #stopped: Promise<StopReport> | undefined;

  private constructor(opts: LocalClusterOptions, dir: string, infos: LocalNodeInfo[]) {
    this.#opts = opts;
    this.#command = opts.command ?? vigilCommand("binary");
    this.#maxEvents = Math.max(1_000, opts.maxEvents ?? DEFAULT_MAX_EVENTS);
    this.dir = dir;
    this.names = infos.map((i) => i.name);
    for (const info of infos) this.#slots.set(info.name, new NodeSlot(info));
  }

  /**
   * Writes keys and configs and starts every node. If anything fails, the nodes already
   * started are stopped and the directory removed before the error is thrown.
   */
  static async start(opts: LocalClusterOptions): Promise<LocalCluster> {
    if (!Number.isInteger(opts.size) || opts.size < 1 || opts.size > MAX_CLUSTER_SIZE) {
      throw new RangeError(`size must be 1..${MAX_CLUSTER_SIZE}, not ${opts.size}`);
    }
    if (!(opts.keepaliveMs > 0 && opts.deadtimeMs > opts.keepaliveMs)) {
      throw new RangeError(
        `need 0 < keepalive < deadtime (got ${opts.keepaliveMs} ms, ${opts.deadtimeMs} ms)`,
      );
    }
    const dir = mkdtempSync(join(tmpdir(), opts.tempPrefix ?? "vigil-cluster-"));
    let cluster: LocalCluster | undefined;
    try {
      const authkeys = join(dir, "authkeys");
      writeFileSync(authkeys, `auth 1\n1 sha256 ${randomBytes(32).toString("hex")}\n`, {
        mode: 0o600,
      });
      chmodSync(authkeys, 0o600); // in case the umask widened nothing but the file existed
      const entries = [];
      for (let i = 1; i <= opts.size; i++) {
        const address = `127.0.0.${i}`;
        entries.push({
          name: `n${i}`,
          address,
          port: await freeUdpPort(address),
          api: `${address}:${await freeTcpPort(address)}`,
        });
      }
      const infos: LocalNodeInfo[] = entries.map((e) => ({
        ...e,
        stateDir: join(dir, e.name),
        configFile: join(dir, `${e.name}.json`),
      }));
      for (const info of infos) {
        mkdirSync(info.stateDir, { mode: 0o700 });
        const config = {
          node: info.name,
          nodes: entries,
          authkeys,
          stateDir: info.stateDir,
          keepalive: `${opts.keepaliveMs}ms`,
          deadtime: `${opts.deadtimeMs}ms`,
          resources: [],
          ...opts.extraConfig,
        };
        writeFileSync(info.configFile, JSON.stringify(config, null, 2) + "\n");
      }
      cluster = new LocalCluster(opts, dir, infos);
      for (const name of cluster.names) await cluster.#spawn(name);
      return cluster;
    } catch (e) {
      if (cluster) await cluster.stop();
      else rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** Addresses and files of node `name`. */
  node(name: string): LocalNodeInfo {
    return this.#slot(name).info;
  }

  /** Events received so far (the most recent {@link DEFAULT_MAX_EVENTS} or `maxEvents`). */
  get events(): readonly NodeLogEvent[] {
    return this.#events;
  }

  /** Sequence number of the latest event (0 before any). */
  get lastSeq(): number {
    return this.#seq;
  }

  /** Events with a sequence number above `seq`, optionally of one kind. */
  eventsSince(seq: number, kind?: string): NodeLogEvent[] {
    // Sequence numbers grow along the array: binary search for the first one above seq.
    let lo = 0;
    let hi = this.#events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#events[mid].seq > seq) hi = mid;
      else lo = mid + 1;
    }
    const tail = this.#events.slice(lo);
    return kind === undefined ? tail : tail.filter((e) => e.kind === kind);
  }

  /** `performance.now()` of the latest membership event from any node. */
  get lastMembershipAt(): number {
    return this.#lastMembershipAt;
  }

  /** The latest membership node `name` logged since its current process started. */
  membership(name: string): Membership | null {
    return this.#slot(name).membership;
  }

  /** PID of node `name`'s current process, if it runs. */
  pid(name: string): number | undefined {
    const slot = this.#slot(name);
    return slot.running ? slot.child?.pid : undefined;
  }

  /** Whether node `name` has a running process. */
  running(name: string): boolean {
    return this.#slot(name).running;
  }

  /** Every PID this launcher started, in order. */
  startedPids(): number[] {
    return [...this.#pids];
  }

  /** Processes that ended, in order. */
  exits(): readonly NodeExit[] {
    return this.#exits;
  }

  /** The last output of node `name` that was not an event (stderr, plain lines). */
  outputTail(name: string): string {
    return this.#slot(name).output;
  }

  /**
   * Sends `signal` (default SIGKILL) to node `name`'s process and returns
   * `performance.now()` taken just before. Throws if the node is not running.
   */
  kill(name: string, signal: NodeJS.Signals = "SIGKILL"): number {
    const slot = this.#slot(name);
    if (!slot.running || slot.child?.pid === undefined) {
      throw new Error(`kill ${name}: not running`);
    }
    slot.ending = true;
    const t0 = performance.now();
    slot.signal(signal);
    return t0;
  }

  /** Waits until node `name`'s process has ended; false if it did not within `timeoutMs`. */
  async waitExit(name: string, timeoutMs: number): Promise<boolean> {
    const slot = this.#slot(name);
    const late = Symbol("late");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const result = await Promise.race([
      slot.exited,
      new Promise<symbol>((r) => (timer = setTimeout(() => r(late), timeoutMs))),
    ]);
    clearTimeout(timer);
    return result !== late;
  }

  /**
   * Starts node `name` again with the same configuration and state directory (so its
   * incarnation grows). A running process is killed with SIGKILL first.
   */
  async restart(name: string): Promise<void> {
    if (this.#stopped) throw new Error(`restart ${name}: cluster stopped`);
    const slot = this.#slot(name);
    if (slot.running) this.kill(name, "SIGKILL");
    if (!(await this.waitExit(name, KILL_GRACE_MS))) {
      throw new ClusterWaitError(`restart ${name}: old process ${slot.child?.pid} did not exit`);
    }
    await this.#spawn(name);
  }

  /**
   * Resolves with the first value other than undefined that `check` returns. `check`
   * runs now, after every event, and every {@link WAIT_POLL_MS} ms. Rejects with a
   * {@link ClusterWaitError} after `timeoutMs`, or as soon as a node exits that the
   * launcher did not ask to.
   */
  waitUntil<T>(check: () => T | undefined, opts: WaitOptions): Promise<T> {
    const label = opts.label ?? "condition";
    return new Promise<T>((resolve, reject) => {
      const deadline = performance.now() + opts.timeoutMs;
      let done = false;
      const finish = (settle: () => void) => {
        done = true;
        clearInterval(timer);
        this.#listeners.delete(evaluate);
        settle();
      };
      const evaluate = () => {
        if (done) return;
        let value: T | undefined;
        try {
          value = check();
        } catch (e) {
          return finish(() => reject(e));
        }
        if (value !== undefined) return finish(() => resolve(value as T));
        const crash = this.#exits.find((x) => !x.expected);
        if (crash) {
          const why = crash.signal ?? `exit ${crash.code}`;
          return finish(() =>
            reject(
              new ClusterWaitError(
                `${label}: node ${crash.node} (pid ${crash.pid}) ended unexpectedly (${why})\n${this.diagnostics()}`,
              ),
            )
          );
        }
        if (this.#stopped) {
          return finish(() => reject(new ClusterWaitError(`${label}: cluster stopped`)));
        }
        if (performance.now() >= deadline) {
          return finish(() =>
            reject(
              new ClusterWaitError(
                `${label}: not within ${opts.timeoutMs} ms\n${this.diagnostics()}`,
              ),
            )
          );
        }
      };
      const timer = setInterval(evaluate, WAIT_POLL_MS);
      this.#listeners.add(evaluate);
      evaluate();
    });
  }

  /**
   * Waits until every node in `names` has logged the same membership, made of exactly
   * `names`, and (with `stableMs`) no node logged a membership for `stableMs` since.
   * Resolves with that membership and `performance.now()` when it was first complete.
   */
  async waitForAgreement(
    names: readonly string[],
    opts: WaitOptions & { stableMs?: number },
  ): Promise<{ membership: Membership; reachedAt: number }> {
    const stableMs = opts.stableMs ?? 0;
    let reachedAt: number | undefined;
    let reachedGeneration = -1;
    return await this.waitUntil(() => {
      const first = this.membership(names[0]);
      const agreed = first !== null && hasMembers(first, names) &&
        names.every((n) => this.running(n) && this.membership(n)?.generation === first.generation);
      if (!agreed) {
        reachedAt = undefined;
        return undefined;
      }
      if (reachedAt === undefined || reachedGeneration !== first.generation) {
        reachedAt = this.#lastMembershipAt;
        reachedGeneration = first.generation;
      }
      if (performance.now() - this.#lastMembershipAt < stableMs) return undefined;
      return { membership: first, reachedAt };
    }, { label: `agreement of ${names.join(", ")}`, ...opts });
  }

  /** `GET /status` of node `name`, within `timeoutMs` (default 3 s). */
  async status(name: string, timeoutMs = 3_000): Promise<StatusDocument> {
    const res = await fetch(`http://${this.#slot(name).info.api}/status`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`${name}: GET /status: HTTP ${res.status}`);
    }
    return await res.json() as StatusDocument;
  }

  /** CPU ticks and RSS of node `name`'s running process; undefined if it does not run. */
  usage(name: string): ProcessUsage | undefined {
    const pid = this.pid(name);
    return pid === undefined ? undefined : readProcessUsage(pid);
  }

  /** One line per node: PID, latest membership, last output; for error messages. */
  diagnostics(): string {
    return [...this.#slots.values()].map((s) => {
      const m = s.membership;
      const state = s.running ? `pid ${s.child?.pid}` : "not running";
      const tail = s.output.trim().split("\n").slice(-3).join(" | ");
      return `  ${s.info.name} ${state}, membership ${
        m ? `${m.generation}: ${m.members.join(",")}` : "none"
      }${tail ? `; output: ${tail}` : ""}`;
    }).join("\n");
  }

  /**
   * Stops every node (SIGTERM; SIGKILL after {@link STOP_GRACE_MS}) and removes the
   * directory. Safe to call more than once; later calls return the first report.
   */
  stop(): Promise<StopReport> {
    this.#stopped ??= this.#stopAll();
    return this.#stopped;
  }

  async #stopAll(): Promise<StopReport> {
    const slots = [...this.#slots.values()];
    const running = slots.filter((s) => s.running);
    const t0 = performance.now();
    for (const s of running) {
      s.ending = true;
      s.signal("SIGTERM");
    }
    const all = () => Promise.all(slots.map((s) => s.exited));
    await Promise.race([all(), sleep(STOP_GRACE_MS)]);
    const termMs = performance.now() - t0;
    const late = slots.filter((s) => s.running);
    for (const s of late) s.signal("SIGKILL");
    if (late.length > 0) await Promise.race([all(), sleep(KILL_GRACE_MS)]);
    const stuck = slots.filter((s) => s.running).map((s) => s.child!.pid!);
    for (const s of slots) s.child?.stdin?.destroy();
    rmSync(this.dir, { recursive: true, force: true });
    for (const listener of [...this.#listeners]) listener();
    return {
      terminated: running.length,
      termMs: Math.round(termMs),
      killed: late.length,
      stuck,
      dirRemoved: !existsSync(this.dir),
    };
  }

  #slot(name: string): NodeSlot {
    const slot = this.#slots.get(name);
    if (!slot) throw new Error(`no node ${name} in this cluster (${this.names.join(", ")})`);
    return slot;
  }

  async #spawn(name: string): Promise<void> {
    const slot = this.#slot(name);
    const [cmd, ...prefix] = this.#command;
    const lifeline = this.#opts.stdinLifeline ?? true;
    const args = [...prefix, "run", "--config", slot.info.configFile, "--log-format", "json"];
    if (lifeline) args.push("--exit-on-stdin-close");
    const child = spawn(cmd, args, {
      cwd: this.dir,
      stdio: [lifeline ? "pipe" : "ignore", "pipe", "pipe"],
    });
    slot.child = child;
    slot.ending = false;
    slot.ended = false;
    slot.membership = null;
    slot.exited = new Promise<void>((resolve) => {
      let ended = false;
      const end = (code: number | null, signal: NodeJS.Signals | null) => {
        if (ended) return;
        ended = true;
        if (slot.child === child) slot.ended = true;
        if (child.pid !== undefined) {
          this.#exits.push({ node: name, pid: child.pid, code, signal, expected: slot.ending });
        }
        resolve();
        this.#notify();
      };
      child.once("exit", end);
      child.once("error", (e) => {
        slot.keep(`spawn error: ${e.message}`);
        end(null, null);
      });
    });
    child.stdin?.on("error", () => {/* the node is gone; its exit is recorded */});
    createInterface({ input: child.stdout! }).on("line", (line) => this.#onLine(slot, line));
    createInterface({ input: child.stderr! }).on("line", (line) => slot.keep(line));
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", () => resolve());
      child.once("error", reject);
    });
    this.#pids.push(child.pid!);
  }

  #onLine(slot: NodeSlot, line: string): void {
    const arrivedAt = performance.now();
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      slot.keep(line);
      return;
    }
    const r = raw as Partial<NodeLogEvent>;
    if (typeof r !== "object" || r === null || typeof r.kind !== "string") {
      slot.keep(line);
      return;
    }
    const event: NodeLogEvent = {
      seq: ++this.#seq,
      arrivedAt,
      at: typeof r.at === "number" ? r.at : Date.now(),
      node: typeof r.node === "string" ? r.node : slot.info.name,
      kind: r.kind,
      text: typeof r.text === "string" ? r.text : "",
      ...(typeof r.subject === "string" ? { subject: r.subject } : {}),
    };
    if (event.kind === "membership") {
      const m = parseMembership(event.text);
      if (m) {
        slot.membership = m;
        this.#lastMembershipAt = arrivedAt;
      }
    }
    this.#events.push(event);
    if (this.#events.length > this.#maxEvents) {
      this.#events.splice(0, Math.ceil(this.#maxEvents / 10));
    }
    this.#opts.onEvent?.(event);
    this.#notify();
  }

  #notify(): void {
    for (const listener of [...this.#listeners]) listener();
  }
}
