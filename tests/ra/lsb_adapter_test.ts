import assert from "node:assert/strict";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import process from "node:process";
import { OperationExecutor } from "../../core/lrm/executor.ts";
import { type AgentContext, OCF } from "../../plugins/resource_agent.ts";
import {
  LSB_STATUS,
  lsbActionToOcf,
  lsbAgent,
  type LsbParams,
  lsbStatusToOcf,
  parseLsbHeader,
} from "../../ra/lsb_adapter.ts";
import { MAX_SCRIPT_LOG_BYTES } from "../../ra/script_runner.ts";
import { runResourceAgentContract } from "../plugins/resource_agent_contract.ts";

const FIXTURES = new URL("../fixtures/lsb/", import.meta.url).pathname;

/** A temporary `init.d` holding copies of fixture scripts, with `run` next to it. */
interface Lab {
  root: string;
  initDir: string;
  runDir: string;
}

function makeLab(...scripts: string[]): Lab {
  const root = mkdtempSync(`${tmpdir()}/vigil-lsb-`);
  const initDir = `${root}/init.d`;
  const runDir = `${root}/run`;
  mkdirSync(initDir);
  mkdirSync(runDir);
  for (const s of scripts) {
    copyFileSync(`${FIXTURES}${s}`, `${initDir}/${s}`);
    chmodSync(`${initDir}/${s}`, 0o755);
  }
  return { root, initDir, runDir };
}

/** Kills what a fixture left running (pids from its pid files) and removes the lab. */
function dropLab(lab: Lab): void {
  for (const file of ["vgl-daemon.pid", "vgl-hang.pids"]) {
    try {
      for (const pid of readFileSync(`${lab.runDir}/${file}`, "utf8").trim().split(/\s+/)) {
        if (/^\d+$/.test(pid)) killQuietly(Number(pid));
      }
    } catch {
      // no such file: nothing was started
    }
  }
  rmSync(lab.root, { recursive: true, force: true });
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/** True while `pid` exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

function context(
  lines: string[] = [],
  signal = new AbortController().signal,
): AgentContext<LsbParams> {
  return {
    params: {},
    resourceId: "rsc1",
    node: "alpha",
    stateDir: tmpdir(),
    signal,
    log: (line: string) => lines.push(line),
    timeoutMs: 20_000,
  };
}

// The contract suite runs on a copy of vgl-daemon in a lab made at load time; the lab is
// removed when the test module unloads, whatever happened.
const contractLab = makeLab("vgl-daemon");
globalThis.addEventListener("unload", () => dropLab(contractLab));
const contractAgent = lsbAgent("lsb:vgl-daemon", { lsbDir: contractLab.initDir });
assert.ok(contractAgent, "fixture vgl-daemon not found");
runResourceAgentContract(contractAgent, () => ({}), {
  invalidParams: [{ state: "/tmp/x" }, { anything: 1 }],
});

Deno.test("lsb exit codes map like Pacemaker's services__lsb2ocf", () => {
  assert.equal(lsbStatusToOcf(LSB_STATUS.OK), OCF.OK);
  assert.equal(lsbStatusToOcf(LSB_STATUS.VAR_PID), OCF.NOT_RUNNING);
  assert.equal(lsbStatusToOcf(LSB_STATUS.VAR_LOCK), OCF.NOT_RUNNING);
  assert.equal(lsbStatusToOcf(LSB_STATUS.NOT_RUNNING), OCF.NOT_RUNNING);
  assert.equal(lsbStatusToOcf(LSB_STATUS.UNKNOWN), OCF.ERR_GENERIC);
  assert.equal(lsbStatusToOcf(LSB_STATUS.NOT_INSTALLED), OCF.ERR_INSTALLED);
  assert.equal(lsbStatusToOcf(LSB_STATUS.INSUFFICIENT_PRIV), OCF.ERR_PERM);
  for (const odd of [5, 7, 42, 149, 152, 255]) assert.equal(lsbStatusToOcf(odd), OCF.ERR_GENERIC);
  for (let code = 0; code <= 7; code++) assert.equal(lsbActionToOcf(code), code);
  for (const odd of [8, 9, 42, 255, -1]) assert.equal(lsbActionToOcf(odd), OCF.ERR_GENERIC);
});

Deno.test("lsb header: short description, provides, multi-line description", () => {
  const header = parseLsbHeader(readFileSync(`${FIXTURES}vgl-daemon`, "utf8"));
  assert.equal(header.provides, "vgl-daemon");
  assert.equal(header.shortDescription, "Vigil test daemon (a sleep with a pid file)");
  assert.equal(
    header.description,
    "A well-behaved LSB init script for Vigil's tests. It starts " +
      "a background sleep and keeps its pid in ../run/vgl-daemon.pid.",
  );
  assert.deepEqual(parseLsbHeader("#!/bin/sh\necho hi\n"), {});
  // Fields after END INIT INFO are not part of the block.
  assert.deepEqual(
    parseLsbHeader("### BEGIN INIT INFO\n### END INIT INFO\n# Short-Description: x\n"),
    {},
  );
});

Deno.test("lsbAgent: names, missing and non-executable scripts", () => {
  const lab = makeLab("vgl-daemon", "vgl-odd");
  try {
    writeFileSync(`${lab.initDir}/plain-file`, "#!/bin/sh\nexit 0\n", { mode: 0o644 });
    const def = lsbAgent("vgl-daemon", { lsbDir: lab.initDir });
    assert.equal(def?.name, "lsb-vgl-daemon");
    assert.equal(def?.description, "Vigil test daemon (a sleep with a pid file)");
    assert.match(lsbAgent("vgl-odd", { lsbDir: lab.initDir })!.description, /LSB init script/);
    assert.equal(lsbAgent("lsb:missing", { lsbDir: lab.initDir }), undefined);
    assert.equal(lsbAgent("plain-file", { lsbDir: lab.initDir }), undefined);
    for (const bad of ["../init.d/vgl-daemon", "..", ".", "", "a/b", ".hidden", "lsb:"]) {
      assert.equal(lsbAgent(bad, { lsbDir: lab.initDir }), undefined, bad);
    }
    // A dotted init-script name gets a valid plugin name.
    copyFileSync(`${FIXTURES}vgl-daemon`, `${lab.initDir}/vgl.sh`);
    chmodSync(`${lab.initDir}/vgl.sh`, 0o755);
    assert.equal(lsbAgent("lsb:vgl.sh", { lsbDir: lab.initDir })?.name, "lsb-vgl_sh");
  } finally {
    dropLab(lab);
  }
});

Deno.test("lsb status: dead with pid file (1) and with lock file (2) are NOT_RUNNING", async () => {
  const lab = makeLab("vgl-daemon");
  try {
    const def = lsbAgent("vgl-daemon", { lsbDir: lab.initDir })!;
    const lines: string[] = [];
    // A pid that cannot exist (above pid_max) stands for a dead daemon.
    writeFileSync(`${lab.runDir}/vgl-daemon.pid`, "99999999\n");
    assert.equal(await def.actions.monitor(context(lines)), OCF.NOT_RUNNING);
    assert.ok(lines.includes("vgl-daemon is dead but its pid file exists"), lines.join("\n"));
    rmSync(`${lab.runDir}/vgl-daemon.pid`);
    writeFileSync(`${lab.runDir}/vgl-daemon.lock`, "");
    lines.length = 0;
    assert.equal(await def.actions.monitor(context(lines)), OCF.NOT_RUNNING);
    assert.ok(lines.includes("vgl-daemon is dead but its lock file exists"), lines.join("\n"));
    // start copes with the stale lock, stop cleans up.
    assert.equal(await def.actions.start(context()), OCF.OK);
    assert.equal(await def.actions.monitor(context()), OCF.OK);
    assert.equal(await def.actions.stop(context()), OCF.OK);
    assert.equal(existsSync(`${lab.runDir}/vgl-daemon.lock`), false);
  } finally {
    dropLab(lab);
  }
});

Deno.test("lsb unexpected codes: start 42, stop 5, status 4/150/151, all output passed on", async () => {
  const lab = makeLab("vgl-odd");
  try {
    const def = lsbAgent("vgl-odd", { lsbDir: lab.initDir })!;
    const lines: string[] = [];
    assert.equal(await def.actions.start(context(lines)), OCF.ERR_GENERIC);
    assert.ok(lines.some((l) => l.includes("LSB exit code 42")), lines.slice(-3).join("\n"));
    // 2000 lines of ~100 bytes were printed: all reach ctx.log (the executor keeps the tail).
    const logged = lines.filter((l) => l.startsWith("vgl-odd line "));
    assert.equal(logged.length, 2000);
    assert.ok(logged.join("\n").length > MAX_SCRIPT_LOG_BYTES);
    assert.equal(await def.actions.stop(context()), OCF.ERR_INSTALLED);
    const statusLines: string[] = [];
    assert.equal(await def.actions.monitor(context(statusLines)), OCF.ERR_GENERIC);
    assert.ok(statusLines.some((l) => l.includes("state is unknown")), statusLines.join("\n"));
    for (const [code, want] of [[150, OCF.ERR_INSTALLED], [151, OCF.ERR_PERM], [3, 7], [0, 0]]) {
      writeFileSync(`${lab.runDir}/vgl-odd.status`, `${code}\n`);
      assert.equal(await def.actions.monitor(context()), want, `status ${code}`);
    }
  } finally {
    dropLab(lab);
  }
});

Deno.test("lsb: a script that ignores SIGTERM is killed with its process group on abort", async () => {
  const lab = makeLab("vgl-hang");
  try {
    const def = lsbAgent("vgl-hang", { lsbDir: lab.initDir })!;
    const lines: string[] = [];
    const controller = new AbortController();
    const started = performance.now();
    const result = def.actions.start(context(lines, controller.signal));
    const pidFile = `${lab.runDir}/vgl-hang.pids`;
    for (let i = 0; i < 100 && !existsSync(pidFile); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const pids = readFileSync(pidFile, "utf8").trim().split(" ").map(Number);
    assert.equal(pids.length, 2);
    assert.ok(pids.every(alive), "the script and its helper run before the abort");
    controller.abort(new DOMException("operation timed out", "TimeoutError"));
    assert.equal(await result, OCF.ERR_GENERIC);
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 5_000, `took ${elapsed} ms`);
    for (let i = 0; i < 100 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(pids.filter(alive), [], "script or helper survived the group kill");
    assert.ok(lines.some((l) => l.includes("killing process group")), lines.join("\n"));
  } finally {
    dropLab(lab);
  }
});

Deno.test("lsb through the LRM executor: timeout reported, process group killed", async () => {
  const lab = makeLab("vgl-hang", "vgl-daemon");
  try {
    const hang = lsbAgent("vgl-hang", { lsbDir: lab.initDir })!;
    const executor = new OperationExecutor({ node: "alpha", stateDir: lab.root });
    const result = await executor.run({
      resourceId: "hang",
      agent: hang,
      action: "start",
      params: {},
      timeoutMs: 300,
    });
    assert.equal(result.status, "timeout");
    assert.equal(result.rc, OCF.ERR_GENERIC);
    assert.ok(result.durationMs >= 300 && result.durationMs < 2_000, `${result.durationMs}`);
    const pids = readFileSync(`${lab.runDir}/vgl-hang.pids`, "utf8").trim().split(" ")
      .map(Number);
    for (let i = 0; i < 150 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(pids.filter(alive), [], "the timed-out group survived");

    // Params must be empty: a parameter is a configuration error naming the field.
    const daemon = lsbAgent("vgl-daemon", { lsbDir: lab.initDir })!;
    const bad = await executor.run({
      resourceId: "d",
      agent: daemon,
      action: "start",
      params: { port: 80 },
    });
    assert.equal(bad.status, "invalid-params");
    assert.equal(bad.rc, OCF.ERR_CONFIGURED);
    assert.match(bad.output, /port/);
  } finally {
    dropLab(lab);
  }
});

// A real init script of this machine, only its harmless `status` (never start a system
// service here): procps's status is always 0 (it only sets sysctls at boot).
const haveProcps = existsSync("/etc/init.d/procps");
Deno.test({
  name: "lsb real /etc/init.d/procps: status is OK, description from its header",
  ignore: !haveProcps,
  fn: async () => {
    const def = lsbAgent("lsb:procps");
    assert.ok(def);
    assert.match(def.description, /kernel/i);
    const lines: string[] = [];
    assert.equal(await def.actions.monitor(context(lines)), OCF.OK, lines.join("\n"));
  },
});

// x11-common's status exits 4 ("unknown", not an LSB not-running code) when its socket
// directories are missing: that is a failure, not a clean stop.
const haveX11 = existsSync("/etc/init.d/x11-common");
Deno.test({
  name: "lsb real /etc/init.d/x11-common: status 4 is ERR_GENERIC, 0 is OK",
  ignore: !haveX11,
  fn: async () => {
    const def = lsbAgent("x11-common")!;
    const expected = existsSync("/tmp/.X11-unix") && existsSync("/tmp/.ICE-unix")
      ? OCF.OK
      : OCF.ERR_GENERIC;
    assert.equal(await def.actions.monitor(context()), expected);
  },
});
