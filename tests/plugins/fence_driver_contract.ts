/**
 * Registers the shared fence-driver contract suite (`plugins/contracts/`) as Deno tests.
 * A driver's test file calls {@link runFenceDriverContract} once; `vigil plugin test` runs
 * the same checks inside the binary.
 *
 * @module
 */

import {
  fenceDriverContract,
  type FenceDriverContractOptions,
} from "../../plugins/contracts/fence_driver_contract.ts";
import type { FenceDriverDefinition } from "../../plugins/fence_driver.ts";

export type { FenceDriverContractOptions };

/**
 * Registers one Deno test per contract check of `def` (named
 * `fence driver contract NAME: CHECK`).
 *
 * @param def the driver definition under test
 * @param makeParams valid parameters, given a fresh temporary directory
 * @param options the target and extra invalid params
 */
export function runFenceDriverContract(
  def: FenceDriverDefinition<unknown>,
  makeParams: (tmpDir: string) => Record<string, unknown>,
  options: FenceDriverContractOptions = {},
): void {
  for (const check of fenceDriverContract(def, makeParams, options)) {
    Deno.test(`fence driver contract ${def.name}: ${check.name}`, () => check.run());
  }
}
