import assert from "node:assert/strict";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { z } from "zod";
import { defineResourceAgent, OCF } from "../../plugins/resource_agent.ts";
import {
  AgentResolver,
  isScriptReference,
  MAX_CACHED_SCRIPT_AGENTS,
} from "../../ra/agent_resolver.ts";
import { builtinResourceAgents } from "../../ra/builtin.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url).pathname;

function plugin(name: string, description: string) {
  return defineResourceAgent({
    kind: "resource-agent",
    name,
    version: "1.0.0",
    description,
    params: z.object({}),
    actions: {
      start: () => Promise.resolve(OCF.OK),
      stop: () => Promise.resolve(OCF.OK),
      monitor: () => Promise.resolve(OCF.NOT_RUNNING),
    },
    timeouts: { start: 1000, stop: 1000, monitor: 1000 },
  });
}

/**
 * A machine in a directory: an OCF root with provider `vgltest` (a script that leaves a
 * mark whenever it runs, a hidden library, a non-executable file), an init.d, a resource.d
 * with Heartbeat's hto-mapfuncs library, and a second resource.d.
 */
interface Machine {
  root: string;
  ocfRoot: string;
  lsbDir: string;
  resourceD: string;
  resourceD2: string;
  mark: string;
}

function makeMachine(): Machine {
  const root = mkdtempSync(`${tmpdir()}/vigil-resolver-`);
  const m = {
    root,
    ocfRoot: `${root}/ocf`,
    lsbDir: `${root}/init.d`,
    resourceD: `${root}/ha.d/resource.d`,
    resourceD2: `${root}/resource2.d`,
    mark: `${root}/ran`,
  };
  for (const dir of [`${m.ocfRoot}/resource.d/vgltest`, m.lsbDir, m.resourceD, m.resourceD2]) {
    mkdirSync(dir, { recursive: true });
  }
  const script = (path: string, body: string, mode = 0o755) =>
    writeFileSync(path, `#!/bin/sh\n${body}\n`, { mode });
  script(
    `${m.ocfRoot}/resource.d/vgltest/Marker`,
    `echo "$1" >> ${m.mark}\nif [ "$1" = meta-data ]; then\n` +
      `echo '<resource-agent name="Marker" version="2.0">` +
      `<shortdesc>Leaves a mark</shortdesc></resource-agent>'\nexit 0\nfi\nexit 7`,
  );
  script(`${m.ocfRoot}/resource.d/vgltest/.ocf-shellfuncs`, "exit 0");
  script(`${m.ocfRoot}/resource.d/vgltest/README`, "not an agent", 0o644);
  for (const s of ["vgl-daemon", "vgl-odd"]) {
    copyFileSync(`${FIXTURES}lsb/${s}`, `${m.lsbDir}/${s}`);
    chmodSync(`${m.lsbDir}/${s}`, 0o755);
  }
  for (const [dir, s] of [[m.resourceD, "vgl-state"], [m.resourceD2, "vgl-state"]]) {
    copyFileSync(`${FIXTURES}resource.d/${s}`, `${dir}/${s}`);
    chmodSync(`${dir}/${s}`, 0o755);
  }
  copyFileSync(`${FIXTURES}resource.d/vgl-args`, `${m.resourceD2}/vgl-args`);
  chmodSync(`${m.resourceD2}/vgl-args`, 0o755);
  script(`${m.resourceD}/hto-mapfuncs`, "# a library, not a resource");
  return m;
}

function resolverFor(m: Machine, plugins = [plugin("VglPlugin", "a test plugin")]) {
  return new AgentResolver({
    plugins,
    ocfRoot: m.ocfRoot,
    lsbDir: m.lsbDir,
    resourceDDirs: [m.resourceD, m.resourceD2],
  });
}

Deno.test("resolver: every kind of name, plugins before built-ins", () => {
  const m = makeMachine();
  try {
    const shadow = plugin("Dummy", "a plugin that replaces the built-in Dummy");
    const resolver = resolverFor(m, [plugin("VglPlugin", "p"), shadow]);
    assert.equal(resolver.resolve("VglPlugin")?.description, "p");
    assert.equal(resolver.resolve("Dummy"), shadow);
    assert.equal(resolver.locate("Dummy")?.source, "plugin");
    const builtin = builtinResourceAgents.find((a) => a.name === "HttpService");
    assert.equal(resolver.resolve("HttpService"), builtin);
    assert.deepEqual(resolver.locate("HttpService"), { definition: builtin, source: "builtin" });

    const ocf = resolver.locate("ocf:vgltest:Marker");
    assert.equal(ocf?.source, "ocf");
    assert.equal(ocf?.path, `${m.ocfRoot}/resource.d/vgltest/Marker`);
    assert.equal(ocf?.definition.name, "ocf-vgltest-Marker");
    assert.equal(ocf?.definition.description, "Leaves a mark");

    const lsb = resolver.locate("lsb:vgl-daemon");
    assert.deepEqual([lsb?.source, lsb?.path], ["lsb", `${m.lsbDir}/vgl-daemon`]);
    assert.equal(lsb?.definition.name, "lsb-vgl-daemon");

    // The first resource.d holding a name wins; init.d comes last.
    const hb = resolver.locate("heartbeat:vgl-state");
    assert.deepEqual([hb?.source, hb?.path], ["heartbeat", `${m.resourceD}/vgl-state`]);
    assert.equal(resolver.locate("heartbeat:vgl-args")?.path, `${m.resourceD2}/vgl-args`);
    assert.equal(resolver.locate("heartbeat:vgl-odd")?.path, `${m.lsbDir}/vgl-odd`);

    for (
      const missing of [
        "NoSuchAgent",
        "dummy", // names are case-sensitive
        "ocf:vgltest:Nope",
        "ocf:vgltest:.ocf-shellfuncs",
        "ocf:vgltest:README",
        "ocf:../vgltest:Marker",
        "lsb:nope",
        "lsb:../init.d/vgl-daemon",
        "heartbeat:nope",
        "heartbeat:",
      ]
    ) {
      assert.equal(resolver.resolve(missing), undefined, missing);
    }
  } finally {
    rmSync(m.root, { recursive: true, force: true });
  }
});

Deno.test("resolver: list() finds every agent, in order, without running a script", () => {
  const m = makeMachine();
  try {
    const resolver = resolverFor(m);
    const listing = resolver.list();
    assert.equal(existsSync(m.mark), false, "list() ran a script");
    const names = listing.map((l) => `${l.source} ${l.name}`);
    const builtins = [...builtinResourceAgents].map((a) => a.name).sort();
    assert.deepEqual(names, [
      ...builtins.map((n) => `builtin ${n}`),
      "plugin VglPlugin",
      "ocf ocf:vgltest:Marker",
      "lsb lsb:vgl-daemon",
      "lsb lsb:vgl-odd",
      "heartbeat heartbeat:vgl-state",
      "heartbeat heartbeat:vgl-args",
    ]);
    const byName = new Map(listing.map((l) => [l.name, l]));
    assert.equal(byName.get("ocf:vgltest:Marker")?.description, "");
    assert.equal(byName.get("ocf:vgltest:Marker")?.path, `${m.ocfRoot}/resource.d/vgltest/Marker`);
    assert.equal(
      byName.get("lsb:vgl-daemon")?.description,
      "Vigil test daemon (a sleep with a pid file)",
    );
    assert.equal(byName.get("lsb:vgl-odd")?.description, "");
    assert.equal(
      byName.get("heartbeat:vgl-state")?.path,
      `${m.resourceD}/vgl-state`,
      "the first directory wins",
    );
    assert.equal(byName.get("VglPlugin")?.description, "a test plugin");
    assert.equal(byName.get("VglPlugin")?.path, undefined);
    // Every listed name resolves, and resolving the OCF one is what runs its meta-data.
    for (const l of listing) assert.ok(resolver.resolve(l.name), l.name);
    assert.equal(Deno.readTextFileSync(m.mark).trim(), "meta-data");
  } finally {
    rmSync(m.root, { recursive: true, force: true });
  }
});

Deno.test("resolver: missing directories list nothing and resolve nothing", () => {
  const resolver = new AgentResolver({
    ocfRoot: "/nonexistent/vgl-ocf",
    lsbDir: "/nonexistent/vgl-init.d",
    resourceDDirs: ["/nonexistent/vgl-resource.d"],
  });
  assert.deepEqual(
    resolver.list().map((l) => l.source),
    builtinResourceAgents.map(() => "builtin"),
  );
  assert.equal(resolver.resolve("ocf:heartbeat:Dummy"), undefined);
  assert.equal(resolver.resolve("lsb:procps"), undefined);
});

Deno.test("resolver: script definitions are cached, and the cache is bounded", () => {
  const m = makeMachine();
  try {
    const resolver = resolverFor(m);
    const first = resolver.resolve("ocf:vgltest:Marker");
    assert.equal(resolver.resolve("ocf:vgltest:Marker"), first, "resolved twice");
    // meta-data ran once for both resolutions.
    assert.deepEqual(Deno.readTextFileSync(m.mark).trim().split("\n"), ["meta-data"]);
    // Fill the cache with other scripts (links to one init script): the oldest goes.
    for (let i = 0; i < MAX_CACHED_SCRIPT_AGENTS; i++) {
      symlinkSync(`${m.lsbDir}/vgl-daemon`, `${m.lsbDir}/vgl-${i}`);
      assert.ok(resolver.resolve(`lsb:vgl-${i}`));
    }
    const last = resolver.resolve(`lsb:vgl-${MAX_CACHED_SCRIPT_AGENTS - 1}`);
    assert.equal(resolver.resolve(`lsb:vgl-${MAX_CACHED_SCRIPT_AGENTS - 1}`), last);
    const again = resolver.resolve("ocf:vgltest:Marker");
    assert.notEqual(again, first, "the oldest entry was not evicted");
    assert.deepEqual(Deno.readTextFileSync(m.mark).trim().split("\n"), [
      "meta-data",
      "meta-data",
    ]);
    // A script installed after a failed lookup is found (misses are not cached).
    assert.equal(resolver.resolve("lsb:later"), undefined);
    copyFileSync(`${FIXTURES}lsb/vgl-daemon`, `${m.lsbDir}/later`);
    chmodSync(`${m.lsbDir}/later`, 0o755);
    assert.equal(resolver.resolve("lsb:later")?.name, "lsb-later");
  } finally {
    rmSync(m.root, { recursive: true, force: true });
  }
});

Deno.test("isScriptReference tells script names from plugin names", () => {
  for (const yes of ["ocf:heartbeat:Dummy", "lsb:ssh", "heartbeat:IPaddr"]) {
    assert.equal(isScriptReference(yes), true, yes);
  }
  for (const no of ["Dummy", "IPaddr", "ocf-heartbeat-Dummy", "LSB:ssh"]) {
    assert.equal(isScriptReference(no), false, no);
  }
});

// This machine's own agents, when the packages are installed (resource-agents, heartbeat).
Deno.test({
  name: "resolver on this machine: ocf:heartbeat:Dummy, heartbeat:IPaddr, no hto-mapfuncs",
  ignore: !existsSync("/usr/lib/ocf/resource.d/heartbeat/Dummy"),
  fn: () => {
    const resolver = new AgentResolver({ ocfRoot: "/usr/lib/ocf" });
    const names = new Set(resolver.list().map((l) => l.name));
    assert.ok(names.has("ocf:heartbeat:Dummy"));
    assert.equal(resolver.resolve("ocf:heartbeat:Dummy")?.name, "ocf-heartbeat-Dummy");
    if (existsSync("/etc/ha.d/resource.d/IPaddr")) {
      assert.ok(names.has("heartbeat:IPaddr"));
      assert.equal(names.has("heartbeat:hto-mapfuncs"), false);
      assert.equal(resolver.resolve("heartbeat:IPaddr")?.name, "heartbeat-IPaddr");
    }
  },
});
