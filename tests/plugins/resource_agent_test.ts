import assert from "node:assert/strict";
import { z } from "zod";
import {
  defineResourceAgent,
  OCF,
  PluginError,
  validateResourceAgent,
} from "../../plugins/resource_agent.ts";
import { builtinResourceAgents } from "../../ra/builtin.ts";

function validDefinition(): Record<string, unknown> {
  return {
    kind: "resource-agent",
    name: "Test_Agent-1",
    version: "1.0.0",
    description: "test",
    params: z.object({ n: z.number() }),
    actions: {
      start: () => Promise.resolve(OCF.OK),
      stop: () => Promise.resolve(OCF.OK),
      monitor: () => Promise.resolve(OCF.NOT_RUNNING),
    },
    timeouts: { start: 1000, stop: 1000, monitor: 1000 },
  };
}

/** Asserts validation of `value` fails with a message naming the source and `field`. */
function assertRejects(value: unknown, field: string, message?: RegExp): void {
  assert.throws(
    () => validateResourceAgent(value, "plugins/x.ts"),
    (err: unknown) => {
      assert.ok(err instanceof PluginError, `not a PluginError: ${err}`);
      assert.ok(err instanceof Error);
      assert.equal(err.source, "plugins/x.ts");
      assert.ok(
        err.message.split("\n").some((line) => line.startsWith(`plugins/x.ts: ${field}: `)),
        `message does not name ${field}: ${err.message}`,
      );
      if (message) assert.match(err.message, message);
      return true;
    },
  );
}

Deno.test("validateResourceAgent accepts a valid definition and keeps its parts", () => {
  const def = validDefinition();
  const checked = validateResourceAgent(def, "plugins/x.ts");
  assert.equal(checked.name, "Test_Agent-1");
  assert.equal(checked.params, def.params);
  assert.equal(checked.actions.start, (def.actions as { start: unknown }).start);
  assert.equal(checked.actions.validate, undefined);
});

Deno.test("validateResourceAgent accepts an optional validate action", () => {
  const def = validDefinition();
  const validate = () => Promise.resolve(OCF.OK);
  (def.actions as Record<string, unknown>).validate = validate;
  assert.equal(validateResourceAgent(def, "plugins/x.ts").actions.validate, validate);
});

Deno.test("validateResourceAgent: a non-function action names actions.start", () => {
  const def = validDefinition();
  (def.actions as Record<string, unknown>).start = "start.sh";
  assertRejects(def, "actions.start", /plugins\/x\.ts: actions\.start: expected a function/);
});

Deno.test("validateResourceAgent: a missing action names it", () => {
  const def = validDefinition();
  delete (def.actions as Record<string, unknown>).monitor;
  assertRejects(def, "actions.monitor");
});

Deno.test("validateResourceAgent: a non-function validate names actions.validate", () => {
  const def = validDefinition();
  (def.actions as Record<string, unknown>).validate = 1;
  assertRejects(def, "actions.validate", /expected a function/);
});

Deno.test("validateResourceAgent: params that are not a zod schema name params", () => {
  const def = validDefinition();
  def.params = { n: "number" };
  assertRejects(def, "params", /expected a zod schema/);
});

Deno.test("validateResourceAgent: params from another zod copy (has safeParse) are accepted", () => {
  const def = validDefinition();
  def.params = { safeParse: () => ({ success: true, data: {} }), parse: (v: unknown) => v };
  assert.doesNotThrow(() => validateResourceAgent(def, "plugins/x.ts"));
});

Deno.test("validateResourceAgent: bad names name the field", () => {
  for (const name of ["", "1abc", "has space", "dot.ted", "ünïcode"]) {
    const def = validDefinition();
    def.name = name;
    assertRejects(def, "name");
  }
});

Deno.test("validateResourceAgent: wrong kind names kind", () => {
  const def = validDefinition();
  def.kind = "fence-driver";
  assertRejects(def, "kind");
});

Deno.test("validateResourceAgent: non-positive or non-integer timeouts name the field", () => {
  for (const bad of [0, -1, 1.5, "20s", Infinity]) {
    const def = validDefinition();
    (def.timeouts as Record<string, unknown>).monitor = bad;
    assertRejects(def, "timeouts.monitor");
  }
});

Deno.test("validateResourceAgent: missing version and description name them", () => {
  const def = validDefinition();
  delete def.version;
  delete def.description;
  assertRejects(def, "version");
  assertRejects(def, "description");
});

Deno.test("validateResourceAgent: a non-object is rejected naming the definition", () => {
  for (const bad of [undefined, null, 42, "agent", () => {}]) {
    assertRejects(bad, "(definition)");
  }
});

Deno.test("validateResourceAgent: every problem is reported, one per line", () => {
  const def = validDefinition();
  def.name = "";
  def.timeouts = { start: 0, stop: 1, monitor: 1 };
  assert.throws(() => validateResourceAgent(def, "p.ts"), (err: Error) => {
    const lines = err.message.split("\n");
    assert.equal(lines.length, 2);
    assert.ok(lines.every((line) => line.startsWith("p.ts: ")));
    return true;
  });
});

Deno.test("defineResourceAgent types ctx.params from the schema and returns the definition", () => {
  const def = defineResourceAgent({
    kind: "resource-agent",
    name: "Typed",
    version: "0.1.0",
    description: "typed",
    params: z.object({ port: z.number() }),
    actions: {
      // Compile-time check: ctx.params.port is a number.
      start: (ctx) => Promise.resolve(ctx.params.port > 0 ? OCF.OK : OCF.ERR_CONFIGURED),
      stop: () => Promise.resolve(OCF.OK),
      monitor: () => Promise.resolve(OCF.NOT_RUNNING),
    },
    timeouts: { start: 1, stop: 1, monitor: 1 },
  });
  assert.equal(validateResourceAgent(def, "typed.ts").actions.start, def.actions.start);
});

Deno.test("every built-in resource agent validates, with a unique name", () => {
  const names = builtinResourceAgents.map((def) =>
    validateResourceAgent(def, `ra/${def.name}`).name
  );
  assert.equal(new Set(names).size, names.length);
  // More built-ins arrive over time; these two are the oldest and must stay.
  for (const name of ["Dummy", "HttpService"]) assert.ok(names.includes(name), `no ${name}`);
});

Deno.test("validateResourceAgent accepts promote, demote, notify and metadata", () => {
  const def = validDefinition();
  const actions = def.actions as Record<string, unknown>;
  for (const action of ["promote", "demote", "notify"]) {
    actions[action] = () => Promise.resolve(OCF.OK);
  }
  def.metadata = { longDescription: "A longer text.\nOn two lines." };
  const checked = validateResourceAgent(def, "plugins/x.ts");
  assert.equal(checked.actions.promote, actions.promote);
  assert.equal(checked.actions.notify, actions.notify);
  assert.equal(checked.metadata?.longDescription, "A longer text.\nOn two lines.");
});

Deno.test("validateResourceAgent: non-function promote/demote/notify name the field", () => {
  for (const action of ["promote", "demote", "notify"]) {
    const def = validDefinition();
    (def.actions as Record<string, unknown>)[action] = "script.sh";
    assertRejects(def, `actions.${action}`, /expected a function/);
  }
});

Deno.test("validateResourceAgent: a bad metadata.longDescription names it", () => {
  const def = validDefinition();
  def.metadata = { longDescription: 42 };
  assertRejects(def, "metadata.longDescription");
});
