/**
 * The registry of built-in quorum devices, shipped inside the binary. Third-party devices
 * are loaded from the plugin directory through the same contract (`plugins/quorum_device.ts`).
 *
 * @example
 * ```ts
 * const qdisk = findQuorumDevice("qdisk"); // the qdisk definition
 * ```
 * @module
 */

import PingNode from "./ping_node.ts";
import Qdisk from "./qdisk.ts";
import type { QuorumDeviceDefinition } from "./quorum_device.ts";

/** Every built-in quorum device, in a stable order. */
export const builtinQuorumDevices: readonly QuorumDeviceDefinition<unknown>[] = Object.freeze([
  PingNode,
  Qdisk,
]);

/** Returns the built-in device called `name` (exact, case-sensitive match), if any. */
export function findQuorumDevice(name: string): QuorumDeviceDefinition<unknown> | undefined {
  return builtinQuorumDevices.find((device) => device.name === name);
}
