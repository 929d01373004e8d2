/**
 * The CLI's side of a node's HTTP API: finding the node to ask (`--api`,
 * `--config`, `$VIGIL_API`) and the few calls the commands make. Every command
 * talks to the local daemon; the daemon forwards changes to the DC, so the CLI
 * works the same on any node.
 *
 * @example
 * ```ts
 * const api = resolveApi({ api: "127.0.0.1:7501" });
 * const r = await postUpdate(api, { op: "resource-stop", resource: "web" });
 * ```
 * @module
 */

import process from "node:process";
import type { StatusDocument } from "../api/status_app.ts";
import type { CibUpdate } from "../cib/cib_update.ts";
import type { CibDocument } from "../cib/schema/document.ts";
import type { CibVersion } from "../cib/version.ts";
import { DEFAULT_API, loadNodeConfig } from "../config/node_config.ts";

/** How long one API call may take. Updates wait for a majority to persist them. */
export const API_TIMEOUT_MS = 15_000;

/** An API call that failed: the node is unreachable, or it answered with an error. */
export class ApiError extends Error {
  /** The HTTP status, when the node answered. */
  readonly status?: number;
  /**
   * @param message what went wrong, naming the node's address
   * @param status the HTTP status, when the node answered
   */
  constructor(message: string, status?: number) {
    super(message);
    this.name = "ApiError";
    if (status !== undefined) this.status = status;
  }
}

/** Options every API-using command accepts. */
export interface ApiOptions {
  /** HOST:PORT of the node's API. */
  api?: string;
  /** A node configuration file naming the API. */
  config?: string;
}

/** The node to ask: `--api`, else the one `--config` names, else `$VIGIL_API`, else the default. */
export function resolveApi(opts: ApiOptions): string {
  if (opts.api) return opts.api;
  if (opts.config) {
    const cfg = loadNodeConfig(opts.config);
    return cfg.nodes.find((n) => n.name === cfg.node)?.api ?? DEFAULT_API;
  }
  return process.env.VIGIL_API ?? DEFAULT_API;
}

/** The `--api` and `--config` option definitions for node:util parseArgs. */
export const API_PARSE_OPTIONS = {
  api: { type: "string" },
  config: { type: "string" },
  json: { type: "boolean", default: false },
} as const;

async function call<T>(api: string, path: string, init?: RequestInit): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`http://${api}${path}`, {
      ...init,
      signal: AbortSignal.timeout(API_TIMEOUT_MS),
    });
  } catch (e) {
    throw new ApiError(`cannot reach the node at http://${api}${path}: ${(e as Error).message}`);
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const error = (body as { error?: unknown } | undefined)?.error;
    throw new ApiError(
      typeof error === "string" ? error : `HTTP ${res.status} from http://${api}${path}: ${text}`,
      res.status,
    );
  }
  return body as T;
}

/** GET /status. */
export function getStatus(api: string): Promise<StatusDocument> {
  return call(api, "/status");
}

/** What GET /cib returns. */
export interface CibAnswer {
  /** The node's copy of the CIB. */
  cib: CibDocument;
  /** Its stamp: the term, version and digest. */
  stamp: { term: number; version: CibVersion; digest: string };
}

/** GET /cib. */
export function getCib(api: string): Promise<CibAnswer> {
  return call(api, "/cib");
}

/** What an acknowledged update returns. */
export interface UpdateAnswer {
  /** Always true (errors throw {@link ApiError}). */
  ok: true;
  /** The CIB version that holds the change. */
  version: CibVersion;
  /** What changed, in words (when the DC gave it). */
  summary?: string;
}

/**
 * POST /cib/update: resolves once a majority of the configured nodes have persisted
 * the change; throws {@link ApiError} with the node's reason when it was refused
 * (e.g. no quorum) or its outcome is unknown.
 */
export function postUpdate(api: string, update: CibUpdate): Promise<UpdateAnswer> {
  return call(api, "/cib/update", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ update }),
  });
}

/** POST /resource/cleanup: forgets a resource's failures on one node or all. */
export function postCleanup(
  api: string,
  resource: string,
  node?: string,
): Promise<{ ok: true; nodes: string[] }> {
  return call(api, "/resource/cleanup", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(node ? { resource, node } : { resource }),
  });
}

/** What GET /explain/RESOURCE returns: the DC's reasoning for one resource. */
export interface ExplanationAnswer {
  /** The resource. */
  resource: string;
  /** Where it is placed, or null when it is not placed anywhere. */
  node: string | null;
  /** Its allocation score per node (null: the node could not be considered). */
  scores: Record<string, number | null>;
  /** One sentence on why it is where it is. */
  reason: string;
  /** What contributed: constraints, stickiness, failures. */
  details: string[];
}

/** GET /explain/RESOURCE (answered by the DC). */
export function getExplanation(api: string, resource: string): Promise<ExplanationAnswer> {
  return call(api, `/explain/${encodeURIComponent(resource)}`);
}
