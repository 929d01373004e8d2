import assert from "node:assert/strict";
import {
  activeMoves,
  applyCibUpdate,
  type CibUpdate,
  cibUpdateSchema,
  expireMoves,
} from "../../core/cib/cib_update.ts";
import { type CibDocument, parseCibDocument } from "../../core/cib/schema/document.ts";
import { INFINITY } from "../../core/score.ts";

function doc(): CibDocument {
  const r = parseCibDocument({
    config: {
      nodes: [{ name: "n1" }, { name: "n2" }],
      resources: [
        { id: "db", agent: "Dummy" },
        {
          kind: "group",
          id: "web",
          members: [{ id: "ip", agent: "Dummy" }, { id: "httpd", agent: "Dummy" }],
        },
      ],
      constraints: {
        colocations: [{
          id: "web-with-db",
          resource: "web",
          withResource: "db",
          score: "INFINITY",
        }],
        orders: [{ id: "db-then-web", first: "db", then: "web" }],
        locations: [{ id: "db-on-n1", resource: "db", node: "n1", score: 50 }],
      },
    },
  });
  if (!r.ok) throw new Error(r.errors.join("\n"));
  return r.cib;
}

function apply(cib: CibDocument, update: CibUpdate, now = 1000) {
  return applyCibUpdate(cib, cibUpdateSchema.parse(update), now);
}

Deno.test("cib update: create checks the resource and refuses a duplicate id", () => {
  const ok = apply(doc(), {
    op: "resource-create",
    resource: { id: "vip", agent: "ocf:heartbeat:IPaddr2", params: { ip: "10.0.0.1" } },
  });
  assert.ok(ok.ok);
  assert.equal(ok.cib.config.resources.at(-1)?.id, "vip");
  const dup = apply(doc(), { op: "resource-create", resource: { id: "ip", agent: "Dummy" } });
  assert.equal(dup.ok, false);
  assert.match(!dup.ok ? dup.error : "", /duplicate id "ip"/);
  const bad = apply(doc(), {
    op: "resource-create",
    resource: { id: "x", agent: "Dummy", operations: [{ name: "monitor", intervalMs: "soon" }] },
  });
  assert.match(!bad.ok ? bad.error : "", /resource\.operations\.0\.intervalMs: not a duration/);
});

Deno.test("cib update: delete removes the resource with the constraints naming it", () => {
  const r = apply(doc(), { op: "resource-delete", resource: "db" });
  assert.ok(r.ok);
  assert.deepEqual(r.cib.config.resources.map((x) => x.id), ["web"]);
  assert.equal(r.cib.config.constraints.colocations.length, 0);
  assert.equal(r.cib.config.constraints.orders.length, 0);
  assert.equal(r.cib.config.constraints.locations.length, 0);
  assert.match(r.summary, /3 constraint/);
  const member = apply(doc(), { op: "resource-delete", resource: "ip" });
  assert.match(!member.ok ? member.error : "", /inside a group/);
  const missing = apply(doc(), { op: "resource-delete", resource: "dbx" });
  assert.match(!missing.ok ? missing.error : "", /no resource "dbx" \(did you mean db\?\)/);
});

Deno.test("cib update: start/stop set target-role, also on a group member", () => {
  const stopped = apply(doc(), { op: "resource-target-role", resource: "httpd", role: "Stopped" });
  assert.ok(stopped.ok);
  const group = stopped.cib.config.resources[1];
  assert.equal(group.kind, "group");
  if (group.kind === "group") assert.equal(group.members[1].meta.targetRole, "Stopped");
});

Deno.test("cib update: move adds an INFINITY preference with a lifetime; unmove and expiry drop it", () => {
  const moved = apply(doc(), {
    op: "resource-move",
    resource: "db",
    node: "n2",
    lifetimeMs: 60_000,
  });
  assert.ok(moved.ok);
  const loc = moved.cib.config.constraints.locations.find((l) => l.id === "cli-prefer-db");
  assert.equal(loc?.score, INFINITY);
  assert.equal(loc?.expiresAt, 61_000);
  assert.deepEqual(activeMoves(moved.cib), [{ resource: "db", node: "n2", expiresAt: 61_000 }]);
  // A second move replaces the first instead of stacking.
  const again = apply(moved.cib, { op: "resource-move", resource: "db", node: "n1" });
  assert.ok(again.ok);
  assert.deepEqual(activeMoves(again.cib), [{ resource: "db", node: "n1" }]);
  assert.equal(expireMoves(moved.cib, 60_999), moved.cib);
  assert.deepEqual(activeMoves(expireMoves(moved.cib, 61_000)), []);
  const unmoved = apply(again.cib, { op: "resource-unmove", resource: "db" });
  assert.ok(unmoved.ok);
  assert.deepEqual(activeMoves(unmoved.cib), []);
  assert.equal(apply(unmoved.cib, { op: "resource-unmove", resource: "db" }).ok, false);
  const nowhere = apply(doc(), { op: "resource-move", resource: "db", node: "n9" });
  assert.match(!nowhere.ok ? nowhere.error : "", /no node "n9"/);
});

Deno.test("cib update: standby/online and options are validated", () => {
  const s = apply(doc(), { op: "node-standby", node: "n2", standby: true });
  assert.ok(s.ok);
  assert.equal(s.cib.config.nodes[1].standby, true);
  const o = apply(doc(), { op: "options-set", options: { noQuorumPolicy: "freeze" } });
  assert.ok(o.ok);
  assert.equal(o.cib.config.options.noQuorumPolicy, "freeze");
  const bad = apply(doc(), { op: "options-set", options: { noQuorumPolicy: "panic" } });
  assert.match(!bad.ok ? bad.error : "", /options\.noQuorumPolicy/);
});

Deno.test("cib update: config-replace is checked whole, with paths", () => {
  const bad = apply(doc(), {
    op: "config-replace",
    config: { nodes: [{ name: "n1" }], resources: [{ id: "a", agent: "Dummy" }, { id: "b" }] },
  });
  assert.match(!bad.ok ? bad.error : "", /config\.resources\.1\.agent/);
  const dangling = apply(doc(), {
    op: "config-replace",
    config: {
      nodes: [{ name: "n1" }],
      constraints: { orders: [{ id: "o", first: "x", then: "y" }] },
    },
  });
  assert.match(
    !dangling.ok ? dangling.error : "",
    /config\.constraints\.orders\[0\]\.first: no resource "x"/,
  );
});
