/**
 * `vigil node` (list, standby, online) and Heartbeat's hb_standby / hb_takeover
 * as `vigil standby` and `vigil takeover`, all through the local node's API.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { parseDuration } from "../duration.ts";
import { API_PARSE_OPTIONS, getCib, getStatus, postUpdate, resolveApi } from "./api_client.ts";
import { type CliCommand, UsageError } from "./command.ts";
import { change } from "./resource_command.ts";

const NODE_HELP = `vigil node list [--json]
vigil node standby NAME     NAME runs no resources (they move away)
vigil node online NAME      NAME may run resources again

Talks to the local node (--api HOST:PORT, --config FILE, or $VIGIL_API).`;

/** `vigil node`. */
export const nodeCommand: CliCommand = {
  name: "node",
  summary: "vigil node list|standby NAME|online NAME",
  help: NODE_HELP,
  async run(args, io) {
    const [sub, ...rest] = args;
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: API_PARSE_OPTIONS,
    });
    const api = resolveApi(values);
    if (sub === "list") {
      if (positionals.length) throw new UsageError("vigil node list: takes no arguments");
      const [{ cib }, status] = await Promise.all([getCib(api), getStatus(api)]);
      const members = new Set(status.membership?.members ?? []);
      const rows = cib.config.nodes.map((n) => ({
        name: n.name,
        state: members.has(n.name) ? "online" : "OFFLINE",
        standby: n.standby,
        dc: status.dc === n.name,
        priority: n.priority,
        votes: n.votes,
      }));
      if (values.json) io.out(JSON.stringify(rows, null, 2));
      else {
        for (const r of rows) {
          io.out(
            `${r.name.padEnd(16)} ${r.state}${r.standby ? " (standby)" : ""}${r.dc ? "  DC" : ""}`,
          );
        }
      }
      return 0;
    }
    if (sub === "standby" || sub === "online") {
      if (positionals.length !== 1) throw new UsageError(`vigil node ${sub}: give one NAME`);
      return await change(
        api,
        { op: "node-standby", node: positionals[0], standby: sub === "standby" },
        values.json,
        io,
      );
    }
    throw new UsageError(
      `vigil node: ${
        sub === undefined ? "give a subcommand" : `unknown subcommand "${sub}"`
      }\n\n${NODE_HELP}`,
    );
  },
};

/** `vigil standby`: Heartbeat's hb_standby, for the node the CLI talks to. */
export const standbyCommand: CliCommand = {
  name: "standby",
  summary: "vigil standby | vigil takeover [--lifetime D]   hb_standby / hb_takeover",
  help: `vigil standby [--api HOST:PORT | --config FILE] [--json]

Heartbeat's hb_standby: puts the node the CLI talks to in standby, so its
resources move to the other nodes. \`vigil node online NAME\` undoes it.`,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: API_PARSE_OPTIONS,
      allowPositionals: true,
    });
    if (positionals.length) throw new UsageError("vigil standby: takes no arguments");
    const api = resolveApi(values);
    const { node } = await getStatus(api);
    return await change(api, { op: "node-standby", node, standby: true }, values.json, io);
  },
};

/** `vigil takeover`: Heartbeat's hb_takeover all, for the node the CLI talks to. */
export const takeoverCommand: CliCommand = {
  name: "takeover",
  summary: "",
  help: `vigil takeover [--lifetime D] [--api HOST:PORT | --config FILE] [--json]

Heartbeat's hb_takeover all: takes the node the CLI talks to out of standby and
moves every top-level resource to it (a move each, as \`vigil resource move\`
makes; \`vigil resource unmove ID\` undoes one). With --lifetime the moves
expire after D.`,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { ...API_PARSE_OPTIONS, lifetime: { type: "string" } },
    });
    if (positionals.length) throw new UsageError("vigil takeover: takes no arguments");
    const lifetimeMs = values.lifetime === undefined ? undefined : parseDuration(values.lifetime);
    if (values.lifetime !== undefined && !lifetimeMs) {
      throw new UsageError(`vigil takeover: --lifetime is not a duration: "${values.lifetime}"`);
    }
    const api = resolveApi(values);
    const [{ node }, { cib }] = await Promise.all([getStatus(api), getCib(api)]);
    if (cib.config.nodes.find((n) => n.name === node)?.standby) {
      await postUpdate(api, { op: "node-standby", node, standby: false });
      io.out(`${node} online`);
    }
    for (const r of cib.config.resources) {
      await change(
        api,
        { op: "resource-move", resource: r.id, node, ...(lifetimeMs ? { lifetimeMs } : {}) },
        values.json,
        io,
      );
    }
    return 0;
  },
};
