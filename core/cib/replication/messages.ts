/**
 * Messages of CIB replication between the replicas of one cluster, and a zod
 * schema for them (the edge check for bodies decoded from the network).
 *
 * Every message carries `gen`, the membership generation its sender was in when
 * it sent it; a replica drops messages of any other generation (except
 * `cib-result`, a final statement about one request that is true in any
 * generation). The node's reliable channel carries them in order per peer.
 *
 * | message        | from -> to      | meaning                                              |
 * | -------------- | --------------- | ---------------------------------------------------- |
 * | `cib-report`   | member -> DC    | my copy's stamp (and what I persisted), on a new view |
 * | `cib-sync-req` | DC -> member    | send your report again (retry)                        |
 * | `cib-fetch`    | DC -> member    | send me your copy (it is the newest)                  |
 * | `cib-copy`     | member -> DC    | my whole copy, answering `cib-fetch`                  |
 * | `cib-doc`      | DC -> member    | take this copy (a new write, or the synced one)       |
 * | `cib-ack`      | member -> DC    | I persisted the copy with this stamp                  |
 * | `cib-update`   | origin -> DC    | a client's configuration change, to order and apply   |
 * | `cib-status`   | node -> DC      | a status update (operation result), no reply          |
 * | `cib-result`   | DC -> origin    | the outcome of a `cib-update`                         |
 *
 * @example
 * ```ts
 * const schema = replicationMessageSchema(cibDocumentSchema, patchSchema, statusPatchSchema);
 * const parsed = schema.safeParse(body);
 * if (parsed.success) replica.step({ type: "message", now, from, message: parsed.data });
 * ```
 * @module
 */

import { z } from "zod";
import type { CibVersion } from "../version.ts";
import type { CibStamp } from "./stamp.ts";

/** A copy of the CIB as a replica holds and persists it: the document and its term. */
export interface ReplicaCopy<D> {
  /** Membership generation of the quorate DC that last wrote the configuration. */
  term: number;
  /** The document (its `version` is the Pacemaker triple). */
  doc: D;
}

/** The outcome of a configuration change, as the DC tells the origin. */
export type RequestOutcome =
  /** Persisted by a majority of the configured nodes: it will not be lost. */
  | { ok: true; version: CibVersion; stamp: CibStamp }
  /**
   * Not acknowledged. `refused`: it was never applied and never will be.
   * `unknown`: it may or may not have been applied (the client may check and retry).
   */
  | { ok: false; outcome: "refused" | "unknown"; error: string };

/** A message of CIB replication (D: document, P: config patch, S: status patch). */
export type ReplicationMessage<D, P, S> =
  | { type: "cib-report"; gen: number; stamp: CibStamp; persisted: CibStamp }
  | { type: "cib-sync-req"; gen: number }
  | { type: "cib-fetch"; gen: number }
  | { type: "cib-copy"; gen: number; copy: ReplicaCopy<D> }
  | { type: "cib-doc"; gen: number; copy: ReplicaCopy<D> }
  | { type: "cib-ack"; gen: number; stamp: CibStamp }
  | { type: "cib-update"; gen: number; requestId: string; patch: P }
  | { type: "cib-status"; gen: number; patch: S }
  | { type: "cib-result"; gen: number; requestId: string; result: RequestOutcome };

/** Longest request id accepted. */
export const MAX_REQUEST_ID = 200;

const gen = z.number().int().min(0);
const versionSchema = z.strictObject({
  adminEpoch: z.number().int().min(0),
  epoch: z.number().int().min(0),
  numUpdates: z.number().int().min(0),
});

/** Schema of a stamp. */
export const cibStampSchema: z.ZodType<CibStamp> = z.strictObject({
  term: gen,
  version: versionSchema,
  digest: z.string().min(1).max(128),
});

const requestOutcomeSchema: z.ZodType<RequestOutcome> = z.union([
  z.strictObject({ ok: z.literal(true), version: versionSchema, stamp: cibStampSchema }),
  z.strictObject({
    ok: z.literal(false),
    outcome: z.enum(["refused", "unknown"]),
    error: z.string().max(2000),
  }),
]);

/**
 * The schema of replication messages, given the schemas of the document, of a
 * configuration patch and of a status patch (the node uses `cibDocumentSchema`).
 */
export function replicationMessageSchema<D, P, S>(
  docSchema: z.ZodType<D>,
  patchSchema: z.ZodType<P>,
  statusSchema: z.ZodType<S>,
): z.ZodType<ReplicationMessage<D, P, S>> {
  const copy = z.strictObject({ term: gen, doc: docSchema });
  return z.discriminatedUnion("type", [
    z.strictObject({
      type: z.literal("cib-report"),
      gen,
      stamp: cibStampSchema,
      persisted: cibStampSchema,
    }),
    z.strictObject({ type: z.literal("cib-sync-req"), gen }),
    z.strictObject({ type: z.literal("cib-fetch"), gen }),
    z.strictObject({ type: z.literal("cib-copy"), gen, copy }),
    z.strictObject({ type: z.literal("cib-doc"), gen, copy }),
    z.strictObject({ type: z.literal("cib-ack"), gen, stamp: cibStampSchema }),
    z.strictObject({
      type: z.literal("cib-update"),
      gen,
      requestId: z.string().min(1).max(MAX_REQUEST_ID),
      patch: patchSchema,
    }),
    z.strictObject({ type: z.literal("cib-status"), gen, patch: statusSchema }),
    z.strictObject({
      type: z.literal("cib-result"),
      gen,
      requestId: z.string().min(1).max(MAX_REQUEST_ID),
      result: requestOutcomeSchema,
    }),
  ]) as unknown as z.ZodType<ReplicationMessage<D, P, S>>;
}
