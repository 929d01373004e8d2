import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import process from "node:process";
import { z } from "zod";
import {
  commandFailureReason,
  describeCommandFailure,
  errorText,
  findProgram,
  isExecutableFile,
  readFileHead,
  removeStateFile,
  resolveProgram,
  runCommand,
  stateFileStatus,
  timeoutWithin,
  writeStateFile,
} from "../../ra/agent_tools.ts";
import { integerParam } from "../../ra/params.ts";
import { scriptExitCode, type ScriptResult } from "../../ra/script_runner.ts";
import { type AgentContext, OCF } from "../../plugins/resource_agent.ts";

const SH = existsSync("/bin/sh") ? "/bin/sh" : "/usr/bin/sh";

/** Runs `fn` with a fresh temporary directory, removed afterwards even on failure. */
async function withTempDir(fn: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = mkdtempSync(`${tmpdir()}/vgl-agent-tools-`);
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `fn` with `$PATH` set to `path` (unset when undefined), restoring it afterwards. */
async function withPath(path: string | undefined, fn: () => void | Promise<void>): Promise<void> {
  const saved = process.env.PATH;
  if (path === undefined) delete process.env.PATH;
  else process.env.PATH = path;
  try {
    await fn();
  } finally {
    if (saved === undefined) delete process.env.PATH;
    else process.env.PATH = saved;
  }
}

function writeScript(path: string, mode: number): void {
  writeFileSync(path, "#!/bin/sh\nexit 0\n");
  chmodSync(path, mode);
}

Deno.test("errorText: an Error's message, anything else as a string", () => {
  assert.equal(errorText(new RangeError("out of range")), "out of range");
  assert.equal(errorText("plain"), "plain");
  assert.equal(errorText(42), "42");
  assert.equal(errorText(undefined), "undefined");
});

Deno.test("isExecutableFile: only regular files with an execute bit", async () => {
  await withTempDir((dir) => {
    writeScript(`${dir}/run`, 0o755);
    writeScript(`${dir}/data`, 0o644);
    mkdirSync(`${dir}/sub`, { mode: 0o755 });
    assert.equal(isExecutableFile(`${dir}/run`), true);
    assert.equal(isExecutableFile(`${dir}/data`), false);
    assert.equal(isExecutableFile(`${dir}/sub`), false);
    assert.equal(isExecutableFile(`${dir}/missing`), false);
  });
});

Deno.test("findProgram: $PATH first (absolute entries only), then the fallback dirs", async () => {
  await withTempDir(async (dir) => {
    for (const sub of ["a", "b", "fallback"]) mkdirSync(`${dir}/${sub}`);
    writeScript(`${dir}/b/tool`, 0o755);
    writeScript(`${dir}/fallback/tool`, 0o755);
    writeScript(`${dir}/fallback/only-here`, 0o755);
    writeScript(`${dir}/a/not-exec`, 0o644);
    writeScript(`${dir}/fallback/not-exec`, 0o755);
    await withPath(`relative/dir:${dir}/a:${dir}/b`, () => {
      const fallback = [`${dir}/fallback`];
      assert.equal(findProgram("tool", fallback), `${dir}/b/tool`);
      assert.equal(findProgram("only-here", fallback), `${dir}/fallback/only-here`);
      assert.equal(findProgram("only-here"), undefined);
      // A non-executable file in $PATH does not hide an executable one further on.
      assert.equal(findProgram("not-exec", fallback), `${dir}/fallback/not-exec`);
      assert.equal(findProgram("vgl-no-such-program", fallback), undefined);
    });
    await withPath(undefined, () => {
      assert.equal(findProgram("tool", [`${dir}/fallback`]), `${dir}/fallback/tool`);
      assert.equal(findProgram("tool"), undefined);
    });
  });
  assert.throws(() => findProgram("bin/sh"), RangeError);
  assert.throws(() => findProgram(""), RangeError);
});

Deno.test("resolveProgram: a path as it is, a name through $PATH, /usr/bin:/bin without one", async () => {
  await withTempDir(async (dir) => {
    writeScript(`${dir}/svc`, 0o755);
    writeScript(`${dir}/data`, 0o644);
    assert.equal(resolveProgram(`${dir}/svc`), `${dir}/svc`);
    assert.equal(resolveProgram(`${dir}/data`), undefined);
    assert.equal(resolveProgram(""), undefined);
    await withPath(dir, () => {
      assert.equal(resolveProgram("svc"), `${dir}/svc`);
      assert.equal(resolveProgram("data"), undefined);
      // $PATH is set: the default directories are not searched.
      assert.equal(resolveProgram("sh"), undefined);
    });
  });
  await withPath(undefined, () => {
    const sh = resolveProgram("sh");
    assert.ok(sh === "/usr/bin/sh" || sh === "/bin/sh", `found ${sh}`);
  });
});

Deno.test("runCommand: exit code and output of a command that exits", async () => {
  const signal = new AbortController().signal;
  const opts = { signal, timeoutMs: 10_000, maxOutputBytes: 4096 };
  const ok = await runCommand(SH, ["-c", "echo out; echo err >&2"], opts);
  assert.deepEqual(ok, { code: 0, stdout: "out\n", stderr: "err\n" });
  const failed = await runCommand(SH, ["-c", "echo nope >&2; exit 3"], opts);
  assert.deepEqual(failed, { code: 3, stdout: "", stderr: "nope\n" });
  assert.equal(commandFailureReason(failed), "exit 3");
  assert.equal(describeCommandFailure("sh -c ...", failed), "sh -c ...: exit 3: nope");
  assert.equal(describeCommandFailure("sh", failed, ""), "sh: exit 3");
});

Deno.test("runCommand: cwd is where the command runs", async () => {
  await withTempDir(async (dir) => {
    const r = await runCommand(SH, ["-c", "pwd -P"], {
      signal: new AbortController().signal,
      timeoutMs: 10_000,
      maxOutputBytes: 4096,
      cwd: dir,
    });
    assert.equal(r.code, 0);
    assert.equal(r.stdout.trim().endsWith(dir.split("/").at(-1)!), true);
  });
});

Deno.test("runCommand: a missing program, the time bound and an abort are failures", async () => {
  const opts = { signal: new AbortController().signal, timeoutMs: 10_000, maxOutputBytes: 4096 };
  const missing = await runCommand("/nonexistent/vgl-no-such-program", [], opts);
  assert.equal(missing.code, -1);
  assert.ok(missing.failure, "a missing program names its failure");

  const started = Date.now();
  // exec: the shell becomes sleep, so the SIGKILL of the time bound ends the sleep itself.
  const slow = await runCommand(SH, ["-c", "exec sleep 10"], { ...opts, timeoutMs: 100 });
  assert.equal(slow.code, -1);
  assert.equal(slow.failure, "timed out after 100 ms");
  assert.equal(describeCommandFailure("sleep", slow), "sleep: timed out after 100 ms");
  assert.ok(Date.now() - started < 5_000, "the time bound ended the command");

  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 100);
  try {
    const aborted = await runCommand(SH, ["-c", "exec sleep 10"], {
      ...opts,
      signal: controller.signal,
    });
    assert.equal(aborted.code, -1);
    assert.ok(aborted.failure, "an aborted command names its failure");
    assert.notEqual(aborted.failure, "timed out after 10000 ms");
  } finally {
    clearTimeout(timer);
  }
  assert.throws(() => runCommand(SH, [], { ...opts, timeoutMs: 0 }), RangeError);
});

Deno.test("timeoutWithin: the smaller bound, at least 1 ms", () => {
  assert.equal(timeoutWithin(60_000, 20_000), 20_000);
  assert.equal(timeoutWithin(2_000, 20_000), 2_000);
  assert.equal(timeoutWithin(2_000, undefined), 2_000);
  assert.equal(timeoutWithin(2_000, 0), 1);
});

Deno.test("readFileHead: the first bytes of a file; undefined when unreadable", async () => {
  await withTempDir((dir) => {
    writeFileSync(`${dir}/f`, "#!/bin/sh\n# Description: x\n");
    assert.equal(readFileHead(`${dir}/f`, 9), "#!/bin/sh");
    assert.equal(readFileHead(`${dir}/f`, 1000), "#!/bin/sh\n# Description: x\n");
    assert.equal(readFileHead(`${dir}/missing`, 10), undefined);
    assert.equal(readFileHead(dir, 10), undefined);
    assert.throws(() => readFileHead(`${dir}/f`, -1), RangeError);
  });
});

function context(dir: string, lines: string[]): AgentContext<unknown> {
  return {
    params: {},
    resourceId: "r1",
    node: "n1",
    stateDir: dir,
    signal: new AbortController().signal,
    timeoutMs: 20_000,
    log: (line) => lines.push(line),
  };
}

Deno.test("state file: write, status, remove; idempotent; failures logged", async () => {
  await withTempDir(async (dir) => {
    const lines: string[] = [];
    const ctx = context(dir, lines);
    const path = `${dir}/nested/Agent-r1.state`;
    assert.equal(await stateFileStatus(ctx, "Agent", path), OCF.NOT_RUNNING);
    assert.equal(await writeStateFile(ctx, "Agent", path, "n1\n"), OCF.OK);
    assert.equal(readFileHead(path, 100), "n1\n");
    assert.equal(await stateFileStatus(ctx, "Agent", path), OCF.OK);
    assert.equal(await removeStateFile(ctx, "Agent", path), OCF.OK);
    assert.equal(await removeStateFile(ctx, "Agent", path), OCF.OK);
    assert.equal(await stateFileStatus(ctx, "Agent", path), OCF.NOT_RUNNING);
    assert.deepEqual(lines, []);

    // A regular file where the directory should be: nothing can be written or checked.
    writeFileSync(`${dir}/blocker`, "");
    const blocked = `${dir}/blocker/Agent-r1.state`;
    assert.equal(await writeStateFile(ctx, "Agent", blocked, "n1\n"), OCF.ERR_GENERIC);
    assert.equal(await stateFileStatus(ctx, "Agent", blocked), OCF.ERR_GENERIC);
    assert.equal(lines.length, 2);
    assert.match(lines[0], /^Agent: cannot write .*blocker\/Agent-r1\.state: /);
    assert.match(lines[1], /^Agent: cannot check .*blocker\/Agent-r1\.state: /);
  });
});

Deno.test("integerParam: integers and decimal strings within the range", () => {
  const schema = integerParam(1, 65535);
  assert.equal(schema.parse(80), 80);
  assert.equal(schema.parse("8080"), 8080);
  assert.equal(schema.parse("0080"), 80);
  for (const bad of [0, 65536, 80.5, "0", "65536", "-1", "http", "1234567890", "", null]) {
    assert.equal(schema.safeParse(bad).success, false, `${JSON.stringify(bad)} is rejected`);
  }
  const withDefault = z.object({ n: integerParam(0, 10).prefault(5) });
  assert.deepEqual(withDefault.parse({}), { n: 5 });
  assert.deepEqual(withDefault.parse({ n: "7" }), { n: 7 });
  assert.throws(() => integerParam(5, 1), RangeError);
  assert.throws(() => integerParam(0.5, 1), RangeError);
});

Deno.test("scriptExitCode: the code of a run that exited; other endings logged", () => {
  const lines: string[] = [];
  const log = (line: string) => lines.push(line);
  const ends: ScriptResult[] = [
    { outcome: "exited", code: 3, stdout: "" },
    { outcome: "aborted", stdout: "" },
    { outcome: "killed", signal: "SIGSEGV", stdout: "" },
    { outcome: "spawn-error", message: "EACCES", stdout: "" },
  ];
  assert.deepEqual(ends.map((r) => scriptExitCode(r, "start", log)), [
    3,
    undefined,
    undefined,
    undefined,
  ]);
  assert.deepEqual(lines, [
    "start: aborted (timeout); process group killed",
    "start: killed by SIGSEGV",
    "start: cannot run the script: EACCES",
  ]);
});
