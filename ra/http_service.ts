/**
 * `HttpService`: a resource agent that serves a tiny HTTP service from inside the node
 * process. `GET /` answers with the name of the node serving it, which makes failover
 * visible from outside (`curl http://vip:port/`).
 *
 * The server lives in this process, so it dies with the node: exactly the behaviour
 * of a service whose node has crashed.
 *
 * @module
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { z } from "zod";
import {
  type AgentContext,
  defineResourceAgent,
  OCF,
  type OcfCode,
} from "../plugins/resource_agent.ts";

// CIB parameters are strings (as in Pacemaker), so a decimal string is accepted for port too.
const port = z
  .union([z.number(), z.string().regex(/^[0-9]+$/).transform(Number)])
  .pipe(z.number().int().min(1).max(65535));

const params = z.object({
  /** Address to listen on. */
  address: z.string().min(1).default("127.0.0.1"),
  /** TCP port to listen on (1..65535). */
  port,
});

type HttpServiceParams = z.output<typeof params>;

interface Running {
  server: Server;
  address: string;
  port: number;
  /** Settles with the start result; lets a concurrent start wait for the first one. */
  ready: Promise<OcfCode>;
}

// Servers this process is running, keyed by `${stateDir}|${resourceId}` so that several
// simulated nodes in one process (each with its own stateDir) keep separate resources.
const servers = new Map<string, Running>();

function keyOf(ctx: AgentContext<HttpServiceParams>): string {
  return `${ctx.stateDir}|${ctx.resourceId}`;
}

function handler(node: string) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (path !== "/") {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
      res.end("not found\n");
    } else if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { "content-type": "text/plain; charset=utf-8", allow: "GET, HEAD" });
      res.end("method not allowed\n");
    } else {
      res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
      res.end(`${node}\n`);
    }
  };
}

function listen(ctx: AgentContext<HttpServiceParams>, server: Server): Promise<OcfCode> {
  const { address, port } = ctx.params;
  return new Promise((resolve) => {
    const onListening = () => {
      cleanup();
      // A later server error must not go unhandled (it would crash the node); closing
      // the server makes the next monitor report the failure.
      server.on("error", () => server.close());
      resolve(OCF.OK);
    };
    const onError = (err: Error) => {
      cleanup();
      ctx.log(`HttpService: cannot listen on ${address}:${port}: ${err.message}`);
      resolve(OCF.ERR_GENERIC);
    };
    const onAbort = () => {
      cleanup();
      ctx.log(`HttpService: start aborted before listening on ${address}:${port}`);
      server.close();
      resolve(OCF.ERR_GENERIC);
    };
    const cleanup = () => {
      server.off("listening", onListening);
      server.off("error", onError);
      ctx.signal.removeEventListener("abort", onAbort);
    };
    server.once("listening", onListening);
    server.once("error", onError);
    ctx.signal.addEventListener("abort", onAbort, { once: true });
    server.listen(port, address);
  });
}

/** The `HttpService` agent definition: start listens, stop closes, monitor checks this process. */
const HttpService = defineResourceAgent({
  kind: "resource-agent",
  name: "HttpService",
  version: "1.0.0",
  description: "Serves GET / with the name of the node serving it (node:http, in-process).",
  params,
  actions: {
    async start(ctx) {
      const key = keyOf(ctx);
      const existing = servers.get(key);
      if (existing) {
        if (existing.address !== ctx.params.address || existing.port !== ctx.params.port) {
          ctx.log(
            `HttpService: already serving on ${existing.address}:${existing.port}; stop it first`,
          );
          return OCF.ERR_GENERIC;
        }
        return await existing.ready;
      }
      if (ctx.signal.aborted) return OCF.ERR_GENERIC;
      const server = createServer(handler(ctx.node));
      const running: Running = {
        server,
        address: ctx.params.address,
        port: ctx.params.port,
        ready: listen(ctx, server),
      };
      servers.set(key, running);
      const rc = await running.ready;
      if (rc !== OCF.OK && servers.get(key) === running) servers.delete(key);
      return rc;
    },
    async stop(ctx) {
      const key = keyOf(ctx);
      const running = servers.get(key);
      if (!running) return OCF.OK;
      // Let a start still in progress finish first, so there is something to close.
      const started = await running.ready;
      if (servers.get(key) === running) servers.delete(key);
      if (started !== OCF.OK) return OCF.OK;
      await new Promise<void>((resolve) => {
        running.server.close(() => resolve());
        // Keep-alive connections would otherwise hold close() open indefinitely.
        running.server.closeAllConnections();
      });
      return OCF.OK;
    },
    async monitor(ctx) {
      const running = servers.get(keyOf(ctx));
      if (!running) return OCF.NOT_RUNNING;
      if (await running.ready !== OCF.OK) return OCF.NOT_RUNNING;
      if (running.server.listening) return OCF.OK;
      // Started and never stopped, yet not listening: the service has failed.
      ctx.log(`HttpService: server on ${running.address}:${running.port} is no longer listening`);
      return OCF.ERR_GENERIC;
    },
  },
  timeouts: { start: 20_000, stop: 20_000, monitor: 20_000 },
});

/** The module's default export, as the plugin contract requires. */
export default HttpService;
