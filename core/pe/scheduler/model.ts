/**
 * The scheduler's working set: nodes, the resource tree (clone instances
 * expanded), constraints and actions, indexed for fast lookups. It is built by
 * unpack.ts from a CibDocument and then mutated step by step by the scheduler
 * (locations, assignment, actions, orderings) within one `schedule()` call.
 *
 * Nothing here is shared between calls; the structures are plain objects and
 * typed arrays so that 100,000 resources on 32 nodes fit comfortably.
 *
 * @module
 */

import type { NodeScores } from "./scores.ts";
import type { Operation } from "../../cib/schema/resources.ts";

/** Resource roles, ordered as Pacemaker orders them (comparisons matter). */
export const Role = {
  Unknown: 0,
  Stopped: 1,
  Started: 2,
  Unpromoted: 3,
  Promoted: 4,
} as const;
/** A resource role. */
export type RoleValue = typeof Role[keyof typeof Role];

/** Role names as printed. */
export const ROLE_NAMES = ["Unknown", "Stopped", "Started", "Unpromoted", "Promoted"] as const;

/** What to do when an operation fails (Pacemaker's enum action_fail_response order). */
export const OnFail = {
  Ignore: 0,
  Recover: 1,
  Migrate: 2,
  Block: 3,
  Stop: 4,
  Standby: 5,
  Fence: 6,
  RestartContainer: 7,
  ResetRemote: 8,
  Demote: 9,
} as const;
/** An on-fail policy value. */
export type OnFailValue = typeof OnFail[keyof typeof OnFail];

/** A cluster node as the scheduler sees it. */
export interface SchedNode {
  /** Position in the working set's node list (score-table index). */
  index: number;
  /** The node's name (uname). */
  name: string;
  /** Pacemaker node id (the name when none is configured). */
  id: string;
  /** Node attributes rules test: #uname, #id, #kind, #is_dc, configured, transient. */
  attrs: Map<string, string>;
  /** Its controller is up and it may run resources. */
  online: boolean;
  /** It must be fenced before anything it ran can be trusted to be stopped. */
  unclean: boolean;
  /** Standby (configured, transient, or after an on-fail=standby failure). */
  standby: boolean;
  /** Joining but not ready (pending). */
  pending: boolean;
  /** Asked to shut down. */
  shutdown: boolean;
  /** In maintenance: its resources are left alone. */
  maintenance: boolean;
  /** Expected to be up (expected=member). */
  expectedUp: boolean;
  /** No status entry seen for it. */
  unseen: boolean;
  /** This node is the DC. */
  isDc: boolean;
  /** Base weight (0; -INFINITY when offline or shutting down). */
  weight: number;
  /** Primitives assigned to it so far (load balancing tie-break). */
  numResources: number;
  /** Why it is to be fenced, when unclean. */
  fenceReason: string | undefined;
  /** Whether its resource history has been unpacked. */
  unpacked: boolean;
}

/** The three kinds of resources. */
export type Variant = "primitive" | "group" | "clone";

/** What "requires" resolved to for a resource. */
export type Requires = "nothing" | "quorum" | "fencing";

/** One resource (a primitive, a group, a clone, or a clone instance). */
export interface SchedResource {
  /** Instance id ("web", "child:2", "grp:1"). */
  id: string;
  /** Configured id without instance suffix. */
  baseId: string;
  /** Position in the working set's resource list. */
  index: number;
  variant: Variant;
  parent: SchedResource | null;
  children: SchedResource[];
  /** Agent spec (primitives); "stonith:..." for fence devices. */
  agent: string;
  /** A fencing device (class stonith). */
  isFenceDevice: boolean;
  /** Instance parameters (primitives), for param/meta rule values. */
  params: Record<string, string>;
  /** Meta attributes as strings (effective, inherited), for rule value-source=meta. */
  meta: Record<string, string>;
  /** Configured operations (primitives). */
  operations: readonly Operation[];

  // Effective meta attributes.
  priority: number;
  stickiness: number;
  /** Failures before a ban; 0 disables. Pacemaker's default is INFINITY. */
  migrationThreshold: number;
  /** Failures older than this are forgotten (ms; 0: never). */
  failureTimeoutMs: number;
  /** Configured target-role, if valid. */
  targetRole: RoleValue | undefined;
  managed: boolean;
  multipleActive: "stop_start" | "stop_only" | "block" | "stop_unexpected";
  requires: Requires;
  /** Clone instances are distinct (globally-unique) / a primitive outside clones. */
  unique: boolean;
  /** Clone settings (clones only). */
  clone?: CloneSettings;
  /** Group members are colocated and ordered (always true for configured groups). */
  groupColocated: boolean;
  groupOrdered: boolean;
  /** A resource found only in the status section. */
  orphan: boolean;
  /** Colocation "influence" (Pacemaker's critical meta attribute). */
  critical: boolean;

  // State from the status section.
  role: RoleValue;
  nextRole: RoleValue;
  /** Nodes it is active on (parents accumulate their children's). */
  runningOn: SchedNode[];
  /** Node indexes where its state is known (has history); null until the first (saves a Set per resource). */
  knownOn: Set<number> | null;
  failed: boolean;
  /** Recovery needs a stop (pe_rsc_stop). */
  stopNeeded: boolean;
  blocked: boolean;
  failureIgnored: boolean;
  startPending: boolean;
  /** History entries were recorded under this name (clone instances). */
  cloneName: string | undefined;
  /** Recurring operations active per node: "nodeIndex:task:intervalMs"; null while none. */
  activeRecurring: Set<string> | null;

  // Placement.
  allowed: NodeScores;
  provisional: boolean;
  allocating: boolean;
  merging: boolean;
  allocatedTo: SchedNode | null;
  /** Score the assignment was made at. */
  allocatedScore: number;
  /** The node scores at the moment of assignment (for explanations). */
  assignScores: NodeScores | null;
  /** Count of instances assigned per node (clones: per allowed node). */
  counts: Int32Array | null;
  /** "This with" colocations (this resource is the dependent), sorted. */
  thisWith: Colocation[];
  /** "With this" colocations (this resource is the primary), sorted. */
  withThis: Colocation[];
  /** Actions created for it. */
  actions: Action[];
  /** Human-readable reasons gathered while scheduling (for explain). */
  notes: string[];
}

/** Clone settings. */
export interface CloneSettings {
  max: number;
  nodeMax: number;
  interleave: boolean;
  ordered: boolean;
  notify: boolean;
  promotable: boolean;
}

/** A colocation between two resources. */
export interface Colocation {
  id: string;
  dependent: SchedResource;
  primary: SchedResource;
  score: number;
  /** Role filter on the dependent (Unknown: any). */
  dependentRole: RoleValue;
  /** Role filter on the primary (Unknown: any). */
  primaryRole: RoleValue;
  /** Node attribute compared (undefined: #uname / #id). */
  nodeAttribute: string | undefined;
  influence: boolean;
}

/** A location preference resolved to node scores (rules already evaluated). */
export interface LocationConstraint {
  id: string;
  resource: SchedResource;
  /** Role filter (Unknown: any). */
  role: RoleValue;
  /** Node index and score pairs; a node absent here is untouched. */
  nodes: Array<{ node: SchedNode; score: number }>;
  discovery: "always" | "never" | "exclusive";
}

/** Ordering flags (Pacemaker's enum pe_ordering, the subset the scheduler uses). */
export const Ord = {
  None: 0,
  Optional: 1 << 0,
  ImpliesThen: 1 << 1,
  ImpliesFirst: 1 << 2,
  RunnableLeft: 1 << 3,
  Restart: 1 << 4,
  Serialize: 1 << 5,
  Asymmetrical: 1 << 6,
  SameNode: 1 << 7,
  OneOrMore: 1 << 8,
  ImpliesThenPrinted: 1 << 9,
  ImpliesFirstPrinted: 1 << 10,
  AntiColocation: 1 << 11,
  Preserve: 1 << 12,
  ThenCancelsFirst: 1 << 13,
  ImpliesThenOnNode: 1 << 14,
  Probe: 1 << 15,
} as const;

/** Action flags. */
export const Flag = {
  Optional: 1 << 0,
  Runnable: 1 << 1,
  Pseudo: 1 << 2,
  RequiresAny: 1 << 3,
  PrintAlways: 1 << 4,
  ImpliedByFencing: 1 << 5,
  Dc: 1 << 6,
} as const;

/** What an action needs before it may run. */
export type ActionNeeds = "nothing" | "quorum" | "fencing";

/** One action: a resource operation, a pseudo action, or a fencing/cluster event. */
export interface Action {
  /** Sequence number (creation order). */
  seq: number;
  /** Pacemaker-style key: "rsc_start_0", "grp_running_0", "stonith-node1-reboot". */
  uuid: string;
  /** start, stop, monitor, running, stopped, stonith, do_shutdown, probe_complete... */
  task: string;
  rsc: SchedResource | null;
  node: SchedNode | null;
  /** Interval of recurring monitors (ms). */
  intervalMs: number;
  flags: number;
  needs: ActionNeeds;
  /** Orderings where this action is "then". */
  before: OrderEdge[];
  /** Orderings where this action is "first". */
  after: OrderEdge[];
  /** Union of edge types per "then" action, built once `after` grows large (dedup index). */
  afterTypes?: Map<Action, number>;
  /** Number of runnable "first" actions seen (requires-any). */
  runnableBefore: number;
  requiredRunnableBefore: number;
  /** Why it exists or why it cannot run (for the summary and explain). */
  reason: string | undefined;
  /** Fencing action: reboot/off. */
  fenceAction?: string;
  /** Resource ids probed on the node (aggregated probe action). */
  probeResources?: string[];
}

/** An ordering edge between two actions. */
export interface OrderEdge {
  action: Action;
  type: number;
}

/** An ordering constraint between resource actions, resolved lazily to actions. */
export interface Ordering {
  id: number;
  firstRsc: SchedResource | null;
  firstTask: string | null;
  firstAction: Action | null;
  thenRsc: SchedResource | null;
  thenTask: string | null;
  thenAction: Action | null;
  flags: number;
}

/** Cluster-wide settings the scheduler consults. */
export interface SchedOptions {
  stonithEnabled: boolean;
  haveStonithResource: boolean;
  stonithAction: "reboot" | "off";
  haveQuorum: boolean;
  noQuorumPolicy: "stop" | "freeze" | "ignore" | "demote" | "suicide";
  symmetricCluster: boolean;
  stopOrphanResources: boolean;
  stopAllResources: boolean;
  maintenanceMode: boolean;
  startFailureIsFatal: boolean;
  concurrentFencing: boolean;
  /** "Now" in seconds since the epoch. */
  nowSeconds: number;
}
