import assert from "node:assert/strict";
import {
  emptyCounters,
  errorLimiter,
  isIPv4,
  isMulticastIPv4,
  linkSpecSchema,
  parseHostPort,
} from "../../core/messaging/transport.ts";

Deno.test("parseHostPort accepts IPv4:port and says what is wrong otherwise", () => {
  assert.deepEqual(parseHostPort("10.0.0.1:694"), { address: "10.0.0.1", port: 694 });
  assert.throws(() => parseHostPort("node1:694"), /"node1:694" is not ADDR:PORT with an IPv4/);
  assert.throws(() => parseHostPort("10.0.0.1"), /"10.0.0.1" is not ADDR:PORT with a port/);
  assert.throws(() => parseHostPort("10.0.0.1:0"), /with a port 1\.\.65535/);
  assert.throws(() => parseHostPort("10.0.0.1:65536"), /with a port 1\.\.65535/);
  assert.throws(() => parseHostPort("10.0.0.1:6x"), /with a port 1\.\.65535/);
});

Deno.test("isIPv4 and isMulticastIPv4", () => {
  for (const a of ["0.0.0.0", "255.255.255.255", "10.0.0.1"]) assert.ok(isIPv4(a), a);
  for (const a of ["256.0.0.1", "1.2.3", "01.2.3.4", "1.2.3.4.5", "", " 1.2.3.4"]) {
    assert.ok(!isIPv4(a), a);
  }
  assert.ok(isMulticastIPv4("224.0.0.1"));
  assert.ok(isMulticastIPv4("239.255.255.255"));
  assert.ok(!isMulticastIPv4("223.255.255.255"));
  assert.ok(!isMulticastIPv4("240.0.0.1"));
});

Deno.test("linkSpecSchema accepts the four link kinds and names the bad field", () => {
  const good = [
    { type: "ucast", name: "u", bind: "10.0.0.1:694", peers: ["10.0.0.2:694"] },
    { type: "bcast", name: "b", interface: "eth0", port: 694 },
    {
      type: "mcast",
      name: "m",
      interface: "eth0",
      group: "239.0.0.1",
      port: 694,
      ttl: 1,
      loop: false,
    },
    { type: "serial", name: "s", device: "/dev/ttyS0", baud: 19200 },
  ];
  for (const spec of good) assert.deepEqual(linkSpecSchema.parse(spec), spec);
  const bad = linkSpecSchema.safeParse({
    type: "ucast",
    name: "u",
    bind: "x",
    peers: ["10.0.0.2:1"],
  });
  assert.ok(!bad.success);
  assert.deepEqual(bad.error.issues.map((i) => i.path.join(".")), ["bind"]);
  const extra = linkSpecSchema.safeParse({
    type: "bcast",
    name: "b",
    interface: "e",
    port: 1,
    ttl: 1,
  });
  assert.ok(!extra.success, "unknown fields are rejected");
  assert.ok(!linkSpecSchema.safeParse({ type: "token-ring", name: "t" }).success);
});

Deno.test("errorLimiter reports at most one error per second and counts the rest", () => {
  let now = 0;
  const seen: string[] = [];
  const report = errorLimiter("net0", (m) => seen.push(m), () => now);
  report("first");
  now = 500;
  report("second");
  report("third");
  now = 1000;
  report("fourth");
  now = 1999;
  report("fifth");
  assert.deepEqual(seen, ["link net0: first", "link net0: fourth (2 more suppressed)"]);
});

Deno.test("errorLimiter survives a throwing handler", () => {
  const report = errorLimiter("x", () => {
    throw new Error("logger down");
  }, () => 0);
  report("one"); // Must not throw.
  assert.deepEqual(emptyCounters(), {
    packetsIn: 0,
    packetsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    sendErrors: 0,
    framingErrors: 0,
  });
});
