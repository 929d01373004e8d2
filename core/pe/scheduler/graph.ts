/**
 * The transition graph handed to the transition engine: the actions that are
 * required and runnable, each with the ids of the actions it waits for.
 *
 * Format (also printed by `vigil simulate --json --graph`):
 * ```json
 * { "id": 3, "key": "web_start_0", "type": "resource", "task": "start",
 *   "resource": "web", "node": "n2", "inputs": [1, 2] }
 * ```
 * `type` is `resource` (an agent operation on `node`), `pseudo` (bookkeeping:
 * a group or clone reaching a state, or a stop implied by fencing), `fence`
 * (fence `node`, `fenceAction` reboot or off), `shutdown` (stop the node's
 * cluster stack), or `probe` (find out on `node` which of `resources` run).
 * Ids are dense and every input id is smaller than nothing in particular:
 * the graph is acyclic but not sorted.
 *
 * @module
 */

import { type Action, Flag, type SchedResource } from "./model.ts";
import type { WorkingSet } from "./working_set.ts";

/** One action of the transition graph. */
export interface GraphAction {
  /** Index in the graph's action list. */
  id: number;
  /** Pacemaker-style key: `RSC_TASK_INTERVAL`, `stonith-NODE-reboot`, `probe-NODE`. */
  key: string;
  /** What kind of action it is. */
  type: "resource" | "pseudo" | "fence" | "shutdown" | "probe";
  /** start, stop, monitor, running, stopped, stonith, do_shutdown, probe, ... */
  task: string;
  /** The resource (primitive instance id, or group/clone id for pseudo actions). */
  resource?: string;
  /** The node it runs on (or the fencing/shutdown target). */
  node?: string;
  /** Interval of recurring operations (ms). */
  intervalMs?: number;
  /** reboot or off, for fence actions. */
  fenceAction?: string;
  /** Resources a probe action checks. */
  resources?: string[];
  /** Why the action is needed, when it is not obvious. */
  reason?: string;
  /** Ids of the actions that must complete first. */
  inputs: number[];
}

/** Whether an action belongs in the graph (should_add_action_to_graph). */
export function inGraph(action: Action): boolean {
  if (action.seq < 0) return false;
  if (!(action.flags & Flag.Runnable)) return false;
  if ((action.flags & Flag.Optional) && !(action.flags & Flag.PrintAlways)) return false;
  const rsc = action.rsc;
  if (rsc && !rsc.managed && action.task !== "monitor" && action.intervalMs === 0) return false;
  if ((action.flags & Flag.Pseudo) || action.task === "stonith" || action.task === "do_shutdown") {
    return true;
  }
  if (action.task === "probe_complete") return true;
  const node = action.node;
  if (!node) return false;
  if (!node.online || node.unclean) return false;
  return true;
}

/** Builds the graph from the scheduled actions. */
export function buildGraph(ws: WorkingSet): GraphAction[] {
  const ids = new Map<Action, number>();
  const out: GraphAction[] = [];
  for (const action of ws.actions) {
    if (!inGraph(action)) continue;
    // Optional pseudo actions that nothing waits for add noise only.
    ids.set(action, out.length);
    out.push(toGraphAction(action, out.length));
  }
  for (const action of ws.actions) {
    const id = ids.get(action);
    if (id === undefined) continue;
    const inputs = new Set<number>();
    // Most recent orderings first, as Pacemaker lists them.
    for (let i = action.before.length - 1; i >= 0; i--) {
      const edge = action.before[i];
      if (edge.type === 0) continue;
      const first = ids.get(edge.action);
      if (first !== undefined && first !== id) inputs.add(first);
    }
    out[id].inputs = [...inputs];
  }
  breakLoops(out, ws.warnings);
  for (const a of out) a.inputs.sort((x, y) => x - y);
  return out;
}

/**
 * Removes inputs that would make the graph wait on itself (ordering loops in
 * the configuration, e.g. "A then B" and "B then A"): within each strongly
 * connected component, inputs are kept in order as long as they close no cycle.
 */
function breakLoops(graph: GraphAction[], warnings: string[]): void {
  const components = stronglyConnected(graph);
  for (const comp of components) {
    if (comp.length < 2) continue;
    const inComp = new Set(comp);
    const accepted = new Map<number, number[]>();
    for (const id of comp) accepted.set(id, []);
    for (const id of comp.slice().sort((a, b) => a - b)) {
      const keep: number[] = [];
      for (const input of graph[id].inputs) {
        if (!inComp.has(input)) {
          keep.push(input);
          continue;
        }
        if (reaches(accepted, input, id)) {
          warnings.push(`ordering loop: ${graph[id].key} no longer waits for ${graph[input].key}`);
          continue;
        }
        accepted.get(id)!.push(input);
        keep.push(input);
      }
      graph[id].inputs = keep;
    }
  }
}

/** Whether `from` waits (through accepted inputs) for `target`. */
function reaches(accepted: Map<number, number[]>, from: number, target: number): boolean {
  const seen = new Set<number>();
  const stack = [from];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (id === target) return true;
    if (seen.has(id)) continue;
    seen.add(id);
    for (const next of accepted.get(id) ?? []) stack.push(next);
  }
  return false;
}

/** Tarjan's strongly connected components over the input edges (iterative). */
function stronglyConnected(graph: GraphAction[]): number[][] {
  const n = graph.length;
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const stack: number[] = [];
  const out: number[][] = [];
  let counter = 0;
  const work: Array<{ v: number; i: number }> = [];
  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue;
    work.push({ v: root, i: 0 });
    index[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = 1;
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const inputs = graph[frame.v].inputs;
      if (frame.i < inputs.length) {
        const w = inputs[frame.i++];
        if (index[w] === -1) {
          index[w] = low[w] = counter++;
          stack.push(w);
          onStack[w] = 1;
          work.push({ v: w, i: 0 });
        } else if (onStack[w]) {
          low[frame.v] = Math.min(low[frame.v], index[w]);
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1].v;
        low[parent] = Math.min(low[parent], low[frame.v]);
      }
      if (low[frame.v] === index[frame.v]) {
        const comp: number[] = [];
        let w: number;
        do {
          w = stack.pop()!;
          onStack[w] = 0;
          comp.push(w);
        } while (w !== frame.v);
        if (comp.length > 1) out.push(comp);
      }
    }
  }
  return out;
}

function toGraphAction(action: Action, id: number): GraphAction {
  const g: GraphAction = {
    id,
    key: action.uuid,
    type: actionType(action),
    task: action.task,
    inputs: [],
  };
  if (action.rsc) g.resource = action.rsc.id;
  if (action.node) g.node = action.node.name;
  if (action.intervalMs > 0) g.intervalMs = action.intervalMs;
  if (action.fenceAction) g.fenceAction = action.fenceAction;
  if (action.probeResources) g.resources = action.probeResources;
  if (action.reason) g.reason = action.reason;
  return g;
}

function actionType(action: Action): GraphAction["type"] {
  if (action.task === "stonith") return "fence";
  if (action.task === "do_shutdown") return "shutdown";
  if (action.task === "probe") return "probe";
  if ((action.flags & Flag.Pseudo) || !action.rsc) return "pseudo";
  return "resource";
}

/** Where each primitive (instance) is active after the graph has run, and the fenced nodes. */
export interface RevisedPlacement {
  /** Primitive (instance) id -> nodes it is active on afterwards. */
  nodes: Map<SchedResource, string[]>;
  /** Nodes fenced by the graph. */
  fenced: string[];
}

/** Applies the graph's starts, stops and fencing to the current state. */
export function revisedPlacement(ws: WorkingSet): RevisedPlacement {
  const fenced = new Set<string>();
  const stops = new Map<SchedResource, Set<string>>();
  const starts = new Map<SchedResource, Set<string>>();
  for (const action of ws.actions) {
    if (!inGraph(action)) continue;
    if (action.task === "stonith" && action.node) {
      if (action.fenceAction !== "on") fenced.add(action.node.name);
      continue;
    }
    const rsc = action.rsc;
    if (!rsc || rsc.variant !== "primitive" || !action.node) continue;
    if (action.task === "stop") add(stops, rsc, action.node.name);
    else if (action.task === "start") add(starts, rsc, action.node.name);
  }
  const nodes = new Map<SchedResource, string[]>();
  for (const rsc of ws.all) {
    if (rsc.variant !== "primitive") continue;
    const now = new Set(rsc.runningOn.map((n) => n.name));
    for (const n of stops.get(rsc) ?? []) now.delete(n);
    for (const n of fenced) now.delete(n);
    for (const n of starts.get(rsc) ?? []) now.add(n);
    nodes.set(rsc, [...now]);
  }
  return { nodes, fenced: [...fenced] };
}

function add(map: Map<SchedResource, Set<string>>, rsc: SchedResource, node: string): void {
  let set = map.get(rsc);
  if (!set) map.set(rsc, set = new Set());
  set.add(node);
}
