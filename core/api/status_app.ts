/**
 * The node's HTTP API as a Hono app:
 *
 * | route                    | body / answer                                                        |
 * | ------------------------ | -------------------------------------------------------------------- |
 * | `GET /status`            | the cluster as this node sees it                                      |
 * | `GET /events`            | recent cluster events                                                 |
 * | `GET /healthz`           | `ok`                                                                  |
 * | `GET /cib`               | `{ cib, stamp: { term, version, digest } }`: this node's copy         |
 * | `POST /cib/update`       | `{ update }` (a CibUpdate) -> 200 `{ ok: true, version, stamp, summary? }`, 409 `{ ok: false, outcome: "refused", error }`, 503 `{ ok: false, outcome: "unknown", error }`, 400 `{ ok: false, error }` |
 * | `POST /resource/cleanup` | `{ resource, node? }` -> 200 `{ ok: true, nodes }`, 400/409 `{ ok: false, error }` |
 * | `GET /explain/:resource` | 200 `{ resource, node, scores, reason, details, dc }` from the DC's policy engine (any node forwards to the DC), 404/503 `{ ok: false, error }` |
 *
 * @example
 * ```ts
 * const res = await app.request("/cib/update", {
 *   method: "POST",
 *   body: JSON.stringify({ update: { op: "node-standby", node: "n2", standby: true } }),
 * });
 * ```
 * @module
 */

import { Hono } from "hono";
import { z } from "zod";
import { formatPath } from "../cib/cib.ts";
import { type CibUpdate, cibUpdateSchema } from "../cib/cib_update.ts";
import type { CibStamp } from "../cib/replication/stamp.ts";
import type { CibDocument } from "../cib/schema/document.ts";
import type { CibVersion } from "../cib/version.ts";
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

/** What `GET /cib` returns: this node's copy and its replication stamp. */
export interface CibSnapshot {
  /** The document. */
  cib: CibDocument;
  /** Term, version triple and digest of the copy. */
  stamp: CibStamp;
}

/** The outcome of `POST /cib/update`. */
export type CibUpdateResponse =
  /** Persisted by a majority of the configured nodes (HTTP 200). */
  | { ok: true; version: CibVersion; stamp: CibStamp; summary?: string }
  /** `refused` (409): never applied. `unknown` (503): may or may not have been applied. */
  | { ok: false; outcome: "refused" | "unknown"; error: string };

/** The outcome of `POST /resource/cleanup`. */
export type CibCleanupResponse =
  /** The nodes whose LRM clears it (this one, or peers it was sent to). */
  | { ok: true; nodes: string[] }
  | { ok: false; error: string };

/** Schema of the answer of `GET /explain/:resource` (also checks a forwarded answer). */
export const explanationSchema = z.strictObject({
  /** The resource (primitive or clone instance) id. */
  resource: z.string().min(1),
  /** Where it is placed (null: stopped). */
  node: z.string().nullable(),
  /** Score per node when it was placed (null: not a candidate). */
  scores: z.record(z.string(), z.number().nullable()),
  /** One sentence: what decided it. */
  reason: z.string(),
  /** The facts behind it. */
  details: z.array(z.string()),
  /** The DC whose policy engine answered. */
  dc: z.string().min(1),
});

/** The answer of `GET /explain/:resource`. */
export type Explanation = z.output<typeof explanationSchema>;

/** The outcome of an explain request: the explanation, or 404/503 with the reason. */
export type ExplainResponse =
  | { ok: true; explanation: Explanation }
  | { ok: false; code: 404 | 503; error: string };

/** What the app reads from, and asks of, the running daemon. */
export interface StatusSource {
  /** The current status document. */
  status(): StatusDocument;
  /** Recent events, oldest first, with wall-clock times. */
  events(): { at: number; event: ClusterEvent }[];
  /** This node's CIB copy. */
  cib?(): CibSnapshot;
  /** Submits a configuration change and resolves with its outcome (bounded wait). */
  updateCib?(update: CibUpdate): Promise<CibUpdateResponse>;
  /** Clears a resource's fail counts on one node or every node. */
  cleanup?(resource: string, node?: string): CibCleanupResponse;
  /** Explains a resource's placement; `forwarded`: the request came from another node. */
  explain?(resource: string, forwarded: boolean): Promise<ExplainResponse>;
}

/** Schema of the body of `POST /cib/update`. */
export const cibUpdateBodySchema = z.strictObject({ update: cibUpdateSchema });

/** Schema of the body of `POST /resource/cleanup`. */
export const cleanupBodySchema = z.strictObject({
  resource: z.string().min(1).max(255),
  node: z.string().min(1).max(255).optional(),
});

/** Most bytes of a request body read. */
const MAX_BODY_BYTES = 1024 * 1024;

/** Builds the API app over a status source. */
export function createStatusApp(source: StatusSource): Hono {
  const app = new Hono();
  app.get("/status", (c) => c.json(source.status()));
  app.get("/events", (c) => c.json(source.events()));
  app.get("/healthz", (c) => c.text("ok\n"));
  app.get("/cib", (c) => {
    if (!source.cib) return c.json({ ok: false, error: "no CIB here" }, 404);
    return c.json(source.cib());
  });
  app.post("/cib/update", async (c) => {
    if (!source.updateCib) return c.json({ ok: false, error: "no CIB here" }, 404);
    const body = await readBody(c.req.raw, cibUpdateBodySchema);
    if (!body.ok) return c.json({ ok: false, error: body.error }, 400);
    const result = await source.updateCib(body.value.update);
    const code = result.ok ? 200 : result.outcome === "refused" ? 409 : 503;
    return c.json(result, code);
  });
  app.post("/resource/cleanup", async (c) => {
    if (!source.cleanup) return c.json({ ok: false, error: "no LRM here" }, 404);
    const body = await readBody(c.req.raw, cleanupBodySchema);
    if (!body.ok) return c.json({ ok: false, error: body.error }, 400);
    const result = source.cleanup(body.value.resource, body.value.node);
    return c.json(result, result.ok ? 200 : 409);
  });
  app.get("/explain/:resource", async (c) => {
    if (!source.explain) return c.json({ ok: false, error: "no policy engine here" }, 404);
    const resource = c.req.param("resource");
    if (resource.length === 0 || resource.length > 255) {
      return c.json({ ok: false, error: "resource: 1 to 255 characters" }, 400);
    }
    const result = await source.explain(resource, c.req.query("forwarded") === "1");
    if (result.ok) return c.json(result.explanation);
    return c.json({ ok: false, error: result.error }, result.code);
  });
  return app;
}

/** Reads a JSON body (bounded) and checks it; errors name the field (`update.resource`). */
async function readBody<T>(
  req: Request,
  schema: z.ZodType<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: string }> {
  const text = await req.text();
  if (text.length > MAX_BODY_BYTES) {
    return { ok: false, error: `body larger than ${MAX_BODY_BYTES} bytes` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `body is not JSON: ${(e as Error).message}` };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    return {
      ok: false,
      error: parsed.error.issues
        .map((i) => `${i.path.length ? formatPath(i.path) : "(body)"}: ${i.message}`)
        .join("\n"),
    };
  }
  return { ok: true, value: parsed.data };
}
