import assert from "node:assert/strict";
import {
  type CibUpdateResponse,
  createStatusApp,
  type StatusSource,
} from "../../core/api/status_app.ts";
import type { CibUpdate } from "../../core/cib/cib_update.ts";
import { cibDocumentSchema } from "../../core/cib/schema/document.ts";

const stamp = { term: 4, version: { adminEpoch: 0, epoch: 2, numUpdates: 0 }, digest: "ab" };

/** A source whose update outcome is chosen per test; it records what it was asked. */
function source(outcome: CibUpdateResponse) {
  const asked: { updates: CibUpdate[]; cleanups: [string, string | undefined][] } = {
    updates: [],
    cleanups: [],
  };
  const src: StatusSource = {
    status: () => {
      throw new Error("not used");
    },
    events: () => [],
    cib: () => ({ cib: cibDocumentSchema.parse({}), stamp }),
    updateCib: (update) => {
      asked.updates.push(update);
      return Promise.resolve(outcome);
    },
    cleanup: (resource, node) => {
      asked.cleanups.push([resource, node]);
      return node === "n9" ? { ok: false, error: 'no node "n9"' } : { ok: true, nodes: ["n1"] };
    },
  };
  return { app: createStatusApp(src), asked };
}

const post = (body: unknown) => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: typeof body === "string" ? body : JSON.stringify(body),
});

Deno.test("api: GET /cib returns this node's copy and its stamp", async () => {
  const { app } = source({ ok: true, version: stamp.version, stamp });
  const res = await app.request("/cib");
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.deepEqual(body.stamp, stamp);
  assert.deepEqual(body.cib.version, { adminEpoch: 0, epoch: 0, numUpdates: 0 });
});

Deno.test("api: POST /cib/update maps outcomes to 200, 409 and 503", async () => {
  const update = { op: "resource-target-role", resource: "web", role: "Stopped" };
  const cases: [CibUpdateResponse, number][] = [
    [{ ok: true, version: stamp.version, stamp, summary: "web: target-role Stopped" }, 200],
    [{ ok: false, outcome: "refused", error: "no quorum: configuration changes are refused" }, 409],
    [{ ok: false, outcome: "unknown", error: "membership changed" }, 503],
  ];
  for (const [outcome, code] of cases) {
    const { app, asked } = source(outcome);
    const res = await app.request("/cib/update", post({ update }));
    assert.equal(res.status, code);
    assert.deepEqual(await res.json(), outcome);
    assert.deepEqual(asked.updates, [update]);
  }
});

Deno.test("api: POST /cib/update refuses bad bodies with 400 naming the field", async () => {
  const { app, asked } = source({ ok: true, version: stamp.version, stamp });
  const bad: [unknown, RegExp][] = [
    ["{", /body is not JSON/],
    [{ update: { op: "resource-move", resource: "web" } }, /update\.node/],
    [{ update: { op: "resource-target-role", resource: "web", role: "Up" } }, /update\.role/],
    [{ update: { op: "node-explode" } }, /update\.op/],
    [{}, /update/],
  ];
  for (const [body, pattern] of bad) {
    const res = await app.request("/cib/update", post(body));
    assert.equal(res.status, 400, JSON.stringify(body));
    const json = await res.json();
    assert.equal(json.ok, false);
    assert.match(json.error, pattern);
  }
  assert.deepEqual(asked.updates, [], "nothing bad reached the daemon");
});

Deno.test("api: POST /resource/cleanup clears on the nodes named", async () => {
  const { app, asked } = source({ ok: true, version: stamp.version, stamp });
  const ok = await app.request("/resource/cleanup", post({ resource: "web" }));
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), { ok: true, nodes: ["n1"] });
  const refused = await app.request("/resource/cleanup", post({ resource: "web", node: "n9" }));
  assert.equal(refused.status, 409);
  const bad = await app.request("/resource/cleanup", post({ node: "n1" }));
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).error, /resource/);
  assert.deepEqual(asked.cleanups, [["web", undefined], ["web", "n9"]]);
});
