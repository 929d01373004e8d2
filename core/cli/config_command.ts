/**
 * `vigil config`: checking a cluster configuration before it is applied.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { CibSourceError, readCibSource } from "../cib/cib_source.ts";
import { type CliCommand, UsageError } from "./command.ts";

const HELP = `vigil config validate FILE [--json]

  validate   checks a CIB file (Vigil JSON or Pacemaker XML) against Vigil's
             schema: every error names its path, e.g.
             config.resources[3].operations[0].timeoutMs; for Pacemaker XML
             also lists what Vigil would not import. Exit code 0 when valid,
             1 when not.

  --json     print {"valid": bool, "errors": [...], "unsupported": [...]}`;

/** `vigil config`. */
export const configCommand: CliCommand = {
  name: "config",
  summary: "vigil config validate FILE   check a CIB file (Vigil JSON or Pacemaker XML)",
  help: HELP,
  run(args, io) {
    const [sub, ...rest] = args;
    if (sub !== "validate") {
      throw new UsageError(
        `vigil config: ${
          sub === undefined ? "give a subcommand" : `unknown subcommand "${sub}"`
        }\n\n${HELP}`,
      );
    }
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: { json: { type: "boolean", default: false } },
    });
    if (positionals.length !== 1) throw new UsageError("vigil config validate: give one FILE");
    try {
      const { cib, format, unsupported } = readCibSource(positionals[0]);
      if (values.json) {
        io.out(JSON.stringify({ valid: true, format, errors: [], unsupported }, null, 2));
      } else {
        for (const u of unsupported) io.out(`not supported: ${u.path}: ${u.what}`);
        io.out(
          `${positionals[0]}: valid ${format === "pacemaker" ? "Pacemaker" : "Vigil"} CIB: ` +
            `${cib.config.nodes.length} nodes, ${cib.config.resources.length} top-level resources`,
        );
      }
      return Promise.resolve(0);
    } catch (e) {
      if (!(e instanceof CibSourceError)) throw e;
      if (values.json) {
        io.out(JSON.stringify({ valid: false, errors: e.message.split("\n") }, null, 2));
      } else io.err(e.message);
      return Promise.resolve(1);
    }
  },
};
