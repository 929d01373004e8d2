/**
 * Links: how Vigil frames travel between nodes.
 *
 * A node sends every frame on every link it has (UDP unicast, broadcast,
 * multicast, serial line); receivers deduplicate. A {@link Transport} is one open
 * link: it sends opaque frame bytes and hands received ones to its
 * {@link TransportHandlers}. Transports never look inside frames; the wire layer
 * authenticates them.
 *
 * This module holds the types, the schema that validates a {@link LinkSpec} at
 * the edge (config files), and small pure helpers shared by the transports.
 *
 * @example
 * ```ts
 * const spec = linkSpecSchema.parse({
 *   type: "ucast", name: "net0", bind: "10.0.0.1:694", peers: ["10.0.0.2:694"],
 * });
 * const t = await openTransport(spec, { onFrame: (b, from) => {}, onError: console.warn });
 * t.send(frameBytes);
 * ```
 * @module
 */

import { z } from "zod";
import { MAX_FRAME_BYTES } from "../wire/frame.ts";

/** Configuration of one link. */
export type LinkSpec =
  | {
    type: "ucast";
    name: string;
    /** "ADDR:PORT" to listen on. */
    bind: string;
    /** "ADDR:PORT" of every peer (this node's own address may be among them: it is skipped). */
    peers: string[];
  }
  | {
    type: "bcast";
    name: string;
    /** Interface name (`eth0`) or one of its IPv4 addresses. */
    interface: string;
    port: number;
  }
  | {
    type: "mcast";
    name: string;
    /** Interface name (`eth0`) or one of its IPv4 addresses. */
    interface: string;
    /** IPv4 multicast group, 224.0.0.0/4. */
    group: string;
    port: number;
    /** Multicast TTL, 0..255. */
    ttl: number;
    /** Whether this host's own sockets receive its multicasts (IP_MULTICAST_LOOP). */
    loop: boolean;
  }
  | {
    type: "serial";
    name: string;
    /** Path of the tty device, e.g. `/dev/ttyS0`. */
    device: string;
    /** Line speed, one of {@link SERIAL_BAUD_RATES}. */
    baud: number;
  };

/** Traffic counters of one link. Bytes are frame bytes (before serial framing). */
export interface LinkCounters {
  /** Frames received and handed to `onFrame`. */
  packetsIn: number;
  /** Frames sent (for serial: fully written to the device). */
  packetsOut: number;
  /** Bytes of the frames counted in `packetsIn`. */
  bytesIn: number;
  /** Bytes of the frames counted in `packetsOut`. */
  bytesOut: number;
  /** Frames that could not be sent: socket errors, oversized frames, full queues, closed link. */
  sendErrors: number;
  /** Received data dropped before `onFrame`: empty or oversized datagrams, bad serial framing. */
  framingErrors: number;
}

/** What a transport calls back into. */
export interface TransportHandlers {
  /** One received frame's bytes; `source` identifies where it came from on this link ("ADDR:PORT" for UDP, the device for serial). */
  onFrame(bytes: Uint8Array, source: string): void;
  /** A non-fatal error worth a log line (rate-limit it: at most one per second per link). */
  onError(message: string): void;
}

/** One open link. */
export interface Transport {
  /** The spec it was opened with. */
  readonly spec: LinkSpec;
  /** Sends one frame. `to` is a source address previously seen on this link for the peer; when given, a unicast link sends only there; otherwise to every configured peer. Broadcast, multicast and serial links ignore `to`. Never throws; errors are counted. */
  send(bytes: Uint8Array, to?: string): void;
  /** A snapshot of the link's counters. */
  counters(): LinkCounters;
  /** Closes the link's sockets or device; later sends count as send errors. Idempotent. */
  close(): Promise<void>;
}

/** Opens a link; rejects with an Error naming the link and the cause. */
export type OpenTransport = (spec: LinkSpec, handlers: TransportHandlers) => Promise<Transport>;

/** Serial line speeds accepted by a serial link. */
export const SERIAL_BAUD_RATES: readonly number[] = [
  9600,
  19200,
  38400,
  57600,
  115200,
  230400,
  460800,
];

/** A link that sees no error for this long may report the next one at once. */
export const ERROR_INTERVAL_MS = 1000;

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Whether `text` is a dotted-quad IPv4 address (no leading zeros). */
export function isIPv4(text: string): boolean {
  return IPV4.test(text);
}

/** An IPv4 address as an unsigned 32-bit integer. Throws unless {@link isIPv4}. */
export function ipv4ToInt(text: string): number {
  if (!isIPv4(text)) throw new Error(`not an IPv4 address: ${JSON.stringify(text)}`);
  return text.split(".").reduce((acc, part) => acc * 256 + Number(part), 0);
}

/** An unsigned 32-bit integer as a dotted-quad IPv4 address. */
export function intToIPv4(value: number): string {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new Error(`not a 32-bit address: ${value}`);
  }
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

/** Whether `text` is an IPv4 multicast address (224.0.0.0/4). */
export function isMulticastIPv4(text: string): boolean {
  return isIPv4(text) && Math.floor(ipv4ToInt(text) / 2 ** 28) === 0xe;
}

/** An IPv4 address and UDP port. */
export interface HostPort {
  /** Dotted-quad IPv4 address. */
  address: string;
  /** UDP port, 0..65535. */
  port: number;
}

/**
 * Parses "ADDR:PORT" with a dotted-quad IPv4 address and a port 1..65535.
 *
 * @throws Error saying what is wrong with `text`.
 */
export function parseHostPort(text: string): HostPort {
  const i = text.lastIndexOf(":");
  const address = i < 0 ? text : text.slice(0, i);
  const portText = i < 0 ? "" : text.slice(i + 1);
  if (!isIPv4(address)) {
    throw new Error(`${JSON.stringify(text)} is not ADDR:PORT with an IPv4 address`);
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
    throw new Error(`${JSON.stringify(text)} is not ADDR:PORT with a port 1..65535`);
  }
  return { address, port: Number(portText) };
}

/** Formats an address and port as "ADDR:PORT". */
export function formatHostPort(address: string, port: number): string {
  return `${address}:${port}`;
}

const hostPortSchema = z.string().refine((text) => {
  try {
    parseHostPort(text);
    return true;
  } catch {
    return false;
  }
}, { message: 'expected "ADDR:PORT" with an IPv4 address and a port 1..65535' });

const nameSchema = z.string().min(1).max(64);
const portSchema = z.number().int().min(1).max(65535);
const interfaceSchema = z.string().min(1).max(64);

/** Validates a {@link LinkSpec} from untrusted input; errors name the field. */
export const linkSpecSchema: z.ZodType<LinkSpec> = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("ucast"),
    name: nameSchema,
    bind: hostPortSchema,
    peers: z.array(hostPortSchema).min(1).max(256),
  }),
  z.strictObject({
    type: z.literal("bcast"),
    name: nameSchema,
    interface: interfaceSchema,
    port: portSchema,
  }),
  z.strictObject({
    type: z.literal("mcast"),
    name: nameSchema,
    interface: interfaceSchema,
    group: z.string().refine(isMulticastIPv4, {
      message: "expected an IPv4 multicast group (224.0.0.0 to 239.255.255.255)",
    }),
    port: portSchema,
    ttl: z.number().int().min(0).max(255),
    loop: z.boolean(),
  }),
  z.strictObject({
    type: z.literal("serial"),
    name: nameSchema,
    device: z.string().min(1).max(4096),
    baud: z.number().refine((b) => SERIAL_BAUD_RATES.includes(b), {
      message: `expected a baud rate among ${SERIAL_BAUD_RATES.join(", ")}`,
    }),
  }),
]);

/**
 * Whether a link may send `bytes` now; counts a send error (and reports an
 * oversized or empty frame) when it may not. Every transport's `send` starts here.
 */
export function sendable(
  closed: boolean,
  counters: LinkCounters,
  report: (message: string) => void,
  bytes: Uint8Array,
): boolean {
  if (closed) {
    counters.sendErrors++;
    return false;
  }
  if (bytes.length === 0 || bytes.length > MAX_FRAME_BYTES) {
    counters.sendErrors++;
    report(`not sending a frame of ${bytes.length} bytes (1..${MAX_FRAME_BYTES})`);
    return false;
  }
  return true;
}

/** Fresh all-zero counters. */
export function emptyCounters(): LinkCounters {
  return {
    packetsIn: 0,
    packetsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    sendErrors: 0,
    framingErrors: 0,
  };
}

/**
 * Rate-limits error reports: at most one per `intervalMs`; the next report after
 * a quiet spell says how many were suppressed.
 *
 * @example
 * ```ts
 * const report = errorLimiter("net0", console.warn, () => performance.now());
 * report("send to 10.0.0.2:694 failed: ECONNREFUSED");
 * ```
 * @param link the link's name, prefixed to every message.
 * @param onError where reports go.
 * @param now the clock in milliseconds (injected; the shells pass `performance.now`).
 * @param intervalMs the minimum spacing of reports.
 * @returns a function that reports or suppresses one error message.
 */
export function errorLimiter(
  link: string,
  onError: (message: string) => void,
  now: () => number,
  intervalMs: number = ERROR_INTERVAL_MS,
): (message: string) => void {
  let last = -Infinity;
  let suppressed = 0;
  return (message) => {
    const t = now();
    if (t - last < intervalMs) {
      suppressed++;
      return;
    }
    last = t;
    const note = suppressed > 0 ? ` (${suppressed} more suppressed)` : "";
    suppressed = 0;
    try {
      onError(`link ${link}: ${message}${note}`);
    } catch {
      // A throwing logger must not break the transport's I/O callbacks.
    }
  };
}

/** A short description of an error thrown by a node: API, preferring its code. */
export function describeError(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return typeof code === "string" && !e.message.includes(code)
      ? `${e.message} (${code})`
      : e.message;
  }
  return String(e);
}
