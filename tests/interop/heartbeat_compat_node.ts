/**
 * The Vigil side of the heartbeat interop test: runs one {@link HeartbeatLink} and prints
 * one JSON line per peer event on stdout (`{"kind":"event","wallMs":...,"event":{...}}`),
 * plus `ready` after binding and `stats` on exit. Exits on SIGTERM/SIGINT or after
 * `--seconds`.
 *
 * Usage (inside the test's namespace):
 *
 * ```
 * ip netns exec vgl-hb-n2 ./node_modules/.bin/deno run -A tests/interop/heartbeat_compat_node.ts \
 *   --node vglcompat --peer vglhb1 --authkeys /tmp/x/authkeys --broadcast 198.18.71.255 \
 *   --keepalive 200 --deadtime 2000 --generation 12345 --seconds 50 [--ack-every 10]
 * ```
 *
 * @module
 */

import { HeartbeatLink } from "../../core/compat/heartbeat_link.ts";
import { loadAuthkeys } from "../../core/wire/authkeys.ts";

/** Parsed command line. */
interface Args {
  node: string;
  peers: string[];
  authkeys: string;
  broadcast: string[];
  unicast: string[];
  port: number;
  keepaliveMs: number;
  deadtimeMs: number;
  generation: number;
  seconds: number;
  ackEvery: number | undefined;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = {
    node: "",
    peers: [],
    authkeys: "",
    broadcast: [],
    unicast: [],
    port: 694,
    keepaliveMs: 1000,
    deadtimeMs: 10_000,
    generation: -1,
    seconds: 60,
    ackEvery: undefined,
  };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`missing value for ${flag}`);
    const num = () => {
      const n = Number(value);
      if (!Number.isFinite(n)) throw new Error(`${flag}: not a number: ${value}`);
      return n;
    };
    switch (flag) {
      case "--node":
        args.node = value;
        break;
      case "--peer":
        args.peers.push(value);
        break;
      case "--authkeys":
        args.authkeys = value;
        break;
      case "--broadcast":
        args.broadcast.push(value);
        break;
      case "--unicast":
        args.unicast.push(value);
        break;
      case "--port":
        args.port = num();
        break;
      case "--keepalive":
        args.keepaliveMs = num();
        break;
      case "--deadtime":
        args.deadtimeMs = num();
        break;
      case "--generation":
        args.generation = num();
        break;
      case "--seconds":
        args.seconds = num();
        break;
      case "--ack-every":
        args.ackEvery = num();
        break;
      default:
        throw new Error(`unknown option ${flag}`);
    }
  }
  if (args.node === "" || args.authkeys === "" || args.generation < 0) {
    throw new Error("--node, --authkeys and --generation are required");
  }
  return args;
}

function emit(kind: string, data: Record<string, unknown>): void {
  console.log(JSON.stringify({ kind, wallMs: Date.now(), ...data }));
}

const args = parseArgs(Deno.args);
const link = await HeartbeatLink.open({
  node: args.node,
  nodes: args.peers,
  keyring: loadAuthkeys(args.authkeys),
  port: args.port,
  broadcast: args.broadcast,
  unicast: args.unicast,
  keepaliveMs: args.keepaliveMs,
  deadtimeMs: args.deadtimeMs,
  generation: args.generation,
  ackEvery: args.ackEvery,
  now: () => performance.now(),
  onEvent: (event) => emit("event", { event }),
});
emit("ready", { node: args.node, port: args.port });

let stopping = false;
async function stop(why: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  emit("stats", { why, stats: link.stats(), peers: link.peers() });
  await link.close();
  Deno.exit(0);
}
Deno.addSignalListener("SIGTERM", () => void stop("SIGTERM"));
Deno.addSignalListener("SIGINT", () => void stop("SIGINT"));
setTimeout(() => void stop("timeout"), args.seconds * 1000);
