/**
 * `vigil cib`: converting CIBs between Vigil, Pacemaker and Heartbeat forms, and
 * repairing the CIB on disk from its backups.
 *
 * @module
 */

import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { listCibFiles, restoreCibBackup } from "../cib/cib_file.ts";
import { readCibSource } from "../cib/cib_source.ts";
import { importHeartbeatDir } from "../cib/haresources_import.ts";
import type { UnsupportedItem } from "../cib/import_report.ts";
import { exportPacemakerXml } from "../cib/pacemaker_export.ts";
import type { CibDocument } from "../cib/schema/document.ts";
import { formatVersion } from "../cib/version.ts";
import { type CliCommand, type CliIo, UsageError } from "./command.ts";

const HELP = `vigil cib import-pacemaker FILE [-o OUT] [--json]
vigil cib import-heartbeat DIR [-o OUT] [--json]
vigil cib export --cib FILE [--format pacemaker|json] [-o OUT]
vigil cib backups --state-dir DIR [--json]
vigil cib restore --state-dir DIR [--backup N]

  import-pacemaker  reads a Pacemaker CIB XML (cibadmin -Q output) and writes
                    Vigil's CIB document (JSON); every element or attribute
                    Vigil does not support is listed on standard error
  import-heartbeat  reads Heartbeat v1's DIR/haresources and DIR/ha.cf
                    (auto_failback becomes resource-stickiness)
  export            writes a CIB (Vigil JSON or Pacemaker XML) as Pacemaker
                    XML (default) or Vigil JSON
  backups           lists the CIB file of a node's state directory and its
                    backups, newest first, each checked
  restore           makes the newest valid backup (or backup N) the current
                    CIB; the damaged file is kept as cib.json.damaged. Run it
                    while the node is stopped.

  -o, --output OUT  write to OUT instead of standard output
  --json            print the result and the unsupported items as one JSON object`;

/** `vigil cib`. */
export const cibCommand: CliCommand = {
  name: "cib",
  summary: "vigil cib import-pacemaker|import-heartbeat|export|backups|restore",
  help: HELP,
  async run(args, io) {
    const [sub, ...rest] = args;
    switch (sub) {
      case "import-pacemaker":
      case "import-heartbeat":
        return await importCommand(sub, rest, io);
      case "export":
        return exportCommand(rest, io);
      case "backups":
        return backupsCommand(rest, io);
      case "restore":
        return restoreCommand(rest, io);
      default:
        throw new UsageError(
          sub === undefined
            ? `vigil cib: give a subcommand\n\n${HELP}`
            : `vigil cib: unknown subcommand "${sub}"\n\n${HELP}`,
        );
    }
  },
};

function importCommand(
  sub: "import-pacemaker" | "import-heartbeat",
  args: string[],
  io: CliIo,
): number {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { output: { type: "string", short: "o" }, json: { type: "boolean", default: false } },
  });
  if (positionals.length !== 1) {
    throw new UsageError(
      `vigil cib ${sub}: give exactly one ${sub === "import-pacemaker" ? "FILE" : "DIR"}`,
    );
  }
  let cib: CibDocument;
  let unsupported: UnsupportedItem[];
  if (sub === "import-pacemaker") {
    const source = readCibSource(positionals[0]);
    if (source.format !== "pacemaker") {
      throw new UsageError(`vigil cib import-pacemaker: ${positionals[0]} is not Pacemaker XML`);
    }
    ({ cib, unsupported } = source);
  } else {
    ({ cib, unsupported } = importHeartbeatDir(positionals[0]));
  }
  const document = JSON.stringify(cib, null, 2);
  if (values.json) {
    io.out(JSON.stringify({ cib, unsupported }, null, 2));
  } else if (values.output) {
    writeFileSync(values.output, document + "\n");
  } else {
    io.out(document);
  }
  if (!values.json) {
    for (const u of unsupported) {
      io.err(`not imported: ${u.path}${u.line ? ` (line ${u.line})` : ""}: ${u.what}`);
    }
    io.err(
      `imported ${countResources(cib)} resources, ${countConstraints(cib)} constraints, ` +
        `${cib.config.nodes.length} nodes; ${unsupported.length} item(s) not supported`,
    );
  }
  return 0;
}

function exportCommand(args: string[], io: CliIo): number {
  const { values } = parseArgs({
    args,
    options: {
      cib: { type: "string" },
      format: { type: "string", default: "pacemaker" },
      output: { type: "string", short: "o" },
    },
  });
  if (!values.cib) throw new UsageError("vigil cib export: give --cib FILE");
  if (values.format !== "pacemaker" && values.format !== "json") {
    throw new UsageError(`vigil cib export: --format is pacemaker or json, not "${values.format}"`);
  }
  const { cib, unsupported } = readCibSource(values.cib);
  for (const u of unsupported) io.err(`not imported: ${u.path}: ${u.what}`);
  const text = values.format === "pacemaker"
    ? exportPacemakerXml(cib)
    : JSON.stringify(cib, null, 2) + "\n";
  if (values.output) writeFileSync(values.output, text);
  else io.out(text.trimEnd());
  return 0;
}

function backupsCommand(args: string[], io: CliIo): number {
  const { values } = parseArgs({
    args,
    options: { "state-dir": { type: "string" }, json: { type: "boolean", default: false } },
  });
  if (!values["state-dir"]) throw new UsageError("vigil cib backups: give --state-dir DIR");
  const files = listCibFiles(values["state-dir"]);
  if (values.json) {
    io.out(JSON.stringify(files, null, 2));
    return 0;
  }
  if (files.length === 0) io.out(`no CIB in ${values["state-dir"]}`);
  for (const f of files) {
    const label = f.backup === 0 ? "current" : `backup ${f.backup}`;
    io.out(
      `${label.padEnd(9)} ${f.path}: ${
        f.version ? `version ${formatVersion(f.version)}` : `UNUSABLE: ${f.problem}`
      }`,
    );
  }
  return files.length > 0 && files[0].backup === 0 && files[0].problem ? 1 : 0;
}

function restoreCommand(args: string[], io: CliIo): number {
  const { values } = parseArgs({
    args,
    options: { "state-dir": { type: "string" }, backup: { type: "string" } },
  });
  if (!values["state-dir"]) throw new UsageError("vigil cib restore: give --state-dir DIR");
  const n = values.backup === undefined ? undefined : Number(values.backup);
  if (n !== undefined && (!Number.isInteger(n) || n < 1)) {
    throw new UsageError(`vigil cib restore: --backup is a number from 1, not "${values.backup}"`);
  }
  const restored = restoreCibBackup(values["state-dir"], n);
  io.out(
    `restored ${restored.path} (version ${formatVersion(restored.version!)}) as the current CIB`,
  );
  return 0;
}

function countResources(cib: CibDocument): number {
  let n = 0;
  for (const r of cib.config.resources) {
    n += r.kind === "group"
      ? r.members.length
      : r.kind === "clone"
      ? (r.resource.kind === "group" ? r.resource.members.length : 1)
      : 1;
  }
  return n;
}

function countConstraints(cib: CibDocument): number {
  const c = cib.config.constraints;
  return c.locations.length + c.colocations.length + c.orders.length;
}
