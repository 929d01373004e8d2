/**
 * Runs a node's quorum devices (ping nodes, qdisk, third-party plugins): loads
 * each definition, checks its parameters, reads it every interval with a
 * bounded check, and reports the sum of what they say (votes for this node's
 * partition, health score) whenever it changes.
 *
 * @module
 */

import { resolve } from "node:path";
import { findQuorumDevice } from "../../plugins/builtin_quorum_devices.ts";
import { type LoadedPlugins, loadPluginOfKind } from "../../plugins/loader.ts";
import {
  parseQuorumDeviceParams,
  type QuorumDeviceDefinition,
  type QuorumDeviceInstance,
  type QuorumDeviceReading,
  runQuorumDeviceCheck,
} from "../../plugins/quorum_device.ts";
import type { NodeConfigFile } from "../config/node_config.ts";

/** One configured device, loaded and validated. */
export interface LoadedQuorumDevice {
  /** Built-in name or plugin path as configured. */
  plugin: string;
  /** The definition. */
  definition: QuorumDeviceDefinition<unknown>;
  /** Parsed parameters. */
  params: unknown;
  /** Interval between checks (the params' own `intervalMs` when they have one). */
  intervalMs: number;
  /** Bound of one check. */
  timeoutMs: number;
  /** Votes it adds to the expected votes. */
  votes: number;
}

/** A device's state for `/status`. */
export interface QuorumDeviceStatus {
  /** Built-in name or plugin path. */
  plugin: string;
  /** Votes it can add to expected votes. */
  expectedVotes: number;
  /** Last reading, or null before the first. */
  reading: QuorumDeviceReading | null;
  /** Milliseconds since the last reading. */
  readAgoMs: number | null;
}

/** The sum of the devices' readings. */
export interface QuorumDeviceSum {
  /** Votes for this node's partition. */
  votes: number;
  /** Health score added to this node's placement scores. */
  score: number;
  /** Membership generation every reading was taken under, or null if they differ or none was. */
  generation: number | null;
}

/**
 * Loads and validates every configured device. Built-in names are looked up
 * first; anything else is a plugin file path, relative to the config file.
 *
 * @throws PluginError naming the config file, the device and the field.
 */
export async function loadQuorumDevices(
  cfg: NodeConfigFile,
  configFile: string,
  plugins?: LoadedPlugins,
): Promise<LoadedQuorumDevice[]> {
  const out: LoadedQuorumDevice[] = [];
  for (const [i, device] of cfg.quorum.devices.entries()) {
    const source = `${configFile}: quorum.devices[${i}]`;
    let definition = findQuorumDevice(device.plugin) ??
      plugins?.quorumDevices.find((d) => d.name === device.plugin);
    if (!definition) {
      // Not a known name: a plugin file, relative to the configuration.
      const path = resolve(configFile, "..", device.plugin);
      definition = await loadPluginOfKind(path, "quorum-device");
    }
    const params = parseQuorumDeviceParams(definition, device.params, source);
    const own = params as { intervalMs?: unknown; timeoutMs?: unknown };
    const intervalMs = typeof own.intervalMs === "number" ? own.intervalMs : definition.intervalMs;
    // A device's own per-probe timeout needs room inside the check's bound.
    const timeoutMs = Math.max(
      definition.timeoutMs,
      typeof own.timeoutMs === "number" ? own.timeoutMs + 500 : 0,
    );
    out.push({
      plugin: device.plugin,
      definition,
      params,
      intervalMs,
      timeoutMs,
      votes: definition.votes(params),
    });
  }
  return out;
}

/** What the runner needs from the daemon. */
export interface QuorumDeviceRunnerOptions {
  /** This node. */
  node: string;
  /** Configured node names. */
  nodes: readonly string[];
  /** The agreed membership now (null in transition). */
  membership(): readonly string[] | null;
  /** The agreed membership's generation now (null in transition). */
  generation(): number | null;
  /** Called when the summed reading changes. */
  onChange(sum: QuorumDeviceSum): void;
  /** A log line. */
  log(line: string): void;
  /** Monotonic ms, for "read ago". */
  now(): number;
}

/** Runs loaded devices on their own timers. */
export class QuorumDeviceRunner {
  readonly #devices: LoadedQuorumDevice[];
  readonly #opts: QuorumDeviceRunnerOptions;
  readonly #instances: QuorumDeviceInstance[] = [];
  readonly #readings: (QuorumDeviceReading | null)[];
  readonly #readAt: (number | null)[];
  readonly #readUnder: (number | null)[];
  readonly #running: boolean[];
  readonly #timers: ReturnType<typeof setTimeout>[] = [];
  #last: QuorumDeviceSum | null = null;
  #stopped = false;

  /** Creates instances for every device (nothing runs until {@link start}). */
  constructor(devices: LoadedQuorumDevice[], opts: QuorumDeviceRunnerOptions) {
    this.#devices = devices;
    this.#opts = opts;
    this.#readings = devices.map(() => null);
    this.#readAt = devices.map(() => null);
    this.#readUnder = devices.map(() => null);
    this.#running = devices.map(() => false);
    for (const d of devices) {
      this.#instances.push(d.definition.create(d.params, {
        node: opts.node,
        nodes: opts.nodes,
        membership: opts.membership,
        now: () => Date.now(),
        log: (line) => opts.log(`quorum device ${d.plugin}: ${line}`),
      }));
    }
  }

  /** Votes all devices can add to the expected votes. */
  get expectedVotes(): number {
    return this.#devices.reduce((sum, d) => sum + d.votes, 0);
  }

  /** Starts reading every device now and then every interval. */
  start(): void {
    this.#devices.forEach((_, i) => this.#loop(i));
  }

  /**
   * Reads every device again now (the membership changed: readings taken under
   * the old one no longer count). A device whose check is running is left to it.
   */
  recheck(): void {
    this.#devices.forEach((_, i) => {
      if (this.#running[i] || this.#stopped) return;
      clearTimeout(this.#timers[i]);
      this.#loop(i);
    });
  }

  /** Stops every device. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers) clearTimeout(t);
    await Promise.all(this.#instances.map((i) => i.stop().catch(() => {})));
  }

  /** Every device's state for `/status`. */
  status(): QuorumDeviceStatus[] {
    const now = this.#opts.now();
    return this.#devices.map((d, i) => ({
      plugin: d.plugin,
      expectedVotes: d.votes,
      reading: this.#readings[i],
      readAgoMs: this.#readAt[i] === null ? null : Math.round(now - this.#readAt[i]!),
    }));
  }

  async #loop(i: number): Promise<void> {
    if (this.#stopped) return;
    const d = this.#devices[i];
    const generation = this.#opts.generation();
    this.#running[i] = true;
    const reading = await runQuorumDeviceCheck(this.#instances[i], d.timeoutMs);
    this.#running[i] = false;
    if (this.#stopped) return;
    // The membership changed during the check: the reading may describe the old one.
    if (this.#opts.generation() !== generation) {
      this.#timers[i] = setTimeout(() => this.#loop(i), 0);
      return;
    }
    const before = this.#readings[i];
    if (before && before.healthy !== reading.healthy) {
      this.#opts.log(
        `quorum device ${d.plugin} ${reading.healthy ? "healthy" : "UNHEALTHY"}: ${reading.detail}`,
      );
    }
    // A device never gives more votes than it was configured to add.
    this.#readings[i] = { ...reading, votes: Math.min(reading.votes, d.votes) };
    this.#readAt[i] = this.#opts.now();
    this.#readUnder[i] = generation;
    this.#report();
    this.#timers[i] = setTimeout(() => this.#loop(i), d.intervalMs);
  }

  #report(): void {
    let votes = 0;
    let score = 0;
    const generations = new Set(this.#readUnder);
    for (const r of this.#readings) {
      if (!r) continue;
      votes += r.votes;
      score += r.score;
    }
    const generation = generations.size === 1 ? this.#readUnder[0] : null;
    const last = this.#last;
    if (last && last.votes === votes && last.score === score && last.generation === generation) {
      return;
    }
    this.#last = { votes, score, generation };
    this.#opts.onChange(this.#last);
  }
}
