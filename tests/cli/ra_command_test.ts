import assert from "node:assert/strict";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import process from "node:process";
import { UsageError } from "../../core/cli/command.ts";
import { ocfCodeName, raCommand, type RunReport } from "../../core/cli/ra_command.ts";
import type { AgentListing } from "../../ra/agent_resolver.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url).pathname;
const OCF_DUMMY = "/usr/lib/ocf/resource.d/heartbeat/Dummy";

/**
 * A test machine: a plugin directory with one plugin, an init.d and a resource.d with the
 * fixture scripts, and a state directory for `ra run`.
 */
interface Lab {
  root: string;
  /** Options pointing `vigil ra` at the lab (and at the real OCF root). */
  dirs: string[];
  stateDir: string;
  runDir: string;
}

/** A factory-form plugin (no imports), as a third party would drop it in. */
const PROBE_PLUGIN = `export default (vigil) => vigil.defineResourceAgent({
  kind: "resource-agent",
  name: "VglProbe",
  version: "1.2.3",
  description: "A test plugin that logs what it was given.",
  params: vigil.z.object({
    port: vigil.z.number().int().default(80).describe("TCP port to probe"),
    tags: vigil.z.array(vigil.z.string()).optional(),
    secure: vigil.z.boolean().optional(),
  }),
  actions: {
    async start(ctx) {
      ctx.log("port=" + ctx.params.port + " tags=" + JSON.stringify(ctx.params.tags) +
        " secure=" + ctx.params.secure + " resource=" + ctx.resourceId);
      return vigil.OCF.OK;
    },
    async stop() { return vigil.OCF.OK; },
    async monitor(ctx) {
      ctx.log("depth=" + ctx.depth + " timeoutMs=" + ctx.timeoutMs);
      return vigil.OCF.NOT_RUNNING;
    },
  },
  timeouts: { start: 5000, stop: 5000, monitor: 7000 },
});
`;

function makeLab(): Lab {
  const root = mkdtempSync(`${tmpdir()}/vigil-ra-cli-`);
  const plugins = `${root}/plugins`;
  const initD = `${root}/init.d`;
  const resourceD = `${root}/resource.d`;
  for (const d of [plugins, initD, resourceD, `${root}/run`, `${root}/state`]) mkdirSync(d);
  writeFileSync(`${plugins}/vgl_probe.js`, PROBE_PLUGIN);
  for (const s of ["vgl-daemon", "vgl-hang"]) {
    copyFileSync(`${FIXTURES}lsb/${s}`, `${initD}/${s}`);
    chmodSync(`${initD}/${s}`, 0o755);
  }
  for (const s of ["vgl-args", "vgl-state"]) {
    copyFileSync(`${FIXTURES}resource.d/${s}`, `${resourceD}/${s}`);
    chmodSync(`${resourceD}/${s}`, 0o755);
  }
  return {
    root,
    dirs: [
      "--plugin-dir",
      plugins,
      "--ocf-root",
      "/usr/lib/ocf",
      "--lsb-dir",
      initD,
      "--resource-d",
      resourceD,
    ],
    stateDir: `${root}/state`,
    runDir: `${root}/run`,
  };
}

function dropLab(lab: Lab): void {
  for (const file of ["vgl-daemon.pid", "vgl-hang.pids"]) {
    try {
      for (const pid of readFileSync(`${lab.runDir}/${file}`, "utf8").trim().split(/\s+/)) {
        if (/^\d+$/.test(pid)) killQuietly(Number(pid));
      }
    } catch {
      // nothing was started
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

/** Runs `vigil ra ...args` in process and collects what it prints. */
async function ra(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await raCommand.run(args, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

async function usageError(args: string[], pattern: RegExp): Promise<void> {
  await assert.rejects(() => raCommand.run(args, { out: () => {}, err: () => {} }), (e) => {
    assert.ok(e instanceof UsageError, String(e));
    assert.match(e.message, pattern);
    return true;
  });
}

Deno.test("vigil ra: subcommands and usage errors", async () => {
  assert.equal(raCommand.name, "ra");
  assert.match(raCommand.help, /vigil ra run AGENT ACTION/);
  await usageError([], /give a subcommand/);
  await usageError(["lsit"], /unknown subcommand "lsit"/);
  await usageError(["list", "--class", "rpm"], /--class must be one of builtin, plugin, ocf/);
  await usageError(["list", "--bogus"], /vigil ra list: .*bogus/);
  await usageError(["describe"], /give one AGENT/);
  await usageError(["run", "Dummy"], /give AGENT and ACTION/);
});

Deno.test("vigil ra list: every source, --class, --json", async () => {
  const lab = makeLab();
  try {
    const json = await ra("list", "--json", ...lab.dirs);
    assert.equal(json.code, 0, json.err);
    const listing = JSON.parse(json.out) as AgentListing[];
    const find = (name: string) => listing.find((l) => l.name === name);
    assert.equal(find("Dummy")?.source, "builtin");
    assert.deepEqual(find("VglProbe"), {
      name: "VglProbe",
      source: "plugin",
      description: "A test plugin that logs what it was given.",
    });
    assert.equal(find("lsb:vgl-daemon")?.source, "lsb");
    assert.equal(find("heartbeat:vgl-state")?.source, "heartbeat");
    if (existsSync(OCF_DUMMY)) assert.equal(find("ocf:heartbeat:Dummy")?.path, OCF_DUMMY);

    const lsbOnly = await ra("list", "--class", "lsb", ...lab.dirs);
    assert.equal(lsbOnly.code, 0);
    const lines = lsbOnly.out.split("\n");
    assert.match(lines[0], /^AGENT\s+SOURCE\s+DESCRIPTION$/);
    assert.deepEqual(lines.slice(1).map((l) => l.split(/\s+/)[0]), [
      "lsb:vgl-daemon",
      "lsb:vgl-hang",
    ]);
    assert.match(lines[1], /^lsb:vgl-daemon\s+lsb\s+Vigil test daemon \(a sleep/);
  } finally {
    dropLab(lab);
  }
});

Deno.test("vigil ra list: a broken plugin is a warning, the rest still lists", async () => {
  const lab = makeLab();
  try {
    writeFileSync(`${lab.root}/plugins/broken.js`, "export default { kind: 'resource-agent' };");
    const result = await ra("list", "--class", "plugin", ...lab.dirs);
    assert.equal(result.code, 0);
    assert.match(result.err, /warning: .*broken\.js/);
    assert.match(result.out, /VglProbe/);
  } finally {
    dropLab(lab);
  }
});

Deno.test("vigil ra describe: TypeScript agents from their zod schema", async () => {
  const lab = makeLab();
  try {
    const json = await ra("describe", "VglProbe", "--json", ...lab.dirs);
    assert.equal(json.code, 0, json.err);
    const d = JSON.parse(json.out);
    assert.equal(d.source, "plugin");
    assert.equal(d.version, "1.2.3");
    assert.deepEqual(d.parameters[0], {
      name: "port",
      type: "integer",
      required: false,
      default: 80,
      description: "TCP port to probe",
    });
    assert.deepEqual(d.parameters.map((p: { name: string }) => p.name), [
      "port",
      "tags",
      "secure",
    ]);
    assert.deepEqual(d.actions, [
      { name: "start", timeoutMs: 5000 },
      { name: "stop", timeoutMs: 5000 },
      { name: "monitor", timeoutMs: 7000 },
    ]);
    const text = await ra("describe", "VglProbe", ...lab.dirs);
    assert.match(text.out, /^VglProbe \(plugin, version 1\.2\.3\)/);
    assert.match(text.out, /port \(integer, optional, default 80\)\n +TCP port to probe/);
    assert.match(text.out, /monitor +7s/);

    const lsb = JSON.parse((await ra("describe", "lsb:vgl-daemon", "--json", ...lab.dirs)).out);
    assert.equal(lsb.source, "lsb");
    assert.deepEqual(lsb.parameters, []);
    assert.match(lsb.longDescription, /well-behaved LSB init script/);
    const hb = JSON.parse((await ra("describe", "heartbeat:vgl-args", "--json", ...lab.dirs)).out);
    assert.equal(hb.parameters[0].name, "args");
  } finally {
    dropLab(lab);
  }
});

Deno.test({
  name: "vigil ra describe ocf:heartbeat:Dummy: parameters and timeouts from its meta-data",
  ignore: !existsSync(OCF_DUMMY),
  fn: async () => {
    const result = await ra(
      "describe",
      "ocf:heartbeat:Dummy",
      "--json",
      "--plugin-dir",
      "/nonexistent/vgl",
    );
    assert.equal(result.code, 0, result.err);
    const d = JSON.parse(result.out);
    assert.equal(d.source, "ocf");
    assert.equal(d.path, OCF_DUMMY);
    assert.equal(d.definitionName, "ocf-heartbeat-Dummy");
    const state = d.parameters.find((p: { name: string }) => p.name === "state");
    assert.equal(state?.type, "string");
    assert.match(state?.description ?? "", /state/i);
    assert.ok(d.actions.some((a: { name: string }) => a.name === "validate"));
    assert.ok(d.actions.every((a: { timeoutMs: number }) => a.timeoutMs > 0));
  },
});

Deno.test("vigil ra: unknown agents and parameters are named, with close names", async () => {
  const lab = makeLab();
  try {
    await usageError(
      ["describe", "Dumy", ...lab.dirs],
      /unknown agent "Dumy"; did you mean Dummy\?/,
    );
    await usageError(["run", "vglprobe", "start", ...lab.dirs], /did you mean VglProbe/);
    await usageError(
      ["run", "vgl-daemon", "start", ...lab.dirs],
      /unknown agent "vgl-daemon"; did you mean lsb:vgl-daemon/,
    );
    await usageError(
      ["run", "VglProbe", "start", "--param", "ports=1", ...lab.dirs],
      /unknown parameter "ports" for VglProbe; did you mean port\? \(parameters: port, tags, secure\)/,
    );
    await usageError(
      ["run", "lsb:vgl-daemon", "start", "--param", "x=1", ...lab.dirs],
      /lsb:vgl-daemon takes no parameters/,
    );
    await usageError(["run", "VglProbe", "strat", ...lab.dirs], /unknown action "strat"; actions/);
    await usageError(["run", "VglProbe", "start", "--param", "=1", ...lab.dirs], /NAME=VALUE/);
    await usageError(["run", "VglProbe", "start", "--timeout", "soon"], /--timeout/);
    await usageError(["run", "VglProbe", "monitor", "--depth", "-1"], /--depth/);
    await usageError(["run", "VglProbe", "start", "--resource", "a b"], /--resource/);
  } finally {
    dropLab(lab);
  }
});

Deno.test("vigil ra run: built-in Dummy's lifecycle, exit codes are the agent's", async () => {
  const lab = makeLab();
  try {
    const run = (action: string) =>
      ra("run", "Dummy", action, "--state-dir", lab.stateDir, ...lab.dirs);
    const before = await run("monitor");
    assert.equal(before.code, 7);
    assert.match(
      before.out,
      /monitor of Dummy \(resource ra-run\): rc 7 NOT_RUNNING \(not running\)/,
    );
    assert.equal((await run("start")).code, 0);
    assert.ok(existsSync(`${lab.stateDir}/Dummy-ra-run.state`), "state file in --state-dir");
    const status = await run("status"); // LSB's word for monitor
    assert.equal(status.code, 0);
    assert.match(status.out, /rc 0 OK \(ok\)/);
    assert.equal((await run("stop")).code, 0);
    assert.equal((await run("monitor")).code, 7);
    // promote is not implemented by Dummy: OCF's ERR_UNIMPLEMENTED, exit 3.
    const promote = await run("promote");
    assert.equal(promote.code, 3);
    assert.match(promote.out, /UNIMPLEMENTED/);
    const meta = await run("meta-data");
    assert.equal(meta.code, 0);
    assert.match(meta.out, /<resource-agent name="Dummy"/);
  } finally {
    dropLab(lab);
  }
});

Deno.test({
  name: "vigil ra run ocf:heartbeat:Dummy: the real script through the executor",
  ignore: !existsSync(OCF_DUMMY),
  fn: async () => {
    const lab = makeLab();
    try {
      const state = `${lab.root}/dummy.state`;
      const run = (action: string, ...more: string[]) =>
        ra(
          "run",
          "ocf:heartbeat:Dummy",
          action,
          "--param",
          `state=${state}`,
          "--resource",
          "vgl-dummy",
          "--state-dir",
          lab.stateDir,
          "--json",
          ...more,
          ...lab.dirs,
        );
      const report = async (action: string, ...more: string[]) => {
        const r = await run(action, ...more);
        const parsed = JSON.parse(r.out) as RunReport;
        assert.equal(r.code, parsed.rc);
        return parsed;
      };
      assert.equal((await report("monitor")).rcName, "NOT_RUNNING");
      const started = await report("start");
      assert.deepEqual([started.rc, started.status, started.resourceId], [0, "done", "vgl-dummy"]);
      assert.ok(existsSync(state), "OCF_RESKEY_state reached the script");
      assert.equal((await report("monitor", "--depth", "10")).rc, 0);
      assert.equal((await report("validate-all")).rc, 0);
      assert.equal((await report("stop")).rc, 0);
      assert.equal(existsSync(state), false);
      const after = await report("monitor");
      assert.deepEqual([after.rc, after.rcName, after.rcText], [7, "NOT_RUNNING", "not running"]);
    } finally {
      dropLab(lab);
    }
  },
});

Deno.test("vigil ra run: params are converted to the schema's types, depth reaches monitor", async () => {
  const lab = makeLab();
  try {
    const start = await ra(
      "run",
      "VglProbe",
      "start",
      "--param",
      "port=8080",
      "--param",
      "tags=a",
      "--param",
      "secure=true",
      "--resource",
      "probe1",
      "--state-dir",
      lab.stateDir,
      ...lab.dirs,
    );
    assert.equal(start.code, 0, start.out);
    assert.match(start.out, /port=8080 tags=\["a"\] secure=true resource=probe1/);
    const two = await ra(
      "run",
      "VglProbe",
      "start",
      "--param",
      "tags=a",
      "--param",
      "tags=b",
      "--state-dir",
      lab.stateDir,
      ...lab.dirs,
    );
    assert.match(two.out, /port=80 tags=\["a","b"\]/);
    const bad = await ra(
      "run",
      "VglProbe",
      "start",
      "--param",
      "port=eighty",
      "--state-dir",
      lab.stateDir,
      ...lab.dirs,
    );
    assert.equal(bad.code, 6);
    assert.match(bad.out, /port/);
    assert.match(bad.out, /rc 6 ERR_CONFIGURED/);
    const monitor = await ra(
      "run",
      "VglProbe",
      "monitor",
      "--depth",
      "20",
      "--timeout",
      "1.5s",
      "--state-dir",
      lab.stateDir,
      ...lab.dirs,
    );
    assert.equal(monitor.code, 7);
    assert.match(monitor.out, /depth=20 timeoutMs=1500/);
  } finally {
    dropLab(lab);
  }
});

Deno.test("vigil ra run: LSB and resource.d scripts; a hang is killed at --timeout", async () => {
  const lab = makeLab();
  try {
    const run = (...args: string[]) => ra("run", ...args, "--state-dir", lab.stateDir, ...lab.dirs);
    assert.equal((await run("lsb:vgl-daemon", "status")).code, 7);
    const start = await run("lsb:vgl-daemon", "start");
    assert.equal(start.code, 0);
    assert.match(start.out, /vgl-daemon started/);
    assert.equal((await run("lsb:vgl-daemon", "monitor")).code, 0);
    assert.equal((await run("lsb:vgl-daemon", "stop")).code, 0);

    const args = await run("heartbeat:vgl-args", "start", "--param", "args=/dev/x::/mnt y::ext4");
    assert.equal(args.code, 0);
    assert.match(
      args.out,
      /argc=4\narg=\[\/dev\/x\]\narg=\[\/mnt y\]\narg=\[ext4\]\narg=\[start\]/,
    );

    const t0 = performance.now();
    const hang = await run("lsb:vgl-hang", "start", "--timeout", "300ms", "--json");
    const report = JSON.parse(hang.out) as RunReport;
    assert.equal(hang.code, 1);
    assert.deepEqual([report.rc, report.rcName, report.status], [1, "ERR_GENERIC", "timeout"]);
    assert.match(report.output, /timed out after 300 ms/);
    assert.ok(performance.now() - t0 < 3_000);
    const pids = readFileSync(`${lab.runDir}/vgl-hang.pids`, "utf8").trim().split(" ").map(Number);
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 150 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(pids.filter(alive), [], "the hung script's group survived");
  } finally {
    dropLab(lab);
  }
});

Deno.test("ocfCodeName names every OCF code", () => {
  assert.equal(ocfCodeName(0), "OK");
  assert.equal(ocfCodeName(7), "NOT_RUNNING");
  assert.equal(ocfCodeName(6), "ERR_CONFIGURED");
  assert.equal(ocfCodeName(42), "UNKNOWN");
});
