/**
 * The contract suite for a plugin of any kind: dispatches on `kind` to the resource-agent,
 * quorum-device or fence-driver suite. This is what `vigil plugin test` runs.
 *
 * @example
 * ```ts
 * const checks = pluginContract(def, () => ({}), {});
 * for (const result of await runChecks(checks)) console.log(result.ok, result.name);
 * ```
 * @module
 */

import type { PluginDefinition } from "../plugin_definition.ts";
import type { ContractCheck } from "./contract_check.ts";
import { fenceDriverContract } from "./fence_driver_contract.ts";
import { quorumDeviceContract } from "./quorum_device_contract.ts";
import { resourceAgentContract } from "./resource_agent_contract.ts";

/** Options of {@link pluginContract}; each kind reads the ones that concern it. */
export interface PluginContractOptions {
  /** Parameter values the schema must reject (every kind). */
  invalidParams?: unknown[];
  /** Fence drivers: the node the suite fences (default `contract-node`). */
  target?: string;
  /** Quorum devices: the `healthy` the sample params must read as. */
  expectHealthy?: boolean;
}

/**
 * The checks of the contract of `def`'s kind.
 *
 * @param def a validated definition
 * @param makeParams sample parameters, given a fresh temporary directory
 * @param options expectations (see {@link PluginContractOptions})
 */
export function pluginContract(
  def: PluginDefinition,
  makeParams: (tmpDir: string) => Record<string, unknown>,
  options: PluginContractOptions = {},
): ContractCheck[] {
  const invalidParams = options.invalidParams ?? [];
  switch (def.kind) {
    case "resource-agent":
      return resourceAgentContract(def, makeParams, { invalidParams });
    case "quorum-device":
      return quorumDeviceContract(def, makeParams, {
        invalidParams,
        ...(options.expectHealthy !== undefined ? { expectHealthy: options.expectHealthy } : {}),
      });
    case "fence-driver":
      return fenceDriverContract(def, makeParams, {
        invalidParams,
        ...(options.target !== undefined ? { target: options.target } : {}),
      });
  }
}
