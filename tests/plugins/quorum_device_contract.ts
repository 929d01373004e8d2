/**
 * Registers the shared quorum-device contract suite (`plugins/contracts/`) as Deno tests.
 * A device's test file calls {@link runQuorumDeviceContract} once; `vigil plugin test`
 * runs the same checks inside the binary.
 *
 * @module
 */

import {
  quorumDeviceContract,
  type QuorumDeviceContractOptions,
} from "../../plugins/contracts/quorum_device_contract.ts";
import type { QuorumDeviceDefinition } from "../../plugins/quorum_device.ts";

export type { QuorumDeviceContractOptions };

/**
 * Registers one Deno test per contract check of `def` (named
 * `quorum device contract NAME: CHECK`): it validates; its schema rejects invalid params,
 * parses the sample idempotently, describes every field and fills defaults; `votes` is a
 * non-negative integer; a check returns a valid reading within `timeoutMs`; abort is
 * honoured; stop is idempotent.
 *
 * @param def the device definition under test
 * @param makeParams valid parameters, given a fresh temporary directory
 * @param options context and expectations
 */
export function runQuorumDeviceContract(
  def: QuorumDeviceDefinition<unknown>,
  makeParams: (tmpDir: string) => Record<string, unknown>,
  options: QuorumDeviceContractOptions = {},
): void {
  for (const check of quorumDeviceContract(def, makeParams, options)) {
    Deno.test(`quorum device contract ${def.name}: ${check.name}`, () => check.run());
  }
}
