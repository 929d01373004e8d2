/**
 * A Vigil node on a Linux-HA Heartbeat 3.0.6 network: the I/O shell around
 * {@link HeartbeatPeers}.
 *
 * It binds one UDP socket (default 0.0.0.0:694), sends our signed `t=status` heartbeat
 * every keepalive (broadcast and/or unicast), and receives: parse, authenticate the way
 * heartbeat does (outer trailer for netstring, inner `auth` for text), drop our own
 * packets and unknown senders, and feed the tracker. Drops are counted by reason.
 *
 * Besides heartbeats it sends exactly two kinds of reply, both required by a real
 * heartbeat (verified against 3.0.6, see `heartbeat_peers.ts`):
 * - `repnodes` to a `reqnodes` addressed to us: without it a starting heartbeat that
 *   picked us never reaches `active` nor opens its API (cl_status);
 * - `NS_ackmsg` at least every {@link HB_ACK_EVERY} sequence numbers of each peer:
 *   without acks heartbeat pauses its API clients after 250 unacknowledged messages.
 *
 * Nothing else: because we never skip a sequence number heartbeat never asks us for a
 * retransmission, and we do not take part in v1 resource negotiation, so a heartbeat
 * peer sees an `active` node that holds no resources.
 *
 * Independent of the daemon: the caller supplies the keyring, the persisted generation
 * (which must increase on every start, or peers drop us as a replay or restart
 * themselves) and the clock.
 *
 * @example
 * ```ts
 * const link = await HeartbeatLink.open({
 *   node: "vigil1", nodes: ["hb1"], keyring, port: 694, broadcast: ["10.0.0.255"],
 *   keepaliveMs: 1000, deadtimeMs: 10000, generation: 7, now: () => performance.now(),
 * });
 * link.onEvent = (e) => console.log(e);
 * ```
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import { readFileSync } from "node:fs";
import type { Keyring } from "../wire/authkeys.ts";
import { type HbAuthReason, hbSigner, verifyHbPacket } from "../wire/heartbeat_auth.ts";
import {
  type HbField,
  hbField,
  hbFieldText,
  type HbParseReason,
  type HbSigner,
  parseHbPacket,
  signHbNetstring,
} from "../wire/heartbeat_message.ts";
import {
  buildAckFields,
  buildRepnodesFields,
  buildStatusFields,
  type HbPeerEvent,
  type HbPeerSnapshot,
  type HbReceiveOutcome,
  HeartbeatPeers,
  parseHbHex,
} from "./heartbeat_peers.ts";

/** Options of {@link HeartbeatLink.open}. */
export interface HeartbeatLinkOptions {
  /** Our node name, as listed (`node` line) in the heartbeat peers' ha.cf. */
  node: string;
  /** Heartbeat node names we accept messages from (others are dropped and counted). */
  nodes: readonly string[];
  /** Our 16-byte UUID; default: derived from the node name, so it is stable. */
  uuid?: Uint8Array;
  /** Keys; the active key signs (must be sha1, md5 or crc with id 0..15) and verifies. */
  keyring: Keyring;
  /** UDP port to bind and send to (heartbeat's `udpport`, default 694). */
  port: number;
  /** Local address to bind (default 0.0.0.0, which also receives broadcasts). */
  bind?: string;
  /** Broadcast addresses to send our heartbeat to (heartbeat's `bcast`). */
  broadcast?: string[];
  /** Unicast addresses to send our heartbeat to (heartbeat's `ucast`). */
  unicast?: string[];
  /** Interval between our heartbeats, ms. */
  keepaliveMs: number;
  /** Our deadtime (advertised as `dt`, and applied to peers that advertise none), ms. */
  deadtimeMs: number;
  /** Our generation (`hg`), persisted by the caller and increased on every start. */
  generation: number;
  /** Monotonic clock, ms. */
  now(): number;
  /** Called for every peer event. */
  onEvent?: (event: HbPeerEvent) => void;
  /** Add the inner `auth` field, like heartbeat's default `msgfmt classic` (default true). */
  innerAuth?: boolean;
  /**
   * Acknowledge each peer at least every this many of its sequence numbers (default
   * {@link HB_ACK_EVERY}; 0 disables acks, which stalls heartbeat's API within minutes).
   */
  ackEvery?: number;
  /** Wall clock in seconds for `ts` (default: Date.now()/1000). */
  wallClockSec?: () => number;
}

/** Why a received datagram was dropped by the link. */
export type HbLinkDropReason =
  | HbParseReason
  | HbAuthReason
  | Exclude<HbReceiveOutcome, "accepted">
  | "own"
  | "unknown-node";

/** Link counters for /status. */
export interface HeartbeatLinkStats {
  /** Datagrams sent (one per destination per message). */
  sent: number;
  /** `repnodes` answers sent (to `reqnodes` addressed to us). */
  repnodesSent: number;
  /** `NS_ackmsg` acknowledgements sent. */
  acksSent: number;
  /** Sends that failed. */
  sendErrors: number;
  /** Datagrams received. */
  received: number;
  /** Messages accepted by the tracker. */
  accepted: number;
  /** Dropped datagrams by reason. */
  dropped: Record<string, number>;
  /** Our last sequence number and generation. */
  seq: number;
  /** Our generation. */
  generation: number;
}

/** Acknowledge a peer's messages at least every this many sequence numbers (heartbeat: 10). */
export const HB_ACK_EVERY = 10;

/** Status progression of our own heartbeats, as heartbeat itself goes through it. */
const STATUS_SEQUENCE = ["init", "up"] as const;
/** Dead-timer resolution: how often the tracker is ticked at most. */
const MAX_TICK_MS = 100;

/** A stable UUID (v5 layout) for a node name. */
function uuidFor(node: string): Uint8Array {
  const digest = createHash("sha1").update(`vigil-heartbeat-compat:${node}`).digest();
  const uuid = new Uint8Array(digest.subarray(0, 16));
  uuid[6] = (uuid[6] & 0x0f) | 0x50;
  uuid[8] = (uuid[8] & 0x3f) | 0x80;
  return uuid;
}

function readLoadAverage(): string {
  try {
    return readFileSync("/proc/loadavg", "utf8").trim().slice(0, 100);
  } catch {
    return "0.00 0.00 0.00 1/1 1";
  }
}

/** A running heartbeat-compatible link; see the module doc. */
export class HeartbeatLink {
  /** Called for every peer event (may be replaced at any time). */
  onEvent: ((event: HbPeerEvent) => void) | undefined;

  readonly #opts: HeartbeatLinkOptions;
  readonly #socket: Socket;
  readonly #peers: HeartbeatPeers;
  readonly #signer: HbSigner;
  readonly #uuid: Uint8Array;
  readonly #nodes: ReadonlySet<string>;
  readonly #destinations: readonly string[];
  readonly #dropped = new Map<string, number>();
  #sendTimer: ReturnType<typeof setInterval> | undefined;
  #tickTimer: ReturnType<typeof setInterval> | undefined;
  #seq = 0;
  #sent = 0;
  #repnodesSent = 0;
  #acksSent = 0;
  /** Per peer: the generation and seq we last acknowledged (bounded by the `nodes` list). */
  readonly #acked = new Map<string, { generation: number; seq: number }>();
  #sendErrors = 0;
  #received = 0;
  #accepted = 0;
  #closed = false;

  private constructor(opts: HeartbeatLinkOptions, socket: Socket) {
    this.#opts = opts;
    this.#socket = socket;
    this.#peers = new HeartbeatPeers({ deadtimeMs: opts.deadtimeMs });
    this.#signer = hbSigner(opts.keyring.active);
    this.#uuid = opts.uuid ?? uuidFor(opts.node);
    this.#nodes = new Set(opts.nodes.map((n) => n.toLowerCase()));
    this.#destinations = [...(opts.broadcast ?? []), ...(opts.unicast ?? [])];
    this.onEvent = opts.onEvent;
  }

  /**
   * Bind the socket and start heartbeating.
   *
   * @param opts see {@link HeartbeatLinkOptions}.
   * @returns the running link.
   * @throws RangeError on invalid options (timers, uuid, key unusable by heartbeat);
   *   Error if the socket cannot be bound.
   */
  static async open(opts: HeartbeatLinkOptions): Promise<HeartbeatLink> {
    if (!Number.isInteger(opts.keepaliveMs) || opts.keepaliveMs < 10) {
      throw new RangeError(`HeartbeatLink: keepaliveMs must be an integer >= 10`);
    }
    if (!Number.isInteger(opts.deadtimeMs) || opts.deadtimeMs <= 2 * opts.keepaliveMs) {
      // heartbeat's own rule: "Dead time is too small compared to keepalive".
      throw new RangeError(`HeartbeatLink: deadtimeMs must exceed 2 x keepaliveMs`);
    }
    if (opts.ackEvery !== undefined && (!Number.isInteger(opts.ackEvery) || opts.ackEvery < 0)) {
      throw new RangeError(`HeartbeatLink: ackEvery must be a non-negative integer`);
    }
    if (!Number.isSafeInteger(opts.generation) || opts.generation < 0) {
      throw new RangeError(`HeartbeatLink: generation must be a non-negative integer`);
    }
    if (opts.uuid !== undefined && opts.uuid.length !== 16) {
      throw new RangeError(`HeartbeatLink: uuid must be 16 bytes`);
    }
    if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) {
      throw new RangeError(`HeartbeatLink: port must be 1..65535`);
    }
    hbSigner(opts.keyring.active); // throws early for a key heartbeat cannot use
    const socket = createSocket({ type: "udp4", reuseAddr: false });
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      socket.once("error", onError);
      socket.bind(opts.port, opts.bind ?? "0.0.0.0", () => {
        socket.off("error", onError);
        resolve();
      });
    }).catch((e) => {
      socket.close();
      throw new Error(
        `HeartbeatLink: cannot bind UDP ${opts.bind ?? "0.0.0.0"}:${opts.port}: ${e}`,
      );
    });
    socket.setBroadcast(true);
    const link = new HeartbeatLink(opts, socket);
    link.#start();
    return link;
  }

  #start(): void {
    this.#socket.on("message", (data: Buffer) => this.#onDatagram(data));
    // Errors after bind (e.g. ICMP unreachable on unicast) must not crash the process.
    this.#socket.on("error", () => this.#sendErrors++);
    this.#sendStatus();
    this.#sendTimer = setInterval(() => this.#sendStatus(), this.#opts.keepaliveMs);
    const tickMs = Math.min(MAX_TICK_MS, this.#opts.keepaliveMs);
    this.#tickTimer = setInterval(() => this.#emit(this.#peers.tick(this.#opts.now())), tickMs);
  }

  #drop(reason: HbLinkDropReason): void {
    this.#dropped.set(reason, (this.#dropped.get(reason) ?? 0) + 1);
  }

  #emit(events: readonly HbPeerEvent[]): void {
    for (const e of events) this.onEvent?.(e);
  }

  #ttl(): number {
    return this.#nodes.size + 1 + 1; // ha.cf node count (peers + us) + hopfudge 1
  }

  #wallClockSec(): number {
    return Math.floor(this.#opts.wallClockSec?.() ?? Date.now() / 1000);
  }

  #sendStatus(): void {
    if (this.#closed) return;
    this.#seq++;
    const status = STATUS_SEQUENCE[this.#seq - 1] ?? "active";
    this.#broadcast(buildStatusFields({
      node: this.#opts.node,
      uuid: this.#uuid,
      status,
      deadtimeMs: this.#opts.deadtimeMs,
      seq: this.#seq,
      generation: this.#opts.generation,
      timeSec: this.#wallClockSec(),
      load: readLoadAverage(),
      ttl: this.#ttl(),
    }));
  }

  #sendRepnodes(dest: string, destUuid: Uint8Array | undefined): void {
    if (this.#closed) return;
    this.#seq++; // one seq space for every sequenced message we send
    this.#repnodesSent++;
    this.#broadcast(buildRepnodesFields({
      node: this.#opts.node,
      uuid: this.#uuid,
      dest,
      destUuid,
      seq: this.#seq,
      generation: this.#opts.generation,
      timeSec: this.#wallClockSec(),
      load: readLoadAverage(),
      ttl: this.#ttl(),
    }));
  }

  #sendAck(dest: string, destUuid: Uint8Array | undefined, ackseq: number): void {
    if (this.#closed) return;
    this.#acksSent++;
    this.#broadcast(buildAckFields({
      node: this.#opts.node,
      uuid: this.#uuid,
      dest,
      destUuid,
      ackseq,
      generation: this.#opts.generation,
      timeSec: this.#wallClockSec(),
      ttl: this.#ttl(),
    }));
  }

  /** Acknowledge a peer's sequenced message if HB_ACK_EVERY have arrived since the last ack. */
  #maybeAck(src: string, fields: readonly HbField[], destUuid: Uint8Array | undefined): void {
    const type = hbFieldText(fields, "t") ?? "";
    const seq = parseHbHex(hbFieldText(fields, "seq"));
    const generation = parseHbHex(hbFieldText(fields, "hg"));
    if (type.startsWith("NS_") || seq === undefined || generation === undefined) return;
    const last = this.#acked.get(src);
    const base = last !== undefined && last.generation === generation ? last.seq : 0;
    const every = this.#opts.ackEvery ?? HB_ACK_EVERY;
    if (every === 0 || seq - base < every) return;
    this.#acked.set(src, { generation, seq });
    this.#sendAck(src, destUuid, seq);
  }

  /** Sign and send to every destination (heartbeat addresses by `dest`, not by IP). */
  #broadcast(fields: HbField[]): void {
    const bytes = signHbNetstring(fields, this.#signer, {
      innerAuth: this.#opts.innerAuth ?? true,
    });
    for (const address of this.#destinations) {
      this.#socket.send(bytes, this.#opts.port, address, (err) => {
        if (err) this.#sendErrors++;
        else this.#sent++;
      });
    }
  }

  #onDatagram(data: Uint8Array): void {
    this.#received++;
    const parsed = parseHbPacket(data);
    if (!parsed.ok) return this.#drop(parsed.reason);
    const auth = verifyHbPacket(parsed.packet, this.#opts.keyring);
    if (!auth.ok) return this.#drop(auth.reason);
    const src = hbFieldText(parsed.packet.fields, "src");
    if (src === this.#opts.node) return this.#drop("own");
    if (src === undefined || !this.#nodes.has(src)) return this.#drop("unknown-node");
    const result = this.#peers.receive(parsed.packet, this.#opts.now());
    if (result.outcome !== "accepted") return this.#drop(result.outcome);
    this.#accepted++;
    this.#emit(result.events);
    const fields = parsed.packet.fields;
    const uuid = hbField(fields, "srcuuid");
    const srcUuid = uuid?.type === 1 && uuid.value.length === 16 ? uuid.value : undefined;
    if (
      hbFieldText(fields, "t") === "reqnodes" && hbFieldText(fields, "dest") === this.#opts.node
    ) {
      this.#sendRepnodes(src, srcUuid);
    }
    this.#maybeAck(src, fields, srcUuid);
  }

  /** @returns every tracked heartbeat peer. */
  peers(): HbPeerSnapshot[] {
    return this.#peers.snapshot(this.#opts.now());
  }

  /** @returns link counters. */
  stats(): HeartbeatLinkStats {
    return {
      sent: this.#sent,
      repnodesSent: this.#repnodesSent,
      acksSent: this.#acksSent,
      sendErrors: this.#sendErrors,
      received: this.#received,
      accepted: this.#accepted,
      dropped: Object.fromEntries(this.#dropped),
      seq: this.#seq,
      generation: this.#opts.generation,
    };
  }

  /** Stop heartbeating and close the socket. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sendTimer);
    clearInterval(this.#tickTimer);
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }
}
