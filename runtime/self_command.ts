/**
 * How to start another copy of this program: the compiled binary runs itself;
 * under `deno run` or `bun run` the interpreter runs main.ts again.
 *
 * @module
 */

import { basename } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** The argv prefix that starts this program again (append subcommand and flags). */
export function selfCommand(): string[] {
  const exec = process.execPath;
  const name = basename(exec).replace(/\.exe$/, "");
  const main = fileURLToPath(new URL("../main.ts", import.meta.url));
  if (name === "deno") return [exec, "run", "-A", main];
  if (name === "bun") return [exec, "run", main];
  return [exec];
}
