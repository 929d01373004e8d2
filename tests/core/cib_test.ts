import assert from "node:assert/strict";
import {
  cibConfigSchema,
  cibSchema,
  formatIssues,
  formatPath,
  isActiveState,
} from "../../core/cib/cib.ts";
import {
  type CibVersion,
  compareVersions,
  formatVersion,
  maxVersion,
} from "../../core/cib/version.ts";
import { INFINITY } from "../../core/score.ts";

const v = (adminEpoch: number, epoch: number, numUpdates: number): CibVersion => ({
  adminEpoch,
  epoch,
  numUpdates,
});

Deno.test("compareVersions orders by admin_epoch, then epoch, then num_updates", () => {
  assert.ok(compareVersions(v(0, 2, 0), v(0, 1, 9)) > 0, "epoch beats num_updates");
  assert.ok(compareVersions(v(1, 0, 0), v(0, 99, 99)) > 0, "admin_epoch beats everything");
  assert.ok(compareVersions(v(0, 1, 1), v(0, 1, 2)) < 0);
  assert.equal(compareVersions(v(2, 3, 4), v(2, 3, 4)), 0);
  const sorted = [v(0, 1, 5), v(1, 0, 0), v(0, 0, 9), v(0, 1, 0), v(0, 2, 0)].sort(
    compareVersions,
  );
  assert.deepEqual(sorted.map(formatVersion), ["0.0.9", "0.1.0", "0.1.5", "0.2.0", "1.0.0"]);
});

Deno.test("compareVersions is antisymmetric", () => {
  const all = [v(0, 0, 0), v(0, 0, 1), v(0, 1, 0), v(1, 0, 0), v(1, 1, 1)];
  for (const a of all) {
    for (const b of all) {
      assert.equal(Math.sign(compareVersions(a, b)) + Math.sign(compareVersions(b, a)), 0);
    }
  }
});

Deno.test("maxVersion picks the newer version and formatVersion prints it", () => {
  assert.deepEqual(maxVersion(v(0, 1, 9), v(0, 2, 0)), v(0, 2, 0));
  assert.deepEqual(maxVersion(v(3, 0, 0), v(2, 9, 9)), v(3, 0, 0));
  assert.equal(formatVersion(v(1, 22, 333)), "1.22.333");
});

function validCib(): Record<string, unknown> {
  return {
    version: { adminEpoch: 0, epoch: 1, numUpdates: 0 },
    config: {
      nodes: [{ name: "n1" }, { name: "n2" }],
      resources: [{ id: "web", agent: "dummy", location: { n1: 50 } }],
    },
    status: { n1: { web: { state: "started", failCount: 0, lastRc: 0 } } },
  };
}

function issuesOf(value: unknown): string {
  const result = cibSchema.safeParse(value);
  assert.equal(result.success, false, "expected the CIB to be rejected");
  return formatIssues(result.error!);
}

Deno.test("a valid CIB parses", () => {
  const cib = cibSchema.parse(validCib());
  assert.equal(cib.config.resources[0].location.n1, 50);
  assert.equal(cib.status.n1.web.state, "started");
});

Deno.test("a bad score is reported at its exact path", () => {
  const raw = validCib();
  (raw.config as { resources: { location: unknown }[] }).resources[0].location = { n1: "lots" };
  const text = issuesOf(raw);
  assert.match(text, /^config\.resources\[0\]\.location\.n1: not a score: "lots"$/m);
});

Deno.test("other bad fields are named by path", () => {
  const badName = validCib();
  (badName.config as { nodes: unknown[] }).nodes[1] = { name: "bad name" };
  assert.match(issuesOf(badName), /^config\.nodes\[1\]\.name: /m);

  const badState = validCib();
  (badState.status as Record<string, Record<string, { state: string }>>).n1.web.state = "running";
  assert.match(issuesOf(badState), /^status\.n1\.web\.state: /m);

  const badVersion = validCib();
  (badVersion.version as { epoch: number }).epoch = -1;
  assert.match(issuesOf(badVersion), /^version\.epoch: /m);

  const badMonitor = validCib();
  (badMonitor.config as { resources: Record<string, unknown>[] }).resources[0].monitorMs = 1.5;
  assert.match(issuesOf(badMonitor), /^config\.resources\[0\]\.monitorMs: /m);
});

Deno.test("unknown keys are rejected (strict objects)", () => {
  const raw = validCib();
  (raw.config as { nodes: Record<string, unknown>[] }).nodes[0].colour = "blue";
  assert.match(issuesOf(raw), /^config\.nodes\[0\]: .*colour/m);
  assert.match(issuesOf({ ...validCib(), extra: 1 }), /^\(root\): .*extra/m);
});

Deno.test("every issue gets its own line", () => {
  const raw = validCib();
  (raw.config as { resources: { location: unknown }[] }).resources[0].location = {
    n1: "x",
    n2: "y",
  };
  const lines = issuesOf(raw).split("\n");
  assert.deepEqual(lines.sort(), [
    'config.resources[0].location.n1: not a score: "x"',
    'config.resources[0].location.n2: not a score: "y"',
  ]);
});

Deno.test("INFINITY spellings are accepted as scores", () => {
  const config = cibConfigSchema.parse({
    options: { stickiness: "INFINITY" },
    nodes: [{ name: "n1" }, { name: "n2" }, { name: "n3" }],
    resources: [{
      id: "web",
      agent: "dummy",
      location: { n1: "INFINITY", n2: "-INFINITY", n3: "+inf" },
    }],
  });
  assert.deepEqual(config.resources[0].location, { n1: INFINITY, n2: -INFINITY, n3: INFINITY });
  assert.equal(config.options.stickiness, INFINITY);
});

Deno.test("defaults are filled in", () => {
  const config = cibConfigSchema.parse({
    nodes: [{ name: "n1" }],
    resources: [{ id: "web", agent: "dummy" }],
  });
  assert.deepEqual(config.options, {
    stickiness: 100,
    noQuorumPolicy: "stop",
    migrationThreshold: 3,
  });
  assert.deepEqual(config.nodes[0], { name: "n1", priority: 0, votes: 1, standby: false });
  assert.deepEqual(config.resources[0], {
    id: "web",
    agent: "dummy",
    params: {},
    monitorMs: 0,
    location: {},
  });
  assert.equal(config.resources[0].stickiness, undefined);
  assert.deepEqual(cibConfigSchema.parse({ nodes: [] }).resources, []);
  // Partial options get the missing ones filled too.
  assert.deepEqual(
    cibConfigSchema.parse({ nodes: [], options: { noQuorumPolicy: "freeze" } }).options,
    {
      stickiness: 100,
      noQuorumPolicy: "freeze",
      migrationThreshold: 3,
    },
  );
});

Deno.test("formatPath joins keys with dots and indices with brackets", () => {
  assert.equal(formatPath(["resources", 3, "params", "port"]), "resources[3].params.port");
  assert.equal(formatPath([0, "a"]), "[0].a");
  assert.equal(formatPath([]), "");
});

Deno.test("every state but stopped counts as active", () => {
  assert.equal(isActiveState("stopped"), false);
  for (const s of ["starting", "started", "stopping", "failed"] as const) {
    assert.equal(isActiveState(s), true, s);
  }
});
