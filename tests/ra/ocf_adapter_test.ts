import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import process from "node:process";
import { findResourceAgent } from "../../ra/builtin.ts";
import { MAX_LINE_BYTES, ocfAgent, type OcfParams, parseOcfSpec } from "../../ra/ocf_adapter.ts";
import { parseOcfDuration, parseOcfMetadata } from "../../ra/ocf_metadata.ts";
import { type AgentContext, OCF } from "../../plugins/resource_agent.ts";
import { describeParams } from "../../plugins/param_description.ts";
import { runResourceAgentContract } from "../plugins/resource_agent_contract.ts";
import { alive, killLeftovers, makeOcfRoot, readPid } from "../fixtures/ocf/ocf_root.ts";

const DUMMY_SCRIPT = "/usr/lib/ocf/resource.d/heartbeat/Dummy";
const haveDummy = existsSync(DUMMY_SCRIPT);
const SKIP_REASON = `(skipped: ${DUMMY_SCRIPT} missing; install Debian's resource-agents)`;
const dummy = haveDummy ? ocfAgent("ocf:heartbeat:Dummy") : undefined;

if (dummy) {
  runResourceAgentContract(dummy, (tmpDir) => ({ state: `${tmpDir}/dummy.state` }), {
    invalidParams: [{ "bad-name": "x" }, { x: {} }, { x: null }, { x: "a\0b" }, { x: NaN }],
  });
} else {
  Deno.test({ name: `ocf Dummy contract ${SKIP_REASON}`, ignore: true, fn: () => {} });
}

function context(
  stateDir: string,
  params: OcfParams,
  lines: string[] = [],
  signal = new AbortController().signal,
  extra: { timeoutMs?: number; depth?: number } = {},
): AgentContext<OcfParams> {
  return {
    params,
    resourceId: "rsc1",
    node: "alpha",
    stateDir,
    signal,
    timeoutMs: extra.timeoutMs ?? 20_000,
    ...(extra.depth !== undefined ? { depth: extra.depth } : {}),
    log: (line) => lines.push(line),
  };
}

/** Writes an executable script at `${root}/resource.d/test/${type}`. */
async function fakeAgent(root: string, type: string, body: string): Promise<void> {
  await Deno.mkdir(`${root}/resource.d/test`, { recursive: true });
  const path = `${root}/resource.d/test/${type}`;
  await Deno.writeTextFile(path, `#!/bin/sh\n${body}\n`);
  await Deno.chmod(path, 0o755);
}

Deno.test({
  name: "ocf Dummy: start, monitor OK, stop, monitor NOT_RUNNING with an explicit state file",
  ignore: !dummy,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "vigil-ocf-" });
    try {
      const state = `${dir}/my.state`;
      const lines: string[] = [];
      const ctx = context(dir, dummy!.params.parse({ state }), lines);
      assert.equal(await dummy!.actions.start(ctx), OCF.OK, lines.join("\n"));
      // OCF_RESKEY_state reached the script: the file is where the param says.
      assert.ok(existsSync(state), "state file not created at OCF_RESKEY_state");
      assert.equal(await dummy!.actions.monitor(ctx), OCF.OK);
      assert.equal(await dummy!.actions.stop(ctx), OCF.OK);
      assert.ok(!existsSync(state));
      assert.equal(await dummy!.actions.monitor(ctx), OCF.NOT_RUNNING);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "ocf Dummy: default state file uses HA_RSCTMP under stateDir and the resource id",
  ignore: !dummy,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "vigil-ocf-" });
    try {
      const lines: string[] = [];
      const ctx = context(dir, {}, lines);
      assert.equal(await dummy!.actions.start(ctx), OCF.OK, lines.join("\n"));
      assert.ok(existsSync(`${dir}/ocf-rsctmp/Dummy-rsc1.state`));
      assert.equal(await dummy!.actions.stop(ctx), OCF.OK);
      assert.ok(!existsSync(`${dir}/ocf-rsctmp/Dummy-rsc1.state`));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "ocf Dummy: validate runs validate-all (OK, or ERR_ARGS for an unwritable state dir)",
  ignore: !dummy,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "vigil-ocf-" });
    try {
      const ok = context(dir, { state: `${dir}/v.state` });
      assert.equal(await dummy!.actions.validate!(ok), OCF.OK);
      const bad = context(dir, { state: `${dir}/missing/v.state` });
      assert.equal(await dummy!.actions.validate!(bad), OCF.ERR_ARGS);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "ocf Dummy: meta-data gives timeouts (start 20s), version and description",
  ignore: !dummy,
  fn: () => {
    assert.deepEqual(dummy!.timeouts, { start: 20_000, stop: 20_000, monitor: 20_000 });
    assert.equal(dummy!.version, "1.0");
    assert.equal(dummy!.description, "Example stateless resource agent");
    assert.equal(dummy!.name, "ocf-heartbeat-Dummy");
  },
});

Deno.test({
  name: "findResourceAgent resolves ocf: names through the adapter, built-ins unchanged",
  ignore: !dummy,
  fn: () => {
    assert.equal(findResourceAgent("ocf:heartbeat:Dummy")?.name, "ocf-heartbeat-Dummy");
    assert.equal(findResourceAgent("ocf:heartbeat:NoSuchAgentHere"), undefined);
    assert.equal(findResourceAgent("Dummy")?.name, "Dummy");
  },
});

Deno.test("ocfAgent: unknown or non-executable agents give undefined", async () => {
  const root = await Deno.makeTempDir({ prefix: "vigil-ocf-root-" });
  try {
    assert.equal(ocfAgent("ocf:test:Nope", { ocfRoot: root }), undefined);
    await Deno.mkdir(`${root}/resource.d/test`, { recursive: true });
    await Deno.writeTextFile(`${root}/resource.d/test/NotExec`, "#!/bin/sh\nexit 0\n");
    assert.equal(ocfAgent("ocf:test:NotExec", { ocfRoot: root }), undefined);
    await Deno.mkdir(`${root}/resource.d/test/ADir`);
    assert.equal(ocfAgent("ocf:test:ADir", { ocfRoot: root }), undefined);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("ocfAgent: path traversal and malformed specs are rejected", async () => {
  const root = await Deno.makeTempDir({ prefix: "vigil-ocf-root-" });
  try {
    // An executable the traversal names would reach if they were not rejected.
    await fakeAgent(root, "Ok", "exit 0");
    await Deno.writeTextFile(`${root}/Escape`, "#!/bin/sh\nexit 0\n");
    await Deno.chmod(`${root}/Escape`, 0o755);
    assert.ok(ocfAgent("ocf:test:Ok", { ocfRoot: root }));
    for (
      const bad of [
        "ocf:..:..:Escape",
        "ocf:test:../../Escape",
        "ocf:../..:Escape",
        "ocf:test/..:Ok",
        "ocf:test:..",
        "ocf::Ok",
        "ocf:test:",
        "lsb:test:Ok",
        "ocf:test:Ok:extra",
        "ocf:test:.Ok",
      ]
    ) {
      assert.equal(parseOcfSpec(bad), undefined, bad);
      assert.equal(ocfAgent(bad, { ocfRoot: root }), undefined, bad);
    }
    assert.deepEqual(parseOcfSpec("ocf:heartbeat:IPaddr2"), {
      provider: "heartbeat",
      type: "IPaddr2",
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("ocfAgent: the script gets the OCF environment and params as OCF_RESKEY_*", async () => {
  const root = await Deno.makeTempDir({ prefix: "vigil-ocf-root-" });
  try {
    await fakeAgent(
      root,
      "Env",
      'case "$1" in meta-data) exit 1;; esac\n' +
        'env | grep -E "^(OCF_|HA_RSCTMP=|PATH=)" | sort\necho "arg=$1"\nexit 7',
    );
    const agent = ocfAgent("ocf:test:Env", { ocfRoot: root })!;
    // meta-data failed, so the defaults apply.
    assert.deepEqual(agent.timeouts, { start: 20_000, stop: 20_000, monitor: 20_000 });
    assert.equal(agent.version, "0.0.0");
    assert.equal(agent.actions.promote, undefined);
    const lines: string[] = [];
    const params = { ip: "10.0.0.1", port: 80, on: true };
    const ctx = context(`${root}/state`, params, lines, undefined, {
      timeoutMs: 12_345,
      depth: 10,
    });
    assert.equal(await agent.actions.monitor(ctx), OCF.NOT_RUNNING);
    for (
      const want of [
        "OCF_RESKEY_ip=10.0.0.1",
        "OCF_RESKEY_port=80",
        "OCF_RESKEY_on=true",
        `OCF_ROOT=${root}`,
        `OCF_FUNCTIONS_DIR=${root}/lib/heartbeat`,
        "OCF_RESOURCE_INSTANCE=rsc1",
        "OCF_RESOURCE_TYPE=Env",
        "OCF_RESOURCE_PROVIDER=test",
        "OCF_RA_VERSION_MAJOR=1",
        "OCF_RA_VERSION_MINOR=0",
        // The operation's own timeout and depth, not the agent's defaults.
        "OCF_RESKEY_CRM_meta_timeout=12345",
        "OCF_CHECK_LEVEL=10",
        `HA_RSCTMP=${root}/state/ocf-rsctmp`,
        `PATH=${process.env.PATH}`,
        "arg=monitor",
      ]
    ) {
      assert.ok(lines.includes(want), `missing ${want} in:\n${lines.join("\n")}`);
    }
    assert.ok(existsSync(`${root}/state/ocf-rsctmp`), "HA_RSCTMP not created");
    // A monitor without depth runs at level 0; other actions get no OCF_CHECK_LEVEL.
    lines.length = 0;
    await agent.actions.monitor(context(`${root}/state`, params, lines));
    assert.ok(lines.includes("OCF_CHECK_LEVEL=0"), lines.join("\n"));
    assert.ok(lines.includes("OCF_RESKEY_CRM_meta_timeout=20000"));
    lines.length = 0;
    assert.equal(await agent.actions.validate!(ctx), OCF.NOT_RUNNING);
    assert.ok(lines.includes("arg=validate-all"));
    assert.ok(!lines.some((l) => l.startsWith("OCF_CHECK_LEVEL=")), lines.join("\n"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("ocfAgent: exit codes are returned raw, OCF or not; a signal death throws", async () => {
  const root = await Deno.makeTempDir({ prefix: "vigil-ocf-root-" });
  try {
    await fakeAgent(
      root,
      "Codes",
      'case "$1" in meta-data) exit 1;; start) exit 42;; stop) exit 190;; validate-all) exit 9;; esac\n' +
        "echo going; kill -SEGV $$",
    );
    const agent = ocfAgent("ocf:test:Codes", { ocfRoot: root })!;
    const lines: string[] = [];
    const ctx = context(`${root}/state`, {}, lines);
    assert.equal(await agent.actions.start(ctx), 42, "not an OCF code, but kept as it is");
    assert.equal(await agent.actions.stop(ctx), 190);
    assert.equal(await agent.actions.validate!(ctx), 9);
    await assert.rejects(agent.actions.monitor(ctx), /monitor: killed by SIGSEGV/);
    assert.ok(lines.includes("going"), lines.join("\n"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("ocfAgent: every output line reaches the log; an endless line is cut to its tail", async () => {
  const root = await Deno.makeTempDir({ prefix: "vigil-ocf-root-" });
  try {
    await fakeAgent(
      root,
      "Loud",
      'case "$1" in meta-data) exit 1;; esac\n' +
        // 200 lines of 1 KiB on stdout, one on stderr, then 1 MiB without a newline.
        'i=0; while [ $i -lt 200 ]; do printf "%01024d\\n" $i; i=$((i+1)); done\n' +
        "echo oops >&2\n" +
        "head -c 1048576 /dev/zero | tr '\\0' y; printf END\nexit 0",
    );
    const agent = ocfAgent("ocf:test:Loud", { ocfRoot: root })!;
    const lines: string[] = [];
    assert.equal(await agent.actions.monitor(context(`${root}/state`, {}, lines)), OCF.OK);
    assert.equal(lines.length, 202, `${lines.length} lines`);
    assert.equal(lines[0], "0".repeat(1024));
    assert.equal(lines[199], "199".padStart(1024, "0"));
    assert.ok(lines.includes("stderr: oops"));
    const last = lines.at(-1)!;
    assert.ok(last.startsWith("[line cut] y"), last.slice(0, 40));
    assert.ok(last.endsWith("yEND"));
    assert.ok(last.length <= MAX_LINE_BYTES + 20, `${last.length} chars`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("ocfAgent: a daemon holding the output pipes does not hold up the action", async () => {
  const root = await Deno.makeTempDir({ prefix: "vigil-ocf-root-" });
  const pidFile = `${root}/state/ocf-rsctmp/daemon.pid`;
  try {
    // Like IPaddr2's background send_arp: the started helper inherits stdout and stderr.
    await fakeAgent(
      root,
      "Daemon",
      'case "$1" in meta-data) exit 1;; esac\n' +
        'echo before; sleep 30 & echo $! > "$HA_RSCTMP/daemon.pid"; exit 0',
    );
    const agent = ocfAgent("ocf:test:Daemon", { ocfRoot: root })!;
    const lines: string[] = [];
    const started = performance.now();
    assert.equal(await agent.actions.start(context(`${root}/state`, {}, lines)), OCF.OK);
    const tookMs = performance.now() - started;
    assert.ok(tookMs < 1_000, `start took ${tookMs.toFixed(0)} ms`);
    assert.ok(lines.includes("before"), lines.join("\n"));
    const pid = readPid(pidFile);
    assert.ok(pid !== undefined && alive(pid), "the daemon is left running");
  } finally {
    const pid = readPid(pidFile);
    if (pid !== undefined && alive(pid)) process.kill(pid, "SIGKILL");
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("ocfAgent: a hanging action is aborted at its timeout and its process group killed", async () => {
  const root = await Deno.makeTempDir({ prefix: "vigil-ocf-root-" });
  const pids: number[] = [];
  try {
    await fakeAgent(
      root,
      "Hang",
      `case "$1" in
meta-data) cat <<'END'
<resource-agent name="Hang" version="2.5">
<!-- <shortdesc>not this</shortdesc> -->
<shortdesc lang="en">Hangs &amp; waits</shortdesc>
<parameters><parameter name="p"><shortdesc>param</shortdesc></parameter></parameters>
<actions>
<action name="start" timeout="1s"/>
<action name="monitor" timeout="30s" role="Promoted"/>
<action name="monitor" timeout="1500ms" interval="10s"/>
</actions>
</resource-agent>
END
exit 0;;
esac
trap '' TERM
echo $$ > "$OCF_RESKEY_dir/leader.pid"
sleep 600 &
echo $! > "$OCF_RESKEY_dir/sleep.pid"
wait
exit 0`,
    );
    const agent = ocfAgent("ocf:test:Hang", { ocfRoot: root })!;
    assert.deepEqual(agent.timeouts, { start: 1000, stop: 20_000, monitor: 1500 });
    assert.equal(agent.version, "2.5");
    assert.equal(agent.description, "Hangs & waits");

    const lines: string[] = [];
    const started = Date.now();
    const ctx = context(
      `${root}/state`,
      { dir: root },
      lines,
      AbortSignal.timeout(agent.timeouts.start),
    );
    const rc = await agent.actions.start(ctx);
    const elapsed = Date.now() - started;
    assert.equal(rc, OCF.ERR_GENERIC);
    // Timeout (1 s) + SIGKILL grace (TERM is ignored by the script and its sleep) + drain.
    assert.ok(elapsed >= 1000 && elapsed < 4000, `took ${elapsed} ms`);
    assert.match(lines.join("\n"), /aborted.*killing process group/);
    for (const file of ["leader.pid", "sleep.pid"]) {
      const pid = readPid(`${root}/${file}`);
      assert.ok(pid !== undefined, `no PID in ${file}`);
      pids.push(pid);
    }
    // Reaping of the orphaned sleep may lag a little: poll, bounded.
    for (let i = 0; i < 40 && pids.some(alive); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(pids.filter(alive), [], "processes of the group survived");
  } finally {
    killLeftovers(pids);
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("ocf meta-data reader: durations and odd input", () => {
  assert.equal(parseOcfDuration("20s"), 20_000);
  assert.equal(parseOcfDuration("20"), 20_000);
  assert.equal(parseOcfDuration("500ms"), 500);
  assert.equal(parseOcfDuration("2min"), 120_000);
  assert.equal(parseOcfDuration("1h"), 3_600_000);
  assert.equal(parseOcfDuration("0s"), undefined);
  assert.equal(parseOcfDuration("-5s"), undefined);
  assert.equal(parseOcfDuration("5 fortnights"), undefined);
  assert.equal(parseOcfDuration("48h"), undefined);
  assert.deepEqual(parseOcfMetadata("not xml at all"), {
    actionTimeouts: {},
    actions: [],
    parameters: [],
  });
  const meta = parseOcfMetadata(
    `<resource-agent name='X'><version>1.1</version><actions>` +
      `<action name='stop' timeout='2m'/><action name="start" timeout="bogus"/></actions>` +
      `</resource-agent>`,
  );
  assert.deepEqual(meta, {
    version: "1.1",
    actionTimeouts: { stop: 120_000 },
    actions: ["stop", "start"],
    parameters: [],
  });
});

Deno.test("ocf meta-data reader: parameters, long description and actions", () => {
  const meta = parseOcfMetadata(`<?xml version="1.0"?>
<resource-agent name="IPx" version="2.0">
<longdesc lang="en">Manages a
  virtual &lt;IP&gt;.</longdesc>
<shortdesc lang="en">Virtual IP</shortdesc>
<parameters>
<parameter name="ip" unique="1" required="1">
<longdesc lang="en">The address.</longdesc>
<shortdesc lang="en">IP</shortdesc>
<content type="string" />
</parameter>
<parameter name="cidr_netmask">
<shortdesc lang="en">Netmask</shortdesc>
<content type="integer" default="24"/>
</parameter>
<parameter name="ip"><shortdesc>duplicate, ignored</shortdesc></parameter>
<parameter name="flag"/>
</parameters>
<actions>
<action name="start" timeout="20s"/>
<action name="promote" timeout="10s"/>
<action name="monitor" timeout="30s" role="Promoted"/>
<action name="monitor" timeout="20s"/>
</actions>
</resource-agent>`);
  assert.equal(meta.longdesc, "Manages a virtual <IP>.");
  assert.equal(meta.shortdesc, "Virtual IP");
  assert.deepEqual(meta.actions, ["start", "promote", "monitor"]);
  assert.deepEqual(meta.actionTimeouts, { start: 20_000, promote: 10_000, monitor: 20_000 });
  assert.deepEqual(meta.parameters, [
    {
      name: "ip",
      required: true,
      unique: true,
      type: "string",
      shortdesc: "IP",
      longdesc: "The address.",
    },
    {
      name: "cidr_netmask",
      required: false,
      unique: false,
      type: "integer",
      default: "24",
      shortdesc: "Netmask",
    },
    { name: "flag", required: false, unique: false },
  ]);
});

Deno.test("ocfAgent: meta-data parameters become the described params schema", async () => {
  const ocf = await makeOcfRoot();
  try {
    const agent = ocfAgent("ocf:vigiltest:Misbehave", { ocfRoot: ocf.root })!;
    assert.equal(agent.description, "Misbehaving test agent");
    assert.equal(
      agent.metadata?.longDescription,
      "Dummy-like agent for tests; misbehaves on request.",
    );
    assert.deepEqual(agent.timeouts, { start: 5_000, stop: 5_000, monitor: 2_000 });
    // notify is listed in the meta-data, promote and demote are not.
    assert.equal(typeof agent.actions.notify, "function");
    assert.equal(agent.actions.promote, undefined);
    assert.equal(agent.actions.demote, undefined);
    assert.deepEqual(describeParams(agent.params), [
      {
        name: "dir",
        type: "string",
        required: false,
        default: "$HA_RSCTMP",
        description: "State directory: Directory for state and PID files.",
      },
      {
        name: "flood_bytes",
        type: "integer",
        required: false,
        default: "52428800",
        description: "Bytes printed by a flooding action",
      },
      {
        name: "exit_code",
        type: "integer",
        required: false,
        default: "42",
        description: "Exit code of the actions in exit_on",
      },
    ]);
    // Defaults are shown, not filled in (the script applies its own); unlisted params pass.
    assert.deepEqual(agent.params.parse({ hang: "start" }), { hang: "start" });
    for (const bad of [{ "bad-name": 1 }, { dir: null }, { dir: "a\0b" }, { x: {} }, 7]) {
      assert.equal(agent.params.safeParse(bad).success, false, JSON.stringify(bad));
    }
  } finally {
    await ocf.remove();
  }
});

Deno.test({
  name: "ocf Dummy: its meta-data parameters (state, fake) are described",
  ignore: !dummy,
  fn: () => {
    const rows = describeParams(dummy!.params);
    assert.deepEqual(rows.map((r) => [r.name, r.type, r.required]), [
      ["state", "string", false],
      ["fake", "string", false],
    ]);
    assert.match(rows[0].description ?? "", /State file/);
  },
});
