/**
 * `vigil config`: the cluster configuration, checked before it is applied.
 * `validate` works on files alone; `show`, `apply` and `edit` talk to the local
 * node's API, and a change is acknowledged once a majority of the configured
 * nodes have persisted it.
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { CibSourceError, readCibSource } from "../cib/cib_source.ts";
import { exportPacemakerXml } from "../cib/pacemaker_export.ts";
import { parseCibDocument } from "../cib/schema/document.ts";
import { API_PARSE_OPTIONS, getCib, resolveApi } from "./api_client.ts";
import { type CliCommand, type CliIo, UsageError } from "./command.ts";
import { change } from "./resource_command.ts";

const HELP = `vigil config validate FILE [--json]
vigil config show [--format json|pacemaker] [--json]
vigil config apply FILE
vigil config edit

  validate   checks a CIB file (Vigil JSON or Pacemaker XML) against Vigil's
             schema: every error names its path, e.g.
             config.resources[3].operations[0].timeoutMs; for Pacemaker XML
             also lists what Vigil would not import. Exit code 0 when valid,
             1 when not.
  show       prints the running cluster's configuration (JSON, or Pacemaker
             XML with --format pacemaker)
  apply      replaces the running configuration with FILE's (Vigil JSON or
             Pacemaker XML), after validating it
  edit       opens the configuration in $EDITOR (default vi) on a temporary
             copy and applies it only if it validates; otherwise prints the
             errors and keeps the copy

show, apply and edit talk to the local node (--api HOST:PORT, --config FILE,
or $VIGIL_API; default 127.0.0.1:7501).

  --json     print {"valid": bool, "errors": [...], "unsupported": [...]} (validate)
             or the answer as JSON`;

/** `vigil config`. */
export const configCommand: CliCommand = {
  name: "config",
  summary: "vigil config validate|show|apply|edit   the cluster configuration",
  help: HELP,
  async run(args, io) {
    const [sub, ...rest] = args;
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: { ...API_PARSE_OPTIONS, format: { type: "string", default: "json" } },
    });
    switch (sub) {
      case "validate":
        if (positionals.length !== 1) throw new UsageError("vigil config validate: give one FILE");
        return validate(positionals[0], values.json, io);
      case "show": {
        if (values.format !== "json" && values.format !== "pacemaker") {
          throw new UsageError(
            `vigil config show: --format is json or pacemaker, not "${values.format}"`,
          );
        }
        const { cib } = await getCib(resolveApi(values));
        io.out(
          values.format === "pacemaker"
            ? exportPacemakerXml(cib).trimEnd()
            : JSON.stringify(cib.config, null, 2),
        );
        return 0;
      }
      case "apply": {
        if (positionals.length !== 1) throw new UsageError("vigil config apply: give one FILE");
        const { cib, unsupported } = readCibSource(positionals[0]);
        for (const u of unsupported) io.err(`not applied: ${u.path}: ${u.what}`);
        return await change(
          resolveApi(values),
          { op: "config-replace", config: cib.config },
          values.json,
          io,
        );
      }
      case "edit":
        if (positionals.length) throw new UsageError("vigil config edit: takes no arguments");
        return await edit(resolveApi(values), values.json, io);
      default:
        throw new UsageError(
          `vigil config: ${
            sub === undefined ? "give a subcommand" : `unknown subcommand "${sub}"`
          }\n\n${HELP}`,
        );
    }
  },
};

function validate(file: string, json: boolean, io: CliIo): number {
  try {
    const { cib, format, unsupported } = readCibSource(file);
    if (json) {
      io.out(JSON.stringify({ valid: true, format, errors: [], unsupported }, null, 2));
    } else {
      for (const u of unsupported) io.out(`not supported: ${u.path}: ${u.what}`);
      io.out(
        `${file}: valid ${format === "pacemaker" ? "Pacemaker" : "Vigil"} CIB: ` +
          `${cib.config.nodes.length} nodes, ${cib.config.resources.length} top-level resources`,
      );
    }
    return 0;
  } catch (e) {
    if (!(e instanceof CibSourceError)) throw e;
    if (json) io.out(JSON.stringify({ valid: false, errors: e.message.split("\n") }, null, 2));
    else io.err(e.message);
    return 1;
  }
}

async function edit(api: string, json: boolean, io: CliIo): Promise<number> {
  const { cib } = await getCib(api);
  const dir = mkdtempSync(join(tmpdir(), "vigil-config-edit-"));
  const file = join(dir, "config.json");
  const original = JSON.stringify(cib.config, null, 2) + "\n";
  writeFileSync(file, original, { mode: 0o600 });
  const editor = process.env.VISUAL || process.env.EDITOR || "vi";
  // The editor gets the terminal; a shell runs it so EDITOR may carry arguments.
  const ran = spawnSync("/bin/sh", ["-c", `${editor} "$1"`, "vigil-config-edit", file], {
    stdio: "inherit",
  });
  if (ran.status !== 0) {
    io.err(
      `vigil config edit: ${editor} exited with ${
        ran.status ?? ran.signal
      }; nothing applied (copy kept: ${file})`,
    );
    return 1;
  }
  const edited = readFileSync(file, "utf8");
  if (edited === original) {
    rmSync(dir, { recursive: true, force: true });
    io.out("no change");
    return 0;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(edited);
  } catch (e) {
    io.err(`vigil config edit: ${file}: not JSON: ${(e as Error).message}; nothing applied`);
    return 1;
  }
  const checked = parseCibDocument({ ...cib, config: parsed });
  if (!checked.ok) {
    io.err(`vigil config edit: ${file}: invalid, nothing applied:`);
    for (const line of checked.errors) io.err(`  ${line}`);
    return 1;
  }
  const code = await change(api, { op: "config-replace", config: parsed }, json, io);
  rmSync(dir, { recursive: true, force: true });
  return code;
}
