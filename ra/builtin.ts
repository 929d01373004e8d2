/**
 * The registry of built-in resource agents, shipped inside the binary. Third-party
 * agents are loaded from the plugin directory through the same contract.
 *
 * @module
 */

import type { ResourceAgentDefinition } from "../plugins/resource_agent.ts";
import Dummy from "./dummy.ts";
import HttpService from "./http_service.ts";

/** Every built-in resource agent, in a stable order. */
export const builtinResourceAgents: readonly ResourceAgentDefinition[] = Object.freeze([
  Dummy,
  HttpService,
]);

/** Returns the built-in agent called `name` (exact, case-sensitive match), if any. */
export function findResourceAgent(name: string): ResourceAgentDefinition | undefined {
  return builtinResourceAgents.find((agent) => agent.name === name);
}
