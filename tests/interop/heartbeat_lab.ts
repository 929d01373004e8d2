/**
 * Lab plumbing for the heartbeat interop test: network namespaces, a private heartbeat
 * 3.0.6 instance, the Vigil side (the real daemon, or heartbeat_compat_node.ts) with its
 * JSON stdout lines and `/status`, and cleanup by PID.
 *
 * Network: namespace `vgl-hb-sw` holds bridge `vgl-hb-br0`; node namespaces `vgl-hb-n1`
 * and `vgl-hb-n2` each get a veth `vgl-eth0` with 198.18.71.N/24 and no default route.
 *
 * Heartbeat runs as /work/shared/heartbeat/lab/start-node.sh does: `ip netns exec` +
 * `unshare --uts --mount --propagation private`, a private hostname, and bind mounts of
 * private copies of /etc/ha.d, /var/lib/heartbeat and /run. The mounts live only in that
 * mount namespace and disappear with its last process.
 *
 * @module
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import process from "node:process";
import type { StatusDocument } from "../../core/api/status_app.ts";

/** Names and addresses of the lab; everything is prefixed `vgl` as the test rules require. */
export const LAB = {
  switchNs: "vgl-hb-sw",
  bridge: "vgl-hb-br0",
  nodeNs: ["vgl-hb-n1", "vgl-hb-n2"] as const,
  ifname: "vgl-eth0",
  subnet: "198.18.71",
  broadcast: "198.18.71.255",
} as const;

/** The heartbeat daemon binary of the Debian package. */
export const HEARTBEAT_BIN = "/usr/libexec/heartbeat/heartbeat";

/** @returns why the interop test cannot run here, or undefined if it can. */
export function labUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (network namespaces, mounts)";
  if (!existsSync(HEARTBEAT_BIN)) return `heartbeat is not installed (${HEARTBEAT_BIN} missing)`;
  for (const tool of ["/usr/bin/cl_status", "/usr/bin/nsenter", "/usr/bin/unshare"]) {
    if (!existsSync(tool)) return `${tool} missing`;
  }
  return undefined;
}

/**
 * Run a command to completion with a time bound.
 *
 * @returns its stdout.
 * @throws Error with stderr if it fails or times out.
 */
export function run(cmd: string, args: string[], timeoutMs = 10_000): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: timeoutMs });
  if (r.error || r.status !== 0) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed (status ${r.status}, ${r.error ?? ""}): ${r.stderr}`,
    );
  }
  return r.stdout;
}

/** Delete the lab's namespaces if they exist (a leftover of an aborted run). */
export function netDown(): void {
  const existing = new Set(
    spawnSync("ip", ["netns", "list"], { encoding: "utf8", timeout: 5000 }).stdout
      .split("\n").map((l) => l.split(" ")[0]),
  );
  for (const ns of [...LAB.nodeNs, LAB.switchNs]) {
    if (existing.has(ns)) spawnSync("ip", ["netns", "del", ns], { timeout: 5000 });
  }
}

/** Create the switch and the two node namespaces (as lab/net-up.sh, with our names). */
export function netUp(): void {
  run("ip", ["netns", "add", LAB.switchNs]);
  run("ip", ["-n", LAB.switchNs, "link", "add", LAB.bridge, "type", "bridge"]);
  run("ip", ["-n", LAB.switchNs, "link", "set", LAB.bridge, "up"]);
  run("ip", ["-n", LAB.switchNs, "link", "set", "lo", "up"]);
  LAB.nodeNs.forEach((ns, i) => {
    const swPort = `${ns}s`;
    run("ip", ["netns", "add", ns]);
    run("ip", [
      "link",
      "add",
      swPort,
      "netns",
      LAB.switchNs,
      "type",
      "veth",
      "peer",
      "name",
      LAB.ifname,
      "netns",
      ns,
    ]);
    run("ip", ["-n", LAB.switchNs, "link", "set", swPort, "master", LAB.bridge]);
    run("ip", ["-n", LAB.switchNs, "link", "set", swPort, "up"]);
    run("ip", [
      "-n",
      ns,
      "addr",
      "add",
      `${LAB.subnet}.${i + 1}/24`,
      "brd",
      LAB.broadcast,
      "dev",
      LAB.ifname,
    ]);
    run("ip", ["-n", ns, "link", "set", LAB.ifname, "up"]);
    run("ip", ["-n", ns, "link", "set", "lo", "up"]);
  });
}

/** @returns the PIDs of processes in a network namespace (empty if it does not exist). */
export function pidsInNetns(ns: string): number[] {
  const r = spawnSync("ip", ["netns", "pids", ns], { encoding: "utf8", timeout: 5000 });
  return (r.stdout ?? "").split("\n").filter((l) => /^\d+$/.test(l)).map(Number);
}

/** Settings of one heartbeat instance. */
export interface HeartbeatConfig {
  /** Its node name (hostname inside its UTS namespace). */
  node: string;
  /** Every `node` line, including itself. */
  nodes: string[];
  /** authkeys content. */
  authkeys: string;
}

/**
 * Prepare the private directories of one heartbeat instance under `dir`: copies of
 * /etc/ha.d and /var/lib/heartbeat, an empty run dir, ha.cf, an empty haresources and a
 * mode-600 authkeys. Timers: keepalive 200 ms, deadtime 2 s (must exceed 2 x keepalive),
 * warntime 1 s, initdead 4 s (must be >= deadtime; heartbeat warns below 10 s).
 */
export function prepareHeartbeat(dir: string, cfg: HeartbeatConfig): void {
  mkdirSync(dir, { recursive: true });
  const etc = join(dir, "etc-ha.d");
  // cp -a keeps owners and modes (ccm/crm dirs belong to hacluster), as lab/start-node.sh.
  run("cp", ["-a", "/etc/ha.d", etc]);
  run("cp", ["-a", "/var/lib/heartbeat", join(dir, "varlib")]);
  mkdirSync(join(dir, "run"));
  writeFileSync(
    join(etc, "ha.cf"),
    [
      `logfile ${join(dir, "ha-log")}`,
      `debugfile ${join(dir, "ha-debug")}`,
      "logfacility none",
      "use_logd off",
      "keepalive 200ms",
      "deadtime 2",
      "warntime 1",
      "initdead 4",
      "udpport 694",
      `bcast ${LAB.ifname}`,
      "auto_failback off",
      ...cfg.nodes.map((n) => `node ${n}`),
      "crm off",
      "",
    ].join("\n"),
  );
  writeFileSync(join(etc, "haresources"), "");
  writeFileSync(join(etc, "authkeys"), cfg.authkeys);
  chmodSync(join(etc, "authkeys"), 0o600);
}

/**
 * Start heartbeat in namespace `ns` with its private hostname and directories. It
 * daemonizes; its master PID is read from the private /run/heartbeat.pid.
 *
 * @returns the master control process PID.
 */
export async function startHeartbeat(dir: string, ns: string, node: string): Promise<number> {
  const script = [
    `hostname ${node}`,
    `mount --bind ${join(dir, "etc-ha.d")} /etc/ha.d`,
    `mount --bind ${join(dir, "varlib")} /var/lib/heartbeat`,
    `mount --bind ${join(dir, "run")} /run`,
    "mkdir -p /run/heartbeat/ccm /run/heartbeat/crm /run/heartbeat/dopd " +
    "/run/heartbeat/rsctmp /run/resource-agents /run/lock",
    "chown hacluster:haclient /run/heartbeat /run/heartbeat/ccm /run/heartbeat/crm " +
    "/run/heartbeat/dopd",
    "chmod 1777 /run/heartbeat/rsctmp",
    HEARTBEAT_BIN,
  ].join(" && ");
  const r = spawnSync(
    "ip",
    [
      "netns",
      "exec",
      ns,
      "unshare",
      "--uts",
      "--mount",
      "--propagation",
      "private",
      "sh",
      "-c",
      script,
    ],
    { encoding: "utf8", timeout: 15_000 },
  );
  if (r.error || r.status !== 0) {
    throw new Error(`heartbeat did not start (status ${r.status}): ${r.stderr}`);
  }
  const pidFile = join(dir, "run", "heartbeat.pid");
  for (let i = 0; i < 50; i++) {
    if (existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, "utf8").trim());
      if (Number.isInteger(pid) && pid > 1 && existsSync(`/proc/${pid}`)) return pid;
    }
    await sleep(100);
  }
  throw new Error(`no ${pidFile} after 5 s; log: ${tail(join(dir, "ha-log"), 20)}`);
}

/** @returns the last `lines` lines of a file ("" if missing). */
export function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

/** @returns every live descendant of `root` (children first-level, then theirs), via /proc PPid. */
export function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, "utf8");
      const m = /^PPid:\s+(\d+)$/m.exec(status);
      if (m) parent.set(Number(entry), Number(m[1]));
    } catch {
      // The process exited while we looked.
    }
  }
  const out: number[] = [];
  let frontier = [root];
  // Bounded: each round descends one level and a tree has no cycles.
  for (let depth = 0; depth < 16 && frontier.length > 0; depth++) {
    const next: number[] = [];
    for (const [pid, ppid] of parent) if (frontier.includes(ppid)) next.push(pid);
    out.push(...next);
    frontier = next;
  }
  return out;
}

/** @returns true while `/proc/<pid>` exists and is not a zombie. */
export function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
}

function signal(pids: number[], sig: "SIGTERM" | "SIGKILL"): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // Already gone.
    }
  }
}

/**
 * Stop a process and its descendants: SIGTERM to `pid`, then after `graceMs` SIGKILL to
 * it and every descendant still alive.
 *
 * @returns how it ended and when (ms, Date.now()) it was last signalled.
 */
export async function stopTree(
  pid: number,
  graceMs: number,
): Promise<{ how: "exited" | "killed"; lastSignalAt: number; goneAt: number }> {
  const tree = [pid, ...descendants(pid)];
  let lastSignalAt = Date.now();
  signal([pid], "SIGTERM");
  for (let waited = 0; waited < graceMs && alive(pid); waited += 50) await sleep(50);
  let how: "exited" | "killed" = "exited";
  if (alive(pid)) {
    how = "killed";
    lastSignalAt = Date.now();
    signal([pid, ...descendants(pid), ...tree], "SIGKILL");
  }
  for (let i = 0; i < 100 && tree.some(alive); i++) await sleep(20);
  signal(tree.filter(alive), "SIGKILL");
  return { how, lastSignalAt, goneAt: Date.now() };
}

/** Run cl_status inside heartbeat's namespaces (mount for its /run, UTS, network). */
export function clStatus(pid: number, args: string[]): string {
  const r = spawnSync("nsenter", ["-t", String(pid), "-m", "-u", "-n", "cl_status", ...args], {
    encoding: "utf8",
    timeout: 3000,
  });
  return (r.stdout ?? "").trim() ||
    `<${r.error ? "timeout" : `status ${r.status}`}: ${r.stderr?.trim()}>`;
}

/** A promise resolved after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Most stdout lines kept per child (the daemon prints a few dozen in one test). */
const MAX_LINES = 5000;
/** Most stderr chunks kept per child. */
const MAX_STDERR_CHUNKS = 500;

/** One JSON object a child printed on stdout, with the time (Date.now()) the test read it. */
export type JsonLine<T> = T & { readAt: number };

/** A child started in a namespace, and what it printed so far. */
export interface LineChild<T> {
  /** The child (`ip netns exec` execs, so its PID is the program's own). */
  child: ChildProcess;
  /** Its stdout lines that parsed as JSON and passed the guard, in order. */
  lines: JsonLine<T>[];
  /** Its stderr, plus notes on stdout lines that were not kept. */
  stderr: string[];
}

function note<T>(proc: LineChild<T>, text: string): void {
  if (proc.stderr.length < MAX_STDERR_CHUNKS) proc.stderr.push(text);
}

/**
 * Start `argv` in namespace `ns` and collect its stdout as JSON lines.
 *
 * @param guard which parsed lines to keep (others are noted in `stderr`).
 */
export function spawnInNetns<T>(
  ns: string,
  argv: string[],
  guard: (value: unknown) => value is T,
): LineChild<T> {
  const child = spawn("ip", ["netns", "exec", ns, ...argv], { stdio: ["ignore", "pipe", "pipe"] });
  const proc: LineChild<T> = { child, lines: [], stderr: [] };
  let buffer = "";
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (chunk: string) => {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        note(proc, `unparsable stdout: ${line}\n`);
        continue;
      }
      if (!guard(value)) note(proc, `unexpected stdout: ${line}\n`);
      else if (proc.lines.length >= MAX_LINES) note(proc, `line dropped (buffer full): ${line}\n`);
      else proc.lines.push({ ...value, readAt: Date.now() });
    }
  });
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => note(proc, chunk));
  return proc;
}

/**
 * Wait (bounded) until `predicate` finds a line.
 *
 * @returns the line, or undefined after `timeoutMs` or once the child has exited.
 */
export async function waitForLine<T>(
  proc: LineChild<T>,
  predicate: (l: JsonLine<T>) => boolean,
  timeoutMs: number,
): Promise<JsonLine<T> | undefined> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const hit = proc.lines.find(predicate);
    if (hit) return hit;
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) break;
    await sleep(25);
  }
  return proc.lines.find(predicate);
}

/** A line of `vigil run --log-format json`: a cluster event (`kind` names it) or a `log` line. */
export interface DaemonLine {
  /** Date.now() of the daemon when it logged the line. */
  at: number;
  /** The logging node. */
  node: string;
  /** Event kind (`heartbeat-node`, `membership` ...) or `log`. */
  kind: string;
  /** Human-readable text. */
  text: string;
  /** The node the event is about, if any. */
  subject?: string;
}

/** @returns whether `value` has the shape of a {@link DaemonLine}. */
export function isDaemonLine(value: unknown): value is DaemonLine {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.at === "number" && typeof v.node === "string" && typeof v.kind === "string" &&
    typeof v.text === "string" && (v.subject === undefined || typeof v.subject === "string");
}

/**
 * Start the real Vigil daemon (`main.ts run --config FILE --log-format json`) in
 * namespace `ns`.
 */
export function startVigilDaemon(
  ns: string,
  deno: string,
  mainTs: string,
  configFile: string,
): LineChild<DaemonLine> {
  return spawnInNetns(
    ns,
    [deno, "run", "-A", mainTs, "run", "--config", configFile, "--log-format", "json"],
    isDaemonLine,
  );
}

/**
 * GET `url` from inside namespace `ns` (where the daemon's loopback API is): curl when
 * installed (CI installs it), else a one-line `deno eval`.
 *
 * @returns the response body.
 * @throws Error if the request fails, times out or answers with an HTTP error.
 */
export function fetchInNetns(ns: string, url: string, deno: string): string {
  const argv = existsSync("/usr/bin/curl") ? ["curl", "-fsS", "--max-time", "2", url] : [
    deno,
    "eval",
    `const r = await fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(2000) });` +
    `if (!r.ok) throw new Error("HTTP " + r.status); console.log(await r.text());`,
  ];
  const r = spawnSync("ip", ["netns", "exec", ns, ...argv], { encoding: "utf8", timeout: 5000 });
  if (r.error || r.status !== 0) {
    throw new Error(
      `GET ${url} in ${ns} failed (status ${r.status}, ${r.error ?? ""}): ${r.stderr}`,
    );
  }
  return r.stdout;
}

/** @returns the daemon's `GET /status` document, read from inside namespace `ns`. */
export function vigilStatus(ns: string, api: string, deno: string): StatusDocument {
  return JSON.parse(fetchInNetns(ns, `http://${api}/status`, deno)) as StatusDocument;
}

/** A line printed by heartbeat_compat_node.ts. */
export interface CompatLine {
  /** `ready`, `event` or `stats`. */
  kind: string;
  /** Date.now() of the compat node when it printed the line. */
  wallMs: number;
  /** The peer event of an `event` line. */
  event?: { type: string; node: string; [k: string]: unknown };
  [k: string]: unknown;
}

/** @returns whether `value` has the shape of a {@link CompatLine}. */
export function isCompatLine(value: unknown): value is CompatLine {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.kind === "string" && typeof v.wallMs === "number";
}

/** What {@link tearDownLab} removes. */
export interface LabLeftovers {
  /** Children the test started (SIGTERM, then SIGKILL after the grace period). */
  children: ChildProcess[];
  /** Heartbeat's master PID, if it was started. */
  hbPid: number | undefined;
  /** The test's temporary directory. */
  dir: string;
}

/**
 * Remove everything a lab test created, whatever state it is in: its children, heartbeat,
 * anything else still inside the lab's namespaces (all started by the test: heartbeat's
 * forked helpers), the namespaces and the temporary directory. Never throws.
 *
 * @param graceMs how long each child may take to exit after SIGTERM.
 */
export async function tearDownLab(left: LabLeftovers, graceMs = 2000): Promise<void> {
  for (const child of left.children) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      await stopTree(child.pid, graceMs).catch(() => {});
    }
  }
  if (left.hbPid !== undefined && alive(left.hbPid)) {
    await stopTree(left.hbPid, 500).catch(() => {});
  }
  for (const ns of LAB.nodeNs) signal(pidsInNetns(ns), "SIGKILL");
  try {
    netDown();
  } catch {
    // Reported by the next run's netUp if it matters.
  }
  try {
    rmSync(left.dir, { recursive: true, force: true });
  } catch {
    // Under the system's temporary directory: cleaned up eventually.
  }
}
