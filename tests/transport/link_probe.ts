/**
 * A probe node for link tests in network namespaces: opens the given links,
 * sends `LABEL/LINK/i` on each every 50 ms for `sendMs`, keeps listening for
 * `lingerMs` more, closes the links and prints one JSON line:
 * `{ label, links: { [link]: { received: {text, source}[], counters, errors } } }`.
 *
 * Runs under Deno and Bun alike (no runtime-specific APIs):
 * `ip netns exec NS deno run -A tests/transport/link_probe.ts LABEL SEND_MS LINGER_MS SPEC_JSON...`
 *
 * @module
 */

import type { LinkSpec, Transport } from "../../core/messaging/transport.ts";
import { openTransport } from "../../core/transport/open_transport.ts";
import { bytes, Collector, sleep } from "./collector.ts";

const proc = (globalThis as unknown as {
  process: { argv: string[]; exit(code: number): void };
}).process;
const [label, sendMsText, lingerMsText, ...specTexts] = proc.argv.slice(2);
const sendMs = Math.min(10_000, Number(sendMsText));
const lingerMs = Math.min(10_000, Number(lingerMsText));
const specs = specTexts.map((t) => JSON.parse(t) as LinkSpec);

const collectors = new Map<string, Collector>();
const links: Transport[] = [];
try {
  for (const spec of specs) {
    const collector = new Collector();
    collectors.set(spec.name, collector);
    links.push(await openTransport(spec, collector));
  }
} catch (e) {
  console.log(JSON.stringify({ label, error: (e as Error).message }));
  await Promise.all(links.map((l) => l.close()));
  proc.exit(1);
}

const started = performance.now();
for (let i = 0; performance.now() - started < sendMs && i < 1000; i++) {
  for (const link of links) link.send(bytes(`${label}/${link.spec.name}/${i}`));
  await sleep(50);
}
await sleep(lingerMs);
await Promise.all(links.map((l) => l.close()));

const report: Record<string, unknown> = {};
for (const link of links) {
  const c = collectors.get(link.spec.name)!;
  report[link.spec.name] = { received: c.frames, counters: link.counters(), errors: c.errors };
}
console.log(JSON.stringify({ label, links: report }));
proc.exit(0);
