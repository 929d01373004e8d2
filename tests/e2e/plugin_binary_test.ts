/**
 * End-to-end: third-party plugins loaded at run time by the compiled binary.
 *
 * `dist/vigil` is (re)built with `scripts/compile.ts` when it is missing or older than the
 * sources, then copied into a temporary directory. TypeScript plugin files are dropped in
 * the `plugins/` directory next to the copy, which the binary searches by default, and
 * `vigil plugin test` and `vigil plugin list` are run as a user would run them. This is
 * the case the factory form exists for: there is no node_modules next to the binary.
 *
 * @module
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmod, copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { binaryPath } from "../../scripts/compile.ts";
import { ensureBinary } from "./ensure_binary.ts";
import { LocalCluster } from "../../bench/local_cluster.ts";

/** How long one `vigil plugin` run may take before it is killed. */
const RUN_TIMEOUT_MS = 120_000;

/** How one run ended. */
interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `binary ARGS` in `cwd` with `env`, killing it by PID after {@link RUN_TIMEOUT_MS}. */
function runIn(binary: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolveRun, rejectRun) => {
    const child = spawn(binary, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      if (child.pid === undefined) return;
      try {
        process.kill(child.pid, "SIGKILL");
      } catch { /* already gone */ }
    }, RUN_TIMEOUT_MS);
    child.on("error", (err) => {
      clearTimeout(timer);
      rejectRun(err);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolveRun({ code, stdout, stderr });
    });
  });
}

function describe(run: Run): string {
  return `exit ${run.code}\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;
}

/** The environment without a plugin directory override, so only the defaults are searched. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.VIGIL_PLUGIN_DIR;
  return env;
}

/**
 * A third-party resource agent as a user would write it: TypeScript with types, a
 * type-only import of the API, node: built-ins, and the factory default export.
 */
const GREETER = `import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { PluginApi } from "vigil/plugin";

interface Where {
  stateDir: string;
  resourceId: string;
}

function file(ctx: Where): string {
  return join(ctx.stateDir, \`greeter-\${ctx.resourceId}.txt\`);
}

export default (vigil: PluginApi) =>
  vigil.defineResourceAgent({
    kind: "resource-agent",
    name: "Greeter",
    version: "2.0.0",
    description: "writes a greeting while it runs",
    params: vigil.z.object({
      greeting: vigil.z.string().min(1).describe("what to write"),
    }),
    actions: {
      async start(ctx) {
        await writeFile(file(ctx), ctx.params.greeting);
        return vigil.OCF.OK;
      },
      async stop(ctx) {
        await rm(file(ctx), { force: true });
        return vigil.OCF.OK;
      },
      async monitor(ctx) {
        try {
          const text: string = await readFile(file(ctx), "utf8");
          return text === ctx.params.greeting ? vigil.OCF.OK : vigil.OCF.ERR_GENERIC;
        } catch {
          return vigil.OCF.NOT_RUNNING;
        }
      },
    },
    timeouts: { start: 5_000, stop: 5_000, monitor: 5_000 },
  });
`;

/** Its companion test file: sample parameters for the contract suite. */
const GREETER_TEST = `import type { PluginApi, PluginTestSpec } from "vigil/plugin";

export default (_vigil: PluginApi): PluginTestSpec => ({
  params: () => ({ greeting: "hello" }),
  invalidParams: [{}, { greeting: "" }],
});
`;

/** The last line of `vigil plugin test`: [passed, failed]. */
function summary(stdout: string): [number, number] {
  const last = stdout.trimEnd().split("\n").at(-1) ?? "";
  const match = last.match(/^(\d+) passed, (\d+) failed$/);
  assert.ok(match, `last line is not "N passed, M failed": ${last}`);
  return [Number(match[1]), Number(match[2])];
}

Deno.test({
  name: "compiled vigil loads a .ts plugin dropped next to it: plugin test and list",
  fn: async () => {
    await ensureBinary();
    const dir = await mkdtemp(join(tmpdir(), "vgl-plugin-bin-"));
    try {
      const vigil = join(dir, "vigil");
      await copyFile(binaryPath, vigil);
      await chmod(vigil, 0o755);
      const plugins = join(dir, "plugins");
      await mkdir(plugins);
      await writeFile(join(plugins, "Greeter.ts"), GREETER);
      await writeFile(join(plugins, "Greeter.test.ts"), GREETER_TEST);
      const env = cleanEnv();

      const help = await runIn(vigil, ["--help"], dir, env);
      assert.match(
        help.stdout,
        /vigil plugin /,
        `the binary has no plugin command:\n${describe(help)}`,
      );

      const tested = await runIn(vigil, ["plugin", "test", "plugins/Greeter.ts"], dir, env);
      assert.equal(tested.code, 0, describe(tested));
      const [passed, failed] = summary(tested.stdout);
      assert.equal(failed, 0, describe(tested));
      assert.ok(passed >= 6, `only ${passed} checks ran:\n${describe(tested)}`);
      assert.match(
        tested.stdout,
        /^plugin Greeter 2\.0\.0 \(resource-agent\) from plugins\/Greeter\.ts$/m,
      );
      assert.match(tested.stdout, /^PASS {2}lifecycle is idempotent and monitor reports state/m);

      // A skeleton written by the binary itself passes as written.
      const made = await runIn(vigil, ["plugin", "new", "ra", "Made", "--dir", plugins], dir, env);
      assert.equal(made.code, 0, describe(made));
      const madeTest = await runIn(vigil, ["plugin", "test", join(plugins, "Made.ts")], dir, env);
      assert.equal(madeTest.code, 0, describe(madeTest));
      assert.equal(summary(madeTest.stdout)[1], 0);

      // No --dir: the plugins/ directory next to the binary is searched by default.
      const listed = await runIn(vigil, ["plugin", "list"], dir, env);
      if (!existsSync("/etc/vigil/plugins")) assert.equal(listed.code, 0, describe(listed));
      assert.match(listed.stdout, new RegExp(`plugin directories: .*${plugins}`), describe(listed));
      const rows = listed.stdout.split("\n");
      assert.ok(
        rows.some((row) =>
          /^resource-agent +Greeter +2\.0\.0 +/.test(row) &&
          row.includes(join(plugins, "Greeter.ts"))
        ),
        describe(listed),
      );
      assert.ok(rows.some((row) => /^resource-agent +Made +0\.1\.0 +/.test(row)), describe(listed));

      // The trap the factory form avoids: a bare import has nothing to resolve against.
      const bare = join(dir, "bare");
      await mkdir(bare);
      await writeFile(
        join(bare, "Bare.ts"),
        `import { z } from "zod";\nexport default { kind: "resource-agent", params: z.object({}) };\n`,
      );
      const failing = await runIn(vigil, ["plugin", "list", "--dir", bare], dir, env);
      assert.equal(failing.code, 1, describe(failing));
      assert.match(failing.stdout, /Bare\.ts: import: "zod" cannot be resolved/, describe(failing));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
});

Deno.test({
  name: "compiled vigil runs a cluster resource whose agent is a plugin file next to the binary",
  fn: async () => {
    await ensureBinary();
    const dir = await mkdtemp(join(tmpdir(), "vgl-plugin-cluster-"));
    let cluster: LocalCluster | undefined;
    try {
      const vigil = join(dir, "vigil");
      await copyFile(binaryPath, vigil);
      await chmod(vigil, 0o755);
      await mkdir(join(dir, "plugins"));
      await writeFile(join(dir, "plugins", "Greeter.ts"), GREETER);
      // No pluginDir in the configuration: the nodes find plugins/ next to the binary.
      const saved = process.env.VIGIL_PLUGIN_DIR;
      delete process.env.VIGIL_PLUGIN_DIR;
      try {
        cluster = await LocalCluster.start({
          size: 3,
          keepaliveMs: 100,
          deadtimeMs: 500,
          command: [vigil],
          extraConfig: {
            resources: [{
              id: "greet",
              agent: "Greeter",
              params: { greeting: "hello" },
              monitor: "1s",
            }],
          },
        });
      } finally {
        if (saved !== undefined) process.env.VIGIL_PLUGIN_DIR = saved;
      }
      const names = ["n1", "n2", "n3"];
      const deadline = performance.now() + 20_000;
      let holders: string[] = [];
      while (performance.now() < deadline) {
        holders = [];
        for (const name of names) {
          const doc = await cluster.status(name).catch(() => undefined);
          if (doc?.lrm.greet?.state === "started") holders.push(name);
        }
        if (holders.length > 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(holders.length, 1, `greet started on ${JSON.stringify(holders)}`);
      // The plugin really ran: its file holds the greeting in the holder's agent state.
      const doc = await cluster.status(holders[0]);
      assert.equal(doc.lrm.greet?.lastRc, 0);
    } finally {
      await cluster?.stop();
      await rm(dir, { recursive: true, force: true });
    }
  },
});
