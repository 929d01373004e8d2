import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  defaultPluginDirs,
  isCompiledBinary,
  isPluginFileName,
  loadPluginDirectories,
  loadPluginDirectory,
  loadPluginFile,
  loadPluginOfKind,
  PluginError,
} from "../../plugins/loader.ts";
import { pluginApi } from "../../plugins/plugin_api.ts";

/** A resource agent in factory form: needs no import at all. */
function agentSource(name: string, extra = ""): string {
  return `export default (vigil) => vigil.defineResourceAgent({
  kind: "resource-agent",
  name: ${JSON.stringify(name)},
  version: "1.2.3",
  description: "agent ${name}",
  params: vigil.z.object({ n: vigil.z.number().default(1).describe("n") }),
  actions: {
    start: async () => vigil.OCF.OK,
    stop: async () => vigil.OCF.OK,
    monitor: async () => vigil.OCF.NOT_RUNNING,
  },
  timeouts: { start: 1000, stop: 1000, monitor: 1000 },${extra}
});
`;
}

const FENCE_SOURCE = `export default (vigil) => vigil.defineFenceDriver({
  kind: "fence-driver", name: "f1", version: "1", description: "fence",
  params: vigil.z.object({}),
  actions: { fence: async () => ({ ok: true, detail: "" }), status: async () => ({ power: "on", detail: "" }) },
  timeouts: { fence: 1000, status: 1000 },
});
`;

const QUORUM_SOURCE = `export default {
  kind: "quorum-device", name: "q1", version: "1", description: "plain object, own schema",
  params: { safeParse: (v) => ({ success: true, data: v ?? {} }) },
  votes: () => 0, intervalMs: 1000, timeoutMs: 500,
  create: () => ({ check: async () => ({ votes: 0, score: 0, healthy: true, detail: "" }), stop: async () => {} }),
};
`;

/** Runs `body` with a fresh directory, removing it afterwards. */
async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "vgl-loader-"));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Asserts `promise` rejects with a PluginError whose message has a line `FILE: FIELD: ...`. */
async function assertPluginError(
  promise: Promise<unknown>,
  file: string,
  field: string,
  pattern?: RegExp,
): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof PluginError, `not a PluginError: ${err}`);
    assert.equal(err.source, file);
    assert.ok(
      err.message.split("\n").some((line) => line.startsWith(`${file}: ${field}: `)),
      `message does not name ${file}: ${field}: ${err.message}`,
    );
    if (pattern) assert.match(err.message, pattern);
    return true;
  });
}

Deno.test("loadPluginFile: a factory gets the plugin API and returns a valid agent", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "Good.ts");
    await writeFile(file, agentSource("Good"));
    const def = await loadPluginFile(file);
    assert.equal(def.kind, "resource-agent");
    assert.equal(def.name, "Good");
    assert.equal(def.version, "1.2.3");
    if (def.kind !== "resource-agent") return;
    // The schema is built with the binary's own zod.
    assert.ok(def.params instanceof pluginApi.z.ZodType);
    assert.deepEqual(def.params.parse({}), { n: 1 });
    assert.equal(await def.actions.monitor({} as never), 7);
  });
});

Deno.test("loadPluginFile: a plain definition, TypeScript syntax and a relative import", async () => {
  await withDir(async (dir) => {
    await writeFile(join(dir, "helper.ts"), `export const votes = (): number => 0;\n`);
    const file = join(dir, "q1.ts");
    await writeFile(
      file,
      `import type { PluginApi } from "vigil/plugin";\nimport { votes } from "./helper.ts";\n` +
        `type Unused = PluginApi;\n` +
        QUORUM_SOURCE.replace("votes: () => 0", "votes: votes"),
    );
    const def = await loadPluginOfKind(file, "quorum-device");
    assert.equal(def.name, "q1");
    assert.equal(def.votes({}), 0);
  });
});

Deno.test("loadPluginFile: errors name the file and the field", async () => {
  await withDir(async (dir) => {
    const badAction = join(dir, "BadAction.ts");
    await writeFile(
      badAction,
      agentSource("BadAction").replace("start: async () => vigil.OCF.OK", 'start: "start.sh"'),
    );
    await assertPluginError(loadPluginFile(badAction), badAction, "actions.start", /function/);

    const badTimeout = join(dir, "BadTimeout.ts");
    await writeFile(
      badTimeout,
      agentSource("BadTimeout").replace("monitor: 1000 }", "monitor: 0 }"),
    );
    await assertPluginError(loadPluginFile(badTimeout), badTimeout, "timeouts.monitor");

    const noKind = join(dir, "NoKind.ts");
    await writeFile(noKind, `export default { name: "x" };\n`);
    await assertPluginError(loadPluginFile(noKind), noKind, "kind", /expected one of/);

    const noDefault = join(dir, "NoDefault.ts");
    await writeFile(noDefault, `export const agent = 1;\n`);
    await assertPluginError(loadPluginFile(noDefault), noDefault, "default", /no default export/);

    const throwing = join(dir, "Throwing.ts");
    await writeFile(throwing, `export default () => { throw new Error("no way"); };\n`);
    await assertPluginError(loadPluginFile(throwing), throwing, "default", /factory threw: no way/);

    const number = join(dir, "Number.ts");
    await writeFile(number, `export default 42;\n`);
    await assertPluginError(loadPluginFile(number), number, "default", /got number/);

    const syntax = join(dir, "Syntax.ts");
    await writeFile(syntax, `export default { kind: \n`);
    await assertPluginError(loadPluginFile(syntax), syntax, "cannot load");

    const missing = join(dir, "Missing.ts");
    await assertPluginError(loadPluginFile(missing), missing, "cannot read", /no such file/);

    const wrongKind = join(dir, "f1.ts");
    await writeFile(wrongKind, FENCE_SOURCE);
    await assertPluginError(
      loadPluginOfKind(wrongKind, "quorum-device"),
      wrongKind,
      "kind",
      /expected "quorum-device", got "fence-driver"/,
    );
  });
});

Deno.test("loadPluginFile: a bare import that cannot resolve explains the factory form", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "Zod.ts");
    await writeFile(file, `import { z } from "zod";\nexport default { params: z.object({}) };\n`);
    await assertPluginError(
      loadPluginFile(file),
      file,
      "import",
      /"zod" cannot be resolved .* factory/,
    );
  });
});

Deno.test("loadPluginDirectory: one bad and one good file; tests and helpers skipped", async () => {
  await withDir(async (dir) => {
    await writeFile(join(dir, "Good.ts"), agentSource("Good"));
    await writeFile(
      join(dir, "Bad.ts"),
      `export default { kind: "resource-agent", name: "Bad" };\n`,
    );
    await writeFile(join(dir, "f1.ts"), FENCE_SOURCE);
    await writeFile(join(dir, "q1.js"), QUORUM_SOURCE);
    // Not plugins: test files, declaration files, _helpers, dotfiles, other extensions.
    for (const name of ["Good.test.ts", "Good_test.ts", "types.d.ts", "_helper.ts", ".hidden.ts"]) {
      await writeFile(join(dir, name), `throw new Error("${name} must not be loaded");\n`);
    }
    await writeFile(join(dir, "README.md"), "# plugins\n");
    await mkdir(join(dir, "lib"));
    await writeFile(join(dir, "lib", "Inner.ts"), agentSource("Inner"));
    await symlink(join(dir, "lib", "Inner.ts"), join(dir, "Linked.ts"));

    const loaded = await loadPluginDirectory(dir);
    assert.deepEqual(loaded.resourceAgents.map((a) => a.name), ["Good", "Inner"]);
    assert.deepEqual(loaded.fenceDrivers.map((d) => d.name), ["f1"]);
    assert.deepEqual(loaded.quorumDevices.map((d) => d.name), ["q1"]);
    assert.deepEqual(loaded.plugins.map((p) => p.file), [
      join(dir, "Good.ts"),
      join(dir, "Linked.ts"),
      join(dir, "f1.ts"),
      join(dir, "q1.js"),
    ]);
    assert.equal(loaded.errors.length, 1);
    const [error] = loaded.errors;
    assert.equal(error.source, join(dir, "Bad.ts"));
    assert.match(error.message, new RegExp(`^${join(dir, "Bad.ts")}: version: `, "m"));
    assert.match(error.message, new RegExp(`^${join(dir, "Bad.ts")}: actions: `, "m"));
  });
});

Deno.test("loadPluginDirectory: a missing directory is empty; a file is an error", async () => {
  await withDir(async (dir) => {
    const missing = await loadPluginDirectory(join(dir, "nope"));
    assert.deepEqual(missing, {
      resourceAgents: [],
      quorumDevices: [],
      fenceDrivers: [],
      errors: [],
      plugins: [],
    });
    const file = join(dir, "file");
    await writeFile(file, "");
    const notDir = await loadPluginDirectory(file);
    assert.equal(notDir.errors.length, 1);
    assert.match(notDir.errors[0].message, /not a directory/);
  });
});

Deno.test("loadPluginDirectories: an earlier directory wins a name clash", async () => {
  await withDir(async (dir) => {
    const first = join(dir, "first");
    const second = join(dir, "second");
    await mkdir(first);
    await mkdir(second);
    await writeFile(join(first, "A.ts"), agentSource("Same"));
    await writeFile(join(second, "B.ts"), agentSource("Same"));
    await writeFile(join(second, "C.ts"), agentSource("Other"));
    const loaded = await loadPluginDirectories([first, join(dir, "missing"), second]);
    assert.deepEqual(loaded.plugins.map((p) => [p.definition.name, p.file]), [
      ["Same", join(first, "A.ts")],
      ["Other", join(second, "C.ts")],
    ]);
    assert.equal(loaded.errors.length, 1);
    assert.match(
      loaded.errors[0].message,
      /B\.ts: name: resource-agent "Same" is already loaded from .*first\/A\.ts/,
    );
  });
});

Deno.test("isPluginFileName and defaultPluginDirs", () => {
  for (const name of ["Web.ts", "web.js", "x.mjs", "y.mts"]) {
    assert.ok(isPluginFileName(name), name);
  }
  for (const name of ["Web.test.ts", "web_test.ts", "a.d.ts", "_h.ts", ".x.ts", "r.md", "ts"]) {
    assert.equal(isPluginFileName(name), false, name);
  }
  assert.equal(isCompiledBinary("/usr/bin/deno"), false);
  assert.equal(isCompiledBinary("/home/u/.bun/bin/bun"), false);
  assert.equal(isCompiledBinary("/usr/local/bin/vigil"), true);
  assert.deepEqual(defaultPluginDirs({}, "/usr/bin/deno"), ["/etc/vigil/plugins"]);
  assert.deepEqual(defaultPluginDirs({}, "/opt/vigil/vigil"), [
    "/etc/vigil/plugins",
    "/opt/vigil/plugins",
  ]);
  assert.deepEqual(defaultPluginDirs({ VIGIL_PLUGIN_DIR: "/a:/b::/a" }, "/opt/vigil/vigil"), [
    "/a",
    "/b",
    "/etc/vigil/plugins",
    "/opt/vigil/plugins",
  ]);
});
