/**
 * Builds the scheduler's working set from a CibDocument: options, nodes and
 * their state (online, unclean, standby, pending, shutdown), the resource
 * tree (clone instances expanded, meta attributes inherited), and the status
 * section's operation history folded into each resource's current role, the
 * nodes it is active on, failures and the bans failures imply.
 *
 * The rules are Pacemaker 2.1's (lib/pengine/unpack.c): the newest entry by
 * call-id decides; a probe returning 7 means stopped; a failed monitor means
 * active and failed; a failed stop bans the node (and makes it unclean, or
 * blocks the resource when fencing is impossible); on-fail decides between
 * restart, stop, block, ignore, standby and fence; a resource active on an
 * offline node makes that node unclean when fencing is enabled.
 *
 * @module
 */

import type { CibDocument } from "../../cib/schema/document.ts";
import type {
  Clone,
  Group,
  OnFail as OnFailName,
  Operation,
  Primitive,
} from "../../cib/schema/resources.ts";
import type { NodeStatus, OperationRecord } from "../../cib/schema/status.ts";
import {
  type CloneSettings,
  OnFail,
  type OnFailValue,
  type Requires,
  Role,
  type RoleValue,
  type SchedNode,
  type SchedOptions,
  type SchedResource,
} from "./model.ts";
import { char2score, INFINITY, newScoreTable } from "./scores.ts";
import { isAnonClone, resourceLocation, topResource, WorkingSet } from "./working_set.ts";

/** Options for building the working set. */
export interface UnpackOptions {
  /** "Now" in ms since the epoch; defaults to the CIB's executionDate, else 0. */
  now?: number;
  /**
   * Fencing can be carried out even though the CIB has no fence device (`stonith:`
   * primitive): the daemon fences with its configured driver.
   */
  fencingAvailable?: boolean;
}

/** Pacemaker's op-status numbers. */
const ExecStatus = {
  Pending: -1,
  Done: 0,
  Cancelled: 1,
  Timeout: 2,
  NotSupported: 3,
  Error: 4,
  ErrorHard: 5,
  ErrorFatal: 6,
  NotInstalled: 7,
  NotConnected: 8,
  Invalid: 9,
} as const;

const STATUS_BY_NAME: Record<string, number> = {
  "pending": ExecStatus.Pending,
  "done": ExecStatus.Done,
  "cancelled": ExecStatus.Cancelled,
  "timeout": ExecStatus.Timeout,
  "not-supported": ExecStatus.NotSupported,
  "error": ExecStatus.Error,
  "error-hard": ExecStatus.ErrorHard,
  "error-fatal": ExecStatus.ErrorFatal,
  "not-installed": ExecStatus.NotInstalled,
  "not-connected": ExecStatus.NotConnected,
  "invalid": ExecStatus.Invalid,
};

/** The policy a configured on-fail names (fence without STONITH is handled where used). */
const CONFIGURED_ON_FAIL: Readonly<Record<OnFailName, OnFailValue>> = {
  ignore: OnFail.Ignore,
  block: OnFail.Block,
  stop: OnFail.Stop,
  restart: OnFail.Recover,
  fence: OnFail.Fence,
  standby: OnFail.Standby,
  demote: OnFail.Demote,
};

/** OCF exit codes the scheduler interprets. */
const Rc = {
  Ok: 0,
  Error: 1,
  InvalidParam: 2,
  Unimplemented: 3,
  InsufficientPriv: 4,
  NotInstalled: 5,
  NotConfigured: 6,
  NotRunning: 7,
  RunningPromoted: 8,
  FailedPromoted: 9,
  Degraded: 190,
  DegradedPromoted: 191,
} as const;

/** Builds the working set (nodes, resources, status) from a CIB document. */
export function unpackCib(cib: CibDocument, opts: UnpackOptions = {}): WorkingSet {
  const config = cib.config;
  const o = config.options;
  const haveStonithResource = opts.fencingAvailable === true || hasFenceDevice(config.resources);
  const nowMs = opts.now ?? (cib.status.executionDate ?? 0) * 1000;
  let noQuorumPolicy = o.noQuorumPolicy;
  if (noQuorumPolicy === "suicide" && !o.stonithEnabled) noQuorumPolicy = "stop";
  const options: SchedOptions = {
    stonithEnabled: o.stonithEnabled,
    haveStonithResource,
    stonithAction: o.stonithAction,
    haveQuorum: cib.status.haveQuorum ?? false,
    noQuorumPolicy,
    symmetricCluster: o.symmetricCluster,
    stopOrphanResources: o.stopOrphanResources,
    stopAllResources: o.stopAllResources,
    maintenanceMode: o.maintenanceMode,
    startFailureIsFatal: o.startFailureIsFatal,
    concurrentFencing: false,
    nowSeconds: Math.floor(nowMs / 1000),
  };
  const ws = new WorkingSet(options);
  unpackNodes(ws, cib);
  registerFailures(ws, cib);
  const builder = new ResourceBuilder(ws, cib);
  builder.unpackResources();
  new StatusUnpacker(ws, cib, builder).unpack();
  return ws;
}

function hasFenceDevice(resources: CibDocument["config"]["resources"]): boolean {
  for (const r of resources) {
    if (r.kind === "primitive" && isStonithAgent(r.agent)) return true;
    if (r.kind === "group" && r.members.some((m) => isStonithAgent(m.agent))) return true;
    if (r.kind === "clone") {
      const c = r.resource;
      if (c.kind === "primitive" && isStonithAgent(c.agent)) return true;
      if (c.kind === "group" && c.members.some((m) => isStonithAgent(m.agent))) return true;
    }
  }
  return false;
}

/** Whether an agent spec names a fence device. */
export function isStonithAgent(agent: string): boolean {
  return agent.startsWith("stonith:");
}

function unpackNodes(ws: WorkingSet, cib: CibDocument): void {
  for (const n of cib.config.nodes) {
    const attrs = new Map<string, string>();
    const id = n.id ?? n.name;
    attrs.set("#uname", n.name);
    attrs.set("#id", id);
    attrs.set("#kind", "cluster");
    const isDc = cib.status.dc !== undefined && (cib.status.dc === n.name || cib.status.dc === id);
    attrs.set("#is_dc", isDc ? "true" : "false");
    for (const [k, v] of Object.entries(n.attributes)) attrs.set(k, v);
    const node: SchedNode = {
      index: -1,
      name: n.name,
      id,
      attrs,
      online: false,
      // Startup fencing: every node is unclean until its status entry is seen.
      unclean: true,
      standby: false,
      pending: false,
      shutdown: false,
      maintenance: false,
      expectedUp: false,
      unseen: true,
      isDc,
      weight: 0,
      numResources: 0,
      fenceReason: undefined,
      unpacked: false,
    };
    if (isDc) ws.dcNode = node;
    ws.addNode(node);
    // Standby configured on the node (flag or permanent attribute) is applied
    // when the status entry is unpacked, as Pacemaker does.
  }
}

/** Whether a configuration string means true (crm_is_true). */
export function isTrue(value: string | undefined): boolean {
  if (value === undefined) return false;
  return ["true", "on", "yes", "y", "1"].includes(value.trim().toLowerCase());
}

interface InheritedMeta {
  priority?: number;
  stickiness?: number;
  migrationThreshold?: number;
  failureTimeoutMs?: number;
  targetRole?: RoleValue | "started";
  isManaged?: boolean;
  multipleActive?: SchedResource["multipleActive"];
  requires?: string;
  strings: Record<string, string>;
}

type AnyMeta = Primitive["meta"] | Group["meta"] | Clone["meta"];

/** Builds the resource tree; also creates clone instances on demand (orphans). */
export class ResourceBuilder {
  /** First resource whose configured (base) id is the key, within clones. */
  private readonly firstByBase = new Map<string, SchedResource>();
  /** Configuration of each clone, by clone id, for creating more instances. */
  private readonly cloneConfig = new Map<string, { clone: Clone; meta: InheritedMeta }>();
  /** Number of instances created per clone id. */
  private readonly totalClones = new Map<string, number>();
  constructor(private readonly ws: WorkingSet, private readonly cib: CibDocument) {}

  /** Unpacks every configured resource in configuration order, then sorts by priority. */
  unpackResources(): void {
    const top: SchedResource[] = [];
    for (const r of this.cib.config.resources) {
      const base: InheritedMeta = { strings: {} };
      if (r.kind === "primitive") top.push(this.primitive(r, null, base, ""));
      else if (r.kind === "group") top.push(this.group(r, null, base, ""));
      else top.push(this.clone(r));
    }
    // pe__cmp_rsc_priority, stable.
    this.ws.resources = top.slice().sort((a, b) => b.priority - a.priority);
  }

  /** Looks a resource up as unpack_find_resource's pe_find_resource does. */
  findResource(id: string): SchedResource | undefined {
    const exact = this.ws.byId.get(id);
    if (exact) return exact;
    return this.firstByBase.get(id);
  }

  /** Creates one more instance of a clone (pe__create_clone_child). */
  createCloneChild(clone: SchedResource): SchedResource {
    const cfg = this.cloneConfig.get(clone.id);
    if (!cfg) throw new Error(`no clone configuration for ${clone.id}`);
    const n = this.totalClones.get(clone.id) ?? 0;
    this.totalClones.set(clone.id, n + 1);
    const suffix = `:${n}`;
    const child = cfg.clone.resource;
    const instance = child.kind === "primitive"
      ? this.primitive(child, clone, cfg.meta, suffix)
      : this.group(child, clone, cfg.meta, suffix);
    clone.children.push(instance);
    if (n >= (clone.clone?.max ?? 0)) markOrphan(instance);
    return instance;
  }

  private clone(c: Clone): SchedResource {
    const meta = inherit({ strings: {} }, c.meta);
    const rsc = this.newResource(c.id, c.id, "clone", null, meta, "");
    const childAgents = c.resource.kind === "primitive"
      ? [c.resource.agent]
      : c.resource.members.map((m) => m.agent);
    // Only OCF agents support unique clones; others are forced anonymous.
    const ocfOnly = childAgents.every((a) => a.startsWith("ocf:") || !a.includes(":"));
    rsc.unique = c.meta.globallyUnique && ocfOnly;
    if (!rsc.unique && c.meta.cloneNodeMax > 1) {
      this.ws.warnings.push(
        `${c.id}: clone-node-max ignored: an anonymous clone runs one instance per node`,
      );
    }
    const settings: CloneSettings = {
      max: c.meta.cloneMax ?? this.ws.nodes.length,
      // Anonymous instances are indistinguishable on a node: one per node.
      nodeMax: rsc.unique ? c.meta.cloneNodeMax : 1,
      interleave: c.meta.interleave,
      ordered: c.meta.ordered,
      notify: c.meta.notify,
      promotable: c.meta.promotable,
    };
    rsc.clone = settings;
    rsc.counts = new Int32Array(this.ws.nodes.length);
    rsc.meta["globally-unique"] = rsc.unique ? "true" : "false";
    rsc.meta["interleave"] = settings.interleave ? "true" : "false";
    // Clones are slightly sticky unless stickiness is configured (see report).
    if (meta.stickiness === undefined && this.cib.config.options.stickiness === 0) {
      meta.stickiness = 1;
      rsc.stickiness = 1;
    }
    this.cloneConfig.set(rsc.id, { clone: c, meta });
    const max = settings.max;
    // Pacemaker creates one instance even for clone-max=0, so orphans can attach.
    const count = Math.max(max, 1);
    for (let i = 0; i < count; i++) this.createCloneChild(rsc);
    return rsc;
  }

  private group(
    g: Group,
    parent: SchedResource | null,
    inherited: InheritedMeta,
    suffix: string,
  ): SchedResource {
    const meta = inherit(inherited, g.meta);
    const rsc = this.newResource(g.id + suffix, g.id, "group", parent, meta, suffix);
    for (const m of g.members) rsc.children.push(this.primitive(m, rsc, meta, suffix));
    return rsc;
  }

  private primitive(
    p: Primitive,
    parent: SchedResource | null,
    inherited: InheritedMeta,
    suffix: string,
  ): SchedResource {
    const meta = inherit(inherited, p.meta);
    const rsc = this.newResource(p.id + suffix, p.id, "primitive", parent, meta, suffix);
    rsc.agent = p.agent;
    rsc.isFenceDevice = isStonithAgent(p.agent);
    rsc.operations = p.operations;
    for (const [k, v] of Object.entries(p.params)) rsc.params[k] = String(v);
    rsc.requires = resolveRequires(this.ws, rsc, meta.requires);
    return rsc;
  }

  private newResource(
    id: string,
    baseId: string,
    variant: SchedResource["variant"],
    parent: SchedResource | null,
    meta: InheritedMeta,
    suffix: string,
  ): SchedResource {
    const ws = this.ws;
    const o = ws.options;
    const top = parent ? topResource(parent) : null;
    const inClone = top !== null && top.variant === "clone";
    const rsc: SchedResource = {
      id,
      baseId,
      index: -1,
      variant,
      parent,
      children: [],
      agent: "",
      isFenceDevice: false,
      params: {},
      meta: { ...meta.strings },
      operations: [],
      priority: meta.priority ?? 0,
      stickiness: meta.stickiness ?? this.cib.config.options.stickiness,
      migrationThreshold: meta.migrationThreshold ?? this.cib.config.options.migrationThreshold,
      failureTimeoutMs: meta.failureTimeoutMs ?? this.cib.config.options.failureTimeoutMs,
      targetRole: meta.targetRole === "started" ? undefined : meta.targetRole,
      managed: !o.maintenanceMode && (meta.isManaged ?? true),
      multipleActive: meta.multipleActive ?? "stop_start",
      requires: "quorum",
      unique: inClone ? (top.unique) : true,
      groupColocated: true,
      groupOrdered: true,
      orphan: false,
      critical: true,
      role: Role.Stopped,
      nextRole: Role.Unknown,
      runningOn: [],
      knownOn: null,
      failed: false,
      stopNeeded: false,
      blocked: false,
      failureIgnored: false,
      startPending: false,
      cloneName: undefined,
      activeRecurring: null,
      allowed: newScoreTable(ws.nodes.length),
      provisional: true,
      allocating: false,
      merging: false,
      allocatedTo: null,
      allocatedScore: 0,
      assignScores: null,
      counts: null,
      thisWith: [],
      withThis: [],
      actions: [],
      notes: [],
    };
    // get_target_role: Promoted/Unpromoted only make sense for promotable clones.
    if (rsc.targetRole !== undefined && rsc.targetRole > Role.Started) {
      const promotable = top?.clone?.promotable ?? false;
      if (!promotable || rsc.targetRole > Role.Unpromoted) rsc.targetRole = undefined;
    }
    if (rsc.targetRole !== undefined) rsc.nextRole = rsc.targetRole;
    ws.addResource(rsc);
    if (inClone && suffix !== "" && !this.firstByBase.has(baseId)) {
      this.firstByBase.set(baseId, rsc);
    }
    // Symmetric clusters allow every node at 0 ("symmetric_default").
    if (o.symmetricCluster) {
      for (const node of ws.nodes) rsc.allowed[node.index] = 0;
    }
    return rsc;
  }

  /** Creates a primitive for history of a resource no longer configured. */
  createOrphan(id: string, agent: string): SchedResource {
    const rsc = this.newResource(id, id, "primitive", null, { strings: {} }, "");
    rsc.agent = agent;
    rsc.isFenceDevice = isStonithAgent(agent);
    rsc.requires = resolveRequires(this.ws, rsc, undefined);
    markOrphan(rsc);
    if (!this.ws.options.stopOrphanResources) {
      rsc.managed = false;
    } else {
      resourceLocation(this.ws, rsc, null, -INFINITY);
    }
    this.ws.resources.push(rsc);
    return rsc;
  }
}

function markOrphan(rsc: SchedResource): void {
  rsc.orphan = true;
  for (const c of rsc.children) markOrphan(c);
}

/** Child meta = own explicit value, else the parent's (explicit or inherited). */
function inherit(parent: InheritedMeta, meta: AnyMeta): InheritedMeta {
  const out: InheritedMeta = { ...parent, strings: { ...parent.strings } };
  if (meta.priority !== 0) out.priority = meta.priority;
  else if (out.priority === undefined) out.priority = 0;
  if (meta.stickiness !== undefined) out.stickiness = meta.stickiness;
  if (meta.migrationThreshold !== undefined) out.migrationThreshold = meta.migrationThreshold;
  if (meta.failureTimeoutMs !== undefined) out.failureTimeoutMs = meta.failureTimeoutMs;
  if (meta.targetRole !== undefined) {
    out.targetRole = meta.targetRole === "Started"
      ? "started"
      : Role[meta.targetRole as keyof typeof Role] as RoleValue;
  }
  if (meta.isManaged === false) out.isManaged = false;
  else if (out.isManaged === undefined) out.isManaged = true;
  if (meta.multipleActive !== "stop_start") out.multipleActive = meta.multipleActive;
  if (meta.requires !== undefined) out.requires = meta.requires;
  const s = out.strings;
  s["priority"] = String(out.priority ?? 0);
  if (out.stickiness !== undefined) s["resource-stickiness"] = String(out.stickiness);
  if (meta.targetRole !== undefined) s["target-role"] = meta.targetRole;
  s["is-managed"] = String(out.isManaged ?? true);
  return out;
}

/** unpack_requires: the default depends on fencing and the quorum policy. */
function resolveRequires(ws: WorkingSet, rsc: SchedResource, value: string | undefined): Requires {
  const o = ws.options;
  if (value === "nothing") return "nothing";
  if (value === "quorum") return "quorum";
  if (value === "fencing") return "fencing";
  if (value === "unfencing") {
    if (rsc.isFenceDevice || !o.stonithEnabled) return "quorum";
    return "fencing";
  }
  if (rsc.isFenceDevice) return "quorum";
  if (o.stonithEnabled) return "fencing";
  if (o.noQuorumPolicy === "ignore") return "nothing";
  return "quorum";
}

/** The history of one resource on one node, as the unpacker walks it. */
interface HistoryEntry {
  record: OperationRecord;
  /** Operation key, e.g. "rsc_monitor_10000". */
  key: string;
  isProbe: boolean;
  execStatus: number;
  exitStatus: number;
  expected: number;
}

/** Folds the status section into the working set. */
class StatusUnpacker {
  constructor(
    private readonly ws: WorkingSet,
    private readonly cib: CibDocument,
    private readonly builder: ResourceBuilder,
  ) {}

  unpack(): void {
    const ws = this.ws;
    const entries = Object.entries(this.cib.status.nodes);
    for (const [name, state] of entries) {
      const node = ws.nodeByName.get(name);
      if (!node) {
        ws.warnings.push(`status of "${name}" ignored: not a configured node`);
        continue;
      }
      this.unpackNodeState(node, state);
    }
    // Configured standby applies whether or not a status entry exists.
    for (const n of this.cib.config.nodes) {
      const node = ws.nodeByName.get(n.name)!;
      if (n.standby || isTrue(node.attrs.get("standby"))) node.standby = true;
      if (n.maintenance || isTrue(node.attrs.get("maintenance"))) node.maintenance = true;
    }
    // First online nodes (and every node when fencing is enabled), then the rest if fencing.
    const fencing = ws.options.stonithEnabled;
    for (const pass of [false, true]) {
      if (pass && !fencing) break;
      for (const [name, state] of entries) {
        const node = ws.nodeByName.get(name);
        if (!node || node.unpacked) continue;
        if (!pass && !fencing && !node.online) continue;
        node.unpacked = true;
        this.unpackNodeHistory(node, state);
      }
    }
  }

  private unpackNodeState(node: SchedNode, state: NodeStatus): void {
    const ws = this.ws;
    for (const [k, v] of Object.entries(state.attributes)) node.attrs.set(k, v);
    if (isTrue(node.attrs.get("standby"))) node.standby = true;
    if (isTrue(node.attrs.get("maintenance"))) node.maintenance = true;
    node.unclean = false;
    node.unseen = false;
    node.shutdown = false;
    node.expectedUp = false;
    if (state.shutdown > 0 || shutdownRequested(node.attrs.get("shutdown"))) {
      node.shutdown = true;
    } else if (state.expected === "member") {
      node.expectedUp = true;
    }
    const online = ws.options.stonithEnabled
      ? this.onlineWithFencing(node, state)
      : this.onlineWithoutFencing(node, state);
    if (online) node.online = true;
    else node.weight = -INFINITY;
    if (online && node.shutdown) node.weight = -INFINITY;
    if (
      !ws.options.haveQuorum && node.online && ws.options.noQuorumPolicy === "suicide"
    ) {
      ws.fenceNode(node, "cluster does not have quorum");
    }
  }

  private onlineWithoutFencing(node: SchedNode, state: NodeStatus): boolean {
    if (!state.inMembership) return false;
    if (state.online) return state.join === "member";
    if (node.expectedUp) this.ws.fenceNode(node, "peer is unexpectedly down");
    return false;
  }

  private onlineWithFencing(node: SchedNode, state: NodeStatus): boolean {
    const ws = this.ws;
    const terminate = node.attrs.get("terminate");
    const doTerminate = isTrue(terminate) ||
      (terminate !== undefined && /^[1-9]/.test(terminate));
    const inCluster = state.inMembership === true;
    let online = inCluster;
    const crmdOnline = state.online;
    const expected = state.expected;
    if (node.shutdown) {
      online = crmdOnline;
    } else if (state.inMembership === undefined) {
      ws.fenceNode(node, "peer has not been seen by the cluster");
    } else if (state.join === "banned") {
      ws.fenceNode(node, "peer failed Pacemaker membership criteria");
    } else if (!doTerminate && expected === "down") {
      if (inCluster || crmdOnline) {
        node.standby = true;
        node.pending = true;
      }
    } else if (doTerminate && state.join === "down" && !inCluster && !crmdOnline) {
      online = false;
    } else if (!inCluster) {
      ws.fenceNode(node, "peer is no longer part of the cluster");
    } else if (!crmdOnline) {
      ws.fenceNode(node, "peer process is no longer available");
    } else if (doTerminate) {
      ws.fenceNode(node, "termination was requested");
    } else if (state.join === "member") {
      // active
    } else if (state.join === "pending" || state.join === "down") {
      node.standby = true;
      node.pending = true;
    } else {
      ws.fenceNode(node, "peer was in an unknown state");
    }
    return online;
  }

  private unpackNodeHistory(node: SchedNode, state: NodeStatus): void {
    for (const [rscId, history] of Object.entries(state.resources)) {
      if (history.operations.length === 0) continue;
      let rsc = this.findResource(node, rscId);
      if (!rsc) rsc = this.builder.createOrphan(rscId, history.agent);
      this.unpackResourceHistory(rsc, node, history.operations);
    }
  }

  /** unpack_find_resource: maps a history id to a resource (instance). */
  private findResource(node: SchedNode, rscId: string): SchedResource | undefined {
    let rsc = this.builder.findResource(rscId);
    let parent: SchedResource | null = null;
    if (!rsc) {
      const zero = cloneZero(rscId);
      const clone0 = this.builder.findResource(zero);
      if (clone0 && !clone0.unique) {
        rsc = clone0;
        parent = topResource(clone0);
      }
    } else if (rsc.variant !== "primitive") {
      return undefined;
    } else {
      parent = topResource(rsc);
    }
    if (parent && isAnonClone(parent)) {
      rsc = this.findAnonymousClone(node, parent, cloneStrip(rscId));
    }
    if (rsc && rsc.id !== rscId && rsc.cloneName !== rscId) rsc.cloneName = rscId;
    return rsc;
  }

  private findAnonymousClone(
    node: SchedNode,
    parent: SchedResource,
    base: string,
  ): SchedResource {
    let rsc: SchedResource | undefined;
    let inactive: SchedResource | undefined;
    let skipInactive = false;
    for (const child of parent.children) {
      if (rsc) break;
      const locations = runningNodes(child);
      if (locations.length > 0) {
        if (locations[0] === node) {
          const found = findInInstance(child, base);
          if (found) {
            if (found.runningOn.length > 0) {
              skipInactive = true;
            } else {
              rsc = found;
            }
          }
        }
      } else if (!skipInactive && !inactive && !child.blocked) {
        inactive = findInInstance(child, base);
      }
    }
    if (!rsc && !skipInactive && inactive) rsc = inactive;
    const universal = parent.clone !== undefined && parent.clone.max === this.ws.nodes.length;
    if (rsc && rsc.requires !== "fencing" && (!node.online || node.unclean) && !universal) {
      rsc = undefined;
    }
    if (!rsc) {
      const instance = this.builder.createCloneChild(parent);
      rsc = findInInstance(instance, base) ?? instance;
    }
    return rsc;
  }

  /** unpack_lrm_resource for one resource's history on one node. */
  private unpackResourceHistory(
    rsc: SchedResource,
    node: SchedNode,
    records: readonly OperationRecord[],
  ): void {
    const sorted = sortByCallId(records);
    const savedRole = rsc.role;
    rsc.role = Role.Unknown;
    const ctx = {
      lastFailure: undefined as HistoryEntry | undefined,
      onFail: OnFail.Ignore as OnFailValue,
    };
    for (const record of sorted) this.unpackOp(rsc, node, record, ctx);
    if (node.online) recordActiveRecurring(rsc, node, sorted);
    this.processState(rsc, node, ctx.onFail);
    const target = rsc.targetRole;
    if (target !== undefined) {
      if (rsc.nextRole === Role.Unknown || target < rsc.nextRole) rsc.nextRole = target;
    }
    if (savedRole > rsc.role) rsc.role = savedRole;
  }

  private unpackOp(
    rsc: SchedResource,
    node: SchedNode,
    record: OperationRecord,
    ctx: { lastFailure: HistoryEntry | undefined; onFail: OnFailValue },
  ): void {
    const task = record.operation;
    if (task === "notify" || task === "meta-data") return;
    const execStatus = STATUS_BY_NAME[record.status] ?? ExecStatus.Error;
    if (execStatus === ExecStatus.Cancelled) return;
    const h: HistoryEntry = {
      record,
      key: `${rsc.id}_${task}_${record.intervalMs}`,
      isProbe: task === "monitor" && record.intervalMs === 0,
      execStatus,
      exitStatus: record.rc,
      expected: record.expectedRc ?? -1,
    };
    if (this.isExpired(rsc, node, h)) {
      if (h.exitStatus !== h.expected) return;
    }
    const origRc = h.exitStatus;
    this.remap(rsc, node, h, ctx);
    if (maskProbeFailure(h, origRc)) {
      this.updateState(rsc, h, h.expected < 0 ? Rc.NotRunning : h.expected, ctx);
      rsc.role = Role.Stopped;
      const banned = rsc.unique ? rsc : topResource(rsc);
      resourceLocation(this.ws, banned, node, -INFINITY);
      return;
    }
    const parent = rsc.unique ? rsc : topResource(rsc);
    switch (h.execStatus) {
      case ExecStatus.Pending:
        if (task === "start") {
          rsc.startPending = true;
          setActive(rsc);
        } else if (task === "promote") {
          rsc.role = Role.Promoted;
        }
        return;
      case ExecStatus.Done:
        this.updateState(rsc, h, h.exitStatus, ctx);
        return;
      case ExecStatus.NotInstalled: {
        const strategy = this.onFailFor(rsc, task, record.intervalMs).onFail;
        if (strategy === OnFail.Ignore) ctx.onFail = OnFail.Migrate;
        resourceLocation(this.ws, parent, node, -INFINITY);
        this.opFailure(rsc, node, h, ctx);
        return;
      }
    }
    const strategy = this.onFailFor(rsc, task, record.intervalMs).onFail;
    if (strategy === OnFail.Ignore) {
      this.updateState(rsc, h, h.expected < 0 ? Rc.Ok : h.expected, ctx);
      rsc.failureIgnored = true;
      return;
    }
    this.opFailure(rsc, node, h, ctx);
    if (h.execStatus === ExecStatus.ErrorHard) {
      rsc.notes.push(`hard error (rc ${origRc}) of ${task} on ${node.name}: banned there`);
      resourceLocation(this.ws, parent, node, -INFINITY);
    } else if (h.execStatus === ExecStatus.ErrorFatal) {
      rsc.notes.push(`fatal error (rc ${origRc}) of ${task} on ${node.name}: banned everywhere`);
      resourceLocation(this.ws, parent, null, -INFINITY);
    }
  }

  /** Failure-timeout expiry of a failed history entry. */
  private isExpired(rsc: SchedResource, node: SchedNode, h: HistoryEntry): boolean {
    const timeout = rsc.failureTimeoutMs;
    const last = h.record.lastRcChange;
    if (timeout <= 0 || last === undefined) return false;
    const now = this.ws.options.nowSeconds;
    if (now < last + Math.floor(timeout / 1000)) return false;
    if (h.isProbe && [0, 7, 8, 190, 191].includes(h.exitStatus)) return false;
    return failCount(this.ws, rsc, node) === 0;
  }

  /** remap_operation: decides whether the result is a success or which failure. */
  private remap(
    rsc: SchedResource,
    node: SchedNode,
    h: HistoryEntry,
    ctx: { onFail: OnFailValue },
  ): void {
    if (h.exitStatus === Rc.Degraded) h.exitStatus = Rc.Ok;
    else if (h.exitStatus === Rc.DegradedPromoted) h.exitStatus = Rc.RunningPromoted;
    if (isMaskedProbe(h)) {
      h.execStatus = ExecStatus.Done;
      h.exitStatus = Rc.NotRunning;
    }
    if (h.execStatus !== ExecStatus.Done && h.execStatus !== ExecStatus.Error) return;
    if (h.expected < 0) h.execStatus = ExecStatus.Error;
    else if (h.exitStatus === h.expected) h.execStatus = ExecStatus.Done;
    else h.execStatus = ExecStatus.Error;
    switch (h.exitStatus) {
      case Rc.Ok:
        if (h.isProbe && h.expected === Rc.NotRunning) h.execStatus = ExecStatus.Done;
        break;
      case Rc.NotRunning:
        if (h.isProbe || h.expected === h.exitStatus || !rsc.managed) {
          h.execStatus = ExecStatus.Done;
          rsc.role = Role.Stopped;
          ctx.onFail = OnFail.Ignore;
          rsc.nextRole = Role.Unknown;
        }
        break;
      case Rc.RunningPromoted:
        if (h.isProbe && h.exitStatus !== h.expected) h.execStatus = ExecStatus.Done;
        rsc.role = Role.Promoted;
        break;
      case Rc.FailedPromoted:
        rsc.role = Role.Promoted;
        h.execStatus = ExecStatus.Error;
        break;
      case Rc.NotConfigured:
        h.execStatus = ExecStatus.ErrorFatal;
        break;
      case Rc.Unimplemented:
        if (h.record.intervalMs === 0) {
          this.blockIfUnrecoverable(rsc, node, h);
          h.execStatus = ExecStatus.ErrorHard;
        } else {
          h.execStatus = ExecStatus.NotSupported;
        }
        break;
      case Rc.NotInstalled:
      case Rc.InvalidParam:
      case Rc.InsufficientPriv:
        this.blockIfUnrecoverable(rsc, node, h);
        h.execStatus = ExecStatus.ErrorHard;
        break;
      default:
        if (h.execStatus === ExecStatus.Done) h.execStatus = ExecStatus.Error;
    }
  }

  private blockIfUnrecoverable(rsc: SchedResource, node: SchedNode, h: HistoryEntry): void {
    if (h.record.operation !== "stop") return;
    if (this.ws.canFence(node)) return;
    rsc.managed = false;
    rsc.blocked = true;
    rsc.notes.push(`stop failed on ${node.name} and fencing is not possible: blocked`);
  }

  /** update_resource_state: a successful (or ignored) result. */
  private updateState(
    rsc: SchedResource,
    h: HistoryEntry,
    exitStatus: number,
    ctx: { lastFailure: HistoryEntry | undefined; onFail: OnFailValue },
  ): void {
    const task = h.record.operation;
    let clearPast = false;
    if (exitStatus === Rc.NotInstalled || isMaskedProbe(h)) {
      rsc.role = Role.Stopped;
    } else if (exitStatus === Rc.NotRunning) {
      clearPast = true;
    } else if (task === "monitor") {
      if (ctx.lastFailure && ctx.lastFailure.key === h.key) clearPast = true;
      if (rsc.role < Role.Started) setActive(rsc);
    } else if (task === "start") {
      rsc.role = Role.Started;
      clearPast = true;
    } else if (task === "stop") {
      rsc.role = Role.Stopped;
      clearPast = true;
    } else if (task === "promote") {
      rsc.role = Role.Promoted;
      clearPast = true;
    } else if (task === "demote") {
      if (ctx.onFail === OnFail.Demote) clearPast = true;
      rsc.role = Role.Unpromoted;
    } else if (task === "migrate_from") {
      rsc.role = Role.Started;
      clearPast = true;
    } else if (task === "migrate_to") {
      // Live migration is not supported: treat a completed migrate_to as the
      // resource having left this node only once a stop is recorded.
    } else if (rsc.role < Role.Started) {
      setActive(rsc);
    }
    if (!clearPast) return;
    switch (ctx.onFail) {
      case OnFail.Stop:
      case OnFail.Fence:
      case OnFail.Migrate:
      case OnFail.Standby:
        break;
      case OnFail.Block:
      case OnFail.Ignore:
      case OnFail.Demote:
      case OnFail.Recover:
      case OnFail.RestartContainer:
        ctx.onFail = OnFail.Ignore;
        rsc.nextRole = Role.Unknown;
        break;
    }
  }

  /** unpack_rsc_op_failure. */
  private opFailure(
    rsc: SchedResource,
    node: SchedNode,
    h: HistoryEntry,
    ctx: { lastFailure: HistoryEntry | undefined; onFail: OnFailValue },
  ): void {
    const task = h.record.operation;
    ctx.lastFailure = h;
    const cfg = this.onFailFor(rsc, task, h.record.intervalMs);
    if (compareOnFail(ctx.onFail, cfg.onFail) < 0) ctx.onFail = cfg.onFail;
    rsc.notes.push(
      `${h.isProbe ? "probe" : task} failed on ${node.name} (rc ${h.record.rc})`,
    );
    if (task === "stop") {
      resourceLocation(this.ws, rsc, node, -INFINITY);
    } else if (task === "promote") {
      rsc.role = Role.Promoted;
    } else if (task === "demote") {
      if (cfg.onFail === OnFail.Block) {
        rsc.role = Role.Promoted;
        rsc.nextRole = Role.Stopped;
      } else if (h.exitStatus === Rc.NotRunning) {
        rsc.role = Role.Stopped;
      } else {
        rsc.role = Role.Unpromoted;
      }
    }
    if (h.isProbe && h.exitStatus === Rc.NotInstalled) {
      rsc.role = Role.Stopped;
    } else if (rsc.role < Role.Started) {
      setActive(rsc);
    }
    if (cfg.failRole !== Role.Started && rsc.nextRole < cfg.failRole) {
      rsc.nextRole = cfg.failRole;
    }
    if (cfg.failRole === Role.Stopped) {
      let target = rsc;
      if (rsc.parent) {
        const top = topResource(rsc);
        if (isAnonClone(top)) target = top;
      }
      rsc.notes.push(`on-fail=stop: ${target.id} will not be started again`);
      for (const n of this.ws.nodes) setScoreDeep(target, n.index, -INFINITY);
    }
  }

  /** The configured (or default) on-fail and failure role of an operation. */
  private onFailFor(
    rsc: SchedResource,
    task: string,
    intervalMs: number,
  ): { onFail: OnFailValue; failRole: RoleValue } {
    const o = this.ws.options;
    const op = findOperation(rsc.operations, task, intervalMs);
    let onFail: OnFailValue;
    if (op?.onFail !== undefined) {
      onFail = CONFIGURED_ON_FAIL[op.onFail];
      // Fencing without STONITH falls back to stopping the resource.
      if (onFail === OnFail.Fence && !o.stonithEnabled) onFail = OnFail.Stop;
    } else if (task === "stop") {
      onFail = o.stonithEnabled ? OnFail.Fence : OnFail.Block;
    } else {
      onFail = OnFail.Recover;
    }
    let failRole: RoleValue;
    if (onFail === OnFail.Stop) failRole = Role.Stopped;
    else failRole = task === "promote" ? Role.Unpromoted : Role.Started;
    return { onFail, failRole };
  }

  /** process_rsc_state: what the folded history means for the resource and node. */
  private processState(rsc: SchedResource, node: SchedNode, onFailIn: OnFailValue): void {
    const ws = this.ws;
    let onFail = onFailIn;
    if (rsc.role !== Role.Unknown) {
      let iter: SchedResource | null = rsc;
      while (iter) {
        (iter.knownOn ??= new Set()).add(node.index);
        if (iter.unique) break;
        iter = iter.parent;
      }
    }
    if (rsc.role > Role.Stopped && !node.online && !node.maintenance && rsc.managed) {
      if (ws.options.stonithEnabled) {
        ws.fenceNode(node, `${rsc.id} is thought to be active there`);
      }
    }
    if (node.unclean) onFail = OnFail.Ignore;
    switch (onFail) {
      case OnFail.Demote:
        rsc.failed = true;
        break;
      case OnFail.Fence:
        ws.fenceNode(node, `${rsc.id} failed there`);
        break;
      case OnFail.Standby:
        node.standby = true;
        break;
      case OnFail.Block:
        rsc.managed = false;
        rsc.blocked = true;
        break;
      case OnFail.Migrate:
        resourceLocation(ws, rsc, node, -INFINITY);
        break;
      case OnFail.Stop:
        rsc.nextRole = Role.Stopped;
        break;
      case OnFail.Recover:
        if (rsc.role !== Role.Stopped && rsc.role !== Role.Unknown) {
          rsc.failed = true;
          rsc.stopNeeded = true;
        }
        break;
    }
    if (rsc.role !== Role.Stopped && rsc.role !== Role.Unknown) {
      addRunning(ws, rsc, node);
      switch (onFail) {
        case OnFail.Ignore:
          break;
        case OnFail.Demote:
        case OnFail.Block:
          rsc.failed = true;
          break;
        default:
          rsc.failed = true;
          rsc.stopNeeded = true;
      }
    } else if (rsc.cloneName && rsc.cloneName.includes(":")) {
      rsc.cloneName = undefined;
    }
  }
}

/** native_add_running: records that `rsc` is active on `node` (parents too). */
function addRunning(ws: WorkingSet, rsc: SchedResource, node: SchedNode): void {
  if (rsc.runningOn.includes(node)) return;
  rsc.runningOn.push(node);
  if (rsc.variant === "primitive" && node.maintenance) rsc.managed = false;
  if (!rsc.managed) {
    resourceLocation(ws, rsc, node, INFINITY);
    let p = rsc.parent;
    while (p && node.online) {
      if (!p.runningOn.includes(node)) p.runningOn.push(node);
      p = p.parent;
    }
    return;
  }
  if (rsc.variant === "primitive" && rsc.runningOn.length > 1) {
    const active = rsc.runningOn.filter((n) =>
      rsc.requires === "fencing" || (n.online && !n.unclean)
    );
    if (active.length > 1) {
      if (rsc.multipleActive === "stop_only") {
        for (const n of ws.nodes) rsc.allowed[n.index] = -INFINITY;
      } else if (rsc.multipleActive === "block") {
        rsc.managed = false;
        rsc.blocked = true;
      }
    }
  }
  if (rsc.parent) addRunning(ws, rsc.parent, node);
}

/**
 * Remembers the recurring operations still active on a node: those recorded
 * after the last start, unless a later stop ended them (process_recurring).
 */
function recordActiveRecurring(
  rsc: SchedResource,
  node: SchedNode,
  sorted: readonly OperationRecord[],
): void {
  let start = -1;
  let stop = -1;
  let impliedMonitor = -1;
  for (const [i, r] of sorted.entries()) {
    if (r.operation === "stop" && r.status === "done") stop = i;
    else if (r.operation === "start" || r.operation === "migrate_from") start = i;
    else if (impliedMonitor <= stop && r.operation === "monitor" && (r.rc === 0 || r.rc === 8)) {
      impliedMonitor = i;
    }
  }
  if (start === -1) start = impliedMonitor;
  for (const [i, r] of sorted.entries()) {
    if (start < stop && i <= stop) continue;
    if (i < start) continue;
    if (r.intervalMs === 0 || r.status === "pending") continue;
    (rsc.activeRecurring ??= new Set()).add(`${node.index}:${r.operation}:${r.intervalMs}`);
  }
}

function setActive(rsc: SchedResource): void {
  const top = topResource(rsc);
  rsc.role = top.clone?.promotable ? Role.Unpromoted : Role.Started;
}

function setScoreDeep(rsc: SchedResource, index: number, score: number): void {
  rsc.allowed[index] = score;
  for (const c of rsc.children) setScoreDeep(c, index, score);
}

function isMaskedProbe(h: HistoryEntry): boolean {
  return h.isProbe &&
    (h.record.rc === Rc.NotInstalled || h.record.rc === Rc.InvalidParam ||
      h.record.status === "not-installed");
}

function maskProbeFailure(h: HistoryEntry, origRc: number): boolean {
  return isMaskedProbe(h) && origRc !== h.expected;
}

/** Pacemaker's cmp_on_fail (demote sorts between ignore and the rest). */
function compareOnFail(first: OnFailValue, second: OnFailValue): number {
  if (first === OnFail.Demote) {
    if (second === OnFail.Ignore) return 1;
    if (second === OnFail.Demote) return 0;
    return -1;
  }
  if (second === OnFail.Demote) return first === OnFail.Ignore ? -1 : 1;
  return first - second;
}

/** The configured operation with this name and interval (exact match). */
export function findOperation(
  ops: readonly Operation[],
  name: string,
  intervalMs: number,
): Operation | undefined {
  for (const op of ops) {
    if (op.name === name && op.intervalMs === intervalMs) return op;
  }
  return undefined;
}

/** History entries ordered by call-id, pending (-1) last, stable otherwise. */
function sortByCallId(records: readonly OperationRecord[]): OperationRecord[] {
  // Pacemaker prepends entries before a stable sort, so equal call-ids end up
  // in reverse document order.
  const reversed = records.slice().reverse();
  return reversed
    .map((r, i) => ({ r, i }))
    .sort((a, b) => {
      const x = a.r.callId;
      const y = b.r.callId;
      if (x === y) return a.i - b.i;
      if (x === -1) return 1;
      if (y === -1) return -1;
      return x < y ? -1 : 1;
    })
    .map((e) => e.r);
}

/** Nodes a resource (or any member of a group instance) is active on. */
function runningNodes(rsc: SchedResource): SchedNode[] {
  if (rsc.variant === "primitive") return rsc.runningOn;
  const out: SchedNode[] = [];
  for (const c of rsc.children) {
    for (const n of runningNodes(c)) if (!out.includes(n)) out.push(n);
  }
  return out;
}

/** The primitive with configured id `base` inside a clone instance. */
function findInInstance(instance: SchedResource, base: string): SchedResource | undefined {
  if (instance.variant === "primitive") return instance.baseId === base ? instance : undefined;
  for (const c of instance.children) {
    const found = findInInstance(c, base);
    if (found) return found;
  }
  return undefined;
}

/** "rsc:12" -> "rsc" (pe_base_name_end). */
export function cloneStrip(id: string): string {
  const m = /^(.*?):\d+$/.exec(id);
  return m && m[1].length > 0 ? m[1] : id;
}

/** "rsc" or "rsc:3" -> "rsc:0". */
function cloneZero(id: string): string {
  return `${cloneStrip(id)}:0`;
}

/** Whether a "shutdown" attribute value requests shutdown (not "0", not empty). */
function shutdownRequested(value: string | undefined): boolean {
  return value !== undefined && value !== "" && value !== "0";
}

/**
 * The effective fail count of `rsc` on `node` (pe_get_failcount): entries for
 * its id, its history name, and for anonymous clone instances the base id;
 * expired failures (failure-timeout) do not count.
 */
export function failCount(ws: WorkingSet, rsc: SchedResource, node: SchedNode): number {
  const failureTimeoutMs = rsc.failureTimeoutMs;
  const table = failureTables.get(ws)?.get(node.name);
  if (!table) return 0;
  const names = new Set<string>([rsc.id]);
  if (rsc.cloneName) names.add(rsc.cloneName);
  if (!rsc.unique) names.add(rsc.baseId);
  let total = 0;
  for (const name of names) {
    const f = table[name];
    if (!f) continue;
    if (
      failureTimeoutMs > 0 && f.lastFailure !== undefined &&
      ws.options.nowSeconds >= f.lastFailure + Math.floor(failureTimeoutMs / 1000)
    ) continue;
    total = Math.min(INFINITY, total + f.count);
  }
  return total;
}

/** Whether any fail count is recorded for `node`. */
export function hasFailures(ws: WorkingSet, node: SchedNode): boolean {
  const table = failureTables.get(ws)?.get(node.name);
  if (!table) return false;
  for (const _ in table) return true;
  return false;
}

/** Fail-count tables per working set (node name -> failures), set by registerFailures. */
const failureTables = new WeakMap<WorkingSet, Map<string, NodeStatus["failures"]>>();

/** Makes the status section's fail counts available to {@link failCount}. */
export function registerFailures(ws: WorkingSet, cib: CibDocument): void {
  const map = new Map<string, NodeStatus["failures"]>();
  for (const [name, state] of Object.entries(cib.status.nodes)) map.set(name, state.failures);
  failureTables.set(ws, map);
}

/** Parses a Pacemaker score string (exported for constraint unpacking). */
export { char2score };
