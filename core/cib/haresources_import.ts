/**
 * Heartbeat v1 `haresources` (with ha.cf's node list and `auto_failback`) in:
 * {@link importHaresources} turns each line `NODE RESOURCE...` into a group of
 * those resources (a single primitive when the line has one resource) that
 * prefers NODE, as Heartbeat runs it; {@link importHeartbeatDir} reads
 * `DIR/haresources` and `DIR/ha.cf`.
 *
 * Decisions:
 * - Agents: `IPaddr`, `IPaddr2` and `Filesystem` become the OCF agents with named
 *   parameters, as Pacemaker's haresources2cib.py did:
 *   `IPaddr::10.0.0.1/24/eth0/10.0.0.255` is `ocf:heartbeat:IPaddr` with
 *   `{ ip, cidr_netmask, nic, broadcast }` (the parts present), and
 *   `Filesystem::/dev/sdb1::/ha::ext3::opts` is `ocf:heartbeat:Filesystem` with
 *   `{ device, directory, fstype, options }`. Every other word is the resource.d
 *   (or init.d) script `heartbeat:NAME` with params `{ args: "A::B" }` (the
 *   positional arguments in haresources form), or `{}` without arguments. A
 *   word that starts like an IPv4 address is `IPaddr::WORD`, as in Heartbeat.
 * - Placement: a location constraint `NODE` score 100 (haresources2cib.py's
 *   preference). `auto_failback on` is stickiness 0 (resources move back when
 *   NODE returns); `off` is stickiness INFINITY (1,000,000: they stay where they
 *   run, and still fail over when that node dies); `legacy` is treated as `on`
 *   (Heartbeat's old behaviour) and reported.
 * - Ids: primitives `TYPE_FIRSTARG` (for IPaddr the address alone) with anything
 *   but letters, digits, `_` and `-` made `_` (`IPaddr_10_0_0_1`); groups `group_N` (N counts lines with more
 *   than one resource, from 1); clashes get `_2`, `_3`. Constraint ids are
 *   `location_ID`.
 * - No operations are configured: Heartbeat v1 does not monitor resources.
 * - Options other than stickiness keep Vigil's defaults; Heartbeat v1 has no
 *   quorum (it runs resources in any partition) while Vigil stops them in a
 *   partition without quorum: reported, not changed.
 *
 * Syntax (Heartbeat's): `#` starts a comment, a trailing `\` continues the line,
 * words are separated by blanks; node names are compared in lower case.
 *
 * @example
 * ```ts
 * const { cib } = importHaresources(
 *   "node1 IPaddr::10.0.0.1/24/eth0 Filesystem::/dev/sdb1::/ha::ext3 httpd\n",
 *   { nodes: ["node1", "node2"], autoFailback: "on" },
 *   "/etc/ha.d/haresources",
 * );
 * cib.config.resources[0]; // group_1: IPaddr_10_0_0_1, Filesystem__dev_sdb1, httpd
 * ```
 * @module
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { formatPath } from "./cib.ts";
import { type CibDocument, cibDocumentSchema } from "./schema/document.ts";
import { CibImportError, type UnsupportedItem } from "./import_report.ts";
import { INFINITY } from "../score.ts";
import { type AutoFailback, readHaCf } from "../config/ha_cf.ts";
import { parseHaresourcesResource } from "../../ra/resource_d_adapter.ts";

/** What {@link importHaresources} and {@link importHeartbeatDir} return. */
export interface HaresourcesImport {
  /** The CIB: nodes, resources, location constraints and stickiness. */
  cib: CibDocument;
  /** What was not carried over as Heartbeat has it. */
  unsupported: UnsupportedItem[];
}

/** What the import needs from ha.cf. */
export interface HeartbeatClusterInfo {
  /** Cluster members (ha.cf `node` lines). */
  nodes: readonly string[];
  /** ha.cf `auto_failback` (Heartbeat's default is legacy). */
  autoFailback: AutoFailback;
}

/** Score of the location constraint that makes a line's node preferred. */
export const HARESOURCES_PREFERENCE_SCORE = 100;

/** Stickiness for `auto_failback off`: resources never move back by themselves. */
export const NO_FAILBACK_STICKINESS = INFINITY;

/** Longest haresources file accepted (real ones are a few lines). */
const MAX_TEXT = 1 << 20;
/** Most resource groups (lines) accepted. */
const MAX_LINES = 10_000;

/**
 * Imports haresources text. `source` names the file in errors and items.
 * Throws a {@link CibImportError} naming `source:line` for a line it cannot read.
 */
export function importHaresources(
  haresources: string,
  haCf: HeartbeatClusterInfo,
  source: string,
): HaresourcesImport {
  if (haresources.length > MAX_TEXT) {
    throw new CibImportError(`${source}: too large (${haresources.length} bytes)`, source);
  }
  const unsupported: UnsupportedItem[] = [];
  const ids = new Set<string>();
  const unique = (base: string) => {
    let id = base;
    for (let n = 2; ids.has(id); n++) id = `${base}_${n}`;
    ids.add(id);
    return id;
  };
  const nodes = [...new Set(haCf.nodes.map((n) => n.toLowerCase()))];
  const resources: Record<string, unknown>[] = [];
  const locations: Record<string, unknown>[] = [];
  const seenWords = new Map<string, number>();
  let groups = 0;
  for (const { line, words } of logicalLines(haresources, source)) {
    const fail = (message: string): never => {
      throw new CibImportError(`${source}:${line}: ${message}`, source, line);
    };
    if (words.length < 2) fail(`"${words[0]}" names a node but no resources`);
    const node = words[0].toLowerCase();
    if (!nodes.includes(node)) {
      unsupported.push({
        path: `/haresources/line[${line}]`,
        what: `node "${words[0]}" is not a node of ha.cf; its preference is kept anyway`,
        line,
        kind: "reference",
        name: "node",
      });
    }
    const primitives = words.slice(1).map((word) => {
      const earlier = seenWords.get(word);
      if (earlier !== undefined) {
        fail(`resource "${word}" is already in the group of line ${earlier}`);
      }
      seenWords.set(word, line);
      let parsed: { type: string; args: string[] };
      try {
        parsed = parseHaresourcesResource(word);
      } catch (e) {
        return fail((e as Error).message);
      }
      return primitiveFor(parsed.type, parsed.args, unique);
    });
    const resource = primitives.length === 1
      ? primitives[0]
      : { kind: "group", id: unique(`group_${++groups}`), members: primitives };
    resources.push(resource);
    locations.push({
      id: unique(`location_${resource.id}`),
      resource: resource.id,
      node,
      score: HARESOURCES_PREFERENCE_SCORE,
    });
    if (resources.length > MAX_LINES) fail(`more than ${MAX_LINES} resource lines`);
  }
  if (haCf.autoFailback === "legacy") {
    unsupported.push({
      path: "/ha.cf/auto_failback",
      what: "auto_failback legacy is treated as on (resources move back to their node)",
      kind: "value",
      name: "auto_failback",
    });
  }
  unsupported.push({
    path: "/ha.cf",
    what: "Heartbeat v1 runs resources in any partition (it has no quorum); " +
      "Vigil's no-quorum-policy stop applies",
    kind: "lossy",
    name: "quorum",
  });
  const doc = {
    config: {
      options: { stickiness: haCf.autoFailback === "off" ? NO_FAILBACK_STICKINESS : 0 },
      nodes: nodes.map((name) => ({ name })),
      resources,
      constraints: { locations, colocations: [], orders: [] },
    },
  };
  const result = cibDocumentSchema.safeParse(doc);
  if (!result.success) {
    const detail = result.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`);
    throw new CibImportError(`${source}: ${detail.join("; ")}`, source);
  }
  return { cib: result.data, unsupported };
}

/**
 * Reads `dir/haresources` and `dir/ha.cf` (with {@link readHaCf}) and imports
 * them. Errors name the file (and line).
 */
export function importHeartbeatDir(dir: string): HaresourcesImport {
  const haCf = readHaCf(join(dir, "ha.cf"));
  const file = join(dir, "haresources");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new CibImportError(`${file}: cannot read: ${(e as Error).message}`, file);
  }
  const result = importHaresources(text, {
    nodes: haCf.nodes.map((n) => n.value),
    autoFailback: haCf.autoFailback,
  }, file);
  if (!haCf.haresources) {
    result.unsupported.unshift({
      path: "/ha.cf/crm",
      what: `ha.cf says "crm ${haCf.crm?.value}": Heartbeat itself would ignore haresources`,
      line: haCf.crm?.line,
      kind: "value",
      name: "crm",
    });
  }
  return result;
}

/** A primitive for one haresources word (see the module documentation for the mapping). */
function primitiveFor(
  type: string,
  args: readonly string[],
  unique: (base: string) => string,
): Record<string, unknown> & { id: string } {
  const id = unique(idFor(type, args));
  if ((type === "IPaddr" || type === "IPaddr2") && args.length === 1) {
    const [ip, cidr, nic, broadcast] = args[0].split("/");
    const params: Record<string, string> = { ip };
    if (cidr) params.cidr_netmask = cidr;
    if (nic) params.nic = nic;
    if (broadcast) params.broadcast = broadcast;
    return { id, agent: `ocf:heartbeat:${type}`, params };
  }
  if (type === "Filesystem" && args.length >= 3 && args.length <= 4) {
    const [device, directory, fstype, options] = args;
    const params: Record<string, string> = { device, directory, fstype };
    if (options !== undefined) params.options = options;
    return { id, agent: "ocf:heartbeat:Filesystem", params };
  }
  return {
    id,
    agent: `heartbeat:${type}`,
    params: args.length > 0 ? { args: args.join("::") } : {},
  };
}

function idFor(type: string, args: readonly string[]): string {
  // An address's netmask and interface do not go into the id.
  const firstArg = type === "IPaddr" || type === "IPaddr2" ? args[0]?.split("/")[0] : args[0];
  const base = firstArg ? `${type}_${firstArg}` : type;
  const id = base.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 200);
  return /^[A-Za-z_]/.test(id) ? id : `r_${id}`;
}

/** Lines with continuation joined and comments removed: the line each starts on and its words. */
function* logicalLines(
  text: string,
  source: string,
): Generator<{ line: number; words: string[] }> {
  const lines = text.split("\n");
  if (lines.length > MAX_LINES * 4) {
    throw new CibImportError(`${source}: more than ${MAX_LINES * 4} lines`, source);
  }
  let pending = "";
  let start = 0;
  for (let i = 0; i < lines.length; i++) {
    let raw = lines[i].replace(/\r$/, "");
    const hash = raw.search(/(^|\s)#/);
    if (hash !== -1) raw = raw.slice(0, hash);
    if (pending === "") start = i + 1;
    if (raw.endsWith("\\")) {
      pending += raw.slice(0, -1) + " ";
      continue;
    }
    const words = (pending + raw).trim().split(/\s+/).filter((w) => w !== "");
    pending = "";
    if (words.length > 0) yield { line: start, words };
  }
  const words = pending.trim().split(/\s+/).filter((w) => w !== "");
  if (words.length > 0) yield { line: start, words };
}
