import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Transport } from "../../core/messaging/transport.ts";
import { openTransport } from "../../core/transport/open_transport.ts";
import { sttyArguments, writerArguments } from "../../core/transport/serial_line.ts";
import { bytes, Collector, waitFor } from "./collector.ts";
import { exchangeOverSerial } from "./serial_exchange.ts";
import { type NullModem, SOCAT, startNullModem } from "./socat.ts";

const BUN = new URL("../../node_modules/.bin/bun", import.meta.url).pathname;
const BUN_CHECK = new URL("./bun_serial_check.ts", import.meta.url).pathname;
const NO_SOCAT = !existsSync(SOCAT);
if (NO_SOCAT) console.warn(`serial line tests skipped: ${SOCAT} is not installed`);

/** Runs `body` with a fresh null-modem cable in a temp dir; stops socat and removes the dir. */
async function withNullModem(body: (cable: NullModem, dir: string) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), "vgl-tr-serial-"));
  let cable: NullModem | undefined;
  try {
    cable = await startNullModem(dir);
    await body(cable, dir);
  } finally {
    await cable?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

Deno.test({
  name: "serial: two links exchange 100 frames each way intact (deno)",
  ignore: NO_SOCAT,
  async fn() {
    await withNullModem(async (cable) => {
      const result = await exchangeOverSerial(cable.a, cable.b, 100);
      assert.deepEqual(result.received, [100, 100]);
    });
  },
});

Deno.test({
  name: "serial: two links exchange 100 frames each way intact (bun)",
  ignore: NO_SOCAT || !existsSync(BUN),
  async fn() {
    await withNullModem(async (cable) => {
      const output = await new Deno.Command(BUN, {
        args: ["run", BUN_CHECK, cable.a, cable.b, "100"],
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(60_000),
      }).output();
      const stdout = new TextDecoder().decode(output.stdout).trim();
      const stderr = new TextDecoder().decode(output.stderr).trim();
      assert.equal(output.code, 0, `bun serial check failed:\n${stdout}\n${stderr}`);
      const result = JSON.parse(stdout.split("\n").at(-1)!);
      assert.equal(result.ok, true);
      assert.deepEqual(result.received, [100, 100]);
    });
  },
});

Deno.test({
  name: "serial: a link reopens its device after the line goes away and comes back",
  ignore: NO_SOCAT,
  async fn() {
    const dir = mkdtempSync(join(tmpdir(), "vgl-tr-serial-"));
    const cables: NullModem[] = [];
    const links: Transport[] = [];
    const ca = new Collector();
    const cb = new Collector();
    try {
      cables.push(await startNullModem(dir));
      const { a, b } = cables[0];
      links.push(await openTransport({ type: "serial", name: "ra", device: a, baud: 9600 }, ca));
      links.push(await openTransport({ type: "serial", name: "rb", device: b, baud: 9600 }, cb));
      links[0].send(bytes("before"));
      assert.ok(await waitFor(() => cb.frames.length === 1));

      await cables[0].stop(); // The ptys vanish: reads fail with EIO.
      assert.ok(await waitFor(() => ca.errors.length > 0 && cb.errors.length > 0));
      assert.match(
        ca.errors[0],
        /^link ra: (read failed: .*|line hung up .*); reopening .* in 100 ms/,
      );

      cables.push(await startNullModem(dir)); // New ptys behind the same paths.
      // Reopening backs off 100, 200, 400 ms...; keep sending until a frame gets through.
      const through = await waitFor(() => {
        links[0].send(bytes("after"));
        return cb.texts().includes("after");
      }, 15_000);
      assert.ok(through, `no frame after reopening; errors: ${JSON.stringify(cb.errors)}`);
      links[1].send(bytes("back"));
      assert.ok(await waitFor(() => ca.texts().includes("back")));
      assert.equal(cb.frames[0].text, "before");
    } finally {
      await Promise.all(links.map((l) => l.close()));
      for (const cable of cables) await cable.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
});

Deno.test({
  name: "serial: close() returns promptly on an idle line",
  ignore: NO_SOCAT,
  async fn() {
    await withNullModem(async (cable) => {
      const link = await openTransport(
        { type: "serial", name: "idle", device: cable.a, baud: 19200 },
        new Collector(),
      );
      await new Promise((r) => setTimeout(r, 100));
      const t0 = performance.now();
      await link.close();
      assert.ok(performance.now() - t0 < 1000, "close took a second or more");
      link.send(bytes("late"));
      assert.equal(link.counters().sendErrors, 1);
    });
  },
});

Deno.test("serial: opening fails clearly for a missing device, a non-tty and a bad baud", async () => {
  const handlers = new Collector();
  const dir = mkdtempSync(join(tmpdir(), "vgl-tr-serial-"));
  try {
    const missing = join(dir, "ttyS9");
    await assert.rejects(
      openTransport({ type: "serial", name: "s0", device: missing, baud: 19200 }, handlers),
      (e: Error) => e.message === `link s0 (serial): device ${missing} does not exist`,
    );
    await assert.rejects(
      openTransport({ type: "serial", name: "s1", device: dir, baud: 19200 }, handlers),
      (e: Error) => e.message === `link s1 (serial): ${dir} is not a character device (a tty)`,
    );
    await assert.rejects(
      openTransport({ type: "serial", name: "s2", device: "/dev/null", baud: 19200 }, handlers),
      /^Error: link s2 \(serial\): cannot set \/dev\/null to raw 19200 baud: .*stty: .*Inappropriate ioctl/,
    );
    await assert.rejects(
      openTransport({ type: "serial", name: "s3", device: "/dev/null", baud: 14400 }, handlers),
      /^Error: link s3 \(serial\): invalid spec: baud: expected a baud rate among 9600, 19200, 38400, 57600, 115200, 230400, 460800$/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("serial: the writer never creates a file where the device was", () => {
  const args = writerArguments("/dev/ttyS0");
  assert.ok(args.includes("of=/dev/ttyS0"));
  assert.ok(args.some((a) => a.startsWith("conv=") && a.includes("nocreat")));
});

Deno.test("serial: stty gets raw 8N1 with no echo, flow control or translation", () => {
  const args = sttyArguments("/dev/ttyS0", 19200);
  assert.deepEqual(args.slice(0, 3), ["-F", "/dev/ttyS0", "19200"]);
  for (
    const flag of ["raw", "-echo", "-icrnl", "-opost", "-ixon", "-ixoff", "-crtscts", "cs8"]
  ) {
    assert.ok(args.includes(flag), flag);
  }
});
