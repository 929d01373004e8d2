/**
 * Quorum: whether a partition may run resources, from votes.
 *
 * Every configured node has one vote unless configured otherwise; a partition
 * is quorate when it holds more than half of the expected votes. Quorum devices
 * (ping nodes, qdisk) will add votes through plugins.
 *
 * @example
 * ```ts
 * computeQuorum({ members: ["a", "b"], votes: { a: 1, b: 1, c: 1 } }).quorate; // true
 * ```
 * @module
 */

/** What to do with resources in a partition without quorum (Pacemaker's no-quorum-policy). */
export type NoQuorumPolicy = "stop" | "freeze" | "ignore";

/** Input of the quorum decision. */
export interface QuorumInput {
  /** Members of the agreed membership. */
  members: readonly string[];
  /** Votes of every configured node (missing nodes have 1 vote). */
  votes: Readonly<Record<string, number>>;
  /** Expected votes; defaults to the sum of configured votes. */
  expectedVotes?: number;
}

/** The quorum decision with its arithmetic, for display. */
export interface QuorumState {
  /** Whether the partition has quorum. */
  quorate: boolean;
  /** Votes held by the members. */
  votes: number;
  /** Votes expected in the whole cluster. */
  expected: number;
  /** Votes needed for quorum. */
  needed: number;
}

/** Computes quorum for a membership. */
export function computeQuorum(input: QuorumInput): QuorumState {
  const voteOf = (n: string) => input.votes[n] ?? 1;
  const configured = Object.values(input.votes).reduce((a, b) => a + b, 0);
  const expected = Math.max(input.expectedVotes ?? configured, 1);
  const votes = input.members.reduce((sum, n) => sum + voteOf(n), 0);
  const needed = Math.floor(expected / 2) + 1;
  return { quorate: votes >= needed, votes, expected, needed };
}
