/**
 * Serving HTTP: the one place where Deno and Bun differ for Vigil.
 *
 * Project code hands a web-standard fetch handler (a Hono app's `fetch`) to
 * {@link serveHttp}; this module picks `Deno.serve` or `Bun.serve`.
 *
 * @example
 * ```ts
 * const server = await serveHttp({ hostname: "127.0.0.1", port: 0, fetch: app.fetch });
 * console.log(server.port);
 * await server.close();
 * ```
 * @module
 */

/** A running HTTP server. */
export interface HttpServer {
  /** The port it listens on (useful with port 0). */
  port: number;
  /** Stops listening and closes connections. */
  close(): Promise<void>;
}

/** What to serve and where. */
export interface ServeOptions {
  /** Address to listen on. */
  hostname: string;
  /** Port (0 picks a free one). */
  port: number;
  /** Web-standard request handler. */
  fetch: (request: Request) => Response | Promise<Response>;
}

interface DenoLike {
  serve(
    options: { hostname: string; port: number; onListen?: (addr: { port: number }) => void },
    handler: (request: Request) => Response | Promise<Response>,
  ): { finished: Promise<void>; shutdown(): Promise<void>; addr: { port: number } };
}

interface BunLike {
  serve(options: { hostname: string; port: number; fetch: ServeOptions["fetch"] }): {
    port: number;
    stop(closeActive?: boolean): void | Promise<void>;
  };
}

/** Serves `fetch` on hostname:port with the runtime's native server. */
export function serveHttp(options: ServeOptions): Promise<HttpServer> {
  const g = globalThis as { Deno?: DenoLike; Bun?: BunLike };
  if (g.Bun) {
    const server = g.Bun.serve({
      hostname: options.hostname,
      port: options.port,
      fetch: options.fetch,
    });
    return Promise.resolve({ port: server.port, close: async () => await server.stop(true) });
  }
  if (g.Deno) {
    const deno = g.Deno;
    return new Promise((resolve, reject) => {
      try {
        const server = deno.serve(
          {
            hostname: options.hostname,
            port: options.port,
            onListen: (addr) => resolve({ port: addr.port, close: () => server.shutdown() }),
          },
          options.fetch,
        );
      } catch (e) {
        reject(e);
      }
    });
  }
  return Promise.reject(new Error("no supported runtime (Deno or Bun) to serve HTTP"));
}
