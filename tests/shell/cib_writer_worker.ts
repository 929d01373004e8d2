/**
 * Worker for the CIB crash test: writes CIB versions 1, 2, 3 ... to the directory
 * given as the first argument as fast as it can, printing each number once its
 * write has returned, until it is killed (or after a bounded number of writes).
 *
 * @module
 */

import process from "node:process";
import { writeCibFile } from "../../core/cib/cib_file.ts";
import { cibDocumentSchema } from "../../core/cib/schema/document.ts";

const dir = process.argv[2] ?? Deno.args[0];
const MAX_WRITES = 100_000;
for (let i = 1; i <= MAX_WRITES; i++) {
  writeCibFile(
    dir,
    cibDocumentSchema.parse({
      version: { adminEpoch: 0, epoch: 1, numUpdates: i },
      // Big enough that a write is not a single page.
      config: {
        nodes: [{ name: "n1" }],
        resources: Array.from({ length: 200 }, (_, r) => ({ id: `r${r}`, agent: "Dummy" })),
      },
    }),
    i,
  );
  await Deno.stdout.write(new TextEncoder().encode(`${i}\n`));
}
