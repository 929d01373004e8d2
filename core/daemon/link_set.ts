/**
 * The node's links as one: every frame goes out on every link, every frame in
 * passes the wire checks once, and each link's health is tracked on its own.
 *
 * Receive path, per frame: decode and authenticate ({@link decodeFrame}) ->
 * ignore our own -> replay check ({@link ReplayWindow}; a duplicate that another
 * link delivered first still proves this link works) -> link bookkeeping
 * ({@link LinkMonitor}) -> addressed to someone else? -> link probes answered
 * here -> zod check of the body -> the node's core.
 *
 * @module
 */

import {
  emptyCounters,
  type LinkCounters,
  type OpenTransport,
  type Transport,
} from "../messaging/transport.ts";
import type { ResolvedLink } from "../config/node_config.ts";
import { type LinkEvent, LinkMonitor, type LinkView } from "../messaging/link_monitor.ts";
import { isLinkMessage, linkMessageSchema } from "../messaging/link_messages.ts";
import { type Message, messageSchema } from "../node/messages.ts";
import type { Keyring } from "../wire/authkeys.ts";
import { DropCounters, type DropCountReason } from "../wire/drop_counters.ts";
import { decodeFrame, encodeFrame } from "../wire/frame.ts";
import { ReplayWindow } from "../wire/replay.ts";

/** Frames larger than this are not sent on serial links (they carry heartbeats, not bulk data). */
export const SERIAL_MAX_FRAME_BYTES = 4096;

/** A link could not be opened (address in use, no such interface or device). */
export class LinkOpenError extends Error {}

/** What the link set needs from the daemon. */
export interface LinkSetOptions {
  /** This node. */
  self: string;
  /** Configured node names (frames from anyone else are dropped). */
  nodes: readonly string[];
  /** Links to open. */
  links: readonly ResolvedLink[];
  /** Per link, the known unicast address of each node (lets a unicast link send to one peer). */
  unicastAddresses: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** Keys to sign and verify with. */
  keyring: Keyring;
  /** This node's boot generation. */
  incarnation: number;
  /** Silence on a link after which it is down for a peer. */
  deadtimeMs: number;
  /** Interval between round-trip probes. */
  probeIntervalMs: number;
  /** Peers' incarnations persisted from earlier runs (replays of older boots stay rejected). */
  knownIncarnations: Readonly<Record<string, number>>;
  /** Called when a peer shows a new incarnation (to persist it). */
  onIncarnation(peer: string, incarnation: number): void;
  /** An authenticated, fresh, valid message for the core. */
  onMessage(from: string, incarnation: number, body: Message): void;
  /** A link went up or down for a peer. */
  onLinkEvent(event: LinkEvent): void;
  /** A log line. */
  onLog(line: string): void;
  /** Monotonic clock in ms. */
  now(): number;
  /** Opens one transport. */
  openTransport: OpenTransport;
}

/** A link as `/status` shows it. */
export interface LinkStatus extends LinkView {
  /** Medium. */
  type: ResolvedLink["type"];
  /** Traffic counters. */
  counters: LinkCounters;
  /**
   * Frames that arrived on this link and were dropped by the wire checks (bad
   * digest, unknown node, replayed, ...), not counting copies another link
   * delivered first.
   */
  dropped: number;
  /** Copies of frames another link delivered first. */
  duplicates: number;
}

/** Transport-wide counters for `/status`. */
export interface LinkSetStats {
  /** Frames accepted and handed on. */
  received: number;
  /** Frames sent (once per frame, whatever the number of links). */
  sent: number;
  /** Frames dropped, by reason. */
  dropped: Record<string, number>;
}

/** The open links of one node. */
export class LinkSet {
  readonly #opts: LinkSetOptions;
  readonly #monitor: LinkMonitor;
  readonly #replay = new ReplayWindow();
  readonly #drops = new DropCounters();
  readonly #incarnations = new Map<string, number>();
  readonly #transports: Transport[] = [];
  readonly #linkDrops = new Map<string, { dropped: number; duplicates: number }>();
  #seq = 0;
  #sent = 0;
  #received = 0;

  private constructor(opts: LinkSetOptions) {
    this.#opts = opts;
    this.#monitor = new LinkMonitor({
      links: opts.links.map((l) => l.name),
      deadtimeMs: opts.deadtimeMs,
      probeIntervalMs: opts.probeIntervalMs,
    });
    for (const [peer, inc] of Object.entries(opts.knownIncarnations)) {
      if (opts.nodes.includes(peer) && Number.isSafeInteger(inc) && inc >= 1) {
        this.#replay.remember(peer, inc);
        this.#incarnations.set(peer, inc);
      }
    }
  }

  /** Opens every link; if one fails, closes those already open and rejects naming it. */
  static async open(opts: LinkSetOptions): Promise<LinkSet> {
    const set = new LinkSet(opts);
    try {
      for (const spec of opts.links) {
        const transport = await opts.openTransport(spec, {
          onFrame: (bytes, source) => set.#onFrame(spec.name, bytes, source),
          onError: (message) => opts.onLog(message),
        });
        set.#transports.push(transport);
      }
    } catch (e) {
      await set.close();
      throw new LinkOpenError((e as Error).message);
    }
    return set;
  }

  /** Signs `body` once and sends it on every link, to one node or (null) to all. */
  send(to: string | null, body: unknown): void {
    // A node without links (alone, or speaking only Heartbeat) has nobody to tell.
    if (this.#transports.length === 0) return;
    const frame = encodeFrame({
      from: this.#opts.self,
      incarnation: this.#opts.incarnation,
      seq: ++this.#seq,
      ...(to !== null ? { to } : {}),
      body,
    }, this.#opts.keyring.active);
    this.#sent++;
    for (const t of this.#transports) {
      if (t.spec.type === "serial" && frame.length > SERIAL_MAX_FRAME_BYTES) continue;
      const address = to === null
        ? undefined
        : this.#opts.unicastAddresses.get(t.spec.name)?.get(to);
      t.send(frame, address);
    }
  }

  /** Advances link state: links going down, round-trip probes. */
  tick(now: number): void {
    for (const event of this.#monitor.tick(now)) this.#opts.onLinkEvent(event);
    if (this.#monitor.probeDue(now)) this.send(null, { type: "link-probe", t: now });
  }

  /** Earliest time {@link tick} has work. */
  nextDeadline(): number {
    return this.#monitor.nextDeadline();
  }

  /** Every link's state and counters. */
  links(now: number): LinkStatus[] {
    const views = this.#monitor.snapshot(now);
    return views.map((v, i) => ({
      ...v,
      type: this.#opts.links[i].type,
      counters: this.#transports[i]?.counters() ?? emptyCounters(),
      dropped: this.#linkDrops.get(v.name)?.dropped ?? 0,
      duplicates: this.#linkDrops.get(v.name)?.duplicates ?? 0,
    }));
  }

  /** The highest incarnation seen of every peer (what to persist). */
  incarnations(): Record<string, number> {
    return Object.fromEntries(this.#incarnations);
  }

  /** Frame counters over all links. */
  stats(): LinkSetStats {
    return { received: this.#received, sent: this.#sent, dropped: this.#drops.snapshot() };
  }

  /** Closes every link. */
  async close(): Promise<void> {
    const transports = this.#transports.splice(0);
    await Promise.all(transports.map((t) => t.close()));
  }

  #onFrame(link: string, bytes: Uint8Array, source: string): void {
    const verdict = this.#receive(link, bytes, source);
    if (verdict === "accepted" || verdict === "own") return;
    let counts = this.#linkDrops.get(link);
    if (!counts) this.#linkDrops.set(link, counts = { dropped: 0, duplicates: 0 });
    if (verdict === "duplicate") counts.duplicates++;
    else counts.dropped++;
  }

  /** The receive path of one frame; says what became of it. */
  #receive(
    link: string,
    bytes: Uint8Array,
    source: string,
  ): "accepted" | "own" | "duplicate" | "dropped" {
    const drop = (reason: DropCountReason) => {
      this.#drops.count(reason);
      return reason === "duplicate" ? "duplicate" as const : "dropped" as const;
    };
    const decoded = decodeFrame(bytes, this.#opts.keyring);
    if (!decoded.ok) return drop(decoded.reason);
    const { frame } = decoded;
    // Our own broadcasts and multicasts come back on some media.
    if (frame.from === this.#opts.self) return "own";
    if (!this.#opts.nodes.includes(frame.from)) return drop("unknown-node");
    const now = this.#opts.now();
    const verdict = this.#replay.check(frame.from, frame.incarnation, frame.seq);
    if (verdict === "old-incarnation" || verdict === "replayed") return drop(verdict);
    for (const event of this.#monitor.heard(link, frame.from, source, now)) {
      this.#opts.onLinkEvent(event);
    }
    if (verdict === "duplicate") return drop("duplicate");
    if ((this.#incarnations.get(frame.from) ?? 0) < frame.incarnation) {
      this.#incarnations.set(frame.from, frame.incarnation);
      this.#opts.onIncarnation(frame.from, frame.incarnation);
    }
    // Not ours, but not wrong either: broadcast media show us everyone's mail.
    if (frame.to !== undefined && frame.to !== this.#opts.self) {
      this.#drops.count("other-recipient");
      return "accepted";
    }
    if (isLinkMessage(frame.body)) {
      if (!this.#onLinkMessage(link, frame.from, frame.body, now)) return drop("bad-body");
      return "accepted";
    }
    const body = messageSchema.safeParse(frame.body);
    if (!body.success) return drop("bad-body");
    this.#received++;
    this.#opts.onMessage(frame.from, frame.incarnation, body.data);
    return "accepted";
  }

  /** Answers a probe or records an echo; false if the message is malformed. */
  #onLinkMessage(link: string, from: string, raw: unknown, now: number): boolean {
    const parsed = linkMessageSchema.safeParse(raw);
    if (!parsed.success) return false;
    const msg = parsed.data;
    if (msg.type === "link-echo") {
      this.#monitor.echoed(link, from, msg.t, now);
      return true;
    }
    // Echo on the link the probe came in on only: the round trip is that link's.
    const transport = this.#transports.find((t) => t.spec.name === link);
    if (!transport) return true;
    const frame = encodeFrame({
      from: this.#opts.self,
      incarnation: this.#opts.incarnation,
      seq: ++this.#seq,
      to: from,
      body: { type: "link-echo", t: msg.t },
    }, this.#opts.keyring.active);
    transport.send(frame, this.#opts.unicastAddresses.get(link)?.get(from));
    return true;
  }
}
