/**
 * Renders a status document as one screen of text, the way crm_mon does.
 *
 * @example
 * ```text
 * Cluster of 3 nodes, seen from n1 (vigil 0.1.0)
 * Current DC: n1 - partition with quorum (3 of 3 votes, 2 needed)
 * Membership generation 4; CIB version 0.1.7
 *
 * Node List:
 *   * Online: [ n1 n2 n3 ]
 *
 * Full List of Resources:
 *   * web   (HttpService):   Started n2
 * ```
 * @module
 */

import type { StatusDocument } from "../api/status_app.ts";
import { formatVersion } from "../cib/version.ts";

/** A resource moved by `vigil resource move`, as the status lists it. */
export interface MoveView {
  /** The resource. */
  resource: string;
  /** The node it is moved to. */
  node: string;
  /** When the move expires (ms since the epoch), if it was given a lifetime. */
  expiresAt?: number;
}

/** Formats `doc` as crm_mon-style text, with the active moves when they are known. */
export function renderStatus(doc: StatusDocument, moves: readonly MoveView[] = []): string {
  const lines: string[] = [];
  lines.push(`Cluster of ${doc.nodes.length} nodes, seen from ${doc.node} (vigil ${doc.version})`);
  if (doc.dc && doc.quorum) {
    const q = doc.quorum;
    lines.push(
      `Current DC: ${doc.dc} - partition ${q.quorate ? "with" : "WITHOUT"} quorum (${
        q.reason ?? `${q.votes} of ${q.expected} votes, ${q.needed} needed`
      })`,
    );
  } else {
    lines.push("Current DC: NONE - membership in transition");
  }
  lines.push(
    `Membership generation ${doc.membership?.generation ?? "-"}; CIB version ${
      formatVersion(doc.cibVersion)
    }`,
  );
  lines.push("", "Node List:");
  const members = doc.membership?.members ?? [];
  const online = doc.nodes.filter((n) => members.includes(n));
  const offline = doc.nodes.filter((n) => !members.includes(n));
  lines.push(`  * Online: [ ${online.join(" ")} ]`);
  if (offline.length) lines.push(`  * OFFLINE: [ ${offline.join(" ")} ]`);
  if (doc.links.length) {
    lines.push("", "Links:");
    for (const l of doc.links) {
      const peers = l.peers.map((p) =>
        `${p.peer} ${p.up ? "up" : "DOWN"}${p.rttMs !== null ? ` rtt ${p.rttMs} ms` : ""}`
      );
      const c = l.counters;
      lines.push(
        `  * ${l.name} (${l.type}): ${l.up ? "up" : "DOWN"}${
          peers.length ? ` - ${peers.join(", ")}` : ""
        } [in ${c.packetsIn}, out ${c.packetsOut}, dropped ${
          l.dropped + c.framingErrors
        }, send errors ${c.sendErrors}]`,
      );
    }
  }
  if (doc.devices.length) {
    lines.push("", "Quorum Devices:");
    for (const d of doc.devices) {
      const r = d.reading;
      lines.push(
        `  * ${d.plugin}: ${
          r
            ? `${
              r.healthy ? "healthy" : "UNHEALTHY"
            }, ${r.votes} of ${d.expectedVotes} votes, score ${r.score} - ${r.detail}`
            : "not read yet"
        }`,
      );
    }
  }
  if (doc.heartbeatPeers?.length) {
    lines.push("", "Heartbeat Nodes (heartbeat-compat):");
    for (const p of doc.heartbeatPeers) {
      lines.push(
        `  * ${p.name}: ${p.status}${
          p.lastHeardAgoMs !== null ? `, heard ${p.lastHeardAgoMs} ms ago` : ""
        }`,
      );
    }
  }
  lines.push("", "Full List of Resources:");
  if (doc.resources.length === 0) lines.push("  * No resources");
  const width = Math.max(0, ...doc.resources.map((r) => r.id.length));
  for (const r of doc.resources) {
    const where = r.on.length === 0
      ? "Stopped"
      : r.on.map((o) =>
        `${stateWord(o.state)} ${o.node}${o.failCount ? ` (${o.failCount} failures)` : ""}`
      )
        .join(", ");
    lines.push(`  * ${r.id.padEnd(width)}\t(${r.agent}):\t ${where}`);
  }
  const failures = doc.resources.flatMap((r) =>
    r.on.filter((o) => o.state === "failed").map((o) => `  * ${r.id} on ${o.node}`)
  );
  if (failures.length) lines.push("", "Failed Resource Actions:", ...failures);
  const failCounts = doc.resources.flatMap((r) =>
    r.on.filter((o) => o.failCount > 0).map((o) =>
      `  * ${r.id} on ${o.node}: fail-count=${o.failCount}`
    )
  );
  if (failCounts.length) lines.push("", "Fail counts:", ...failCounts);
  if (moves.length) {
    lines.push(
      "",
      "Active moves:",
      ...moves.map((m) =>
        `  * ${m.resource} -> ${m.node} ${
          m.expiresAt === undefined
            ? "(until vigil resource unmove)"
            : `(until ${new Date(m.expiresAt).toISOString()})`
        }`
      ),
    );
  }
  return lines.join("\n");
}

function stateWord(state: string): string {
  switch (state) {
    case "started":
      return "Started";
    case "starting":
      return "Starting";
    case "stopping":
      return "Stopping";
    case "failed":
      return "FAILED";
    default:
      return "Stopped";
  }
}
