/**
 * `vigil resource`: resources of the running cluster (like `crm resource` /
 * `pcs resource`). Every change goes to the local node's API, which forwards it
 * to the DC and answers once a majority of the configured nodes have it on disk.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { CibUpdate } from "../cib/cib_update.ts";
import { activeMoves } from "../cib/cib_update.ts";
import type { Resource } from "../cib/schema/resources.ts";
import { formatVersion } from "../cib/version.ts";
import { parseDuration } from "../duration.ts";
import {
  API_PARSE_OPTIONS,
  getCib,
  getStatus,
  postCleanup,
  postUpdate,
  resolveApi,
} from "./api_client.ts";
import { type CliCommand, type CliIo, UsageError } from "./command.ts";

const HELP = `vigil resource list [--json]
vigil resource create ID AGENT [--param NAME=VALUE ...] [--monitor D] [--stickiness N]
vigil resource create --from FILE        a resource as JSON (primitive, group or clone)
vigil resource delete ID                 and the constraints that name it
vigil resource start ID | stop ID        set target-role Started / Stopped
vigil resource move ID NODE [--lifetime D]
                                         prefer NODE with INFINITY (for D, or until unmove)
vigil resource unmove ID                 drop the preference a move made
vigil resource cleanup ID [--node NODE]  forget its failures (fail counts, last failure)

Every command talks to the local node (--api HOST:PORT, --config FILE, or
$VIGIL_API; default 127.0.0.1:7501) and works the same on any node. A change is
acknowledged only once a majority of the configured nodes have persisted it; in
a partition without quorum it is refused, with the reason.

  --json    print the answer as JSON`;

/** `vigil resource`. */
export const resourceCommand: CliCommand = {
  name: "resource",
  summary: "vigil resource list|create|delete|start|stop|move|unmove|cleanup",
  help: HELP,
  async run(args, io) {
    const [sub, ...rest] = args;
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        ...API_PARSE_OPTIONS,
        param: { type: "string", multiple: true, default: [] },
        monitor: { type: "string" },
        stickiness: { type: "string" },
        from: { type: "string" },
        lifetime: { type: "string" },
        node: { type: "string" },
      },
    });
    const api = resolveApi(values);
    const want = (n: number, usage: string) => {
      if (positionals.length !== n) throw new UsageError(`vigil resource ${sub}: usage: ${usage}`);
    };
    switch (sub) {
      case "list":
        want(0, "vigil resource list [--json]");
        return await list(api, values.json, io);
      case "create": {
        const resource = values.from
          ? readResourceFile(values.from)
          : primitiveFromArgs(positionals, values);
        return await change(api, { op: "resource-create", resource }, values.json, io);
      }
      case "delete":
        want(1, "vigil resource delete ID");
        return await change(
          api,
          { op: "resource-delete", resource: positionals[0] },
          values.json,
          io,
        );
      case "start":
      case "stop":
        want(1, `vigil resource ${sub} ID`);
        return await change(
          api,
          {
            op: "resource-target-role",
            resource: positionals[0],
            role: sub === "start" ? "Started" : "Stopped",
          },
          values.json,
          io,
        );
      case "move": {
        want(2, "vigil resource move ID NODE [--lifetime D]");
        const lifetimeMs = values.lifetime === undefined ? undefined : duration(values.lifetime);
        return await change(
          api,
          {
            op: "resource-move",
            resource: positionals[0],
            node: positionals[1],
            ...(lifetimeMs ? { lifetimeMs } : {}),
          },
          values.json,
          io,
        );
      }
      case "unmove":
        want(1, "vigil resource unmove ID");
        return await change(
          api,
          { op: "resource-unmove", resource: positionals[0] },
          values.json,
          io,
        );
      case "cleanup": {
        want(1, "vigil resource cleanup ID [--node NODE]");
        const r = await postCleanup(api, positionals[0], values.node);
        io.out(
          values.json
            ? JSON.stringify(r)
            : `${positionals[0]}: failures forgotten on ${r.nodes.join(", ")}`,
        );
        return 0;
      }
      default:
        throw new UsageError(
          `vigil resource: ${
            sub === undefined ? "give a subcommand" : `unknown subcommand "${sub}"`
          }\n\n${HELP}`,
        );
    }
  },
};

/** Sends one update and prints what the cluster answered. */
export async function change(
  api: string,
  update: CibUpdate,
  json: boolean,
  io: CliIo,
): Promise<number> {
  const answer = await postUpdate(api, update);
  if (json) io.out(JSON.stringify(answer));
  else io.out(`${answer.summary ?? "done"} (CIB ${formatVersion(answer.version)})`);
  return 0;
}

async function list(api: string, json: boolean, io: CliIo): Promise<number> {
  const [{ cib }, status] = await Promise.all([getCib(api), getStatus(api)]);
  const where = new Map(status.resources.map((r) => [r.id, r.on]));
  const moves = new Map(activeMoves(cib).map((m) => [m.resource, m]));
  const rows = flatten(cib.config.resources).map(({ r, parent }) => {
    const on = where.get(r.id) ?? [];
    const move = moves.get(r.id) ?? (parent ? moves.get(parent) : undefined);
    return {
      id: r.id,
      kind: r.kind,
      ...(r.kind === "primitive" ? { agent: r.agent } : {}),
      ...(parent ? { parent } : {}),
      targetRole: r.meta.targetRole ?? "Started",
      running: on.filter((o) => o.state !== "stopped").map((o) => `${o.node}:${o.state}`),
      failCounts: Object.fromEntries(
        on.filter((o) => o.failCount > 0).map((o) => [o.node, o.failCount]),
      ),
      ...(move ? { move } : {}),
    };
  });
  if (json) {
    io.out(JSON.stringify(rows, null, 2));
    return 0;
  }
  if (rows.length === 0) io.out("no resources configured");
  for (const row of rows) {
    const name = row.parent ? `  ${row.id}` : row.id;
    const fails = Object.entries(row.failCounts).map(([n, c]) => `${n}=${c}`).join(" ");
    io.out(
      [
        name.padEnd(20),
        (row.agent ?? row.kind).padEnd(24),
        row.running.length ? row.running.join(" ") : "Stopped",
        row.targetRole === "Stopped" ? "(target-role Stopped)" : "",
        fails ? `fail-count ${fails}` : "",
        row.move
          ? `moved to ${row.move.node}${
            row.move.expiresAt ? ` until ${new Date(row.move.expiresAt).toISOString()}` : ""
          }`
          : "",
      ].filter(Boolean).join("  "),
    );
  }
  return 0;
}

function flatten(resources: readonly Resource[]): { r: Resource; parent?: string }[] {
  const out: { r: Resource; parent?: string }[] = [];
  for (const r of resources) {
    out.push({ r });
    if (r.kind === "group") { for (const m of r.members) out.push({ r: m, parent: r.id }); }
    if (r.kind === "clone") out.push({ r: r.resource, parent: r.id });
  }
  return out;
}

function primitiveFromArgs(
  positionals: string[],
  values: { param: string[]; monitor?: string; stickiness?: string },
): unknown {
  if (positionals.length !== 2) {
    throw new UsageError(
      "vigil resource create: usage: vigil resource create ID AGENT [--param NAME=VALUE ...]",
    );
  }
  const params: Record<string, string> = {};
  for (const p of values.param) {
    const eq = p.indexOf("=");
    if (eq <= 0) throw new UsageError(`vigil resource create: --param ${p}: expected NAME=VALUE`);
    params[p.slice(0, eq)] = p.slice(eq + 1);
  }
  const monitorMs = values.monitor === undefined ? undefined : duration(values.monitor);
  return {
    kind: "primitive",
    id: positionals[0],
    agent: positionals[1],
    params,
    ...(monitorMs ? { operations: [{ name: "monitor", intervalMs: monitorMs }] } : {}),
    ...(values.stickiness !== undefined ? { meta: { stickiness: values.stickiness } } : {}),
  };
}

function readResourceFile(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new UsageError(`vigil resource create: ${path}: ${(e as Error).message}`);
  }
}

function duration(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) throw new UsageError(`not a duration: "${text}" (e.g. 30m, 2h)`);
  return ms;
}
