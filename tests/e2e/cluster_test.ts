/**
 * End-to-end under `deno run`: real node processes on loopback exchange
 * authenticated UDP heartbeats, place a service, and move it when its node is
 * killed. Also the daemon's refusals: a group-readable key file, a bad config.
 */

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runDemo } from "../../core/demo/demo.ts";
import { selfCommand } from "../../runtime/self_command.ts";

Deno.test("e2e: 3 node processes; SIGKILL the holder and the service moves", async () => {
  const lines: string[] = [];
  const result = await runDemo({
    nodes: 3,
    keepaliveMs: 100,
    deadtimeMs: 500,
    write: (l) => lines.push(l),
  });
  assert.notEqual(result.to, result.from, "served by another node after the kill");
  assert.ok(
    result.detectedMs > 0 && result.detectedMs <= result.failoverMs,
    JSON.stringify(result),
  );
  assert.ok(
    lines.some((l) => l.includes(`node ${result.from} lost`)),
    "a survivor reported the loss",
  );
  assert.ok(lines.some((l) => l.includes(`resource web started on ${result.to}`)));
  const state = lines.find((l) => l.startsWith("state "))!.slice(6);
  assert.equal(existsSync(state), false, "temporary state removed");
  for (const l of lines.filter((l) => /^node n\d pid \d+$/.test(l))) {
    const pid = Number(l.split(" ")[3]);
    assert.throws(() => Deno.kill(pid, "SIGCONT"), "child process is gone");
  }
});

function runVigil(args: string[]): { status: number | null; stderr: string } {
  const [cmd, ...prefix] = selfCommand();
  const r = spawnSync(cmd, [...prefix, ...args], { encoding: "utf8", timeout: 30_000 });
  return { status: r.status, stderr: r.stderr };
}

function fixture(authMode: number, config: Record<string, unknown>): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), "vigil-e2e-"));
  writeFileSync(join(dir, "authkeys"), "auth 1\n1 sha256 secret\n", { mode: authMode });
  const file = join(dir, "n1.json");
  writeFileSync(
    file,
    JSON.stringify({
      node: "n1",
      nodes: [{ name: "n1", address: "127.0.0.1", port: 1, api: "127.0.0.1:1" }],
      authkeys: join(dir, "authkeys"),
      stateDir: join(dir, "state"),
      ...config,
    }),
  );
  return { dir, file };
}

Deno.test("e2e: vigil run refuses an authkeys file readable by others, saying how to fix it", () => {
  const { dir, file } = fixture(0o644, {});
  try {
    const r = runVigil(["run", "--config", file]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /authkeys.*readable by group or others/);
    assert.match(r.stderr, /chmod 600/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("e2e: vigil run names the file and the exact field of a bad configuration", () => {
  const { dir, file } = fixture(0o600, { keepalive: "soon", resources: [{ id: "web" }] });
  try {
    const r = runVigil(["run", "--config", file]);
    assert.equal(r.status, 2);
    assert.ok(r.stderr.includes(file), r.stderr);
    assert.match(r.stderr, /keepalive: not a duration/);
    assert.match(r.stderr, /resources\[0\]\.agent/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
