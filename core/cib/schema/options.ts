/**
 * Cluster-wide options: Pacemaker's `crm_config` properties and the resource
 * defaults (`rsc_defaults`) that Vigil supports, with Vigil's defaults.
 *
 * @module
 */

import { z } from "zod";
import { durationMsSchema, scoreSchema } from "./common.ts";

/** What a partition without quorum does with its resources. */
export const noQuorumPolicySchema = z.enum(["stop", "freeze", "ignore", "demote", "suicide"]);

/** Schema of the cluster options. Every field has a default. */
export const clusterOptionsSchema = z.strictObject({
  /**
   * Fence unclean nodes before recovering their resources. Pacemaker defaults it to
   * true; Vigil defaults it to false until a fence device is configured (imports
   * of Pacemaker CIBs carry Pacemaker's default explicitly).
   */
  stonithEnabled: z.boolean().default(false),
  /** What fencing does to a node: reboot it or power it off. */
  stonithAction: z.enum(["reboot", "off"]).default("reboot"),
  /** What a partition without quorum does with its resources. */
  noQuorumPolicy: noQuorumPolicySchema.default("stop"),
  /** When false, resources run nowhere unless a location constraint allows a node. */
  symmetricCluster: z.boolean().default(true),
  /** Default resource-stickiness: preference for staying where a resource runs. */
  stickiness: scoreSchema.default(100),
  /** Failures after which a resource is banned from a node (0: never). */
  migrationThreshold: z.number().int().min(0).default(3),
  /** How long until a failure is forgotten, in ms (0: never). */
  failureTimeoutMs: durationMsSchema.default(0),
  /** A failed start bans the resource from that node at once. */
  startFailureIsFatal: z.boolean().default(true),
  /** Stop resources that are no longer configured. */
  stopOrphanResources: z.boolean().default(true),
  /** Stop every resource (for maintenance). */
  stopAllResources: z.boolean().default(false),
  /** Leave every resource alone: no starts, stops or monitors. */
  maintenanceMode: z.boolean().default(false),
});

/** The cluster options, defaults applied. */
export type ClusterOptions = z.output<typeof clusterOptionsSchema>;
