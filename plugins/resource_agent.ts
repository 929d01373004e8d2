/**
 * The resource-agent plugin contract.
 *
 * A resource agent is a TypeScript module whose default export is a
 * {@link ResourceAgentDefinition}. Built-in agents in `ra/` are written against
 * exactly this contract, the same as a third party's file dropped into the plugin
 * directory; the loader checks every definition with {@link validateResourceAgent}.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * export default defineResourceAgent({
 *   kind: "resource-agent",
 *   name: "Noop",
 *   version: "1.0.0",
 *   description: "always stopped",
 *   params: z.object({ note: z.string().default("").describe("free text") }),
 *   actions: {
 *     start: () => Promise.resolve(OCF.ERR_UNIMPLEMENTED),
 *     stop: () => Promise.resolve(OCF.OK),
 *     monitor: () => Promise.resolve(OCF.NOT_RUNNING),
 *   },
 *   timeouts: { start: 20_000, stop: 20_000, monitor: 20_000 },
 * });
 * ```
 *
 * @module
 */

import { z } from "zod";
import {
  formatPluginIssues,
  PluginError,
  pluginFunction,
  pluginIdentityShape,
} from "./plugin_schema.ts";

export { PluginError };

/**
 * OCF return codes an agent action resolves with (the subset Vigil interprets).
 *
 * - `OK` (0): success; for `monitor`, the resource is running.
 * - `ERR_GENERIC` (1): a failure not covered by another code.
 * - `ERR_ARGS` (2): the action was called with wrong arguments.
 * - `ERR_UNIMPLEMENTED` (3): the action is not implemented by this agent.
 * - `ERR_PERM` (4): insufficient privileges.
 * - `ERR_INSTALLED` (5): something the agent needs is missing on this node.
 * - `ERR_CONFIGURED` (6): the parameters are wrong (no node can run this as configured).
 * - `NOT_RUNNING` (7): for `monitor`, the resource is cleanly stopped.
 */
export const OCF = {
  OK: 0,
  ERR_GENERIC: 1,
  ERR_ARGS: 2,
  ERR_UNIMPLEMENTED: 3,
  ERR_PERM: 4,
  ERR_INSTALLED: 5,
  ERR_CONFIGURED: 6,
  NOT_RUNNING: 7,
} as const;

/**
 * An OCF return code. Kept as `number` because agents (notably adapted OCF scripts)
 * may return codes outside {@link OCF}; anything other than the expected code is a failure.
 */
export type OcfCode = number;

/** What an agent action receives for one operation. */
export interface AgentContext<P> {
  /** The resource's parameters, already parsed with the agent's `params` schema. */
  params: P;
  /** The id of the resource this operation is for. */
  resourceId: string;
  /** The name of the node running the operation. */
  node: string;
  /** A directory private to this node where agents may keep state files. */
  stateDir: string;
  /** Aborted when the operation times out (or is cancelled); agents should give up then. */
  signal: AbortSignal;
  /** This operation's timeout in milliseconds (`signal` is aborted when it passes). */
  timeoutMs: number;
  /**
   * Monitor depth (OCF_CHECK_LEVEL): 0, the default, is the cheap check; higher levels
   * (10, 20) check more thoroughly. Only meaningful for `monitor`.
   */
  depth?: number;
  /** Records one line of operation output (kept with the operation result). */
  log: (line: string) => void;
}

/**
 * One action of an agent: runs it for the resource in `ctx` and resolves with an OCF code.
 *
 * Declared through a method signature so that it is checked bivariantly: this lets a
 * definition with a specific params type be stored as a plain `ResourceAgentDefinition`
 * (e.g. in the registry of built-ins) without casts.
 */
export type AgentAction<P> = {
  bivarianceHack(ctx: AgentContext<P>): Promise<OcfCode>;
}["bivarianceHack"];

/**
 * The default export of a resource-agent module.
 *
 * Semantics every agent must honour:
 * - `start` and `stop` are idempotent: `start` of a running resource returns `OK`, `stop`
 *   of a stopped (or never started) resource returns `OK`.
 * - `monitor` returns `OK` when the resource is running, `NOT_RUNNING` when it is cleanly
 *   stopped; any other code means the resource has failed.
 * - `validate`, when present, checks the parameters beyond what the schema can express
 *   (files exist, binaries are installed) and returns `OK` or an error code.
 * - `promote`, `demote` and `notify` are optional and follow OCF: only promotable
 *   (multi-state) agents implement the first two.
 * - `monitor` honours `ctx.depth` when it has deeper checks; depth 0 is always valid.
 * - Actions should honour `ctx.signal`: once aborted, the operation is already recorded
 *   as timed out and whatever the action resolves with is ignored.
 */
export interface ResourceAgentDefinition<S extends z.ZodType = z.ZodType> {
  /** Discriminates the plugin type. */
  kind: "resource-agent";
  /** The agent's name, as referenced by resources (e.g. `Dummy`). */
  name: string;
  /** The agent's version, free-form (e.g. `1.0.0`). */
  version: string;
  /** One-line human description. */
  description: string;
  /** The zod schema of the resource parameters; the LRM parses params with it. */
  params: S;
  /** The actions the agent implements. */
  actions: {
    start: AgentAction<z.output<S>>;
    stop: AgentAction<z.output<S>>;
    monitor: AgentAction<z.output<S>>;
    validate?: AgentAction<z.output<S>>;
    /** Promotes a running instance of a promotable resource (OCF `promote`). */
    promote?: AgentAction<z.output<S>>;
    /** Demotes a promoted instance back to an ordinary running one (OCF `demote`). */
    demote?: AgentAction<z.output<S>>;
    /** Tells the instance about its peers' operations (OCF `notify`). */
    notify?: AgentAction<z.output<S>>;
  };
  /** Default timeout of each action, in milliseconds (used when the resource sets none). */
  timeouts: { start: number; stop: number; monitor: number };
  /** What `vigil ra describe` shows besides the one-line description. */
  metadata?: { longDescription?: string };
}

/**
 * Identity function that types a definition: the actions' `ctx.params` are inferred from
 * the `params` schema. Use it as the default export of an agent module.
 */
export function defineResourceAgent<S extends z.ZodType>(
  def: ResourceAgentDefinition<S>,
): ResourceAgentDefinition<S> {
  return def;
}

const timeout = z.number().int().positive();

/** The zod schema of a {@link ResourceAgentDefinition} (functions and schemas checked by kind). */
export const resourceAgentDefinitionSchema = z.object({
  kind: z.literal("resource-agent"),
  ...pluginIdentityShape,
  actions: z.object({
    start: pluginFunction,
    stop: pluginFunction,
    monitor: pluginFunction,
    validate: pluginFunction.optional(),
    promote: pluginFunction.optional(),
    demote: pluginFunction.optional(),
    notify: pluginFunction.optional(),
  }),
  timeouts: z.object({ start: timeout, stop: timeout, monitor: timeout }),
  metadata: z.object({ longDescription: z.string().optional() }).optional(),
});

/**
 * Checks that `value` (a module's default export) is a valid resource-agent definition.
 *
 * @param value the candidate definition
 * @param source where it came from (a file path), used in error messages
 * @returns the definition, typed
 * @throws {PluginError} naming the source and every failing field path, e.g.
 *   `plugins/x.ts: actions.start: expected a function`
 */
export function validateResourceAgent(value: unknown, source: string): ResourceAgentDefinition {
  const result = resourceAgentDefinitionSchema.safeParse(value);
  if (!result.success) {
    throw new PluginError(source, formatPluginIssues(result.error.issues, source));
  }
  return result.data as ResourceAgentDefinition;
}
