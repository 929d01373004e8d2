/**
 * The smallest test runner that works inside the compiled binary: a contract suite is a
 * list of named checks, each a function that throws (usually a `node:assert` error) when
 * the plugin breaks the contract. `vigil plugin test` runs them with {@link runChecks};
 * the wrappers in `tests/plugins/` register each one as a test of the test runner.
 *
 * @example
 * ```ts
 * const results = await runChecks([
 *   { name: "one is one", run: () => assert.equal(1, 1) },
 * ]);
 * // [{ name: "one is one", ok: true, durationMs: 0.1 }]
 * ```
 * @module
 */

/** One named check of a contract suite. */
export interface ContractCheck {
  /** What it checks, e.g. `lifecycle is idempotent and monitor reports state`. */
  name: string;
  /** Runs the check; throws (or rejects) when the plugin fails it. */
  run(): void | Promise<void>;
  /** How long the check may take before it fails as hung (default {@link DEFAULT_CHECK_TIMEOUT_MS}). */
  timeoutMs?: number;
}

/** The result of one check. */
export interface CheckResult {
  /** The check's name. */
  name: string;
  /** Whether it passed. */
  ok: boolean;
  /** Why it failed (the error's message, possibly several lines). */
  error?: string;
  /** How long it ran, in milliseconds. */
  durationMs: number;
}

/** How long a check may run unless it says otherwise. */
export const DEFAULT_CHECK_TIMEOUT_MS = 60_000;
/** Most checks one run accepts (a suite is a short, fixed list). */
export const MAX_CHECKS = 1000;

/** The message of whatever a check threw. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/**
 * Runs `check` bounded by its timeout. Never throws. A check still running at its timeout
 * is reported failed and left behind (its promise is ignored); the caller (a CLI that
 * exits afterwards) does not wait for it.
 */
export async function runCheck(check: ContractCheck): Promise<CheckResult> {
  const timeoutMs = check.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  const started = performance.now();
  // Tenths of a millisecond are plenty for a report.
  const elapsed = () => Math.round((performance.now() - started) * 10) / 10;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  try {
    const running = Promise.resolve().then(() => check.run());
    running.catch(() => {});
    const outcome = await Promise.race([running.then(() => "done" as const), hung]);
    const durationMs = elapsed();
    if (outcome === "timeout") {
      return { name: check.name, ok: false, error: `timed out after ${timeoutMs} ms`, durationMs };
    }
    return { name: check.name, ok: true, durationMs };
  } catch (err) {
    return {
      name: check.name,
      ok: false,
      error: errorMessage(err),
      durationMs: elapsed(),
    };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs the checks one after another (they may share a port or a file) and reports each
 * result to `onResult` as soon as it is known.
 *
 * @returns every result, in the checks' order
 */
export async function runChecks(
  checks: readonly ContractCheck[],
  onResult: (result: CheckResult) => void = () => {},
): Promise<CheckResult[]> {
  if (checks.length > MAX_CHECKS) {
    throw new RangeError(`runChecks: ${checks.length} checks exceed the limit of ${MAX_CHECKS}`);
  }
  const results: CheckResult[] = [];
  for (const check of checks) {
    const result = await runCheck(check);
    results.push(result);
    onResult(result);
  }
  return results;
}

/**
 * Resolves with how `promise` settled, or `pending` when it has not within `ms`. Lets a
 * check bound one step of a plugin and say which step hung.
 */
export async function settleWithin<T>(
  promise: Promise<T>,
  ms: number,
): Promise<
  { state: "resolved"; value: T } | { state: "rejected"; error: unknown } | { state: "pending" }
> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const pending = new Promise<{ state: "pending" }>((resolve) => {
    timer = setTimeout(() => resolve({ state: "pending" }), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        (value) => ({ state: "resolved" as const, value }),
        (error: unknown) => ({ state: "rejected" as const, error }),
      ),
      pending,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
