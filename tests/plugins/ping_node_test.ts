import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import PingNode, {
  createPingNode,
  PING_GRACE_MS,
  pingArgs,
  type PingParams,
  pingParamsSchema,
  waitSeconds,
} from "../../plugins/ping_node.ts";
import { type QuorumDeviceContext, runQuorumDeviceCheck } from "../../plugins/quorum_device.ts";

function context(lines: string[] = []): QuorumDeviceContext {
  let clock = 0;
  return {
    node: "n1",
    nodes: ["n1", "n2"],
    membership: () => ["n1"],
    now: () => (clock += 1000),
    log: (line) => lines.push(line),
  };
}

const params = (overrides: Partial<PingParams> & { hosts: string[] }): PingParams =>
  pingParamsSchema.parse(overrides);

/** Runs `body` with a fresh temporary directory, removed afterwards. */
async function withTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "vgl-ping-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Writes an executable shell script. */
async function script(path: string, body: string): Promise<string> {
  await Deno.writeTextFile(path, `#!/bin/sh\n${body}\n`);
  await Deno.chmod(path, 0o755);
  return path;
}

/** Whether `pid` is running (a zombie, dead but not yet reaped by init, is not). */
function running(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Waits (bounded) until none of `pids` runs; returns those still running. */
async function waitGone(pids: number[], ms = 2000): Promise<number[]> {
  const until = performance.now() + ms;
  while (performance.now() < until && pids.some(running)) {
    await new Promise((r) => setTimeout(r, 20));
  }
  return pids.filter(running);
}

/** Kills what is left of `pids` (test cleanup after a failure). */
function killLeftovers(pids: number[]): void {
  for (const pid of pids.filter(running)) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

Deno.test("ping args follow iputils, with fractional -W only when needed", () => {
  assert.equal(waitSeconds(1000), "1");
  assert.equal(waitSeconds(3000), "3");
  assert.equal(waitSeconds(300), "0.300");
  assert.equal(waitSeconds(1250), "1.250");
  assert.deepEqual(pingArgs("127.0.0.1", 1000), ["-n", "-q", "-c", "1", "-W", "1", "127.0.0.1"]);
});

Deno.test("ping params: defaults, and hosts that could be options are refused", () => {
  const p = pingParamsSchema.parse({ hosts: ["127.0.0.1", "::1", "gw.example"] });
  assert.deepEqual(
    { multiplier: p.multiplier, timeoutMs: p.timeoutMs, group: p.group, command: p.command },
    { multiplier: 1000, timeoutMs: 1000, group: false, command: "ping" },
  );
  for (const bad of [[], ["-f"], ["a b"], [""], ["x;rm"]]) {
    assert.equal(pingParamsSchema.safeParse({ hosts: bad }).success, false, JSON.stringify(bad));
  }
  assert.equal(pingParamsSchema.safeParse({ hosts: Array(33).fill("h") }).success, false);
  assert.equal(PingNode.votes(p), 0);
});

Deno.test("ping: 127.0.0.1 answers, so the score is the multiplier and no votes", async () => {
  const instance = createPingNode(params({ hosts: ["127.0.0.1"], multiplier: 250 }), context());
  try {
    const reading = await runQuorumDeviceCheck(instance, 3000);
    assert.deepEqual(reading, {
      votes: 0,
      score: 250,
      healthy: true,
      detail: "ping: 1 of 1 hosts answered (127.0.0.1)",
    });
  } finally {
    await instance.stop();
  }
});

Deno.test("ping: a missing command is unhealthy, with the reason", async () => {
  const lines: string[] = [];
  const instance = createPingNode(
    params({ hosts: ["127.0.0.1"], command: "/nonexistent/vgl-ping" }),
    context(lines),
  );
  try {
    const reading = await runQuorumDeviceCheck(instance, 3000);
    assert.equal(reading.healthy, false);
    assert.equal(reading.score, 0);
    assert.match(
      reading.detail,
      /no answer from 127\.0\.0\.1 \[cannot run \/nonexistent\/vgl-ping/,
    );
    assert.equal(lines.length, 1);
  } finally {
    await instance.stop();
  }
});

const canUseNetns = Deno.uid() === 0 && (existsSync("/usr/sbin/ip") || existsSync("/sbin/ip"));

/** Runs `ip` with `args`, throwing on failure. */
async function ip(...args: string[]): Promise<void> {
  const out = await new Deno.Command("ip", { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`ip ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

Deno.test({
  name: "ping inside a namespace: reachable, unreachable and silent hosts; ping nodes vs group",
  ignore: !canUseNetns,
  fn: async () => {
    // Namespace with only lo up and only 127.0.0.1/32 on it: 127.0.0.2 has no route
    // (unreachable at once); 127.0.0.3 is routed to lo but nobody answers (ping waits).
    // No default route, so nothing can leave the namespace.
    const ns = `vgl-ping-${Deno.pid}`;
    await withTempDir(async (dir) => {
      let created = false;
      try {
        await ip("netns", "add", ns);
        created = true;
        await ip("-n", ns, "link", "set", "lo", "up");
        await ip("-n", ns, "addr", "del", "127.0.0.1/8", "dev", "lo");
        await ip("-n", ns, "addr", "add", "127.0.0.1/32", "dev", "lo");
        await ip("-n", ns, "route", "add", "127.0.0.3/32", "dev", "lo");
        const wrapper = await script(`${dir}/ns-ping`, `exec ip netns exec ${ns} ping "$@"`);

        const each = createPingNode(
          params({
            hosts: ["127.0.0.1", "127.0.0.2", "127.0.0.3"],
            command: wrapper,
            timeoutMs: 300,
            multiplier: 100,
          }),
          context(),
        );
        const started = performance.now();
        const reading = await runQuorumDeviceCheck(each, 3000);
        const elapsed = performance.now() - started;
        await each.stop();
        assert.equal(reading.score, 100, reading.detail);
        assert.equal(reading.healthy, true);
        assert.match(reading.detail, /^ping: 1 of 3 hosts answered \(127\.0\.0\.1\)/);
        assert.match(
          reading.detail,
          /127\.0\.0\.2 \[exit 2: ping: connect: Network is unreachable\]/,
        );
        assert.match(reading.detail, /127\.0\.0\.3 \[exit 1\]/);
        // The silent host took -W 0.300 s, not a whole second, and was not killed.
        assert.ok(elapsed >= 250 && elapsed < 300 + PING_GRACE_MS, `took ${elapsed} ms`);

        const group = createPingNode(
          params({
            hosts: ["127.0.0.2", "127.0.0.1"],
            command: wrapper,
            timeoutMs: 300,
            multiplier: 100,
            group: true,
          }),
          context(),
        );
        const grouped = await runQuorumDeviceCheck(group, 3000);
        await group.stop();
        assert.equal(grouped.score, 100);
        assert.match(grouped.detail, /^ping group: 1 of 2 hosts answered/);

        const none = createPingNode(
          params({ hosts: ["127.0.0.2", "127.0.0.3"], command: wrapper, timeoutMs: 200 }),
          context(),
        );
        const isolated = await runQuorumDeviceCheck(none, 3000);
        await none.stop();
        assert.deepEqual(
          { healthy: isolated.healthy, score: isolated.score, votes: isolated.votes },
          { healthy: false, score: 0, votes: 0 },
        );
        assert.match(isolated.detail, /^ping: 0 of 2 hosts answered; no answer from/);
      } finally {
        if (created) await ip("netns", "del", ns);
      }
    });
  },
});

/** A fake ping that records its PID and its child's, then hangs. */
async function hangingPing(dir: string): Promise<string> {
  return await script(
    `${dir}/hang`,
    `echo $$ >> "${dir}/pids"\nsleep 1000 &\necho $! >> "${dir}/pids"\nwait`,
  );
}

async function pidsIn(dir: string): Promise<number[]> {
  const text = await Deno.readTextFile(`${dir}/pids`).catch(() => "");
  return text.split("\n").filter((l) => l.trim() !== "").map(Number);
}

Deno.test("ping: a hanging command is killed at its timeout, children included", async () => {
  await withTempDir(async (dir) => {
    const instance = createPingNode(
      params({
        hosts: ["127.0.0.1", "localhost"],
        command: await hangingPing(dir),
        timeoutMs: 100,
      }),
      context(),
    );
    try {
      const started = performance.now();
      const reading = await runQuorumDeviceCheck(instance, 3000);
      const elapsed = performance.now() - started;
      assert.equal(reading.healthy, false);
      assert.equal(reading.score, 0);
      assert.match(reading.detail, /127\.0\.0\.1 \[no answer within 600 ms, killed\]/);
      assert.ok(elapsed >= 550 && elapsed < 1500, `took ${elapsed} ms`);
      const pids = await pidsIn(dir);
      assert.equal(pids.length, 4, "two shells and two sleeps");
      assert.deepEqual(await waitGone(pids), [], "processes left behind");
    } finally {
      killLeftovers(await pidsIn(dir));
      await instance.stop();
    }
  });
});

Deno.test("ping: the runner's timeout aborts the check and kills the pings", async () => {
  await withTempDir(async (dir) => {
    const instance = createPingNode(
      params({ hosts: ["127.0.0.1"], command: await hangingPing(dir), timeoutMs: 10_000 }),
      context(),
    );
    try {
      const started = performance.now();
      const reading = await runQuorumDeviceCheck(instance, 300);
      const elapsed = performance.now() - started;
      assert.equal(reading.healthy, false);
      assert.match(reading.detail, /timed out after 300 ms/);
      assert.ok(elapsed < 1000, `took ${elapsed} ms`);
      const until = performance.now() + 2000;
      while ((await pidsIn(dir)).length < 2 && performance.now() < until) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const pids = await pidsIn(dir);
      assert.equal(pids.length, 2);
      assert.deepEqual(await waitGone(pids), [], "processes left behind");
    } finally {
      killLeftovers(await pidsIn(dir));
      await instance.stop();
    }
  });
});

Deno.test("ping: stop during a check kills its pings and the check settles", async () => {
  await withTempDir(async (dir) => {
    const instance = createPingNode(
      params({ hosts: ["127.0.0.1"], command: await hangingPing(dir), timeoutMs: 10_000 }),
      context(),
    );
    try {
      const checking = instance.check(new AbortController().signal);
      const until = performance.now() + 2000;
      while ((await pidsIn(dir)).length < 2 && performance.now() < until) {
        await new Promise((r) => setTimeout(r, 20));
      }
      await instance.stop();
      await assert.rejects(checking, /ping: stopped/);
      const pids = await pidsIn(dir);
      assert.equal(pids.length, 2);
      assert.deepEqual(await waitGone(pids), []);
      const after = await instance.check(new AbortController().signal);
      assert.equal(after.healthy, false);
      assert.equal(after.detail, "ping: stopped");
    } finally {
      killLeftovers(await pidsIn(dir));
    }
  });
});
