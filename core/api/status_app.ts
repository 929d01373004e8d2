/**
 * The node's HTTP API as a Hono app: `GET /status` (the cluster as this node
 * sees it), `GET /events` (recent cluster events) and `GET /healthz`.
 *
 * @module
 */

import { Hono } from "hono";
import type { ClusterEvent } from "../node/events.ts";
import type { NodeSnapshot } from "../node/node_core.ts";
import type { LinkStatus } from "../daemon/link_set.ts";
import type { QuorumDeviceStatus } from "../daemon/quorum_devices.ts";
import type { HbPeerSnapshot } from "../compat/heartbeat_peers.ts";
import type { HeartbeatLinkStats } from "../compat/heartbeat_link.ts";

/** Per-link and per-reason counters the shell adds to the core's snapshot. */
export interface TransportStats {
  /** Frames received and accepted. */
  received: number;
  /** Frames sent. */
  sent: number;
  /** Frames dropped, by reason. */
  dropped: Record<string, number>;
}

/** What `GET /status` returns. */
export interface StatusDocument extends NodeSnapshot {
  /** Vigil version. */
  version: string;
  /** Milliseconds since the daemon started. */
  uptimeMs: number;
  /** Transport counters. */
  transport: TransportStats;
  /** Each link: up/down, peers heard on it, round-trip times, packet counters. */
  links: LinkStatus[];
  /** Quorum devices and their last readings. */
  devices: QuorumDeviceStatus[];
  /** Heartbeat nodes seen in heartbeat-compat mode. */
  heartbeatPeers?: HbPeerSnapshot[];
  /** Counters of the heartbeat-compat link. */
  heartbeatLink?: HeartbeatLinkStats;
}

/** What the app reads from the running daemon. */
export interface StatusSource {
  /** The current status document. */
  status(): StatusDocument;
  /** Recent events, oldest first, with wall-clock times. */
  events(): { at: number; event: ClusterEvent }[];
}

/** Builds the API app over a status source. */
export function createStatusApp(source: StatusSource): Hono {
  const app = new Hono();
  app.get("/status", (c) => c.json(source.status()));
  app.get("/events", (c) => c.json(source.events()));
  app.get("/healthz", (c) => c.text("ok\n"));
  return app;
}
