import assert from "node:assert/strict";
import {
  ConfigError,
  initialCib,
  parseNodeConfig,
  resolveLinks,
} from "../../core/config/node_config.ts";
import { INFINITY } from "../../core/score.ts";

const base = {
  node: "n1",
  nodes: [
    { name: "n1", address: "127.0.0.1", port: 7401, api: "127.0.0.1:7501" },
    { name: "n2", address: "127.0.0.1", port: 7402, api: "127.0.0.1:7502" },
  ],
  authkeys: "/etc/vigil/authkeys",
  stateDir: "/var/lib/vigil",
};

function parse(extra: Record<string, unknown>) {
  return parseNodeConfig(JSON.stringify({ ...base, ...extra }), "n1.json");
}

Deno.test("config: Heartbeat-style durations and defaults", () => {
  const cfg = parse({ keepalive: "200ms", deadtime: "2" });
  assert.equal(cfg.keepalive, 200);
  assert.equal(cfg.deadtime, 2000);
  assert.deepEqual(cfg.resources, []);
});

Deno.test("config: errors name the file and the exact field", () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ keepalive: "soon" }, /keepalive: not a duration/],
    [{ node: "n9" }, /node: "n9" is not one of nodes\[\]\.name/],
    [{ keepalive: "1s", deadtime: "1s" }, /deadtime: deadtime \(1000 ms\) must exceed keepalive/],
    [{ resources: [{ id: "web", agent: "Dummy", monitor: "x" }] }, /resources\[0\]\.monitor/],
    [{ extra: 1 }, /extra|unrecognized/i],
  ];
  for (const [extra, pattern] of cases) {
    assert.throws(() => parse(extra), (e: Error) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /^n1\.json: /);
      assert.match(e.message, pattern);
      return true;
    });
  }
  assert.throws(() => parseNodeConfig("{", "n1.json"), /n1\.json: not valid JSON/);
});

Deno.test("config: the initial CIB carries nodes, resources, scores and options", () => {
  const cfg = parse({
    resources: [{
      id: "web",
      agent: "HttpService",
      params: { port: 80 },
      monitor: "5s",
      location: { n2: "INFINITY" },
    }],
    options: { stickiness: 50, noQuorumPolicy: "freeze" },
  });
  const cib = initialCib(cfg);
  assert.deepEqual(cib.version, { adminEpoch: 0, epoch: 1, numUpdates: 0 });
  assert.deepEqual(cib.config.nodes.map((n) => n.name), ["n1", "n2"]);
  const web = cib.config.resources[0];
  assert.equal(web.kind, "primitive");
  assert.deepEqual(
    web.kind === "primitive" ? web.operations.map((o) => [o.name, o.intervalMs]) : [],
    [["monitor", 5000]],
  );
  assert.deepEqual(cib.config.constraints.locations.map((l) => [l.id, l.node, l.score]), [
    ["web-on-n2", "n2", INFINITY],
  ]);
  assert.equal(cib.config.options.stickiness, 50);
  assert.equal(cib.config.options.noQuorumPolicy, "freeze");
  assert.throws(
    () => initialCib(parse({ resources: [{ id: "bad id", agent: "Dummy" }] }), "n1.json"),
    /n1\.json: invalid configuration:\n\s+resources\[0\]\.id/,
  );
});

Deno.test("config: a node needs a medium; heartbeatCompat alone is one", () => {
  const bare = { ...base, nodes: [{ name: "n1" }, { name: "n2" }] };
  assert.throws(
    () => parseNodeConfig(JSON.stringify(bare), "n1.json"),
    /links: no link: give links\[\], or an address and port to node n1/,
  );
  const hbOnly = parseNodeConfig(
    JSON.stringify({ ...bare, heartbeatCompat: { nodes: ["hb1"], broadcast: ["eth0"] } }),
    "n1.json",
  );
  assert.equal(hbOnly.heartbeatCompat?.port, 694);
  assert.deepEqual(resolveLinks(hbOnly), []);
  const linked = parseNodeConfig(
    JSON.stringify({
      ...bare,
      links: [
        { type: "bcast", interface: "eth0" },
        { type: "serial", device: "/dev/ttyS0", name: "tty" },
        { type: "mcast", interface: "eth1", group: "239.0.0.9" },
      ],
    }),
    "n1.json",
  );
  assert.deepEqual(resolveLinks(linked).map((l) => [l.name, l.type]), [
    ["bcast0", "bcast"],
    ["tty", "serial"],
    ["mcast2", "mcast"],
  ]);
  assert.throws(
    () =>
      parseNodeConfig(
        JSON.stringify({ ...bare, links: [{ type: "serial", device: "/dev/ttyS0", baud: 1200 }] }),
        "n1.json",
      ),
    /links\[0\]\.baud: expected one of 9600/,
  );
  assert.throws(
    () =>
      parseNodeConfig(
        JSON.stringify({
          ...bare,
          links: [{ type: "mcast", interface: "eth0", group: "10.0.0.1" }],
        }),
        "n1.json",
      ),
    /links\[0\]\.group: expected an IPv4 multicast group/,
  );
});

Deno.test("config: `cib` names a CIB file (relative to the config) used as the initial CIB", () => {
  const dir = Deno.makeTempDirSync({ prefix: "vigil-cfg-" });
  try {
    const doc = {
      config: {
        nodes: [{ name: "n1" }, { name: "n2" }],
        resources: [{ id: "db", agent: "Dummy" }],
        constraints: { locations: [{ id: "db-pref", resource: "db", node: "n1", score: 10 }] },
      },
    };
    Deno.writeTextFileSync(`${dir}/cib.json`, JSON.stringify(doc));
    const cfg = parse({ cib: "cib.json" });
    const cib = initialCib(cfg, `${dir}/n1.json`);
    assert.deepEqual(cib.config.resources.map((r) => r.id), ["db"]);
    assert.equal(cib.config.constraints.locations[0].score, 10);
    // The CIB's nodes must be the configured ones.
    Deno.writeTextFileSync(
      `${dir}/other.json`,
      JSON.stringify({ config: { ...doc.config, nodes: [{ name: "n1" }, { name: "n7" }] } }),
    );
    assert.throws(
      () => initialCib(parse({ cib: "other.json" }), `${dir}/n1.json`),
      /n1\.json: cib: .*other\.json names nodes n1, n7, but nodes\[\] are n1, n2/,
    );
    assert.throws(
      () => initialCib(parse({ cib: "missing.json" }), `${dir}/n1.json`),
      /n1\.json: cib: .*missing\.json: cannot read/,
    );
    assert.throws(
      () => parse({ cib: "cib.json", resources: [{ id: "web", agent: "Dummy" }] }),
      /cib: give either cib \(a CIB file\) or resources\/options, not both/,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("node config: fencing turns stonith on in the initial CIB unless turned off", () => {
  assert.equal(initialCib(parse({})).config.options.stonithEnabled, false);
  const fencing = { driver: "test-fence", params: { stateFile: "/tmp/x.json" } };
  const cfg = parse({ fencing });
  assert.equal(cfg.fencing?.driver, "test-fence");
  assert.equal(initialCib(cfg).config.options.stonithEnabled, true);
  const off = parse({ fencing, options: { stonithEnabled: false } });
  assert.equal(initialCib(off).config.options.stonithEnabled, false);
  assert.throws(() => parse({ fencing: { params: {} } }), /fencing\.driver/);
});
