/**
 * Stand-alone entry for `vigil simulate` (until main.ts lists the command), so
 * compare.py can run it: `deno run -A tests/pe/simulate_main.ts --json --cib {xml}`.
 *
 * @module
 */

import process from "node:process";
import { consoleIo, UsageError } from "../../core/cli/command.ts";
import { simulateCommand } from "../../core/cli/simulate_command.ts";

try {
  process.exitCode = await simulateCommand.run(process.argv.slice(2), consoleIo);
} catch (e) {
  if (e instanceof UsageError) {
    console.error(`vigil: ${e.message}`);
    process.exitCode = 2;
  } else {
    throw e;
  }
}
