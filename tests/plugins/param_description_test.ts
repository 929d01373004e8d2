import assert from "node:assert/strict";
import { z } from "zod";
import { describeParams } from "../../plugins/param_description.ts";
import { pingParamsSchema } from "../../plugins/ping_node.ts";

Deno.test("describeParams: names, types, required, defaults and descriptions in order", () => {
  const rows = describeParams(z.object({
    address: z.string().min(1).describe("the address"),
    port: z.number().int().min(1).max(65535).default(80).describe("TCP port"),
    mode: z.enum(["fast", "safe"]).default("safe").describe("how"),
    hosts: z.array(z.string()).optional().describe("hosts"),
    ratio: z.number(),
    flag: z.boolean().default(false),
    either: z.union([z.string(), z.number()]),
    maybe: z.string().nullable(),
    fixed: z.literal("x"),
  }));
  assert.deepEqual(rows, [
    { name: "address", type: "string", required: true, description: "the address" },
    { name: "port", type: "integer", required: false, default: 80, description: "TCP port" },
    { name: "mode", type: "fast|safe", required: false, default: "safe", description: "how" },
    { name: "hosts", type: "string[]", required: false, description: "hosts" },
    { name: "ratio", type: "number", required: true },
    { name: "flag", type: "boolean", required: false, default: false },
    { name: "either", type: "string|number", required: true },
    { name: "maybe", type: "string|null", required: true },
    { name: "fixed", type: '"x"', required: true },
  ]);
});

Deno.test("describeParams: a built-in's schema (ping) is described fully", () => {
  const rows = describeParams(pingParamsSchema);
  assert.deepEqual(rows.map((r) => r.name), [
    "hosts",
    "multiplier",
    "timeoutMs",
    "group",
    "command",
  ]);
  assert.ok(rows.every((r) => r.description), "every ping parameter has a description");
  assert.deepEqual(rows.find((r) => r.name === "hosts")?.required, true);
  assert.deepEqual(rows.find((r) => r.name === "multiplier")?.default, 1000);
});

Deno.test("describeParams: non-object and foreign schemas", () => {
  assert.deepEqual(describeParams(z.string()), []);
  assert.deepEqual(describeParams(z.object({})), []);
  // A hand-made schema (another zod copy, or just safeParse) has no JSON Schema; its shape
  // still gives field names.
  const foreign = {
    safeParse: () => ({ success: true, data: {} }),
    shape: { a: { description: "an a", isOptional: () => true }, b: {} },
  };
  assert.deepEqual(describeParams(foreign), [
    { name: "a", type: "unknown", required: false, description: "an a" },
    { name: "b", type: "unknown", required: true },
  ]);
  assert.deepEqual(describeParams({ safeParse: () => ({ success: true }) }), []);
});
