/**
 * A temporary directory for one contract check, removed afterwards whatever happens.
 * node:fs only, so it works in the compiled binary as well as under `deno test`.
 *
 * @example
 * ```ts
 * await withTempDir("vgl-contract-", async (dir) => { ... });
 * ```
 * @module
 */

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Creates a fresh directory under the system's temporary directory, runs `body` with it
 * and removes it (recursively) when `body` settles.
 *
 * @param prefix the directory name's prefix, e.g. `vgl-ra-Dummy-`
 * @param body what to do with the directory
 * @returns what `body` resolves with
 */
export async function withTempDir<T>(
  prefix: string,
  body: (dir: string) => Promise<T> | T,
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), prefix.replace(/[^A-Za-z0-9_.-]/g, "_")));
  try {
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
