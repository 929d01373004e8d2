/**
 * The skeletons `vigil plugin new ra|fence|quorum NAME` writes: a working plugin of each
 * kind and its companion test file (`NAME.test.ts`, see `plugin_test_spec.ts`). They are
 * kept here as strings so that the compiled binary carries them; `__NAME__` stands for
 * the plugin's name. `tests/cli/plugin_command_test.ts` checks that each skeleton passes
 * `vigil plugin test` and type-checks against `plugins/plugin_api.ts` as written.
 *
 * @example
 * ```ts
 * const { plugin, test } = pluginTemplate("ra", "Web");
 * ```
 * @module
 */

import { pluginName } from "./plugin_schema.ts";

/** The kinds `vigil plugin new` knows, as typed on the command line. */
export const TEMPLATE_KINDS = ["ra", "fence", "quorum"] as const;

/** One kind as typed on the command line. */
export type TemplateKind = typeof TEMPLATE_KINDS[number];

/** A skeleton: the plugin file's text and its companion test file's text. */
export interface PluginTemplate {
  /** `NAME.ts`. */
  plugin: string;
  /** `NAME.test.ts`. */
  test: string;
}

const RESOURCE_AGENT = `/**
 * __NAME__: a Vigil resource agent, written by \`vigil plugin new ra __NAME__\`.
 *
 * As written it manages a state file: start writes \`message\` into it, stop removes it,
 * monitor checks it. Replace the bodies of the actions with what your service needs, and
 * keep the rules of the contract:
 * - start of a running resource and stop of a stopped one return OCF.OK (idempotent);
 * - monitor returns OCF.OK when running, OCF.NOT_RUNNING when cleanly stopped, anything
 *   else when failed;
 * - give up when ctx.signal is aborted (the operation timed out).
 *
 * Test it:     vigil plugin test __NAME__.ts   (the contract suite, then __NAME__.test.ts)
 * Install it:  copy __NAME__.ts into the plugin directory (/etc/vigil/plugins, or
 *              plugins/ next to the vigil binary) and restart vigil.
 *
 * The default export is a factory: vigil calls it with its API (zod as vigil.z, the OCF
 * codes, the define helpers), so the file needs no node_modules. Imports of node:
 * built-ins and relative files work; \`import type\` lines are erased at run time.
 */

import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { PluginApi } from "vigil/plugin";

/** The part of an operation's context that locates the state file. */
interface StateFileContext {
  stateDir: string;
  resourceId: string;
  params: { stateFile?: string | undefined };
}

/** Where this resource keeps its state. */
function statePath(ctx: StateFileContext): string {
  return ctx.params.stateFile ?? join(ctx.stateDir, \`__NAME__-\${ctx.resourceId}.state\`);
}

/** The text of an error, for ctx.log. */
function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The __NAME__ agent: vigil calls this factory once, with its plugin API. */
export default (vigil: PluginApi) => {
  const { z, OCF } = vigil;

  return vigil.defineResourceAgent({
    kind: "resource-agent",
    name: "__NAME__",
    version: "0.1.0",
    description: "TODO: one line saying what __NAME__ manages",
    metadata: {
      longDescription: "TODO: what the agent does, what it needs installed, how it monitors.",
    },
    // Every parameter: a type, a .describe() text, and a default when there is a sensible one.
    params: z.object({
      message: z.string().min(1).max(200).default("running").describe(
        "what the state file says while the resource runs",
      ),
      stateFile: z.string().min(1).optional().describe(
        "the state file (default: STATE_DIR/__NAME__-RESOURCE.state)",
      ),
    }),
    actions: {
      async start(ctx) {
        const path = statePath(ctx);
        try {
          await mkdir(dirname(path), { recursive: true });
          await writeFile(path, \`\${ctx.params.message}\\n\`, { signal: ctx.signal });
          return OCF.OK;
        } catch (err) {
          ctx.log(\`__NAME__: cannot write \${path}: \${errorText(err)}\`);
          return OCF.ERR_GENERIC;
        }
      },
      async stop(ctx) {
        const path = statePath(ctx);
        try {
          await rm(path, { force: true }); // already gone: stopped, still OK
          return OCF.OK;
        } catch (err) {
          ctx.log(\`__NAME__: cannot remove \${path}: \${errorText(err)}\`);
          return OCF.ERR_GENERIC;
        }
      },
      async monitor(ctx) {
        const path = statePath(ctx);
        try {
          const text = await readFile(path, { encoding: "utf8", signal: ctx.signal });
          // ctx.depth > 0 asks for a deeper check: here, that the content is ours.
          if ((ctx.depth ?? 0) > 0 && text.trim() !== ctx.params.message) {
            ctx.log(\`__NAME__: \${path} holds "\${text.trim()}"\`);
            return OCF.ERR_GENERIC;
          }
          return OCF.OK;
        } catch (err) {
          if ((err as { code?: unknown }).code === "ENOENT") return OCF.NOT_RUNNING;
          ctx.log(\`__NAME__: cannot read \${path}: \${errorText(err)}\`);
          return OCF.ERR_GENERIC;
        }
      },
      validate(ctx) {
        // Checks the schema cannot express: here, that the message is one line.
        if (ctx.params.message.includes("\\n")) {
          ctx.log("__NAME__: message must be one line");
          return Promise.resolve(OCF.ERR_CONFIGURED);
        }
        return Promise.resolve(OCF.OK);
      },
    },
    // Default timeout of each action, ms (a resource's configuration may override them).
    timeouts: { start: 20_000, stop: 20_000, monitor: 20_000 },
  });
};
`;

const RESOURCE_AGENT_TEST = `/**
 * Tests of the __NAME__ resource agent, run by \`vigil plugin test __NAME__.ts\`: first the
 * resource-agent contract suite with the sample parameters below, then the checks below.
 * A check passes when its run() returns, and fails when it throws.
 */

import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PluginApi, PluginTestSpec, ResourceAgentDefinition } from "vigil/plugin";

/** The sample parameters and extra checks for \`vigil plugin test\`. */
export default (vigil: PluginApi): PluginTestSpec<ResourceAgentDefinition> => ({
  // Parameters for the contract suite's resource, given a fresh temporary directory.
  params: (tmpDir) => ({ stateFile: join(tmpDir, "__NAME__.state"), message: "hello" }),
  // Values the parameter schema must reject.
  invalidParams: [{ message: "" }, { message: 42 }, { stateFile: "" }],
  // Checks of this agent's own behaviour, beyond the contract.
  checks: (agent) => [
    {
      name: "start writes the message into the state file",
      async run() {
        const dir = await mkdtemp(join(tmpdir(), "__NAME__-"));
        try {
          const stateFile = join(dir, "state");
          const ctx = {
            params: agent.params.parse({ stateFile, message: "hello there" }),
            resourceId: "test",
            node: "test-node",
            stateDir: dir,
            signal: new AbortController().signal,
            timeoutMs: agent.timeouts.start,
            log: () => {},
          };
          assert.equal(await agent.actions.start(ctx), vigil.OCF.OK);
          assert.equal(await readFile(stateFile, "utf8"), "hello there\\n");
          assert.equal(await agent.actions.monitor({ ...ctx, depth: 10 }), vigil.OCF.OK);
          assert.equal(await agent.actions.stop(ctx), vigil.OCF.OK);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      },
    },
  ],
});
`;

const FENCE_DRIVER = `/**
 * __NAME__: a Vigil fence driver, written by \`vigil plugin new fence __NAME__\`.
 *
 * As written it fences nothing real: it keeps each node's power state in a JSON file.
 * Replace the bodies of fence and status with calls to your power device (a PDU's HTTP
 * API, a BMC, a hypervisor), and keep the rules of the contract:
 * - fence resolves { ok: true } only when the device confirms the action: the cluster
 *   recovers the target's resources elsewhere on that word alone;
 * - status says "on", "off", or "unknown" when the device cannot tell;
 * - give up when ctx.signal is aborted (the call timed out).
 *
 * Test it:     vigil plugin test __NAME__.ts   (the contract suite, then __NAME__.test.ts)
 *              The suite really fences its target: point it at a lab device, never at a
 *              production one.
 * Install it:  copy __NAME__.ts into the plugin directory (/etc/vigil/plugins, or
 *              plugins/ next to the vigil binary) and restart vigil.
 *
 * The default export is a factory: vigil calls it with its API (zod as vigil.z, the
 * define helpers), so the file needs no node_modules.
 */

import { readFile, writeFile } from "node:fs/promises";
import type { PluginApi } from "vigil/plugin";

/** Power state per node, as kept in the state file. */
type PowerTable = Record<string, "on" | "off">;

/** Reads the power table; a missing file is an empty one. */
async function readPower(path: string, signal: AbortSignal): Promise<PowerTable> {
  try {
    return JSON.parse(await readFile(path, { encoding: "utf8", signal })) as PowerTable;
  } catch (err) {
    if ((err as { code?: unknown }).code === "ENOENT") return {};
    throw err;
  }
}

/** The __NAME__ driver: vigil calls this factory once, with its plugin API. */
export default (vigil: PluginApi) => {
  const { z } = vigil;

  return vigil.defineFenceDriver({
    kind: "fence-driver",
    name: "__NAME__",
    version: "0.1.0",
    description: "TODO: one line saying which device __NAME__ drives",
    params: z.object({
      stateFile: z.string().min(1).describe("JSON file holding each node's power state"),
      nodes: z.array(z.string().min(1)).max(1024).default([]).describe(
        "the nodes this device can fence (empty: any node)",
      ),
    }),
    actions: {
      async fence(ctx) {
        const what = \`\${ctx.action} \${ctx.target}\`;
        if (ctx.params.nodes.length > 0 && !ctx.params.nodes.includes(ctx.target)) {
          return { ok: false, detail: \`\${what}: not a node of this device\` };
        }
        try {
          const power = await readPower(ctx.params.stateFile, ctx.signal);
          // A real device: send the command, then poll its status until it confirms.
          power[ctx.target] = ctx.action === "off" ? "off" : "on";
          await writeFile(ctx.params.stateFile, JSON.stringify(power), { signal: ctx.signal });
          ctx.log(\`__NAME__: \${what}: done\`);
          return { ok: true, detail: \`\${what}: done\` };
        } catch (err) {
          return { ok: false, detail: \`\${what}: \${err instanceof Error ? err.message : err}\` };
        }
      },
      async status(ctx) {
        const power = await readPower(ctx.params.stateFile, ctx.signal);
        const state = power[ctx.target] ?? "on";
        return { power: state, detail: \`\${ctx.target} is \${state}\` };
      },
      list(ctx) {
        return Promise.resolve([...ctx.params.nodes]);
      },
    },
    // Default timeout of each call, ms.
    timeouts: { fence: 60_000, status: 10_000, list: 10_000 },
  });
};
`;

const FENCE_DRIVER_TEST = `/**
 * Tests of the __NAME__ fence driver, run by \`vigil plugin test __NAME__.ts\`: first the
 * fence-driver contract suite with the sample parameters below, then the checks below.
 * A check passes when its run() returns, and fails when it throws.
 */

import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FenceDriverDefinition, PluginApi, PluginTestSpec } from "vigil/plugin";

/** The sample parameters and extra checks for \`vigil plugin test\`. */
export default (_vigil: PluginApi): PluginTestSpec<FenceDriverDefinition<unknown>> => ({
  // Parameters for the contract suite's device, given a fresh temporary directory.
  params: (tmpDir) => ({ stateFile: join(tmpDir, "power.json") }),
  // The node the contract suite fences.
  target: "contract-node",
  // Values the parameter schema must reject.
  invalidParams: [{}, { stateFile: "" }, { stateFile: "/x", nodes: [""] }],
  // Checks of this driver's own behaviour, beyond the contract.
  checks: (driver) => [
    {
      name: "a node outside nodes cannot be fenced",
      async run() {
        const dir = await mkdtemp(join(tmpdir(), "__NAME__-"));
        try {
          const result = await driver.actions.fence({
            params: driver.params.parse({ stateFile: join(dir, "power.json"), nodes: ["n1"] }),
            target: "n2",
            action: "off",
            signal: new AbortController().signal,
            timeoutMs: driver.timeouts.fence,
            log: () => {},
          });
          assert.equal(result.ok, false);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      },
    },
  ],
});
`;

const QUORUM_DEVICE = `/**
 * __NAME__: a Vigil quorum device, written by \`vigil plugin new quorum __NAME__\`.
 *
 * As written it is healthy while a path exists, and then adds \`score\` to this node's
 * placement score for every resource (like a ping node: prefer nodes that see the path).
 * It gives no votes. Replace the body of check with your own test, and keep the rules of
 * the contract:
 * - check resolves a reading within the device's timeoutMs, and settles promptly once its
 *   signal is aborted;
 * - votes(params) is the most votes a reading may give (a tie-breaker: 1; a score: 0);
 * - stop releases what create took; a check after stop gives no votes.
 *
 * Test it:     vigil plugin test __NAME__.ts   (the contract suite, then __NAME__.test.ts)
 * Install it:  copy __NAME__.ts into the plugin directory (/etc/vigil/plugins, or
 *              plugins/ next to the vigil binary), restart vigil, and name it in the
 *              node configuration: "quorum": { "devices": [{ "plugin": "__NAME__", ... }] }
 *
 * The default export is a factory: vigil calls it with its API (zod as vigil.z, the
 * define helpers), so the file needs no node_modules.
 */

import { stat } from "node:fs/promises";
import type { PluginApi } from "vigil/plugin";

/** The __NAME__ device: vigil calls this factory once, with its plugin API. */
export default (vigil: PluginApi) => {
  const { z } = vigil;

  return vigil.defineQuorumDevice({
    kind: "quorum-device",
    name: "__NAME__",
    version: "0.1.0",
    description: "TODO: one line saying what __NAME__ watches",
    params: z.object({
      path: z.string().min(1).describe("the path whose presence makes this node healthy"),
      score: z.number().int().min(0).max(1_000_000).default(100).describe(
        "score added to this node while the path exists",
      ),
    }),
    votes: () => 0,
    intervalMs: 5_000,
    timeoutMs: 2_000,
    create(params, ctx) {
      let stopped = false;
      return {
        async check(signal) {
          signal.throwIfAborted();
          if (stopped) return { votes: 0, score: 0, healthy: false, detail: "stopped" };
          try {
            await stat(params.path);
            const detail = \`\${params.path} exists\`;
            return { votes: 0, score: params.score, healthy: true, detail };
          } catch (err) {
            ctx.log(\`__NAME__: \${params.path}: \${err instanceof Error ? err.message : err}\`);
            return { votes: 0, score: 0, healthy: false, detail: \`\${params.path} is missing\` };
          }
        },
        stop() {
          stopped = true;
          return Promise.resolve();
        },
      };
    },
  });
};
`;

const QUORUM_DEVICE_TEST = `/**
 * Tests of the __NAME__ quorum device, run by \`vigil plugin test __NAME__.ts\`: first the
 * quorum-device contract suite with the sample parameters below, then the checks below.
 * A check passes when its run() returns, and fails when it throws.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { PluginApi, PluginTestSpec, QuorumDeviceDefinition } from "vigil/plugin";

/** The sample parameters and extra checks for \`vigil plugin test\`. */
export default (_vigil: PluginApi): PluginTestSpec<QuorumDeviceDefinition<unknown>> => ({
  // Parameters for the contract suite's device, given a fresh temporary directory.
  params: (tmpDir) => ({ path: tmpDir }),
  // The reading those parameters must give.
  expectHealthy: true,
  // Values the parameter schema must reject.
  invalidParams: [{}, { path: "" }, { path: "/", score: -1 }],
  // Checks of this device's own behaviour, beyond the contract.
  checks: (device) => [
    {
      name: "a missing path is unhealthy and scores nothing",
      async run() {
        const params = device.params.parse({ path: join("/nonexistent", "__NAME__") });
        const instance = device.create(params, {
          node: "n1",
          nodes: ["n1"],
          membership: () => ["n1"],
          now: () => 0,
          log: () => {},
        });
        try {
          const reading = await instance.check(new AbortController().signal);
          assert.equal(reading.healthy, false);
          assert.equal(reading.score, 0);
        } finally {
          await instance.stop();
        }
      },
    },
  ],
});
`;

const TEMPLATES: Record<TemplateKind, PluginTemplate> = {
  ra: { plugin: RESOURCE_AGENT, test: RESOURCE_AGENT_TEST },
  fence: { plugin: FENCE_DRIVER, test: FENCE_DRIVER_TEST },
  quorum: { plugin: QUORUM_DEVICE, test: QUORUM_DEVICE_TEST },
};

/**
 * The skeleton of `kind` for a plugin called `name`.
 *
 * @throws RangeError when `name` is not a valid plugin name (letters, digits, `_`, `-`,
 *   starting with a letter), since it becomes a file name and a string in the code
 */
export function pluginTemplate(kind: TemplateKind, name: string): PluginTemplate {
  if (!pluginName.safeParse(name).success || name.length > 64) {
    throw new RangeError(
      `invalid plugin name "${name}": use up to 64 letters, digits, '_' or '-', starting with a letter`,
    );
  }
  const template = TEMPLATES[kind];
  return {
    plugin: template.plugin.replaceAll("__NAME__", name),
    test: template.test.replaceAll("__NAME__", name),
  };
}
