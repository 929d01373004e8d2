/**
 * qdisk: a shared disk as a quorum device, in the manner of RHCS qdiskd.
 *
 * Every node that can reach the disk (a shared block device, or a file on storage all
 * nodes see) owns one fixed-size slot: slot index = the node's position in the sorted
 * configured node list, or the configured `nodeId`. The slot layout is documented in
 * `plugins/qdisk_slot.ts`: magic, format version, slot index, wall-clock timestamp, a write
 * counter, state (running / master / leaving), the slot of the master the writer
 * follows, the node name and a CRC-32, so that a torn or foreign write is detected and
 * ignored rather than believed.
 *
 * Each check:
 *
 * 1. reads all {@link MAX_SLOTS} slots (positioned read);
 * 2. notes, with `ctx.now()`, when it last saw each other node's write counter change.
 *    A node is *alive on disk* while that was at most `tko x intervalMs` ago. Only our
 *    own clock is used, so clock skew between nodes does not matter. A node seen for
 *    the first time counts as just changed: after a restart we wait `tko` intervals
 *    before declaring anyone dead, rather than risk two masters;
 * 3. decides the master: alive nodes that claim mastership are followed (the lowest slot
 *    among them if several claim, in a race). When nobody alive claims it, the lowest-slot
 *    alive node claims it, but never on its first check, so that two nodes starting
 *    together both see each other first. A master keeps mastership while it is alive,
 *    even when a node with a lower slot comes back. A node whose own writes have failed
 *    for `tko` intervals gives up its claim, since the others have declared it dead by then;
 * 4. writes this node's slot (positioned write, then fsync).
 *
 * One check runs at a time. `stop()` waits for a running check, then marks the slot
 * `leaving`, so the others take over at their next check instead of after `tko` intervals.
 *
 * The device gives its `votes` to this node's partition when the master is in
 * `ctx.membership()`: the partition holding the master holds the disk. Since every node
 * reads the same disk, partitions agree on the master and at most one gets the votes,
 * except for a window of about one interval while mastership moves (as with qdiskd).
 * `healthy` is whether our own read and write succeeded; without them we give no votes.
 *
 * Limits: at most 64 slots; the disk is read and written through the page cache plus
 * fsync, which is coherent for a file on one machine but not for a block device shared
 * between machines (qdiskd uses O_DIRECT there, which needs aligned buffers).
 *
 * @example
 * ```json
 * { "device": "qdisk", "params": { "path": "/dev/disk/by-id/quorum", "votes": 1, "tko": 10 } }
 * ```
 * @module
 */

import { constants } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { z } from "zod";
import {
  defineQuorumDevice,
  MAX_DETAIL_CHARS,
  type QuorumDeviceContext,
  type QuorumDeviceInstance,
  type QuorumDeviceReading,
} from "./quorum_device.ts";
import {
  assertSlotBytes,
  decodeSlot,
  encodeSlot,
  MAX_SLOT_BYTES,
  MAX_SLOTS,
  MIN_SLOT_BYTES,
  type SlotState,
} from "./qdisk_slot.ts";

export { MAX_SLOTS };

/** The parameters of a qdisk device. */
export const qdiskParamsSchema = z.object({
  path: z.string().min(1).describe("the shared disk or file holding the slots"),
  votes: z.number().int().min(0).max(MAX_SLOTS).default(1).describe(
    "votes the partition holding the disk gets",
  ),
  intervalMs: z.number().int().positive().default(1000).describe(
    "how often each node writes its slot, ms; the daemon checks at this interval",
  ),
  tko: z.number().int().min(2).max(1000).default(10).describe(
    "intervals without a write after which a node is dead on disk",
  ),
  slotBytes: z.number().int().min(MIN_SLOT_BYTES).max(MAX_SLOT_BYTES).multipleOf(64).default(512)
    .describe("size of one node's slot, bytes"),
  nodeId: z.number().int().min(0).max(MAX_SLOTS - 1).optional().describe(
    "this node's slot; default: its position in the sorted node list",
  ),
});

/** Parsed qdisk parameters. */
export type QdiskParams = z.output<typeof qdiskParamsSchema>;

/** What one node currently believes about the disk, for tests and /status. */
export interface QdiskView {
  /** This node's slot. */
  slot: number;
  /** The master this node follows, or null while none is declared. */
  master: string | null;
  /** Whether this node is the master. */
  isMaster: boolean;
  /** Nodes alive on disk, this node included when its last write succeeded, by slot. */
  alive: string[];
  /** Slots whose content is unusable, with why. */
  corrupt: { slot: number; problem: string }[];
  /** Problems that are not about one slot's bytes (foreign names, a shared slot). */
  problems: string[];
}

/** What this node remembers about another slot between checks. */
interface Sighting {
  node: string;
  counter: number;
  state: SlotState;
  masterIndex: number | null;
  /** `ctx.now()` when the counter was last seen to change. */
  changedAt: number;
}

/** A qdisk instance, with {@link QdiskInstance.view} for inspection. */
export interface QdiskInstance extends QuorumDeviceInstance {
  /** This node's current beliefs (as of the last check). */
  view(): QdiskView;
}

/** Returns the slot index of `ctx.node`, or throws when it cannot have one. */
function slotIndexOf(params: QdiskParams, ctx: QuorumDeviceContext): number {
  if (ctx.nodes.length > MAX_SLOTS) {
    throw new RangeError(`qdisk: at most ${MAX_SLOTS} nodes, got ${ctx.nodes.length}`);
  }
  if (params.nodeId !== undefined) return params.nodeId;
  const index = [...ctx.nodes].sort().indexOf(ctx.node);
  if (index < 0) throw new RangeError(`qdisk: node ${ctx.node} is not a configured node`);
  return index;
}

/** Creates a qdisk instance for `ctx.node` (the device's `create`). */
export function createQdisk(params: QdiskParams, ctx: QuorumDeviceContext): QdiskInstance {
  assertSlotBytes(params.slotBytes);
  const index = slotIndexOf(params, ctx);
  const deadAfterMs = params.tko * params.intervalMs;
  const configured = new Set(ctx.nodes);
  const seen = new Map<number, Sighting>();
  let counter = 0; // the write counter of the last successful write (0: not yet known)
  let attempted = 0; // the counter of the last write tried: it may have landed if it failed
  let writes = 0; // successful writes by this instance
  let claimed = false;
  let lastWriteOkAt: number | null = null;
  let stopped = false;
  let inFlight: Promise<QuorumDeviceReading> | null = null;
  let view: QdiskView = {
    slot: index,
    master: null,
    isMaster: false,
    alive: [],
    corrupt: [],
    problems: [],
  };

  const openDisk = () =>
    open(params.path, constants.O_RDWR | constants.O_CREAT, 0o600) as Promise<FileHandle>;

  async function readAll(handle: FileHandle): Promise<Uint8Array> {
    const region = new Uint8Array(MAX_SLOTS * params.slotBytes);
    let filled = 0;
    // A short read means the file ends there: the rest stays zero (never written).
    for (let attempt = 0; attempt < 16 && filled < region.length; attempt++) {
      const { bytesRead } = await handle.read(region, filled, region.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return region;
  }

  async function writeOwn(handle: FileHandle, bytes: Uint8Array): Promise<void> {
    let written = 0;
    for (let attempt = 0; attempt < 16 && written < bytes.length; attempt++) {
      const r = await handle.write(
        bytes,
        written,
        bytes.length - written,
        index * params.slotBytes + written,
      );
      written += r.bytesWritten;
    }
    if (written !== bytes.length) throw new Error(`short write (${written} of ${bytes.length})`);
    await handle.sync();
  }

  /**
   * Notes what the other slots say. Returns corrupt slots, problems, and the name of
   * another node writing our slot (a configuration error), if any.
   */
  function observe(region: Uint8Array, now: number) {
    const corrupt: { slot: number; problem: string }[] = [];
    const problems: string[] = [];
    let sharedWith: string | null = null;
    for (let i = 0; i < MAX_SLOTS; i++) {
      const bytes = region.subarray(i * params.slotBytes, (i + 1) * params.slotBytes);
      const decoded = decodeSlot(bytes, i);
      if (decoded.kind === "empty") {
        if (i !== index) seen.delete(i);
        continue;
      }
      if (decoded.kind === "corrupt") {
        corrupt.push({ slot: i, problem: decoded.problem });
        continue; // keep the last good sighting: it ages out by itself
      }
      const slot = decoded.slot;
      if (i === index) {
        if (writes === 0) {
          // Continue the generation a previous run of this node left, so peers see a change.
          if (slot.node === ctx.node) counter = slot.counter;
          else ctx.log(`qdisk: slot ${i} held ${slot.node}; overwriting it`);
        } else if (
          slot.node !== ctx.node || (slot.counter !== counter && slot.counter !== attempted)
        ) {
          sharedWith = slot.node === ctx.node ? "another writer" : slot.node;
          problems.push(`slot ${i} is also written by ${sharedWith}: check nodeId`);
        }
        continue;
      }
      if (!configured.has(slot.node)) {
        problems.push(`slot ${i} holds unknown node ${slot.node}`);
        seen.delete(i);
        continue;
      }
      const before = seen.get(i);
      const changed = !before || before.counter !== slot.counter || before.node !== slot.node;
      seen.set(i, {
        node: slot.node,
        counter: slot.counter,
        state: slot.state,
        masterIndex: slot.masterIndex,
        changedAt: changed ? now : before.changedAt,
      });
    }
    return { corrupt, problems, sharedWith };
  }

  /** Decides the master from the sightings; updates `claimed` (never set when !mayClaim). */
  function decide(now: number, mayClaim: boolean): { master: number | null; alive: number[] } {
    if (!mayClaim) claimed = false;
    const aliveOthers = [...seen.entries()]
      .filter(([, s]) => s.state !== "leaving" && now - s.changedAt <= deadAfterMs)
      .map(([i]) => i);
    if (claimed && lastWriteOkAt !== null && now - lastWriteOkAt > deadAfterMs) {
      // The others have declared us dead by now; someone else may have taken over.
      claimed = false;
      ctx.log(`qdisk: no write for ${now - lastWriteOkAt} ms, giving up mastership`);
    }
    const alive = [index, ...aliveOthers].sort((a, b) => a - b);
    const claimants = aliveOthers.filter((i) => seen.get(i)?.state === "master");
    if (claimed) claimants.push(index);
    if (claimants.length > 0) {
      const master = Math.min(...claimants);
      if (claimed && master !== index) {
        claimed = false;
        ctx.log(`qdisk: ${seen.get(master)?.node} (slot ${master}) is master, stepping down`);
      }
      return { master, alive };
    }
    // Not on the first check: by the second, every node that started within an interval
    // of us has written its slot, so two nodes starting together do not both claim.
    if (alive[0] === index && writes > 0 && mayClaim) {
      claimed = true;
      ctx.log(`qdisk: claiming mastership (lowest alive slot ${index})`);
      return { master: index, alive };
    }
    return { master: null, alive }; // the lowest alive node will claim on its next write
  }

  /** The counter of the next write: past any write that may have landed. */
  const nextCounter = () => {
    const last = Math.max(counter, attempted);
    return last >= Number.MAX_SAFE_INTEGER ? 1 : last + 1;
  };

  const nameOf = (i: number) => (i === index ? ctx.node : seen.get(i)?.node ?? `slot ${i}`);

  function reading(
    votes: number,
    healthy: boolean,
    detail: string,
  ): QuorumDeviceReading {
    return { votes, score: 0, healthy, detail: detail.slice(0, MAX_DETAIL_CHARS) };
  }

  function check(signal: AbortSignal): Promise<QuorumDeviceReading> {
    if (stopped) return Promise.resolve(reading(0, false, `qdisk ${params.path}: stopped`));
    if (inFlight) {
      // One check at a time: a check abandoned on timeout may still be stuck in the disk.
      return Promise.resolve(
        reading(0, false, `qdisk ${params.path}: previous check still running`),
      );
    }
    const current = checkOnce(signal).finally(() => {
      inFlight = null;
    });
    inFlight = current;
    return current;
  }

  async function checkOnce(signal: AbortSignal): Promise<QuorumDeviceReading> {
    let handle: FileHandle | undefined;
    try {
      signal.throwIfAborted();
      const now = ctx.now();
      handle = await openDisk();
      const region = await readAll(handle);
      signal.throwIfAborted();
      const { corrupt, problems, sharedWith } = observe(region, now);
      const shared = sharedWith !== null;
      const { master, alive } = decide(now, !shared);
      attempted = nextCounter();
      const own = encodeSlot({
        index,
        node: ctx.node,
        timestampMs: now,
        counter: attempted,
        state: claimed ? "master" : "running",
        masterIndex: shared ? null : master,
      }, params.slotBytes);
      signal.throwIfAborted();
      await writeOwn(handle, own);
      counter = attempted;
      writes++;
      lastWriteOkAt = now;

      const masterName = master === null || shared ? null : nameOf(master);
      view = {
        slot: index,
        master: masterName,
        isMaster: claimed,
        alive: alive.map(nameOf),
        corrupt,
        problems,
      };
      const membership = ctx.membership();
      const holds = masterName !== null && membership !== null && membership.includes(masterName);
      const votes = holds ? params.votes : 0;
      const parts = [
        masterName === null
          ? "no master yet"
          : `master ${masterName} ${
            membership === null
              ? "(membership in transition)"
              : holds
              ? "(in our partition)"
              : "(not in our partition)"
          }`,
        `${alive.length} alive on disk (${alive.map(nameOf).join(", ")})`,
        ...corrupt.map((c) => `slot ${c.slot} corrupt (${c.problem})`),
        ...problems,
      ];
      return reading(votes, !shared, `qdisk ${params.path}: ${parts.join("; ")}`);
    } catch (err) {
      claimed = false;
      const message = err instanceof Error ? err.message : String(err);
      view = { ...view, master: null, isMaster: false, alive: [] };
      return reading(0, false, `qdisk ${params.path}: cannot use the disk: ${message}`);
    } finally {
      await handle?.close().catch(() => {});
    }
  }

  async function stop(): Promise<void> {
    if (stopped) return;
    stopped = true;
    await inFlight; // so that its write cannot land after ours
    if (writes === 0) return; // never wrote: nothing to take back
    // Say "leaving" so the others need not wait tko intervals to take over. Best effort.
    let handle: FileHandle | undefined;
    try {
      handle = await openDisk();
      attempted = nextCounter();
      await writeOwn(
        handle,
        encodeSlot({
          index,
          node: ctx.node,
          timestampMs: ctx.now(),
          counter: attempted,
          state: "leaving",
          masterIndex: null,
        }, params.slotBytes),
      );
    } catch (err) {
      ctx.log(`qdisk: could not mark slot ${index} as leaving: ${String(err)}`);
    } finally {
      claimed = false;
      await handle?.close().catch(() => {});
    }
  }

  return { check, stop, view: () => view };
}

/** The qdisk quorum device. */
export default defineQuorumDevice<QdiskParams>({
  kind: "quorum-device",
  name: "qdisk",
  version: "1.0.0",
  description: "shared-disk quorum device: the partition holding the disk master gets its votes",
  params: qdiskParamsSchema,
  votes: (params) => params.votes,
  intervalMs: 1000,
  timeoutMs: 1000,
  create: createQdisk,
});
