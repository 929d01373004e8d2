/**
 * `Dummy`: a resource agent that runs nothing and only records "running" in a state
 * file, like the ocf:heartbeat:Dummy / ocf:pacemaker:Dummy agents. Useful in tests and
 * to exercise placement without real services.
 *
 * @module
 */

import { mkdir, rm, stat, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { z } from "zod";
import { type AgentContext, defineResourceAgent, OCF } from "../plugins/resource_agent.ts";

const params = z.object({
  /** Path of the state file; defaults to `${stateDir}/Dummy-${resourceId}.state`. */
  state: z.string().min(1).optional(),
});

type DummyParams = z.output<typeof params>;

function statePath(ctx: AgentContext<DummyParams>): string {
  return ctx.params.state ?? `${ctx.stateDir}/Dummy-${ctx.resourceId}.state`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The `Dummy` agent definition: start writes the state file, stop removes it, monitor checks it. */
const Dummy = defineResourceAgent({
  kind: "resource-agent",
  name: "Dummy",
  version: "1.0.0",
  description: "Does nothing but keep a state file saying whether it is running.",
  params,
  actions: {
    async start(ctx) {
      const path = statePath(ctx);
      try {
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, `${ctx.node}\n`, { signal: ctx.signal });
        return OCF.OK;
      } catch (err) {
        ctx.log(`Dummy: cannot write ${path}: ${errorText(err)}`);
        return OCF.ERR_GENERIC;
      }
    },
    async stop(ctx) {
      const path = statePath(ctx);
      try {
        // force: a missing file is a stopped resource, so stop stays idempotent.
        await rm(path, { force: true });
        return OCF.OK;
      } catch (err) {
        ctx.log(`Dummy: cannot remove ${path}: ${errorText(err)}`);
        return OCF.ERR_GENERIC;
      }
    },
    async monitor(ctx) {
      const path = statePath(ctx);
      try {
        await stat(path);
        return OCF.OK;
      } catch (err) {
        if ((err as { code?: unknown }).code === "ENOENT") return OCF.NOT_RUNNING;
        ctx.log(`Dummy: cannot check ${path}: ${errorText(err)}`);
        return OCF.ERR_GENERIC;
      }
    },
  },
  timeouts: { start: 20_000, stop: 20_000, monitor: 20_000 },
});

/** The module's default export, as the plugin contract requires. */
export default Dummy;
