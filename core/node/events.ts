/**
 * Cluster events a node reports as they happen (the log, the demo's narration
 * and the status page's recent history all read these).
 *
 * @module
 */

/** Kinds of cluster events. */
export type ClusterEventKind =
  | "node-up"
  | "node-late"
  | "node-lost"
  | "membership"
  | "quorum"
  | "dc-elected"
  | "transition"
  | "resource-started"
  | "resource-stopped"
  | "resource-failed"
  | "cib"
  | "self-stop"
  | "fence"
  | "link-up"
  | "link-down"
  | "device"
  | "heartbeat-node";

/** One cluster event. */
export interface ClusterEvent {
  /** What happened. */
  kind: ClusterEventKind;
  /** One human sentence. */
  text: string;
  /** The peer or resource it is about, if any. */
  subject?: string;
}
