import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  HARESOURCES_PREFERENCE_SCORE,
  importHaresources,
  importHeartbeatDir,
  NO_FAILBACK_STICKINESS,
} from "../../core/cib/haresources_import.ts";
import { CibImportError } from "../../core/cib/import_report.ts";
import { exportPacemakerXml } from "../../core/cib/pacemaker_export.ts";
import { importPacemakerXml } from "../../core/cib/pacemaker_import.ts";
import { INFINITY } from "../../core/score.ts";
import { SHARED_DIR } from "../shared_dir.ts";
import { CRM_VERIFY, crmVerify } from "./corpus.ts";

const LAB_DIR = join(SHARED_DIR, "heartbeat", "lab") + "/";
const haveLab = existsSync(LAB_DIR);
const CLUSTER = { nodes: ["node1", "node2"], autoFailback: "on" as const };

Deno.test({
  name: "the lab's haresources and ha.cf import without loss, on every node's copy",
  ignore: !haveLab,
  fn() {
    for (const node of ["n1", "n2"]) {
      const dir = join(LAB_DIR, node);
      const { cib, unsupported } = importHeartbeatDir(dir);
      assert.deepEqual(cib.config.nodes.map((n) => n.name), ["node1", "node2", "node3"]);
      assert.equal(cib.config.options.stickiness, 0, "auto_failback on");
      // Every resource word of every line is a primitive, and every line's node is preferred.
      const text = readFileSync(join(dir, "haresources"), "utf8");
      const lines = text.split("\n").map((l) => l.replace(/#.*/, "").trim()).filter(Boolean);
      assert.equal(cib.config.resources.length, lines.length);
      for (const [i, line] of lines.entries()) {
        const [preferred, ...words] = line.split(/\s+/);
        const r = cib.config.resources[i];
        const members = r.kind === "group" ? r.members : [r];
        assert.equal(members.length, words.length, line);
        const location = cib.config.constraints.locations.find((l) => l.resource === r.id);
        assert.equal(location?.node, preferred);
        assert.equal(location?.score, HARESOURCES_PREFERENCE_SCORE);
      }
      assert.deepEqual(cib.config.resources[0], {
        kind: "primitive",
        id: "IPaddr_198_18_70_100",
        agent: "ocf:heartbeat:IPaddr",
        params: { ip: "198.18.70.100", cidr_netmask: "24", nic: "hb-eth0" },
        meta: { priority: 0, isManaged: true, multipleActive: "stop_start" },
        operations: [],
      });
      assert.deepEqual(unsupported.map((u) => u.name), ["quorum"]);
    }
  },
});

Deno.test("a line of several resources is a group that prefers its node", () => {
  const { cib, unsupported } = importHaresources(
    "node1 IPaddr::10.0.0.1/24/eth0 Filesystem::/dev/sdb1::/ha::ext3 httpd\n",
    CLUSTER,
    "haresources",
  );
  assert.equal(cib.config.resources.length, 1);
  const group = cib.config.resources[0];
  assert.ok(group.kind === "group");
  assert.equal(group.id, "group_1");
  assert.deepEqual(
    group.members.map((m) => [m.id, m.agent, m.params]),
    [
      ["IPaddr_10_0_0_1", "ocf:heartbeat:IPaddr", {
        ip: "10.0.0.1",
        cidr_netmask: "24",
        nic: "eth0",
      }],
      ["Filesystem__dev_sdb1", "ocf:heartbeat:Filesystem", {
        device: "/dev/sdb1",
        directory: "/ha",
        fstype: "ext3",
      }],
      ["httpd", "heartbeat:httpd", {}],
    ],
  );
  assert.deepEqual(cib.config.constraints.locations, [{
    id: "location_group_1",
    resource: "group_1",
    node: "node1",
    score: 100,
    rules: [],
    resourceDiscovery: "always",
  }]);
  assert.deepEqual(cib.config.nodes.map((n) => n.name), ["node1", "node2"]);
  assert.equal(unsupported.length, 1, "only the quorum note");
});

Deno.test("auto_failback maps to stickiness: on 0, off INFINITY, legacy as on (reported)", () => {
  const line = "node2 10.0.0.9\n";
  const on = importHaresources(line, CLUSTER, "h");
  assert.equal(on.cib.config.options.stickiness, 0);
  const off = importHaresources(line, { ...CLUSTER, autoFailback: "off" }, "h");
  assert.equal(off.cib.config.options.stickiness, NO_FAILBACK_STICKINESS);
  assert.equal(NO_FAILBACK_STICKINESS, INFINITY);
  const legacy = importHaresources(line, { ...CLUSTER, autoFailback: "legacy" }, "h");
  assert.equal(legacy.cib.config.options.stickiness, 0);
  assert.ok(legacy.unsupported.some((u) => u.name === "auto_failback" && u.kind === "value"));
  // A word that looks like an address is IPaddr, as in Heartbeat.
  const r = on.cib.config.resources[0];
  assert.ok(r.kind === "primitive");
  assert.equal(r.agent, "ocf:heartbeat:IPaddr");
  assert.deepEqual(r.params, { ip: "10.0.0.9" });
});

Deno.test("comments, continuations, other scripts' arguments and id clashes", () => {
  const text = [
    "# the web service",
    "node1 IPaddr2::10.0.0.5/24/eth1/10.0.0.255 \\",
    "      drbddisk::r0 \\",
    "      Filesystem::/dev/drbd0::/srv::ext4::noatime   # data",
    "",
    "NODE2 MailTo::root@example.org::web apache",
    "node1 IPaddr::10.0.0.5",
  ].join("\n");
  const { cib, unsupported } = importHaresources(text, CLUSTER, "haresources");
  const [web, mail, ip] = cib.config.resources;
  assert.ok(web.kind === "group" && mail.kind === "group" && ip.kind === "primitive");
  assert.deepEqual(web.members.map((m) => [m.id, m.agent, m.params]), [
    ["IPaddr2_10_0_0_5", "ocf:heartbeat:IPaddr2", {
      ip: "10.0.0.5",
      cidr_netmask: "24",
      nic: "eth1",
      broadcast: "10.0.0.255",
    }],
    ["drbddisk_r0", "heartbeat:drbddisk", { args: "r0" }],
    ["Filesystem__dev_drbd0", "ocf:heartbeat:Filesystem", {
      device: "/dev/drbd0",
      directory: "/srv",
      fstype: "ext4",
      options: "noatime",
    }],
  ]);
  assert.equal(mail.id, "group_2");
  assert.deepEqual(mail.members[0].params, { args: "root@example.org::web" });
  assert.equal(ip.id, "IPaddr_10_0_0_5", "a different type, so no clash");
  const prefs = cib.config.constraints.locations.map((l) => [l.resource, l.node]);
  assert.deepEqual(prefs, [["group_1", "node1"], ["group_2", "node2"], [
    "IPaddr_10_0_0_5",
    "node1",
  ]]);
  assert.equal(unsupported.length, 1, "NODE2 is node2 in lower case");
  const clash = importHaresources("node1 a::1\nnode2 a::1.x\n", CLUSTER, "h");
  assert.deepEqual(clash.cib.config.resources.map((r) => r.id), ["a_1", "a_1_x"]);
  const clash2 = importHaresources(
    "node1 IPaddr::10.0.0.1/24\nnode2 IPaddr::10.0.0.1/16\n",
    CLUSTER,
    "h",
  );
  assert.deepEqual(clash2.cib.config.resources.map((r) => r.id), [
    "IPaddr_10_0_0_1",
    "IPaddr_10_0_0_1_2",
  ]);
});

Deno.test("a node outside ha.cf is reported; unreadable lines throw naming the line", () => {
  const { unsupported } = importHaresources("node9 httpd\n", CLUSTER, "hr");
  assert.ok(unsupported.some((u) => u.kind === "reference" && u.line === 1));
  const bad: [string, RegExp][] = [
    ["\n\nnode1\n", /^hr:3: "node1" names a node but no resources/],
    ["node1 httpd\nnode2 httpd\n", /^hr:2: resource "httpd" is already in the group of line 1/],
    ["node1 ../evil\n", /^hr:1: .*not a plain script name/],
  ];
  for (const [text, message] of bad) {
    assert.throws(() => importHaresources(text, CLUSTER, "hr"), (e: unknown) => {
      assert.ok(e instanceof CibImportError);
      assert.match(e.message, message);
      return true;
    });
  }
});

Deno.test("importHeartbeatDir reads both files and notes when crm is on", () => {
  const dir = mkdtempSync(join(tmpdir(), "vgl-hb-"));
  try {
    writeFileSync(
      join(dir, "ha.cf"),
      "keepalive 1\ndeadtime 10\nbcast eth0\nauto_failback off\nnode alpha beta\ncrm on\n",
    );
    writeFileSync(
      join(dir, "haresources"),
      "alpha IPaddr::192.0.2.7/24 Filesystem::/dev/sdc::/d::xfs\n",
    );
    const { cib, unsupported } = importHeartbeatDir(dir);
    assert.equal(cib.config.options.stickiness, INFINITY);
    assert.deepEqual(cib.config.nodes.map((n) => n.name), ["alpha", "beta"]);
    assert.equal(unsupported[0].name, "crm");
    assert.equal(unsupported[0].line, 6);
    assert.throws(() => importHeartbeatDir(join(dir, "missing")), /ha\.cf/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test({
  name: "a haresources CIB exports to Pacemaker XML that crm_verify accepts and that reimports",
  ignore: CRM_VERIFY === undefined,
  fn() {
    const { cib } = importHaresources(
      "node1 IPaddr::10.0.0.1/24/eth0 Filesystem::/dev/sdb1::/ha::ext3 drbddisk::r0 httpd\n",
      CLUSTER,
      "haresources",
    );
    const xml = exportPacemakerXml(cib);
    const back = importPacemakerXml(xml, "exported");
    assert.deepEqual(back.cib.config, cib.config);
    assert.doesNotMatch(crmVerify(xml).output, /Relax-NG|validity error/);
  },
});
