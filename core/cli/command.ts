/**
 * The shape of one `vigil` subcommand, so that each command lives in its own file
 * and main.ts only lists them.
 *
 * @example
 * ```ts
 * export const raCommand: CliCommand = {
 *   name: "ra",
 *   summary: "vigil ra list|describe|run   resource agents on this machine",
 *   help: "vigil ra list [--json]\n...",
 *   run: async (args, io) => { io.out("..."); return 0; },
 * };
 * ```
 * @module
 */

/** Where a command writes; tests pass collectors, main.ts passes the console. */
export interface CliIo {
  /** Writes one line (or several joined by "\n") to standard output. */
  out(text: string): void;
  /** Writes one line to standard error. */
  err(text: string): void;
}

/** One `vigil` subcommand. */
export interface CliCommand {
  /** The word after `vigil` (e.g. `ra`). */
  name: string;
  /** One or two lines for `vigil --help`, starting with the usage. */
  summary: string;
  /** The full text printed by `vigil NAME --help` (also for every sub-subcommand). */
  help: string;
  /**
   * Runs the command with the arguments after its name and resolves with the exit code.
   * Usage mistakes throw {@link UsageError}; main.ts prints them and exits with 2.
   */
  run(args: string[], io: CliIo): Promise<number>;
}

/** A mistake in how a command was called; printed as `vigil: MESSAGE`, exit code 2. */
export class UsageError extends Error {
  /** @param message what was wrong, naming the option or argument */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The console as a {@link CliIo}. */
export const consoleIo: CliIo = {
  out: (text) => console.log(text),
  err: (text) => console.error(text),
};
