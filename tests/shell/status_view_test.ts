import assert from "node:assert/strict";
import type { StatusDocument } from "../../core/api/status_app.ts";
import { renderStatus } from "../../core/cli/status_view.ts";

function doc(overrides: Partial<StatusDocument> = {}): StatusDocument {
  return {
    node: "n2",
    nodes: ["n1", "n2", "n3"],
    alive: ["n3"],
    membership: { members: ["n2", "n3"], generation: 5 },
    proposal: { members: ["n2", "n3"], generation: 5 },
    dc: "n2",
    quorum: { quorate: true, votes: 2, expected: 3, needed: 2 },
    cibVersion: { adminEpoch: 0, epoch: 1, numUpdates: 6 },
    resources: [
      { id: "web", agent: "HttpService", on: [{ node: "n2", state: "started", failCount: 0 }] },
      { id: "db", agent: "Dummy", on: [] },
    ],
    lrm: {},
    transition: null,
    version: "0.1.0",
    uptimeMs: 1,
    transport: { received: 0, sent: 0, dropped: {} },
    ...overrides,
  };
}

Deno.test("status view: DC, quorum, online/offline nodes and resource placement", () => {
  const text = renderStatus(doc());
  assert.match(text, /Current DC: n2 - partition with quorum \(2 of 3 votes, 2 needed\)/);
  assert.match(text, /CIB version 0\.1\.6/);
  assert.match(text, /Online: \[ n2 n3 \]/);
  assert.match(text, /OFFLINE: \[ n1 \]/);
  assert.match(text, /web\s+\(HttpService\):\s+Started n2/);
  assert.match(text, /db\s+\(Dummy\):\s+Stopped/);
});

Deno.test("status view: no DC while in transition; failures are listed", () => {
  const text = renderStatus(doc({
    dc: null,
    quorum: null,
    membership: null,
    resources: [{
      id: "web",
      agent: "HttpService",
      on: [{ node: "n2", state: "failed", failCount: 2 }],
    }],
  }));
  assert.match(text, /Current DC: NONE - membership in transition/);
  assert.match(text, /FAILED n2 \(2 failures\)/);
  assert.match(text, /Failed Resource Actions:\n\s+\* web on n2/);
});
