/**
 * `Dummy`: a resource agent that runs nothing and only records "running" in a state
 * file, like the ocf:heartbeat:Dummy / ocf:pacemaker:Dummy agents. Useful in tests and
 * to exercise placement without real services.
 *
 * @module
 */

import { z } from "zod";
import { type AgentContext, defineResourceAgent } from "../plugins/resource_agent.ts";
import { removeStateFile, stateFileStatus, writeStateFile } from "./agent_tools.ts";

const params = z.object({
  /** Path of the state file; defaults to `${stateDir}/Dummy-${resourceId}.state`. */
  state: z.string().min(1).optional(),
});

type DummyParams = z.output<typeof params>;

function statePath(ctx: AgentContext<DummyParams>): string {
  return ctx.params.state ?? `${ctx.stateDir}/Dummy-${ctx.resourceId}.state`;
}

/** The `Dummy` agent definition: start writes the state file, stop removes it, monitor checks it. */
const Dummy = defineResourceAgent({
  kind: "resource-agent",
  name: "Dummy",
  version: "1.0.0",
  description: "Does nothing but keep a state file saying whether it is running.",
  params,
  actions: {
    start: (ctx) => writeStateFile(ctx, "Dummy", statePath(ctx), `${ctx.node}\n`),
    stop: (ctx) => removeStateFile(ctx, "Dummy", statePath(ctx)),
    monitor: (ctx) => stateFileStatus(ctx, "Dummy", statePath(ctx)),
  },
  timeouts: { start: 20_000, stop: 20_000, monitor: 20_000 },
});

/** The module's default export, as the plugin contract requires. */
export default Dummy;
