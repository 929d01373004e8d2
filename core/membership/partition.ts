/**
 * Splits nodes into groups in which every pair can reach each other.
 *
 * Every node runs this on the same inputs (its own view plus the views its
 * peers reported), so nodes with the same knowledge compute the same groups.
 * Greedy and deterministic: while a group has a broken pair, drop the node with
 * the most broken pairs; ties drop a newcomer (not in the computing node's last
 * agreed membership) before an incumbent, then the node seen by fewest others,
 * then the one with the oldest agreed generation, then the greatest name.
 *
 * The incumbent rule keeps a membership whole while a node joins: for a moment
 * the newcomer hears some members and not others, and without it a member could
 * be dropped in the newcomer's favour, agree alone and lose quorum.
 *
 * @example
 * ```ts
 * const views = new Map([["a", ["b"]], ["b", ["a"]], ["c", []]]);
 * partitionNodes(["a", "b", "c"], (x, y) => views.get(x)!.includes(y) && views.get(y)!.includes(x));
 * // [["a", "b"], ["c"]]
 * ```
 * @module
 */

/** Tie-break information about one node. */
export interface PartitionHints {
  /** Whether `node` was in the computing node's last agreed membership (newcomers lose ties). */
  incumbent?: (node: string) => boolean;
  /** How many nodes in the candidate set list `node` in their view. */
  seenBy?: (node: string, among: readonly string[]) => number;
  /** The node's last agreed membership generation (older loses ties). */
  generation?: (node: string) => number;
}

/**
 * Partitions `nodes` into cliques of the symmetric relation `adjacent`.
 * Groups are returned sorted, each group's members sorted.
 */
export function partitionNodes(
  nodes: readonly string[],
  adjacent: (a: string, b: string) => boolean,
  hints: PartitionHints = {},
): string[][] {
  let remaining = [...new Set(nodes)].sort();
  const groups: string[][] = [];
  // Each pass removes at least one node from `remaining`, so this is bounded by nodes.length.
  while (remaining.length > 0) {
    const group = largestGreedyClique(remaining, adjacent, hints);
    groups.push(group);
    remaining = remaining.filter((n) => !group.includes(n));
  }
  return groups.sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

/** Returns the group that contains `node`. */
export function groupOf(groups: readonly string[][], node: string): string[] {
  const found = groups.find((g) => g.includes(node));
  if (!found) throw new Error(`node ${node} is in no group`);
  return found;
}

function largestGreedyClique(
  candidates: readonly string[],
  adjacent: (a: string, b: string) => boolean,
  hints: PartitionHints,
): string[] {
  const group = [...candidates];
  for (;;) {
    const broken = group.map((x) => group.filter((y) => y !== x && !adjacent(x, y)).length);
    const worst = Math.max(...broken);
    if (worst === 0) return group;
    let victim = -1;
    for (let i = 0; i < group.length; i++) {
      if (broken[i] !== worst) continue;
      if (victim < 0 || losesTie(group[i], group[victim], group, hints)) victim = i;
    }
    group.splice(victim, 1);
  }
}

/** True when `a` should be dropped rather than `b`. */
function losesTie(a: string, b: string, among: readonly string[], hints: PartitionHints): boolean {
  if (hints.incumbent) {
    const ia = hints.incumbent(a);
    const ib = hints.incumbent(b);
    if (ia !== ib) return !ia;
  }
  if (hints.seenBy) {
    const sa = hints.seenBy(a, among);
    const sb = hints.seenBy(b, among);
    if (sa !== sb) return sa < sb;
  }
  if (hints.generation) {
    const ga = hints.generation(a);
    const gb = hints.generation(b);
    if (ga !== gb) return ga < gb;
  }
  return a > b;
}
