import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  HA_CF_DIRECTIVES,
  type HaCf,
  parseHaCf,
  parseHeartbeatTime,
  readHaCf,
} from "../../core/config/ha_cf.ts";
import {
  type HaCfImport,
  type HaCfImportOptions,
  importHaCf,
  loadHaCf,
} from "../../core/config/ha_cf_to_config.ts";
import { ConfigError, parseNodeConfig } from "../../core/config/node_config.ts";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "ha_cf");
const FILE = "/etc/ha.d/ha.cf";

/** Interface addresses of a fake machine. */
function machine(
  host: string,
  addresses: Record<string, string> = {},
): Pick<HaCfImportOptions, "hostname" | "interfaceAddress"> {
  return { hostname: () => host, interfaceAddress: (dev) => addresses[dev] };
}

function importText(text: string, opts: Partial<HaCfImportOptions> = {}): HaCfImport {
  return importHaCf(text, FILE, { ...machine("n1"), ...opts });
}

/** Assert that `text` fails with a ConfigError whose message has a line `FILE:line: ...` matching `what`. */
function assertError(text: string, line: number | undefined, what: RegExp): void {
  assert.throws(() => importText(text), (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    const prefix = line === undefined ? `${FILE}: ` : `${FILE}:${line}: `;
    const hit = e.message.split("\n").find((l) => l.startsWith(prefix) && what.test(l));
    assert.ok(hit, `no line "${prefix}..." matching ${what} in:\n${e.message}`);
    return true;
  });
}

function warningAt(result: { warnings: readonly string[] }, line: number, what: RegExp): string {
  const hit = result.warnings.find((w) => w.startsWith(`${FILE}:${line}: `) && what.test(w));
  assert.ok(hit, `no warning at line ${line} matching ${what} in:\n${result.warnings.join("\n")}`);
  return hit;
}

const BASE = "node n1 n2 n3\nbcast eth0\n";

Deno.test("ha.cf: both lab files parse and map (timings, one bcast link, stickiness 0)", () => {
  for (const [fixture, host] of [["lab-n1.ha.cf", "Node1"], ["lab-n2.ha.cf", "node2"]]) {
    const file = join(FIXTURES, fixture);
    const imported = loadHaCf(file, machine(host, { "hb-eth0": "198.18.70.1" }));
    const cfg = imported.config;
    assert.equal(cfg.node, host.toLowerCase());
    assert.deepEqual(cfg.nodes.map((n) => n.name), ["node1", "node2", "node3"]);
    assert.equal(cfg.nodes.find((n) => n.name === cfg.node)?.api, "127.0.0.1:7501");
    assert.deepEqual(
      [cfg.keepalive, cfg.deadtime, cfg.warntime, cfg.initdead],
      [1000, 6000, 3000, 10000],
    );
    assert.deepEqual(cfg.links, [
      { type: "bcast", name: "bcast:hb-eth0", interface: "hb-eth0", port: 694 },
    ]);
    assert.equal(cfg.options.stickiness, 0);
    assert.equal(cfg.authkeys, join(FIXTURES, "authkeys"));
    assert.equal(cfg.stateDir, "/var/lib/vigil");
    assert.equal(cfg.logFile, `/tmp/hb-lab/${fixture.slice(4, 6)}/ha-log`);
    assert.equal(cfg.quorum.twoNode, false);
    assert.equal(imported.haresources, true);
    assert.equal(imported.autoFailback, "on");
    // debugfile is read but has no effect: reported with its line.
    assert.equal(imported.warnings.length, 1);
    assert.match(imported.warnings[0], new RegExp(`^${file}:3: debugfile: ignored`));
    // Exactly what the JSON path produces for the equivalent JSON document.
    const json = {
      node: host.toLowerCase(),
      nodes: ["node1", "node2", "node3"].map((name) =>
        name === host.toLowerCase() ? { name, api: "127.0.0.1:7501" } : { name }
      ),
      authkeys: join(FIXTURES, "authkeys"),
      stateDir: "/var/lib/vigil",
      keepalive: "1",
      deadtime: "6",
      warntime: "3",
      initdead: "10",
      links: [{ type: "bcast", name: "bcast:hb-eth0", interface: "hb-eth0", port: 694 }],
      quorum: { twoNode: false },
      logFile: cfg.logFile,
      options: { stickiness: 0 },
    };
    assert.deepEqual(cfg, parseNodeConfig(JSON.stringify(json), "same.json"));
  }
});

Deno.test("ha.cf: ucast, mcast, serial, ping, crm and two nodes in one file, seen from each node", () => {
  const file = join(FIXTURES, "two-node-media.ha.cf");
  const alpha = loadHaCf(file, {
    ...machine("alpha.example", { eth0: "10.0.0.1", eth1: "10.0.1.1", eth2: "10.0.2.1" }),
    node: "ALPHA",
    authkeys: "/etc/vigil/authkeys",
    stateDir: "/srv/vigil",
    api: "127.0.0.1:7601",
  });
  const cfg = alpha.config;
  assert.equal(cfg.node, "alpha");
  assert.deepEqual(cfg.nodes.map((n) => [n.name, n.api]), [
    ["alpha", "127.0.0.1:7601"],
    ["beta", undefined],
  ]);
  assert.equal(cfg.authkeys, "/etc/vigil/authkeys");
  assert.equal(cfg.stateDir, "/srv/vigil");
  assert.deepEqual(
    [cfg.keepalive, cfg.deadtime, cfg.warntime, cfg.initdead],
    [500, 5000, 2500, 12000],
  );
  assert.deepEqual(cfg.links, [
    { type: "serial", name: "serial:/dev/ttyS0", device: "/dev/ttyS0", baud: 38400 },
    { type: "ucast", name: "ucast:eth1", bind: "10.0.1.1:695", peers: ["10.0.1.2:695"] },
    { type: "ucast", name: "ucast:eth2", bind: "10.0.2.1:695", peers: ["10.0.2.2:695"] },
    {
      type: "mcast",
      name: "mcast:eth0:239.0.0.42",
      interface: "eth0",
      group: "239.0.0.42",
      port: 694, // mcast carries its own port; udpport 695 is not for it
      ttl: 1,
      loop: false,
    },
  ]);
  assert.deepEqual(cfg.quorum, {
    twoNode: true,
    waitForAll: false,
    devices: [{ plugin: "ping", params: { hosts: ["10.0.0.254"], timeoutMs: 2000 } }],
  });
  // crm on: Vigil manages resources from the CIB; auto_failback is Heartbeat v1 only.
  assert.equal(alpha.haresources, false);
  assert.equal(alpha.autoFailback, "off");
  assert.equal(cfg.options.stickiness, undefined);
  assert.ok(alpha.warnings.some((w) => w.startsWith(`${file}:3: logfacility: ignored`)));
  assert.ok(alpha.warnings.some((w) => /^.*:15: auto_failback: ignored.*crm/.test(w)));
  assert.equal(cfg.logFile, undefined);

  const beta = loadHaCf(
    file,
    machine("beta", { eth0: "10.0.0.2", eth1: "10.0.1.2", eth2: "10.0.2.2" }),
  );
  assert.deepEqual(
    beta.config.links.filter((l) => l.type === "ucast"),
    [
      { type: "ucast", name: "ucast:eth1", bind: "10.0.1.2:695", peers: ["10.0.1.1:695"] },
      { type: "ucast", name: "ucast:eth2", bind: "10.0.2.2:695", peers: ["10.0.2.1:695"] },
    ],
  );
});

// Every directive of PROTOCOL.md section 7's table, with a value Heartbeat accepts.
const SECTION_7: Record<string, string> = {
  node: "node extra",
  keepalive: "keepalive 2",
  deadtime: "deadtime 20",
  warntime: "warntime 4",
  initdead: "initdead 40",
  deadping: "deadping 15",
  udpport: "udpport 700",
  bcast: "bcast eth9",
  ucast: "ucast eth1 10.0.1.9",
  mcast: "mcast eth0 239.0.0.1 694 1 0",
  mcast6: "mcast6 eth0 ff12::1:2:3:4 694 1 0",
  ucast6: "ucast6 eth0 fe80::1",
  serial: "serial /dev/ttyS1",
  baud: "baud 9600",
  ping: "ping 10.0.0.1",
  ping_group: "ping_group routers 10.0.0.1 10.0.0.2",
  hbaping: "hbaping fc0",
  auto_failback: "auto_failback off",
  nice_failback: "nice_failback on",
  crm: "crm on",
  pacemaker: "pacemaker respawn",
  autojoin: "autojoin none",
  uuidfrom: "uuidfrom nodename",
  hbgenmethod: "hbgenmethod time",
  msgfmt: "msgfmt netstring",
  compression: "compression zlib",
  compression_threshold: "compression_threshold 2",
  traditional_compression: "traditional_compression off",
  max_rexmit_delay: "max_rexmit_delay 250",
  logfile: "logfile /var/log/ha-log",
  debugfile: "debugfile /var/log/ha-debug",
  logfacility: "logfacility local0",
  use_logd: "use_logd off",
  conn_logd_time: "conn_logd_time 60",
  syslogmsgfmt: "syslogmsgfmt true",
  log_badpack: "log_badpack true",
  debug: "debug 1",
  realtime: "realtime on",
  rtprio: "rtprio 5",
  memreserve: "memreserve 6500",
  coredumps: "coredumps true",
  coreroot: "coreroot /var/lib/heartbeat/cores",
  watchdog: "watchdog /dev/watchdog",
  stonith: "stonith baytech /etc/ha.d/conf/stonith.baytech",
  stonith_host: "stonith_host * baytech 10.0.0.3 mylogin mysecretpassword",
  respawn: "respawn hacluster /usr/lib/heartbeat/ipfail",
  failfast: "failfast hacluster /usr/lib/heartbeat/ccm",
  apiauth: "apiauth ipfail uid=hacluster",
  env: "env ONE=1",
  hopfudge: "hopfudge 1",
  cluster: "cluster linux-ha",
  quorum_server: "quorum_server qs.example",
  crm_daemon_dir: "crm_daemon_dir /usr/lib/pacemaker",
  crmd_spawns_pengine: "crmd_spawns_pengine off",
  record_config_changes: "record_config_changes on",
  record_pengine_inputs: "record_pengine_inputs on",
  enable_config_writes: "enable_config_writes on",
  use_apphbd: "use_apphbd off",
};

Deno.test("ha.cf: every directive of section 7 is mapped or reported, none dropped silently", () => {
  // Both directions: the parser knows every name of the table, and nothing else but ping6.
  assert.deepEqual(
    Object.keys(HA_CF_DIRECTIVES).filter((n) => !(n in SECTION_7)),
    ["ping6"],
  );
  const base = "node n1 n2 n3\nbcast eth0\nserial /dev/ttyS0\nping 10.0.0.254\n";
  const opts = machine("n1", { eth0: "10.0.0.1", eth1: "10.0.1.1" });
  // What a parse shows, line numbers aside (the sample shifts the base down by one line).
  const shape = (cf: HaCf) =>
    JSON.stringify(cf, (k, v) => ["line", "directives", "warnings"].includes(k) ? undefined : v);
  const baseParse = parseHaCf(`# sample\n${base}`, FILE);
  const baseImport = JSON.stringify(importHaCf(`# sample\n${base}`, FILE, opts).config);
  for (const [name, sample] of Object.entries(SECTION_7)) {
    const spec = HA_CF_DIRECTIVES[name];
    assert.ok(spec, `${name} is missing from HA_CF_DIRECTIVES`);
    assert.ok(spec.note.length > 10, `${name} needs a note saying what Vigil does`);
    const text = `${sample}\n${base}`;
    const cf = parseHaCf(text, FILE);
    const imported = importHaCf(text, FILE, opts);
    const reported = imported.warnings.some((w) => w.startsWith(`${FILE}:1: `));
    if (spec.support === "mapped") {
      const changed = shape(cf) !== shape(baseParse) ||
        JSON.stringify(imported.config) !== baseImport || imported.haresources !== true;
      assert.ok(changed || reported, `${name}: mapped, but "${sample}" changed nothing`);
    } else {
      const what = spec.support === "ignored" ? "ignored \\(no effect in Vigil\\)" : "unsupported";
      assert.ok(
        imported.warnings.some((w) => new RegExp(`^${FILE}:1: ${name}: ${what}: `).test(w)),
        `${name}: ${spec.support}, but no warning names ${FILE}:1:\n${
          imported.warnings.join("\n")
        }`,
      );
    }
  }
});

Deno.test("ha.cf: unknown directives are errors with file:line and a suggestion", () => {
  assertError(
    `${BASE}keepalve 2\n`,
    3,
    /unknown directive "keepalve" \(did you mean "keepalive"\?\)/,
  );
  assertError(`${BASE}auto_fallback on\n`, 3, /did you mean "auto_failback"/);
  assertError(`${BASE}frobnicate 1\n`, 3, /^[^(]*unknown directive "frobnicate"$/);
  // Heartbeat compares names with strcmp: "Keepalive" is illegal there too.
  assertError(`${BASE}Keepalive 2\n`, 3, /case-sensitive in Heartbeat: did you mean "keepalive"/);
  // Every error is reported, not just the first.
  assert.throws(() => importText(`${BASE}bogus 1\nkeepalive soon\n`), (e: Error) => {
    assert.match(e.message, new RegExp(`^${FILE}:3: unknown directive "bogus"`));
    assert.match(e.message, new RegExp(`\n${FILE}:4: keepalive: "soon" is not a Heartbeat time`));
    return true;
  });
});

Deno.test("ha.cf: comments, blanks, commas, CRLF, tabs and the old 'udp' name", () => {
  const text = [
    "# whole-line comment",
    "",
    "   \t",
    "keepalive 2 # trailing comment",
    "node N1,n2\tn3   ",
    "udp eth0\r",
    "deadtime 10#no space before the comment",
  ].join("\n");
  const imported = importText(text);
  assert.deepEqual(imported.config.nodes.map((n) => n.name), ["n1", "n2", "n3"]);
  assert.equal(imported.config.keepalive, 2000);
  assert.equal(imported.config.deadtime, 10000);
  assert.deepEqual(imported.config.links, [
    { type: "bcast", name: "bcast:eth0", interface: "eth0", port: 694 },
  ]);
  warningAt(imported, 6, /"udp" is an old name for "bcast"/);
  const cf = parseHaCf(text, FILE);
  assert.deepEqual(cf.directives.map((d) => [d.name, d.line, d.args]), [
    ["keepalive", 4, ["2"]],
    ["node", 5, ["N1", "n2", "n3"]],
    ["bcast", 6, ["eth0"]],
    ["deadtime", 7, ["10"]],
  ]);
});

Deno.test("ha.cf: udpport after a media line warns with both lines; each media type keeps its port", () => {
  const text = [
    "node n1 n2", // 1
    "bcast eth0", // 2: bcast reads udpport now: 694
    "udpport 700", // 3
    "bcast eth1", // 4: bcast keeps 694, as Heartbeat's plugin does
    "ucast eth2 10.0.2.2", // 5: first ucast line: 700
  ].join("\n");
  const imported = importText(text, machine("n1", { eth2: "10.0.2.1" }));
  const warning = warningAt(imported, 3, /udpport 700 comes after the media line at/);
  assert.match(warning, new RegExp(`${FILE}:2 `));
  assert.match(warning, /bcast keeps port 694 \(its first line is 2\)/);
  assert.deepEqual(imported.config.links.map((l) => [l.name, "port" in l ? l.port : l]), [
    ["bcast:eth0", 694],
    ["bcast:eth1", 694],
    ["ucast:eth2", {
      type: "ucast",
      name: "ucast:eth2",
      bind: "10.0.2.1:700",
      peers: ["10.0.2.2:700"],
    }],
  ]);
  // Before any media line, udpport applies to all of them and nothing is said.
  const early = importText("udpport 700\nnode n1 n2\nbcast eth0\n");
  assert.deepEqual(early.warnings.filter((w) => /udpport/.test(w)), []);
  assert.equal(early.config.links[0].type === "bcast" && early.config.links[0].port, 700);
  assertError("udpport http\nnode n1\nbcast eth0\n", 1, /udpport: "http" is not a UDP port/);
  assertError("udpport 70000\nnode n1\nbcast eth0\n", 1, /not a UDP port/);
});

Deno.test("ha.cf: ucast lines group per interface, lines pointing at this node are skipped", () => {
  const text = [
    "node n1 n2 n3",
    "ucast eth1 10.0.1.1", // this node (n1's eth1)
    "ucast eth1 10.0.1.2",
    "ucast eth2 n3", // by host name
    "ucast eth1 10.0.1.3",
    "ucast eth2 n1", // this node by name
    "ucast eth1 10.0.1.2", // repeated
    "ucast eth2 10.0.2.5 10.0.2.6", // Heartbeat reads one peer per line
  ].join("\n");
  const imported = importText(text, machine("N1", { eth1: "10.0.1.1", eth2: "10.0.2.1" }));
  assert.deepEqual(imported.config.links, [
    {
      type: "ucast",
      name: "ucast:eth1",
      bind: "10.0.1.1:694",
      peers: ["10.0.1.2:694", "10.0.1.3:694"],
    },
    { type: "ucast", name: "ucast:eth2", bind: "10.0.2.1:694", peers: ["n3:694", "10.0.2.5:694"] },
  ]);
  warningAt(imported, 7, /repeats line 3; ignored/);
  warningAt(imported, 8, /Heartbeat ignores "10\.0\.2\.6"/);
  // An interface whose only line points at this node makes no link (with a warning).
  const alone = importText(
    "node n1 n2\nbcast eth0\nucast eth1 10.0.1.1\n",
    machine("n1", { eth1: "10.0.1.1" }),
  );
  assert.deepEqual(alone.config.links.map((l) => l.type), ["bcast"]);
  warningAt(alone, 3, /ucast eth1: every line .* points at this node/);
  // The bind address must exist on this machine.
  assertError("node n1 n2\nucast eth7 10.0.1.2\n", 2, /interface "eth7" has no IPv4 address/);
  assertError("node n1 n2\nucast eth1\n", 2, /ucast: expected an interface and a peer address/);
});

Deno.test("ha.cf: mcast keeps its own port, ttl and loop; bad mcast lines are errors", () => {
  const imported = importText("udpport 700\nnode n1 n2\nmcast eth0 239.1.2.3 5405 3 1\n");
  assert.deepEqual(imported.config.links, [{
    type: "mcast",
    name: "mcast:eth0:239.1.2.3",
    interface: "eth0",
    group: "239.1.2.3",
    port: 5405,
    ttl: 3,
    loop: true,
  }]);
  assertError("node n1\nmcast eth0 239.0.0.1 694 1\n", 2, /mcast: missing loop/);
  assertError(
    "node n1\nmcast eth0 10.0.0.1 694 1 0\n",
    2,
    /"10\.0\.0\.1" is not an IPv4 multicast group/,
  );
  assertError("node n1\nmcast eth0 239.0.0.1 694 5 0\n", 2, /ttl "5" must be 0 to 4/);
  assertError("node n1\nmcast eth0 239.0.0.1 694 1 2\n", 2, /loop "2" must be 0 or 1/);
});

Deno.test("ha.cf: serial lines take the baud set before them", () => {
  const imported = importText("node n1 n2\nbaud 115200\nserial /dev/ttyS0, /dev/ttyUSB1\n");
  assert.deepEqual(imported.config.links, [
    { type: "serial", name: "serial:/dev/ttyS0", device: "/dev/ttyS0", baud: 115200 },
    { type: "serial", name: "serial:/dev/ttyUSB1", device: "/dev/ttyUSB1", baud: 115200 },
  ]);
  // Default 19200; a baud after the first serial line is too late, as in Heartbeat.
  const late = importText("node n1 n2\nserial /dev/ttyS0\nbaud 9600\nserial /dev/ttyS1\n");
  assert.deepEqual(late.config.links.map((l) => l.type === "serial" && l.baud), [19200, 19200]);
  assert.match(
    warningAt(late, 3, /baud 9600 comes after the serial line at/),
    new RegExp(`${FILE}:2 .*keep 19200 baud`),
  );
  assertError("node n1\nbaud 12345\nserial /dev/ttyS0\n", 2, /baud: "12345" is not one of 9600/);
  assertError("node n1\nbaud 9600\nbaud 19200\nserial /dev/ttyS0\n", 3, /baud multiply specified/);
  assertError("node n1\nserial ttyS0\n", 2, /serial: "ttyS0" is not a full path/);
});

Deno.test("ha.cf: Heartbeat time syntax", () => {
  const cases: [string, number | undefined][] = [
    ["2", 2000],
    ["1.5", 1500],
    [".5", 500],
    ["0.001", 1],
    ["200ms", 200],
    ["200MS", 200],
    ["1.5ms", 2], // halves round up, as cl_get_msec does
    ["500us", 1],
    ["499us", 0],
    ["1000000usec", 1000],
    ["100msec", 100],
    ["2s", undefined], // Heartbeat has no "s" suffix
    ["soon", undefined],
    ["-1", undefined],
    ["", undefined],
    ["1e3", undefined],
  ];
  for (const [text, ms] of cases) assert.equal(parseHeartbeatTime(text), ms, text);
  const cf = parseHaCf(`keepalive 250ms\ndeadtime 1.5\nwarntime 750000us\n${BASE}`, FILE);
  assert.deepEqual(
    [cf.timing.keepaliveMs, cf.timing.deadtimeMs, cf.timing.warntimeMs],
    [250, 1500, 750],
  );
  assert.deepEqual(cf.keepalive, { value: 250, line: 1 });
});

Deno.test("ha.cf: initdead, warntime and deadping defaults follow Heartbeat", () => {
  const timing = (lines: string) => parseHaCf(`${lines}\n${BASE}`, FILE).timing;
  // No time directive at all: keepalive 1 s, deadtime 30 s, initdead = deadtime.
  assert.deepEqual(timing(""), {
    keepaliveMs: 1000,
    deadtimeMs: 30000,
    warntimeMs: 15000,
    initdeadMs: 30000,
    deadpingMs: 30000,
  });
  const initdead = (deadtime: string) => timing(`deadtime ${deadtime}`).initdeadMs;
  assert.equal(initdead("5"), 12000); // below 6 s: 12 s
  assert.equal(initdead("5999ms"), 12000);
  assert.equal(initdead("6"), 12000); // 6..10 s: twice deadtime
  assert.equal(initdead("10"), 20000);
  assert.equal(initdead("10001ms"), 10001); // above 10 s: deadtime
  assert.equal(timing("deadtime 7").warntimeMs, 3500);
  assert.equal(timing("deadtime 7001ms").warntimeMs, 3500); // integer division, as in C
  assert.equal(timing("initdead 60").initdeadMs, 60000);
  // A small explicit initdead is allowed, with Heartbeat's warning.
  const small = importText("keepalive 100ms\ndeadtime 1\ninitdead 2\n" + BASE);
  assert.equal(small.config.initdead, 2000);
  warningAt(small, 3, /initdead 2000 ms may be too small/);
});

Deno.test("ha.cf: bad values are errors naming file:line", () => {
  assertError(`keepalive soon\n${BASE}`, 1, /keepalive: "soon" is not a Heartbeat time/);
  assertError(`keepalive 0\n${BASE}`, 1, /keepalive: must be more than 0 ms/);
  assertError(`warntime 5s\n${BASE}`, 1, /warntime: "5s" is not a Heartbeat time/);
  // Heartbeat wants deadtime above twice keepalive; the message names both lines.
  assertError(
    `keepalive 2\ndeadtime 3\n${BASE}`,
    2,
    new RegExp(
      `deadtime \\(3000 ms, ${FILE}:2\\) must be more than twice keepalive \\(2000 ms, ${FILE}:1\\)`,
    ),
  );
  assertError(`keepalive 20\n${BASE}`, 1, /deadtime \(30000 ms, default\) must be more than twice/);
  assertError(
    `deadtime 20\ninitdead 10\n${BASE}`,
    2,
    /initdead \(10000 ms, .*:2\) is smaller than deadtime/,
  );
  assertError(
    `deadping 1\nping 10.0.0.1\n${BASE}`,
    1,
    /deadping \(1000 ms\) must be more than twice/,
  );
  assertError(
    `auto_failback sometimes\n${BASE}`,
    1,
    /auto_failback: "sometimes" is not on, off or legacy/,
  );
  assertError(`crm maybe\n${BASE}`, 1, /crm: "maybe" is not on, off/);
  assertError(`crm off\npacemaker on\n${BASE}`, 2, /pacemaker\/crm directive used multiple times/);
  assertError(
    `pacemaker on\ncrm_daemon_dir /x\n${BASE}`,
    2,
    /must come before the crm\/pacemaker line/,
  );
  assertError(`node Bad!name\nbcast eth0\n`, 1, /node: "Bad!name" is not a valid node name/);
  assertError(`hopfudge 300\n${BASE}`, 1, /hopfudge: "300" is not a number from 0 to 255/);
  assertError(`msgfmt Classic\n${BASE}`, 1, /msgfmt: "Classic" is not classic or netstring/);
  assertError(`realtime maybe\n${BASE}`, 1, /realtime: "maybe" is not a boolean/);
  assertError(`apiauth ipfail\n${BASE}`, 1, /apiauth: expected a client name then uid=/);
  assertError(
    `respawn hacluster ipfail\n${BASE}`,
    1,
    /respawn: expected a user name then the full path/,
  );
  assertError(`watchdog /dev/a\nwatchdog /dev/b\n${BASE}`, 2, /watchdog device multiply specified/);
  assertError(`autojoin any\n${BASE}`, 1, /autojoin any conflicts with haresources/);
});

Deno.test("ha.cf: missing media, missing nodes, and a node that is not listed", () => {
  assertError("node n1 n2\n", undefined, /^.*: No heartbeat media defined/);
  assertError(
    "node n1 n2\nping 10.0.0.1\n",
    undefined,
    /No heartbeat media defined.*ping nodes are not media/,
  );
  assertError("bcast eth0\n", undefined, /no nodes defined/);
  assert.throws(
    () => importText(BASE, machine("n9")),
    (e: Error) =>
      e instanceof ConfigError &&
      e.message === `${FILE}: this node "n9" is not in a node line (n1, n2, n3); ` +
          "Heartbeat names nodes by `uname -n`, or give the node name explicitly",
  );
  assert.equal(importText(BASE, { node: "N2" }).config.node, "n2");
});

Deno.test("ha.cf: auto_failback and crm decide stickiness and the haresources mode", () => {
  const run = (lines: string) => importText(`${lines}\n${BASE}`);
  const on = run("auto_failback on");
  assert.deepEqual([on.config.options.stickiness, on.autoFailback, on.haresources], [
    0,
    "on",
    true,
  ]);
  const off = run("auto_failback off");
  assert.deepEqual([off.config.options.stickiness, off.autoFailback], ["INFINITY", "off"]);
  const legacy = run("auto_failback legacy");
  assert.deepEqual([legacy.config.options.stickiness, legacy.autoFailback], [0, "legacy"]);
  warningAt(legacy, 1, /Deprecated 'legacy' auto_failback option selected/);
  // Not set: Heartbeat's default is legacy, and it says so.
  const unset = run("");
  assert.equal(unset.autoFailback, "legacy");
  assert.ok(unset.warnings.some((w) => w.startsWith(`${FILE}: Deprecated 'legacy'`)));
  const nice = run("nice_failback on");
  assert.deepEqual([nice.autoFailback, nice.config.options.stickiness], ["off", "INFINITY"]);
  warningAt(nice, 1, /nice_failback is obsolete.*"auto_failback off"/);
  assert.equal(run("nice_failback off").autoFailback, "legacy");
  for (const value of ["on", "respawn", "yes", "TRUE"]) {
    const crm = run(`crm ${value}`);
    assert.equal(crm.haresources, false, value);
    assert.equal(crm.config.options.stickiness, undefined, value);
    assert.ok(!crm.warnings.some((w) => /legacy/.test(w)), value);
  }
  for (const value of ["off", "no"]) assert.equal(run(`pacemaker ${value}`).haresources, true);
});

Deno.test("ha.cf: ping, ping_group and deadping become ping quorum devices", () => {
  const imported = importText(
    `deadping 40\nping 10.0.0.254 10.0.0.253\nping_group uplinks 192.0.2.1 192.0.2.2\n${BASE}`,
  );
  assert.deepEqual(imported.config.quorum.devices, [
    // A single ping waits at most 2 s, however long deadping is.
    { plugin: "ping", params: { hosts: ["10.0.0.254", "10.0.0.253"], timeoutMs: 2000 } },
    { plugin: "ping", params: { hosts: ["192.0.2.1", "192.0.2.2"], group: true, timeoutMs: 2000 } },
  ]);
  const quick = importText(`keepalive 100ms\ndeadping 500ms\nping 10.0.0.254\n${BASE}`);
  assert.deepEqual(quick.config.quorum.devices[0].params, {
    hosts: ["10.0.0.254"],
    timeoutMs: 500,
  });
  assertError(
    `ping_group lonely\n${BASE}`,
    1,
    /ping_group: expected a group name and at least one/,
  );
  const nine = Array.from({ length: 9 }, (_, i) => `ping 10.0.0.${i + 1}`).join("\n");
  assertError(`${nine}\n${BASE}`, 9, /too many ping and ping_group lines/);
});

Deno.test("ha.cf: repeated and multi-valued directives: the last value wins, with a warning", () => {
  const imported = importText(`keepalive 1 2\ndeadtime 10\ndeadtime 20\nnode n1\n${BASE}`);
  assert.equal(imported.config.keepalive, 2000);
  assert.equal(imported.config.deadtime, 20000);
  warningAt(imported, 1, /keepalive takes one value but has 2; .* "2" wins/);
  warningAt(imported, 3, /deadtime overrides the value at line 2/);
  warningAt(imported, 5, /node n1 is already declared at line 4; ignored/);
  assert.deepEqual(imported.config.nodes.map((n) => n.name), ["n1", "n2", "n3"]);
  warningAt(importText(`keepalive\n${BASE}`), 1, /keepalive has no value; Heartbeat ignores/);
});

Deno.test("ha.cf: readHaCf and loadHaCf read files; errors name the file", () => {
  const dir = mkdtempSync(join(tmpdir(), "vigil-hacf-"));
  try {
    const missing = join(dir, "nope", "ha.cf");
    assert.throws(() => loadHaCf(missing, machine("n1")), (e: Error) => {
      assert.ok(e instanceof ConfigError);
      assert.ok(e.message.startsWith(`${missing}: cannot read: `), e.message);
      return true;
    });
    assert.throws(
      () => readHaCf(missing),
      (e: Error) => e.message.startsWith(`${missing}: cannot`),
    );
    const cf = readHaCf(join(FIXTURES, "lab-n2.ha.cf"));
    assert.deepEqual(cf.nodes.map((n) => [n.value, n.line]), [["node1", 11], ["node2", 12], [
      "node3",
      13,
    ]]);
    assert.deepEqual(cf.crm, { value: "off", line: 14 });
    assert.deepEqual(cf.media, [{ type: "bcast", line: 9, device: "hb-eth0", port: 694 }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
