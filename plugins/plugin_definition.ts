/**
 * Any plugin definition, whatever its kind, and the one validation that dispatches on
 * `kind` to the right contract. The loader and `vigil plugin` use it; a caller that wants
 * one kind narrows on `kind`.
 *
 * @example
 * ```ts
 * const def = validatePluginDefinition(module.default, "/etc/vigil/plugins/web.ts");
 * if (def.kind === "resource-agent") agents.push(def);
 * ```
 * @module
 */

import { type FenceDriverDefinition, validateFenceDriver } from "./fence_driver.ts";
import { PluginError } from "./plugin_schema.ts";
import { type QuorumDeviceDefinition, validateQuorumDevice } from "./quorum_device.ts";
import { type ResourceAgentDefinition, validateResourceAgent } from "./resource_agent.ts";

/** The kinds of plugin, as the `kind` field of a definition spells them. */
export const PLUGIN_KINDS = ["resource-agent", "quorum-device", "fence-driver"] as const;

/** One kind of plugin. */
export type PluginKind = typeof PLUGIN_KINDS[number];

/** A validated plugin definition of any kind, discriminated by `kind`. */
export type PluginDefinition =
  | ResourceAgentDefinition
  | QuorumDeviceDefinition<unknown>
  | FenceDriverDefinition<unknown>;

/** The definition type of one kind. */
export type PluginDefinitionOf<K extends PluginKind> = Extract<PluginDefinition, { kind: K }>;

/**
 * Checks `value` against the contract its `kind` names.
 *
 * @param value the candidate definition (a module's default export, or what its factory returned)
 * @param source where it came from, used in error messages
 * @throws {PluginError} naming the source and field, e.g. `x.ts: kind: expected one of ...`
 *   or `x.ts: actions.start: expected a function`
 */
export function validatePluginDefinition(value: unknown, source: string): PluginDefinition {
  if (typeof value !== "object" || value === null) {
    throw new PluginError(
      source,
      `${source}: default: expected a plugin definition object or a factory (vigil) => definition, ` +
        `got ${value === null ? "null" : typeof value}`,
    );
  }
  const kind = (value as { kind?: unknown }).kind;
  switch (kind) {
    case "resource-agent":
      return validateResourceAgent(value, source);
    case "quorum-device":
      return validateQuorumDevice(value, source);
    case "fence-driver":
      return validateFenceDriver(value, source);
  }
  throw new PluginError(
    source,
    `${source}: kind: expected one of ${PLUGIN_KINDS.map((k) => `"${k}"`).join(", ")}, ` +
      `got ${kind === undefined ? "nothing" : JSON.stringify(kind)}`,
  );
}
