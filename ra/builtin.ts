/**
 * The registry of built-in resource agents, shipped inside the binary. Third-party
 * agents are loaded from the plugin directory through the same contract.
 *
 * @module
 */

import type { ResourceAgentDefinition } from "../plugins/resource_agent.ts";
import Anything from "./anything.ts";
import Dummy from "./dummy.ts";
import Filesystem from "./filesystem.ts";
import HttpService from "./http_service.ts";
import IPaddr from "./ipaddr.ts";
import { ocfAgent } from "./ocf_adapter.ts";
import { HttpCheck, TcpCheck } from "./tcp_check.ts";

/** Every built-in resource agent, in a stable order. */
export const builtinResourceAgents: readonly ResourceAgentDefinition[] = Object.freeze([
  Dummy,
  HttpService,
  IPaddr,
  Anything,
  Filesystem,
  TcpCheck,
  HttpCheck,
]);

/**
 * Returns the built-in agent called `name` (exact, case-sensitive match), if any.
 * A name of the form `ocf:PROVIDER:TYPE` resolves to the installed OCF script through
 * the OCF adapter (undefined when no such executable script exists).
 */
export function findResourceAgent(name: string): ResourceAgentDefinition | undefined {
  if (name.startsWith("ocf:")) {
    // Resolving runs the script's meta-data synchronously: do it once per name.
    if (!ocfCache.has(name)) {
      if (ocfCache.size >= MAX_CACHED_OCF_AGENTS) ocfCache.delete(ocfCache.keys().next().value!);
      ocfCache.set(name, ocfAgent(name));
    }
    return ocfCache.get(name);
  }
  return builtinResourceAgents.find((agent) => agent.name === name);
}

/** OCF agents resolved so far (an agent not found is remembered too). */
const ocfCache = new Map<string, ResourceAgentDefinition | undefined>();
const MAX_CACHED_OCF_AGENTS = 256;
