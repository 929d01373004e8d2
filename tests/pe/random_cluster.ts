/**
 * fast-check arbitraries shared by the property tests that build random
 * clusters (invariants_test.ts, crm_simulate_diff_test.ts): location,
 * colocation and running-state lists over resource numbers and {@link NODES}.
 * Resource numbers are taken modulo the cluster's resource count by the test.
 *
 * @example
 * ```ts
 * const arb = fc.record({ locations: arbLocations([-10, 10], 5), running: arbRunning(5) });
 * ```
 *
 * @module
 */

import fc from "fast-check";

/** The nodes of every random cluster. */
export const NODES = ["n1", "n2", "n3", "n4"];

/** Up to `maxLength` location preferences: resource `r` on node `n` by one of `scores`. */
export function arbLocations(
  scores: number[],
  maxLength: number,
): fc.Arbitrary<{ r: number; n: string; score: number }[]> {
  return fc.array(
    fc.record({ r: fc.nat(6), n: fc.constantFrom(...NODES), score: fc.constantFrom(...scores) }),
    { maxLength },
  );
}

/** Up to `maxLength` colocations: resource `a` with resource `b` by one of `scores`. */
export function arbColocations(
  scores: number[],
  maxLength: number,
): fc.Arbitrary<{ a: number; b: number; score: number }[]> {
  return fc.array(
    fc.record({ a: fc.nat(6), b: fc.nat(6), score: fc.constantFrom(...scores) }),
    { maxLength },
  );
}

/** Up to `maxLength` (resource, node) pairs: where resources already run. */
export function arbRunning(maxLength: number): fc.Arbitrary<[number, string][]> {
  return fc.array(fc.tuple(fc.nat(6), fc.constantFrom(...NODES)), { maxLength });
}
