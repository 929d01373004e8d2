/**
 * The node daemon: the thin shell around {@link NodeCore}.
 *
 * It feeds the core real events (UDP frames that passed decoding,
 * authentication and replay checks; timer ticks from the monotonic clock;
 * results of agent operations) and carries its effects out (send frames, run
 * operations, persist the CIB, log events). It also serves the HTTP API, and
 * turns its CIB requests (`POST /cib/update`, `POST /resource/cleanup`) into
 * core events whose replies it waits for.
 *
 * @module
 */

import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";
import type {
  CibCleanupResponse,
  CibSnapshot,
  CibUpdateResponse,
  ExplainResponse,
  StatusDocument,
} from "../api/status_app.ts";
import { createStatusApp } from "../api/status_app.ts";
import { readCibFile, writeCibFile } from "../cib/cib_file.ts";
import type { CibUpdate } from "../cib/cib_update.ts";
import type { CibStamp } from "../cib/replication/stamp.ts";
import {
  DEFAULT_API,
  initialCib,
  type NodeConfigFile,
  resolveLinks,
} from "../config/node_config.ts";
import { OperationExecutor } from "../lrm/executor.ts";
import type { LrmOperation, OperationDetail } from "../lrm/lrm_state.ts";
import type { ClusterEvent } from "../node/events.ts";
import { type CibReply, NodeCore, type NodeEffect, type NodeEvent } from "../node/node_core.ts";
import { assertSigningKey, type Keyring, loadAuthkeys } from "../wire/authkeys.ts";
import { HeartbeatLink } from "../compat/heartbeat_link.ts";
import { isIPv4 } from "../messaging/transport.ts";
import { resolveInterface } from "../transport/interfaces.ts";
import {
  type LoadedQuorumDevice,
  loadQuorumDevices,
  QuorumDeviceRunner,
} from "./quorum_devices.ts";
import { openTransport } from "../transport/open_transport.ts";
import { LinkSet } from "./link_set.ts";
import { AgentResolver } from "../../ra/agent_resolver.ts";
import {
  defaultPluginDirs,
  type LoadedPlugins,
  loadPluginDirectories,
} from "../../plugins/loader.ts";
import { type HttpServer, serveHttp } from "../../runtime/serve.ts";
import { DriverFencing } from "../te/fencing.ts";
import { type FenceDriverDefinition, parseFenceDriverParams } from "../../plugins/fence_driver.ts";
import TestFenceDriver from "../../plugins/test_fence_driver.ts";
import { explanationSchema } from "../api/status_app.ts";

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
/** How long a node waits for the DC's answer to a forwarded `GET /explain`. */
const EXPLAIN_FORWARD_TIMEOUT_MS = 3000;
const OCF_ERR_INSTALLED = 5;
/** How long `POST /cib/update` waits for the outcome (the core answers `unknown` at 8 s). */
const CIB_UPDATE_WAIT_MS = 10_000;
/** Most configuration changes awaiting an outcome at once. */
const MAX_PENDING_UPDATES = 256;

/** One running node. */
export class NodeDaemon {
  readonly #opts: NodeDaemonOptions;
  readonly #core: NodeCore;
  readonly #keyring: Keyring;
  #links: LinkSet | undefined;
  readonly #devices: QuorumDeviceRunner;
  #heartbeat: HeartbeatLink | undefined;
  readonly #executor: OperationExecutor;
  readonly #agents: AgentResolver;
  readonly #incarnation: number;
  readonly #t0 = performance.now();
  readonly #startedAt = Date.now();
  readonly #events: { at: number; event: ClusterEvent }[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #persistedGeneration = 0;
  #api: HttpServer | undefined;
  #closed = false;
  /** Client requests awaiting their `cib-reply`: request id -> resolver. */
  readonly #pendingUpdates = new Map<string, (reply: CibReply) => void>();
  #requestCounter = 0;
  /** The newest copy to write at the end of the current step (earlier ones are skipped). */
  #toPersist: Extract<NodeEffect, { type: "persist-cib" }> | null = null;
  /** The fence device the DC fences with (absent: no `fencing` configured). */
  readonly #fencing: DriverFencing<unknown> | undefined;

  private constructor(
    opts: NodeDaemonOptions,
    keyring: Keyring,
    incarnation: number,
    devices: LoadedQuorumDevice[],
    plugins: LoadedPlugins,
  ) {
    this.#opts = opts;
    const cfg = opts.config;
    this.#keyring = keyring;
    this.#incarnation = incarnation;
    const agents = new AgentResolver({ plugins: plugins.resourceAgents });
    this.#agents = agents;
    const fence = cfg.fencing ? fenceDriver(cfg, opts.configFile, plugins) : undefined;
    if (fence) {
      this.#fencing = new DriverFencing({
        driver: fence.driver,
        params: fence.params,
        ...(cfg.fencing?.timeout !== undefined ? { timeoutMs: cfg.fencing.timeout } : {}),
        onComplete: (c) => {
          this.#line(
            `fence ${c.action} ${c.target}: ${c.ok ? "confirmed" : "failed"}: ${c.detail}`,
          );
          this.#step({
            type: "fenced",
            now: this.#now(),
            target: c.target,
            ok: c.ok,
            detail: c.detail,
          });
        },
        log: (line) => this.#line(`fencing: ${line}`),
      });
    }
    const stored = readCibFile(cfg.stateDir);
    const cib = stored?.cib ??
      initialCib(cfg, opts.configFile, (line) => this.#line(line));
    this.#core = new NodeCore({
      self: cfg.node,
      cib,
      term: stored?.term ?? 0,
      // The core's clock starts at 0 now; move lifetimes are wall-clock times.
      wallClockOffsetMs: this.#startedAt,
      keepaliveMs: cfg.keepalive,
      deadtimeMs: cfg.deadtime,
      warntimeMs: cfg.warntime,
      initdeadMs: cfg.initdead,
      incarnation,
      // Generations never go back, across restarts too: operation ids and peers'
      // agreement rely on it.
      generation: readNumber(join(cfg.stateDir, "generation")),
      quorum: {
        twoNode: cfg.quorum.twoNode,
        ...(cfg.quorum.waitForAll !== undefined ? { waitForAll: cfg.quorum.waitForAll } : {}),
        ...(cfg.quorum.expectedVotes !== undefined
          ? { expectedVotes: cfg.quorum.expectedVotes }
          : {}),
        deviceVotes: devices.reduce((sum, d) => sum + d.votes, 0),
      },
      operationTimeoutMs: (agent, action) => agents.resolve(agent)?.timeouts[action] ?? 20_000,
      ...(fence
        ? {
          fenceTimeoutMs: cfg.fencing?.timeout ?? fence.driver.timeouts.fence,
          fenceDriver: fence.driver.name,
        }
        : {}),
    });
    this.#devices = new QuorumDeviceRunner(devices, {
      node: cfg.node,
      nodes: cfg.nodes.map((n) => n.name),
      membership: () => this.#core.membership?.members ?? null,
      generation: () => this.#core.membership?.generation ?? null,
      onChange: (sum) => this.#step({ type: "devices", now: this.#now(), ...sum }),
      log: (line) => this.#line(line),
      now: () => this.#now(),
    });
    this.#executor = new OperationExecutor({
      node: cfg.node,
      stateDir: join(cfg.stateDir, "agents"),
    });
  }

  /** Starts a node: checks keys, loads state, binds UDP and the API, begins ticking. */
  static async start(opts: NodeDaemonOptions): Promise<NodeDaemon> {
    const cfg = opts.config;
    const keyring = loadAuthkeys(cfg.authkeys);
    assertSigningKey(keyring, cfg.authkeys);
    const dirs = cfg.pluginDir
      ? [resolve(opts.configFile, "..", cfg.pluginDir)]
      : defaultPluginDirs();
    const plugins = await loadPluginDirectories(dirs);
    const devices = await loadQuorumDevices(cfg, opts.configFile, plugins);
    mkdirSync(cfg.stateDir, { recursive: true, mode: 0o700 });
    // The agents' own state directory (AgentContext.stateDir) must exist before any operation.
    mkdirSync(join(cfg.stateDir, "agents"), { recursive: true, mode: 0o700 });
    const incarnation = nextIncarnation(cfg.stateDir, Date.now());
    const daemon = new NodeDaemon(opts, keyring, incarnation, devices, plugins);
    // A broken plugin file must not keep the node down: it is reported, the rest load.
    for (const e of plugins.errors) daemon.#line(`plugin not loaded: ${e.message}`);
    await daemon.#listen();
    return daemon;
  }

  /** The API's port (useful when configured as 0). */
  get apiPort(): number {
    return this.#api?.port ?? 0;
  }

  async #listen(): Promise<void> {
    const cfg = this.#opts.config;
    const self = cfg.nodes.find((n) => n.name === cfg.node)!;
    const links = resolveLinks(cfg);
    const implicit = new Map<string, string>();
    for (const n of cfg.nodes) {
      if (n.address !== undefined) implicit.set(n.name, `${n.address}:${n.port}`);
    }
    this.#links = await LinkSet.open({
      self: cfg.node,
      nodes: cfg.nodes.map((n) => n.name),
      links,
      unicastAddresses: new Map([["udp", implicit]]),
      keyring: this.#keyring,
      incarnation: this.#incarnation,
      deadtimeMs: cfg.deadtime,
      probeIntervalMs: Math.max(cfg.keepalive * 10, 5000),
      knownIncarnations: readPeerIncarnations(cfg.stateDir),
      onIncarnation: () => writePeerIncarnations(cfg.stateDir, this.#peerIncarnations()),
      onMessage: (from, incarnation, body) =>
        this.#step({ type: "message", now: this.#now(), from, incarnation, body }),
      onLinkEvent: (e) =>
        this.#event({
          kind: e.type,
          text: `link ${e.link} ${e.type === "link-up" ? "up" : "down"} for ${e.peer}`,
          subject: e.peer,
        }),
      onLog: (line) => this.#line(line),
      now: () => this.#now(),
      openTransport,
    });
    const [host, port] = splitHostPort(self.api ?? DEFAULT_API);
    const app = createStatusApp({
      status: () => this.status(),
      events: () => [...this.#events],
      cib: () => this.cib(),
      updateCib: (update) => this.updateCib(update),
      cleanup: (resource, node) => this.cleanup(resource, node),
      explain: (resource, forwarded) => this.explain(resource, forwarded),
    });
    this.#api = await serveHttp({ hostname: host, port, fetch: app.fetch });
    this.#line(
      `vigil ${this.#opts.version} node ${self.name} incarnation ${this.#incarnation}: links ${
        links.length ? links.map(describeLink).join(", ") : "none"
      }; api http://${host}:${this.#api.port}`,
    );
    await this.#openHeartbeatCompat();
    this.#devices.start();
    this.#step({ type: "tick", now: this.#now() });
  }

  /** Heartbeat 3.0.6 compatibility: be seen as a Heartbeat node, and watch Heartbeat nodes. */
  async #openHeartbeatCompat(): Promise<void> {
    const cfg = this.#opts.config;
    const hb = cfg.heartbeatCompat;
    if (!hb) return;
    const broadcast = hb.broadcast.map((b) => (isIPv4(b) ? b : resolveInterface(b).broadcast));
    this.#heartbeat = await HeartbeatLink.open({
      node: cfg.node,
      nodes: hb.nodes,
      keyring: this.#keyring,
      port: hb.port,
      ...(hb.bind ? { bind: hb.bind } : {}),
      broadcast,
      unicast: hb.unicast,
      keepaliveMs: cfg.keepalive,
      deadtimeMs: cfg.deadtime,
      generation: this.#incarnation,
      now: () => this.#now(),
      onEvent: (e) => {
        const text = e.type === "up"
          ? `Heartbeat node ${e.node} is up (${e.status})`
          : e.type === "dead"
          ? `Heartbeat node ${e.node} is dead (${e.reason}: silent ${
            Math.round(e.silentMs)
          } ms, deadtime ${e.deadtimeMs} ms)`
          : e.type === "restarted"
          ? `Heartbeat node ${e.node} restarted (generation ${e.toGeneration})`
          : `Heartbeat node ${e.node} is ${e.to}`;
        this.#event({ kind: "heartbeat-node", text, subject: e.node });
      },
    });
    this.#line(
      `heartbeat-compat: port ${hb.port}, watching ${hb.nodes.join(", ")}${
        broadcast.length ? `, broadcast ${broadcast.join(", ")}` : ""
      }${hb.unicast.length ? `, unicast ${hb.unicast.join(", ")}` : ""}`,
    );
  }

  #peerIncarnations(): Record<string, number> {
    const known = readPeerIncarnations(this.#opts.config.stateDir);
    for (const [peer, inc] of Object.entries(this.#links?.incarnations() ?? {})) {
      known[peer] = Math.max(known[peer] ?? 0, inc);
    }
    return known;
  }

  /**
   * Sleeps until the earliest deadline of the core or the links: no periodic
   * polling, so an idle node wakes only to send heartbeats and check peers.
   */
  #schedule(): void {
    if (this.#closed || !this.#links) return;
    const at = Math.min(this.#core.nextDeadline(), this.#links.nextDeadline());
    if (this.#timer !== undefined && at >= this.#timerAt) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#step({ type: "tick", now: this.#now() });
    }, Math.max(0, Math.ceil(at - this.#now())));
  }

  /** The status document served at `GET /status`. */
  status(): StatusDocument {
    return {
      ...this.#core.snapshot(),
      version: this.#opts.version,
      uptimeMs: Date.now() - this.#startedAt,
      transport: this.#links?.stats() ?? { received: 0, sent: 0, dropped: {} },
      links: this.#links?.links(this.#now()) ?? [],
      devices: this.#devices.status(),
      ...(this.#heartbeat
        ? { heartbeatPeers: this.#heartbeat.peers(), heartbeatLink: this.#heartbeat.stats() }
        : {}),
    };
  }

  /**
   * Why `resource` is placed where it is (`GET /explain/:resource`): answered by the DC
   * from its policy engine's last input; another node asks the DC's API (once: a
   * `forwarded` request is not forwarded again).
   */
  async explain(resource: string, forwarded = false): Promise<ExplainResponse> {
    const dc = this.#core.dc;
    if (dc === null) {
      return { ok: false, code: 503, error: "no DC: the membership is in transition" };
    }
    const known = this.#core.knowsResource(resource);
    if (dc === this.#opts.config.node) {
      const e = this.#core.explain(resource);
      if (e) return { ok: true, explanation: { ...e, dc } };
      if (!known) return { ok: false, code: 404, error: `no resource "${resource}"` };
      return { ok: false, code: 503, error: `the DC has not placed ${resource} yet` };
    }
    if (forwarded) return { ok: false, code: 503, error: `this node is not the DC (${dc} is)` };
    const api = this.#opts.config.nodes.find((n) => n.name === dc)?.api ?? DEFAULT_API;
    try {
      const res = await fetch(
        `http://${api}/explain/${encodeURIComponent(resource)}?forwarded=1`,
        { signal: AbortSignal.timeout(EXPLAIN_FORWARD_TIMEOUT_MS) },
      );
      const body: unknown = await res.json();
      if (res.status === 200) {
        const parsed = explanationSchema.safeParse(body);
        if (parsed.success) return { ok: true, explanation: parsed.data };
        return { ok: false, code: 503, error: `the DC ${dc} answered an unexpected document` };
      }
      const error = (body as { error?: unknown })?.error;
      return {
        ok: false,
        code: res.status === 404 ? 404 : 503,
        error: typeof error === "string" ? error : `the DC ${dc} answered ${res.status}`,
      };
    } catch (e) {
      return { ok: false, code: 503, error: `the DC ${dc} did not answer at ${api}: ${e}` };
    }
  }

  /** This node's CIB copy and its stamp (`GET /cib`). */
  cib(): CibSnapshot {
    return { cib: this.#core.cib, stamp: this.#core.cibStamp };
  }

  /**
   * Submits a configuration change and waits (at most 10 s) for its outcome:
   * ok once a majority of the configured nodes persisted it, else refused or
   * unknown (`POST /cib/update`).
   */
  updateCib(update: CibUpdate): Promise<CibUpdateResponse> {
    if (this.#closed) {
      return Promise.resolve({ ok: false, outcome: "refused", error: "the node is stopping" });
    }
    if (this.#pendingUpdates.size >= MAX_PENDING_UPDATES) {
      return Promise.resolve({
        ok: false,
        outcome: "refused",
        error: `${MAX_PENDING_UPDATES} changes are already waiting on this node: not sent; retry`,
      });
    }
    // Unique across restarts: the DC may still hold requests of an earlier process.
    const requestId = `${this.#opts.config.node}-${this.#incarnation}-${++this.#requestCounter}`;
    return new Promise<CibUpdateResponse>((resolveReply) => {
      const timer = setTimeout(() => {
        this.#pendingUpdates.delete(requestId);
        resolveReply({
          ok: false,
          outcome: "unknown",
          error: `no outcome within ${CIB_UPDATE_WAIT_MS} ms: the change may or may not have ` +
            "been applied; check the CIB and retry if needed",
        });
      }, CIB_UPDATE_WAIT_MS);
      this.#pendingUpdates.set(requestId, (reply) => {
        clearTimeout(timer);
        this.#pendingUpdates.delete(requestId);
        resolveReply(
          reply.ok
            ? {
              ok: true,
              version: reply.version,
              stamp: reply.stamp,
              ...(reply.summary !== undefined ? { summary: reply.summary } : {}),
            }
            : { ok: false, outcome: reply.outcome, error: reply.error },
        );
      });
      this.#step({ type: "cib-update", now: this.#now(), requestId, update });
    });
  }

  /**
   * Clears the fail count and last failure of `resource` on `node`, or on every
   * reachable node (`POST /resource/cleanup`).
   */
  cleanup(resource: string, node?: string): CibCleanupResponse {
    const effects = this.#step({
      type: "cleanup",
      now: this.#now(),
      resource,
      ...(node !== undefined ? { node } : {}),
    });
    const sent = effects.find((e): e is Extract<NodeEffect, { type: "cleanup-sent" }> =>
      e.type === "cleanup-sent"
    );
    if (!sent) return { ok: false, error: "the node is stopping" };
    return sent.error !== undefined && sent.nodes.length === 0
      ? { ok: false, error: sent.error }
      : { ok: true, nodes: sent.nodes };
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
    clearTimeout(this.#timer);
    await this.#devices.stop();
    await this.#fencing?.close();
    await this.#heartbeat?.close();
    await this.#links?.close();
    await this.#api?.close();
  }

  #now(): number {
    return performance.now() - this.#t0;
  }

  /** Steps the core and carries its effects out; returns them (empty once closed). */
  #step(event: NodeEvent): NodeEffect[] {
    if (this.#closed) return [];
    let effects: NodeEffect[];
    try {
      effects = this.#core.step(event);
    } catch (e) {
      // An invariant broke: stop rather than act on a state we do not understand.
      this.#line(`fatal: ${(e as Error).stack ?? e}`);
      this.close().finally(() =>
        (globalThis as { process?: { exit(c: number): void } }).process?.exit(70)
      );
      return [];
    }
    if (event.type === "tick") this.#links?.tick(event.now);
    // Persist a new membership generation before any message announces it.
    const generation = this.#core.highestGeneration;
    if (generation > this.#persistedGeneration) {
      this.#persistedGeneration = generation;
      writeAtomically(join(this.#opts.config.stateDir, "generation"), `${generation}\n`);
    }
    for (const effect of effects) this.#apply(effect);
    const persisted = this.#persistCib();
    this.#schedule();
    // Told after the whole batch: the copy is on disk before anything answers it.
    if (persisted) this.#step({ type: "cib-persisted", now: this.#now(), stamp: persisted });
    return effects;
  }

  /** Writes the newest copy of this step, if any; returns its stamp. */
  #persistCib(): CibStamp | null {
    const p = this.#toPersist;
    this.#toPersist = null;
    if (!p) return null;
    try {
      writeCibFile(this.#opts.config.stateDir, p.cib, p.term);
    } catch (e) {
      // Not confirmed: the replica does not count this node's copy, and retries later.
      this.#line(`cannot write the CIB: ${(e as Error).message}`);
      return null;
    }
    return p.stamp;
  }

  #apply(effect: NodeEffect): void {
    switch (effect.type) {
      case "send":
        return this.#send(effect.to, effect.body);
      case "run-op":
        return this.#run(effect.op);
      case "persist-cib":
        // Writes are in order; a copy superseded within the same step need not be written.
        this.#toPersist = effect;
        return;
      case "cib-reply":
        return this.#pendingUpdates.get(effect.requestId)?.(effect);
      case "cleanup-sent":
        return;
      case "event":
        // Device readings are tied to a membership: read them again under the new one.
        if (effect.event.kind === "membership") queueMicrotask(() => this.#devices.recheck());
        return this.#event(effect.event);
      case "log":
        return this.#line(effect.text);
      case "fence":
        return this.#fence(effect.target, effect.action);
    }
  }

  #fence(target: string, action: Extract<NodeEffect, { type: "fence" }>["action"]): void {
    if (this.#fencing) {
      this.#fencing.fence(target, action, this.#now());
      return;
    }
    // Fencing is enabled in the CIB but no device is configured here: it cannot succeed.
    queueMicrotask(() =>
      this.#step({
        type: "fenced",
        now: this.#now(),
        target,
        ok: false,
        detail: "no fence device configured (fencing in the node configuration)",
      })
    );
  }

  #send(to: string | null, body: unknown): void {
    try {
      this.#links?.send(to, body);
    } catch (e) {
      // Too large for one frame: a bug upstream (the reliable channel fragments).
      this.#line(`cannot send ${(body as { type?: string }).type} to ${to ?? "all"}: ${e}`);
    }
  }

  #run(op: LrmOperation): void {
    const agent = this.#agents.resolve(op.agent);
    const done = (rc: number, detail: OperationDetail, note?: string) => {
      if (note) this.#line(`${op.action} ${op.resource}: ${note}`);
      this.#step({ type: "op-done", now: this.#now(), opId: op.opId, rc, detail });
    };
    const failed = (text: string): OperationDetail => ({
      status: "error",
      durationMs: 0,
      output: text,
      startedAt: Date.now(),
    });
    if (!agent) {
      const text = `no resource agent named ${op.agent}`;
      queueMicrotask(() => done(OCF_ERR_INSTALLED, failed(text), text));
      return;
    }
    this.#executor.run({ resourceId: op.resource, agent, action: op.action, params: op.params })
      .then((r) =>
        done(r.rc, r, r.status === "done" ? undefined : `${r.status}: ${lastLine(r.output)}`)
      )
      .catch((e) => done(1, failed(String(e)), String(e)));
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
    const file = this.#opts.config.logFile;
    if (file) {
      try {
        appendFileSync(file, `${line}\n`);
      } catch {
        // The log file is a copy; stdout has the line.
      }
    }
  }
}

/**
 * Reads, increments and persists the node's incarnation (boot generation).
 *
 * At least the wall clock in seconds, as Heartbeat's time-based generation: a
 * node whose state directory was lost must still come back with a higher
 * incarnation than before, or peers would take it for the old process.
 */
function nextIncarnation(stateDir: string, nowMs: number): number {
  const file = join(stateDir, "incarnation");
  const previous = readNumber(file);
  const next = Math.max(previous + 1, Math.floor(nowMs / 1000));
  writeAtomically(file, `${next}\n`);
  return next;
}

/** A persisted non-negative integer, or 0 when missing or unreadable. */
function readNumber(file: string): number {
  if (!existsSync(file)) return 0;
  const n = Number(readFileSync(file, "utf8").trim());
  return Number.isSafeInteger(n) && n >= 0 ? n : 0;
}

/** Writes a small file atomically (temporary file, then rename). */
function writeAtomically(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

/** Peers' incarnations from earlier runs (missing or unreadable file: none known). */
function readPeerIncarnations(stateDir: string): Record<string, number> {
  try {
    const raw = JSON.parse(readFileSync(join(stateDir, "peers.json"), "utf8"));
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(raw ?? {})) {
      if (typeof v === "number" && Number.isSafeInteger(v) && v >= 1) out[k] = v;
    }
    return out;
  } catch {
    return {};
  }
}

/** Persists peers' incarnations atomically. */
function writePeerIncarnations(stateDir: string, incarnations: Record<string, number>): void {
  writeAtomically(join(stateDir, "peers.json"), JSON.stringify(incarnations));
}

function describeLink(link: ReturnType<typeof resolveLinks>[number]): string {
  switch (link.type) {
    case "ucast":
      return `${link.name} (ucast ${link.bind})`;
    case "bcast":
      return `${link.name} (bcast ${link.interface}:${link.port})`;
    case "mcast":
      return `${link.name} (mcast ${link.group}:${link.port} on ${link.interface})`;
    case "serial":
      return `${link.name} (serial ${link.device} at ${link.baud})`;
  }
}

/** Splits "host:port". */
export function splitHostPort(text: string): [string, number] {
  const i = text.lastIndexOf(":");
  return [text.slice(0, i), Number(text.slice(i + 1))];
}

/** The last non-empty line of an operation's output, for one log line (output can be 64 KiB). */
function lastLine(output: string): string {
  const lines = output.trimEnd().split("\n");
  const line = lines[lines.length - 1] ?? "";
  return line.length > 300 ? `${line.slice(0, 300)}...` : line;
}

/**
 * The configured fence driver (`test-fence` is built in; others are fence-driver plugins)
 * with its parameters checked against the driver's schema.
 *
 * @throws Error naming the configuration file and field when the driver is unknown or its
 *   parameters are invalid
 */
function fenceDriver(
  cfg: NodeConfigFile,
  file: string,
  plugins: LoadedPlugins,
): { driver: FenceDriverDefinition<unknown>; params: unknown } {
  const name = cfg.fencing!.driver;
  const driver = name === TestFenceDriver.name
    ? TestFenceDriver as FenceDriverDefinition<unknown>
    : plugins.fenceDrivers.find((d) => d.name === name);
  if (!driver) {
    const known = [TestFenceDriver.name, ...plugins.fenceDrivers.map((d) => d.name)];
    throw new Error(
      `${file}: fencing.driver: no fence driver named "${name}" (known: ${known.join(", ")})`,
    );
  }
  return {
    driver,
    params: parseFenceDriverParams(driver, cfg.fencing!.params, `${file}: fencing`),
  };
}
