/**
 * Registers the shared resource-agent contract suite (`plugins/contracts/`) as Deno tests.
 * An agent's test file calls {@link runResourceAgentContract} once; `vigil plugin test`
 * runs the same checks inside the binary.
 *
 * @module
 */

import {
  resourceAgentContract,
  type ResourceAgentContractOptions,
} from "../../plugins/contracts/resource_agent_contract.ts";
import type { ResourceAgentDefinition } from "../../plugins/resource_agent.ts";

/** Options of {@link runResourceAgentContract}: extra parameter values the schema must reject. */
export type ContractOptions = ResourceAgentContractOptions;

/**
 * Registers one Deno test per contract check of `def` (named `contract NAME: CHECK`):
 * it validates, every timeout is > 0, its schema rejects invalid params and accepts the
 * sample, validate (when present) accepts the sample, the lifecycle monitor / start /
 * monitor / start / monitor / stop / monitor / stop gives NOT_RUNNING, OK, OK, OK, OK, OK,
 * NOT_RUNNING, OK, and an aborted monitor settles.
 *
 * @param def the agent definition under test
 * @param makeParams valid parameters for a resource, given a fresh temporary directory
 * @param options extra invalid parameter values to check
 */
export function runResourceAgentContract(
  def: ResourceAgentDefinition,
  makeParams: (tmpDir: string) => Record<string, unknown>,
  options: ContractOptions = {},
): void {
  for (const check of resourceAgentContract(def, makeParams, options)) {
    Deno.test(`contract ${def.name}: ${check.name}`, () => check.run());
  }
}
