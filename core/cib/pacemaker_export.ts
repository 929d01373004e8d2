/**
 * Pacemaker CIB XML out: {@link exportPacemakerXml} writes a Vigil
 * {@link CibDocument} as a `<cib validate-with="pacemaker-3.0">` that
 * Pacemaker's tools (`crm_verify`, `crm_simulate`) accept, such that
 * {@link importPacemakerXml} gives the same document back.
 *
 * What it writes:
 * - Cluster options only where they differ from Pacemaker's defaults
 *   ({@link PACEMAKER_DEFAULT_OPTIONS}): `crm_config` for the cluster-wide ones,
 *   `rsc_defaults` for stickiness, migration-threshold and failure-timeout.
 *   `stonith-enabled` is written whenever it is false (Vigil's default differs).
 * - Meta attributes a resource sets, and of `priority`, `is-managed` and
 *   `multiple-active` only values that differ from what the resource inherits
 *   (its parent's value, or the default at the top).
 * - Roles with the names schema pacemaker-3.0 knows (`Master`, `Slave`), which
 *   Pacemaker 2.0 and later accept; promotable clones as `<clone>` with
 *   `promotable=true`.
 * - Vigil's built-in agents (a bare name like `Dummy`) as `ocf:vigil:NAME`, which
 *   the import maps back; `heartbeat:NAME` as Pacemaker's `heartbeat` class.
 * - A location with `expiresAt` (a move with a lifetime) as `crm_resource --move
 *   --lifetime` writes it: a rule on `#uname` with a `date_expression` `lt` end
 *   (whole seconds, UTC).
 * - Status: `node_state` per node (ids from the configured nodes), transient
 *   attributes including `fail-count-RSC` / `last-failure-RSC`, the operation
 *   history with op-status numbers and a synthetic `transition-key` carrying the
 *   expected rc. A non-zero `shutdown` is written as the transient attribute.
 *
 * Ids Pacemaker needs but the document lacks (sets, nvpairs, ops, rules) are made
 * from the owner's id and kept unique. A configuration id that is not an XML
 * NCName (Vigil allows `:`, XML ids do not) makes the export throw.
 *
 * Limits (what does not come back as it was):
 * - Made-up ids come back on import; number and boolean params come back as
 *   strings (Pacemaker's parameters are text); sub-second `expiresAt` is cut.
 * - The document keeps no operation digests (`op-digest`), so Pacemaker, when it
 *   schedules an exported CIB with operation history, restarts resources "due to
 *   resource definition change" (`crm_simulate` differs on 2 of the 111 corpus
 *   CIBs for this reason, and on 2 more because an absent `in_ccm` cannot be
 *   told from `false` in the document).
 *
 * @example
 * ```ts
 * const xml = exportPacemakerXml(cib);
 * writeFileSync("cib.xml", xml); // crm_verify --xml-file cib.xml
 * ```
 * @module
 */

import type { CibDocument } from "./schema/document.ts";
import type { Clone, Group, Primitive, Resource, Role } from "./schema/resources.ts";
import type { Rule } from "./schema/rules.ts";
import type { LocationConstraint } from "./schema/constraints.ts";
import type { NodeStatus, OperationRecord } from "./schema/status.ts";
import { formatScore } from "../score.ts";
import { serializeXmlTree, type XmlElement, xmlElement } from "./xml_tree.ts";
import {
  EXPORT_TRANSITION_UUID,
  OP_STATUS_NAMES,
  PACEMAKER_DEFAULT_OPTIONS,
  VIGIL_OCF_PROVIDER,
} from "./pacemaker_import.ts";

/**
 * The schema the exported document declares: pacemaker-3.0 (Pacemaker 2.0 and
 * later), or pacemaker-3.5 when an expression compares as `integer` or `number`
 * (3.5 added `integer` and made `number` a floating-point comparison).
 */
export const EXPORT_VALIDATE_WITH = "pacemaker-3.0";
/** The schema declared when rules compare numbers (see {@link EXPORT_VALIDATE_WITH}). */
export const EXPORT_VALIDATE_WITH_NUMBERS = "pacemaker-3.5";

/** An XML NCName: what Pacemaker's `xsd:ID` attributes accept. */
const NCNAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** Schema pacemaker-3.0's role names. */
const LEGACY_ROLE: Readonly<Record<Role, string>> = {
  Started: "Started",
  Stopped: "Stopped",
  Promoted: "Master",
  Unpromoted: "Slave",
};

/** Writes `cib` as Pacemaker CIB XML (see the module documentation). */
export function exportPacemakerXml(cib: CibDocument): string {
  return serializeXmlTree(exportPacemakerTree(cib), { declaration: false });
}

/** Builds the `<cib>` element tree that {@link exportPacemakerXml} serializes. */
export function exportPacemakerTree(cib: CibDocument): XmlElement {
  return new PacemakerExporter(cib).cib();
}

/** Splits an agent spec into Pacemaker's class, provider and type. */
export function splitAgentSpec(agent: string): { class: string; provider?: string; type: string } {
  const parts = agent.split(":");
  if (parts.length === 3 && parts[0] === "ocf") {
    return { class: "ocf", provider: parts[1], type: parts[2] };
  }
  if (parts.length === 2 && parts[0] !== "" && parts[1] !== "") {
    return { class: parts[0], type: parts[1] };
  }
  if (parts.length === 1) return { class: "ocf", provider: VIGIL_OCF_PROVIDER, type: agent };
  throw new Error(`agent "${agent}" is not CLASS:TYPE, ocf:PROVIDER:TYPE or a built-in name`);
}

/** Formats milliseconds the way Pacemaker CIBs usually write them ("10s", "500ms"). */
export function formatDurationMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

class PacemakerExporter {
  private readonly ids = new Set<string>();
  private readonly nodeIds = new Map<string, string>();

  constructor(private readonly doc: CibDocument) {
    const { config } = doc;
    const reserve = (id: string, what: string) => {
      if (!NCNAME.test(id)) {
        throw new Error(`${what} id "${id}" is not a valid XML id for Pacemaker (no ':' allowed)`);
      }
      this.ids.add(id);
    };
    const visit = (r: Resource) => {
      reserve(r.id, "resource");
      if (r.kind === "primitive") r.operations.forEach((op) => op.id && reserve(op.id, "op"));
      if (r.kind === "group") r.members.forEach(visit);
      if (r.kind === "clone") visit(r.resource);
    };
    config.resources.forEach(visit);
    const { locations, colocations, orders } = config.constraints;
    for (const c of [...locations, ...colocations, ...orders]) reserve(c.id, "constraint");
    const visitRule = (rule: Rule) => {
      if (rule.id) reserve(rule.id, "rule");
      rule.expressions.forEach((e) => e.id && reserve(e.id, "expression"));
      rule.rules.forEach(visitRule);
    };
    locations.forEach((l) => l.rules.forEach(visitRule));
    for (const node of config.nodes) {
      const id = node.id ?? node.name;
      this.nodeIds.set(node.name, id);
      this.ids.add(id);
    }
  }

  cib(): XmlElement {
    const { version, status } = this.doc;
    const dcId = status.dc === undefined ? undefined : this.nodeId(status.dc);
    return xmlElement("cib", {
      admin_epoch: version.adminEpoch,
      epoch: version.epoch,
      num_updates: version.numUpdates,
      "validate-with": this.schemaVersion(),
      "have-quorum": status.haveQuorum === undefined ? undefined : status.haveQuorum ? "1" : "0",
      "dc-uuid": dcId,
      "execution-date": status.executionDate,
    }, [this.configuration(), this.status()]);
  }

  private schemaVersion(): string {
    const numeric = (rule: Rule): boolean =>
      rule.expressions.some((e) => e.type === "integer" || e.type === "number") ||
      rule.rules.some(numeric);
    const uses = this.doc.config.constraints.locations.some((l) => l.rules.some(numeric));
    return uses ? EXPORT_VALIDATE_WITH_NUMBERS : EXPORT_VALIDATE_WITH;
  }

  // --- configuration -------------------------------------------------------

  private configuration(): XmlElement {
    const children = [
      this.crmConfig(),
      xmlElement("nodes", {}, this.doc.config.nodes.map((n) => this.node(n))),
      xmlElement("resources", {}, this.doc.config.resources.map((r) => this.resource(r))),
      this.constraints(),
    ];
    const rscDefaults = this.rscDefaults();
    if (rscDefaults) children.push(rscDefaults);
    return xmlElement("configuration", {}, children);
  }

  private crmConfig(): XmlElement {
    const o = this.doc.config.options;
    const d = PACEMAKER_DEFAULT_OPTIONS;
    const pairs: [string, string][] = [];
    const add = (name: string, value: unknown, fallback: unknown) => {
      if (value !== fallback) pairs.push([name, String(value)]);
    };
    add("stonith-enabled", o.stonithEnabled, d.stonithEnabled);
    add("stonith-action", o.stonithAction, d.stonithAction);
    add("no-quorum-policy", o.noQuorumPolicy, d.noQuorumPolicy);
    add("symmetric-cluster", o.symmetricCluster, d.symmetricCluster);
    add("start-failure-is-fatal", o.startFailureIsFatal, d.startFailureIsFatal);
    add("stop-orphan-resources", o.stopOrphanResources, d.stopOrphanResources);
    add("stop-all-resources", o.stopAllResources, d.stopAllResources);
    add("maintenance-mode", o.maintenanceMode, d.maintenanceMode);
    return xmlElement("crm_config", {}, [
      this.nvset("cluster_property_set", "cib-bootstrap-options", pairs),
    ]);
  }

  private rscDefaults(): XmlElement | undefined {
    const o = this.doc.config.options;
    const d = PACEMAKER_DEFAULT_OPTIONS;
    const pairs: [string, string][] = [];
    if (o.stickiness !== d.stickiness) {
      pairs.push(["resource-stickiness", formatScore(o.stickiness)]);
    }
    if (o.migrationThreshold !== d.migrationThreshold) {
      pairs.push(["migration-threshold", formatScore(o.migrationThreshold)]);
    }
    if (o.failureTimeoutMs !== d.failureTimeoutMs) {
      pairs.push(["failure-timeout", formatDurationMs(o.failureTimeoutMs)]);
    }
    if (pairs.length === 0) return undefined;
    return xmlElement("rsc_defaults", {}, [this.nvset("meta_attributes", "rsc-options", pairs)]);
  }

  private node(node: CibDocument["config"]["nodes"][number]): XmlElement {
    const id = this.nodeIds.get(node.name) ?? node.name;
    const pairs: [string, string][] = Object.entries(node.attributes);
    if (node.standby) pairs.push(["standby", "on"]);
    if (node.maintenance) pairs.push(["maintenance", "true"]);
    const children = pairs.length > 0
      ? [this.nvset("instance_attributes", `nodes-${id}`, pairs)]
      : [];
    return xmlElement("node", { id, uname: node.name, type: "member" }, children);
  }

  private resource(r: Resource, parent?: Group | Clone): XmlElement {
    switch (r.kind) {
      case "primitive":
        return this.primitive(r, parent);
      case "group":
        return xmlElement("group", { id: r.id }, [
          ...this.metaSet(r, parent),
          ...r.members.map((m) => this.primitive(m, r)),
        ]);
      case "clone":
        return xmlElement("clone", { id: r.id }, [
          ...this.metaSet(r, parent),
          this.resource(r.resource, r),
        ]);
    }
  }

  private primitive(p: Primitive, parent?: Group | Clone): XmlElement {
    const agent = splitAgentSpec(p.agent);
    const children: XmlElement[] = [];
    const params = Object.entries(p.params).map(([k, v]): [string, string] => [k, String(v)]);
    if (params.length > 0) {
      children.push(this.nvset("instance_attributes", `${p.id}-instance_attributes`, params));
    }
    children.push(...this.metaSet(p, parent));
    if (p.operations.length > 0) {
      children.push(xmlElement("operations", {}, p.operations.map((op) => this.op(p.id, op))));
    }
    return xmlElement("primitive", {
      id: p.id,
      class: agent.class,
      provider: agent.provider,
      type: agent.type,
    }, children);
  }

  private op(owner: string, op: Primitive["operations"][number]): XmlElement {
    const id = op.id ?? this.uniqueId(`${owner}-${op.name}-interval-${op.intervalMs}`);
    const children = op.depth > 0
      ? [this.nvset("instance_attributes", `${id}-instance_attributes`, [
        ["OCF_CHECK_LEVEL", String(op.depth)],
      ])]
      : [];
    return xmlElement("op", {
      id,
      name: op.name,
      interval: formatDurationMs(op.intervalMs),
      timeout: op.timeoutMs === undefined ? undefined : formatDurationMs(op.timeoutMs),
      "on-fail": op.onFail,
      role: op.role === undefined ? undefined : LEGACY_ROLE[op.role],
      enabled: op.enabled ? undefined : "false",
    }, children);
  }

  /** The meta_attributes of a resource: what it sets, and defaulted fields it does not inherit. */
  private metaSet(r: Resource, parent?: Group | Clone): XmlElement[] {
    const m = r.meta;
    const inherited = parent?.meta ??
      { priority: 0, isManaged: true, multipleActive: "stop_start" };
    const pairs: [string, string][] = [];
    if (m.targetRole !== undefined) pairs.push(["target-role", LEGACY_ROLE[m.targetRole]]);
    if (m.stickiness !== undefined) pairs.push(["resource-stickiness", formatScore(m.stickiness)]);
    if (m.migrationThreshold !== undefined) {
      pairs.push(["migration-threshold", formatScore(m.migrationThreshold)]);
    }
    if (m.failureTimeoutMs !== undefined) {
      pairs.push(["failure-timeout", formatDurationMs(m.failureTimeoutMs)]);
    }
    if (m.priority !== inherited.priority) pairs.push(["priority", String(m.priority)]);
    if (m.isManaged !== inherited.isManaged) pairs.push(["is-managed", String(m.isManaged)]);
    if (m.multipleActive !== inherited.multipleActive) {
      pairs.push(["multiple-active", m.multipleActive]);
    }
    if (m.requires !== undefined) pairs.push(["requires", m.requires]);
    if (r.kind === "clone") {
      const c = r.meta;
      if (c.cloneMax !== undefined) pairs.push(["clone-max", String(c.cloneMax)]);
      if (c.cloneNodeMax !== 1) pairs.push(["clone-node-max", String(c.cloneNodeMax)]);
      if (c.globallyUnique) pairs.push(["globally-unique", "true"]);
      if (c.interleave) pairs.push(["interleave", "true"]);
      if (c.ordered) pairs.push(["ordered", "true"]);
      if (c.notify) pairs.push(["notify", "true"]);
      if (c.promotable) pairs.push(["promotable", "true"]);
      if (c.promotedMax !== 1) pairs.push(["promoted-max", String(c.promotedMax)]);
      if (c.promotedNodeMax !== 1) pairs.push(["promoted-node-max", String(c.promotedNodeMax)]);
    }
    return pairs.length > 0
      ? [this.nvset("meta_attributes", `${r.id}-meta_attributes`, pairs)]
      : [];
  }

  private constraints(): XmlElement {
    const { locations, colocations, orders } = this.doc.config.constraints;
    const children: XmlElement[] = [];
    for (const l of locations) children.push(this.location(l));
    for (const c of colocations) {
      children.push(xmlElement("rsc_colocation", {
        id: c.id,
        rsc: c.resource,
        "with-rsc": c.withResource,
        score: formatScore(c.score),
        "rsc-role": c.role === undefined ? undefined : LEGACY_ROLE[c.role],
        "with-rsc-role": c.withRole === undefined ? undefined : LEGACY_ROLE[c.withRole],
        "node-attribute": c.nodeAttribute === "#uname" ? undefined : c.nodeAttribute,
      }));
    }
    for (const o of orders) {
      children.push(xmlElement("rsc_order", {
        id: o.id,
        first: o.first,
        "first-action": o.firstAction,
        then: o.then,
        "then-action": o.thenAction,
        kind: o.kind,
        symmetrical: o.symmetrical,
      }));
    }
    return xmlElement("constraints", {}, children);
  }

  private location(l: LocationConstraint): XmlElement {
    const attrs = {
      id: l.id,
      rsc: l.resource,
      role: l.role === undefined ? undefined : LEGACY_ROLE[l.role],
      "resource-discovery": l.resourceDiscovery === "always" ? undefined : l.resourceDiscovery,
    };
    if (l.node !== undefined && l.score !== undefined && l.expiresAt !== undefined) {
      // As crm_resource --move --lifetime writes it (the import reads this shape back).
      const end = new Date(Math.floor(l.expiresAt / 1000) * 1000).toISOString()
        .replace(/\.\d{3}Z$/, "Z");
      const rule = xmlElement("rule", {
        id: this.uniqueId(`${l.id}-rule`),
        score: formatScore(l.score),
        "boolean-op": "and",
      }, [
        xmlElement("expression", {
          id: this.uniqueId(`${l.id}-expr`),
          attribute: "#uname",
          operation: "eq",
          value: l.node,
          type: "string",
        }),
        xmlElement("date_expression", {
          id: this.uniqueId(`${l.id}-lifetime-end`),
          operation: "lt",
          end,
        }),
      ]);
      return xmlElement("rsc_location", attrs, [rule]);
    }
    if (l.node !== undefined && l.score !== undefined) {
      return xmlElement("rsc_location", { ...attrs, node: l.node, score: formatScore(l.score) });
    }
    return xmlElement(
      "rsc_location",
      attrs,
      l.rules.map((rule, i) => this.rule(rule, `${l.id}-rule${i === 0 ? "" : `-${i}`}`)),
    );
  }

  private rule(rule: Rule, fallbackId: string): XmlElement {
    const id = rule.id ?? this.uniqueId(fallbackId);
    return xmlElement("rule", {
      id,
      // Pacemaker's schema requires a score (or score-attribute) on every rule; 0 is its default.
      score: rule.score !== undefined
        ? formatScore(rule.score)
        : rule.scoreAttribute === undefined
        ? "0"
        : undefined,
      "score-attribute": rule.scoreAttribute,
      "boolean-op": rule.booleanOp,
    }, [
      ...rule.expressions.map((e, i) =>
        xmlElement("expression", {
          id: e.id ?? this.uniqueId(`${id}-expr-${i}`),
          attribute: e.attribute,
          operation: e.operation,
          value: e.value,
          type: e.type,
          "value-source": e.valueSource === "literal" ? undefined : e.valueSource,
        })
      ),
      ...rule.rules.map((nested, i) => this.rule(nested, `${id}-rule-${i}`)),
    ]);
  }

  // --- status --------------------------------------------------------------

  private status(): XmlElement {
    const children: XmlElement[] = [];
    for (const [name, node] of Object.entries(this.doc.status.nodes)) {
      children.push(this.nodeState(name, node));
    }
    return xmlElement("status", {}, children);
  }

  private nodeState(name: string, node: NodeStatus): XmlElement {
    const id = this.nodeId(name);
    const pairs: [string, string][] = Object.entries(node.attributes);
    if (node.shutdown !== 0 && node.attributes.shutdown === undefined) {
      pairs.push(["shutdown", String(node.shutdown)]);
    }
    for (const [rsc, failure] of Object.entries(node.failures)) {
      pairs.push([`fail-count-${rsc}`, formatScore(failure.count)]);
      if (failure.lastFailure !== undefined) {
        pairs.push([`last-failure-${rsc}`, String(failure.lastFailure)]);
      }
    }
    const children: XmlElement[] = [];
    if (pairs.length > 0) {
      children.push(xmlElement("transient_attributes", { id }, [
        this.nvset("instance_attributes", `status-${id}`, pairs, false),
      ]));
    }
    const resources = Object.entries(node.resources).map(([rscId, history]) => {
      // "unknown" is what the import records for a history without class and type.
      const agent = history.agent === "unknown" ? undefined : splitAgentSpec(history.agent);
      return xmlElement("lrm_resource", {
        id: rscId,
        class: agent?.class,
        provider: agent?.provider,
        type: agent?.type,
      }, history.operations.map((op) => this.operationRecord(rscId, op)));
    });
    children.push(xmlElement("lrm", { id }, [xmlElement("lrm_resources", {}, resources)]));
    return xmlElement("node_state", {
      id,
      uname: name,
      in_ccm: node.inMembership === undefined ? undefined : String(node.inMembership),
      crmd: node.online ? "online" : "offline",
      join: node.join,
      expected: node.expected,
    }, children);
  }

  private operationRecord(rscId: string, op: OperationRecord): XmlElement {
    const statusNumber = Object.entries(OP_STATUS_NAMES).find(([, name]) => name === op.status)
      ?.[0];
    const key = op.expectedRc === undefined
      ? undefined
      : `0:0:${op.expectedRc}:${EXPORT_TRANSITION_UUID}`;
    return xmlElement("lrm_rsc_op", {
      id: op.id ?? `${rscId}_${op.operation}_${op.intervalMs}`,
      operation: op.operation,
      interval: op.intervalMs,
      "call-id": op.callId,
      "rc-code": op.rc,
      "op-status": statusNumber,
      "transition-key": key,
      "transition-magic": key === undefined ? undefined : `${statusNumber}:${op.rc};${key}`,
      "last-rc-change": op.lastRcChange,
      "exec-time": op.execMs,
      "queue-time": op.queueMs,
    });
  }

  // --- helpers -------------------------------------------------------------

  private nodeId(name: string): string {
    return this.nodeIds.get(name) ?? name;
  }

  /** A name/value set; ids are made unique (status ids are not XML ids, so not reserved). */
  private nvset(
    tag: string,
    id: string,
    pairs: readonly [string, string][],
    reserve = true,
  ): XmlElement {
    const setId = reserve ? this.uniqueId(id) : id;
    return xmlElement(
      tag,
      { id: setId },
      pairs.map(([name, value]) =>
        xmlElement("nvpair", {
          id: reserve ? this.uniqueId(`${setId}-${name}`) : `${setId}-${name}`,
          name,
          value,
        })
      ),
    );
  }

  /** `base` made an NCName and unique in the document. */
  private uniqueId(base: string): string {
    let id = base.replace(/[^A-Za-z0-9_.-]/g, "-");
    if (!/^[A-Za-z_]/.test(id)) id = `id-${id}`;
    let candidate = id;
    for (let n = 1; this.ids.has(candidate); n++) {
      if (n > 100_000) throw new Error(`cannot make a unique id from "${base}"`);
      candidate = `${id}-${n}`;
    }
    this.ids.add(candidate);
    return candidate;
  }
}
