/**
 * The `vigil` command: one binary for the daemon, the CLI and the demo.
 *
 * @module
 */

import process from "node:process";
import { parseArgs } from "node:util";
import type { StatusDocument } from "./core/api/status_app.ts";
import { CibFileError } from "./core/cib/cib_file.ts";
import { renderStatus } from "./core/cli/status_view.ts";
import {
  ConfigError,
  DEFAULT_API,
  loadNodeConfig,
  type NodeConfigFile,
} from "./core/config/node_config.ts";
import { loadHaCf } from "./core/config/ha_cf_to_config.ts";
import { PluginError } from "./plugins/resource_agent.ts";
import { NodeDaemon } from "./core/daemon/node_daemon.ts";
import { LinkOpenError } from "./core/daemon/link_set.ts";
import { runDemo } from "./core/demo/demo.ts";
import { parseDuration } from "./core/duration.ts";
import { VERSION } from "./core/version.ts";
import { type CliCommand, consoleIo, UsageError } from "./core/cli/command.ts";
import { cibCommand } from "./core/cli/cib_command.ts";
import { configCommand } from "./core/cli/config_command.ts";
import { raCommand } from "./core/cli/ra_command.ts";
import { pluginCommand } from "./core/cli/plugin_command.ts";
import { simulateCommand } from "./core/cli/simulate_command.ts";
import { resourceCommand } from "./core/cli/resource_command.ts";
import { explainCommand } from "./core/cli/explain_command.ts";
import { nodeCommand, standbyCommand, takeoverCommand } from "./core/cli/node_command.ts";
import { ApiError, getCib } from "./core/cli/api_client.ts";
import { activeMoves } from "./core/cib/cib_update.ts";
import { CibSourceError } from "./core/cib/cib_source.ts";

import { AuthkeysError } from "./core/wire/authkeys.ts";

/** Subcommands that live in their own files (core/cli/*_command.ts). */
const COMMANDS: readonly CliCommand[] = [
  resourceCommand,
  nodeCommand,
  standbyCommand,
  takeoverCommand,
  configCommand,
  cibCommand,
  raCommand,
  pluginCommand,
  simulateCommand,
  explainCommand,
];

const HELP = `vigil ${VERSION}: a high-availability cluster manager in one binary

Usage:
  vigil run --config FILE      start this node's daemon
  vigil run --ha-cf FILE       start it from Heartbeat's ha.cf (and authkeys next to it)
  vigil status [--api HOST:PORT | --config FILE] [--json]
                               show the cluster as one node sees it (like crm_mon -1)
  vigil demo [--nodes N] [--keepalive D] [--deadtime D]
                               run a local cluster on loopback and fail a service over
${COMMANDS.filter((c) => c.summary).map((c) => `  ${c.summary}`).join("\n")}
  vigil --version              print the version
  vigil COMMAND --help         help for one command

Durations are Heartbeat-style: "2" is seconds, "200ms", "1.5s".`;

const COMMAND_HELP: Record<string, string> = {
  run: `vigil run (--config FILE | --ha-cf FILE [--node NAME]) [--log-format text|json]

Starts one node daemon: heartbeats on every configured link (UDP unicast,
broadcast, multicast, serial lines; HMAC-authenticated with the authkeys file,
which must be mode 600), membership, quorum and quorum devices, DC election,
CIB replication, policy and transition engines, the local resource manager, and
the HTTP API (GET /status, /events, /healthz) at the node's "api" address.
SIGTERM or SIGINT stops the node's resources, then the daemon.

  --config FILE         the node configuration (JSON; see README)
  --ha-cf FILE          read Heartbeat's ha.cf instead (authkeys next to it);
                        unsupported directives are reported with file:line
  --node NAME           this node's name with --ha-cf (default: uname -n)
  --authkeys FILE       with --ha-cf: the authkeys file (default: next to ha.cf)
  --state-dir DIR       with --ha-cf: state directory (default /var/lib/vigil)
  --api HOST:PORT       with --ha-cf: the HTTP API address (default ${DEFAULT_API})
  --log-format FORMAT   text (default) or json, one event per line
  --exit-on-stdin-close stop when standard input closes (used by vigil demo)`,
  status: `vigil status [--api HOST:PORT | --config FILE] [--json]

Asks a node's API for its view of the cluster and prints it like crm_mon -1.

  --api HOST:PORT   the node to ask (default: $VIGIL_API or 127.0.0.1:7501)
  --config FILE     ask the node that FILE configures
  --json            print the raw status document`,
  demo: `vigil demo [--nodes N] [--keepalive D] [--deadtime D]

Starts N nodes on loopback (children of this program, with temporary state),
places an HTTP service, kills the node serving it with SIGKILL, narrates what
the cluster does, and ends with the line: failover <N> ms (detected in <D> ms)

  --nodes N        number of nodes, 2..9 (default 3)
  --keepalive D    heartbeat interval (default 100ms)
  --deadtime D     silence before a node is declared dead (default 500ms)
  --verbose        also print the daemons' own log lines`,
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    console.log(HELP);
    return command === undefined ? 2 : 0;
  }
  if (command === "--version" || command === "-V" || command === "version") {
    console.log(`vigil ${VERSION}`);
    return 0;
  }
  const registered = COMMANDS.find((c) => c.name === command);
  if (registered) {
    if (rest.includes("--help") || rest.includes("-h")) {
      console.log(registered.help);
      return 0;
    }
    return await registered.run(rest, consoleIo);
  }
  if (!(command in COMMAND_HELP)) {
    console.error(`vigil: unknown command "${command}"\n\n${HELP}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(COMMAND_HELP[command]);
    return 0;
  }
  switch (command) {
    case "run":
      return await runCommand(rest);
    case "status":
      return await statusCommand(rest);
    case "demo":
      return await demoCommand(rest);
  }
  return 2;
}

async function runCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: "string" },
      "ha-cf": { type: "string" },
      node: { type: "string" },
      authkeys: { type: "string" },
      "state-dir": { type: "string" },
      api: { type: "string" },
      "log-format": { type: "string", default: "text" },
      "exit-on-stdin-close": { type: "boolean", default: false },
    },
  });
  if (!values.config === !values["ha-cf"]) {
    throw new UsageError("vigil run: give exactly one of --config FILE and --ha-cf FILE");
  }
  const format = values["log-format"];
  if (format !== "text" && format !== "json") {
    throw new UsageError(`vigil run: --log-format must be text or json, not "${format}"`);
  }
  let config: NodeConfigFile;
  let configFile: string;
  if (values["ha-cf"]) {
    configFile = values["ha-cf"];
    const imported = loadHaCf(configFile, {
      ...(values.node ? { node: values.node } : {}),
      ...(values.authkeys ? { authkeys: values.authkeys } : {}),
      ...(values["state-dir"] ? { stateDir: values["state-dir"] } : {}),
      ...(values.api ? { api: values.api } : {}),
    });
    for (const w of imported.warnings) console.error(`vigil: warning: ${w}`);
    config = imported.config;
  } else {
    configFile = values.config!;
    config = loadNodeConfig(configFile);
  }
  const daemon = await NodeDaemon.start({
    config,
    configFile,
    version: VERSION,
    logFormat: format,
  });
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      daemon.shutdown().finally(resolve);
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
    if (values["exit-on-stdin-close"]) {
      process.stdin.on("end", stop);
      process.stdin.on("error", stop);
      process.stdin.resume();
    }
  });
  return 0;
}

async function statusCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      api: { type: "string" },
      config: { type: "string" },
      json: { type: "boolean", default: false },
    },
  });
  let api = values.api ?? process.env.VIGIL_API ?? DEFAULT_API;
  if (values.config) {
    const cfg = loadNodeConfig(values.config);
    api = cfg.nodes.find((n) => n.name === cfg.node)!.api ?? DEFAULT_API;
  }
  let doc: StatusDocument;
  try {
    const res = await fetch(`http://${api}/status`, { signal: AbortSignal.timeout(3000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    doc = await res.json() as StatusDocument;
  } catch (e) {
    console.error(
      `vigil status: cannot reach the node at http://${api}/status: ${(e as Error).message}`,
    );
    return 1;
  }
  // The moves live in the CIB; a node too old to serve it is shown without them.
  const moves = values.json ? [] : await getCib(api).then((c) => activeMoves(c.cib), () => []);
  console.log(values.json ? JSON.stringify(doc, null, 2) : renderStatus(doc, moves));
  return 0;
}

async function demoCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      nodes: { type: "string", default: "3" },
      keepalive: { type: "string", default: "100ms" },
      deadtime: { type: "string", default: "500ms" },
      verbose: { type: "boolean", default: false },
    },
  });
  const nodes = Number(values.nodes);
  if (!Number.isInteger(nodes) || nodes < 2 || nodes > 9) {
    throw new UsageError(
      `vigil demo: --nodes must be an integer from 2 to 9, not "${values.nodes}"`,
    );
  }
  const keepaliveMs = parseDuration(values.keepalive);
  const deadtimeMs = parseDuration(values.deadtime);
  if (keepaliveMs === undefined || keepaliveMs <= 0) {
    throw new UsageError(`vigil demo: --keepalive is not a duration: "${values.keepalive}"`);
  }
  if (deadtimeMs === undefined || deadtimeMs <= keepaliveMs) {
    throw new UsageError(
      `vigil demo: --deadtime must be a duration longer than keepalive: "${values.deadtime}"`,
    );
  }
  const result = await runDemo({
    nodes,
    keepaliveMs,
    deadtimeMs,
    verbose: values.verbose,
    write: (l) => console.log(l),
  });
  console.log(`service moved from ${result.from} to ${result.to}`);
  console.log(`failover ${result.failoverMs} ms (detected in ${result.detectedMs} ms)`);
  return 0;
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      const known = e instanceof UsageError || e instanceof ConfigError ||
        e instanceof AuthkeysError ||
        e instanceof CibFileError || e instanceof PluginError || e instanceof CibSourceError;
      if (e instanceof ApiError) {
        console.error(`vigil: ${e.message}`);
        process.exit(1);
      }
      console.error(known || e instanceof LinkOpenError ? `vigil: ${e.message}` : e);
      process.exit(known ? 2 : 1);
    },
  );
}
