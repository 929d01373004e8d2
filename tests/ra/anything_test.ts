import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import process from "node:process";
import Anything, {
  type AnythingParams,
  parseProcStat,
  splitCommandLine,
} from "../../ra/anything.ts";
import { findResourceAgent } from "../../ra/builtin.ts";
import { describeParams } from "../../plugins/param_description.ts";
import { type AgentContext, OCF } from "../../plugins/resource_agent.ts";
import { runResourceAgentContract } from "../plugins/resource_agent_contract.ts";

runResourceAgentContract(
  Anything,
  (tmpDir) => ({
    binfile: "/bin/sleep",
    cmdline_options: "300",
    pidfile: `${tmpDir}/sleep.pid`,
    start_wait: "50",
  }),
  {
    invalidParams: [
      {},
      { binfile: "" },
      { binfile: "/bin/sleep", cmdline_options: "'unbalanced" },
      { binfile: "/bin/sleep", pidfile: "relative.pid" },
      { binfile: "/bin/sleep", stop_timeout: -1 },
      { binfile: "/bin/sleep", kill_signal: "SIGSTOP" },
      { binfile: "/bin/sleep", workdir: "tmp" },
    ],
  },
);

Deno.test("anything: splitCommandLine splits like shell words without expanding", () => {
  assert.deepEqual(splitCommandLine(""), []);
  assert.deepEqual(splitCommandLine("  -a  b\tc "), ["-a", "b", "c"]);
  assert.deepEqual(splitCommandLine(`'a b' "c \\"d\\" $HOME" e\\ f`), [
    "a b",
    'c "d" $HOME',
    "e f",
  ]);
  assert.deepEqual(splitCommandLine(`x'y'"z"`), ["xyz"]);
  assert.deepEqual(splitCommandLine(`'' ""`), ["", ""]);
  assert.deepEqual(splitCommandLine(`"a\\nb"`), ["a\\nb"]);
  assert.throws(() => splitCommandLine(`'open`), /unterminated ' quote/);
  assert.throws(() => splitCommandLine(`"open`), /unterminated " quote/);
  assert.throws(() => splitCommandLine(`end\\`), /trailing backslash/);
  assert.throws(() => splitCommandLine("x ".repeat(1025)), /more than 1024 arguments/);
});

Deno.test("anything: parseProcStat counts fields after the command name", () => {
  const rest = "S 1 4242 4242 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 987654 1000 10";
  assert.deepEqual(parseProcStat(`4242 (my (odd) name) ${rest}`), {
    state: "S",
    pgrp: 4242,
    startTicks: 987654,
  });
  assert.equal(parseProcStat("garbage"), undefined);
  assert.equal(parseProcStat("1 (x) S 0"), undefined);
});

Deno.test("anything: every parameter is described; defaults show in the description table", () => {
  const rows = describeParams(Anything.params);
  assert.ok(rows.length > 0);
  for (const row of rows) assert.ok(row.description, `${row.name} has no description`);
  for (
    const [name, value] of [["stop_timeout", 10_000], ["start_wait", 200], ["workdir", "/"]] as [
      string,
      unknown,
    ][]
  ) {
    assert.deepEqual(rows.find((r) => r.name === name)?.default, value, name);
  }
});

Deno.test("anything: registered as a built-in", () => {
  assert.equal(findResourceAgent("anything"), Anything);
});

/** True while `pid` exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !["Z", "X"].includes(stat.slice(stat.lastIndexOf(")") + 2)[0]);
  } catch {
    return false;
  }
}

/** Kills what a test started, by pid, whatever state it was left in. */
function killPids(pids: number[]): void {
  for (const pid of pids) {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, "SIGKILL");
      } catch {
        // gone
      }
    }
  }
}

async function waitUntil(what: string, check: () => boolean, ms = 5_000): Promise<void> {
  for (let i = 0; i < ms / 20; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`timed out waiting for ${what}`);
}

interface Fixture {
  dir: string;
  lines: string[];
  ctx: (raw: Record<string, unknown>) => AgentContext<AnythingParams>;
  pids: number[];
}

/** Runs `fn` with a temporary directory; kills recorded pids and removes the dir after. */
async function withFixture(fn: (f: Fixture) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "vigil-anything-" });
  const lines: string[] = [];
  const pids: number[] = [];
  const ctx = (raw: Record<string, unknown>): AgentContext<AnythingParams> => ({
    params: Anything.params.parse(raw),
    resourceId: "daemon",
    node: "n1",
    stateDir: `${dir}/state`,
    signal: new AbortController().signal,
    timeoutMs: 20_000,
    log: (line) => lines.push(line),
  });
  try {
    await fn({ dir, lines, ctx, pids });
  } finally {
    killPids(pids);
    await Deno.remove(dir, { recursive: true });
  }
}

function pidOf(path: string): number {
  return Number(readFileSync(path, "utf8").trim());
}

Deno.test("anything: start runs in its own group, in workdir, logging to logfile", async () => {
  await withFixture(async ({ dir, lines, ctx, pids }) => {
    await Deno.mkdir(`${dir}/work`);
    const c = ctx({
      binfile: "sh",
      cmdline_options: `-c 'pwd; echo "to stderr" >&2; exec sleep 300'`,
      workdir: `${dir}/work`,
      logfile: `${dir}/out.log`,
      errlogfile: `${dir}/err.log`,
    });
    try {
      assert.equal(await Anything.actions.validate!(c), OCF.OK);
      assert.equal(await Anything.actions.start(c), OCF.OK, lines.join("\n"));
      const pidfile = `${dir}/state/anything-daemon.pid`;
      const pid = pidOf(pidfile);
      pids.push(pid);
      assert.ok(alive(pid));
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const pgrp = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
      assert.equal(pgrp, pid, "the daemon leads its own process group");
      await waitUntil("log lines", () => {
        try {
          return readFileSync(`${dir}/err.log`, "utf8").includes("to stderr");
        } catch {
          return false;
        }
      });
      assert.equal(readFileSync(`${dir}/out.log`, "utf8").trim(), `${dir}/work`);
      assert.equal(await Anything.actions.monitor(c), OCF.OK);
      assert.equal(await Anything.actions.stop(c), OCF.OK, lines.join("\n"));
      assert.ok(!alive(pid));
      assert.ok(!existsSync(pidfile));
    } finally {
      await Anything.actions.stop(c);
    }
  });
});

Deno.test("anything: a process that dies is a failure until stop cleans up", async () => {
  await withFixture(async ({ dir, lines, ctx, pids }) => {
    const c = ctx({ binfile: "/bin/sleep", cmdline_options: "300", pidfile: `${dir}/p.pid` });
    try {
      assert.equal(await Anything.actions.start(c), OCF.OK, lines.join("\n"));
      const pid = pidOf(`${dir}/p.pid`);
      pids.push(pid);
      process.kill(pid, "SIGKILL");
      await waitUntil("the daemon to die", () => !alive(pid));
      assert.equal(await Anything.actions.monitor(c), OCF.ERR_GENERIC);
      assert.match(lines.join("\n"), new RegExp(`process ${pid} has exited`));
      assert.equal(await Anything.actions.stop(c), OCF.OK);
      assert.equal(await Anything.actions.monitor(c), OCF.NOT_RUNNING);
    } finally {
      await Anything.actions.stop(c);
    }
  });
});

Deno.test("anything: a reused pid is not mistaken for the daemon, nor signalled", async () => {
  await withFixture(async ({ dir, lines, ctx, pids }) => {
    const c = ctx({ binfile: "/bin/sleep", cmdline_options: "300" });
    assert.equal(await Anything.actions.start(c), OCF.OK, lines.join("\n"));
    const pidfile = `${dir}/state/anything-daemon.pid`;
    pids.push(pidOf(pidfile));
    // A bystander the agent did not start, started at least one clock tick (10 ms) later,
    // so its start time differs, as a process reusing a pid always does.
    await new Promise((r) => setTimeout(r, 30));
    const bystander = new Deno.Command("/bin/sleep", { args: ["300"] }).spawn();
    pids.push(bystander.pid);
    try {
      // Simulate: the daemon died and its pid was reused by the bystander. The identity
      // file still records the daemon's start time, which the bystander does not have.
      const identity = JSON.parse(readFileSync(`${dir}/state/anything-daemon.identity`, "utf8"));
      await Deno.writeTextFile(
        `${dir}/state/anything-daemon.identity`,
        JSON.stringify({ ...identity, pid: bystander.pid }),
      );
      await Deno.writeTextFile(pidfile, `${bystander.pid}\n`);
      assert.equal(await Anything.actions.monitor(c), OCF.ERR_GENERIC);
      assert.match(lines.join("\n"), /pid now belongs to another/);
      assert.equal(await Anything.actions.stop(c), OCF.OK);
      assert.ok(alive(bystander.pid), "stop must not signal a process that is not ours");
      assert.equal(await Anything.actions.monitor(c), OCF.NOT_RUNNING);
    } finally {
      killPids(pids);
      await bystander.status;
    }
  });
});

Deno.test("anything: stop escalates to SIGKILL and kills the whole group", async () => {
  await withFixture(async ({ dir, lines, ctx, pids }) => {
    // Ignores SIGTERM and has a child of its own, whose pid it writes down.
    const script = `${dir}/stubborn.sh`;
    await Deno.writeTextFile(
      script,
      `#!/bin/sh\ntrap '' TERM\nsleep 300 &\necho $! > ${dir}/child.pid\nwait\n`,
    );
    await Deno.chmod(script, 0o755);
    const c = ctx({ binfile: script, stop_timeout: 200, start_wait: 100 });
    try {
      assert.equal(await Anything.actions.start(c), OCF.OK, lines.join("\n"));
      pids.push(pidOf(`${dir}/state/anything-daemon.pid`));
      await waitUntil("child.pid", () => existsSync(`${dir}/child.pid`));
      await waitUntil("child pid written", () => readFileSync(`${dir}/child.pid`, "utf8") !== "");
      const child = pidOf(`${dir}/child.pid`);
      pids.push(child);
      const t0 = performance.now();
      assert.equal(await Anything.actions.stop(c), OCF.OK, lines.join("\n"));
      assert.ok(performance.now() - t0 >= 200, "waited stop_timeout before SIGKILL");
      assert.match(lines.join("\n"), /still alive after 200 ms; SIGKILL/);
      await waitUntil("the group's child to die", () => !alive(child));
      assert.ok(!alive(pids[0]));
    } finally {
      await Anything.actions.stop(c);
    }
  });
});

Deno.test("anything: a program exiting during start_wait fails the start, with its stderr", async () => {
  await withFixture(async ({ dir, lines, ctx }) => {
    const c = ctx({
      binfile: "/bin/sh",
      cmdline_options: `-c "echo 'config is broken' >&2; exit 3"`,
      logfile: `${dir}/out.log`,
      start_wait: 2000,
    });
    const t0 = performance.now();
    assert.equal(await Anything.actions.start(c), OCF.ERR_GENERIC);
    assert.ok(performance.now() - t0 < 1500, "start noticed the exit before start_wait ended");
    const log = lines.join("\n");
    assert.match(log, /ended during start: exit 3/);
    assert.match(log, /config is broken/);
    assert.ok(!existsSync(`${dir}/state/anything-daemon.pid`));
    assert.equal(await Anything.actions.monitor(c), OCF.NOT_RUNNING);
  });
});

Deno.test("anything: a missing program is ERR_INSTALLED", async () => {
  await withFixture(async ({ dir, ctx }) => {
    const c = ctx({ binfile: `${dir}/nope` });
    assert.equal(await Anything.actions.validate!(c), OCF.ERR_INSTALLED);
    assert.equal(await Anything.actions.start(c), OCF.ERR_INSTALLED);
    const n = ctx({ binfile: "no-such-program-vigil" });
    assert.equal(await Anything.actions.start(n), OCF.ERR_INSTALLED);
    const w = ctx({ binfile: "/bin/sleep", workdir: `${dir}/missing` });
    assert.equal(await Anything.actions.validate!(w), OCF.ERR_CONFIGURED);
  });
});

Deno.test("anything: monitor_hook decides once the process is alive", async () => {
  await withFixture(async ({ dir, lines, ctx, pids }) => {
    const base = { binfile: "/bin/sleep", cmdline_options: "300", pidfile: `${dir}/h.pid` };
    const ok = ctx({ ...base, monitor_hook: "/bin/true" });
    try {
      assert.equal(await Anything.actions.start(ok), OCF.OK);
      pids.push(pidOf(`${dir}/h.pid`));
      assert.equal(await Anything.actions.monitor(ok), OCF.OK);
      const bad = ctx({ ...base, monitor_hook: `sh -c 'echo unhealthy; exit 4'` });
      assert.equal(await Anything.actions.monitor(bad), OCF.ERR_GENERIC);
      assert.match(lines.join("\n"), /monitor_hook .*: exit 4: unhealthy/);
    } finally {
      assert.equal(await Anything.actions.stop(ok), OCF.OK);
    }
  });
});
