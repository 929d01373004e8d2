/**
 * Heartbeat 3.0.6's `/etc/ha.d/ha.cf`, read as Heartbeat reads it: text in, a
 * typed {@link HaCf} out, every directive with its value and its line.
 *
 * The rules follow Heartbeat's `config.c` and its media plugins, not just the
 * manual:
 * - `#` starts a comment anywhere on a line; blank lines are skipped.
 * - Directive names are matched with `strcmp`, so they are case-sensitive
 *   (`Keepalive` is an illegal directive in Heartbeat too).
 * - Most directives take a list of values separated by blanks or commas, each
 *   applied in turn (`node a,b c` declares three nodes). `ucast`, `mcast`,
 *   `ping_group`, `stonith`, `stonith_host`, `apiauth`, `respawn` and
 *   `failfast` take the rest of the line instead.
 * - Times use Heartbeat's syntax: seconds ("2", "1.5"), or "200ms", "500us".
 * - Each media type reads `udpport` (bcast, ucast) or `baud` (serial) once, at
 *   its first line; a later `udpport` only reaches media types first used
 *   after it. Heartbeat warns "udpport setting must precede media statements";
 *   so do we, naming both lines.
 * - Node names are lowercased.
 * - After the last line, Heartbeat's own checks: at least one medium and one
 *   node, deadtime more than twice keepalive, initdead at least deadtime, and
 *   the defaults for warntime (deadtime/2), initdead and deadping.
 *
 * Directives Vigil cannot honour are reported as warnings naming file:line;
 * unknown directives and bad values are {@link ConfigError}s naming file:line.
 * Parsing is pure; {@link readHaCf} is the only function that reads a file.
 *
 * @example
 * ```ts
 * const cf = parseHaCf("keepalive 1\ndeadtime 6\nbcast eth1\nnode a b\n", "/etc/ha.d/ha.cf");
 * cf.timing.initdeadMs; // 12000 (Heartbeat: 2 x deadtime when deadtime is 6..10 s)
 * cf.media[0]; // { type: "bcast", line: 3, device: "eth1", port: 694 }
 * ```
 * @module
 */

import { readFileSync } from "node:fs";
import { suggestNames } from "../suggest.ts";
import { ConfigError } from "./node_config.ts";

/** Heartbeat's UDP port when `udpport` is not set (`ha-cluster` in /etc/services). */
export const HEARTBEAT_UDPPORT = 694;

/** Heartbeat's serial line speed when `baud` is not set. */
export const HEARTBEAT_BAUD = 19200;

/** Serial speeds Heartbeat accepts for `baud` (`StringToBaud`). */
export const HEARTBEAT_BAUD_RATES = [9600, 19200, 38400, 57600, 115200, 230400, 460800] as const;

/** What Vigil does with a directive. */
export type DirectiveSupport = "mapped" | "ignored" | "unsupported";

/** How one ha.cf directive is read and what Vigil makes of it. */
export interface HaCfDirectiveSpec {
  /**
   * `mapped`: carried into Vigil's node configuration; `ignored`: accepted and
   * reported, with no effect in Vigil; `unsupported`: reported, Vigil lacks it.
   */
  readonly support: DirectiveSupport;
  /** What Vigil does with it, or why it has no effect. */
  readonly note: string;
  /**
   * `tokens`: values split at blanks and commas, each applied in turn;
   * `line`: the rest of the line, split at blanks only.
   */
  readonly syntax: "tokens" | "line";
  /** Checks one value (or, for `line` syntax, all of them): an error text, or undefined. */
  readonly check?: (values: readonly string[]) => string | undefined;
}

const LOGGING = "Vigil logs to stdout and to logFile only (no syslog, no debug file, no logd)";
const PACEMAKER_ONLY = "a Pacemaker daemon setting; Vigil is its own cluster resource manager";

/**
 * Every directive Heartbeat 3.0.6 knows (its `Directives[]` table, its
 * whole-line directives, and its installed media plugins), with Vigil's
 * support for each. A name not in this table is an error.
 */
export const HA_CF_DIRECTIVES: Readonly<Record<string, HaCfDirectiveSpec>> = {
  node: mapped("nodes[]: each name lowercased, as Heartbeat does"),
  autojoin: mapped("none is Vigil's behaviour; other/any are unsupported (only listed nodes join)"),
  keepalive: mapped("keepalive: the interval between heartbeats"),
  deadtime: mapped("deadtime: silence after which a node is declared dead"),
  warntime: mapped("warntime (default deadtime/2)"),
  initdead: mapped("initdead (Heartbeat's default rule)"),
  deadping: mapped("timeout of the ping quorum devices (default deadtime)"),
  udpport: mapped("port of the bcast and ucast links"),
  bcast: mapped("one bcast link per interface"),
  ucast: mapped("one ucast link per interface, with every peer of that interface", "line"),
  mcast: mapped("an mcast link (with its own port)", "line"),
  serial: mapped("one serial link per device"),
  baud: mapped("baud of the serial links"),
  ping: mapped('a quorum device { plugin: "ping", params: { hosts } }'),
  ping_group: mapped(
    'a quorum device { plugin: "ping", params: { name, hosts, group: true } }',
    "line",
  ),
  auto_failback: mapped("options.stickiness (on/legacy: 0, off: INFINITY) in haresources mode"),
  nice_failback: mapped("obsolete: on means auto_failback off, off means auto_failback legacy"),
  crm: mapped("on/respawn/yes: Vigil manages resources; off/no: haresources mode"),
  pacemaker: mapped("on/respawn/yes: Vigil manages resources; off/no: haresources mode"),
  logfile: mapped("logFile: Vigil appends its log lines there too"),
  debugfile: ignored(LOGGING, one),
  logfacility: ignored(LOGGING, one),
  use_logd: ignored(LOGGING, bool),
  debug: ignored(LOGGING, int(0, 255)),
  conn_logd_time: ignored(LOGGING, time),
  syslogmsgfmt: ignored(LOGGING, bool),
  log_badpack: ignored("Vigil counts bad packets in /status instead of logging them", bool),
  cluster: ignored("the cluster name does not appear on Vigil's wire", one),
  hopfudge: ignored(
    "Vigil does not forward messages between nodes, so there is no hop limit",
    int(0, 255),
  ),
  uuidfrom: ignored("Vigil identifies nodes by name", oneOf("file", "nodename")),
  hbgenmethod: ignored("Vigil keeps its own incarnation number in stateDir", oneOf("file", "time")),
  msgfmt: ignored("Vigil's wire format is fixed", oneOf("classic", "netstring")),
  compression: unsupported("Vigil does not compress cluster messages", one),
  compression_threshold: ignored("Vigil does not compress cluster messages", int(1, 1 << 20)),
  traditional_compression: ignored("Vigil does not compress cluster messages", bool),
  max_rexmit_delay: ignored("Vigil's reliable channel has its own retransmit timing", int(1, 1e9)),
  realtime: ignored("Vigil does not change its scheduling class", bool),
  rtprio: ignored("Vigil does not change its scheduling class", int(1, 99)),
  memreserve: ignored("Vigil does not preallocate memory", int(1, 1e9)),
  coredumps: ignored("core dumps follow the system's settings", bool),
  coreroot: ignored("core dumps follow the system's settings", one),
  use_apphbd: ignored("Vigil does not register with apphbd", bool),
  apiauth: ignored("Vigil's HTTP API has its own access control", apiauthCheck, "line"),
  env: ignored("it sets the environment of respawn clients, which Vigil does not start", envCheck),
  crm_daemon_dir: ignored(PACEMAKER_ONLY, one),
  crmd_spawns_pengine: ignored(PACEMAKER_ONLY, bool),
  record_config_changes: ignored(PACEMAKER_ONLY, bool),
  record_pengine_inputs: ignored(PACEMAKER_ONLY, bool),
  enable_config_writes: ignored(PACEMAKER_ONLY, bool),
  quorum_server: unsupported("Vigil has no quorum server; use a quorum device instead", one),
  watchdog: unsupported("Vigil does not feed a watchdog device", one),
  stonith: unsupported(
    "legacy STONITH is not imported: fencing comes with Vigil's STONITH drivers, configure them there",
    stonithCheck(2),
    "line",
  ),
  stonith_host: unsupported(
    "legacy STONITH is not imported: fencing comes with Vigil's STONITH drivers, configure them there",
    stonithCheck(2),
    "line",
  ),
  respawn: unsupported(
    "Vigil does not start Heartbeat client programs; run them as resources",
    childCheck,
    "line",
  ),
  failfast: unsupported(
    "Vigil does not start Heartbeat client programs; run them as resources",
    childCheck,
    "line",
  ),
  mcast6: unsupported("Vigil has no IPv6 media yet; this link is left out", atLeast(5), "line"),
  ucast6: unsupported("Vigil has no IPv6 media yet; this link is left out", atLeast(2), "line"),
  ping6: unsupported("the ping quorum device is IPv4 only; this ping node is left out", one),
  hbaping: unsupported("Vigil has no Fibre Channel (HBA) ping device", one),
};

/** Heartbeat's old name for `bcast`, still accepted with a warning. */
const ALIASES: Readonly<Record<string, string>> = { udp: "bcast" };

/** A value and the line it came from. */
export interface At<T> {
  /** The value, converted. */
  readonly value: T;
  /** 1-based line number in the file. */
  readonly line: number;
}

/** One heartbeat medium, with the port or baud it got at its line. */
export type HaCfMedium =
  | {
    readonly type: "bcast";
    readonly line: number;
    readonly device: string;
    readonly port: number;
  }
  | {
    readonly type: "ucast";
    readonly line: number;
    readonly device: string;
    /** Peer address or host name. */
    readonly peer: string;
    readonly port: number;
  }
  | {
    readonly type: "mcast";
    readonly line: number;
    readonly device: string;
    readonly group: string;
    readonly port: number;
    readonly ttl: number;
    readonly loop: boolean;
  }
  | {
    readonly type: "serial";
    readonly line: number;
    readonly device: string;
    readonly baud: number;
  };

/** One directive line as written (after comment stripping), with its support. */
export interface HaCfDirective {
  /** Directive name (an alias is replaced by its real name). */
  readonly name: string;
  /** Values as Heartbeat splits them. */
  readonly args: readonly string[];
  readonly line: number;
  readonly support: DirectiveSupport;
}

/** Timing in milliseconds, Heartbeat's defaults applied. */
export interface HaCfTiming {
  readonly keepaliveMs: number;
  readonly deadtimeMs: number;
  readonly warntimeMs: number;
  readonly initdeadMs: number;
  readonly deadpingMs: number;
}

/** Heartbeat's auto_failback modes (see PROTOCOL.md section 10). */
export type AutoFailback = "on" | "off" | "legacy";

/** A parsed ha.cf: every directive, the typed values of the mapped ones, and warnings. */
export interface HaCf {
  /** The file name used in messages. */
  readonly file: string;
  /** Every directive line, in order. */
  readonly directives: readonly HaCfDirective[];
  /** Cluster members, lowercased, without duplicates. */
  readonly nodes: readonly At<string>[];
  /** The time directives as written (converted to ms); see `timing` for the effective values. */
  readonly keepalive?: At<number>;
  readonly deadtime?: At<number>;
  readonly warntime?: At<number>;
  readonly initdead?: At<number>;
  readonly deadping?: At<number>;
  /** Effective timing: the values above, or Heartbeat's defaults. */
  readonly timing: HaCfTiming;
  /** The last `udpport` line. */
  readonly udpport?: At<number>;
  /** The `baud` line. */
  readonly baud?: At<number>;
  /** Heartbeat media in file order (unsupported media types are left out, with a warning). */
  readonly media: readonly HaCfMedium[];
  /** `ping` lines: each host is a ping node. */
  readonly pings: readonly At<readonly string[]>[];
  /** `ping_group` lines: the group is up while any host answers. */
  readonly pingGroups: readonly At<{ readonly name: string; readonly hosts: readonly string[] }>[];
  /** The effective `auto_failback` (Heartbeat's default: legacy) and its line, if set. */
  readonly autoFailback: AutoFailback;
  readonly autoFailbackLine?: number;
  /** The `crm`/`pacemaker` line, its value as written. */
  readonly crm?: At<string>;
  /** True when crm/pacemaker is off (Heartbeat's default): resources come from haresources. */
  readonly haresources: boolean;
  readonly autojoin?: At<"none" | "other" | "any">;
  readonly logFile?: At<string>;
  /** Warnings, each `file:line: text` (or `file: text` for the file as a whole). */
  readonly warnings: readonly string[];
}

/** Longest ha.cf accepted (Heartbeat's files are a few kilobytes). */
const MAX_TEXT = 1 << 20;
/** Errors reported at most; more are counted. */
const MAX_ERRORS = 50;
/** Largest time accepted (a timer must fit in 31 bits of milliseconds). */
const MAX_TIME_MS = 2 ** 31 - 1;
/** Heartbeat's MAXNODE. */
const MAX_NODES = 100;
/** Heartbeat's MAXMEDIA. */
const MAX_MEDIA = 64;

const NODE_NAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * Parses a time in Heartbeat's syntax (`cl_get_msec`) into whole milliseconds:
 * a number of seconds ("2", "1.5", ".5"), or a number with `ms`/`msec` or
 * `us`/`usec` (any case). Halves round up, as Heartbeat does. Returns
 * undefined for anything else, including "2s" (which Heartbeat rejects too).
 */
export function parseHeartbeatTime(text: string): number | undefined {
  const match = /^(\d+\.?\d*|\.\d+)(ms|msec|us|usec)?$/i.exec(text);
  if (!match) return undefined;
  const n = Number(match[1]);
  const unit = (match[2] ?? "").toLowerCase();
  const ms = unit.startsWith("m") ? n : unit.startsWith("u") ? n / 1000 : n * 1000;
  return Math.floor(ms + 0.5);
}

/** The known directive nearest to `name` by edit distance, if it is close enough to suggest. */
export function suggestDirective(name: string): string | undefined {
  return suggestNames(name, [...Object.keys(HA_CF_DIRECTIVES), ...Object.keys(ALIASES)], 1)[0];
}

/** Reads and parses an ha.cf file; errors name the file. */
export function readHaCf(file: string): HaCf {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError(`${file}: cannot read: ${(e as Error).message}`);
  }
  return parseHaCf(text, file);
}

/**
 * Parses ha.cf text; `file` names the source in messages. Throws a
 * {@link ConfigError} listing every error found (one `file:line: ...` per line).
 */
export function parseHaCf(text: string, file: string): HaCf {
  if (text.length > MAX_TEXT) {
    throw new ConfigError(`${file}: too large (${text.length} bytes; at most ${MAX_TEXT})`);
  }
  const p = new Parser(file);
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) p.line(lines[i], i + 1);
  return p.finish();
}

type TimeKey = "keepalive" | "deadtime" | "warntime" | "initdead" | "deadping";

/** Parser state: what Heartbeat's globals hold while it reads the file. */
class Parser {
  readonly #file: string;
  readonly #errors: string[] = [];
  readonly #warnings: string[] = [];
  readonly #directives: HaCfDirective[] = [];
  readonly #nodes: At<string>[] = [];
  readonly #times: Partial<Record<TimeKey, At<number>>> = {};
  readonly #media: HaCfMedium[] = [];
  readonly #pings: At<string[]>[] = [];
  readonly #pingGroups: At<{ name: string; hosts: string[] }>[] = [];
  #udpport: At<number> | undefined;
  #baud: At<number> | undefined;
  /** Port (or baud) each media type read at its first line, as Heartbeat's plugins latch it. */
  readonly #latched = new Map<"bcast" | "ucast" | "serial", At<number>>();
  #firstMediaLine: number | undefined;
  #autoFailback: At<AutoFailback> | undefined;
  #crm: At<string> | undefined;
  #crmOn = false;
  #autojoin: At<"none" | "other" | "any"> | undefined;
  #logFile: At<string> | undefined;
  #watchdogLine: number | undefined;

  constructor(file: string) {
    this.#file = file;
  }

  /** Reads one line, as Heartbeat's `parse_config` loop does. */
  line(raw: string, line: number): void {
    const hash = raw.indexOf("#");
    const text = (hash >= 0 ? raw.slice(0, hash) : raw).replace(/\r.*$/s, "");
    const body = text.replace(/^[ \t\f]+/, "");
    if (body === "") return;
    const nameEnd = body.search(/[ \t\f]/);
    const written = nameEnd < 0 ? body : body.slice(0, nameEnd);
    const rest = (nameEnd < 0 ? "" : body.slice(nameEnd)).replace(/^[, \t\f]+/, "");
    let name = written;
    if (ALIASES[name] !== undefined) {
      name = ALIASES[name];
      this.#warn(
        line,
        `directive "${written}" is an old name for "${name}" (Heartbeat replaces it)`,
      );
    }
    const spec = Object.hasOwn(HA_CF_DIRECTIVES, name) ? HA_CF_DIRECTIVES[name] : undefined;
    if (spec === undefined) {
      this.#unknown(line, written);
      return;
    }
    const byLine = spec.syntax === "line";
    const args = rest.split(byLine ? /[ \t\f]+/ : /[, \t\f]+/).filter((a) => a !== "");
    this.#directives.push({ name, args, line, support: spec.support });
    if (args.length === 0 && !byLine) {
      this.#warn(line, `${name} has no value; Heartbeat ignores such a line`);
      return;
    }
    if (spec.support === "mapped") this.#mapped(name, args, line);
    else this.#reported(name, spec, args, line);
  }

  /** Applies Heartbeat's end-of-file checks and defaults; throws when anything was wrong. */
  finish(): HaCf {
    const file = this.#file;
    const haresources = !this.#crmOn;
    if (this.#nodes.length === 0) {
      this.#fileError('no nodes defined: add a "node" line naming every cluster member');
    }
    if (this.#media.length === 0) {
      this.#fileError(
        "No heartbeat media defined: add a bcast, ucast, mcast or serial line" +
          (this.#pings.length + this.#pingGroups.length > 0 ? " (ping nodes are not media)" : ""),
      );
    }
    if (this.#autojoin && this.#autojoin.value !== "none" && haresources) {
      this.#error(
        this.#autojoin.line,
        `autojoin ${this.#autojoin.value} conflicts with haresources resource management ` +
          `(crm/pacemaker off), as in Heartbeat: unset autojoin or turn crm on`,
      );
    }
    const timing = this.#timing();
    const autoFailback = this.#autoFailback?.value ?? "legacy";
    if (autoFailback === "legacy" && haresources) {
      const where = this.#autoFailback ? `${file}:${this.#autoFailback.line}` : file;
      const why = this.#autoFailback ? "" : " (Heartbeat's default when auto_failback is not set)";
      this.#warnings.push(
        `${where}: Deprecated 'legacy' auto_failback option selected${why}; ` +
          `Vigil treats it as auto_failback on (resources move back to their preferred node). ` +
          `Please convert to 'auto_failback on'.`,
      );
    }
    if (this.#errors.length > 0) {
      const more = this.#errors.length > MAX_ERRORS
        ? [`... and ${this.#errors.length - MAX_ERRORS} more errors`]
        : [];
      throw new ConfigError([...this.#errors.slice(0, MAX_ERRORS), ...more].join("\n"));
    }
    return {
      file,
      directives: this.#directives,
      nodes: this.#nodes,
      ...this.#times,
      timing,
      ...(this.#udpport ? { udpport: this.#udpport } : {}),
      ...(this.#baud ? { baud: this.#baud } : {}),
      media: this.#media,
      pings: this.#pings,
      pingGroups: this.#pingGroups,
      autoFailback,
      ...(this.#autoFailback ? { autoFailbackLine: this.#autoFailback.line } : {}),
      ...(this.#crm ? { crm: this.#crm } : {}),
      haresources,
      ...(this.#autojoin ? { autojoin: this.#autojoin } : {}),
      ...(this.#logFile ? { logFile: this.#logFile } : {}),
      warnings: this.#warnings,
    };
  }

  #mapped(name: string, args: string[], line: number): void {
    switch (name) {
      case "node":
        for (const a of args) this.#node(a, line);
        return;
      case "keepalive":
      case "deadtime":
      case "warntime":
      case "initdead":
      case "deadping":
        return this.#time(name, args, line);
      case "udpport":
        return this.#udpPort(args, line);
      case "baud":
        return this.#baudRate(args, line);
      case "bcast":
        for (const device of args) {
          this.#addMedium({ type: "bcast", line, device, port: this.#latch("bcast", line) });
        }
        return;
      case "ucast":
        return this.#ucast(args, line);
      case "mcast":
        return this.#mcast(args, line);
      case "serial":
        for (const device of args) {
          if (!device.startsWith("/")) {
            this.#error(line, `serial: "${device}" is not a full path (e.g. /dev/ttyS0)`);
            continue;
          }
          this.#addMedium({ type: "serial", line, device, baud: this.#latch("serial", line) });
        }
        return;
      case "ping":
        this.#pings.push({ value: args, line });
        return;
      case "ping_group":
        if (args.length < 2) {
          this.#error(line, "ping_group: expected a group name and at least one address");
          return;
        }
        this.#pingGroups.push({ value: { name: args[0], hosts: args.slice(1) }, line });
        return;
      case "auto_failback":
        return this.#failback(args, line);
      case "nice_failback":
        return this.#niceFailback(args, line);
      case "crm":
      case "pacemaker":
        return this.#crmLine(name, args, line);
      case "autojoin":
        return this.#autojoinLine(args, line);
      case "logfile": {
        const value = this.#lastOf(name, args, line);
        if (this.#logFile) this.#overrides(name, line, this.#logFile.line);
        this.#logFile = { value, line };
        return;
      }
    }
    // Every mapped name in HA_CF_DIRECTIVES has a case above.
    throw new Error(`unhandled mapped directive ${name}`);
  }

  /** An ignored or unsupported directive: check its values as Heartbeat would, then report it. */
  #reported(name: string, spec: HaCfDirectiveSpec, args: string[], line: number): void {
    const problems = spec.syntax === "line"
      ? [spec.check?.(args)]
      : args.map((a) => spec.check?.([a]));
    let bad = false;
    for (const problem of problems) {
      if (problem !== undefined) {
        this.#error(line, `${name}: ${problem}`);
        bad = true;
      }
    }
    if (bad) return;
    if (name === "watchdog") {
      if (this.#watchdogLine !== undefined) {
        this.#error(
          line,
          `watchdog device multiply specified (first at line ${this.#watchdogLine})`,
        );
        return;
      }
      this.#watchdogLine = line;
    }
    if ((name === "crm_daemon_dir" || name === "crmd_spawns_pengine") && this.#crm) {
      this.#error(
        line,
        `${name} must come before the crm/pacemaker line at ${this.#file}:${this.#crm.line}, ` +
          `as Heartbeat requires`,
      );
      return;
    }
    const what = spec.support === "ignored" ? "ignored (no effect in Vigil)" : "unsupported";
    this.#warn(line, `${name}: ${what}: ${spec.note}`);
  }

  #node(written: string, line: number): void {
    const name = written.toLowerCase();
    if (!NODE_NAME.test(name)) {
      this.#error(line, `node: "${written}" is not a valid node name (letters, digits, _ . -)`);
      return;
    }
    const earlier = this.#nodes.find((n) => n.value === name);
    if (earlier) {
      this.#warn(line, `node ${name} is already declared at line ${earlier.line}; ignored`);
      return;
    }
    if (this.#nodes.length >= MAX_NODES) {
      this.#error(line, `too many nodes (Heartbeat allows at most ${MAX_NODES})`);
      return;
    }
    this.#nodes.push({ value: name, line });
  }

  #time(name: TimeKey, args: string[], line: number): void {
    const written = this.#lastOf(name, args, line);
    const ms = parseHeartbeatTime(written);
    if (ms === undefined) {
      this.#error(
        line,
        `${name}: "${written}" is not a Heartbeat time ` +
          `(seconds such as "2" or "1.5", or "200ms", "500us")`,
      );
      return;
    }
    const positive = name === "keepalive" || name === "warntime";
    if (positive && ms <= 0) {
      this.#error(line, `${name}: must be more than 0 ms (got "${written}")`);
      return;
    }
    if (ms > MAX_TIME_MS) {
      this.#error(line, `${name}: "${written}" is too long (at most ${MAX_TIME_MS} ms)`);
      return;
    }
    const earlier = this.#times[name];
    if (earlier) this.#overrides(name, line, earlier.line);
    this.#times[name] = { value: ms, line };
  }

  #udpPort(args: string[], line: number): void {
    const written = this.#lastOf("udpport", args, line);
    const port = /^\d{1,5}$/.test(written) ? Number(written) : 0;
    if (port < 1 || port > 65535) {
      this.#error(line, `udpport: "${written}" is not a UDP port (1 to 65535)`);
      return;
    }
    if (this.#firstMediaLine !== undefined) {
      const kept = [...this.#latched.entries()]
        .filter(([type]) => type !== "serial")
        .map(([type, at]) => `${type} keeps port ${at.value} (its first line is ${at.line})`);
      this.#warn(
        line,
        `udpport ${port} comes after the media line at ${this.#file}:${this.#firstMediaLine} ` +
          `(Heartbeat: "udpport setting must precede media statements"); ` +
          (kept.length > 0
            ? `as in Heartbeat, ${kept.join(" and ")}; ${port} applies only to ` +
              `bcast/ucast media first used after this line`
            : `it applies to the bcast/ucast lines after it`),
      );
    }
    this.#udpport = { value: port, line };
  }

  #baudRate(args: string[], line: number): void {
    if (this.#baud) {
      this.#error(line, `baud multiply specified (first at line ${this.#baud.line})`);
      return;
    }
    const written = this.#lastOf("baud", args, line);
    const baud = Number(written);
    if (!(HEARTBEAT_BAUD_RATES as readonly number[]).includes(baud)) {
      this.#error(line, `baud: "${written}" is not one of ${HEARTBEAT_BAUD_RATES.join(", ")}`);
      return;
    }
    const serial = this.#latched.get("serial");
    if (serial) {
      this.#warn(
        line,
        `baud ${baud} comes after the serial line at ${this.#file}:${serial.line} ` +
          `(Heartbeat: "baudrate setting must precede media statements"); as in Heartbeat, ` +
          `the serial links keep ${serial.value} baud`,
      );
    }
    this.#baud = { value: baud, line };
  }

  /** The port (bcast, ucast) or baud (serial) a media type uses: fixed at its first line. */
  #latch(type: "bcast" | "ucast" | "serial", line: number): number {
    const latched = this.#latched.get(type);
    if (latched) return latched.value;
    const value = type === "serial"
      ? this.#baud?.value ?? HEARTBEAT_BAUD
      : this.#udpport?.value ?? HEARTBEAT_UDPPORT;
    this.#latched.set(type, { value, line });
    return value;
  }

  #ucast(args: string[], line: number): void {
    if (args.length < 2) {
      this.#error(line, "ucast: expected an interface and a peer address (ucast eth1 10.0.0.2)");
      return;
    }
    if (args.length > 2) {
      this.#warn(
        line,
        `ucast takes one peer per line; Heartbeat ignores "${args.slice(2).join(" ")}" ` +
          `(write one ucast line per peer)`,
      );
    }
    const [device, peer] = args;
    this.#addMedium({ type: "ucast", line, device, peer, port: this.#latch("ucast", line) });
  }

  #mcast(args: string[], line: number): void {
    const names = ["interface", "group", "port", "ttl", "loop"];
    if (args.length < 5) {
      this.#error(
        line,
        `mcast: missing ${names[args.length]} (mcast dev group port ttl loop, ` +
          `e.g. mcast eth0 239.0.0.1 694 1 0)`,
      );
      return;
    }
    if (args.length > 5) this.#warn(line, `mcast: Heartbeat ignores "${args.slice(5).join(" ")}"`);
    const [device, group, portText, ttlText, loopText] = args;
    const octet = Number(group.split(".")[0]);
    const port = /^\d{1,5}$/.test(portText) ? Number(portText) : 0;
    const ttl = /^\d{1,3}$/.test(ttlText) ? Number(ttlText) : -1;
    const problems = [
      IPV4.test(group) && octet >= 224 && octet <= 239
        ? undefined
        : `"${group}" is not an IPv4 multicast group (224.0.0.0 to 239.255.255.255)`,
      port >= 1 && port <= 65535 ? undefined : `port "${portText}" is not a UDP port`,
      // Heartbeat 3.0.6's mcast plugin refuses a ttl above 4 (its manual says 0-255).
      ttl >= 0 && ttl <= 4 ? undefined : `ttl "${ttlText}" must be 0 to 4 (Heartbeat's limit)`,
      loopText === "0" || loopText === "1" ? undefined : `loop "${loopText}" must be 0 or 1`,
    ].filter((x) => x !== undefined);
    if (problems.length > 0) {
      this.#error(line, `mcast: ${problems.join("; ")}`);
      return;
    }
    this.#addMedium({ type: "mcast", line, device, group, port, ttl, loop: loopText === "1" });
  }

  #addMedium(m: HaCfMedium): void {
    const same = this.#media.find((o) => mediumKey(o) === mediumKey(m));
    if (same) {
      this.#warn(m.line, `${m.type} ${m.device} repeats line ${same.line}; ignored`);
      return;
    }
    if (this.#media.length >= MAX_MEDIA) {
      this.#error(m.line, `too many media (Heartbeat allows at most ${MAX_MEDIA})`);
      return;
    }
    this.#firstMediaLine ??= m.line;
    this.#media.push(m);
  }

  #failback(args: string[], line: number): void {
    const written = this.#lastOf("auto_failback", args, line);
    const value = written.toLowerCase() === "legacy" ? "legacy" : toBoolean(written);
    if (value === undefined) {
      this.#error(line, `auto_failback: "${written}" is not on, off or legacy`);
      return;
    }
    if (this.#autoFailback) this.#overrides("auto_failback", line, this.#autoFailback.line);
    this.#autoFailback = {
      value: value === "legacy" ? "legacy" : value ? "on" : "off",
      line,
    };
  }

  #niceFailback(args: string[], line: number): void {
    const written = this.#lastOf("nice_failback", args, line);
    const on = toBoolean(written);
    if (on === undefined) {
      this.#error(line, `nice_failback: "${written}" is not on or off`);
      return;
    }
    const value: AutoFailback = on ? "off" : "legacy";
    this.#warn(
      line,
      `nice_failback is obsolete; as Heartbeat does, "nice_failback ${written}" is read as ` +
        `"auto_failback ${value}"`,
    );
    this.#autoFailback = { value, line };
  }

  #crmLine(name: string, args: string[], line: number): void {
    for (const written of args) {
      if (this.#crm) {
        this.#error(
          line,
          `pacemaker/crm directive used multiple times (first at line ${this.#crm.line})`,
        );
        return;
      }
      const mode = written.toLowerCase();
      const special = ["respawn", "minimal", "manual", "valgrind", "ccm-only"].includes(mode);
      const on = special ? true : toBoolean(written);
      if (on === undefined) {
        this.#error(
          line,
          `${name}: "${written}" is not on, off, respawn, yes, no (or minimal, manual, ` +
            `valgrind, ccm-only)`,
        );
        return;
      }
      if (mode === "minimal" || mode === "manual" || mode === "valgrind" || mode === "ccm-only") {
        this.#warn(
          line,
          `${name} ${written}: Vigil manages resources itself; read as "${name} respawn"`,
        );
      }
      this.#crm = { value: written, line };
      this.#crmOn = on;
    }
  }

  #autojoinLine(args: string[], line: number): void {
    const written = this.#lastOf("autojoin", args, line);
    const value = written.toLowerCase();
    if (value !== "none" && value !== "other" && value !== "any") {
      this.#error(line, `autojoin: "${written}" is not none, other or any`);
      return;
    }
    if (value !== "none") {
      this.#warn(
        line,
        `autojoin ${value}: unsupported: only the nodes named in node lines join a Vigil cluster`,
      );
    }
    this.#autojoin = { value, line };
  }

  /** Heartbeat applies every value of a one-value directive in turn: the last one wins. */
  #lastOf(name: string, args: string[], line: number): string {
    const last = args[args.length - 1];
    if (args.length > 1) {
      this.#warn(
        line,
        `${name} takes one value but has ${args.length}; Heartbeat applies each in turn, ` +
          `so "${last}" wins`,
      );
    }
    return last;
  }

  #timing(): HaCfTiming {
    const t = this.#times;
    const f = this.#file;
    const keepaliveMs = t.keepalive?.value ?? 1000;
    const deadtimeMs = t.deadtime?.value ?? 30_000;
    const where = (at: At<number> | undefined) => (at ? `${f}:${at.line}` : "default");
    if (deadtimeMs <= 2 * keepaliveMs) {
      this.#timingError(
        t.deadtime ?? t.keepalive,
        `deadtime (${deadtimeMs} ms, ${where(t.deadtime)}) must be more than twice keepalive ` +
          `(${keepaliveMs} ms, ${where(t.keepalive)}), as Heartbeat requires`,
      );
    }
    // Heartbeat's defaults (config.c init_config).
    const warntimeMs = t.warntime?.value ?? Math.floor(deadtimeMs / 2);
    const initdeadMs = t.initdead?.value ??
      (deadtimeMs > 10_000 ? deadtimeMs : deadtimeMs < 6000 ? 12_000 : 2 * deadtimeMs);
    if (initdeadMs < deadtimeMs) {
      this.#timingError(
        t.initdead ?? t.deadtime,
        `initdead (${initdeadMs} ms, ${where(t.initdead)}) is smaller than deadtime ` +
          `(${deadtimeMs} ms, ${where(t.deadtime)})`,
      );
    } else if (initdeadMs < 10_000 && t.initdead) {
      this.#warn(
        t.initdead.line,
        `initdead ${initdeadMs} ms may be too small: it should be at least deadtime and ` +
          `at least 10 s, to allow for slow network startup`,
      );
    }
    const deadpingMs = t.deadping?.value ?? deadtimeMs;
    if (t.deadping && deadpingMs <= 2 * keepaliveMs) {
      this.#error(
        t.deadping.line,
        `deadping (${deadpingMs} ms) must be more than twice keepalive ` +
          `(${keepaliveMs} ms, ${where(t.keepalive)})`,
      );
    }
    return { keepaliveMs, deadtimeMs, warntimeMs, initdeadMs, deadpingMs };
  }

  #timingError(at: At<number> | undefined, message: string): void {
    if (at) this.#error(at.line, message);
    else this.#fileError(message);
  }

  #unknown(line: number, written: string): void {
    const lower = written.toLowerCase();
    const known = Object.hasOwn(HA_CF_DIRECTIVES, lower) || Object.hasOwn(ALIASES, lower);
    if (known) {
      this.#error(
        line,
        `unknown directive "${written}" (directive names are case-sensitive in Heartbeat: ` +
          `did you mean "${lower}"?)`,
      );
      return;
    }
    const suggestion = suggestDirective(written);
    this.#error(
      line,
      `unknown directive "${written}"` + (suggestion ? ` (did you mean "${suggestion}"?)` : ""),
    );
  }

  #overrides(name: string, line: number, earlier: number): void {
    this.#warn(line, `${name} overrides the value at line ${earlier} (the last one wins)`);
  }

  #warn(line: number, message: string): void {
    this.#warnings.push(`${this.#file}:${line}: ${message}`);
  }

  #error(line: number, message: string): void {
    this.#errors.push(`${this.#file}:${line}: ${message}`);
  }

  #fileError(message: string): void {
    this.#errors.push(`${this.#file}: ${message}`);
  }
}

function mediumKey(m: HaCfMedium): string {
  switch (m.type) {
    case "ucast":
      return `ucast ${m.device} ${m.peer}`;
    case "mcast":
      return `mcast ${m.device} ${m.group} ${m.port}`;
    default:
      return `${m.type} ${m.device}`;
  }
}

/** Heartbeat's `cl_str_to_boolean`. */
function toBoolean(text: string): boolean | undefined {
  const t = text.toLowerCase();
  if (["true", "on", "yes", "y", "1"].includes(t)) return true;
  if (["false", "off", "no", "n", "0"].includes(t)) return false;
  return undefined;
}

function mapped(note: string, syntax: "tokens" | "line" = "tokens"): HaCfDirectiveSpec {
  return { support: "mapped", note, syntax };
}

function ignored(
  note: string,
  check: HaCfDirectiveSpec["check"],
  syntax: "tokens" | "line" = "tokens",
): HaCfDirectiveSpec {
  return { support: "ignored", note, syntax, check };
}

function unsupported(
  note: string,
  check: HaCfDirectiveSpec["check"],
  syntax: "tokens" | "line" = "tokens",
): HaCfDirectiveSpec {
  return { support: "unsupported", note, syntax, check };
}

function one(values: readonly string[]): string | undefined {
  return values.length === 1 && values[0] !== "" ? undefined : "expected one value";
}

function bool(values: readonly string[]): string | undefined {
  return toBoolean(values[0]) === undefined
    ? `"${values[0]}" is not a boolean (on/off, yes/no, true/false, y/n, 1/0)`
    : undefined;
}

function time(values: readonly string[]): string | undefined {
  const ms = parseHeartbeatTime(values[0]);
  return ms === undefined || ms <= 0
    ? `"${values[0]}" is not a positive Heartbeat time ("60", "1.5", "200ms")`
    : undefined;
}

function int(min: number, max: number): (values: readonly string[]) => string | undefined {
  return (values) => {
    const n = /^-?\d+$/.test(values[0]) ? Number(values[0]) : NaN;
    return n >= min && n <= max
      ? undefined
      : `"${values[0]}" is not a number from ${min} to ${max}`;
  };
}

/** Values compared with `strcmp` in Heartbeat: case matters. */
function oneOf(...allowed: string[]): (values: readonly string[]) => string | undefined {
  return (values) =>
    allowed.includes(values[0]) ? undefined : `"${values[0]}" is not ${allowed.join(" or ")}`;
}

function atLeast(n: number): (values: readonly string[]) => string | undefined {
  return (values) => values.length >= n ? undefined : `expected at least ${n} values`;
}

function apiauthCheck(values: readonly string[]): string | undefined {
  const ids = values.slice(1);
  const valid = ids.length > 0 && ids.every((v) => /^(uid|gid)=\S+$/.test(v));
  return values.length >= 2 && valid
    ? undefined
    : "expected a client name then uid=LIST and/or gid=LIST";
}

function envCheck(values: readonly string[]): string | undefined {
  return /^[^=]+=/.test(values[0]) ? undefined : `"${values[0]}" is not NAME=value`;
}

function stonithCheck(n: number): (values: readonly string[]) => string | undefined {
  return (values) => values.length >= n ? undefined : `expected at least ${n} values`;
}

function childCheck(values: readonly string[]): string | undefined {
  return values.length >= 2 && values[1].startsWith("/")
    ? undefined
    : "expected a user name then the full path of the program";
}
