import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import process from "node:process";
import { findResourceAgent } from "../../ra/builtin.ts";
import {
  MAX_ACTION_OUTPUT_BYTES,
  ocfAgent,
  type OcfParams,
  parseOcfSpec,
} from "../../ra/ocf_adapter.ts";
import { parseOcfDuration, parseOcfMetadata } from "../../ra/ocf_metadata.ts";
import { type AgentContext, OCF } from "../../plugins/resource_agent.ts";
import { runResourceAgentContract } from "../plugins/resource_agent_contract.ts";

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
): AgentContext<OcfParams> {
  return {
    params,
    resourceId: "rsc1",
    node: "alpha",
    stateDir,
    signal,
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
    const lines: string[] = [];
    const ctx = context(`${root}/state`, { ip: "10.0.0.1", port: 80, on: true }, lines);
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
        "OCF_RESKEY_CRM_meta_timeout=20000",
        `HA_RSCTMP=${root}/state/ocf-rsctmp`,
        `PATH=${process.env.PATH}`,
        "arg=monitor",
      ]
    ) {
      assert.ok(lines.includes(want), `missing ${want} in:\n${lines.join("\n")}`);
    }
    assert.ok(existsSync(`${root}/state/ocf-rsctmp`), "HA_RSCTMP not created");
    lines.length = 0;
    assert.equal(await agent.actions.validate!(ctx), OCF.NOT_RUNNING);
    assert.ok(lines.includes("arg=validate-all"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("ocfAgent: exit codes outside 0..9 become ERR_GENERIC; output is bounded", async () => {
  const root = await Deno.makeTempDir({ prefix: "vigil-ocf-root-" });
  try {
    await fakeAgent(
      root,
      "Loud",
      'case "$1" in meta-data) exit 1;; start) exit 42;; esac\n' +
        // 200 lines of 1 KiB on stdout and some stderr: more than the bound.
        'i=0; while [ $i -lt 200 ]; do printf "%01024d\\n" 0; i=$((i+1)); done\n' +
        "echo oops >&2\nexit 0",
    );
    const agent = ocfAgent("ocf:test:Loud", { ocfRoot: root })!;
    const lines: string[] = [];
    const ctx = context(`${root}/state`, {}, lines);
    assert.equal(await agent.actions.start(ctx), OCF.ERR_GENERIC);
    assert.match(lines.join("\n"), /exit code 42/);
    lines.length = 0;
    assert.equal(await agent.actions.monitor(ctx), OCF.OK);
    const bytes = new TextEncoder().encode(lines.join("\n")).length;
    assert.ok(bytes <= MAX_ACTION_OUTPUT_BYTES + 200, `logged ${bytes} bytes`);
    assert.ok(bytes >= MAX_ACTION_OUTPUT_BYTES - 2048, `logged only ${bytes} bytes`);
    assert.match(lines.at(-1)!, /output truncated/);
  } finally {
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
      pids.push(Number((await Deno.readTextFile(`${root}/${file}`)).trim()));
    }
    assert.ok(pids.every((pid) => Number.isInteger(pid) && pid > 1), `pids ${pids}`);
    // Reaping of the orphaned sleep may lag a little: poll, bounded.
    for (let i = 0; i < 40 && pids.some(alive); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(pids.filter(alive), [], "processes of the group survived");
  } finally {
    for (const pid of pids) {
      if (alive(pid)) process.kill(pid, "SIGKILL");
    }
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
  assert.deepEqual(parseOcfMetadata("not xml at all"), { actionTimeouts: {} });
  const meta = parseOcfMetadata(
    `<resource-agent name='X'><version>1.1</version><actions>` +
      `<action name='stop' timeout='2m'/><action name="start" timeout="bogus"/></actions>` +
      `</resource-agent>`,
  );
  assert.deepEqual(meta, { version: "1.1", actionTimeouts: { stop: 120_000 } });
});
