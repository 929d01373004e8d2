/**
 * ping: a quorum device that measures this node's connectivity, like Heartbeat's
 * `ping` / `ping_group` with ipfail and Pacemaker's pingd.
 *
 * Each check runs the system ping (iputils: `ping -n -q -c 1 -W <seconds> <host>`) for
 * every configured host in parallel. It gives no votes. Its score is added to this node's
 * placement score for every resource, so resources move to the nodes that still reach the
 * outside world (a router, the default gateway):
 *
 * - `group: false` (ping nodes): each host that answers adds `multiplier`;
 * - `group: true` (ping_group): the hosts are one unit, and any answer adds `multiplier` once.
 *
 * iputils' `-W` takes a real number of seconds; `-w` (deadline) takes whole seconds only
 * and, when given, replaces `-W`'s wait, so it is not used. Instead every ping runs in its
 * own process group, which is SIGKILLed, children included, when `timeoutMs` (plus a short
 * grace) passes or the check is aborted. An old ping that reads `-W` as whole seconds, or a
 * name lookup that hangs, is cut off the same way.
 *
 * @example
 * ```json
 * { "device": "ping", "params": { "hosts": ["192.0.2.1", "192.0.2.2"], "multiplier": 100 } }
 * ```
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { z } from "zod";
import {
  defineQuorumDevice,
  MAX_DETAIL_CHARS,
  type QuorumDeviceContext,
  type QuorumDeviceInstance,
  type QuorumDeviceReading,
} from "./quorum_device.ts";

/** The most hosts one device pings (one process each, per check). */
export const MAX_PING_HOSTS = 32;
/** How long after `timeoutMs` a ping that has not exited is killed. */
export const PING_GRACE_MS = 500;
/** Most bytes of a ping's stderr kept for the detail sentence. */
const MAX_STDERR_BYTES = 1024;

/** A host name or address; never an option (no leading `-`). */
const host = z.string().min(1).max(253).regex(/^[A-Za-z0-9_.:%][A-Za-z0-9_.:%-]*$/, {
  error: "expected a host name or IP address",
});

/** The parameters of a ping device. */
export const pingParamsSchema = z.object({
  hosts: z.array(host).min(1).max(MAX_PING_HOSTS).describe("hosts to ping (addresses or names)"),
  multiplier: z.number().int().min(0).max(1_000_000).default(1000).describe(
    "score added per reachable host (once in total when group is true)",
  ),
  timeoutMs: z.number().int().min(10).max(60_000).default(1000).describe(
    "how long to wait for each host's answer, ms",
  ),
  group: z.boolean().default(false).describe(
    "treat the hosts as one ping_group: any answer counts once",
  ),
  command: z.string().min(1).default("ping").describe(
    "the ping program (iputils command line)",
  ),
});

/** Parsed ping parameters. */
export type PingParams = z.output<typeof pingParamsSchema>;

/** The outcome of pinging one host. */
export interface PingOutcome {
  /** The host pinged. */
  host: string;
  /** Whether it answered (ping exited 0). */
  reachable: boolean;
  /** Why not, when it did not: exit code, signal or error, and ping's message. */
  why: string;
}

/** The seconds argument of `-W` for `timeoutMs`: whole seconds when exact, else fractional. */
export function waitSeconds(timeoutMs: number): string {
  return timeoutMs % 1000 === 0 ? String(timeoutMs / 1000) : (timeoutMs / 1000).toFixed(3);
}

/** The argument list of one ping of `hostName`. */
export function pingArgs(hostName: string, timeoutMs: number): string[] {
  return ["-n", "-q", "-c", "1", "-W", waitSeconds(timeoutMs), hostName];
}

/** SIGKILLs the whole process group of `child` (it was spawned detached, as its leader). */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // ESRCH: the group is already gone.
  }
}

/**
 * Pings `hostName` once with `command`, bounded by `timeoutMs` + {@link PING_GRACE_MS} and
 * by `signal`. Never rejects; resolves once the process has closed.
 */
export function pingOnce(
  command: string,
  hostName: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<PingOutcome> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve({ host: hostName, reachable: false, why: "aborted" });
      return;
    }
    let child: ChildProcess;
    try {
      // detached: its own process group, so a kill reaches whatever it started too.
      child = spawn(command, pingArgs(hostName, timeoutMs), {
        detached: true,
        stdio: ["ignore", "ignore", "pipe"],
        env: { ...process.env, LC_ALL: "C" },
      });
    } catch (err) {
      resolve({ host: hostName, reachable: false, why: `cannot run ${command}: ${String(err)}` });
      return;
    }
    let stderr = "";
    let killedFor: string | null = null;
    let settled = false;
    child.stderr?.on("data", (chunk: Uint8Array) => {
      if (stderr.length < MAX_STDERR_BYTES) {
        stderr += new TextDecoder().decode(chunk).slice(0, MAX_STDERR_BYTES - stderr.length);
      }
    });
    const kill = (why: string) => {
      if (settled || killedFor !== null) return;
      killedFor = why;
      killGroup(child);
    };
    const onAbort = () => kill("aborted");
    const deadline = setTimeout(
      () => kill(`no answer within ${timeoutMs + PING_GRACE_MS} ms, killed`),
      timeoutMs + PING_GRACE_MS,
    );
    signal.addEventListener("abort", onAbort, { once: true });
    const finish = (outcome: PingOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      signal.removeEventListener("abort", onAbort);
      resolve(outcome);
    };
    child.on("error", (err) => {
      finish({ host: hostName, reachable: false, why: `cannot run ${command}: ${err.message}` });
    });
    child.on("close", (code, sig) => {
      const message = stderr.trim().split("\n").at(-1) ?? "";
      if (killedFor !== null) {
        finish({ host: hostName, reachable: false, why: killedFor });
      } else if (code === 0) {
        finish({ host: hostName, reachable: true, why: "" });
      } else {
        const status = code !== null ? `exit ${code}` : `signal ${sig}`;
        finish({
          host: hostName,
          reachable: false,
          why: message ? `${status}: ${message}` : status,
        });
      }
    });
  });
}

/** Creates a ping instance (the device's `create`). */
export function createPingNode(params: PingParams, ctx: QuorumDeviceContext): QuorumDeviceInstance {
  // Aborted by stop(), so that a check in flight kills its pings too.
  const stopping = new AbortController();
  const label = params.group ? "ping group" : "ping";

  async function check(checkSignal: AbortSignal): Promise<QuorumDeviceReading> {
    if (stopping.signal.aborted) {
      return { votes: 0, score: 0, healthy: false, detail: `${label}: stopped` };
    }
    const signal = AbortSignal.any([checkSignal, stopping.signal]);
    signal.throwIfAborted();
    const outcomes = await Promise.all(
      params.hosts.map((h) => pingOnce(params.command, h, params.timeoutMs, signal)),
    );
    // Every child has closed by now; an abort is reported as such rather than as a reading.
    signal.throwIfAborted();
    const answered = outcomes.filter((o) => o.reachable).map((o) => o.host);
    const silent = outcomes.filter((o) => !o.reachable);
    for (const o of silent) ctx.log(`${label}: ${o.host}: ${o.why}`);
    const score = params.group
      ? (answered.length > 0 ? params.multiplier : 0)
      : answered.length * params.multiplier;
    const parts = [
      `${answered.length} of ${outcomes.length} hosts answered` +
      (answered.length > 0 ? ` (${answered.join(", ")})` : ""),
      ...(silent.length > 0
        ? [`no answer from ${silent.map((o) => `${o.host} [${o.why}]`).join(", ")}`]
        : []),
    ];
    return {
      votes: 0,
      score,
      healthy: answered.length > 0,
      detail: `${label}: ${parts.join("; ")}`.slice(0, MAX_DETAIL_CHARS),
    };
  }

  return {
    check,
    stop: () => {
      stopping.abort(new Error(`${label}: stopped`));
      return Promise.resolve();
    },
  };
}

/** The ping quorum device. */
export default defineQuorumDevice<PingParams>({
  kind: "quorum-device",
  name: "ping",
  version: "1.0.0",
  description: "connectivity score from pinging hosts (Heartbeat ping/ping_group, pingd)",
  params: pingParamsSchema,
  votes: () => 0,
  intervalMs: 5000,
  timeoutMs: 3000,
  create: createPingNode,
});
