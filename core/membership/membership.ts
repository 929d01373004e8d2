/**
 * Membership: from liveness and the views peers report, agree on a set of nodes
 * that can all reach each other, with a generation number.
 *
 * A pure state machine. Each node proposes the group that contains it (see
 * {@link partitionNodes}); a membership is *agreed* once every node in the
 * proposal reports the identical proposal (members and generation). Between
 * agreements the node is "in transition": it coordinates nothing new.
 *
 * Two nodes that both hold the same single-instance resource are not allowed
 * into one membership unless they already shared the previous one: at a merge
 * the conflicting node is left out, so the side without quorum stops its copy
 * before it can join. This keeps a resource from being active twice inside one
 * partition.
 *
 * @example
 * ```ts
 * const m = new MembershipCore("n1");
 * m.update({ alive: [], reports: new Map(), ready: true, active: [] });
 * m.agreed; // { members: ["n1"], generation: 1 }
 * ```
 * @module
 */

import { groupOf, partitionNodes } from "./partition.ts";

/** An agreed membership: who is in, and its generation (increases on every change). */
export interface Membership {
  /** Sorted member names. */
  members: string[];
  /** Generation of this membership. */
  generation: number;
}

/** What a node tells its peers about its membership state (carried in heartbeats). */
export interface MembershipReport {
  /** Nodes this node currently hears (sorted, without itself). */
  view: string[];
  /** Its current proposal. */
  proposal: Membership;
  /** Generation of its last agreed membership (0 if none). */
  agreedGeneration: number;
  /** False until the node finished its start-up probes; unready nodes join nobody. */
  ready: boolean;
  /** Single-instance resources active on the node (used to refuse conflicting merges). */
  active: string[];
}

/** Input of one membership update. */
export interface MembershipInput {
  /** Peers alive according to liveness. */
  alive: readonly string[];
  /** Latest report of each alive peer (reports of dead peers are ignored). */
  reports: ReadonlyMap<string, MembershipReport>;
  /** Whether this node finished its start-up probes. */
  ready: boolean;
  /** Single-instance resources active on this node. */
  active: readonly string[];
}

/** What changed in one update. */
export interface MembershipChange {
  /** The proposal changed (announce it at once). */
  proposalChanged: boolean;
  /** The agreed membership changed (including to or from "in transition"). */
  agreedChanged: boolean;
}

/** The membership state machine of one node. */
export class MembershipCore {
  /** This node's name. */
  readonly self: string;
  #proposal: Membership;
  #agreed: Membership | null = null;
  #agreedGeneration = 0;
  #view: string[] = [];
  #ready = false;
  #active: string[] = [];

  /** Creates the state machine; `generation` seeds the counter (e.g. from disk). */
  constructor(self: string, generation = 0) {
    this.self = self;
    // Empty until the first update, so the first agreement gets a fresh generation.
    this.#proposal = { members: [], generation };
    this.#agreedGeneration = generation;
  }

  /** The current proposal. */
  get proposal(): Membership {
    return this.#proposal;
  }

  /** The agreed membership, or null while in transition. */
  get agreed(): Membership | null {
    return this.#agreed;
  }

  /** The report to put in the next heartbeat. */
  report(): MembershipReport {
    return {
      view: this.#view,
      proposal: this.#proposal,
      agreedGeneration: this.#agreedGeneration,
      ready: this.#ready,
      active: this.#active,
    };
  }

  /** Recomputes proposal and agreement from the latest liveness and reports. */
  update(input: MembershipInput): MembershipChange {
    const self = this.self;
    this.#view = [...input.alive].filter((n) => n !== self).sort();
    this.#ready = input.ready;
    this.#active = [...input.active].sort();
    const reports = new Map<string, MembershipReport>();
    for (const peer of this.#view) {
      const r = input.reports.get(peer);
      if (r) reports.set(peer, r);
    }
    const nodes = [self, ...reports.keys()];
    const viewOf = (n: string) => (n === self ? this.#view : reports.get(n)!.view);
    const readyOf = (n: string) => (n === self ? this.#ready : reports.get(n)!.ready);
    const activeOf = (n: string) => (n === self ? this.#active : reports.get(n)!.active);
    const previous = this.#agreed?.members ?? [];
    const adjacent = (a: string, b: string) =>
      readyOf(a) && readyOf(b) && viewOf(a).includes(b) && viewOf(b).includes(a) &&
      !(conflicting(activeOf(a), activeOf(b)) && !(previous.includes(a) && previous.includes(b)));
    const groups = partitionNodes(nodes, adjacent, {
      // A node alone has nobody to keep together: no incumbents, or a node cut off
      // one way would flap between agreeing alone and re-adding its peers.
      incumbent: (n) => previous.length > 1 && previous.includes(n),
      seenBy: (n, among) => among.filter((x) => x !== n && viewOf(x).includes(n)).length,
      generation: (n) => (n === self ? this.#agreedGeneration : reports.get(n)!.agreedGeneration),
    });
    const members = groupOf(groups, self);

    const before = this.#proposal;
    let generation: number;
    if (!sameMembers(members, before.members)) {
      let highest = Math.max(before.generation, this.#agreedGeneration);
      for (const r of reports.values()) {
        highest = Math.max(highest, r.proposal.generation, r.agreedGeneration);
      }
      generation = highest + 1;
    } else {
      generation = before.generation;
      for (const peer of members) {
        const r = reports.get(peer);
        if (r && sameMembers(r.proposal.members, members)) {
          generation = Math.max(generation, r.proposal.generation);
        }
      }
    }
    this.#proposal = { members, generation };
    const proposalChanged = generation !== before.generation ||
      !sameMembers(members, before.members);

    const agreed = members.every((peer) =>
      peer === self || (sameMembers(reports.get(peer)!.proposal.members, members) &&
        reports.get(peer)!.proposal.generation === generation)
    );
    const next = agreed ? this.#proposal : null;
    const agreedChanged = next?.generation !== this.#agreed?.generation ||
      !sameMembers(next?.members ?? [], this.#agreed?.members ?? []);
    this.#agreed = next;
    if (next) this.#agreedGeneration = Math.max(this.#agreedGeneration, next.generation);
    return { proposalChanged, agreedChanged };
  }
}

/** Whether two sorted-or-not member lists hold the same names. */
export function sameMembers(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((n) => set.has(n));
}

function conflicting(a: readonly string[], b: readonly string[]): boolean {
  return a.some((r) => b.includes(r));
}
