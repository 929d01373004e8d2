/**
 * `vigil plugin`: write, test and list plugins (resource agents, fence drivers, quorum
 * devices).
 *
 * - `vigil plugin new ra|fence|quorum NAME [--dir DIR] [--force]` writes a working
 *   skeleton `NAME.ts` and its companion test file `NAME.test.ts`;
 * - `vigil plugin test FILE [--param K=V ...] [--json]` loads FILE with the plugin loader,
 *   runs the contract suite of its kind (then the companion file's own checks), prints
 *   `PASS name` / `FAIL name` per check and `N passed, M failed` last; exit 0 only if all
 *   pass;
 * - `vigil plugin list [--dir DIR ...] [--json]` loads the plugin directories and lists
 *   what is there, and every file that failed to load (exit 1 if any did).
 *
 * @example
 * ```ts
 * const code = await pluginCommand.run(["test", "plugins/Web.ts"], consoleIo);
 * ```
 * @module
 */

import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type CheckResult, runChecks } from "../../plugins/contracts/contract_check.ts";
import { pluginContract } from "../../plugins/contracts/plugin_contract.ts";
import {
  defaultPluginDirs,
  loadPluginDirectories,
  loadPluginFile,
  type PluginDefinition,
} from "../../plugins/loader.ts";
import {
  isTestSpecFile,
  loadPluginTestSpec,
  pluginFileForTestSpec,
  type PluginTestSpec,
  specChecks,
  testSpecFileFor,
} from "../../plugins/plugin_test_spec.ts";
import {
  pluginTemplate,
  TEMPLATE_KINDS,
  type TemplateKind,
} from "../../plugins/plugin_templates.ts";
import { type CliCommand, type CliIo, UsageError } from "./command.ts";

const NEW_HELP = `vigil plugin new ra|fence|quorum NAME [--dir DIR] [--force]

Writes a working skeleton plugin DIR/NAME.ts (a resource agent, a fence driver or a
quorum device) and its test file DIR/NAME.test.ts, which \`vigil plugin test
DIR/NAME.ts\` runs after the contract suite. Edit both, test, then copy NAME.ts into
the plugin directory (see \`vigil plugin list --help\`).

  --dir DIR   where to write the files (default: the current directory; created)
  --force     overwrite existing files`;

const TEST_HELP = `vigil plugin test FILE [--param KEY=VALUE ...] [--json]

Loads the plugin FILE as vigil does at run time, runs the contract suite of its kind
(resource agent, fence driver or quorum device) and then the checks of its test file
FILE's-name.test.ts when there is one. Prints PASS or FAIL per check and, last,
"N passed, M failed". Exits 0 only if every check passed. FILE may also be the test
file itself.

The sample parameters come from the test file's params(tmpDir), else from the schema's
defaults; --param sets or overrides one (repeatable). VALUE is read as JSON when it is
a number, true, false, null, an array, an object or a quoted string, else as text;
{tmp} in it becomes the check's temporary directory.

  --param KEY=VALUE   a sample parameter, e.g. --param port=8080 --param state={tmp}/s
  --json              print one JSON document with every result instead`;

const LIST_HELP = `vigil plugin list [--dir DIR ...] [--json]

Loads every plugin in the plugin directories and lists kind, name, version and file,
then every file that failed to load, naming the file and the field (exit 1 if any).

The directories, in order (an earlier one wins a name clash): each of $VIGIL_PLUGIN_DIR
(separated by ':'), /etc/vigil/plugins, and plugins/ next to the vigil binary. Plugin
files are *.ts, *.js and *.mjs, except *.test.ts, *_test.ts and names starting with _
or '.'; subdirectories are not searched.

  --dir DIR   list DIR instead of the default directories (repeatable)
  --json      print one JSON document instead`;

const HELP = `vigil plugin new|test|list   write, test and list plugins (see docs/plugins.md)

${NEW_HELP}

${TEST_HELP}

${LIST_HELP}`;

const SUBCOMMAND_HELP: Record<string, string> = {
  new: NEW_HELP,
  test: TEST_HELP,
  list: LIST_HELP,
};

/** Most `--param` options one run takes. */
const MAX_PARAMS = 100;

/** Runs node's parseArgs (in `parsing`), turning its errors into usage errors. */
function parse<T>(sub: string, parsing: () => T): T {
  try {
    return parsing();
  } catch (err) {
    throw new UsageError(`vigil plugin ${sub}: ${(err as Error).message}`);
  }
}

/** `vigil plugin new`. */
async function newCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse("new", () =>
    parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: {
        dir: { type: "string", default: "." },
        force: { type: "boolean", default: false },
      },
    }));
  const [kind, name, ...extra] = positionals;
  if (kind === undefined || name === undefined || extra.length > 0) {
    throw new UsageError("vigil plugin new: expected KIND NAME, e.g. vigil plugin new ra Web");
  }
  if (!(TEMPLATE_KINDS as readonly string[]).includes(kind)) {
    throw new UsageError(
      `vigil plugin new: KIND must be one of ${TEMPLATE_KINDS.join(", ")}, not "${kind}"`,
    );
  }
  let template;
  try {
    template = pluginTemplate(kind as TemplateKind, name);
  } catch (err) {
    throw new UsageError(`vigil plugin new: ${(err as Error).message}`);
  }
  const dir = String(values.dir);
  const pluginFile = join(dir, `${name}.ts`);
  const testFile = join(dir, `${name}.test.ts`);
  if (!values.force) {
    for (const file of [pluginFile, testFile]) {
      if (existsSync(file)) {
        io.err(`vigil plugin new: ${file} exists; use --force to overwrite it`);
        return 1;
      }
    }
  }
  await mkdir(dir, { recursive: true });
  await writeFile(pluginFile, template.plugin);
  await writeFile(testFile, template.test);
  io.out(`wrote ${pluginFile}`);
  io.out(`wrote ${testFile}`);
  io.out(`next: vigil plugin test ${pluginFile}`);
  return 0;
}

/** Reads one `--param KEY=VALUE`. */
function parseParam(option: string): [string, unknown] {
  const eq = option.indexOf("=");
  const key = eq > 0 ? option.slice(0, eq) : "";
  if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) {
    throw new UsageError(`vigil plugin test: --param expects KEY=VALUE, not "${option}"`);
  }
  const text = option.slice(eq + 1);
  if (/^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null|\[.*\]|\{.*\}|".*")$/s.test(text)) {
    try {
      return [key, JSON.parse(text)];
    } catch {
      // Not JSON after all: the text itself.
    }
  }
  return [key, text];
}

/** Replaces `{tmp}` in every string of `value` (recursively) with `tmpDir`. */
function substituteTmp(value: unknown, tmpDir: string, depth = 0): unknown {
  if (depth > 16) return value;
  if (typeof value === "string") return value.replaceAll("{tmp}", tmpDir);
  if (Array.isArray(value)) return value.map((v) => substituteTmp(v, tmpDir, depth + 1));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, substituteTmp(v, tmpDir, depth + 1)]),
    );
  }
  return value;
}

/** The outcome of `vigil plugin test`, as `--json` prints it. */
interface PluginTestReport {
  file: string;
  testFile: string | null;
  plugin: { kind: string; name: string; version: string } | null;
  results: CheckResult[];
  passed: number;
  failed: number;
}

/** Prints one result as `PASS name (N ms)` or `FAIL name` with the error indented. */
function printResult(io: CliIo, result: CheckResult): void {
  const ms = `(${Math.round(result.durationMs)} ms)`;
  if (result.ok) {
    io.out(`PASS  ${result.name} ${ms}`);
    return;
  }
  io.out(`FAIL  ${result.name} ${ms}`);
  for (const line of (result.error ?? "").trimEnd().split("\n").slice(0, 60)) {
    io.out(`      ${line}`);
  }
}

/** `vigil plugin test`. */
async function testCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse("test", () =>
    parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: {
        param: { type: "string", multiple: true, default: [] },
        json: { type: "boolean", default: false },
      },
    }));
  if (positionals.length !== 1) {
    throw new UsageError("vigil plugin test: expected one FILE, e.g. vigil plugin test Web.ts");
  }
  const params = values.param as string[];
  if (params.length > MAX_PARAMS) {
    throw new UsageError(`vigil plugin test: at most ${MAX_PARAMS} --param options`);
  }
  const cliParams = Object.fromEntries(params.map(parseParam));
  const json = Boolean(values.json);

  const given = positionals[0];
  let file = given;
  let testFile: string | undefined;
  if (isTestSpecFile(given)) {
    testFile = given;
    file = pluginFileForTestSpec(given) ?? given.replace(/\.test\.([cm]?[jt]s)$/, ".$1");
  } else {
    testFile = testSpecFileFor(given);
  }

  const report: PluginTestReport = {
    file,
    testFile: testFile ?? null,
    plugin: null,
    results: [],
    passed: 0,
    failed: 0,
  };
  const onResult = (result: CheckResult) => {
    report.results.push(result);
    if (result.ok) report.passed++;
    else report.failed++;
    if (!json) printResult(io, result);
  };
  const finish = () => {
    if (json) io.out(JSON.stringify(report, null, 2));
    else io.out(`${report.passed} passed, ${report.failed} failed`);
    return report.failed === 0 ? 0 : 1;
  };

  let def: PluginDefinition;
  let spec: PluginTestSpec = {};
  try {
    def = await loadPluginFile(file);
    report.plugin = { kind: def.kind, name: def.name, version: def.version };
    if (!json) io.out(`plugin ${def.name} ${def.version} (${def.kind}) from ${file}`);
    if (testFile !== undefined) {
      spec = await loadPluginTestSpec(testFile);
      if (!json) io.out(`test file ${testFile}`);
    }
  } catch (err) {
    onResult({ name: "load", ok: false, error: (err as Error).message, durationMs: 0 });
    return finish();
  }

  const specParams = spec.params;
  const makeParams = (tmpDir: string): Record<string, unknown> => ({
    ...(specParams ? specParams(tmpDir) : {}),
    ...(substituteTmp(cliParams, tmpDir) as Record<string, unknown>),
  });
  let checks;
  try {
    checks = [
      ...pluginContract(def, makeParams, {
        ...(spec.invalidParams !== undefined ? { invalidParams: spec.invalidParams } : {}),
        ...(spec.target !== undefined ? { target: spec.target } : {}),
        ...(spec.expectHealthy !== undefined ? { expectHealthy: spec.expectHealthy } : {}),
      }),
      ...specChecks(spec, def, testFile ?? file),
    ];
  } catch (err) {
    onResult({ name: "test file checks", ok: false, error: (err as Error).message, durationMs: 0 });
    return finish();
  }
  await runChecks(checks, onResult);
  return finish();
}

/** `vigil plugin list`. */
async function listCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse("list", () =>
    parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: {
        dir: { type: "string", multiple: true, default: [] },
        json: { type: "boolean", default: false },
      },
    }));
  if (positionals.length > 0) {
    throw new UsageError(`vigil plugin list: unexpected argument "${positionals[0]}"`);
  }
  const given = values.dir as string[];
  const dirs = given.length > 0 ? given : defaultPluginDirs();
  const loaded = await loadPluginDirectories(dirs);
  const rows = loaded.plugins.map(({ file, definition }) => ({
    kind: definition.kind,
    name: definition.name,
    version: definition.version,
    description: definition.description,
    file,
  }));
  const errors = loaded.errors.map((error) => ({ file: error.source, message: error.message }));
  if (values.json) {
    io.out(JSON.stringify(
      { dirs: dirs.map((dir) => ({ dir, exists: existsSync(dir) })), plugins: rows, errors },
      null,
      2,
    ));
    return errors.length === 0 ? 0 : 1;
  }
  const where = dirs.map((dir) => existsSync(dir) ? dir : `${dir} (missing)`).join(", ");
  io.out(`plugin directories: ${where}`);
  if (rows.length === 0) io.out("no plugins");
  else io.out(table(rows));
  if (errors.length > 0) {
    io.out(`${errors.length} ${errors.length === 1 ? "file" : "files"} failed to load:`);
    for (const error of errors) {
      for (const line of error.message.split("\n")) io.out(`  ${line}`);
    }
  }
  return errors.length === 0 ? 0 : 1;
}

/** Aligned columns KIND NAME VERSION FILE DESCRIPTION. */
function table(
  rows: { kind: string; name: string; version: string; file: string; description: string }[],
): string {
  const header = { kind: "KIND", name: "NAME", version: "VERSION", file: "FILE", description: "" };
  const all = [header, ...rows];
  const width = (key: "kind" | "name" | "version" | "file") =>
    Math.max(...all.map((row) => row[key].length));
  const widths = {
    kind: width("kind"),
    name: width("name"),
    version: width("version"),
    file: width("file"),
  };
  return all.map((row) =>
    [
      row.kind.padEnd(widths.kind),
      row.name.padEnd(widths.name),
      row.version.padEnd(widths.version),
      row.file.padEnd(widths.file),
      row.description || "DESCRIPTION",
    ].join("  ").trimEnd()
  ).join("\n");
}

/** The `vigil plugin` command. */
export const pluginCommand: CliCommand = {
  name: "plugin",
  summary: "vigil plugin new|test|list   write, test (contract suite) and list plugins",
  help: HELP,
  run(args: string[], io: CliIo): Promise<number> {
    const [sub, ...rest] = args;
    if (sub === undefined || sub === "--help" || sub === "-h" || sub === "help") {
      io.out(HELP);
      return Promise.resolve(sub === undefined ? 2 : 0);
    }
    if (!(sub in SUBCOMMAND_HELP)) {
      throw new UsageError(`vigil plugin: unknown subcommand "${sub}" (new, test, list)`);
    }
    if (rest.includes("--help") || rest.includes("-h")) {
      io.out(SUBCOMMAND_HELP[sub]);
      return Promise.resolve(0);
    }
    if (sub === "new") return newCommand(rest, io);
    if (sub === "test") return testCommand(rest, io);
    return listCommand(rest, io);
  },
};
