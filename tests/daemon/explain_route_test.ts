import assert from "node:assert/strict";
import {
  createStatusApp,
  type ExplainResponse,
  type StatusSource,
} from "../../core/api/status_app.ts";

/** A source that explains `web` only, answering 503 while `noDc` is set. */
function app(noDc = false) {
  const asked: [string, boolean][] = [];
  const src: StatusSource = {
    status: () => {
      throw new Error("not used");
    },
    events: () => [],
    explain: (resource, forwarded): Promise<ExplainResponse> => {
      asked.push([resource, forwarded]);
      if (noDc) return Promise.resolve({ ok: false, code: 503, error: "no DC" });
      if (resource !== "web") {
        return Promise.resolve({ ok: false, code: 404, error: `no resource "${resource}"` });
      }
      return Promise.resolve({
        ok: true,
        explanation: {
          resource: "web",
          node: "n2",
          scores: { n1: 0, n2: 100, n3: null },
          reason: "location web-on-n2 gives 100 on n2",
          details: ["location web-on-n2 gives 100 on n2", "n3 is offline"],
          dc: "n1",
        },
      });
    },
  };
  return { app: createStatusApp(src), asked };
}

Deno.test("api: GET /explain/:resource answers the DC's explanation", async () => {
  const { app: a, asked } = app();
  const res = await a.request("/explain/web");
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.node, "n2");
  assert.deepEqual(body.scores, { n1: 0, n2: 100, n3: null });
  assert.equal(body.dc, "n1");
  assert.deepEqual(asked, [["web", false]]);
  // A forwarded request says so (the DC does not forward it again).
  await (await a.request("/explain/web?forwarded=1")).body?.cancel();
  assert.deepEqual(asked[1], ["web", true]);
});

Deno.test("api: GET /explain answers 404 for an unknown resource and 503 without a DC", async () => {
  const unknown = await app().app.request("/explain/nosuch");
  assert.equal(unknown.status, 404);
  assert.match((await unknown.json()).error, /nosuch/);
  const noDc = await app(true).app.request("/explain/web");
  assert.equal(noDc.status, 503);
  assert.equal((await noDc.json()).ok, false);
});
