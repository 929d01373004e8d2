/**
 * `vigil explain RESOURCE`: asks the running cluster's DC why a resource is where
 * it is: its allocation score on every node and the sentence the policy engine
 * gives (which constraint, stickiness or failure decided).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { formatScore } from "../score.ts";
import { API_PARSE_OPTIONS, getExplanation, resolveApi } from "./api_client.ts";
import { type CliCommand, UsageError } from "./command.ts";

const HELP = `vigil explain RESOURCE [--api HOST:PORT | --config FILE] [--json]

Asks the DC (through the local node) why RESOURCE is where it is: the allocation
score on every node and the reason, as \`vigil simulate --explain\` prints it for
a CIB file.`;

/** `vigil explain`. */
export const explainCommand: CliCommand = {
  name: "explain",
  summary: "vigil explain RESOURCE       why the cluster placed it there (scores per node)",
  help: HELP,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: API_PARSE_OPTIONS,
    });
    if (positionals.length !== 1) throw new UsageError("vigil explain: give one RESOURCE");
    const e = await getExplanation(resolveApi(values), positionals[0]);
    if (values.json) {
      io.out(JSON.stringify(e, null, 2));
      return 0;
    }
    io.out(`${e.resource}: ${e.node ? `placed on ${e.node}` : "not placed"}`);
    io.out(`  ${e.reason}`);
    const width = Math.max(4, ...Object.keys(e.scores).map((n) => n.length));
    for (const [node, score] of Object.entries(e.scores)) {
      io.out(`  ${node.padEnd(width)}  ${score === null ? "-" : formatScore(score)}`);
    }
    for (const d of e.details) io.out(`  * ${d}`);
    return 0;
  },
};
