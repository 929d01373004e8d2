/**
 * Tracker of Linux-HA Heartbeat 3.0.6 peers, from their authenticated messages: pure,
 * no I/O, time passed in as `now` (ms, monotonic).
 *
 * Rules, as a real heartbeat applies them (see the protocol notes §4, §6):
 * - `hg` (generation, hex) lower than the last seen from that node is a replay: dropped
 *   and counted. Higher means the node restarted: an event, and seq tracking starts over.
 * - `seq` (hex) is shared by every sequenced type (not `NS_*`); one at or below the last
 *   accepted in this generation is a duplicate: dropped and counted.
 * - Only `t=status` refreshes a node's dead timer (as heartbeat's status handler does);
 *   its `st` is the node's status and its `dt` (hex ms) is **that node's** deadtime,
 *   which wins over the configured one. `t=shutdone` or `st=dead` means it left.
 * - {@link HeartbeatPeers.tick} declares a node dead once it has been silent for longer
 *   than its deadtime.
 *
 * {@link buildStatusFields} builds our own `t=status` heartbeat in heartbeat's field order;
 * {@link buildRepnodesFields} and {@link buildAckFields} the two replies a heartbeat peer
 * needs from us (see there).
 *
 * @example
 * ```ts
 * const peers = new HeartbeatPeers({ deadtimeMs: 2000 });
 * peers.receive(packet, now);           // after verifyHbPacket(packet, keyring).ok
 * for (const e of peers.tick(now)) console.log(e);
 * ```
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { type HbField, hbField, hbFieldText, hbString } from "../wire/heartbeat_message.ts";

/** Something that changed about a peer. `at` is the `now` that produced it. */
export type HbPeerEvent =
  | { type: "up"; node: string; status: string; generation: number; at: number }
  | { type: "status"; node: string; from: string; to: string; at: number }
  | {
    type: "restarted";
    node: string;
    fromGeneration: number;
    toGeneration: number;
    at: number;
  }
  | {
    type: "dead";
    node: string;
    /** `timeout`: silent past its deadtime; `shutdown`: it announced leaving. */
    reason: "timeout" | "shutdown";
    /** Time since its last status message. */
    silentMs: number;
    /** The deadtime that applied (advertised `dt`, else configured). */
    deadtimeMs: number;
    at: number;
  };

/** What {@link HeartbeatPeers.receive} did with a message. */
export type HbReceiveOutcome =
  | "accepted"
  | "replay"
  | "duplicate"
  | "malformed"
  | "too-many-nodes";

/** A peer as shown by `/status`. */
export interface HbPeerSnapshot {
  /** Node name (`src`). */
  name: string;
  /** Last `st` it sent, `dead` once declared dead, `unknown` before any status message. */
  status: string;
  /** Its current generation (`hg`). */
  generation: number;
  /** Last accepted sequence number in this generation, if any. */
  lastSeq: number | null;
  /** Time since its last status message, null if none yet. */
  lastHeardAgoMs: number | null;
  /** The deadtime applied to it: its advertised `dt`, else the configured deadtime. */
  deadtimeMs: number;
  /** Its `srcuuid` as 32 hex digits, null if it sent none. */
  uuid: string | null;
}

/** Counters of received messages by outcome. */
export type HbPeerCounters = Record<HbReceiveOutcome, number>;

/** Options of {@link HeartbeatPeers}. */
export interface HeartbeatPeersOptions {
  /** Deadtime for nodes that advertise no `dt` (ms, positive). */
  deadtimeMs: number;
  /** How many distinct nodes to track at most (default 64). */
  maxNodes?: number;
}

interface NodeState {
  name: string;
  status: string;
  alive: boolean;
  generation: number;
  lastSeq: number | null;
  lastHeard: number | null;
  advertisedDeadtimeMs: number | null;
  uuid: string | null;
}

/** Largest `dt` taken seriously: a day. */
const MAX_DEADTIME_MS = 86_400_000;
const MAX_NAME_LENGTH = 64;
const MAX_STATUS_LENGTH = 32;

/**
 * Parse a heartbeat counter: lowercase/uppercase hex without `0x`, at most 13 digits
 * (exact in a double).
 *
 * @param text the field value.
 * @returns the number, or undefined if absent or malformed.
 */
export function parseHbHex(text: string | undefined): number | undefined {
  if (text === undefined || !/^[0-9a-fA-F]{1,13}$/.test(text)) return undefined;
  return parseInt(text, 16);
}

function isToken(text: string | undefined, max: number): text is string {
  return text !== undefined && text.length >= 1 && text.length <= max &&
    /^[\x21-\x7e]+$/.test(text);
}

/** Pure tracker of heartbeat peers; see the module doc for the rules. */
export class HeartbeatPeers {
  readonly #nodes = new Map<string, NodeState>();
  readonly #deadtimeMs: number;
  readonly #maxNodes: number;
  readonly #counters: HbPeerCounters = {
    accepted: 0,
    replay: 0,
    duplicate: 0,
    malformed: 0,
    "too-many-nodes": 0,
  };

  /** @param options configured deadtime and the node bound. */
  constructor(options: HeartbeatPeersOptions) {
    if (!Number.isInteger(options.deadtimeMs) || options.deadtimeMs < 1) {
      throw new RangeError(`HeartbeatPeers: deadtimeMs must be a positive integer`);
    }
    const maxNodes = options.maxNodes ?? 64;
    if (!Number.isInteger(maxNodes) || maxNodes < 1) {
      throw new RangeError(`HeartbeatPeers: maxNodes must be a positive integer`);
    }
    this.#deadtimeMs = options.deadtimeMs;
    this.#maxNodes = maxNodes;
  }

  /**
   * Take one authenticated message.
   *
   * @param msg the message (a parsed packet or anything with its fields).
   * @param now current time, ms.
   * @returns what happened to it and the events it caused.
   */
  receive(
    msg: { readonly fields: readonly HbField[] },
    now: number,
  ): { outcome: HbReceiveOutcome; events: HbPeerEvent[] } {
    const outcome = this.#receive(msg.fields, now);
    this.#counters[outcome.outcome]++;
    return outcome;
  }

  #receive(
    fields: readonly HbField[],
    now: number,
  ): { outcome: HbReceiveOutcome; events: HbPeerEvent[] } {
    const malformed = { outcome: "malformed" as const, events: [] };
    const src = hbFieldText(fields, "src");
    const type = hbFieldText(fields, "t");
    const generation = parseHbHex(hbFieldText(fields, "hg"));
    if (!isToken(src, MAX_NAME_LENGTH) || !isToken(type, 64) || generation === undefined) {
      return malformed;
    }
    const sequenced = !type.startsWith("NS_");
    const seq = parseHbHex(hbFieldText(fields, "seq"));
    if (sequenced && seq === undefined) return malformed;

    const isStatus = type === "status";
    let st: string | undefined;
    let dt: number | undefined;
    if (isStatus) {
      st = hbFieldText(fields, "st");
      if (!isToken(st, MAX_STATUS_LENGTH)) return malformed;
      const dtText = hbFieldText(fields, "dt");
      if (dtText !== undefined) {
        dt = parseHbHex(dtText);
        if (dt === undefined || dt < 1 || dt > MAX_DEADTIME_MS) return malformed;
      }
    }

    let node = this.#nodes.get(src);
    const events: HbPeerEvent[] = [];
    if (node === undefined) {
      if (this.#nodes.size >= this.#maxNodes) return { outcome: "too-many-nodes", events };
      node = {
        name: src,
        status: "unknown",
        alive: false,
        generation,
        lastSeq: null,
        lastHeard: null,
        advertisedDeadtimeMs: null,
        uuid: null,
      };
      this.#nodes.set(src, node);
    } else if (generation < node.generation) {
      return { outcome: "replay", events };
    } else if (generation > node.generation) {
      events.push({
        type: "restarted",
        node: src,
        fromGeneration: node.generation,
        toGeneration: generation,
        at: now,
      });
      node.generation = generation;
      node.lastSeq = null;
    }
    if (sequenced && seq !== undefined) {
      if (node.lastSeq !== null && seq <= node.lastSeq) return { outcome: "duplicate", events };
      node.lastSeq = seq;
    }

    const uuid = hbField(fields, "srcuuid");
    if (uuid !== undefined && uuid.type === 1 && uuid.value.length === 16) {
      node.uuid = Buffer.from(uuid.value).toString("hex");
    }

    if (isStatus && st !== undefined) {
      if (dt !== undefined) node.advertisedDeadtimeMs = dt;
      const silentMs = node.lastHeard === null ? 0 : now - node.lastHeard;
      node.lastHeard = now;
      if (st === "dead") {
        this.#markDead(node, "shutdown", silentMs, now, events);
      } else if (!node.alive) {
        node.alive = true;
        node.status = st;
        events.push({ type: "up", node: src, status: st, generation, at: now });
      } else if (node.status !== st) {
        events.push({ type: "status", node: src, from: node.status, to: st, at: now });
        node.status = st;
      }
    } else if (type === "shutdone") {
      const silentMs = node.lastHeard === null ? 0 : now - node.lastHeard;
      this.#markDead(node, "shutdown", silentMs, now, events);
    }
    return { outcome: "accepted", events };
  }

  #deadtimeOf(node: NodeState): number {
    return node.advertisedDeadtimeMs ?? this.#deadtimeMs;
  }

  #markDead(
    node: NodeState,
    reason: "timeout" | "shutdown",
    silentMs: number,
    now: number,
    events: HbPeerEvent[],
  ): void {
    if (!node.alive) {
      node.status = "dead";
      return;
    }
    node.alive = false;
    node.status = "dead";
    events.push({
      type: "dead",
      node: node.name,
      reason,
      silentMs,
      deadtimeMs: this.#deadtimeOf(node),
      at: now,
    });
  }

  /**
   * Declare dead every live node silent for longer than its deadtime.
   *
   * @param now current time, ms.
   * @returns the dead events, by node name.
   */
  tick(now: number): HbPeerEvent[] {
    const events: HbPeerEvent[] = [];
    for (const node of [...this.#nodes.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      if (!node.alive || node.lastHeard === null) continue;
      const silentMs = now - node.lastHeard;
      if (silentMs > this.#deadtimeOf(node)) this.#markDead(node, "timeout", silentMs, now, events);
    }
    return events;
  }

  /**
   * @param now current time, ms.
   * @returns every tracked node, by name.
   */
  snapshot(now: number): HbPeerSnapshot[] {
    return [...this.#nodes.values()]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((n) => ({
        name: n.name,
        status: n.status,
        generation: n.generation,
        lastSeq: n.lastSeq,
        lastHeardAgoMs: n.lastHeard === null ? null : Math.round(now - n.lastHeard),
        deadtimeMs: this.#deadtimeOf(n),
        uuid: n.uuid,
      }));
  }

  /** @returns names of the nodes currently alive, sorted. */
  alive(): string[] {
    return [...this.#nodes.values()].filter((n) => n.alive).map((n) => n.name).sort();
  }

  /** @returns a copy of the receive counters. */
  counters(): HbPeerCounters {
    return { ...this.#counters };
  }
}

/** Inputs of {@link buildStatusFields}. */
export interface HbStatusFieldsInput {
  /** Our node name as listed in the peers' ha.cf (lowercase). */
  node: string;
  /** Our 16-byte UUID; keep it stable across restarts (peers log and cache every change). */
  uuid: Uint8Array;
  /** Our status: `init`, `up` or `active` (heartbeat goes through them in that order). */
  status: string;
  /** Our deadtime in ms; peers use it as our dead timer. */
  deadtimeMs: number;
  /** Our sequence number, +1 per sequenced message, from 1. */
  seq: number;
  /** Our generation: persisted, increased on every start. */
  generation: number;
  /** Wall-clock seconds (`time(NULL)`). */
  timeSec: number;
  /** `/proc/loadavg` text (informational). */
  load: string;
  /** Hop budget: number of ha.cf nodes + hopfudge (1). */
  ttl: number;
}

function assertCount(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`buildStatusFields: ${name} must be an integer >= ${min}, got ${value}`);
  }
}

/**
 * The fields of our `t=status` heartbeat, in heartbeat's order: `t st dt protocol src
 * srcuuid seq hg ts ld ttl`. Numbers are lowercase hex except `protocol` and `ttl`.
 * `protocol=1` matters: without it every receiver turns off flow control cluster-wide.
 * Sign with `signHbNetstring` (which appends `auth`).
 *
 * @param input our identity and counters.
 * @returns the fields.
 * @throws RangeError on a uuid that is not 16 bytes or a counter out of range.
 */
export function buildStatusFields(input: HbStatusFieldsInput): HbField[] {
  if (input.uuid.length !== 16) {
    throw new RangeError(`buildStatusFields: uuid must be 16 bytes, got ${input.uuid.length}`);
  }
  if (!isToken(input.node, MAX_NAME_LENGTH) || !isToken(input.status, MAX_STATUS_LENGTH)) {
    throw new RangeError(`buildStatusFields: node and status must be printable tokens`);
  }
  if (input.load.includes("\n")) throw new RangeError(`buildStatusFields: load has a newline`);
  assertCount("deadtimeMs", input.deadtimeMs, 1);
  assertCount("seq", input.seq, 1);
  assertCount("generation", input.generation, 0);
  assertCount("timeSec", input.timeSec, 0);
  assertCount("ttl", input.ttl, 1);
  const hex = (n: number) => n.toString(16);
  return [
    hbString("t", "status"),
    hbString("st", input.status),
    hbString("dt", hex(input.deadtimeMs)),
    hbString("protocol", "1"),
    hbString("src", input.node),
    { name: "srcuuid", type: 1, value: input.uuid.slice() },
    hbString("seq", hex(input.seq)),
    hbString("hg", hex(input.generation)),
    hbString("ts", hex(input.timeSec)),
    hbString("ld", input.load),
    hbString("ttl", String(input.ttl)),
  ];
}

/** Inputs of {@link buildRepnodesFields}. */
export interface HbRepnodesFieldsInput {
  /** Our node name. */
  node: string;
  /** Our 16-byte UUID. */
  uuid: Uint8Array;
  /** The node that asked (`src` of its `reqnodes`). */
  dest: string;
  /** Its `srcuuid`, if it sent one (16 bytes). */
  destUuid?: Uint8Array;
  /** Our next sequence number (shared with our status messages). */
  seq: number;
  /** Our generation. */
  generation: number;
  /** Wall-clock seconds. */
  timeSec: number;
  /** `/proc/loadavg` text. */
  load: string;
  /** Hop budget (ha.cf nodes + 1). */
  ttl: number;
}

/**
 * The fields of our `t=repnodes` answer to a heartbeat's `t=reqnodes`.
 *
 * Why it is needed: a starting heartbeat sends `reqnodes` to the first peer it hears and
 * stays in status `up`, with its API socket (cl_status) closed, until that peer answers
 * (`HBDoMsg_T_REPNODES` ends in `comm_now_up()`). If that peer is us, we must answer.
 *
 * What it says: nothing about membership. A `nodelist` field would make heartbeat add
 * every listed node and **remove** every configured node not listed; we leave it out so
 * heartbeat's node table stays exactly its ha.cf. `delnodelist=" "` (heartbeat's own
 * encoding of an empty list) marks the request answered, so it is not repeated.
 * Order as heartbeat sends it: `dest t delnodelist destuuid` then the control fields.
 *
 * @param input our identity, the asker and our counters.
 * @returns the fields.
 * @throws RangeError on invalid uuids or counters.
 */
export function buildRepnodesFields(input: HbRepnodesFieldsInput): HbField[] {
  assertAddressed("buildRepnodesFields", input);
  if (input.load.includes("\n")) throw new RangeError(`buildRepnodesFields: load has a newline`);
  assertCount("seq", input.seq, 1);
  assertCount("generation", input.generation, 0);
  assertCount("timeSec", input.timeSec, 0);
  assertCount("ttl", input.ttl, 1);
  const hex = (n: number) => n.toString(16);
  return [
    hbString("dest", input.dest),
    hbString("t", "repnodes"),
    hbString("delnodelist", " "),
    ...(input.destUuid === undefined
      ? []
      : [{ name: "destuuid", type: 1 as const, value: input.destUuid.slice() }]),
    hbString("src", input.node),
    { name: "srcuuid", type: 1, value: input.uuid.slice() },
    hbString("seq", hex(input.seq)),
    hbString("hg", hex(input.generation)),
    hbString("ts", hex(input.timeSec)),
    hbString("ld", input.load),
    hbString("ttl", String(input.ttl)),
  ];
}

/** Checks the sender and addressee of a reply: 16-byte uuids, printable names. */
function assertAddressed(
  what: string,
  input: { node: string; uuid: Uint8Array; dest: string; destUuid?: Uint8Array },
): void {
  if (input.uuid.length !== 16 || (input.destUuid !== undefined && input.destUuid.length !== 16)) {
    throw new RangeError(`${what}: uuids must be 16 bytes`);
  }
  if (!isToken(input.node, MAX_NAME_LENGTH) || !isToken(input.dest, MAX_NAME_LENGTH)) {
    throw new RangeError(`${what}: node and dest must be printable tokens`);
  }
}

/** Inputs of {@link buildAckFields}. */
export interface HbAckFieldsInput {
  /** Our node name. */
  node: string;
  /** Our 16-byte UUID. */
  uuid: Uint8Array;
  /** The node whose messages we acknowledge. */
  dest: string;
  /** Its `srcuuid`, if known (16 bytes). */
  destUuid?: Uint8Array;
  /** The highest of its sequence numbers we acknowledge. */
  ackseq: number;
  /** Our generation. */
  generation: number;
  /** Wall-clock seconds. */
  timeSec: number;
  /** Hop budget (ha.cf nodes + 1). */
  ttl: number;
}

/**
 * The fields of an `NS_ackmsg` (flow-control acknowledgement), in heartbeat's order:
 * `t dest ackseq destuuid src srcuuid hg ts ttl` (no `seq`, no `ld`: `NS_` types are
 * unsequenced).
 *
 * Why it is needed: heartbeat keeps every message it sends in a history until every live
 * peer has acknowledged it. Without acks from us, after 250 unacknowledged messages
 * (`MAXMSGHIST/2`; 50 s at a 200 ms keepalive) it logs `all clients are now paused` and
 * its API clients (cl_status, ccm, crmd) hang; at 500 it logs `Message hist queue is
 * filling up` on every message. Heartbeat itself acks about every 10th message.
 *
 * @param input our identity, the peer and the acknowledged sequence number.
 * @returns the fields.
 * @throws RangeError on invalid uuids or counters.
 */
export function buildAckFields(input: HbAckFieldsInput): HbField[] {
  assertAddressed("buildAckFields", input);
  assertCount("ackseq", input.ackseq, 1);
  assertCount("generation", input.generation, 0);
  assertCount("timeSec", input.timeSec, 0);
  assertCount("ttl", input.ttl, 1);
  const hex = (n: number) => n.toString(16);
  return [
    hbString("t", "NS_ackmsg"),
    hbString("dest", input.dest),
    hbString("ackseq", hex(input.ackseq)),
    ...(input.destUuid === undefined
      ? []
      : [{ name: "destuuid", type: 1 as const, value: input.destUuid.slice() }]),
    hbString("src", input.node),
    { name: "srcuuid", type: 1, value: input.uuid.slice() },
    hbString("hg", hex(input.generation)),
    hbString("ts", hex(input.timeSec)),
    hbString("ttl", String(input.ttl)),
  ];
}
