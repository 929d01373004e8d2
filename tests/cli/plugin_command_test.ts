import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFile, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type CliIo, UsageError } from "../../core/cli/command.ts";
import { pluginCommand } from "../../core/cli/plugin_command.ts";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

/** Runs `vigil plugin ARGS` in-process, collecting what it prints. */
async function run(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    out: (text) => out.push(...text.split("\n")),
    err: (text) => err.push(...text.split("\n")),
  };
  const code = await pluginCommand.run(args, io);
  return { code, out, err };
}

/** Runs `body` with a fresh directory, removing it afterwards. */
async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "vgl-plugincmd-"));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** An agent whose monitor always says running: it breaks the lifecycle contract. */
const BROKEN_AGENT = `export default (vigil) => vigil.defineResourceAgent({
  kind: "resource-agent", name: "Broken", version: "1", description: "monitor lies",
  params: vigil.z.object({}),
  actions: {
    start: async () => vigil.OCF.OK,
    stop: async () => vigil.OCF.OK,
    monitor: async () => vigil.OCF.OK,
  },
  timeouts: { start: 1000, stop: 1000, monitor: 1000 },
});
`;

/** An agent that needs a `path` parameter and no test file. */
const PATH_AGENT = `import { rm, stat, writeFile } from "node:fs/promises";
export default (vigil) => vigil.defineResourceAgent({
  kind: "resource-agent", name: "PathAgent", version: "1", description: "a file",
  params: vigil.z.object({ path: vigil.z.string().min(1), mode: vigil.z.number().default(1) }),
  actions: {
    start: async (ctx) => { await writeFile(ctx.params.path, String(ctx.params.mode)); return 0; },
    stop: async (ctx) => { await rm(ctx.params.path, { force: true }); return 0; },
    monitor: async (ctx) => stat(ctx.params.path).then(() => 0, () => 7),
  },
  timeouts: { start: 1000, stop: 1000, monitor: 1000 },
});
`;

/** The last line must be `N passed, M failed`; returns [N, M]. */
function summary(out: string[]): [number, number] {
  const last = out.at(-1) ?? "";
  const match = last.match(/^(\d+) passed, (\d+) failed$/);
  assert.ok(match, `last line is not "N passed, M failed": ${last}`);
  return [Number(match[1]), Number(match[2])];
}

Deno.test("vigil plugin --help and each subcommand's --help", async () => {
  const all = await run(["--help"]);
  assert.equal(all.code, 0);
  for (const sub of ["new", "test", "list"]) {
    assert.ok(all.out.some((l) => l.includes(`vigil plugin ${sub}`)));
  }
  for (const sub of ["new", "test", "list"]) {
    const help = await run([sub, "--help"]);
    assert.equal(help.code, 0);
    assert.match(help.out[0], new RegExp(`^vigil plugin ${sub} `));
  }
  assert.equal((await run([])).code, 2);
  await assert.rejects(run(["frobnicate"]), UsageError);
  assert.ok(pluginCommand.summary.startsWith("vigil plugin"));
});

for (const kind of ["ra", "fence", "quorum"]) {
  Deno.test(`vigil plugin new ${kind} writes a skeleton that passes vigil plugin test`, async () => {
    await withDir(async (dir) => {
      const name = `My${kind}`;
      const made = await run(["new", kind, name, "--dir", join(dir, "sub")]);
      assert.equal(made.code, 0, made.err.join("\n"));
      const plugin = join(dir, "sub", `${name}.ts`);
      const test = join(dir, "sub", `${name}.test.ts`);
      assert.deepEqual(made.out, [
        `wrote ${plugin}`,
        `wrote ${test}`,
        `next: vigil plugin test ${plugin}`,
      ]);
      assert.match(await readFile(plugin, "utf8"), new RegExp(`name: "${name}"`));

      const tested = await run(["test", plugin]);
      const [passed, failed] = summary(tested.out);
      assert.equal(failed, 0, tested.out.join("\n"));
      assert.equal(tested.code, 0);
      assert.ok(passed >= 7, `only ${passed} checks ran`);
      assert.ok(tested.out.some((l) => l === `test file ${test}`), "the test file was not used");
      assert.equal(tested.out.filter((l) => l.startsWith("PASS  ")).length, passed);

      // Naming the test file runs the same thing.
      const viaTest = await run(["test", test]);
      assert.deepEqual(summary(viaTest.out), [passed, 0]);

      // No overwrite without --force.
      const again = await run(["new", kind, name, "--dir", join(dir, "sub")]);
      assert.equal(again.code, 1);
      assert.match(again.err.join("\n"), /exists; use --force/);
      assert.equal((await run(["new", kind, name, "--dir", join(dir, "sub"), "--force"])).code, 0);
    });
  });
}

Deno.test("vigil plugin new: a bad kind or name is a usage error", async () => {
  await assert.rejects(run(["new", "agent", "X"]), /KIND must be one of ra, fence, quorum/);
  await assert.rejects(run(["new", "ra", "1bad"]), /invalid plugin name "1bad"/);
  await assert.rejects(run(["new", "ra", "../up"]), UsageError);
  await assert.rejects(run(["new", "ra"]), /expected KIND NAME/);
  await assert.rejects(run(["new", "ra", "X", "--bogus"]), UsageError);
});

Deno.test("vigil plugin test: a broken plugin prints FAIL lines and exits 1", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "Broken.ts");
    await writeFile(file, BROKEN_AGENT);
    const result = await run(["test", file]);
    assert.equal(result.code, 1);
    const [passed, failed] = summary(result.out);
    assert.equal(failed, 1, result.out.join("\n"));
    assert.ok(passed > 0);
    const failLine = result.out.findIndex((l) =>
      l.startsWith("FAIL  lifecycle is idempotent and monitor reports state")
    );
    assert.ok(failLine >= 0, result.out.join("\n"));
    assert.match(result.out[failLine + 1], /^ {6}step "monitor before start = NOT_RUNNING"/);
  });
});

Deno.test("vigil plugin test: a file that does not load is one FAIL naming file and field", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "Half.ts");
    await writeFile(
      file,
      `export default { kind: "resource-agent", name: "Half", version: "1" };\n`,
    );
    const result = await run(["test", file]);
    assert.equal(result.code, 1);
    assert.deepEqual(summary(result.out), [0, 1]);
    assert.ok(result.out.includes("FAIL  load (0 ms)"), result.out.join("\n"));
    assert.ok(
      result.out.includes(
        `      ${file}: description: Invalid input: expected string, received undefined`,
      ),
    );
    const missing = await run(["test", join(dir, "Nope.ts")]);
    assert.equal(missing.code, 1);
    assert.ok(missing.out.some((l) => l.includes("Nope.ts: cannot read: no such file")));
  });
});

Deno.test("vigil plugin test: --param gives the sample, {tmp} is the check's directory", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "PathAgent.ts");
    await writeFile(file, PATH_AGENT);
    const without = await run(["test", file]);
    assert.equal(without.code, 1);
    assert.ok(
      without.out.some((l) => l.includes("sample params rejected: path:")),
      without.out.join("\n"),
    );

    const withParam = await run([
      "test",
      file,
      "--param",
      "path={tmp}/agent.file",
      "--param",
      "mode=2",
    ]);
    assert.equal(withParam.code, 0, withParam.out.join("\n"));
    assert.equal(summary(withParam.out)[1], 0);

    const json = await run(["test", file, "--param", "path={tmp}/agent.file", "--json"]);
    assert.equal(json.code, 0);
    const report = JSON.parse(json.out.join("\n"));
    assert.equal(report.plugin.name, "PathAgent");
    assert.equal(report.failed, 0);
    assert.equal(report.passed, report.results.length);
    assert.ok(report.results.every((r: { ok: boolean }) => r.ok));

    await assert.rejects(run(["test", file, "--param", "novalue"]), /KEY=VALUE/);
    await assert.rejects(run(["test"]), /expected one FILE/);
  });
});

Deno.test("vigil plugin list: plugins and load errors of a directory", async () => {
  await withDir(async (dir) => {
    await writeFile(join(dir, "PathAgent.ts"), PATH_AGENT);
    await writeFile(join(dir, "Broken.ts"), BROKEN_AGENT);
    await writeFile(join(dir, "PathAgent.test.ts"), `throw new Error("not a plugin");\n`);
    const good = await run(["list", "--dir", dir]);
    assert.equal(good.code, 0, good.out.join("\n"));
    assert.equal(good.out[0], `plugin directories: ${dir}`);
    assert.match(good.out[1], /^KIND +NAME +VERSION +FILE +DESCRIPTION$/);
    assert.ok(
      good.out.some((l) => /^resource-agent +Broken +1 +.*Broken\.ts +monitor lies$/.test(l)),
    );
    assert.ok(
      good.out.some((l) => /^resource-agent +PathAgent +1 +.*PathAgent\.ts +a file$/.test(l)),
    );

    await writeFile(join(dir, "Zbad.ts"), `export default { kind: "fence-driver" };\n`);
    const bad = await run(["list", "--dir", dir]);
    assert.equal(bad.code, 1);
    assert.ok(bad.out.includes("1 file failed to load:"), bad.out.join("\n"));
    assert.ok(bad.out.some((l) => l.startsWith(`  ${join(dir, "Zbad.ts")}: actions: `)));

    const json = JSON.parse(
      (await run(["list", "--dir", dir, "--dir", join(dir, "no"), "--json"])).out.join("\n"),
    );
    assert.deepEqual(json.dirs, [{ dir, exists: true }, { dir: join(dir, "no"), exists: false }]);
    assert.deepEqual(json.plugins.map((p: { name: string }) => p.name), ["Broken", "PathAgent"]);
    assert.equal(json.errors.length, 1);
    assert.equal(json.errors[0].file, join(dir, "Zbad.ts"));

    const empty = await run(["list", "--dir", join(dir, "no")]);
    assert.equal(empty.code, 0);
    assert.deepEqual(empty.out, [`plugin directories: ${join(dir, "no")} (missing)`, "no plugins"]);
  });
});

Deno.test("the skeletons type-check against plugins/plugin_api.ts as written", async () => {
  await withDir(async (dir) => {
    for (const kind of ["ra", "fence", "quorum"]) {
      assert.equal((await run(["new", kind, `T${kind}`, "--dir", dir])).code, 0);
    }
    // A project that maps "vigil/plugin" to the API gets full types; node_modules and
    // package.json give it zod's and node's types.
    await symlink(join(repoRoot, "node_modules"), join(dir, "node_modules"));
    await copyFile(join(repoRoot, "package.json"), join(dir, "package.json"));
    await writeFile(
      join(dir, "deno.json"),
      JSON.stringify({
        imports: { "vigil/plugin": join(repoRoot, "plugins", "plugin_api.ts") },
        nodeModulesDir: "manual",
        compilerOptions: { strict: true },
      }),
    );
    const files = ["ra", "fence", "quorum"].flatMap((k) => [`T${k}.ts`, `T${k}.test.ts`]);
    const checked = spawnSync(
      join(repoRoot, "node_modules", ".bin", "deno"),
      ["check", "--quiet", "--config", "deno.json", ...files],
      { cwd: dir, encoding: "utf8", timeout: 180_000, killSignal: "SIGKILL" },
    );
    assert.equal(checked.status, 0, `${checked.stdout}\n${checked.stderr}`);
  });
});
