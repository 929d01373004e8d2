import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import process from "node:process";
import { type AgentContext, OCF } from "../../plugins/resource_agent.ts";
import {
  findResourceDScript,
  HaresourcesResourceError,
  parseHaresourcesResource,
  resourceDAgent,
  resourceDArgs,
  type ResourceDParams,
  resourceDParamsSchema,
  statusOutputSaysRunning,
} from "../../ra/resource_d_adapter.ts";
import { runResourceAgentContract } from "../plugins/resource_agent_contract.ts";

const FIXTURES = new URL("../fixtures/resource.d/", import.meta.url).pathname;

/** A temporary resource.d (and init.d) holding copies of fixture scripts. */
interface Lab {
  root: string;
  resourceD: string;
  initD: string;
}

function makeLab(...scripts: string[]): Lab {
  const root = mkdtempSync(`${tmpdir()}/vigil-resource-d-`);
  const lab = { root, resourceD: `${root}/resource.d`, initD: `${root}/init.d` };
  mkdirSync(lab.resourceD);
  mkdirSync(lab.initD);
  for (const s of scripts) install(lab.resourceD, s);
  return lab;
}

function install(dir: string, script: string, as = script): void {
  copyFileSync(`${FIXTURES}${script}`, `${dir}/${as}`);
  chmodSync(`${dir}/${as}`, 0o755);
}

function context(
  stateDir: string,
  params: ResourceDParams,
  lines: string[] = [],
  signal = new AbortController().signal,
): AgentContext<ResourceDParams> {
  return {
    params,
    resourceId: "rsc1",
    node: "alpha",
    stateDir,
    signal,
    log: (line: string) => lines.push(line),
    timeoutMs: 20_000,
  };
}

const contractLab = makeLab("vgl-state");
globalThis.addEventListener("unload", () => rmSync(contractLab.root, { recursive: true }));
const contractAgent = resourceDAgent("heartbeat:vgl-state", {
  dirs: [contractLab.resourceD],
  initDir: null,
});
assert.ok(contractAgent, "fixture vgl-state not found");
runResourceAgentContract(contractAgent, (tmp) => ({ args: [`${tmp}/vgl.state`] }), {
  invalidParams: [
    { args: 42 },
    { args: [1] },
    { args: ["a\0b"] },
    { args: new Array(33).fill("x") },
    { arg: ["x"] },
  ],
});

Deno.test("parseHaresourcesResource: Heartbeat's resource words", () => {
  assert.deepEqual(parseHaresourcesResource("IPaddr::10.0.0.1/24/eth0"), {
    type: "IPaddr",
    args: ["10.0.0.1/24/eth0"],
  });
  assert.deepEqual(parseHaresourcesResource("Filesystem::/dev/sdb1::/ha::ext3"), {
    type: "Filesystem",
    args: ["/dev/sdb1", "/ha", "ext3"],
  });
  assert.deepEqual(parseHaresourcesResource("Filesystem::server:/data1::/data1::nfs::ro"), {
    type: "Filesystem",
    args: ["server:/data1", "/data1", "nfs", "ro"],
  });
  assert.deepEqual(parseHaresourcesResource("httpd"), { type: "httpd", args: [] });
  assert.deepEqual(parseHaresourcesResource("hwclock.sh"), { type: "hwclock.sh", args: [] });
  // A bare address is IPaddr's (ResourceManager's canonname).
  assert.deepEqual(parseHaresourcesResource("10.0.0.170"), {
    type: "IPaddr",
    args: ["10.0.0.170"],
  });
  assert.deepEqual(parseHaresourcesResource("192.168.1.5/24/eth1"), {
    type: "IPaddr",
    args: ["192.168.1.5/24/eth1"],
  });
  assert.deepEqual(parseHaresourcesResource("Delay::5::0"), { type: "Delay", args: ["5", "0"] });
  for (const bad of ["", "::x", "../x::y", "a b", "a\0", ".hidden", "x/y::z"]) {
    assert.throws(() => parseHaresourcesResource(bad), HaresourcesResourceError, bad);
  }
  assert.throws(
    () => parseHaresourcesResource(`X${"::a".repeat(33)}`),
    /more than 32 arguments/,
  );
  assert.throws(() => parseHaresourcesResource("../x::y"), /"\.\.\/x" is not a plain script/);
});

Deno.test("resource.d params: a list, or one haresources string split on '::'", () => {
  assert.deepEqual(resourceDArgs(resourceDParamsSchema.parse({ args: ["a", "b::c"] })), [
    "a",
    "b::c",
  ]);
  assert.deepEqual(resourceDArgs(resourceDParamsSchema.parse({ args: "/dev/sdb1::/ha::ext3" })), [
    "/dev/sdb1",
    "/ha",
    "ext3",
  ]);
  assert.deepEqual(resourceDArgs(resourceDParamsSchema.parse({ args: "10.0.0.1/24/eth0" })), [
    "10.0.0.1/24/eth0",
  ]);
  assert.deepEqual(resourceDArgs(resourceDParamsSchema.parse({})), []);
  const bad = resourceDParamsSchema.safeParse({ args: [7] });
  assert.equal(bad.success, false);
  assert.deepEqual(bad.error?.issues[0].path.slice(0, 1), ["args"]);
});

Deno.test("status output is read as Heartbeat's ResourceManager reads it", () => {
  for (const yes of ["running", "vgl is Running", "INFO:  Running OK", "OK", "x\nall OK\n"]) {
    assert.equal(statusOutputSaysRunning(yes), true, yes);
  }
  for (
    const no of [
      "",
      "stopped",
      "INFO:  Resource is stopped",
      "not running",
      "NOT running",
      "service is NOT currently running",
      "ok", // "OK" is matched case-sensitively
      "ERROR: Generic error",
    ]
  ) {
    assert.equal(statusOutputSaysRunning(no), false, JSON.stringify(no));
  }
  // The space after "not" is literal in Heartbeat's pattern: a tab does not make it "not".
  assert.equal(statusOutputSaysRunning("Not\tRunning"), true);
});

Deno.test("resource.d: arguments come before the action, exactly as given", async () => {
  const lab = makeLab("vgl-args");
  try {
    const def = resourceDAgent("vgl-args", { dirs: [lab.resourceD], initDir: null })!;
    assert.equal(def.name, "heartbeat-vgl-args");
    const lines: string[] = [];
    const params = def.params.parse({ args: "/dev/sdb1::/ha dir::ext3" });
    assert.equal(await def.actions.start(context(lab.root, params, lines)), OCF.OK);
    assert.deepEqual(lines, [
      "argc=4",
      "arg=[/dev/sdb1]",
      "arg=[/ha dir]",
      "arg=[ext3]",
      "arg=[start]",
    ]);
    // status: "OK" means running although the script exits 3; "NOT running" means stopped.
    assert.equal(await def.actions.monitor(context(lab.root, params)), OCF.OK);
    const down = def.params.parse({ args: ["down"] });
    assert.equal(await def.actions.monitor(context(lab.root, down)), OCF.NOT_RUNNING);
    // start's exit codes: 1..6 pass through, others are ERR_GENERIC.
    for (const [rc, want] of [[6, OCF.ERR_CONFIGURED], [1, 1], [7, 1], [99, 1]]) {
      const p = def.params.parse({ args: [`rc=${rc}`] });
      assert.equal(await def.actions.start(context(lab.root, p)), want, `rc ${rc}`);
    }
    // No args at all: only the action.
    const none: string[] = [];
    await def.actions.stop(context(lab.root, def.params.parse({}), none));
    assert.deepEqual(none, ["argc=1", "arg=[stop]"]);
  } finally {
    rmSync(lab.root, { recursive: true, force: true });
  }
});

Deno.test("resource.d: search order is the dirs, then the init directory", () => {
  const lab = makeLab("vgl-state");
  const second = `${lab.root}/second.d`;
  try {
    mkdirSync(second);
    install(second, "vgl-state");
    install(second, "vgl-args");
    install(lab.initD, "vgl-args", "httpd");
    const opts = { dirs: [lab.resourceD, second], initDir: lab.initD };
    assert.equal(findResourceDScript("vgl-state", opts), `${lab.resourceD}/vgl-state`);
    assert.equal(findResourceDScript("vgl-args", opts), `${second}/vgl-args`);
    assert.equal(findResourceDScript("httpd", opts), `${lab.initD}/httpd`);
    assert.equal(findResourceDScript("httpd", { ...opts, initDir: null }), undefined);
    assert.equal(findResourceDScript("../init.d/httpd", opts), undefined);
    assert.equal(resourceDAgent("heartbeat:nope", opts), undefined);
    assert.equal(
      resourceDAgent("vgl-state", opts)?.description,
      "Vigil test resource: a state file that says whether it runs.",
    );
    assert.equal(
      resourceDAgent("vgl-args", opts)?.description,
      "usage: $0 [arg ...] {start|stop|status}",
    );
  } finally {
    rmSync(lab.root, { recursive: true, force: true });
  }
});

Deno.test("resource.d: a hanging script is killed with its process group on abort", async () => {
  const lab = makeLab();
  try {
    writeFileSync(
      `${lab.resourceD}/vgl-hang`,
      `#!/bin/sh\ntrap '' TERM\nsleep 300 &\necho "$$ $!" > "$1"\nwait\n`,
      { mode: 0o755 },
    );
    const def = resourceDAgent("vgl-hang", { dirs: [lab.resourceD], initDir: null })!;
    const pidFile = `${lab.root}/pids`;
    const controller = new AbortController();
    const lines: string[] = [];
    const done = def.actions.start(
      context(lab.root, { args: [pidFile] }, lines, controller.signal),
    );
    for (let i = 0; i < 100 && !existsSync(pidFile); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const pids = (await Deno.readTextFile(pidFile)).trim().split(" ").map(Number);
    controller.abort();
    assert.equal(await done, OCF.ERR_GENERIC);
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
        return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 100 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(pids.filter(alive), []);
    assert.ok(lines.some((l) => l.includes("aborted")), lines.join("\n"));
  } finally {
    rmSync(lab.root, { recursive: true, force: true });
  }
});

// The real Heartbeat IPaddr wrapper (package heartbeat), run inside a network namespace of
// our own on a veth pair: start adds 198.18.61.100/24 to vgl0 there, status reads "Running
// OK", stop removes it. Nothing touches the host's interfaces.
const REAL_IPADDR = "/etc/ha.d/resource.d/IPaddr";
const haveIp = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].some((p) => existsSync(p));
Deno.test({
  name: "resource.d real IPaddr: 198.18.61.100/24/vgl0 in a vgl netns (start, status, stop)",
  ignore: !existsSync(REAL_IPADDR) || process.getuid?.() !== 0 || !haveIp,
  fn: async () => {
    const ns = `vgl-rd-${process.pid}`;
    const lab = makeLab();
    const ip = (...args: string[]) => execFileSync("ip", args, { encoding: "utf8" });
    try {
      ip("netns", "add", ns);
      ip("-n", ns, "link", "set", "lo", "up");
      ip("-n", ns, "link", "add", "vgl0", "type", "veth", "peer", "name", "vgl1");
      ip("-n", ns, "link", "set", "vgl0", "up");
      ip("-n", ns, "link", "set", "vgl1", "up");
      ip("-n", ns, "addr", "add", "198.18.61.1/24", "dev", "vgl0");
      // The resource.d entry runs the real script inside the namespace, arguments unchanged.
      writeFileSync(
        `${lab.resourceD}/IPaddr`,
        `#!/bin/sh\nexec ip netns exec ${ns} ${REAL_IPADDR} "$@"\n`,
        { mode: 0o755 },
      );
      const def = resourceDAgent("heartbeat:IPaddr", { dirs: [lab.resourceD], initDir: null })!;
      const params = def.params.parse({ args: "198.18.61.100/24/vgl0" });
      const lines: string[] = [];
      const ctx = context(lab.root, params, lines);
      assert.equal(await def.actions.monitor(ctx), OCF.NOT_RUNNING, lines.join("\n"));
      assert.equal(await def.actions.start(ctx), OCF.OK, lines.join("\n"));
      assert.match(ip("-n", ns, "-4", "addr", "show", "vgl0"), /198\.18\.61\.100\/24/);
      assert.equal(await def.actions.monitor(ctx), OCF.OK, lines.join("\n"));
      assert.equal(await def.actions.stop(ctx), OCF.OK, lines.join("\n"));
      assert.doesNotMatch(ip("-n", ns, "-4", "addr", "show", "vgl0"), /198\.18\.61\.100/);
      assert.equal(await def.actions.monitor(ctx), OCF.NOT_RUNNING, lines.join("\n"));
      // The wrapped OCF agent kept its state under our state directory, not /run.
      assert.ok(existsSync(`${lab.root}/ocf-rsctmp`));
    } finally {
      // IPaddr leaves send_arp running in the background for about a second: every process
      // still in our namespace was started by this test.
      try {
        for (const pid of ip("netns", "pids", ns).split(/\s+/).filter((p) => /^\d+$/.test(p))) {
          try {
            process.kill(Number(pid), "SIGKILL");
          } catch {
            // already gone
          }
        }
      } catch {
        // no namespace
      }
      try {
        ip("netns", "del", ns);
      } catch {
        // never created
      }
      rmSync(lab.root, { recursive: true, force: true });
    }
  },
});
