/**
 * A virtual null-modem cable for serial tests: socat joins two pseudo-terminals,
 * reachable through symlinks `<dir>/ttyA` and `<dir>/ttyB`.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import { sleep } from "./collector.ts";

/** Where socat is expected (installed from Debian's package). */
export const SOCAT = "/usr/bin/socat";

/** A running socat and its two ends. */
export interface NullModem {
  /** Path of one end. */
  a: string;
  /** Path of the other end. */
  b: string;
  /** socat's process id. */
  pid: number;
  /** Stops socat (by its PID) and waits for it to exit. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts socat with two raw pty ends in `dir` and waits (at most 5 s) for both
 * links to appear.
 *
 * @throws Error if socat is missing or the links do not appear (socat is stopped).
 */
export async function startNullModem(dir: string): Promise<NullModem> {
  const a = join(dir, "ttyA");
  const b = join(dir, "ttyB");
  const child = new Deno.Command(SOCAT, {
    args: ["-d", "-d", `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let log = "";
  // Drain socat's log so it never blocks on a full pipe; keep the start for messages.
  const drained = (async () => {
    for (;;) {
      const { value, done } = await stderr.read();
      if (done) return;
      if (log.length < 10_000) log += value;
    }
  })();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      child.kill("SIGTERM");
    } catch {
      // Already exited.
    }
    await child.status;
    await drained;
  };
  const deadline = performance.now() + 5000;
  while (!(existsSync(a) && existsSync(b))) {
    if (performance.now() > deadline) {
      await stop();
      throw new Error(`socat did not create ${a} and ${b} in 5 s:\n${log}`);
    }
    await sleep(20);
  }
  return { a, b, pid: child.pid, stop };
}
