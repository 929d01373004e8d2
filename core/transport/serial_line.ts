/**
 * Serial line link (Heartbeat's `serial /dev/ttyS0` with `baud 19200`): frames
 * written to a tty with SLIP framing ({@link encodeSerialFrame}).
 *
 * The device is opened with node:fs and set to raw mode and the spec's speed by
 * `stty` (see {@link sttyArguments}). Reading is a poll loop: `fs.read` on the
 * non-blocking descriptor returns at once (data, or EAGAIN), then the loop sleeps
 * a moment (1 ms doubling to {@link MAX_POLL_MS} while idle, no sleep after
 * data). A blocking read (`fs.createReadStream`) is no good: under both Deno and
 * Bun it parks a thread in `read(2)` that cannot be cancelled, so closing the link
 * hangs the process until a byte arrives; and `tty.ReadStream` on the descriptor
 * fails under Bun (EAGAIN) while `net.Socket` rejects a tty under Deno.
 *
 * Writes go through a child process, `dd` writing to the device (see
 * {@link writerArguments}), fed from a bounded queue ({@link MAX_QUEUED_BYTES})
 * through its stdin pipe, one frame in flight at a time. Writing to the tty from this process does not work under Deno: on a
 * non-blocking descriptor its `fs.write` loops until all is written and, when the
 * tty buffer fills part-way (EAGAIN), throws away the count of bytes it did
 * write, so the caller cannot know where to resume; on a blocking descriptor its
 * "async" `fs.write` blocks the event loop until the line drains. A pipe to a
 * child is asynchronous with backpressure in both Deno and Bun, and `dd`
 * finishes partial writes itself.
 *
 * After a read or write error (device unplugged, EIO) the link closes the device
 * and reopens it with a back-off of 100 ms doubling to {@link MAX_REOPEN_DELAY_MS},
 * until it is closed; frames queued then, and sends while it is down, are
 * counted as send errors.
 *
 * @example
 * ```ts
 * const link = await openSerialLine(
 *   { type: "serial", name: "ttyS0", device: "/dev/ttyS0", baud: 19200 },
 *   { onFrame: (bytes, device) => {}, onError: console.warn },
 * );
 * link.send(frame);
 * ```
 * @module
 */

import { type ChildProcess, execFile, spawn } from "node:child_process";
import { closeSync, constants, existsSync, openSync, read, statSync } from "node:fs";
import { MAX_FRAME_BYTES } from "../wire/frame.ts";
import { encodeSerialFrame, SerialFrameDecoder } from "../wire/serial_framing.ts";
import {
  describeError,
  emptyCounters,
  errorLimiter,
  type LinkCounters,
  type LinkSpec,
  sendable,
  SERIAL_BAUD_RATES,
  type Transport,
  type TransportHandlers,
} from "../messaging/transport.ts";

/** The spec of a serial link. */
export type SerialSpec = Extract<LinkSpec, { type: "serial" }>;

/** Options of {@link openSerialLine}. */
export interface SerialLineOptions {
  /** Clock for rate-limiting error reports (default `performance.now`). */
  now?: () => number;
  /** First delay before reopening after an error (default 100 ms). */
  reopenDelayMs?: number;
}

/** Longest sleep of the read loop while the line is idle. */
export const MAX_POLL_MS = 10;
/** Longest delay between two attempts to reopen the device. */
export const MAX_REOPEN_DELAY_MS = 5000;
/** Most encoded bytes waiting to be written; beyond that frames are dropped. */
export const MAX_QUEUED_BYTES = 4 * (2 * MAX_FRAME_BYTES + 2);
/** How long `close()` waits for an in-flight read to return. */
const CLOSE_WAIT_MS = 2000;
/** How long the writer may take to exit after its stdin is closed, before it is killed. */
const WRITER_EXIT_MS = 500;
const READ_CHUNK_BYTES = 4096;
const STTY_TIMEOUT_MS = 5000;

/**
 * The `stty` arguments that make `device` a raw 8N1 line at `baud`: no echo, no
 * flow control, no character translation, modem control lines ignored; a read
 * returns as soon as one byte is there (`min 1 time 0`).
 */
export function sttyArguments(device: string, baud: number): string[] {
  return [
    "-F",
    device,
    String(baud),
    "raw",
    "-echo",
    "-echoe",
    "-echok",
    "-echoctl",
    "-echoke",
    "-echonl",
    "-iexten",
    "-ixon",
    "-ixoff",
    "-icrnl",
    "-opost",
    "cs8",
    "-parenb",
    "-cstopb",
    "clocal",
    "cread",
    "-crtscts",
    "min",
    "1",
    "time",
    "0",
  ];
}

/** Runs stty on the device; rejects with its message. */
function configureLine(device: string, baud: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      "stty",
      sttyArguments(device, baud),
      { timeout: STTY_TIMEOUT_MS },
      (error, _stdout, stderr) => {
        if (!error) return resolve();
        const text = String(stderr).trim() || describeError(error);
        reject(new Error(`cannot set ${device} to raw ${baud} baud: ${text}`, { cause: error }));
      },
    );
  });
}

/** An open device: a descriptor to read and a child process that writes. */
interface Device {
  /** Non-blocking descriptor, for the read poll loop. */
  readFd: number;
  /** `dd` writing its stdin to the device. */
  writer: ChildProcess;
}

/**
 * Opens the device for reading, non-blocking and not as controlling terminal
 * (which also keeps a modem line without carrier from blocking the open).
 */
function openForReading(device: string): number {
  if (!existsSync(device)) throw new Error(`device ${device} does not exist`);
  if (!statSync(device).isCharacterDevice()) {
    throw new Error(`${device} is not a character device (a tty)`);
  }
  try {
    return openSync(device, constants.O_RDONLY | constants.O_NOCTTY | constants.O_NONBLOCK);
  } catch (e) {
    throw new Error(`cannot open ${device}: ${describeError(e)}`, { cause: e });
  }
}

/**
 * The writer's command line: `dd` copies each chunk it reads from its stdin to the
 * device as one write (`bs`, no aggregation of short reads, so no added latency),
 * finishes partial writes itself, and never creates a regular file in place of a
 * device that went away (`nocreat`).
 */
export function writerArguments(device: string): string[] {
  return [`of=${device}`, "bs=4096", "conv=notrunc,nocreat", "oflag=noctty", "status=none"];
}

/** Starts the writer child; resolves once it runs. */
function startWriter(device: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn("dd", writerArguments(device), { stdio: ["pipe", "ignore", "pipe"] });
    child.once("error", (e) => reject(new Error(`cannot start the writer: ${describeError(e)}`)));
    child.once("spawn", () => resolve(child));
  });
}

/** Opens the device, sets the line up with stty, starts the writer. */
async function openDevice(device: string, baud: number): Promise<Device> {
  const readFd = openForReading(device);
  try {
    await configureLine(device, baud);
    return { readFd, writer: await startWriter(device) };
  } catch (e) {
    closeQuietly(readFd);
    throw e;
  }
}

/** Closes a descriptor, ignoring errors (the device may be gone). */
function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already gone (device removed); nothing left to release.
  }
}

/** Closes the writer's stdin and waits a moment for it to exit, then kills it (by its PID). */
async function stopWriter(writer: ChildProcess): Promise<void> {
  if (writer.exitCode !== null || writer.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => writer.once("exit", () => resolve()));
  writer.stdin?.destroy();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), WRITER_EXIT_MS);
  });
  if (await Promise.race([exited, late]) === "late") {
    writer.kill("SIGKILL");
    await exited;
  }
  clearTimeout(timer);
}

function isWouldBlock(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return code === "EAGAIN" || code === "EWOULDBLOCK";
}

/** One frame waiting to be written. */
interface QueuedWrite {
  /** Encoded bytes. */
  data: Uint8Array;
  /** Length of the frame before encoding (for the counters). */
  frameBytes: number;
}

/** An open serial link; made by {@link openSerialLine}. */
class SerialLineTransport implements Transport {
  readonly spec: SerialSpec;
  readonly #handlers: TransportHandlers;
  readonly #report: (message: string) => void;
  readonly #counters = emptyCounters();
  readonly #readBuffer = new Uint8Array(READ_CHUNK_BYTES);
  readonly #queue: QueuedWrite[] = [];
  readonly #firstReopenDelayMs: number;
  #queuedBytes = 0;
  #decoder = new SerialFrameDecoder();
  /** Framing errors of decoders replaced on reopen. */
  #pastFramingErrors = 0;
  #device: Device | undefined;
  /** A read descriptor given up after an error, closed once no read is in flight on it. */
  #retiredFd: number | undefined;
  #reading = false;
  /** The device a write is in flight on (a failed device's write may never call back). */
  #writingOn: Device | undefined;
  #pollDelayMs = 1;
  #reopenDelayMs: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(spec: SerialSpec, handlers: TransportHandlers, options: SerialLineOptions) {
    this.spec = spec;
    this.#handlers = handlers;
    this.#report = errorLimiter(
      spec.name,
      (m) => handlers.onError(m),
      options.now ?? (() => performance.now()),
    );
    this.#firstReopenDelayMs = options.reopenDelayMs ?? 100;
    this.#reopenDelayMs = this.#firstReopenDelayMs;
  }

  /** Opens and configures the device, starts the writer, then starts reading. */
  async open(): Promise<void> {
    const device = await openDevice(this.spec.device, this.spec.baud);
    if (this.#closed) {
      closeQuietly(device.readFd);
      await stopWriter(device.writer);
      return;
    }
    let stderr = "";
    device.writer.stderr?.on("data", (chunk: Uint8Array) => {
      if (stderr.length < 1000) stderr += new TextDecoder().decode(chunk);
    });
    const lost = (why: string) => {
      if (!this.#closed && this.#device === device) this.#fail(why);
    };
    device.writer.once("exit", (code, signal) => {
      // Let stderr's last chunk arrive before describing the exit.
      setTimeout(() => lost(`writer exited (${signal ?? `code ${code}`}): ${stderr.trim()}`), 20);
    });
    device.writer.stdin?.on("error", (e: Error) => lost(`write failed: ${describeError(e)}`));
    this.#device = device;
    this.#reopenDelayMs = this.#firstReopenDelayMs;
    this.#poll();
    this.#pump();
  }

  send(bytes: Uint8Array): void {
    const closed = this.#closed || this.#device === undefined;
    if (!sendable(closed, this.#counters, this.#report, bytes)) return;
    const data = encodeSerialFrame(bytes);
    if (this.#queuedBytes + data.length > MAX_QUEUED_BYTES) {
      this.#counters.sendErrors++;
      this.#report(`write queue full (${this.#queuedBytes} bytes): frame dropped`);
      return;
    }
    this.#queue.push({ data, frameBytes: bytes.length });
    this.#queuedBytes += data.length;
    this.#pump();
  }

  counters(): LinkCounters {
    return {
      ...this.#counters,
      framingErrors: this.#pastFramingErrors + this.#decoder.framingErrors,
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    // A read returns at once (non-blocking); closing the descriptor under it could
    // let a reused descriptor number receive its bytes.
    const deadline = performance.now() + CLOSE_WAIT_MS;
    while (this.#reading && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 2));
    }
    this.#dropQueue();
    const device = this.#device;
    this.#device = undefined;
    if (this.#retiredFd !== undefined) closeQuietly(this.#retiredFd);
    this.#retiredFd = undefined;
    if (device) {
      closeQuietly(device.readFd);
      await stopWriter(device.writer);
    }
  }

  /** One non-blocking read, then the next one scheduled. */
  #poll(): void {
    const device = this.#device;
    if (this.#closed || device === undefined || this.#reading) return;
    this.#reading = true;
    read(device.readFd, this.#readBuffer, 0, this.#readBuffer.length, null, (error, n) => {
      this.#reading = false;
      this.#closeRetiredWhenIdle();
      if (this.#closed) return;
      // A reply on a device given up meanwhile: start reading the new one, if any.
      if (device !== this.#device) return this.#poll();
      if (error && !isWouldBlock(error)) return this.#fail(`read failed: ${describeError(error)}`);
      // With `min 1` a read of 0 bytes means end of file: the tty hung up (the other
      // side of a pty closed, a USB adapter went away).
      if (n === 0 && !error) return this.#fail("line hung up (end of file)");
      if (error) {
        this.#schedulePoll(this.#pollDelayMs);
        this.#pollDelayMs = Math.min(MAX_POLL_MS, this.#pollDelayMs * 2);
        return;
      }
      this.#pollDelayMs = 1;
      const frames = this.#decoder.push(this.#readBuffer.subarray(0, n));
      for (const frame of frames) {
        this.#counters.packetsIn++;
        this.#counters.bytesIn += frame.length;
        try {
          this.#handlers.onFrame(frame, this.spec.device);
        } catch (e) {
          this.#report(`frame handler failed: ${describeError(e)}`);
        }
      }
      this.#schedulePoll(0);
    });
  }

  #schedulePoll(delayMs: number): void {
    this.#timer = setTimeout(() => this.#poll(), delayMs);
  }

  /** Hands the head of the queue to the writer; continues until the queue is empty. */
  #pump(): void {
    const device = this.#device;
    const head = this.#queue[0];
    const stdin = device?.writer.stdin;
    if (this.#closed || !device || !stdin || this.#writingOn === device || !head) return;
    this.#writingOn = device;
    stdin.write(head.data, (error) => {
      if (this.#writingOn === device) this.#writingOn = undefined;
      // A device given up meanwhile: its queue was dropped, the new one pumps itself.
      if (this.#closed || device !== this.#device) return;
      if (error) return this.#fail(`write failed: ${describeError(error)}`);
      this.#queue.shift();
      this.#queuedBytes -= head.data.length;
      this.#counters.packetsOut++;
      this.#counters.bytesOut += head.frameBytes;
      this.#pump();
    });
  }

  /** Gives the device up after an error and schedules reopening it. */
  #fail(message: string): void {
    this.#report(`${message}; reopening ${this.spec.device} in ${this.#reopenDelayMs} ms`);
    clearTimeout(this.#timer);
    this.#dropQueue();
    const device = this.#device;
    this.#device = undefined;
    if (device) {
      // A read may still be in flight: its descriptor is closed when it returns, never
      // under it (the number could be reused by the reopen).
      this.#retiredFd = device.readFd;
      this.#closeRetiredWhenIdle();
      stopWriter(device.writer).catch(() => {});
    }
    this.#pastFramingErrors += this.#decoder.framingErrors;
    this.#decoder = new SerialFrameDecoder();
    this.#scheduleReopen();
  }

  #scheduleReopen(): void {
    const delay = this.#reopenDelayMs;
    this.#reopenDelayMs = Math.min(MAX_REOPEN_DELAY_MS, delay * 2);
    this.#timer = setTimeout(() => {
      if (this.#closed) return;
      this.open().catch((e) => {
        this.#report(`${describeError(e)}; retrying in ${this.#reopenDelayMs} ms`);
        this.#scheduleReopen();
      });
    }, delay);
  }

  #dropQueue(): void {
    this.#counters.sendErrors += this.#queue.length;
    this.#queue.length = 0;
    this.#queuedBytes = 0;
  }

  #closeRetiredWhenIdle(): void {
    if (this.#retiredFd === undefined || this.#reading) return;
    closeQuietly(this.#retiredFd);
    this.#retiredFd = undefined;
  }
}

/**
 * Opens a serial link: checks the baud rate, opens the device and sets it raw.
 *
 * @throws Error (a rejection) when the baud rate is not standard, the device is
 *   missing or not a tty, it cannot be opened, or stty fails.
 */
export async function openSerialLine(
  spec: SerialSpec,
  handlers: TransportHandlers,
  options: SerialLineOptions = {},
): Promise<Transport> {
  if (!SERIAL_BAUD_RATES.includes(spec.baud)) {
    throw new Error(
      `baud rate ${spec.baud} is not one of ${SERIAL_BAUD_RATES.join(", ")}`,
    );
  }
  const transport = new SerialLineTransport(spec, handlers, options);
  await transport.open();
  return transport;
}
