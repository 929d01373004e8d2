/**
 * Endpoint checks: `TcpCheck` (a TCP port accepts connections) and `HttpCheck` (a URL
 * answers with the expected HTTP status).
 *
 * They watch a service something else runs (another resource, a system service, a
 * remote host), so that its failure counts as the failure of a cluster resource, the way
 * a ping or HTTP monitor is grouped with what it watches. `start` and `stop` only record
 * in a state file whether the check is active, like `Dummy`; `monitor` returns
 * NOT_RUNNING when stopped, OK when the endpoint answers, and ERR_GENERIC when started
 * but the endpoint does not answer (refused, timed out, wrong status).
 *
 * @example
 * ```ts
 * // { id: "db-port", agent: "TcpCheck", params: { host: "10.0.0.5", port: 5432 } }
 * // { id: "web-ok", agent: "HttpCheck", params: { url: "http://10.0.0.100/health" } }
 * ```
 * @module
 */

import { connect } from "node:net";
import { z } from "zod";
import {
  type AgentContext,
  OCF,
  type OcfCode,
  type ResourceAgentDefinition,
} from "../plugins/resource_agent.ts";
import {
  errorText,
  removeStateFile,
  stateFileStatus,
  timeoutWithin,
  writeStateFile,
} from "./agent_tools.ts";
import { integerParam } from "./params.ts";

// ---------------------------------------------------------------------------------------
// Parameters

const stateParam = z.string().min(1).optional().describe(
  "Path of the state file saying the check is active; by default STATEDIR/AGENT-RESOURCE.state.",
);

const tcpParams = z.object({
  host: z.string().min(1).max(253).regex(/^[A-Za-z0-9_.:%-]+$/, {
    error: "expected a host name or an IP address",
  }).default("127.0.0.1").describe("Host name or IP address to connect to."),
  port: integerParam(1, 65535).describe("TCP port that must accept a connection."),
  connect_timeout: integerParam(1, 600_000).prefault(2_000).describe(
    "Milliseconds a connection may take before the check fails.",
  ),
  state: stateParam,
});

/** The parsed parameters of a `TcpCheck` resource. */
export type TcpCheckParams = z.output<typeof tcpParams>;

const httpParams = z.object({
  url: z.string().refine((s) => {
    try {
      return ["http:", "https:"].includes(new URL(s).protocol);
    } catch {
      return false;
    }
  }, { error: "expected an http:// or https:// URL" }).describe(
    "URL to request with GET (redirects are not followed: a 3xx is the answer).",
  ),
  expect_status: integerParam(100, 599).optional().describe(
    "The HTTP status that counts as healthy; by default any 2xx or 3xx.",
  ),
  request_timeout: integerParam(1, 600_000).prefault(5_000).describe(
    "Milliseconds the response headers may take before the check fails.",
  ),
  state: stateParam,
});

/** The parsed parameters of an `HttpCheck` resource. */
export type HttpCheckParams = z.output<typeof httpParams>;

// ---------------------------------------------------------------------------------------
// Probes (exported for tests)

/** The outcome of one probe: undefined when healthy, else why not. */
export type ProbeFailure = string | undefined;

/**
 * Connects to `host:port` and closes the connection at once.
 *
 * @returns undefined when the connection was accepted within `timeoutMs`, else why not
 */
export function probeTcp(
  host: string,
  port: number,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<ProbeFailure> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve("aborted");
    const socket = connect({ host, port });
    let settled = false;
    const finish = (failure: ProbeFailure) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      socket.destroy();
      resolve(failure);
    };
    const onAbort = () => finish("aborted");
    const timer = setTimeout(() => finish(`no connection within ${timeoutMs} ms`), timeoutMs);
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.once("connect", () => finish(undefined));
    socket.once("error", (e) => finish(e.message));
  });
}

/**
 * Requests `url` with GET and compares the status with `expectStatus` (any 2xx/3xx when
 * undefined). The body is not read.
 *
 * @returns undefined when the status is as expected, else why not
 */
export async function probeHttp(
  url: string,
  expectStatus: number | undefined,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<ProbeFailure> {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetch(url, {
      redirect: "manual",
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    await res.body?.cancel();
    const ok = expectStatus === undefined
      ? res.status >= 200 && res.status < 400
      : res.status === expectStatus;
    if (ok) return undefined;
    return `status ${res.status}, expected ${expectStatus ?? "2xx or 3xx"}`;
  } catch (e) {
    if (timeout.aborted) return `no response within ${timeoutMs} ms`;
    return errorText(e);
  }
}

// ---------------------------------------------------------------------------------------
// The two agents share everything but the probe.

/** Builds a check agent from its name, schema and probe. */
function checkAgent<S extends z.ZodType<{ state?: string }>>(
  name: string,
  description: string,
  params: S,
  what: (p: z.output<S>) => string,
  probe: (ctx: AgentContext<z.output<S>>) => Promise<ProbeFailure>,
): ResourceAgentDefinition<S> {
  const statePath = (ctx: AgentContext<z.output<S>>) =>
    ctx.params.state ?? `${ctx.stateDir}/${name}-${ctx.resourceId}.state`;
  return {
    kind: "resource-agent",
    name,
    version: "1.0.0",
    description,
    params,
    actions: {
      start: (ctx) => writeStateFile(ctx, name, statePath(ctx), `${what(ctx.params)}\n`),
      stop: (ctx) => removeStateFile(ctx, name, statePath(ctx)),
      async monitor(ctx): Promise<OcfCode> {
        const active = await stateFileStatus(ctx, name, statePath(ctx));
        if (active !== OCF.OK) return active;
        const failure = await probe(ctx);
        if (failure === undefined) return OCF.OK;
        ctx.log(`${name}: ${what(ctx.params)}: ${failure}`);
        return OCF.ERR_GENERIC;
      },
    },
    timeouts: { start: 20_000, stop: 20_000, monitor: 20_000 },
  };
}

/** `TcpCheck`: monitor succeeds while `host:port` accepts TCP connections. */
export const TcpCheck: ResourceAgentDefinition<typeof tcpParams> = checkAgent(
  "TcpCheck",
  "Checks that a TCP port accepts connections (start/stop only switch the check on and off).",
  tcpParams,
  (p) => `${p.host.includes(":") ? `[${p.host}]` : p.host}:${p.port}`,
  (ctx) =>
    probeTcp(
      ctx.params.host,
      ctx.params.port,
      timeoutWithin(ctx.params.connect_timeout, ctx.timeoutMs),
      ctx.signal,
    ),
);

/** `HttpCheck`: monitor succeeds while a URL answers with the expected status. */
export const HttpCheck: ResourceAgentDefinition<typeof httpParams> = checkAgent(
  "HttpCheck",
  "Checks that a URL answers with the expected HTTP status (start/stop only switch it on/off).",
  httpParams,
  (p) => p.url,
  (ctx) =>
    probeHttp(
      ctx.params.url,
      ctx.params.expect_status,
      timeoutWithin(ctx.params.request_timeout, ctx.timeoutMs),
      ctx.signal,
    ),
);

/** The module's default export: `TcpCheck` (`HttpCheck` is a named export). */
export default TcpCheck;
