/**
 * Bounded operation output: keeps the most recent lines an agent logged within a byte
 * budget, so an agent that prints megabytes costs at most the budget in memory while the
 * end of its output (usually where the error is) survives.
 *
 * @example
 * ```ts
 * const tail = new OutputTail(16);
 * for (const line of ["one", "two", "three", "four"]) tail.push(line);
 * tail.text(); // "[output truncated]\nfour" (the mark and the newest lines that fit)
 * ```
 * @module
 */

/** The line that starts a truncated output. */
export const TRUNCATED_MARK = "[output truncated]";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** UTF-8 length of `s` in bytes (counted without encoding: this runs once per output line). */
export function byteLength(s: string): number {
  let bytes = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const next = s.charCodeAt(i + 1);
      // A surrogate pair: 2 units, 4 bytes.
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 2;
        i++;
      } else bytes += 2;
    } else bytes += 2; // 3 bytes (a lone surrogate encodes as U+FFFD, also 3)
  }
  return bytes;
}

/** The last at most `maxBytes` UTF-8 bytes of `s`, without a broken leading character. */
export function tailBytes(s: string, maxBytes: number): string {
  // A UTF-16 unit is at most 3 UTF-8 bytes: short strings need no encoding at all.
  if (s.length * 3 <= maxBytes) return s;
  const bytes = encoder.encode(s);
  if (bytes.length <= maxBytes) return s;
  let start = bytes.length - Math.max(0, maxBytes);
  // Skip UTF-8 continuation bytes so decoding starts on a character boundary.
  while (start < bytes.length && (bytes[start] & 0xc0) === 0x80) start++;
  return decoder.decode(bytes.subarray(start));
}

/**
 * {@link tailBytes} for whole texts: `s` unchanged when it fits, else
 * {@link TRUNCATED_MARK}, a newline and the tail, within `maxBytes` in all.
 */
export function boundedTail(s: string, maxBytes: number): string {
  if (s.length * 3 <= maxBytes || byteLength(s) <= maxBytes) return s;
  const room = maxBytes - byteLength(TRUNCATED_MARK) - 1;
  return room > 0 ? `${TRUNCATED_MARK}\n${tailBytes(s, room)}` : tailBytes(s, maxBytes);
}

/** Keeps the most recent lines of output within a byte bound (see the module doc). */
export class OutputTail {
  readonly #maxBytes: number;
  #lines: string[] = [];
  #sizes: number[] = []; // UTF-8 bytes of each line in #lines
  #head = 0; // index of the oldest kept line in #lines (shifting an array is O(n))
  #bytes = 0; // bytes of the kept lines joined with "\n"
  #truncated = false;
  #closed = false;

  /** @param maxBytes bound of {@link text} in UTF-8 bytes (at least 64) */
  constructor(maxBytes: number) {
    if (!Number.isInteger(maxBytes) || maxBytes < 64) {
      throw new RangeError(`maxBytes must be an integer >= 64, got ${maxBytes}`);
    }
    this.#maxBytes = maxBytes;
  }

  /** Appends one line (dropping the oldest lines when over the bound). */
  push(line: string): void {
    if (this.#closed) return;
    // One line alone may not exceed the bound: keep its tail only.
    if (line.length * 3 > this.#maxBytes) line = tailBytes(line, this.#maxBytes);
    const kept = this.#lines.length - this.#head;
    const size = byteLength(line);
    this.#lines.push(line);
    this.#sizes.push(size);
    this.#bytes += size + (kept > 0 ? 1 : 0);
    if (this.#bytes > this.#maxBytes) this.#truncated = true;
    if (!this.#truncated) return;
    // Once truncated, leave room for the mark line so the whole text stays within bound.
    const budget = this.#maxBytes - byteLength(TRUNCATED_MARK) - 1;
    while (this.#bytes > budget && this.#lines.length - this.#head > 1) {
      this.#bytes -= this.#sizes[this.#head] + 1;
      this.#head++;
    }
    if (this.#bytes > budget) {
      const last = tailBytes(this.#lines[this.#head], budget);
      this.#lines[this.#head] = last;
      this.#sizes[this.#head] = this.#bytes = byteLength(last);
    }
    // Compact now and then so dropped lines are freed.
    if (this.#head > 1024 && this.#head * 2 > this.#lines.length) {
      this.#lines = this.#lines.slice(this.#head);
      this.#sizes = this.#sizes.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Ignores lines logged from now on (e.g. by an agent still running after its timeout). */
  close(): void {
    this.#closed = true;
  }

  /** Whether lines were dropped. */
  get truncated(): boolean {
    return this.#truncated;
  }

  /** The kept lines joined by newlines, after {@link TRUNCATED_MARK} if lines were dropped. */
  text(): string {
    const body = this.#lines.slice(this.#head).join("\n");
    return this.#truncated ? `${TRUNCATED_MARK}\n${body}` : body;
  }
}
