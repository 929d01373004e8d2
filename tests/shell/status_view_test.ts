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
    quorum: {
      quorate: true,
      votes: 2,
      expected: 3,
      needed: 2,
      deviceVotes: 0,
      reason: "2 of 3 votes (needed 2)",
    },
    cibVersion: { adminEpoch: 0, epoch: 1, numUpdates: 6 },
    cibStamp: { term: 5, version: { adminEpoch: 0, epoch: 1, numUpdates: 6 }, digest: "ab12" },
    cibPhase: "ready",
    moves: [],
    ignored: [],
    resources: [
      { id: "web", agent: "HttpService", on: [{ node: "n2", state: "started", failCount: 0 }] },
      { id: "db", agent: "Dummy", on: [] },
    ],
    lrm: {},
    lrmDetails: {},
    transition: null,
    version: "0.1.0",
    uptimeMs: 1,
    transport: { received: 0, sent: 0, dropped: {} },
    links: [],
    devices: [],
    ...overrides,
  };
}

Deno.test("status view: DC, quorum, online/offline nodes and resource placement", () => {
  const text = renderStatus(doc());
  assert.match(text, /Current DC: n2 - partition with quorum \(2 of 3 votes \(needed 2\)\)/);
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

Deno.test("status view: each link with its peers, round-trip times and counters", () => {
  const counters = {
    packetsIn: 10,
    packetsOut: 12,
    bytesIn: 1,
    bytesOut: 1,
    sendErrors: 1,
    framingErrors: 2,
  };
  const text = renderStatus(doc({
    links: [
      {
        name: "eth0",
        type: "bcast",
        up: true,
        peers: [
          { peer: "n3", up: true, lastHeardAgoMs: 5, rttMs: 0.4, source: "a", packetsIn: 9 },
          { peer: "n1", up: false, lastHeardAgoMs: 900, rttMs: null, source: "b", packetsIn: 1 },
        ],
        counters,
        dropped: 4,
        duplicates: 9,
      },
      { name: "ttyS0", type: "serial", up: false, peers: [], counters, dropped: 0, duplicates: 0 },
    ],
  }));
  assert.match(
    text,
    /eth0 \(bcast\): up - n3 up rtt 0\.4 ms, n1 DOWN \[in 10, out 12, dropped 6, send errors 1\]/,
  );
  assert.match(text, /ttyS0 \(serial\): DOWN \[in 10/);
});

Deno.test("status view: quorum devices and Heartbeat nodes", () => {
  const text = renderStatus(doc({
    devices: [
      {
        plugin: "qdisk",
        expectedVotes: 1,
        reading: { votes: 1, score: 0, healthy: true, detail: "master n2" },
        readAgoMs: 10,
      },
      { plugin: "ping", expectedVotes: 0, reading: null, readAgoMs: null },
    ],
    heartbeatPeers: [{
      name: "hb1",
      status: "active",
      generation: 3,
      lastSeq: 9,
      lastHeardAgoMs: 120,
      deadtimeMs: 2000,
      uuid: null,
    }],
  }));
  assert.match(text, /qdisk: healthy, 1 of 1 votes, score 0 - master n2/);
  assert.match(text, /ping: not read yet/);
  assert.match(text, /hb1: active, heard 120 ms ago/);
});
