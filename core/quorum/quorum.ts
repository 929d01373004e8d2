/**
 * Quorum: whether a partition may run resources, from votes.
 *
 * Every configured node has one vote unless configured otherwise; a partition is
 * quorate when it holds more than half of the expected votes. On top of that plain
 * majority rule, as corosync's votequorum does:
 *
 * - **Quorum devices** (qdisk, see `plugins/qdisk.ts`) add votes: `expectedDeviceVotes`
 *   is added to the expected votes, and `deviceVotes` (what the device gives this
 *   partition now) to the partition's votes. A device gives its votes to at most one
 *   partition, which is what lets it break a tie (a 2-2 split of four nodes).
 * - **two_node**: with exactly two configured voting nodes of one vote each, one node
 *   alone is quorate (needed = 1). Safety then rests on fencing, so two_node implies
 *   wait_for_all unless `waitForAll` is explicitly false.
 * - **wait_for_all**: no partition is quorate until this node has once seen all
 *   configured nodes in one membership since it booted (`seenAllSinceBoot`, tracked by
 *   the caller). This keeps a freshly booted node that cannot see its peer from
 *   starting resources the peer may be running.
 *
 * Pure: no clock, no I/O.
 *
 * @example
 * ```ts
 * computeQuorum({ members: ["a", "b"], votes: { a: 1, b: 1, c: 1 } }).reason;
 * // "2 of 3 votes (needed 2)"
 * computeQuorum({
 *   members: ["a", "b"],
 *   votes: { a: 1, b: 1, c: 1, d: 1 },
 *   deviceVotes: 1,
 *   expectedDeviceVotes: 1,
 *   deviceName: "qdisk",
 * }).reason; // "2 of 5 votes + 1 from qdisk (needed 3)"
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
  /** Expected node votes; defaults to the sum of configured votes. Device votes are added. */
  expectedVotes?: number;
  /**
   * corosync's two_node: with exactly two configured voting nodes of one vote each (and no
   * quorum device), one vote is enough. Ignored, with a note in `reason`, otherwise.
   */
  twoNode?: boolean;
  /** corosync's wait_for_all; defaults to `twoNode`. */
  waitForAll?: boolean;
  /** Whether this node has seen all configured nodes in one membership since it booted. */
  seenAllSinceBoot?: boolean;
  /** Votes a quorum device gives this partition now (0..expectedDeviceVotes). */
  deviceVotes?: number;
  /** Votes quorum devices are configured with; added to the expected votes. */
  expectedDeviceVotes?: number;
  /** Name of the quorum device, for `reason` (default "quorum device"). */
  deviceName?: string;
}

/** The quorum decision with its arithmetic, for display. */
export interface QuorumState {
  /** Whether the partition has quorum. */
  quorate: boolean;
  /** Votes held by the partition: its members' votes plus device votes. */
  votes: number;
  /** Votes expected in the whole cluster, device votes included. */
  expected: number;
  /** Votes needed for quorum. */
  needed: number;
  /**
   * Of `votes`, how many come from quorum devices. Optional in this display type so that
   * documents written before devices existed still parse; {@link computeQuorum} always sets it.
   */
  deviceVotes?: number;
  /** One sentence explaining the decision; always set by {@link computeQuorum}. */
  reason?: string;
}

/** The result of {@link computeQuorum}: a {@link QuorumState} with every field present. */
export interface QuorumDecision extends QuorumState {
  /** Of `votes`, how many come from quorum devices. */
  deviceVotes: number;
  /** One sentence explaining the decision, e.g. `2 of 3 votes (needed 2)`. */
  reason: string;
}

/** Throws unless `value` is a finite, non-negative integer. */
function assertCount(value: number, field: string): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`quorum: ${field} must be a non-negative integer, got ${value}`);
  }
}

/** Whether the configured voting nodes are exactly two of one vote each. */
function isTwoNodeCluster(votes: Readonly<Record<string, number>>): boolean {
  const voting = Object.values(votes).filter((v) => v > 0);
  return voting.length === 2 && voting.every((v) => v === 1);
}

/** Computes quorum for a membership. */
export function computeQuorum(input: QuorumInput): QuorumDecision {
  const voteOf = (n: string) => input.votes[n] ?? 1;
  for (const [node, v] of Object.entries(input.votes)) assertCount(v, `votes.${node}`);
  const expectedDeviceVotes = input.expectedDeviceVotes ?? 0;
  const deviceVotes = input.deviceVotes ?? 0;
  assertCount(expectedDeviceVotes, "expectedDeviceVotes");
  assertCount(deviceVotes, "deviceVotes");
  if (deviceVotes > expectedDeviceVotes) {
    throw new RangeError(
      `quorum: deviceVotes (${deviceVotes}) exceeds expectedDeviceVotes (${expectedDeviceVotes})`,
    );
  }

  const configured = Object.values(input.votes).reduce((a, b) => a + b, 0);
  const expectedNodeVotes = Math.max(input.expectedVotes ?? configured, 1);
  const expected = expectedNodeVotes + expectedDeviceVotes;
  // A member listed twice still has one vote.
  const nodeVotes = [...new Set(input.members)].reduce((sum, n) => sum + voteOf(n), 0);
  const votes = nodeVotes + deviceVotes;
  const majority = Math.floor(expected / 2) + 1;

  const deviceText = expectedDeviceVotes > 0
    ? ` + ${deviceVotes} from ${input.deviceName ?? "quorum device"}`
    : "";
  const arithmetic = (needed: number) =>
    `${nodeVotes} of ${expected} votes${deviceText} (needed ${needed})`;

  let needed = majority;
  let reason: string;
  let twoNodeNote = "";
  if (input.twoNode) {
    // corosync refuses two_node with a quorum device or with other vote counts.
    const applies = isTwoNodeCluster(input.votes) && expectedNodeVotes === 2 &&
      expectedDeviceVotes === 0;
    if (applies) needed = 1;
    else twoNodeNote = "; two_node ignored (needs exactly two nodes of one vote, no device)";
  }
  const twoNodeApplies = input.twoNode === true && twoNodeNote === "";

  const waitForAll = input.waitForAll ?? input.twoNode ?? false;
  if (waitForAll && !input.seenAllSinceBoot) {
    return {
      quorate: false,
      votes,
      expected,
      needed,
      deviceVotes,
      reason: `waiting for all nodes (wait_for_all): ${arithmetic(needed)}${twoNodeNote}`,
    };
  }
  const quorate = votes >= needed;
  if (twoNodeApplies) {
    reason = quorate
      ? `two_node: ${votes} of ${expected} votes is enough`
      : `two_node: ${votes} of ${expected} votes (needed 1)`;
  } else {
    reason = arithmetic(needed) + twoNodeNote;
  }
  return { quorate, votes, expected, needed, deviceVotes, reason };
}
