/**
 * A virtual cluster for reliable-channel tests: one {@link ReliableChannel} per node, a network
 * whose fault model decides each packet's fate (lost, delayed, duplicated), and virtual time.
 *
 * Each packet crosses the network as JSON and is parsed with `channelPacketSchema` on arrival,
 * as the daemon would do. Each node's "shell" also plays the part of the frame header: a packet
 * from an older incarnation of its sender is dropped (the wire's replay filter does that), and
 * one from a newer incarnation makes the node call `resetPeer` first (the daemon does that).
 *
 * @module
 */

import {
  type ChannelEvent,
  type ChannelPacket,
  channelPacketSchema,
  ReliableChannel,
  type ReliableChannelOptions,
} from "../../core/messaging/reliable_channel.ts";

/** A packet's fate: one delay (ms) per copy delivered; empty means lost. */
export type FaultModel = (from: string, to: string, now: number) => number[];

/** What a receiver saw from one sender, in order: messages, stream resets, its own restarts. */
export type LogEntry =
  | { kind: "msg"; payload: unknown }
  | { kind: "reset"; reason: "peer-restarted" | "peer-reset" }
  | { kind: "restart"; incarnation: number };

interface Scheduled {
  at: number;
  order: number;
  run: () => void;
}

/** A binary min-heap of scheduled actions by (time, insertion order), so runs replay exactly. */
class Agenda {
  readonly #items: Scheduled[] = [];
  #order = 0;

  get size(): number {
    return this.#items.length;
  }

  peek(): Scheduled | undefined {
    return this.#items[0];
  }

  push(at: number, run: () => void): void {
    const items = this.#items;
    items.push({ at, order: this.#order++, run });
    for (let i = items.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (!before(items[i], items[parent])) break;
      [items[i], items[parent]] = [items[parent], items[i]];
      i = parent;
    }
  }

  pop(): Scheduled | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last) {
      items[0] = last;
      for (let i = 0;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < items.length && before(items[l], items[m])) m = l;
        if (r < items.length && before(items[r], items[m])) m = r;
        if (m === i) break;
        [items[i], items[m]] = [items[m], items[i]];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Scheduled, b: Scheduled): boolean {
  return a.at < b.at || (a.at === b.at && a.order < b.order);
}

/** One simulated node: its channel, incarnation and what its shell knows of peers' incarnations. */
interface SimNode {
  channel: ReliableChannel;
  incarnation: number;
  knownIncarnation: Map<string, number>;
  /** The channel's nextDeadline() as of its last action (Infinity for none). */
  deadline: number;
}

/** Options of a {@link VirtualCluster}. */
export interface VirtualClusterOptions {
  /** Node names. */
  nodes: string[];
  /** Channel options apart from self and incarnation. */
  channel: Omit<ReliableChannelOptions, "self" | "incarnation">;
  /** Fate of each packet put on the network. */
  faults: FaultModel;
  /** Called after every step with the node(s) that acted, for invariant checks. */
  afterStep?: (cluster: VirtualCluster, acted: string[]) => void;
}

/** N nodes with reliable channels over a faulty virtual network, in virtual time. */
export class VirtualCluster {
  /** Virtual time (ms). */
  now = 0;
  /** Per receiver, per sender: what was delivered and where streams were reset. */
  readonly log = new Map<string, Map<string, LogEntry[]>>();
  /** Sender-side events (overflow, stream-refused) per node. */
  readonly senderEvents = new Map<string, ChannelEvent[]>();
  /** Counts sends and shell resets, to order them even within one virtual millisecond. */
  serial = 0;
  /** Each `resetPeer` a node's shell made because a peer's incarnation grew. */
  readonly shellResets: { node: string; peer: string; at: number; serial: number }[] = [];
  /** Packets put on the network and packets dropped by its fault model. */
  readonly traffic = { packets: 0, lost: 0, duplicated: 0 };
  readonly #opts: VirtualClusterOptions;
  readonly #nodes = new Map<string, SimNode>();
  readonly #agenda = new Agenda();

  /** Creates the nodes, each at incarnation 1. */
  constructor(opts: VirtualClusterOptions) {
    this.#opts = opts;
    for (const name of opts.nodes) {
      this.#nodes.set(name, this.#freshNode(name, 1));
      this.log.set(name, new Map());
      this.senderEvents.set(name, []);
    }
  }

  /** The channel of `name`. */
  channel(name: string): ReliableChannel {
    return this.#node(name).channel;
  }

  /** What `to` saw from `from` so far. */
  entries(to: string, from: string): LogEntry[] {
    const perSender = this.log.get(to)!;
    let list = perSender.get(from);
    if (!list) perSender.set(from, list = []);
    return list;
  }

  /** Runs `action` at virtual time `at` (at the current time if already past). */
  at(at: number, action: () => void): void {
    this.#agenda.push(Math.max(at, this.now), action);
  }

  /** Sends a payload from `from` to `to` now; returns what `send` returned. */
  send(from: string, to: string, payload: unknown): boolean {
    this.serial++;
    const ok = this.#node(from).channel.send(to, payload, this.now);
    this.#flush(from);
    return ok;
  }

  /** Replaces `name` with a fresh process at the next incarnation (its channel state is lost). */
  restart(name: string): void {
    const inc = this.#node(name).incarnation + 1;
    this.#nodes.set(name, this.#freshNode(name, inc));
    for (const from of this.#opts.nodes) {
      if (from !== name) this.entries(name, from).push({ kind: "restart", incarnation: inc });
    }
  }

  /** Processes the earliest arrival, scheduled action or channel deadline; false when quiet. */
  step(): boolean {
    const next = this.#agenda.peek();
    let tick = Infinity;
    for (const node of this.#nodes.values()) tick = Math.min(tick, node.deadline);
    if (next === undefined && tick === Infinity) return false;
    if (next !== undefined && next.at <= tick) {
      this.now = Math.max(this.now, next.at);
      this.#agenda.pop()!.run();
      return true;
    }
    this.now = Math.max(this.now, tick);
    const acted: string[] = [];
    for (const [name, node] of this.#nodes) {
      if (node.deadline > this.now) continue;
      node.channel.tick(this.now);
      this.#flush(name);
      acted.push(name);
    }
    this.#opts.afterStep?.(this, acted);
    return true;
  }

  /** Steps until quiet; throws if that takes more than `maxSteps` steps or `maxTime` virtual ms. */
  runUntilQuiet(maxSteps: number, maxTime: number): number {
    for (let steps = 0; steps < maxSteps; steps++) {
      if (this.now > maxTime) throw new Error(`not quiet by virtual time ${maxTime}`);
      if (!this.step()) return steps;
    }
    throw new Error(`not quiet after ${maxSteps} steps (virtual time ${this.now})`);
  }

  #node(name: string): SimNode {
    const node = this.#nodes.get(name);
    if (!node) throw new Error(`unknown node ${name}`);
    return node;
  }

  #freshNode(name: string, incarnation: number): SimNode {
    const channel = new ReliableChannel({ ...this.#opts.channel, self: name, incarnation });
    return { channel, incarnation, knownIncarnation: new Map(), deadline: Infinity };
  }

  /** Carries a node's drained packets onto the network and records its events. */
  #flush(name: string): void {
    const node = this.#node(name);
    const { packets, events } = node.channel.drain();
    node.deadline = node.channel.nextDeadline() ?? Infinity;
    for (const { to, packet } of packets) {
      const json = JSON.stringify(packet);
      const delays = this.#opts.faults(name, to, this.now);
      this.traffic.packets++;
      if (delays.length === 0) this.traffic.lost++;
      if (delays.length > 1) this.traffic.duplicated += delays.length - 1;
      for (const delay of delays) {
        this.#agenda.push(this.now + delay, () => this.#arrive(name, node.incarnation, to, json));
      }
    }
    for (const event of events) {
      if (event.type === "delivered") {
        this.entries(name, event.from).push({ kind: "msg", payload: event.payload });
      } else if (event.type === "stream-reset") {
        this.entries(name, event.peer).push({ kind: "reset", reason: event.reason });
      } else {
        this.senderEvents.get(name)!.push(event);
      }
    }
  }

  /** A packet reaches `to`: the frame-header checks of the shell, the schema, then the channel. */
  #arrive(from: string, fromInc: number, to: string, json: string): void {
    const node = this.#node(to);
    const known = node.knownIncarnation.get(from);
    if (known !== undefined && fromInc < known) return;
    if (known !== undefined && fromInc > known) {
      node.channel.resetPeer(from);
      this.shellResets.push({ node: to, peer: from, at: this.now, serial: ++this.serial });
    }
    node.knownIncarnation.set(from, fromInc);
    const packet: ChannelPacket = channelPacketSchema.parse(JSON.parse(json));
    node.channel.receive(from, packet, this.now);
    this.#flush(to);
    this.#opts.afterStep?.(this, [to]);
  }
}
