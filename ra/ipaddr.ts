/**
 * `IPaddr`: a virtual IPv4 address (a "VIP"), the built-in counterpart of
 * ocf:heartbeat:IPaddr2.
 *
 * - start: `ip addr add IP/CIDR brd + dev NIC [label NIC:LABEL]`, then a gratuitous ARP so
 *   neighbours (and switches) learn the new owner at once. With `arp_mode: "background"`
 *   (the default) start returns as soon as the address is up and the announcements go out
 *   while the cluster carries on: the start time is part of every failover.
 * - monitor: the address is on the interface (`ip -o -f inet addr show [dev NIC]`).
 * - stop: removes every copy of the address (stopping a stopped VIP is OK) and ends a
 *   background ARP sender that is still running, so nothing announces a released address.
 *
 * The interface can be left out: like IPaddr2's findif, the agent picks the interface
 * with the longest prefix whose subnet contains the address, and takes the netmask from
 * it when `cidr_netmask` is not set either.
 *
 * Gratuitous ARP needs a raw socket, which neither web APIs nor `node:` built-ins offer,
 * so it is sent by a helper program: iputils `arping -U` (Debian package iputils-arping;
 * `arping -V` is asked once whether the arping found is that one), or else `send_arp` of
 * the resource-agents package. `arp_sender: "auto"` uses the first one installed; with
 * neither the start still succeeds and logs that no announcement was sent (neighbours
 * then learn the address when their ARP entries expire). iputils arping only takes whole
 * seconds between packets, so `arp_interval` is rounded up for it; send_arp honours
 * milliseconds. The first packet leaves at once either way. A background sender is
 * remembered in this process only: a stop run by another process (e.g. a one-shot
 * `vigil ra run`) cannot end it, and it simply finishes its few packets.
 *
 * The `ip` commands act on the current network namespace, or on the one named by the
 * `netns` parameter (`ip -n NS ...`, `ip netns exec NS arping ...`), which lets one
 * process manage addresses of a container's namespace and lets tests stay off the host's
 * interfaces. IPv4 only.
 *
 * @example
 * ```ts
 * // A resource: { id: "vip", agent: "IPaddr", params: { ip: "10.0.0.100", cidr_netmask: 24 } }
 * const rc = await IPaddr.actions.start(ctx); // OCF.OK once 10.0.0.100/24 is on the interface
 * ```
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { z } from "zod";
import {
  type AgentContext,
  defineResourceAgent,
  OCF,
  type OcfCode,
} from "../plugins/resource_agent.ts";
import {
  type CommandResult,
  describeCommandFailure,
  errorText,
  findProgram,
  runCommand,
} from "./agent_tools.ts";
import { integerParam } from "./params.ts";

// ---------------------------------------------------------------------------------------
// Pure helpers (exported for tests)

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Parses a dotted-quad IPv4 address into its 32-bit value; undefined when malformed. */
export function parseIpv4(text: string): number | undefined {
  const m = IPV4.exec(text);
  if (!m) return undefined;
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    // Leading zeros are refused: `ip` would read them as octal in some versions.
    if (m[i].length > 1 && m[i][0] === "0") return undefined;
    const octet = Number(m[i]);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

/** The network mask of a prefix length as a 32-bit value (0 for /0). */
function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Whether `address` lies in the subnet `network/prefix` (all as parsed by {@link parseIpv4}). */
export function subnetContains(network: number, prefix: number, address: number): boolean {
  const mask = maskOf(prefix);
  return ((network & mask) >>> 0) === ((address & mask) >>> 0);
}

/**
 * Turns a dotted netmask (`255.255.255.0`) into its prefix length; undefined when it is
 * not a contiguous mask.
 */
export function netmaskToPrefix(mask: string): number | undefined {
  const value = parseIpv4(mask);
  if (value === undefined) return undefined;
  for (let prefix = 0; prefix <= 32; prefix++) {
    if (maskOf(prefix) === value) return prefix;
  }
  return undefined;
}

/** One IPv4 address of an interface, from `ip -o -f inet addr show`. */
export interface InetAddress {
  /** The interface name, e.g. `eth0`. */
  nic: string;
  /** The address, dotted quad. */
  address: string;
  /** Its prefix length. */
  prefix: number;
  /** Its label when it differs from the interface name (e.g. `eth0:vip`). */
  label?: string;
}

const INET_LINE =
  /^\d+:\s+(\S+)\s+inet\s+(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\/(\d{1,2})\b(.*?)(?:\\|$)/;

/**
 * Parses the output of `ip -o -f inet addr show` (one address per line, e.g.
 * `3: eth0    inet 10.0.0.1/24 brd 10.0.0.255 scope global eth0\       valid_lft ...`).
 * Lines that do not look like an address are skipped; at most 4096 lines are read.
 */
export function parseInetAddresses(output: string): InetAddress[] {
  const found: InetAddress[] = [];
  for (const line of output.split("\n").slice(0, 4096)) {
    const m = INET_LINE.exec(line);
    if (!m) continue;
    const prefix = Number(m[3]);
    if (prefix > 32 || parseIpv4(m[2]) === undefined) continue;
    const entry: InetAddress = { nic: m[1], address: m[2], prefix };
    // The label, when present, is the last word before the `\`.
    const label = m[4].trim().split(/\s+/).at(-1);
    if (label && label !== m[1] && label.startsWith(`${m[1]}:`)) entry.label = label;
    found.push(entry);
  }
  return found;
}

/**
 * Like IPaddr2's findif: the interface with the longest prefix whose subnet contains
 * `ip`, ignoring copies of `ip` itself and (when `prefix` is given) subnets of another
 * length. Loopback (`lo`) is never chosen.
 *
 * @returns the interface and the prefix of its subnet, or undefined when none matches
 */
export function findInterface(
  addresses: readonly InetAddress[],
  ip: string,
  prefix?: number,
): { nic: string; prefix: number } | undefined {
  const target = parseIpv4(ip);
  if (target === undefined) return undefined;
  let best: InetAddress | undefined;
  for (const entry of addresses) {
    if (entry.nic === "lo" || entry.address === ip) continue;
    if (prefix !== undefined && entry.prefix !== prefix) continue;
    const network = parseIpv4(entry.address)!;
    if (!subnetContains(network, entry.prefix, target)) continue;
    if (!best || entry.prefix > best.prefix) best = entry;
  }
  return best && { nic: best.nic, prefix: best.prefix };
}

/** The `ip` arguments that add `ip/prefix` to `nic` (before any `-n NS`). */
export function addAddressArgs(
  ip: string,
  prefix: number,
  nic: string,
  opts: { broadcast?: string; label?: string } = {},
): string[] {
  const args = ["addr", "add", `${ip}/${prefix}`];
  // `brd +` lets ip compute the broadcast address; /31 and /32 have none.
  const broadcast = opts.broadcast ?? (prefix <= 30 ? "+" : undefined);
  if (broadcast !== undefined) args.push("brd", broadcast);
  args.push("dev", nic);
  if (opts.label !== undefined) args.push("label", `${nic}:${opts.label}`);
  return args;
}

/** Which program sends the gratuitous ARP, and its arguments. */
export interface ArpCommand {
  /** The program (absolute path). */
  file: string;
  /** Its arguments. */
  args: string[];
  /** How long it runs at most, in ms (used to bound a foreground wait). */
  expectedMs: number;
}

/**
 * Builds the gratuitous-ARP command for `sender` (an absolute path to iputils `arping`
 * or to resource-agents' `send_arp`): `count` packets `intervalMs` apart.
 */
export function arpCommand(
  kind: "arping" | "send_arp",
  sender: string,
  nic: string,
  ip: string,
  count: number,
  intervalMs: number,
): ArpCommand {
  if (kind === "arping") {
    // iputils arping: whole seconds only; -U = unsolicited (gratuitous) ARP.
    const seconds = Math.max(1, Math.ceil(intervalMs / 1000));
    return {
      file: sender,
      args: ["-q", "-U", "-c", String(count), "-i", String(seconds), "-I", nic, ip],
      expectedMs: count * seconds * 1000,
    };
  }
  // send_arp DEVICE SRC_IP SRC_HW BCAST_IP NETMASK: the last two are unused on Linux.
  return {
    file: sender,
    args: ["-i", String(intervalMs), "-r", String(count), nic, ip, "auto", "not_used", "not_used"],
    expectedMs: count * intervalMs,
  };
}

// ---------------------------------------------------------------------------------------
// Parameters

const ipv4 = z.string().refine((s) => parseIpv4(s) !== undefined, {
  error: "expected an IPv4 address in dotted-quad form, e.g. 10.0.0.100",
});

const cidrNetmask = z.union([
  z.number().int().min(1).max(32),
  z.string().transform((s, ctx) => {
    const prefix = /^[0-9]{1,2}$/.test(s) ? Number(s) : netmaskToPrefix(s);
    if (prefix === undefined || prefix < 1 || prefix > 32) {
      ctx.addIssue({ code: "custom", message: "expected a prefix length 1..32 or a netmask" });
      return z.NEVER;
    }
    return prefix;
  }),
]);

const NIC = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/;

const params = z.object({
  ip: ipv4.describe("The virtual IPv4 address to manage, e.g. 10.0.0.100."),
  cidr_netmask: cidrNetmask.optional().describe(
    "Prefix length (24) or netmask (255.255.255.0) of the address; " +
      "by default that of the interface's subnet containing ip.",
  ),
  nic: z.string().regex(NIC, { error: "expected an interface name (1..15 of [A-Za-z0-9_.-])" })
    .optional().describe(
      "Interface to add the address to; by default the interface whose subnet " +
        "contains ip (longest prefix wins), like IPaddr2's findif.",
    ),
  broadcast: ipv4.optional().describe(
    "Broadcast address; by default computed from the prefix (`brd +`).",
  ),
  label: z.string().regex(/^[A-Za-z0-9_.-]{1,14}$/, {
    error: "expected 1..14 of [A-Za-z0-9_.-]",
  }).optional().describe(
    "Label suffix: the address is labelled NIC:LABEL (at most 15 characters in all).",
  ),
  arp_count: integerParam(0, 1000).prefault(5).describe(
    "How many gratuitous ARP packets to send after adding the address (0: none).",
  ),
  arp_interval: integerParam(10, 60_000).prefault(200).describe(
    "Milliseconds between ARP packets (iputils arping rounds this up to whole seconds).",
  ),
  arp_mode: z.enum(["background", "foreground"]).default("background").describe(
    "background: start returns once the address is up, ARPs continue meanwhile; " +
      "foreground: start waits until every ARP packet is sent.",
  ),
  arp_sender: z.enum(["auto", "arping", "send_arp", "none"]).default("auto").describe(
    "Program sending the ARPs: iputils arping, resource-agents send_arp, auto " +
      "(the first installed of the two) or none.",
  ),
  netns: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/, {
    error: "expected a network namespace name of [A-Za-z0-9_.-]",
  }).optional().describe(
    "Network namespace (as in `ip netns list`) to manage the address in; " +
      "by default the namespace of the Vigil process.",
  ),
});

/** The parsed parameters of an `IPaddr` resource. */
export type IpaddrParams = z.output<typeof params>;

// ---------------------------------------------------------------------------------------
// I/O

/** Time bound of one `ip` call, in ms (the operation's signal may end it sooner). */
const IP_TIMEOUT_MS = 10_000;
/** Most bytes of output read from one `ip` call. */
const MAX_IP_OUTPUT = 1024 * 1024;
/** How long stop waits for a killed background ARP sender to exit, in ms. */
const ARP_EXIT_WAIT_MS = 1_000;
/** Bytes of an ARP sender's stderr kept for the log. */
const ARP_STDERR_BYTES = 1024;

/** Where `ip`, `arping` and `send_arp` are looked for after $PATH. */
const SEARCH_DIRS = ["/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/libexec/heartbeat"];

/**
 * Runs a short command (`ip`, `arping -V`) with a time bound, honouring `signal`. Never
 * rejects. An operation already aborted runs nothing (failure `aborted`).
 */
function runTool(file: string, args: string[], signal: AbortSignal): Promise<CommandResult> {
  if (signal.aborted) {
    return Promise.resolve({ code: -1, stdout: "", stderr: "", failure: "aborted" });
  }
  return runCommand(file, args, {
    signal,
    timeoutMs: IP_TIMEOUT_MS,
    maxOutputBytes: MAX_IP_OUTPUT,
  });
}

function describeFailure(what: string, r: CommandResult): string {
  return describeCommandFailure(`IPaddr: ${what}`, r);
}

/** Runs `ip [-n NS] ARGS`. */
function ipCommand(ipPath: string, p: IpaddrParams, args: string[], signal: AbortSignal) {
  return runTool(ipPath, p.netns === undefined ? args : ["-n", p.netns, ...args], signal);
}

/** A background ARP sender, so stop can end it and monitor can report how it ended. */
interface ArpRun {
  child: ChildProcess;
  exited: Promise<void>;
  /** Set when it has ended with a failure, until a monitor has logged it. */
  failure?: string;
}

// Keyed by `${stateDir}|${resourceId}`: several simulated nodes may share this process.
const arpRuns = new Map<string, ArpRun>();
const MAX_ARP_RUNS = 1024;

function keyOf(ctx: AgentContext<IpaddrParams>): string {
  return `${ctx.stateDir}|${ctx.resourceId}`;
}

/** Ends the background ARP sender of this resource, if one is still running. */
async function stopArp(ctx: AgentContext<IpaddrParams>): Promise<void> {
  const run = arpRuns.get(keyOf(ctx));
  if (!run) return;
  arpRuns.delete(keyOf(ctx));
  if (run.child.exitCode === null && run.child.signalCode === null) {
    run.child.kill("SIGKILL");
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      run.exited,
      new Promise<void>((resolve) => timer = setTimeout(resolve, ARP_EXIT_WAIT_MS)),
    ]);
    clearTimeout(timer);
  }
}

/** Whether each `arping` found is iputils' (whose options this agent uses), by path. */
const iputilsArping = new Map<string, boolean>();

/**
 * Whether the `arping` at `path` is iputils' (`arping -V` says so). Another arping (e.g.
 * the libnet one of the `arping` package) takes other options. Asked once per path.
 */
async function isIputilsArping(path: string, signal: AbortSignal): Promise<boolean> {
  const known = iputilsArping.get(path);
  if (known !== undefined) return known;
  const r = await runTool(path, ["-V"], signal);
  if (r.failure === "aborted") return false;
  const yes = /iputils/i.test(r.stdout + r.stderr);
  if (iputilsArping.size < 16) iputilsArping.set(path, yes);
  return yes;
}

/** Which ARP program to use: its kind and path, or a reason why there is none. */
async function chooseArpSender(
  choice: IpaddrParams["arp_sender"],
  signal: AbortSignal,
): Promise<{ kind: "arping" | "send_arp"; path: string } | { missing: string } | undefined> {
  if (choice === "none") return undefined;
  let foreignArping = false;
  for (const kind of ["arping", "send_arp"] as const) {
    if (choice !== "auto" && choice !== kind) continue;
    const path = findProgram(kind, SEARCH_DIRS);
    if (!path) continue;
    if (kind === "arping" && !await isIputilsArping(path, signal)) {
      foreignArping = true;
      continue;
    }
    return { kind, path };
  }
  const arping = foreignArping ? "iputils arping (the arping found is another one)" : "arping";
  return {
    missing: choice === "auto"
      ? `neither ${arping} (iputils-arping) nor send_arp (resource-agents) is installed`
      : `${choice === "arping" ? arping : choice} is not installed`,
  };
}

/**
 * Sends the gratuitous ARP for a freshly added address. In background mode it returns
 * once the sender is spawned; in foreground mode once it has exited. A failing sender
 * never fails the start: the address is up and answers ARP requests anyway.
 */
async function announce(
  ctx: AgentContext<IpaddrParams>,
  ipPath: string,
  nic: string,
): Promise<void> {
  const p = ctx.params;
  if (p.arp_count === 0) return;
  const sender = await chooseArpSender(p.arp_sender, ctx.signal);
  if (!sender) return;
  if ("missing" in sender) {
    ctx.log(`IPaddr: no gratuitous ARP sent: ${sender.missing}`);
    return;
  }
  const cmd = arpCommand(sender.kind, sender.path, nic, p.ip, p.arp_count, p.arp_interval);
  const file = p.netns === undefined ? cmd.file : ipPath;
  const args = p.netns === undefined ? cmd.args : ["netns", "exec", p.netns, cmd.file, ...cmd.args];
  await stopArp(ctx); // a leftover sender of an earlier start
  let child: ChildProcess;
  try {
    // In the background nothing may hold this process open (a one-shot `vigil ra run`
    // exits at once, the sender carries on): no pipes, and the child is unref'd.
    const background = p.arp_mode === "background";
    child = spawn(file, args, { stdio: ["ignore", "ignore", background ? "ignore" : "pipe"] });
    if (background) child.unref();
  } catch (e) {
    ctx.log(`IPaddr: cannot run ${sender.path}: ${errorText(e)}`);
    return;
  }
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    if (stderr.length < ARP_STDERR_BYTES) {
      stderr += chunk.slice(0, ARP_STDERR_BYTES - stderr.length);
    }
  });
  const run: ArpRun = {
    child,
    exited: new Promise((resolve) => {
      child.on("error", (e) => {
        run.failure = `${sender.kind} failed: ${e.message}`;
        resolve();
      });
      child.on("close", (code, signal) => {
        if (code !== 0 && signal !== "SIGKILL") {
          const detail = stderr.trim() ? `: ${stderr.trim()}` : "";
          run.failure = `${sender.kind} ended with ${code ?? signal}${detail}`;
        }
        resolve();
      });
    }),
  };
  if (arpRuns.size >= MAX_ARP_RUNS) arpRuns.delete(arpRuns.keys().next().value!);
  arpRuns.set(keyOf(ctx), run);
  const how = `${p.arp_count} gratuitous ARP(s) for ${p.ip} on ${nic} via ${sender.kind}`;
  if (p.arp_mode === "background") {
    ctx.log(`IPaddr: sending ${how} in the background (pid ${child.pid})`);
    return;
  }
  const onAbort = () => child.kill("SIGKILL");
  ctx.signal.addEventListener("abort", onAbort, { once: true });
  await run.exited;
  ctx.signal.removeEventListener("abort", onAbort);
  if (arpRuns.get(keyOf(ctx)) === run) arpRuns.delete(keyOf(ctx));
  ctx.log(run.failure ? `IPaddr: ${run.failure}` : `IPaddr: sent ${how}`);
}

/** The addresses of `nic` (or of every interface), or an error line. */
async function listAddresses(
  ctx: AgentContext<IpaddrParams>,
  ipPath: string,
  nic: string | undefined,
): Promise<InetAddress[] | { error: string; noDevice: boolean }> {
  const args = ["-o", "-f", "inet", "addr", "show", ...(nic === undefined ? [] : ["dev", nic])];
  const r = await ipCommand(ipPath, ctx.params, args, ctx.signal);
  if (r.code !== 0) {
    const noDevice = /does not exist|Cannot find device/i.test(r.stderr);
    return { error: describeFailure(`ip ${args.join(" ")}`, r), noDevice };
  }
  return parseInetAddresses(r.stdout);
}

/** Resolves the interface and prefix to use, or returns the OCF code to fail with. */
async function resolveTarget(
  ctx: AgentContext<IpaddrParams>,
  ipPath: string,
): Promise<{ nic: string; prefix: number } | { rc: OcfCode }> {
  const p = ctx.params;
  if (p.nic !== undefined && p.cidr_netmask !== undefined) {
    return { nic: p.nic, prefix: p.cidr_netmask };
  }
  const addresses = await listAddresses(ctx, ipPath, p.nic);
  if ("error" in addresses) {
    ctx.log(addresses.error);
    return { rc: addresses.noDevice ? OCF.ERR_CONFIGURED : OCF.ERR_GENERIC };
  }
  const found = findInterface(addresses, p.ip, p.cidr_netmask);
  if (found) return { nic: p.nic ?? found.nic, prefix: p.cidr_netmask ?? found.prefix };
  ctx.log(
    `IPaddr: no interface${p.nic ? ` ${p.nic}` : ""} has a subnet containing ${p.ip}` +
      `${p.cidr_netmask ? `/${p.cidr_netmask}` : ""}; set nic and cidr_netmask`,
  );
  return { rc: OCF.ERR_CONFIGURED };
}

function requireIp(ctx: AgentContext<IpaddrParams>): string | undefined {
  const path = findProgram("ip", SEARCH_DIRS);
  if (!path) ctx.log("IPaddr: the ip command (iproute2) is not installed");
  return path;
}

/** The `IPaddr` agent definition. */
const IPaddr = defineResourceAgent({
  kind: "resource-agent",
  name: "IPaddr",
  version: "1.0.0",
  description: "A virtual IPv4 address: ip addr add/del, announced with gratuitous ARP.",
  params,
  actions: {
    async start(ctx) {
      const ipPath = requireIp(ctx);
      if (!ipPath) return OCF.ERR_INSTALLED;
      const p = ctx.params;
      const target = await resolveTarget(ctx, ipPath);
      if ("rc" in target) return target.rc;
      if (p.label !== undefined && target.nic.length + 1 + p.label.length > 15) {
        ctx.log(`IPaddr: label ${target.nic}:${p.label} is longer than 15 characters`);
        return OCF.ERR_CONFIGURED;
      }
      const args = addAddressArgs(p.ip, target.prefix, target.nic, p);
      // No separate "is it there" check first: one process less on the failover path.
      const r = await ipCommand(ipPath, p, args, ctx.signal);
      if (r.code !== 0) {
        if (/exists|already assigned/i.test(r.stderr)) {
          ctx.log(`IPaddr: ${p.ip} is already on ${target.nic}`);
          return OCF.OK;
        }
        ctx.log(describeFailure(`ip ${args.join(" ")}`, r));
        return /does not exist|Cannot find device/i.test(r.stderr)
          ? OCF.ERR_CONFIGURED
          : OCF.ERR_GENERIC;
      }
      ctx.log(`IPaddr: added ${p.ip}/${target.prefix} to ${target.nic}`);
      await announce(ctx, ipPath, target.nic);
      return OCF.OK;
    },

    async stop(ctx) {
      await stopArp(ctx);
      const ipPath = requireIp(ctx);
      if (!ipPath) return OCF.ERR_INSTALLED;
      const p = ctx.params;
      const addresses = await listAddresses(ctx, ipPath, p.nic);
      if ("error" in addresses) {
        // The interface (or namespace) is gone, and with it the address.
        if (addresses.noDevice) return OCF.OK;
        ctx.log(addresses.error);
        return OCF.ERR_GENERIC;
      }
      const ours = addresses.filter((a) =>
        a.address === p.ip && (p.cidr_netmask === undefined || a.prefix === p.cidr_netmask)
      );
      for (const a of ours) {
        const args = ["addr", "del", `${a.address}/${a.prefix}`, "dev", a.nic];
        const r = await ipCommand(ipPath, p, args, ctx.signal);
        // Gone meanwhile (a concurrent stop) is as good as removed.
        if (r.code !== 0 && !/not found|Cannot assign/i.test(r.stderr)) {
          ctx.log(describeFailure(`ip ${args.join(" ")}`, r));
          return OCF.ERR_GENERIC;
        }
        ctx.log(`IPaddr: removed ${a.address}/${a.prefix} from ${a.nic}`);
      }
      return OCF.OK;
    },

    async monitor(ctx) {
      const ipPath = requireIp(ctx);
      if (!ipPath) return OCF.ERR_INSTALLED;
      const p = ctx.params;
      const run = arpRuns.get(keyOf(ctx));
      if (run?.failure) {
        ctx.log(`IPaddr: the last gratuitous ARP failed: ${run.failure}`);
        run.failure = undefined;
      }
      const addresses = await listAddresses(ctx, ipPath, p.nic);
      if ("error" in addresses) {
        if (addresses.noDevice) {
          ctx.log(`IPaddr: interface ${p.nic} does not exist here`);
          return OCF.NOT_RUNNING;
        }
        ctx.log(addresses.error);
        return OCF.ERR_GENERIC;
      }
      return addresses.some((a) => a.address === p.ip) ? OCF.OK : OCF.NOT_RUNNING;
    },

    async validate(ctx) {
      const ipPath = requireIp(ctx);
      if (!ipPath) return OCF.ERR_INSTALLED;
      const sender = await chooseArpSender(ctx.params.arp_sender, ctx.signal);
      if (sender && "missing" in sender && ctx.params.arp_sender !== "auto") {
        ctx.log(`IPaddr: arp_sender: ${sender.missing}`);
        return OCF.ERR_INSTALLED;
      }
      const target = await resolveTarget(ctx, ipPath);
      if ("rc" in target) return target.rc;
      if (ctx.params.nic !== undefined) {
        const r = await ipCommand(
          ipPath,
          ctx.params,
          ["link", "show", "dev", target.nic],
          ctx.signal,
        );
        if (r.code !== 0) {
          ctx.log(describeFailure(`interface ${target.nic}`, r));
          return OCF.ERR_CONFIGURED;
        }
      }
      return OCF.OK;
    },
  },
  timeouts: { start: 20_000, stop: 20_000, monitor: 20_000 },
});

/** The module's default export, as the plugin contract requires. */
export default IPaddr;
