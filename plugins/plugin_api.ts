/**
 * What Vigil hands a plugin: zod, the OCF codes and the `define*` helpers.
 *
 * A plugin file dropped next to the compiled binary cannot `import { z } from "zod"`:
 * there is no node_modules there, and the binary's own copy of zod has no name a run-time
 * import could resolve. So a plugin's default export may be a factory that receives this
 * API and returns the definition; the loader calls it with {@link pluginApi}, whose `z` is
 * the very zod the binary validates with:
 *
 * @example
 * ```ts
 * import type { PluginApi } from "vigil/plugin"; // types only: erased at run time
 *
 * export default (vigil: PluginApi) =>
 *   vigil.defineResourceAgent({
 *     kind: "resource-agent",
 *     name: "Hello",
 *     version: "1.0.0",
 *     description: "says hello",
 *     params: vigil.z.object({ who: vigil.z.string().default("world").describe("whom to greet") }),
 *     actions: {
 *       start: () => Promise.resolve(vigil.OCF.OK),
 *       stop: () => Promise.resolve(vigil.OCF.OK),
 *       monitor: () => Promise.resolve(vigil.OCF.NOT_RUNNING),
 *     },
 *     timeouts: { start: 20_000, stop: 20_000, monitor: 20_000 },
 *   });
 * ```
 *
 * The same names are exported one by one, so that a project that maps the specifier
 * `vigil/plugin` to this file (a deno.json `imports` entry) can also write
 * `import { z, OCF, defineResourceAgent } from "vigil/plugin"`.
 * @module
 */

import { z } from "zod";
import { VERSION } from "../core/version.ts";
import { defineFenceDriver, FENCE_ACTIONS } from "./fence_driver.ts";
import { defineQuorumDevice } from "./quorum_device.ts";
import { defineResourceAgent, OCF } from "./resource_agent.ts";

export { defineFenceDriver, defineQuorumDevice, defineResourceAgent, FENCE_ACTIONS, OCF, z };
export type {
  AgentAction,
  AgentContext,
  OcfCode,
  ResourceAgentDefinition,
} from "./resource_agent.ts";
export type {
  QuorumDeviceContext,
  QuorumDeviceDefinition,
  QuorumDeviceInstance,
  QuorumDeviceReading,
} from "./quorum_device.ts";
export type {
  FenceAction,
  FenceActionContext,
  FenceDriverContext,
  FenceDriverDefinition,
  FenceResult,
  FenceStatus,
  FenceTargetContext,
} from "./fence_driver.ts";
export type { ContractCheck } from "./contracts/contract_check.ts";
export type { PluginTestSpec } from "./plugin_test_spec.ts";

/** The version of this API; raised only when a change would break existing plugins. */
export const PLUGIN_API_VERSION = 1;

/** What a plugin factory receives. */
export interface PluginApi {
  /** {@link PLUGIN_API_VERSION}. */
  apiVersion: number;
  /** The running Vigil's version, e.g. `0.1.0`. */
  vigilVersion: string;
  /** The zod the binary validates with (zod 4). */
  z: typeof z;
  /** OCF return codes for resource-agent actions. */
  OCF: typeof OCF;
  /** The fencing actions `reboot`, `off`, `on`. */
  FENCE_ACTIONS: typeof FENCE_ACTIONS;
  /** Types a resource-agent definition (identity). */
  defineResourceAgent: typeof defineResourceAgent;
  /** Types a quorum-device definition (identity). */
  defineQuorumDevice: typeof defineQuorumDevice;
  /** Types a fence-driver definition (identity). */
  defineFenceDriver: typeof defineFenceDriver;
}

/** A plugin module's default export when it is a function: called once with the API. */
export type PluginFactory = (vigil: PluginApi) => unknown;

/** The API every factory is called with (frozen: plugins share it). */
export const pluginApi: PluginApi = Object.freeze({
  apiVersion: PLUGIN_API_VERSION,
  vigilVersion: VERSION,
  z,
  OCF,
  FENCE_ACTIONS,
  defineResourceAgent,
  defineQuorumDevice,
  defineFenceDriver,
});
