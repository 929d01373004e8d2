/**
 * The serial link's exchange check as a plain script, runnable under Bun:
 * `bun run tests/transport/bun_serial_check.ts <ttyA> <ttyB> <count>`.
 *
 * Prints one JSON line `{ ok, received, elapsedMs }` or `{ ok: false, error }`
 * and exits 0 when the exchange was intact.
 *
 * @module
 */

import { exchangeOverSerial } from "./serial_exchange.ts";

const proc = (globalThis as unknown as {
  process: { argv: string[]; exit(code: number): void };
}).process;
const [a, b, countText] = proc.argv.slice(2);
try {
  const result = await exchangeOverSerial(a, b, Number(countText));
  console.log(JSON.stringify({ ok: true, ...result }));
  proc.exit(0);
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: String((e as Error).message ?? e) }));
  proc.exit(1);
}
