/**
 * Measured figures in test output. `deno test --quiet` (the project's test task) hides
 * everything a test prints, but not the names of its steps; so a figure is reported as
 * the name of a step that checks the figure's bound, and also printed for runs without
 * `--quiet`.
 *
 * @example
 * ```ts
 * await reportFigure(t, `detection ${ms} ms (deadtime 500 ms)`, () => assert.ok(ms <= 1500));
 * ```
 * @module
 */

/** Prints `text` and runs `check` as a test step named `text`. */
export async function reportFigure(
  t: Deno.TestContext,
  text: string,
  check: () => void,
): Promise<void> {
  console.log(text);
  const ok = await t.step(text, check);
  if (!ok) throw new Error(`figure out of bounds: ${text}`);
}
