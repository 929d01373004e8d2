/**
 * Internal invariant checks of the reliable channel. A failure is a bug in the channel, never
 * bad input from the network (that is dropped and counted instead).
 *
 * @module
 */

/** Throws an Error naming the broken invariant when `condition` is false. */
export function assertInvariant(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`ReliableChannel invariant broken: ${message}`);
}
