/**
 * `vigil demo`: a local cluster on loopback that fails an HTTP service over.
 *
 * Starts N node daemons (child processes of this same program, each with its
 * own temporary state directory), places one HttpService resource, prints the
 * cluster, kills the node serving it with SIGKILL, narrates the events, and
 * measures from the kill to the first `GET /` answered by another node. Then it
 * stops every child and removes its files, also on Ctrl-C.
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { createInterface } from "node:readline";
import type { StatusDocument } from "../api/status_app.ts";
import { renderStatus } from "../cli/status_view.ts";
import { selfCommand } from "../../runtime/self_command.ts";
import { freeTcpPort, freeUdpPort } from "./free_port.ts";

/** Options of the demo. */
export interface DemoOptions {
  /** Number of nodes (2..9). */
  nodes: number;
  /** Heartbeat interval, ms. */
  keepaliveMs: number;
  /** Deadtime, ms. */
  deadtimeMs: number;
  /** Where lines go. */
  write: (line: string) => void;
  /** Also print the daemons' own log lines. */
  verbose?: boolean;
}

/** What the demo measured. */
export interface DemoResult {
  /** From SIGKILL to the first answer from the new node. */
  failoverMs: number;
  /** From SIGKILL to the first "node lost" event of a survivor. */
  detectedMs: number;
  /** Node that served first. */
  from: string;
  /** Node that served after failover. */
  to: string;
}

interface DemoNode {
  name: string;
  api: string;
  child: ChildProcess;
  exited: Promise<void>;
}

const HOST = "127.0.0.1";

/** Runs the demo; always cleans up before it returns or throws. */
export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const out = opts.write;
  const root = mkdtempSync(join(tmpdir(), "vigil-demo-"));
  out(`state ${root}`);
  const nodes: DemoNode[] = [];
  const lostAt = new Map<string, number>();
  const t0 = Date.now();
  const stamp = () => `[${String(Date.now() - t0).padStart(6)} ms]`;
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    for (const n of nodes) if (n.child.exitCode === null) n.child.kill("SIGTERM");
    const all = Promise.all(nodes.map((n) => n.exited));
    const timer = new Promise((r) => setTimeout(r, 5000));
    await Promise.race([all, timer]);
    for (const n of nodes) {
      if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill("SIGKILL");
    }
    await Promise.race([all, new Promise((r) => setTimeout(r, 2000))]);
    rmSync(root, { recursive: true, force: true });
  };
  const onSignal = () => {
    out("interrupted: stopping the demo cluster");
    cleanup().finally(() => process.exit(130));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  try {
    const authkeys = join(root, "authkeys");
    writeFileSync(authkeys, `auth 1\n1 sha256 ${randomBytes(24).toString("hex")}\n`, {
      mode: 0o600,
    });
    const servicePort = await freeTcpPort(HOST);
    const entries = [];
    for (let i = 1; i <= opts.nodes; i++) {
      entries.push({
        name: `n${i}`,
        address: HOST,
        port: await freeUdpPort(HOST),
        api: `${HOST}:${await freeTcpPort(HOST)}`,
      });
    }
    out(
      `starting ${opts.nodes} nodes on ${HOST} (keepalive ${opts.keepaliveMs} ms, deadtime ${opts.deadtimeMs} ms); service http://${HOST}:${servicePort}/`,
    );
    for (const entry of entries) {
      const stateDir = join(root, entry.name);
      const config = join(root, `${entry.name}.json`);
      writeFileSync(
        config,
        JSON.stringify(
          {
            node: entry.name,
            nodes: entries,
            authkeys,
            stateDir,
            keepalive: `${opts.keepaliveMs}ms`,
            deadtime: `${opts.deadtimeMs}ms`,
            resources: [{
              id: "web",
              agent: "HttpService",
              params: { address: HOST, port: servicePort },
              monitor: "1s",
            }],
          },
          null,
          2,
        ),
      );
      const [cmd, ...prefix] = selfCommand();
      const child = spawn(cmd, [
        ...prefix,
        "run",
        "--config",
        config,
        "--log-format",
        "json",
        "--exit-on-stdin-close",
      ], {
        stdio: ["pipe", "pipe", "pipe"],
      });
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      nodes.push({ name: entry.name, api: entry.api, child, exited });
      out(`node ${entry.name} pid ${child.pid}`);
      const narrate = (line: string) => {
        let ev: { at: number; node: string; kind: string; text: string; subject?: string };
        try {
          ev = JSON.parse(line);
        } catch {
          out(`${stamp()} ${entry.name}: ${line}`);
          return;
        }
        if (ev.kind === "node-lost" && ev.subject && !lostAt.has(ev.subject)) {
          lostAt.set(ev.subject, ev.at);
        }
        const chatter = ev.kind === "log" || ev.kind === "node-late" || ev.kind === "node-up";
        if (chatter && !opts.verbose) return;
        out(`${stamp()} ${ev.node}: ${ev.text}`);
      };
      createInterface({ input: child.stdout! }).on("line", narrate);
      createInterface({ input: child.stderr! }).on(
        "line",
        (l) => out(`${stamp()} ${entry.name} stderr: ${l}`),
      );
    }

    const url = `http://${HOST}:${servicePort}/`;
    const first = await waitForService(url, null, 30_000);
    out(`${stamp()} service answered: served by ${first.node}`);
    await settle(nodes, first.node);
    out("");
    out(renderStatus(await fetchStatus(nodes.find((n) => n.name !== first.node)!.api)));
    out("");

    const victim = nodes.find((n) => n.name === first.node)!;
    out(`${stamp()} killing ${victim.name} (pid ${victim.child.pid}) with SIGKILL`);
    const killWall = Date.now();
    const killMono = performance.now();
    // process.kill is kill(2) itself; Deno's ChildProcess.kill closes the child's
    // stdin first, and the child (--exit-on-stdin-close) could start a graceful
    // shutdown before the signal lands: that is not the crash this demo shows.
    process.kill(victim.child.pid!, "SIGKILL");
    const second = await waitForService(url, first.node, 30_000);
    const failoverMs = Math.round(second.at - killMono);
    out(`${stamp()} service answered: served by ${second.node}`);
    const detected = lostAt.get(victim.name);
    const detectedMs = detected === undefined ? failoverMs : Math.max(1, detected - killWall);
    const survivor = nodes.find((n) => n.name === second.node)!;
    await settle(nodes.filter((n) => n !== victim), second.node);
    out("");
    out(renderStatus(await fetchStatus(survivor.api)));
    out("");
    out("stopping the demo cluster");
    return { failoverMs, detectedMs, from: first.node, to: second.node };
  } finally {
    await cleanup();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** Polls `url` until a node other than `not` answers; returns who and when (monotonic ms). */
async function waitForService(
  url: string,
  not: string | null,
  timeoutMs: number,
): Promise<{ node: string; at: number }> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(250) });
      const body = (await res.text()).trim();
      if (res.ok && body && body !== not) return { node: body, at: performance.now() };
    } catch {
      // Refused or timed out while nobody serves: try again.
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(`no node ${not ? `other than ${not} ` : ""}served ${url} within ${timeoutMs} ms`);
}

/** Waits (bounded) until the DC's status shows the service started where it answers. */
async function settle(nodes: DemoNode[], holder: string): Promise<void> {
  const deadline = performance.now() + 5000;
  while (performance.now() < deadline) {
    try {
      const doc = await fetchStatus(nodes[0].api);
      const web = doc.resources.find((r) => r.id === "web");
      if (
        doc.membership?.members.length === nodes.length &&
        web?.on.length === 1 && web.on[0].node === holder && web.on[0].state === "started"
      ) return;
    } catch {
      // Not up yet.
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function fetchStatus(api: string): Promise<StatusDocument> {
  const res = await fetch(`http://${api}/status`, { signal: AbortSignal.timeout(2000) });
  return await res.json() as StatusDocument;
}
