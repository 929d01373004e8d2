/**
 * Per-link state of every peer: up or down, last heard, round-trip time, and
 * the address a peer was last heard from. Pure: the caller passes the time.
 *
 * Every frame goes out on every link, so each link hears each peer on its own.
 * A link is down for a peer once that peer has been silent on it for deadtime;
 * the node itself is dead only when it is silent on every link (that decision
 * is {@link Liveness}'s, fed with frames after deduplication).
 *
 * Round-trip times come from small probes: every `probeIntervalMs` the shell
 * sends one probe per link carrying the send time, and peers echo it back on
 * the link it arrived on. The estimate is smoothed as TCP's SRTT (RFC 6298).
 *
 * @example
 * ```ts
 * const links = new LinkMonitor({ links: ["eth0", "serial"], deadtimeMs: 500, probeIntervalMs: 1000 });
 * links.heard("eth0", "n2", "10.0.0.2:694", 0); // [{ type: "link-up", link: "eth0", peer: "n2" }]
 * links.tick(600); // [{ type: "link-down", link: "eth0", peer: "n2" }]
 * ```
 * @module
 */

/** Timing and the names of the links being watched. */
export interface LinkMonitorOptions {
  /** Link names, in configuration order. */
  links: readonly string[];
  /** Silence on one link after which that link is down for a peer. */
  deadtimeMs: number;
  /** Interval between round-trip probes on each link. */
  probeIntervalMs: number;
  /**
   * Interval while a link has heard nobody yet or some peer that is up has no
   * round-trip estimate (default: a fifth of `probeIntervalMs`).
   */
  firstProbeIntervalMs?: number;
  /** Most peers remembered per link (bounds memory against forged names). */
  maxPeers?: number;
}

/** A link came up or went down for one peer. */
export interface LinkEvent {
  /** What happened. */
  type: "link-up" | "link-down";
  /** Link name. */
  link: string;
  /** Peer name. */
  peer: string;
}

/** One peer as seen on one link. */
export interface LinkPeerView {
  /** Peer name. */
  peer: string;
  /** Heard within deadtime on this link. */
  up: boolean;
  /** Milliseconds since last heard, or null if never. */
  lastHeardAgoMs: number | null;
  /** Smoothed round-trip time, or null before the first echo. */
  rttMs: number | null;
  /** Address it was last heard from on this link. */
  source: string | null;
  /** Frames heard from it on this link (duplicates included). */
  packetsIn: number;
}

/** One link's state. */
export interface LinkView {
  /** Link name. */
  name: string;
  /** Up when at least one peer is heard on it. */
  up: boolean;
  /** Peers heard on it. */
  peers: LinkPeerView[];
}

interface PeerOnLink {
  lastHeard: number;
  up: boolean;
  srtt: number | null;
  source: string;
  packetsIn: number;
}

const DEFAULT_MAX_PEERS = 256;
/** RTT smoothing factor (RFC 6298's alpha). */
const RTT_ALPHA = 1 / 8;

/** Tracks every (link, peer) pair. */
export class LinkMonitor {
  readonly #opts: Required<LinkMonitorOptions>;
  readonly #state = new Map<string, Map<string, PeerOnLink>>();
  #nextProbeAt = 0;

  /** Creates a monitor for the given links. */
  constructor(opts: LinkMonitorOptions) {
    if (opts.deadtimeMs <= 0) throw new RangeError("deadtime must be positive");
    if (opts.probeIntervalMs <= 0) throw new RangeError("probe interval must be positive");
    this.#opts = {
      maxPeers: DEFAULT_MAX_PEERS,
      firstProbeIntervalMs: Math.max(1, Math.round(opts.probeIntervalMs / 5)),
      ...opts,
    };
    for (const link of opts.links) this.#state.set(link, new Map());
  }

  /**
   * Records an authenticated frame from `peer` on `link` (duplicates count: a
   * frame that another link delivered first still proves this link works).
   */
  heard(link: string, peer: string, source: string, now: number): LinkEvent[] {
    const peers = this.#peers(link);
    const known = peers.get(peer);
    if (!known) {
      if (peers.size >= this.#opts.maxPeers) return [];
      peers.set(peer, { lastHeard: now, up: true, srtt: null, source, packetsIn: 1 });
      return [{ type: "link-up", link, peer }];
    }
    known.lastHeard = now;
    known.source = source;
    known.packetsIn++;
    if (known.up) return [];
    known.up = true;
    return [{ type: "link-up", link, peer }];
  }

  /** Marks links down for peers silent on them for deadtime. */
  tick(now: number): LinkEvent[] {
    const events: LinkEvent[] = [];
    for (const [link, peers] of this.#state) {
      for (const [peer, s] of peers) {
        if (s.up && now - s.lastHeard >= this.#opts.deadtimeMs) {
          s.up = false;
          events.push({ type: "link-down", link, peer });
        }
      }
    }
    return events;
  }

  /**
   * Whether a round of probes is due; if so, schedules the next round: sooner
   * while a peer that is up has no round-trip estimate yet.
   */
  probeDue(now: number): boolean {
    if (now < this.#nextProbeAt) return false;
    this.#nextProbeAt = now +
      (this.#missingRtt() ? this.#opts.firstProbeIntervalMs : this.#opts.probeIntervalMs);
    return true;
  }

  /** True while a link has heard nobody yet, or a peer that is up has no estimate. */
  #missingRtt(): boolean {
    for (const peers of this.#state.values()) {
      if (peers.size === 0) return true;
      for (const s of peers.values()) if (s.up && s.srtt === null) return true;
    }
    return false;
  }

  /** Records the echo of a probe sent at `sentAt` that came back from `peer` on `link`. */
  echoed(link: string, peer: string, sentAt: number, now: number): void {
    const s = this.#state.get(link)?.get(peer);
    const sample = now - sentAt;
    // An echo of a probe we never sent (or from the future) carries no information.
    if (!s || sample < 0 || sample > this.#opts.deadtimeMs * 4) return;
    s.srtt = s.srtt === null ? sample : s.srtt + RTT_ALPHA * (sample - s.srtt);
  }

  /** The address `peer` was last heard from on `link`, while the link is up for it. */
  sourceOf(link: string, peer: string): string | undefined {
    const s = this.#state.get(link)?.get(peer);
    return s?.up ? s.source : undefined;
  }

  /** Earliest time something changes without new input (a link going down, a probe). */
  nextDeadline(): number {
    let next = this.#nextProbeAt;
    for (const peers of this.#state.values()) {
      for (const s of peers.values()) {
        if (s.up) next = Math.min(next, s.lastHeard + this.#opts.deadtimeMs);
      }
    }
    return next;
  }

  /** Every link's state, for `/status`. */
  snapshot(now: number): LinkView[] {
    return [...this.#state].map(([name, peers]) => {
      const views = [...peers].sort(([a], [b]) => (a < b ? -1 : 1)).map(([peer, s]) => ({
        peer,
        up: s.up,
        lastHeardAgoMs: Math.max(0, Math.round(now - s.lastHeard)),
        rttMs: s.srtt === null ? null : Math.round(s.srtt * 100) / 100,
        source: s.source,
        packetsIn: s.packetsIn,
      }));
      return { name, up: views.some((v) => v.up), peers: views };
    });
  }

  #peers(link: string): Map<string, PeerOnLink> {
    const peers = this.#state.get(link);
    if (!peers) throw new Error(`LinkMonitor: unknown link ${link}`);
    return peers;
  }
}
