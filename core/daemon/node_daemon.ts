/**
 * The node daemon: the thin shell around {@link NodeCore}.
 *
 * It feeds the core real events (UDP frames that passed decoding,
 * authentication and replay checks; timer ticks from the monotonic clock;
 * results of agent operations) and carries its effects out (send frames, run
 * operations, persist the CIB, log events). It also serves the HTTP API.
 *
 * @module
 */

import { createSocket, type Socket } from "node:dgram";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { StatusDocument } from "../api/status_app.ts";
import { createStatusApp } from "../api/status_app.ts";
import { readCibFile, writeCibFile } from "../cib/cib_file.ts";
import type { NodeConfigFile } from "../config/node_config.ts";
import { initialCib } from "../config/node_config.ts";
import { OperationExecutor } from "../lrm/executor.ts";
import type { LrmOperation } from "../lrm/lrm_state.ts";
import type { ClusterEvent } from "../node/events.ts";
import { messageSchema } from "../node/messages.ts";
import { NodeCore, type NodeEffect, type NodeEvent } from "../node/node_core.ts";
import { decodeFrame, encodeFrame } from "../wire/frame.ts";
import { DropCounters } from "../wire/drop_counters.ts";
import { type Keyring, loadAuthkeys } from "../wire/authkeys.ts";
import { ReplayWindow } from "../wire/replay.ts";
import { findResourceAgent } from "../../ra/builtin.ts";
import { type HttpServer, serveHttp } from "../../runtime/serve.ts";

/** How the daemon reports events and lines. */
export type LogFormat = "text" | "json";

/** Options of one daemon. */
export interface NodeDaemonOptions {
  /** Validated configuration. */
  config: NodeConfigFile;
  /** Path of the configuration file (for messages). */
  configFile: string;
  /** Vigil version for the status document. */
  version: string;
  /** Log line format. */
  logFormat?: LogFormat;
  /** Where log lines go (default: stdout). */
  write?: (line: string) => void;
}

const MAX_EVENTS = 200;
const OCF_ERR_INSTALLED = 5;

/** One running node. */
export class NodeDaemon {
  readonly #opts: NodeDaemonOptions;
  readonly #core: NodeCore;
  readonly #keyring: Keyring;
  readonly #socket: Socket;
  readonly #executor: OperationExecutor;
  readonly #replay = new ReplayWindow();
  readonly #drops = new DropCounters();
  readonly #incarnation: number;
  readonly #t0 = performance.now();
  readonly #startedAt = Date.now();
  readonly #events: { at: number; event: ClusterEvent }[] = [];
  readonly #addresses = new Map<string, { address: string; port: number }>();
  /**
   * One sending socket per peer. Under Bun a port-unreachable error from a dead
   * peer fails the next send on the same socket, whoever it is to; separate
   * sockets keep one dead peer from silencing the heartbeats to the others.
   */
  readonly #senders = new Map<string, Socket>();
  #seq = 0;
  #sent = 0;
  #received = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #api: HttpServer | undefined;
  #closed = false;

  private constructor(opts: NodeDaemonOptions, keyring: Keyring, incarnation: number) {
    this.#opts = opts;
    const cfg = opts.config;
    this.#keyring = keyring;
    this.#incarnation = incarnation;
    for (const n of cfg.nodes) this.#addresses.set(n.name, { address: n.address, port: n.port });
    const cib = readCibFile(cfg.stateDir) ?? initialCib(cfg, opts.configFile);
    this.#core = new NodeCore({
      self: cfg.node,
      cib,
      keepaliveMs: cfg.keepalive,
      deadtimeMs: cfg.deadtime,
      warntimeMs: cfg.warntime,
      initdeadMs: cfg.initdead,
      operationTimeoutMs: (agent, action) => findResourceAgent(agent)?.timeouts[action] ?? 20_000,
    });
    this.#executor = new OperationExecutor({
      node: cfg.node,
      stateDir: join(cfg.stateDir, "agents"),
    });
    this.#socket = createSocket({ type: "udp4", reuseAddr: false });
  }

  /** Starts a node: checks keys, loads state, binds UDP and the API, begins ticking. */
  static async start(opts: NodeDaemonOptions): Promise<NodeDaemon> {
    const cfg = opts.config;
    const keyring = loadAuthkeys(cfg.authkeys);
    mkdirSync(cfg.stateDir, { recursive: true, mode: 0o700 });
    const incarnation = nextIncarnation(cfg.stateDir);
    const daemon = new NodeDaemon(opts, keyring, incarnation);
    await daemon.#listen();
    return daemon;
  }

  /** The API's port (useful when configured as 0). */
  get apiPort(): number {
    return this.#api?.port ?? 0;
  }

  async #listen(): Promise<void> {
    const self = this.#opts.config.nodes.find((n) => n.name === this.#opts.config.node)!;
    await new Promise<void>((resolve, reject) => {
      this.#socket.once("error", reject);
      this.#socket.bind(self.port, self.address, () => {
        this.#socket.off("error", reject);
        resolve();
      });
    });
    this.#socket.on("message", (buf) => this.#onPacket(buf));
    this.#socket.on("error", (e) => this.#line(`udp error: ${e.message}`));
    const [host, port] = splitHostPort(self.api);
    const app = createStatusApp({ status: () => this.status(), events: () => [...this.#events] });
    this.#api = await serveHttp({ hostname: host, port, fetch: app.fetch });
    this.#line(
      `vigil ${this.#opts.version} node ${self.name} incarnation ${this.#incarnation}: udp ${self.address}:${self.port}, api http://${host}:${this.#api.port}`,
    );
    const cfg = this.#opts.config;
    const tickMs = Math.max(5, Math.min(50, Math.floor(cfg.keepalive / 4)));
    this.#step({ type: "tick", now: this.#now() });
    this.#timer = setInterval(() => this.#step({ type: "tick", now: this.#now() }), tickMs);
  }

  /** The status document served at `GET /status`. */
  status(): StatusDocument {
    return {
      ...this.#core.snapshot(),
      version: this.#opts.version,
      uptimeMs: Date.now() - this.#startedAt,
      transport: { received: this.#received, sent: this.#sent, dropped: this.#drops.snapshot() },
    };
  }

  /**
   * Stops gracefully: gives every resource up (stop operations), tells peers by
   * leaving the membership, then closes sockets. Bounded by `timeoutMs`.
   */
  async shutdown(timeoutMs = 30_000): Promise<void> {
    if (this.#closed) return;
    this.#step({ type: "shutdown", now: this.#now() });
    const deadline = performance.now() + timeoutMs;
    while (!this.#core.stopped && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    // One more beat so peers see this node unready before it goes silent.
    this.#step({ type: "tick", now: this.#now() });
    await this.close();
  }

  /** Closes sockets and timers without stopping resources. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await new Promise<void>((r) => this.#socket.close(() => r()));
    for (const socket of this.#senders.values()) socket.close();
    await this.#api?.close();
  }

  #now(): number {
    return performance.now() - this.#t0;
  }

  #onPacket(buf: Uint8Array): void {
    const decoded = decodeFrame(buf, this.#keyring);
    if (!decoded.ok) return this.#drops.count(decoded.reason);
    const { frame } = decoded;
    const verdict = this.#replay.check(frame.from, frame.incarnation, frame.seq);
    if (verdict !== "accept") return this.#drops.count(verdict);
    const body = messageSchema.safeParse(frame.body);
    if (!body.success) return this.#drops.count("bad-header");
    this.#received++;
    this.#step({
      type: "message",
      now: this.#now(),
      from: frame.from,
      incarnation: frame.incarnation,
      body: body.data,
    });
  }

  #step(event: NodeEvent): void {
    if (this.#closed) return;
    let effects: NodeEffect[];
    try {
      effects = this.#core.step(event);
    } catch (e) {
      // An invariant broke: stop rather than act on a state we do not understand.
      this.#line(`fatal: ${(e as Error).stack ?? e}`);
      this.close().finally(() =>
        (globalThis as { process?: { exit(c: number): void } }).process?.exit(70)
      );
      return;
    }
    for (const effect of effects) this.#apply(effect);
  }

  #apply(effect: NodeEffect): void {
    switch (effect.type) {
      case "send":
        return this.#send(effect.to, effect.body);
      case "run-op":
        return this.#run(effect.op);
      case "persist-cib":
        return writeCibFile(this.#opts.config.stateDir, effect.cib);
      case "event":
        return this.#event(effect.event);
    }
  }

  #send(to: string, body: unknown): void {
    const peer = this.#addresses.get(to);
    if (!peer) return;
    const frame = encodeFrame(
      { from: this.#opts.config.node, incarnation: this.#incarnation, seq: ++this.#seq, body },
      this.#keyring.active,
    );
    this.#sent++;
    this.#sender(to).send(frame, peer.port, peer.address, () => {
      // Send errors (a dead peer's port) need no action: liveness notices silence.
    });
  }

  #sender(peer: string): Socket {
    let socket = this.#senders.get(peer);
    if (!socket) {
      socket = createSocket("udp4");
      socket.on("error", () => {});
      socket.bind(0, this.#selfAddress());
      this.#senders.set(peer, socket);
    }
    return socket;
  }

  #selfAddress(): string {
    return this.#opts.config.nodes.find((n) => n.name === this.#opts.config.node)!.address;
  }

  #run(op: LrmOperation): void {
    const agent = findResourceAgent(op.agent);
    const done = (rc: number, note?: string) => {
      if (note) this.#line(`${op.action} ${op.resource}: ${note}`);
      this.#step({ type: "op-done", now: this.#now(), opId: op.opId, rc });
    };
    if (!agent) {
      queueMicrotask(() => done(OCF_ERR_INSTALLED, `no resource agent named ${op.agent}`));
      return;
    }
    this.#executor.run({ resourceId: op.resource, agent, action: op.action, params: op.params })
      .then((r) => done(r.rc, r.status === "done" ? undefined : `${r.status}: ${r.output.trim()}`))
      .catch((e) => done(1, String(e)));
  }

  #event(event: ClusterEvent): void {
    const at = Date.now();
    this.#events.push({ at, event });
    if (this.#events.length > MAX_EVENTS) this.#events.shift();
    const node = this.#opts.config.node;
    if (this.#opts.logFormat === "json") {
      this.#write(
        JSON.stringify({ at, node, kind: event.kind, text: event.text, subject: event.subject }),
      );
    } else {
      this.#write(`${new Date(at).toISOString()} ${node} ${event.kind}: ${event.text}`);
    }
  }

  #line(text: string): void {
    if (this.#opts.logFormat === "json") {
      this.#write(
        JSON.stringify({ at: Date.now(), node: this.#opts.config.node, kind: "log", text }),
      );
    } else {
      this.#write(`${new Date().toISOString()} ${this.#opts.config.node} ${text}`);
    }
  }

  #write(line: string): void {
    (this.#opts.write ?? console.log)(line);
  }
}

/** Reads, increments and persists the node's incarnation (boot generation). */
function nextIncarnation(stateDir: string): number {
  const file = join(stateDir, "incarnation");
  const previous = existsSync(file) ? Number(readFileSync(file, "utf8").trim()) || 0 : 0;
  const next = previous + 1;
  writeFileSync(file, `${next}\n`, { mode: 0o600 });
  return next;
}

/** Splits "host:port". */
export function splitHostPort(text: string): [string, number] {
  const i = text.lastIndexOf(":");
  return [text.slice(0, i), Number(text.slice(i + 1))];
}
