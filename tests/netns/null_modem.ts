/**
 * A virtual null-modem cable between two lab namespaces: socat, run in the root
 * namespace, joins two raw pseudo-terminals reachable through symlinks in a directory.
 * A pty is a file, so a node in any namespace (same filesystem) opens its end by path.
 *
 * `stop()` is the cable cut: socat gets SIGTERM (SIGKILL after a bound) by its PID, and
 * both ptys go away.
 *
 * @example
 * ```ts
 * const cable = await startNullModem("/tmp/lab", "ttyN1", "ttyN2");
 * try {
 *   // configure { type: "serial", device: cable.ends[0] } on n1 and cable.ends[1] on n2
 * } finally {
 *   await cable.stop();
 * }
 * ```
 * @module
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import { sleep } from "./node_process.ts";

/** Where socat is expected (Debian's package). */
export const SOCAT = "/usr/bin/socat";

const START_TIMEOUT_MS = 5000;
const STOP_GRACE_MS = 2000;
const MAX_LOG_CHARS = 10_000;

/** A running socat and the paths of its two ends. */
export interface NullModem {
  /** The two ends (symlinks to the ptys). */
  ends: [string, string];
  /** socat's process id. */
  pid: number;
  /** Stops socat by its PID and waits for it; resolves to the instant before the signal. */
  stop(): Promise<number>;
}

/**
 * Starts `socat -d -d pty,raw,echo=0,link=<dir>/<a> pty,raw,echo=0,link=<dir>/<b>` and
 * waits (at most 5 s) for both links to appear.
 *
 * @throws Error with socat's log if they do not (socat is stopped first).
 */
export async function startNullModem(dir: string, a: string, b: string): Promise<NullModem> {
  const ends: [string, string] = [join(dir, a), join(dir, b)];
  const child = new Deno.Command(SOCAT, {
    args: ["-d", "-d", `pty,raw,echo=0,link=${ends[0]}`, `pty,raw,echo=0,link=${ends[1]}`],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  // Drain socat's log so it never blocks on a full pipe; keep the start for messages.
  const drained = (async () => {
    try {
      for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
        if (log.length < MAX_LOG_CHARS) log += text;
      }
    } catch {
      // socat is gone.
    }
  })();
  let exited = false;
  child.status.then(() => exited = true);
  let stoppedAt: number | undefined;
  const stop = async () => {
    if (stoppedAt !== undefined) return stoppedAt;
    stoppedAt = performance.now();
    const signal = (s: Deno.Signal) => {
      try {
        if (!exited) child.kill(s);
      } catch {
        // It exited between the check and the signal.
      }
    };
    signal("SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = await Promise.race([
      child.status.then(() => false),
      new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(true), STOP_GRACE_MS)),
    ]);
    clearTimeout(timer);
    if (late) signal("SIGKILL");
    await child.status;
    await drained;
    return stoppedAt;
  };
  const deadline = performance.now() + START_TIMEOUT_MS;
  while (!(existsSync(ends[0]) && existsSync(ends[1]))) {
    if (exited || performance.now() > deadline) {
      await stop();
      throw new Error(
        `socat did not create ${ends.join(" and ")} in ${START_TIMEOUT_MS} ms:\n${log}`,
      );
    }
    await sleep(20);
  }
  return { ends, pid: child.pid, stop };
}
