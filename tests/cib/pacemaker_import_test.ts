import assert from "node:assert/strict";
import {
  importPacemakerXml,
  OP_STATUS_NAMES,
  PACEMAKER_DEFAULT_OPTIONS,
  parsePacemakerBoolean,
  parsePacemakerScore,
} from "../../core/cib/pacemaker_import.ts";
import {
  CibImportError,
  formatUnsupportedItem,
  summarizeUnsupported,
  type UnsupportedItem,
} from "../../core/cib/import_report.ts";
import { resourceIds } from "../../core/cib/schema/document.ts";
import type { Clone, Group, Primitive } from "../../core/cib/schema/resources.ts";
import { INFINITY } from "../../core/score.ts";
import { corpusFiles, FEATURES, haveCorpus, readCorpus, readFeatures } from "./corpus.ts";

function count(xml: string, tag: string): number {
  return xml.match(new RegExp(`<${tag}[\\s/>]`, "g"))?.length ?? 0;
}

function findItem(items: readonly UnsupportedItem[], path: string): UnsupportedItem {
  const item = items.find((i) => i.path === path);
  assert.ok(item, `no unsupported item at ${path}; have:\n${items.map((i) => i.path).join("\n")}`);
  return item;
}

Deno.test({
  name: "every file of Pacemaker's scheduler corpus imports, keeping every resource and constraint",
  ignore: !haveCorpus,
  fn() {
    const files = corpusFiles();
    assert.ok(files.length >= 100, `corpus has ${files.length} files`);
    const started = performance.now();
    for (const file of files) {
      const xml = readCorpus(file);
      const { cib, unsupported } = importPacemakerXml(xml, file);
      const ids = resourceIds(cib.config.resources);
      const kinds = { primitive: 0, group: 0, clone: 0 };
      const visit = (r: Primitive | Group | Clone) => {
        kinds[r.kind]++;
        if (r.kind === "group") r.members.forEach(visit);
        if (r.kind === "clone") visit(r.resource);
      };
      cib.config.resources.forEach(visit);
      assert.equal(kinds.primitive, count(xml, "primitive"), `${file}: primitives`);
      assert.equal(kinds.group, count(xml, "group"), `${file}: groups`);
      assert.equal(kinds.clone, count(xml, "clone") + count(xml, "master"), `${file}: clones`);
      assert.equal(ids.length, new Set(ids).size, `${file}: unique ids`);
      // Constraints: kept, or left out with a reason that names them.
      const c = cib.config.constraints;
      const dropped = (tag: string) =>
        unsupported.filter((u) => u.name === tag && u.kind === "reference").length;
      assert.equal(c.locations.length + dropped("rsc_location"), count(xml, "rsc_location"), file);
      assert.equal(
        c.colocations.length + dropped("rsc_colocation"),
        count(xml, "rsc_colocation"),
        file,
      );
      assert.equal(c.orders.length + dropped("rsc_order"), count(xml, "rsc_order"), file);
      assert.equal(cib.config.nodes.length, count(xml, "node"), `${file}: nodes`);
      assert.equal(Object.keys(cib.status.nodes).length, count(xml, "node_state"), file);
      const ops = Object.values(cib.status.nodes).flatMap((n) =>
        Object.values(n.resources).flatMap((r) => r.operations)
      );
      assert.equal(ops.length, count(xml, "lrm_rsc_op"), `${file}: operation history`);
      for (const item of unsupported) {
        assert.ok(item.path.startsWith("/cib"), `${file}: ${item.path}`);
        assert.ok(item.line === undefined || item.line >= 1, `${file}: ${item.path}`);
      }
    }
    const ms = performance.now() - started;
    assert.ok(ms < 10_000, `corpus import took ${ms.toFixed(0)} ms`);
  },
});

Deno.test({
  name: "corpus 1360.xml: DC by uname, quorum, clone meta and rule locations",
  ignore: !haveCorpus,
  fn() {
    const { cib } = importPacemakerXml(readCorpus("1360.xml"), "1360.xml");
    assert.deepEqual(cib.version, { adminEpoch: 0, epoch: 4, numUpdates: 91 });
    assert.equal(cib.status.dc, "ssgtest1b");
    assert.equal(cib.status.haveQuorum, true);
    assert.equal(cib.config.options.stonithEnabled, false);
    assert.equal(cib.config.options.stickiness, 0, "Pacemaker's default stickiness");
    const dolly = cib.config.resources.find((r) => r.id === "dolly");
    assert.ok(dolly?.kind === "clone");
    assert.equal(dolly.meta.cloneMax, 1);
    assert.equal(dolly.meta.stickiness, 0);
    assert.equal(dolly.resource.id, "dollies");
    const where = cib.config.constraints.locations.find((l) => l.id === "where_is_dolly");
    assert.deepEqual(where?.rules[0].expressions[0], {
      id: "expression.id21994",
      attribute: "#uname",
      operation: "eq",
      value: "ssgtest1b",
      valueSource: "literal",
    });
    assert.equal(where?.rules[0].score, INFINITY);
    const history = cib.status.nodes.ssgtest1b.resources["dollies:0"];
    assert.equal(history.agent, "ocf:gn1:clone_server");
    assert.deepEqual(history.operations[0], {
      id: "dolly-dollies-0_monitor_0",
      operation: "monitor",
      intervalMs: 0,
      callId: 3,
      rc: 1,
      expectedRc: 7,
      status: "error",
    });
  },
});

Deno.test({
  name: "corpus: an invalid order kind is Mandatory and reported; INFINITY fail counts",
  ignore: !haveCorpus,
  fn() {
    const wrong = importPacemakerXml(readCorpus("order-wrong-kind.xml"), "order-wrong-kind.xml");
    assert.equal(wrong.cib.config.constraints.orders[0].kind, "Mandatory");
    const item = findItem(
      wrong.unsupported,
      "/cib/configuration/constraints/rsc_order[@id='order1']/@kind",
    );
    assert.equal(item.kind, "value");
    assert.match(item.what, /"foo"/);

    const stop = importPacemakerXml(
      readCorpus("stop-failure-no-fencing.xml"),
      "stop-failure-no-fencing.xml",
    );
    const n3 = stop.cib.status.nodes["pcmk-3"];
    assert.deepEqual(n3.failures.clvm, { count: INFINITY, lastFailure: 1371014555 });
    assert.equal(n3.shutdown, 1371014551);
    assert.equal(n3.attributes.probe_complete, "true");
    assert.equal(n3.attributes["fail-count-clvm"], undefined, "fail counts are not attributes");
    assert.equal(n3.online, false);
    assert.equal(n3.inMembership, undefined, "absent in_ccm stays absent (Pacemaker: never seen)");
  },
});

Deno.test("the feature fixture maps options with Pacemaker's set precedence", () => {
  const { cib, unsupported } = importPacemakerXml(readFeatures(), FEATURES);
  assert.deepEqual(cib.version, { adminEpoch: 2, epoch: 17, numUpdates: 5 });
  assert.deepEqual(cib.config.options, {
    ...PACEMAKER_DEFAULT_OPTIONS,
    noQuorumPolicy: "freeze", // cib-bootstrap-options first, though later-set scores higher
    symmetricCluster: false, // only in later-set
    stonithAction: "off", // poweroff
    startFailureIsFatal: false,
    stickiness: 100, // rsc_defaults
    migrationThreshold: 5,
    maintenanceMode: false, // #default
    stopAllResources: false, // in a conditional set, not applied
  });
  const shadowed = findItem(
    unsupported,
    "/cib/configuration/crm_config/cluster_property_set[@id='later-set']/nvpair[@name='no-quorum-policy']",
  );
  assert.equal(shadowed.line, 5);
  assert.match(shadowed.what, /shadowed.*line 9/);
  const conditional = findItem(
    unsupported,
    "/cib/configuration/crm_config/cluster_property_set[@id='cond']",
  );
  assert.equal(conditional.kind, "element");
  assert.equal(conditional.line, 15);
  const dcVersion = findItem(
    unsupported,
    "/cib/configuration/crm_config/cluster_property_set[@id='cib-bootstrap-options']/nvpair[@name='dc-version']",
  );
  assert.equal(dcVersion.kind, "nvpair");
  assert.equal(dcVersion.line, 13);
});

Deno.test("the feature fixture maps nodes, and reports remote nodes and utilization", () => {
  const { cib, unsupported } = importPacemakerXml(readFeatures(), FEATURES);
  assert.deepEqual(cib.config.nodes, [
    {
      name: "alpha",
      id: "101",
      priority: 0,
      votes: 1,
      standby: true,
      maintenance: false,
      attributes: { rack: "r1" },
    },
    {
      name: "beta",
      id: "102",
      priority: 0,
      votes: 1,
      standby: false,
      maintenance: false,
      attributes: {},
    },
  ]);
  findItem(unsupported, "/cib/configuration/nodes/node[@id='103']");
  findItem(unsupported, "/cib/configuration/nodes/node[@id='101']/utilization");
});

Deno.test("the feature fixture maps primitives: agent, params, meta, operations", () => {
  const { cib, unsupported } = importPacemakerXml(readFeatures(), FEATURES);
  const byId = new Map(cib.config.resources.map((r) => [r.id, r]));
  assert.deepEqual(byId.get("vip"), {
    kind: "primitive",
    id: "vip",
    agent: "ocf:heartbeat:IPaddr2",
    params: { ip: "192.0.2.10", nic: "eth0" },
    meta: {
      targetRole: "Unpromoted", // Slave
      stickiness: INFINITY,
      migrationThreshold: 3,
      failureTimeoutMs: 120_000,
      priority: 7,
      isManaged: true,
      multipleActive: "block",
      requires: "quorum",
    },
    operations: [
      {
        id: "vip-mon",
        name: "monitor",
        intervalMs: 10_000,
        timeoutMs: 20_000,
        onFail: "restart",
        role: "Started",
        enabled: true,
        depth: 10,
      },
      // op_defaults timeout fills in where the op has none.
      {
        id: "vip-start",
        name: "start",
        intervalMs: 0,
        timeoutMs: 45_000,
        enabled: false,
        depth: 0,
      },
      { id: "vip-stop", name: "stop", intervalMs: 0, timeoutMs: 30_000, enabled: true, depth: 0 },
    ],
  });
  const fence = byId.get("fence1");
  assert.equal(fence?.kind === "primitive" && fence.agent, "stonith:fence_xvm");
  const svc = byId.get("svc");
  assert.equal(svc?.kind === "primitive" && svc.agent, "lsb:httpd");
  // rsc_defaults meta that Vigil's options lack reach every top-level resource.
  assert.equal(svc?.meta.targetRole, "Started");
  assert.equal(svc?.meta.multipleActive, "stop_only");
  for (
    const path of [
      "/cib/configuration/resources/primitive[@id='vip']/@description",
      "/cib/configuration/resources/primitive[@id='vip']/meta_attributes/nvpair[@name='allow-migrate']",
      "/cib/configuration/resources/primitive[@id='vip']/operations/op[@id='vip-stop']/@on-fail",
      "/cib/configuration/resources/primitive[@id='vip']/utilization",
      "/cib/configuration/op_defaults/meta_attributes/nvpair[@name='timeout']",
      "/cib/configuration/op_defaults/meta_attributes/nvpair[@name='record-pending']",
      "/cib/configuration/rsc_defaults/meta_attributes/nvpair[@name='critical']",
    ]
  ) findItem(unsupported, path);
  assert.equal(
    findItem(
      unsupported,
      "/cib/configuration/resources/primitive[@id='vip']/meta_attributes/nvpair[@name='allow-migrate']",
    ).line,
    49,
  );
});

Deno.test("the feature fixture maps groups, clones and masters with inheritance resolved", () => {
  const { cib, unsupported } = importPacemakerXml(readFeatures(), FEATURES);
  const byId = new Map(cib.config.resources.map((r) => [r.id, r]));
  const web = byId.get("web");
  assert.ok(web?.kind === "group");
  assert.deepEqual(web.meta, {
    targetRole: "Started",
    priority: 3,
    isManaged: false,
    multipleActive: "stop_only",
  });
  const [fs, server] = web.members;
  assert.deepEqual(fs.meta, { priority: 5, isManaged: false, multipleActive: "stop_only" });
  assert.deepEqual(server.meta, { priority: 3, isManaged: false, multipleActive: "stop_only" });
  assert.deepEqual(fs.params, { device: "/dev/sdb1", shared: "no" }, "own params win");
  assert.deepEqual(server.params, { shared: "yes" }, "the group's params are inherited");
  assert.equal(
    findItem(
      unsupported,
      "/cib/configuration/resources/group[@id='web']/instance_attributes/nvpair[@name='shared']",
    )
      .kind,
    "lossy",
  );

  const ping = byId.get("ping-clone");
  assert.ok(ping?.kind === "clone");
  assert.equal(ping.meta.cloneMax, 2);
  assert.equal(ping.meta.cloneNodeMax, 1);
  assert.equal(ping.meta.globallyUnique, true);
  assert.equal(ping.meta.interleave, true);
  assert.equal(ping.meta.ordered, true);
  assert.equal(ping.meta.notify, true);
  assert.equal(ping.meta.promotable, false);

  const db = byId.get("db-ms");
  assert.ok(db?.kind === "clone");
  assert.equal(db.meta.promotable, true, "master is a promotable clone");
  assert.equal(db.meta.promotedMax, 2);
  assert.equal(db.meta.promotedNodeMax, 1);
  assert.equal(db.resource.kind === "primitive" && db.resource.operations[0].role, "Promoted");
  assert.equal(db.resource.kind === "primitive" && db.resource.operations[0].intervalMs, 15_000);

  assert.equal(byId.has("registry"), false);
  assert.equal(byId.has("from-tmpl"), false);
  assert.equal(
    findItem(unsupported, "/cib/configuration/resources/bundle[@id='registry']").line,
    107,
  );
  findItem(unsupported, "/cib/configuration/resources/template[@id='tmpl']");
  findItem(unsupported, "/cib/configuration/resources/primitive[@id='from-tmpl']");
});

Deno.test("the feature fixture maps constraints and reports what it leaves out", () => {
  const { cib, unsupported } = importPacemakerXml(readFeatures(), FEATURES);
  const { locations, colocations, orders } = cib.config.constraints;
  assert.deepEqual(locations.map((l) => l.id), ["loc-node", "loc-rule", "loc-attr"]);
  assert.deepEqual(locations[0], {
    id: "loc-node",
    resource: "vip",
    role: "Started",
    node: "alpha",
    score: 200,
    rules: [],
    resourceDiscovery: "exclusive",
  });
  const rule = locations[1].rules[0];
  assert.equal(rule.score, -INFINITY);
  assert.equal(rule.booleanOp, "or");
  assert.deepEqual(rule.expressions[1], {
    id: "loc-e2",
    attribute: "weight",
    operation: "gt",
    value: "vip-weight",
    type: "integer",
    valueSource: "param",
  });
  assert.equal(rule.rules[0].expressions[0].operation, "defined");
  assert.equal(locations[2].rules[0].scoreAttribute, "pingd");
  assert.deepEqual(colocations, [{
    id: "col",
    resource: "web",
    withResource: "db-ms",
    score: INFINITY,
    withRole: "Promoted",
    nodeAttribute: "rack",
  }]);
  assert.deepEqual(orders, [
    { id: "ord-old", first: "db-ms", then: "web", firstAction: "promote", kind: "Optional" },
    {
      id: "ord-new",
      first: "vip",
      then: "web",
      firstAction: "start",
      kind: "Serialize",
      symmetrical: false,
    },
    { id: "ord-bad", first: "vip", then: "svc", firstAction: "start", kind: "Mandatory" },
  ]);
  const base = "/cib/configuration/constraints/";
  assert.equal(
    findItem(
      unsupported,
      base +
        "rsc_location[@id='loc-date']/rule[@id='loc-date-r']/date_expression[@id='loc-date-e']",
    )
      .kind,
    "element",
  );
  assert.equal(findItem(unsupported, base + "rsc_location[@id='loc-bundle']").kind, "reference");
  assert.equal(findItem(unsupported, base + "rsc_colocation[@id='col-missing']").kind, "reference");
  assert.equal(findItem(unsupported, base + "rsc_order[@id='ord-set']").name, "resource_set");
  findItem(unsupported, base + "rsc_ticket[@id='tkt']");
  findItem(unsupported, "/cib/configuration/tags");
  findItem(unsupported, "/cib/configuration/fencing-topology");
  findItem(unsupported, "/cib/configuration/alerts");
});

Deno.test("the feature fixture maps the status section", () => {
  const { cib, unsupported } = importPacemakerXml(readFeatures(), FEATURES);
  const { status } = cib;
  assert.equal(status.haveQuorum, true, 'have-quorum="1"');
  assert.equal(status.dc, "alpha", "dc-uuid 101 is alpha");
  assert.equal(status.executionDate, 1_700_000_000);
  const alpha = status.nodes.alpha;
  assert.equal(alpha.inMembership, true, "an in_ccm timestamp means member");
  assert.equal(alpha.online, true, "a crmd timestamp means online");
  assert.equal(alpha.shutdown, 1_699_999_900, "from the transient attribute");
  assert.deepEqual(alpha.attributes, { shutdown: "1699999900", pingd: "100" });
  assert.deepEqual(alpha.failures, {
    vip: { count: 5, lastFailure: 1_699_999_500 },
    "db:0": { count: INFINITY },
  });
  assert.deepEqual(alpha.resources.vip.operations, [
    {
      id: "vip_last_0",
      operation: "start",
      intervalMs: 0,
      callId: 12,
      rc: 0,
      expectedRc: 0,
      status: "done",
      lastRcChange: 1_699_999_000,
      execMs: 120,
      queueMs: 3,
    },
    {
      id: "vip_monitor_10000",
      operation: "monitor",
      intervalMs: 10_000,
      callId: 13,
      rc: 7,
      expectedRc: 0,
      status: "timeout",
    },
  ]);
  const promote = alpha.resources["db:0"].operations[0];
  assert.equal(promote.status, "pending");
  assert.equal(promote.expectedRc, 8, "from transition-magic");
  assert.equal(promote.callId, -1);
  const beta = status.nodes.beta;
  assert.equal(beta.inMembership, false);
  assert.equal(beta.online, false);
  assert.equal(beta.join, "down");
  assert.equal(beta.expected, "down");
  assert.equal(status.nodes["104"].join, "pending", "a node_state without uname is keyed by id");
  const digest = findItem(
    unsupported,
    "/cib/status/node_state/lrm/lrm_resources/lrm_resource/lrm_rsc_op/@transition-key",
  );
  assert.equal(digest.count, 3, "status attributes are reported once per place, counted");
  assert.equal(digest.line, 193);
  assert.equal(
    findItem(
      unsupported,
      "/cib/status/node_state[@id='101']/transient_attributes/instance_attributes/nvpair[@name='fail-count-vip#start_0']",
    ).kind,
    "lossy",
  );
});

Deno.test("unsupported items come in document order and summarize by kind and name", () => {
  const { unsupported } = importPacemakerXml(readFeatures(), FEATURES);
  const lines = unsupported.map((u) => u.line ?? 0);
  assert.deepEqual(lines, [...lines].sort((a, b) => a - b));
  const summary = summarizeUnsupported(unsupported);
  assert.equal(summary["element tags"], 1);
  assert.equal(summary["attribute transition-key"], 3);
  assert.equal(
    formatUnsupportedItem(unsupported[0], "f.xml"),
    "f.xml:1: /cib/@crm_feature_set: feature set not kept",
  );
  const digest = unsupported.find((u) => u.name === "transition-key");
  assert.ok(digest);
  assert.match(
    formatUnsupportedItem(digest, "f.xml"),
    /^f\.xml:193: .*@transition-key: .* \(x3\)$/,
  );
});

Deno.test("a CIB that says nothing gets Pacemaker's defaults", () => {
  const { cib, unsupported } = importPacemakerXml(
    "<cib><configuration><crm_config/><nodes/><resources/><constraints/></configuration></cib>",
    "empty.xml",
  );
  assert.deepEqual(cib.config.options, PACEMAKER_DEFAULT_OPTIONS);
  assert.equal(cib.config.options.stonithEnabled, true);
  assert.equal(cib.config.options.stickiness, 0);
  assert.equal(cib.config.options.migrationThreshold, INFINITY);
  assert.equal(cib.status.haveQuorum, false);
  assert.deepEqual(cib.status.nodes, {});
  assert.deepEqual(cib.version, { adminEpoch: 0, epoch: 0, numUpdates: 0 });
  assert.deepEqual(unsupported, []);
});

Deno.test("malformed XML throws an error naming the file and line", () => {
  const bad = '<cib epoch="1">\n  <configuration>\n    <nodes>\n  </configuration>\n</cib>';
  assert.throws(
    () => importPacemakerXml(bad, "broken.xml"),
    (e: unknown) => {
      assert.ok(e instanceof CibImportError);
      assert.match(e.message, /^broken\.xml:4:\d+: not well-formed XML/);
      assert.equal(e.line, 4);
      assert.equal(e.source, "broken.xml");
      return true;
    },
  );
  assert.throws(() => importPacemakerXml("", "empty.xml"), CibImportError);
  assert.throws(() => importPacemakerXml("<cib a='&bogus;'/>", "ent.xml"), /ent\.xml:1: .*&bogus;/);
  assert.throws(() => importPacemakerXml("<configuration/>", "root.xml"), /not <cib>/);
});

Deno.test("content the schema rejects throws naming file, line, XML location and field", () => {
  const xml = [
    "<cib>",
    "  <configuration>",
    "    <resources>",
    '      <primitive id="r1" class="ocf" provider="heartbeat" type="Dummy">',
    "        <operations>",
    '          <op id="r1-mon" name="monitor" interval="often"/>',
    "        </operations>",
    "      </primitive>",
    "    </resources>",
    "  </configuration>",
    "</cib>",
  ].join("\n");
  assert.throws(
    () => importPacemakerXml(xml, "bad-op.xml"),
    (e: unknown) => {
      assert.ok(e instanceof CibImportError);
      assert.equal(e.line, 6);
      assert.match(
        e.message,
        /^bad-op\.xml:6: \/cib\/configuration\/resources\/primitive\[@id='r1'\]\/operations\/op\[@id='r1-mon'\]: config\.resources\[0\]\.operations\[0\]\.intervalMs: not a duration/,
      );
      return true;
    },
  );
  const badId = '<cib><configuration><resources><primitive id="1x" class="lsb" type="a"/>' +
    "</resources></configuration></cib>";
  assert.throws(
    () => importPacemakerXml(badId, "id.xml"),
    /id\.xml:1: .*config\.resources\[0\]\.id/,
  );
  const noClass = '<cib>\n<configuration><resources>\n<primitive id="x" type="a"/>' +
    "</resources></configuration></cib>";
  assert.throws(
    () => importPacemakerXml(noClass, "nc.xml"),
    /: nc\.xml:3: .*needs a class and a type/,
  );
  const badStatus = '<cib><status><node_state uname="n1"><lrm><lrm_resources>' +
    '<lrm_resource id="r" class="lsb" type="x"><lrm_rsc_op id="o" operation="start" ' +
    'call-id="x" rc-code="0" op-status="0" interval="0"/></lrm_resource></lrm_resources></lrm>' +
    "</node_state></status></cib>";
  assert.throws(
    () => importPacemakerXml(badStatus, "st.xml"),
    /st\.xml:1: .*lrm_rsc_op\[@id='o'\]: status\.nodes\.n1\.resources\.r\.operations\[0\]\.callId/,
  );
});

Deno.test("Pacemaker scores, booleans and op-status numbers are read as Pacemaker reads them", () => {
  assert.equal(parsePacemakerScore("INFINITY"), INFINITY);
  assert.equal(parsePacemakerScore("+INFINITY"), INFINITY);
  assert.equal(parsePacemakerScore("-INFINITY"), -INFINITY);
  assert.equal(parsePacemakerScore("2.0"), 2, "strtoll stops at the dot");
  assert.equal(parsePacemakerScore("5000000"), INFINITY, "clamped");
  assert.equal(parsePacemakerScore("-12"), -12);
  assert.equal(parsePacemakerScore("abc"), undefined);
  for (const t of ["true", "on", "YES", "y", "1"]) assert.equal(parsePacemakerBoolean(t), true);
  for (const f of ["false", "Off", "no", "n", "0"]) assert.equal(parsePacemakerBoolean(f), false);
  assert.equal(parsePacemakerBoolean("maybe"), undefined);
  assert.equal(OP_STATUS_NAMES["-1"], "pending");
  assert.equal(OP_STATUS_NAMES["9"], "invalid");
  assert.equal(Object.keys(OP_STATUS_NAMES).length, 11);
});

Deno.test("an invalid boolean meta value falls back as Pacemaker does and is reported", () => {
  const xml = '<cib><configuration><resources><primitive id="r" class="lsb" type="x">' +
    '<meta_attributes id="m"><nvpair id="m1" name="is-managed" value="perhaps"/>' +
    '<nvpair id="m2" name="target-role" value="Running"/></meta_attributes></primitive>' +
    "</resources></configuration></cib>";
  const { cib, unsupported } = importPacemakerXml(xml, "meta.xml");
  const r = cib.config.resources[0];
  assert.equal(r.meta.isManaged, false, "crm_is_true: anything else is false");
  assert.equal(r.meta.targetRole, undefined);
  assert.deepEqual(unsupported.map((u) => [u.kind, u.name]), [
    ["value", "is-managed"],
    ["value", "target-role"],
  ]);
});

Deno.test("old and crm_resource-made location shapes: rule roles and moves with a lifetime", () => {
  const xml = [
    "<cib><configuration><resources>",
    '<primitive id="r" class="lsb" type="x"/>',
    "</resources><constraints>",
    '<rsc_location id="by-role" rsc="r">',
    '  <rule id="ru" score="10" role="master">',
    '    <expression id="e" attribute="a" operation="defined"/>',
    '    <rule id="n" score="0" role="Slave"><expression id="e2" attribute="b" operation="defined"/></rule>',
    "  </rule>",
    "</rsc_location>",
    '<rsc_location id="cli-prefer-r" rsc="r" role="Started">',
    '  <rule id="cli-prefer-rule-r" score="INFINITY" boolean-op="and">',
    '    <expression id="cli-prefer-expr-r" attribute="#uname" operation="eq" value="n2" type="string"/>',
    '    <date_expression id="cli-prefer-lifetime-end-r" operation="lt" end="2026-11-22 10:00:00 +01:00"/>',
    "  </rule>",
    "</rsc_location>",
    "</constraints></configuration></cib>",
  ].join("\n");
  const { cib, unsupported } = importPacemakerXml(xml, "shapes.xml");
  const [byRole, move] = cib.config.constraints.locations;
  assert.equal(byRole.role, "Promoted", "a single rule's role is the location's");
  assert.equal(byRole.rules[0].rules[0].score, 0, "nested scores are kept");
  assert.deepEqual(move, {
    id: "cli-prefer-r",
    resource: "r",
    role: "Started",
    node: "n2",
    score: INFINITY,
    expiresAt: Date.UTC(2026, 10, 22, 9, 0, 0),
    rules: [],
    resourceDiscovery: "always",
  });
  assert.deepEqual(unsupported.map((u) => u.path), [
    "/cib/configuration/constraints/rsc_location[@id='by-role']/rule[@id='ru']/rule[@id='n']/@role",
  ]);
});

Deno.test("import: a role named like an Object property is reported, not taken", () => {
  const xml = `<cib admin_epoch="0" epoch="1" num_updates="0"><configuration><crm_config/>
<nodes><node id="n1" uname="n1"/></nodes>
<resources><primitive id="a" class="ocf" provider="heartbeat" type="Dummy"/>
<primitive id="b" class="ocf" provider="heartbeat" type="Dummy"/></resources>
<constraints><rsc_colocation id="c" rsc="a" with-rsc="b" score="INFINITY" rsc-role="constructor"/></constraints>
</configuration><status/></cib>`;
  const { cib, unsupported } = importPacemakerXml(xml, "roles.xml");
  assert.equal(cib.config.constraints.colocations[0].role, undefined);
  assert.ok(
    unsupported.some((u) => u.path.includes("rsc-role") || u.what.includes("constructor")),
    JSON.stringify(unsupported),
  );
});
