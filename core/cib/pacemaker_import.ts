/**
 * Pacemaker CIB XML in: {@link importPacemakerXml} maps a Pacemaker `<cib>`
 * (configuration and status) onto Vigil's {@link CibDocument}, with
 * Pacemaker's semantics and defaults, and lists everything it could not carry
 * over as an {@link UnsupportedItem}: nothing is dropped silently.
 *
 * What the mapping decides (Pacemaker 2.1 semantics):
 * - Cluster options take Pacemaker's defaults where the CIB is silent:
 *   `stonith-enabled` true, default stickiness 0, `migration-threshold`
 *   INFINITY (1,000,000: a resource is banned only once its fail count
 *   saturates at INFINITY, as after a fatal start failure; 0 would mean
 *   "never", which is not Pacemaker's default). See {@link PACEMAKER_DEFAULT_OPTIONS}.
 * - Name/value sets are merged as Pacemaker does: `cib-bootstrap-options` first,
 *   then by descending `score`, then document order; the first value of a name
 *   wins (later ones are reported as shadowed); the value `#default` unsets it.
 *   Sets with a `<rule>` (conditional) or an `id-ref` are reported, not applied.
 * - Meta attributes: `rsc_defaults` stickiness, migration-threshold and
 *   failure-timeout become cluster options; its other supported meta attributes
 *   are given to every top-level resource that does not set them. Because
 *   Vigil's `priority`, `isManaged` and `multipleActive` have defaults (so a
 *   child cannot say "inherit"), a group's or clone's explicit value of those
 *   three is copied into children that do not set their own, as Pacemaker's
 *   inheritance would give them. Other meta attributes stay where they were set
 *   (the schema says children inherit them).
 * - Instance attributes of a group or clone (inherited by children in Pacemaker)
 *   are copied into each child primitive's params that lacks them (reported).
 * - `op_defaults` `timeout` is written into every configured operation without a
 *   timeout (reported: implicit actions keep the agent's default).
 * - `master` is a clone with `promotable` true; `master-max`/`master-node-max`
 *   are `promotedMax`/`promotedNodeMax` (`promoted-max` wins when both are set).
 * - Roles `Master`/`Slave` are `Promoted`/`Unpromoted`; roles, booleans and
 *   enumerations are read case-insensitively as Pacemaker does.
 * - `rsc_order` without `kind` and with `score="0"` is Optional (old CIBs); an
 *   invalid kind is Mandatory (Pacemaker's fallback, reported).
 * - Constraints naming resources that do not exist (or were left out: bundles,
 *   templates) are left out, as Pacemaker ignores them, and reported.
 * - Status: `node_state` is keyed by `uname`; `in_ccm` and `crmd` may be
 *   "true"/"online" or a timestamp; the transient attribute `shutdown` (not the
 *   legacy `node_state` attribute, which Pacemaker 2 ignores) gives `shutdown`;
 *   `fail-count-RSC[#op_interval]` are summed (saturating at INFINITY) per RSC
 *   and `last-failure-RSC[#...]` gives the latest failure; other transient
 *   attributes are kept (including `shutdown`). `lrm_resource` ids are kept as
 *   written (`child:0`, `child`); `op-status` numbers become names; the
 *   expected rc comes from `transition-key` (or `transition-magic`).
 *   An absent `in_ccm` ("never seen by the cluster layer", which Pacemaker
 *   fences for) is left unset, so it takes the schema's default.
 * - `dc-uuid` names a node by id; it becomes that node's uname.
 * - An absent `have-quorum` is false (Pacemaker: no quorum unless stated).
 * - Nested rules keep their score (Pacemaker's schema requires one; it is ignored).
 * - A location of the shape `crm_resource --move --lifetime` writes (one rule:
 *   `#uname eq NODE` and a `date_expression lt END` with a zone) becomes
 *   `node`/`score`/`expiresAt`; any other `date_expression` leaves its rule out.
 * - `ocf:vigil:NAME` (how the export writes Vigil's built-in agents) is `NAME`.
 * - A node id equal to the node's name is left out (the schema's default).
 *
 * Errors: malformed XML, or content Vigil's schema rejects, throws a
 * {@link CibImportError} whose message names the source, the line, the XML
 * location and the schema path.
 *
 * @example
 * ```ts
 * const { cib, unsupported } = importPacemakerXml(readFileSync("cib.xml", "utf8"), "cib.xml");
 * cib.config.options.stickiness; // 0 unless rsc_defaults says otherwise
 * unsupported.map((u) => formatUnsupportedItem(u, "cib.xml"));
 * ```
 * @module
 */

import { formatPath } from "./cib.ts";
import { type CibDocument, cibDocumentSchema } from "./schema/document.ts";
import type { ClusterOptions } from "./schema/options.ts";
import type { Role } from "./schema/resources.ts";
import { INFINITY } from "../score.ts";
import { childElements, parseXmlTree, type XmlElement, XmlSyntaxError } from "./xml_tree.ts";
import { CibImportError, type UnsupportedItem, type UnsupportedKind } from "./import_report.ts";

/** One thing an import did not carry over as it was (see import_report.ts). */
export type { UnsupportedItem } from "./import_report.ts";

/** What {@link importPacemakerXml} returns. */
export interface PacemakerImport {
  /** The CIB, validated against Vigil's schema, defaults applied. */
  cib: CibDocument;
  /** Everything not carried over as it was, in document order (by line). */
  unsupported: UnsupportedItem[];
}

/** Pacemaker's values of the options Vigil has, where a CIB does not set them. */
export const PACEMAKER_DEFAULT_OPTIONS: Readonly<ClusterOptions> = Object.freeze({
  stonithEnabled: true,
  stonithAction: "reboot",
  noQuorumPolicy: "stop",
  symmetricCluster: true,
  stickiness: 0,
  migrationThreshold: INFINITY,
  failureTimeoutMs: 0,
  startFailureIsFatal: true,
  stopOrphanResources: true,
  stopAllResources: false,
  maintenanceMode: false,
});

/** Pacemaker's op-status numbers (enum pcmk_exec_status) and Vigil's names. */
export const OP_STATUS_NAMES: Readonly<Record<string, string>> = Object.freeze({
  "-1": "pending",
  "0": "done",
  "1": "cancelled",
  "2": "timeout",
  "3": "not-supported",
  "4": "error",
  "5": "error-hard",
  "6": "error-fatal",
  "7": "not-installed",
  "8": "not-connected",
  "9": "invalid",
});

/**
 * The uuid in the transition keys the Pacemaker export makes up to carry an
 * expected rc; such a key holds nothing else, so its loss is not reported.
 */
export const EXPORT_TRANSITION_UUID = "00000000-0000-4000-8000-000000000000";

/** Pacemaker's role names (old and new, any case) to Vigil's roles. */
export const ROLE_NAMES: Readonly<Record<string, Role>> = Object.freeze({
  started: "Started",
  stopped: "Stopped",
  promoted: "Promoted",
  master: "Promoted",
  unpromoted: "Unpromoted",
  slave: "Unpromoted",
});

/**
 * Imports a Pacemaker CIB. `source` names the file in errors. Throws a
 * {@link CibImportError} for malformed XML or content Vigil's schema rejects.
 */
export function importPacemakerXml(xml: string, source: string): PacemakerImport {
  let root: XmlElement;
  try {
    root = parseXmlTree(xml, source);
  } catch (e) {
    if (e instanceof XmlSyntaxError) throw new CibImportError(e.message, source, e.line);
    throw e;
  }
  return importPacemakerTree(root, source);
}

/** Imports an already parsed `<cib>` tree (see {@link importPacemakerXml}). */
export function importPacemakerTree(root: XmlElement, source: string): PacemakerImport {
  return new PacemakerImporter(source).run(root);
}

/** Reads a Pacemaker score: (+/-)INFINITY, or an integer prefix as strtoll reads it; clamped. */
export function parsePacemakerScore(text: string): number | undefined {
  const t = text.trim();
  if (/^-inf(inity)?$/i.test(t)) return -INFINITY;
  if (/^\+?inf(inity)?$/i.test(t)) return INFINITY;
  const m = /^[+-]?\d+/.exec(t);
  if (!m) return undefined;
  return Math.max(-INFINITY, Math.min(INFINITY, Number(m[0])));
}

/** Reads a Pacemaker boolean (crm_str_to_boolean): yes/true/on/y/1 or no/false/off/n/0. */
export function parsePacemakerBoolean(text: string): boolean | undefined {
  const t = text.trim().toLowerCase();
  if (t === "true" || t === "on" || t === "yes" || t === "y" || t === "1") return true;
  if (t === "false" || t === "off" || t === "no" || t === "n" || t === "0") return false;
  return undefined;
}

/** Formats a resource agent spec from Pacemaker's class, provider and type. */
export function agentSpec(cls: string, provider: string | undefined, type: string): string {
  if (cls === "ocf" && provider === VIGIL_OCF_PROVIDER) return type;
  return cls === "ocf" ? `ocf:${provider ?? ""}:${type}` : `${cls}:${type}`;
}

/**
 * The OCF provider name under which Vigil's built-in agents (a bare name such as
 * `Dummy`) are exported; the import maps `ocf:vigil:NAME` back to `NAME`.
 */
export const VIGIL_OCF_PROVIDER = "vigil";

/**
 * Reads a Pacemaker date-time with an explicit zone ("2026-11-22T10:00:00Z",
 * "2026-11-22 10:00:00 +01:00") into ms since the epoch; undefined otherwise.
 */
export function parsePacemakerDateTime(text: string): number | undefined {
  const m = /^\s*(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})\s*(Z|[+-]\d{2}:?\d{2})\s*$/i
    .exec(text);
  if (!m) return undefined;
  const zone = m[7].toUpperCase() === "Z" ? "Z" : m[7].replace(/^([+-]\d{2}):?(\d{2})$/, "$1:$2");
  const ms = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${zone}`);
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

// ---------------------------------------------------------------------------

type Raw = Record<string, unknown>;
type PathKey = readonly (string | number)[];

/** One name/value pair after Pacemaker's merge. */
interface Nvpair {
  value: string;
  element: XmlElement;
  xpath: string;
}

/** An element with its XPath-like location. */
interface Located {
  element: XmlElement;
  xpath: string;
}

/**
 * How one XML attribute becomes one field of a raw object: `parse` gives the
 * field's value, or undefined when the text is not valid; then `invalid` says
 * why in a report (the field is left unset).
 */
interface AttributeMapping {
  attr: string;
  field: string;
  parse: (text: string) => unknown;
  invalid?: (text: string) => string;
}

/** A resource as built: the raw object and where it came from. */
interface RawResource {
  raw: Raw;
  kind: "primitive" | "group" | "clone";
  members: RawResource[];
}

/** Whether `word` is a class, provider or type of a resource agent (`external/ssh` too). */
function isAgentWord(word: string | undefined): word is string {
  return word !== undefined && /^[^:\s]+$/.test(word);
}

/** Most errors listed in one CibImportError message. */
const MAX_ERRORS_SHOWN = 20;

/** Pacemaker cluster options Vigil does not have (so the report can say so). */
const KNOWN_PACEMAKER_OPTIONS = new Set([
  "batch-limit",
  "cluster-delay",
  "cluster-infrastructure",
  "cluster-ipc-limit",
  "cluster-name",
  "cluster-recheck-interval",
  "concurrent-fencing",
  "dc-deadtime",
  "dc-version",
  "election-timeout",
  "enable-acl",
  "enable-startup-probes",
  "fence-reaction",
  "have-watchdog",
  "join-finalization-timeout",
  "join-integration-timeout",
  "last-lrm-refresh",
  "load-threshold",
  "migration-limit",
  "no-quorum-panic",
  "node-action-limit",
  "node-health-base",
  "node-health-green",
  "node-health-red",
  "node-health-strategy",
  "node-health-yellow",
  "pe-error-series-max",
  "pe-input-series-max",
  "pe-warn-series-max",
  "placement-strategy",
  "priority-fencing-delay",
  "remove-after-stop",
  "shutdown-escalation",
  "shutdown-lock",
  "shutdown-lock-limit",
  "startup-fencing",
  "stonith-max-attempts",
  "stonith-timeout",
  "stonith-watchdog-timeout",
  "stop-orphan-actions",
  "transition-delay",
]);

/** Meta attributes every resource kind takes, to Vigil's field names. */
const COMMON_META_FIELDS: Readonly<Record<string, string>> = {
  "target-role": "targetRole",
  "resource-stickiness": "stickiness",
  "migration-threshold": "migrationThreshold",
  "failure-timeout": "failureTimeoutMs",
  "priority": "priority",
  "is-managed": "isManaged",
  "multiple-active": "multipleActive",
  "requires": "requires",
};
const COMMON_META = new Set(Object.keys(COMMON_META_FIELDS));

/** Clone meta attributes (on clones and masters only). */
const CLONE_META = new Set([
  "clone-max",
  "clone-node-max",
  "globally-unique",
  "interleave",
  "ordered",
  "notify",
  "promotable",
  "promoted-max",
  "promoted-node-max",
  "master-max",
  "master-node-max",
]);

/** Meta fields with a schema default, so inheritance must be resolved at import. */
const DEFAULTED_META = ["priority", "isManaged", "multipleActive"] as const;

const MULTIPLE_ACTIVE = new Set(["stop_start", "stop_only", "block", "stop_unexpected"]);
const REQUIRES = new Set(["nothing", "quorum", "fencing", "unfencing"]);
const ON_FAIL = new Set(["ignore", "block", "stop", "restart", "fence", "standby", "demote"]);
const STONITH_ACTIONS = new Set(["reboot", "off"]);
const NO_QUORUM_POLICY = new Set(["stop", "freeze", "ignore", "demote", "suicide"]);
const EXPRESSION_TYPES = new Set(["string", "integer", "number", "version"]);
const JOIN_STATES = new Set(["member", "down", "pending", "banned"]);
const EXPECTED_STATES = new Set(["member", "down"]);
const RESOURCE_DISCOVERY = new Set(["always", "never", "exclusive"]);
const BOOLEAN_OPS = new Set(["and", "or"]);

/** Boolean cluster options: Pacemaker's name to Vigil's field and the value for a non-boolean. */
const BOOLEAN_OPTIONS: ReadonlyMap<string, readonly [keyof ClusterOptions, boolean]> = new Map([
  ["stonith-enabled", ["stonithEnabled", true]],
  ["symmetric-cluster", ["symmetricCluster", true]],
  ["start-failure-is-fatal", ["startFailureIsFatal", true]],
  ["stop-orphan-resources", ["stopOrphanResources", true]],
  ["stop-all-resources", ["stopAllResources", false]],
  ["maintenance-mode", ["maintenanceMode", false]],
]);

/** `rsc_defaults` meta attributes that are cluster options in Vigil, to their fields. */
const RSC_DEFAULT_OPTIONS: ReadonlyMap<string, keyof ClusterOptions> = new Map([
  ["resource-stickiness", "stickiness"],
  ["migration-threshold", "migrationThreshold"],
  ["failure-timeout", "failureTimeoutMs"],
]);

/** The same options under their old `crm_config` names (used where rsc_defaults is silent). */
const LEGACY_OPTIONS: ReadonlyMap<string, keyof ClusterOptions> = new Map([
  ["default-resource-stickiness", "stickiness"],
  ["migration-threshold", "migrationThreshold"],
  ["failure-timeout", "failureTimeoutMs"],
]);

/** Constraint elements Vigil supports, to their list in the configuration. */
const CONSTRAINT_LISTS: ReadonlyMap<string, "locations" | "colocations" | "orders"> = new Map([
  ["rsc_location", "locations"],
  ["rsc_colocation", "colocations"],
  ["rsc_order", "orders"],
]);

/** Notes for status bookkeeping attributes Vigil does not keep. */
const STATUS_ATTRIBUTE_NOTES: Readonly<Record<string, string>> = {
  "op-digest": "parameter digest not kept (Vigil does not compare digests)",
  "op-restart-digest": "restart digest not kept",
  "op-force-restart": "op-force-restart not kept",
  "op-secure-params": "op-secure-params not kept",
  "op-secure-digest": "op-secure-digest not kept",
  "crm_feature_set": "feature set not kept",
  "crm-debug-origin": "debug origin not kept",
  "on_node": "on_node not kept (the node_state gives the node)",
  "operation_key": "operation key not kept (operation and interval give it)",
  "last-run": "last-run time not kept",
  "exit-reason": "exit reason not kept",
  "transition-key": "transition key not kept (only its expected rc is)",
  "transition-magic": "transition magic not kept (op-status and rc-code give it)",
  "ha": "Heartbeat-era ha state not kept (Pacemaker 2 ignores it)",
};

/** Element steps that get no `[@id]` predicate when they are the only one of their name. */
const CONTAINER_TAGS = new Set([
  "configuration",
  "status",
  "crm_config",
  "nodes",
  "resources",
  "constraints",
  "rsc_defaults",
  "op_defaults",
  "meta_attributes",
  "instance_attributes",
  "cluster_property_set",
  "utilization",
  "operations",
  "lrm",
  "lrm_resources",
  "transient_attributes",
]);

class PacemakerImporter {
  private readonly unsupported: UnsupportedItem[] = [];
  private readonly aggregated = new Map<string, UnsupportedItem>();
  /**
   * Where each part of the raw document came from, in the order recorded; the
   * lookup by formatted path is built only when validation fails (most imports
   * never need it, and formatting a path per element is a good part of the import).
   */
  private readonly origins: { key: PathKey; line?: number; xpath: string }[] = [];
  /** Resource ids configured (kept) and left out. */
  private readonly resourceIds = new Set<string>();
  private readonly droppedResourceIds = new Set<string>();
  /** Node id to uname, from `<nodes>` and `<node_state>`. */
  private readonly nodeNames = new Map<string, string>();

  /** Sibling counts and positions per parent, for XPath steps (see {@link step}). */
  private readonly siblings: SiblingIndexes = new WeakMap();

  constructor(private readonly source: string) {}

  /** The XPath step for `child` under `parent` (see the free function {@link step}). */
  private step(parent: XmlElement, child: XmlElement): string {
    return step(this.siblings, parent, child);
  }

  run(root: XmlElement): PacemakerImport {
    const rootPath = "/" + root.name;
    if (root.name !== "cib") {
      throw this.error(root, rootPath, `the root element is <${root.name}>, not <cib>`);
    }
    this.checkAttributes(root, rootPath, [
      "admin_epoch",
      "epoch",
      "num_updates",
      "have-quorum",
      "dc-uuid",
      "execution-date",
      "validate-with",
    ]);
    const validateWith = root.attributes["validate-with"];
    if (validateWith !== undefined && !/^(pacemaker-[1-9]|none$)/.test(validateWith)) {
      this.reportValue(
        root,
        rootPath,
        "validate-with",
        `schema "${validateWith}" is older than pacemaker-1.0; read as if current`,
      );
    }
    const doc: Raw = {
      version: {
        adminEpoch: integerOrNaN(root.attributes.admin_epoch ?? "0"),
        epoch: integerOrNaN(root.attributes.epoch ?? "0"),
        numUpdates: integerOrNaN(root.attributes.num_updates ?? "0"),
      },
    };
    this.at(["version"], root, rootPath);

    const configuration = this.single(root, rootPath, "configuration");
    const status = this.single(root, rootPath, "status");
    this.checkChildren(root, rootPath, ["configuration", "status"]);
    doc.config = configuration
      ? this.configuration(configuration.element, configuration.xpath)
      : { options: { ...PACEMAKER_DEFAULT_OPTIONS } };
    const statusRaw: Raw = status ? this.status(status.element, status.xpath) : { nodes: {} };
    this.at(["status"], status?.element ?? root, status?.xpath ?? rootPath);

    // Quorum, DC and "now" live on <cib> but belong to the status section.
    const haveQuorum = root.attributes["have-quorum"];
    statusRaw.haveQuorum = haveQuorum === undefined
      ? false
      : this.boolean(haveQuorum, root, rootPath + "/@have-quorum", false);
    const dcUuid = root.attributes["dc-uuid"];
    if (dcUuid !== undefined) {
      const dc = this.nodeNames.get(dcUuid);
      if (dc !== undefined) statusRaw.dc = dc;
      else {
        this.report(
          "reference",
          "dc-uuid",
          root,
          rootPath + "/@dc-uuid",
          `dc-uuid "${dcUuid}" is not the id of any node; no DC recorded`,
        );
      }
    }
    const executionDate = root.attributes["execution-date"];
    if (executionDate !== undefined) {
      statusRaw.executionDate = integerOrNaN(executionDate);
      this.at(["status", "executionDate"], root, rootPath + "/@execution-date");
    }
    doc.status = statusRaw;
    const unsupported = [...this.unsupported].sort((x, y) => (x.line ?? 0) - (y.line ?? 0));
    return { cib: this.validate(doc), unsupported };
  }

  // --- configuration -------------------------------------------------------

  private configuration(el: XmlElement, xpath: string): Raw {
    this.checkAttributes(el, xpath, []);
    this.checkChildren(el, xpath, [
      "crm_config",
      "nodes",
      "resources",
      "constraints",
      "rsc_defaults",
      "op_defaults",
    ]);
    const config: Raw = {};
    this.at(["config"], el, xpath);
    const crm = this.single(el, xpath, "crm_config");
    const options: Raw = { ...PACEMAKER_DEFAULT_OPTIONS };
    const legacy: Raw = {};
    if (crm) this.crmConfig(crm.element, crm.xpath, options, legacy);
    this.at(["config", "options"], crm?.element ?? el, crm?.xpath ?? xpath);

    const rscDefaults = this.single(el, xpath, "rsc_defaults");
    const resourceDefaults: Raw = {};
    const fromDefaults = new Set<string>();
    if (rscDefaults) {
      this.rscDefaults(
        rscDefaults.element,
        rscDefaults.xpath,
        options,
        resourceDefaults,
        fromDefaults,
      );
    }
    // Old crm_config names count only where rsc_defaults is silent.
    for (const [key, value] of Object.entries(legacy)) {
      if (!fromDefaults.has(key)) options[key] = value;
    }
    const opDefaults = this.single(el, xpath, "op_defaults");
    const opTimeout = opDefaults
      ? this.opDefaults(opDefaults.element, opDefaults.xpath)
      : undefined;
    config.options = options;

    const nodes = this.single(el, xpath, "nodes");
    config.nodes = nodes ? this.nodes(nodes.element, nodes.xpath) : [];

    const resources = this.single(el, xpath, "resources");
    const built = resources ? this.resources(resources.element, resources.xpath) : [];
    for (const r of built) {
      for (const [key, value] of Object.entries(resourceDefaults)) {
        const meta = r.raw.meta as Raw;
        if (!(key in meta)) meta[key] = value;
      }
      pushDownMeta(r);
    }
    if (opTimeout !== undefined) this.applyOpTimeout(built, opTimeout);
    config.resources = built.map((r) => r.raw);

    const constraints = this.single(el, xpath, "constraints");
    config.constraints = constraints
      ? this.constraints(constraints.element, constraints.xpath)
      : { locations: [], colocations: [], orders: [] };
    return config;
  }

  private crmConfig(el: XmlElement, xpath: string, options: Raw, legacy: Raw): void {
    this.checkAttributes(el, xpath, []);
    this.checkChildren(el, xpath, ["cluster_property_set"]);
    const pairs = this.readSets(el, xpath, "cluster_property_set", "cib-bootstrap-options");
    for (const [name, nv] of pairs) {
      const v = nv.value;
      const boolean = BOOLEAN_OPTIONS.get(name);
      if (boolean !== undefined) {
        const [field, fallback] = boolean;
        options[field] = this.boolean(v, nv.element, nv.xpath, fallback);
        this.at(["config", "options", field], nv.element, nv.xpath);
        continue;
      }
      const legacyField = LEGACY_OPTIONS.get(name);
      if (legacyField !== undefined) {
        const value = this.optionValue(legacyField, nv, name);
        if (value !== undefined) legacy[legacyField] = value;
        continue;
      }
      switch (name) {
        case "stonith-action": {
          const action = normalized(v) === "poweroff" ? "off" : normalized(v);
          const valid = this.valid(nv, name, oneOf(STONITH_ACTIONS)(action), "reboot");
          if (valid !== undefined) options.stonithAction = valid;
          break;
        }
        case "no-quorum-policy": {
          const policy = this.valid(nv, name, oneOf(NO_QUORUM_POLICY)(v), "stop");
          if (policy !== undefined) options.noQuorumPolicy = policy;
          break;
        }
        default:
          this.report(
            "nvpair",
            name,
            nv.element,
            nv.xpath,
            KNOWN_PACEMAKER_OPTIONS.has(name)
              ? `cluster option ${name}="${v}" is not supported by Vigil`
              : `${name} is not a Pacemaker cluster option (Pacemaker ignores it too)`,
          );
      }
    }
  }

  private rscDefaults(
    el: XmlElement,
    xpath: string,
    options: Raw,
    resourceDefaults: Raw,
    fromDefaults: Set<string>,
  ): void {
    this.checkAttributes(el, xpath, []);
    this.checkChildren(el, xpath, ["meta_attributes"]);
    const pairs = this.readSets(el, xpath, "meta_attributes");
    for (const [name, nv] of pairs) {
      const field = RSC_DEFAULT_OPTIONS.get(name);
      if (field !== undefined) {
        const value = this.optionValue(field, nv, name);
        if (value !== undefined) {
          options[field] = value;
          fromDefaults.add(field);
        }
      } else if (COMMON_META.has(name)) {
        Object.assign(resourceDefaults, this.meta(new Map([[name, nv]]), "primitive"));
      } else {
        this.report(
          "nvpair",
          name,
          nv.element,
          nv.xpath,
          `resource default ${name} is not supported`,
        );
      }
    }
  }

  /** A stickiness, migration-threshold or failure-timeout option; undefined (reported) if invalid. */
  private optionValue(field: keyof ClusterOptions, nv: Nvpair, name: string): unknown {
    switch (field) {
      case "stickiness":
        return this.score(nv, name);
      case "migrationThreshold":
        return this.threshold(nv, name);
      default:
        this.at(["config", "options", field], nv.element, nv.xpath);
        return nv.value;
    }
  }

  private opDefaults(el: XmlElement, xpath: string): string | undefined {
    this.checkAttributes(el, xpath, []);
    this.checkChildren(el, xpath, ["meta_attributes"]);
    const pairs = this.readSets(el, xpath, "meta_attributes");
    let timeout: string | undefined;
    for (const [name, nv] of pairs) {
      if (name === "timeout") {
        timeout = nv.value;
        this.report(
          "lossy",
          name,
          nv.element,
          nv.xpath,
          "op_defaults timeout is written into every configured operation without a timeout; " +
            "actions not configured as operations keep the agent's default",
        );
      } else {
        this.report(
          "nvpair",
          name,
          nv.element,
          nv.xpath,
          `operation default ${name} is not supported`,
        );
      }
    }
    return timeout;
  }

  private applyOpTimeout(resources: readonly RawResource[], timeout: string): void {
    for (const r of resources) {
      if (r.kind === "primitive") {
        for (const op of r.raw.operations as Raw[]) {
          if (op.timeoutMs === undefined) op.timeoutMs = timeout;
        }
      }
      this.applyOpTimeout(r.members, timeout);
    }
  }

  private nodes(el: XmlElement, xpath: string): Raw[] {
    this.checkAttributes(el, xpath, []);
    this.checkChildren(el, xpath, ["node"]);
    const out: Raw[] = [];
    const seen = new Set<string>();
    for (const { element: node, xpath: nodePath } of this.children(el, xpath, "node")) {
      this.checkAttributes(node, nodePath, ["id", "uname", "type"]);
      this.checkChildren(node, nodePath, ["instance_attributes"]);
      const type = node.attributes.type;
      const id = node.attributes.id;
      const name = node.attributes.uname ?? id;
      if (name === undefined) throw this.error(node, nodePath, "a node needs a uname or an id");
      if (type !== undefined && type !== "member" && type !== "normal") {
        this.report(
          "element",
          "node",
          node,
          nodePath,
          `node of type "${type}" is not supported; left out`,
        );
        continue;
      }
      if (seen.has(name)) {
        this.report(
          "element",
          "node",
          node,
          nodePath,
          `node "${name}" is configured twice; the second is left out`,
        );
        continue;
      }
      seen.add(name);
      if (id !== undefined) this.nodeNames.set(id, name);
      const raw: Raw = { name, attributes: {} };
      // The schema says the id defaults to the name, so an id equal to the name is left out.
      if (id !== undefined && id !== name) raw.id = id;
      const key = ["config", "nodes", out.length];
      this.at(key, node, nodePath);
      const attributes: Record<string, string> = {};
      for (const [attr, nv] of this.readSets(node, nodePath, "instance_attributes")) {
        if (attr === "standby" || attr === "maintenance") {
          raw[attr] = this.boolean(nv.value, nv.element, nv.xpath, false);
        } else {
          attributes[attr] = nv.value;
        }
      }
      raw.attributes = attributes;
      out.push(raw);
    }
    return out;
  }

  // --- resources -----------------------------------------------------------

  private resources(el: XmlElement, xpath: string): RawResource[] {
    this.checkAttributes(el, xpath, []);
    const out: RawResource[] = [];
    for (const child of el.children) {
      const childPath = xpath + "/" + this.step(el, child);
      const key = ["config", "resources", out.length];
      const r = this.resource(child, childPath, key, "top");
      if (r) out.push(r);
    }
    return out;
  }

  private resource(
    el: XmlElement,
    xpath: string,
    key: PathKey,
    context: "top" | "group" | "clone",
  ): RawResource | undefined {
    switch (el.name) {
      case "primitive":
        return this.primitive(el, xpath, key);
      case "group":
        if (context === "group") break;
        return this.group(el, xpath, key);
      case "clone":
      case "master":
        if (context !== "top") break;
        return this.clone(el, xpath, key);
      case "bundle":
      case "template":
        this.dropResource(el, xpath, `${el.name} is not supported; left out`);
        return undefined;
    }
    this.report(
      "element",
      el.name,
      el,
      xpath,
      `<${el.name}> is not a resource Vigil supports here; left out`,
    );
    this.dropResource(el, xpath, undefined);
    return undefined;
  }

  /** Leaves a resource (and everything inside it) out, so constraints on it are left out too. */
  private dropResource(el: XmlElement, xpath: string, what: string | undefined): void {
    if (what !== undefined) this.report("element", el.name, el, xpath, what);
    const visit = (e: XmlElement, depth: number) => {
      if (depth > 8) return;
      if (
        e.attributes.id !== undefined &&
        ["primitive", "group", "clone", "master", "bundle", "template"].includes(e.name)
      ) {
        this.droppedResourceIds.add(e.attributes.id);
      }
      for (const c of e.children) visit(c, depth + 1);
    };
    visit(el, 0);
  }

  private primitive(el: XmlElement, xpath: string, key: PathKey): RawResource | undefined {
    const a = el.attributes;
    if (a.template !== undefined) {
      this.dropResource(
        el,
        xpath,
        `primitive using template "${a.template}" is not supported; left out`,
      );
      return undefined;
    }
    this.checkAttributes(el, xpath, ["id", "class", "provider", "type"]);
    this.checkChildren(el, xpath, ["instance_attributes", "meta_attributes", "operations"]);
    if (a.id === undefined) throw this.error(el, xpath, "a primitive needs an id");
    if (!isAgentWord(a.class) || !isAgentWord(a.type)) {
      throw this.error(el, xpath, `primitive "${a.id}" needs a class and a type`);
    }
    if (a.class === "ocf" && !isAgentWord(a.provider)) {
      throw this.error(el, xpath, `ocf primitive "${a.id}" needs a provider`);
    }
    this.at(key, el, xpath);
    this.resourceIds.add(a.id);
    const params: Record<string, string> = {};
    for (const [name, nv] of this.readSets(el, xpath, "instance_attributes")) {
      params[name] = nv.value;
    }
    const meta = this.meta(this.readSets(el, xpath, "meta_attributes"), "primitive", key);
    const operations: Raw[] = [];
    for (const op of this.descendants(el, xpath, ["operations", "op"])) {
      const raw = this.operation(op.element, op.xpath, [...key, "operations", operations.length]);
      if (raw) operations.push(raw);
    }
    return {
      kind: "primitive",
      members: [],
      raw: {
        kind: "primitive",
        id: a.id,
        agent: agentSpec(a.class, a.provider, a.type),
        params,
        meta,
        operations,
      },
    };
  }

  private operation(el: XmlElement, xpath: string, key: PathKey): Raw | undefined {
    const a = el.attributes;
    if (a["id-ref"] !== undefined) {
      this.report(
        "element",
        "op",
        el,
        xpath,
        "operation by reference (id-ref) is not supported; left out",
      );
      return undefined;
    }
    this.checkAttributes(el, xpath, [
      "id",
      "name",
      "interval",
      "timeout",
      "on-fail",
      "role",
      "enabled",
    ]);
    this.checkChildren(el, xpath, ["instance_attributes"]);
    if (a.name === undefined) throw this.error(el, xpath, "an op needs a name");
    this.at(key, el, xpath);
    const op: Raw = { name: a.name, intervalMs: a.interval ?? "0" };
    this.mapAttributes(el, xpath, op, [
      { attr: "id", field: "id", parse: asWritten },
      { attr: "timeout", field: "timeoutMs", parse: asWritten },
      {
        attr: "on-fail",
        field: "onFail",
        parse: oneOf(ON_FAIL),
        invalid: (t) => `on-fail="${t}" is not supported; the action's default applies`,
      },
      { attr: "role", field: "role", parse: parseRole, invalid: roleLeftOut },
    ]);
    if (a.enabled !== undefined) {
      op.enabled = this.boolean(a.enabled, el, xpath + "/@enabled", true);
    }
    for (const [name, nv] of this.readSets(el, xpath, "instance_attributes")) {
      if (name === "OCF_CHECK_LEVEL") {
        const depth = parsePacemakerScore(nv.value);
        if (depth !== undefined && depth >= 0) op.depth = depth;
        else this.invalid(nv, name, "0");
      } else {
        this.report(
          "nvpair",
          name,
          nv.element,
          nv.xpath,
          `operation parameter ${name} is not supported`,
        );
      }
    }
    return op;
  }

  private group(el: XmlElement, xpath: string, key: PathKey): RawResource | undefined {
    const a = el.attributes;
    this.checkAttributes(el, xpath, ["id"]);
    this.checkChildren(el, xpath, ["primitive", "meta_attributes", "instance_attributes"], [
      "template",
      "bundle",
      "group",
      "clone",
      "master",
    ]);
    if (a.id === undefined) throw this.error(el, xpath, "a group needs an id");
    this.at(key, el, xpath);
    const members: RawResource[] = [];
    for (const child of el.children) {
      if (!["primitive", "template", "bundle", "group", "clone", "master"].includes(child.name)) {
        continue;
      }
      const childPath = xpath + "/" + this.step(el, child);
      const r = this.resource(child, childPath, [...key, "members", members.length], "group");
      if (r) members.push(r);
    }
    if (members.length === 0) {
      this.dropResource(el, xpath, `group "${a.id}" has no supported members; left out`);
      return undefined;
    }
    this.resourceIds.add(a.id);
    const meta = this.meta(this.readSets(el, xpath, "meta_attributes"), "group", key);
    this.inheritParams(el, xpath, members);
    return {
      kind: "group",
      members,
      raw: { kind: "group", id: a.id, meta, members: members.map((m) => m.raw) },
    };
  }

  private clone(el: XmlElement, xpath: string, key: PathKey): RawResource | undefined {
    const a = el.attributes;
    this.checkAttributes(el, xpath, ["id"]);
    this.checkChildren(
      el,
      xpath,
      ["primitive", "group", "meta_attributes", "instance_attributes"],
      ["template", "bundle", "clone", "master"],
    );
    if (a.id === undefined) throw this.error(el, xpath, `a ${el.name} needs an id`);
    this.at(key, el, xpath);
    let child: RawResource | undefined;
    for (const c of el.children) {
      if (!["primitive", "group", "template", "bundle", "clone", "master"].includes(c.name)) {
        continue;
      }
      const childPath = xpath + "/" + this.step(el, c);
      if (child !== undefined) {
        this.report(
          "element",
          c.name,
          c,
          childPath,
          `a ${el.name} holds one resource; this one is left out`,
        );
        this.dropResource(c, childPath, undefined);
        continue;
      }
      child = this.resource(c, childPath, [...key, "resource"], "clone");
    }
    if (child === undefined) {
      this.dropResource(el, xpath, `${el.name} "${a.id}" has no supported resource; left out`);
      return undefined;
    }
    this.resourceIds.add(a.id);
    const meta = this.meta(this.readSets(el, xpath, "meta_attributes"), "clone", key);
    if (el.name === "master") meta.promotable = true;
    this.inheritParams(el, xpath, child.kind === "group" ? child.members : [child]);
    return {
      kind: "clone",
      members: [child],
      raw: { kind: "clone", id: a.id, meta, resource: child.raw },
    };
  }

  /** Copies a group's or clone's instance attributes into the params of its primitives. */
  private inheritParams(el: XmlElement, xpath: string, primitives: readonly RawResource[]): void {
    const pairs = this.readSets(el, xpath, "instance_attributes");
    for (const [name, nv] of pairs) {
      for (const p of primitives) {
        const params = p.raw.params as Record<string, string>;
        if (!(name in params)) params[name] = nv.value;
      }
      this.report(
        "lossy",
        name,
        nv.element,
        nv.xpath,
        `instance attribute of a ${el.name} is copied into the params of each primitive that lacks it`,
      );
    }
  }

  /** Maps meta attributes to Vigil's meta fields; only explicitly set fields are present. */
  private meta(
    pairs: Map<string, Nvpair>,
    level: "primitive" | "group" | "clone",
    key?: PathKey,
  ): Raw {
    const meta: Raw = {};
    let masterMax: number | undefined;
    let masterNodeMax: number | undefined;
    for (const [name, nv] of pairs) {
      const v = nv.value.trim();
      const field = (f: string) => key && this.at([...key, "meta", f], nv.element, nv.xpath);
      if (CLONE_META.has(name) && level === "clone") {
        switch (name) {
          case "clone-max":
          case "clone-node-max":
          case "promoted-max":
          case "promoted-node-max":
          case "master-max":
          case "master-node-max": {
            const n = parsePacemakerScore(v);
            if (n === undefined || n < 0) {
              this.invalid(nv, name, "the default");
              break;
            }
            if (name === "master-max") masterMax = n;
            else if (name === "master-node-max") masterNodeMax = n;
            else meta[camel(name)] = n;
            field(camel(name));
            break;
          }
          default:
            meta[camel(name)] = this.boolean(v, nv.element, nv.xpath, false);
        }
        continue;
      }
      if ((name === "ordered" || name === "collocated") && level === "group") {
        if (!this.boolean(v, nv.element, nv.xpath, true)) {
          this.report(
            "value",
            name,
            nv.element,
            nv.xpath,
            `a group with ${name}=false is not supported; its members are kept ${name}`,
          );
        }
        continue;
      }
      if (!COMMON_META.has(name)) {
        this.report(
          "nvpair",
          name,
          nv.element,
          nv.xpath,
          CLONE_META.has(name)
            ? `clone option ${name} on a ${level} has no effect (as in Pacemaker)`
            : `meta attribute ${name} is not supported`,
        );
        continue;
      }
      const value = this.commonMetaValue(name, nv);
      if (value !== undefined) meta[COMMON_META_FIELDS[name]] = value;
      field(COMMON_META_FIELDS[name]);
    }
    if (masterMax !== undefined && meta.promotedMax === undefined) meta.promotedMax = masterMax;
    if (masterNodeMax !== undefined && meta.promotedNodeMax === undefined) {
      meta.promotedNodeMax = masterNodeMax;
    }
    return meta;
  }

  /** The value of a meta attribute of COMMON_META_FIELDS; undefined (reported) if invalid. */
  private commonMetaValue(name: string, nv: Nvpair): unknown {
    const v = nv.value.trim();
    switch (name) {
      case "target-role":
        return this.valid(nv, name, parseRole(v), "no target role");
      case "resource-stickiness":
      case "priority":
        return this.score(nv, name);
      case "migration-threshold":
        return this.threshold(nv, name);
      case "failure-timeout":
        return v;
      case "is-managed":
        return this.boolean(v, nv.element, nv.xpath, false);
      case "multiple-active":
        return this.valid(nv, name, oneOf(MULTIPLE_ACTIVE)(v), "stop_start");
      case "requires":
        return this.valid(nv, name, oneOf(REQUIRES)(v), "the default");
    }
    return undefined;
  }

  // --- constraints ---------------------------------------------------------

  private constraints(el: XmlElement, xpath: string): Raw {
    this.checkAttributes(el, xpath, []);
    const out = { locations: [] as Raw[], colocations: [] as Raw[], orders: [] as Raw[] };
    for (const child of el.children) {
      const childPath = xpath + "/" + this.step(el, child);
      const sets = childElements(child, "resource_set");
      if (
        sets.length > 0 &&
        ["rsc_location", "rsc_colocation", "rsc_order", "rsc_ticket"].includes(child.name)
      ) {
        this.report(
          "element",
          "resource_set",
          child,
          childPath,
          `${child.name} with resource sets is not supported; left out`,
        );
        continue;
      }
      const list = CONSTRAINT_LISTS.get(child.name);
      if (list === undefined) {
        this.report(
          "element",
          child.name,
          child,
          childPath,
          `<${child.name}> is not supported; left out`,
        );
        continue;
      }
      const read =
        { locations: this.location, colocations: this.colocation, orders: this.order }[list];
      const raw = read.call(this, child, childPath, [
        "config",
        "constraints",
        list,
        out[list].length,
      ]);
      if (raw) out[list].push(raw);
    }
    return out;
  }

  /** Whether a constraint's resource reference can be kept; reports and returns false if not. */
  private knownResource(el: XmlElement, xpath: string, attr: string): string | undefined {
    const id = el.attributes[attr];
    if (id === undefined) {
      this.report(
        "reference",
        el.name,
        el,
        xpath,
        `${el.name} without ${attr} is not supported; left out`,
      );
      return undefined;
    }
    if (this.resourceIds.has(id)) return id;
    this.report(
      "reference",
      el.name,
      el,
      xpath,
      this.droppedResourceIds.has(id)
        ? `${attr}="${id}" names a resource that was left out; constraint left out`
        : `${attr}="${id}" names no resource; constraint left out (Pacemaker ignores it too)`,
    );
    return undefined;
  }

  /**
   * The resources a two-resource constraint names in `attr` and `otherAttr`, if
   * both are kept (else the first missing one is reported and the constraint left out).
   */
  private resourcePair(
    el: XmlElement,
    xpath: string,
    key: PathKey,
    attr: string,
    otherAttr: string,
  ): [string, string] | undefined {
    const first = this.knownResource(el, xpath, attr);
    const second = first === undefined ? undefined : this.knownResource(el, xpath, otherAttr);
    if (first === undefined || second === undefined) return undefined;
    this.at(key, el, xpath);
    return [first, second];
  }

  private location(el: XmlElement, xpath: string, key: PathKey): Raw | undefined {
    const a = el.attributes;
    if (a["rsc-pattern"] !== undefined) {
      this.report(
        "element",
        "rsc_location",
        el,
        xpath,
        "rsc_location with rsc-pattern is not supported; left out",
      );
      return undefined;
    }
    if (childElements(el, "lifetime").length > 0) {
      this.report(
        "element",
        "lifetime",
        el,
        xpath,
        "rsc_location with a lifetime is not supported; left out",
      );
      return undefined;
    }
    this.checkAttributes(el, xpath, ["id", "rsc", "node", "score", "role", "resource-discovery"]);
    this.checkChildren(el, xpath, ["rule"]);
    const rsc = this.knownResource(el, xpath, "rsc");
    if (rsc === undefined) return undefined;
    this.at(key, el, xpath);
    const raw: Raw = { id: a.id, resource: rsc };
    this.mapAttributes(el, xpath, raw, [
      { attr: "role", field: "role", parse: parseRole, invalid: roleLeftOut },
      {
        attr: "resource-discovery",
        field: "resourceDiscovery",
        parse: oneOf(RESOURCE_DISCOVERY),
        invalid: (t) => `resource-discovery="${t}" is not valid; always applies`,
      },
    ]);
    // A move with a lifetime (crm_resource --move --lifetime, or Vigil's own export).
    const move = a.node === undefined && a.score === undefined ? timedMove(el) : undefined;
    if (move !== undefined) return { ...raw, ...move };
    const rules = this.children(el, xpath, "rule");
    if (a.node !== undefined && a.score !== undefined) {
      raw.node = a.node;
      const score = parsePacemakerScore(a.score);
      if (score === undefined) {
        this.reportValue(
          el,
          xpath,
          "score",
          `score "${a.score}" is not a score; constraint left out`,
        );
        return undefined;
      }
      raw.score = score;
      for (const r of rules) {
        this.report(
          "element",
          "rule",
          r.element,
          r.xpath,
          "rules of a location with node and score are ignored (as in Pacemaker)",
        );
      }
      return raw;
    }
    if (a.node !== undefined || a.score !== undefined) {
      this.report(
        "attribute",
        a.node !== undefined ? "node" : "score",
        el,
        xpath,
        "node or score without the other is ignored (as in Pacemaker)",
      );
    }
    const out: Raw[] = [];
    for (const r of rules) {
      // Old CIBs put the role on the rule; with one rule it is the location's role.
      const ruleRole = r.element.attributes.role;
      if (ruleRole !== undefined) {
        const role = parseRole(ruleRole);
        if (role === undefined || rules.length > 1 || (raw.role ?? role) !== role) {
          this.report(
            "element",
            "rule",
            r.element,
            r.xpath,
            `rule with role="${ruleRole}" is not supported here; left out`,
          );
          continue;
        }
        raw.role = role;
      }
      const rule = this.rule(r.element, r.xpath, [...key, "rules", out.length]);
      if (rule) out.push(rule);
    }
    if (out.length === 0) {
      this.report(
        "element",
        "rsc_location",
        el,
        xpath,
        "location has no node and score and no supported rule; left out",
      );
      return undefined;
    }
    raw.rules = out;
    return raw;
  }

  private rule(el: XmlElement, xpath: string, key: PathKey): Raw | undefined {
    const a = el.attributes;
    if (a["id-ref"] !== undefined) {
      this.report(
        "element",
        "rule",
        el,
        xpath,
        "rule by reference (id-ref) is not supported; left out",
      );
      return undefined;
    }
    for (const tag of ["date_expression", "rsc_expression", "op_expression"]) {
      const found = childElements(el, tag);
      if (found.length > 0) {
        this.report(
          "element",
          tag,
          found[0],
          xpath + "/" + this.step(el, found[0]),
          `${tag} is not supported; the whole rule is left out`,
        );
        return undefined;
      }
    }
    // A top-level rule's role was handled by the location; a nested one's is reported.
    const topLevel = key[key.length - 4] === "locations";
    this.checkAttributes(el, xpath, [
      "id",
      "score",
      "score-attribute",
      "boolean-op",
      ...(topLevel ? ["role"] : []),
    ]);
    this.checkChildren(el, xpath, ["expression", "rule"]);
    const raw: Raw = {};
    if (a.id !== undefined) raw.id = a.id;
    if (a.score !== undefined) {
      const score = parsePacemakerScore(a.score);
      if (score === undefined) {
        this.reportValue(el, xpath, "score", `score "${a.score}" is not a score; rule left out`);
        return undefined;
      }
      // Pacemaker's schema wants a score on nested rules too; it ignores it, but it is kept.
      raw.score = score;
    }
    if (a["score-attribute"] !== undefined) raw.scoreAttribute = a["score-attribute"];
    // Pacemaker reads a missing score as 0 (and its schema wants one): say so explicitly.
    if (raw.score === undefined && raw.scoreAttribute === undefined) raw.score = 0;
    this.mapAttributes(el, xpath, raw, [{
      attr: "boolean-op",
      field: "booleanOp",
      parse: oneOf(BOOLEAN_OPS),
      invalid: (t) => `boolean-op "${t}" is not and/or; and applies`,
    }]);
    this.at(key, el, xpath);
    const expressions: Raw[] = [];
    const rules: Raw[] = [];
    for (const child of el.children) {
      const childPath = xpath + "/" + this.step(el, child);
      if (child.name === "expression") {
        expressions.push(
          this.expression(child, childPath, [...key, "expressions", expressions.length]),
        );
      } else if (child.name === "rule") {
        const nested = this.rule(child, childPath, [...key, "rules", rules.length]);
        if (nested === undefined) {
          this.report(
            "element",
            "rule",
            el,
            xpath,
            "a nested rule was left out, so this rule is left out too",
          );
          return undefined;
        }
        rules.push(nested);
      }
    }
    if (expressions.length + rules.length === 0) {
      this.report("element", "rule", el, xpath, "an empty rule is not supported; left out");
      return undefined;
    }
    raw.expressions = expressions;
    raw.rules = rules;
    return raw;
  }

  private expression(el: XmlElement, xpath: string, key: PathKey): Raw {
    const a = el.attributes;
    this.checkAttributes(el, xpath, [
      "id",
      "attribute",
      "operation",
      "value",
      "type",
      "value-source",
    ]);
    this.checkChildren(el, xpath, []);
    this.at(key, el, xpath);
    const raw: Raw = { attribute: a.attribute, operation: a.operation?.trim().toLowerCase() };
    this.mapAttributes(el, xpath, raw, [
      { attr: "id", field: "id", parse: asWritten },
      { attr: "value", field: "value", parse: asWritten },
      {
        attr: "type",
        field: "type",
        parse: oneOf(EXPRESSION_TYPES),
        invalid: (t) => `type "${t}" is not supported; the type is guessed`,
      },
      { attr: "value-source", field: "valueSource", parse: normalized },
    ]);
    return raw;
  }

  private colocation(el: XmlElement, xpath: string, key: PathKey): Raw | undefined {
    const a = el.attributes;
    this.checkAttributes(el, xpath, [
      "id",
      "rsc",
      "with-rsc",
      "score",
      "rsc-role",
      "with-rsc-role",
      "node-attribute",
    ]);
    this.checkChildren(el, xpath, []);
    const pair = this.resourcePair(el, xpath, key, "rsc", "with-rsc");
    if (pair === undefined) return undefined;
    const raw: Raw = { id: a.id, resource: pair[0], withResource: pair[1], score: 0 };
    const anyRole = (t: string) => `role "${t}" is not a role; any role applies`;
    this.mapAttributes(el, xpath, raw, [
      {
        attr: "score",
        field: "score",
        parse: parsePacemakerScore,
        invalid: (t) => `score "${t}" is not a score; 0 applies (no effect)`,
      },
      { attr: "rsc-role", field: "role", parse: parseRole, invalid: anyRole },
      { attr: "with-rsc-role", field: "withRole", parse: parseRole, invalid: anyRole },
      { attr: "node-attribute", field: "nodeAttribute", parse: asWritten },
    ]);
    return raw;
  }

  private order(el: XmlElement, xpath: string, key: PathKey): Raw | undefined {
    const a = el.attributes;
    this.checkAttributes(el, xpath, [
      "id",
      "first",
      "then",
      "first-action",
      "then-action",
      "kind",
      "symmetrical",
      "score",
    ]);
    this.checkChildren(el, xpath, []);
    const pair = this.resourcePair(el, xpath, key, "first", "then");
    if (pair === undefined) return undefined;
    const raw: Raw = { id: a.id, first: pair[0], then: pair[1] };
    this.mapAttributes(el, xpath, raw, [
      { attr: "first-action", field: "firstAction", parse: normalized },
      { attr: "then-action", field: "thenAction", parse: normalized },
    ]);
    if (a.kind !== undefined) {
      const kind = { mandatory: "Mandatory", optional: "Optional", serialize: "Serialize" }[
        a.kind.trim().toLowerCase()
      ];
      raw.kind = kind ?? "Mandatory";
      if (kind === undefined) {
        this.reportValue(
          el,
          xpath,
          "kind",
          `kind "${a.kind}" is not valid; Mandatory applies (as in Pacemaker)`,
        );
      }
      if (a.score !== undefined) {
        this.report(
          "attribute",
          "score",
          el,
          xpath + "/@score",
          "score is ignored when kind is given (as in Pacemaker)",
        );
      }
    } else if (a.score !== undefined) {
      // Before "kind" existed, a score of 0 made an ordering optional.
      raw.kind = parsePacemakerScore(a.score) === 0 ? "Optional" : "Mandatory";
    }
    this.mapAttributes(el, xpath, raw, [{
      attr: "symmetrical",
      field: "symmetrical",
      parse: parsePacemakerBoolean,
      invalid: (t) => `symmetrical="${t}" is not a boolean; the default applies`,
    }]);
    return raw;
  }

  // --- status --------------------------------------------------------------

  private status(el: XmlElement, xpath: string): Raw {
    this.checkAttributes(el, xpath, []);
    this.checkChildren(el, xpath, ["node_state"]);
    const nodes: Record<string, Raw> = {};
    for (const { element: ns, xpath: nsPath } of this.children(el, xpath, "node_state")) {
      const a = ns.attributes;
      this.checkAttributes(ns, nsPath, [
        "id",
        "uname",
        "in_ccm",
        "crmd",
        "join",
        "expected",
        "shutdown",
      ]);
      this.checkChildren(ns, nsPath, ["transient_attributes", "lrm"]);
      const name = a.uname ?? (a.id !== undefined ? this.nodeNames.get(a.id) ?? a.id : undefined);
      if (name === undefined) throw this.error(ns, nsPath, "a node_state needs a uname or an id");
      if (nodes[name] !== undefined) {
        this.report(
          "element",
          "node_state",
          ns,
          nsPath,
          `second node_state for "${name}" left out`,
        );
        continue;
      }
      if (a.id !== undefined && !this.nodeNames.has(a.id)) this.nodeNames.set(a.id, name);
      const key = ["status", "nodes", name];
      this.at(key, ns, nsPath);
      const raw: Raw = { online: this.membership(a.crmd, ns, nsPath + "/@crmd", "online") };
      // An absent in_ccm means "never seen by the cluster layer", which Pacemaker fences
      // for; it is left unset so a schema that can say so keeps the difference.
      if (a.in_ccm !== undefined) {
        raw.inMembership = this.membership(a.in_ccm, ns, nsPath + "/@in_ccm", "true");
      }
      this.mapAttributes(ns, nsPath, raw, [
        {
          attr: "join",
          field: "join",
          parse: exactlyOneOf(JOIN_STATES),
          invalid: (t) => `join="${t}" is not a join state; down applies`,
        },
        {
          attr: "expected",
          field: "expected",
          parse: exactlyOneOf(EXPECTED_STATES),
          invalid: (t) => `expected="${t}" is not member/down; down applies`,
        },
      ]);
      if (a.shutdown !== undefined && a.shutdown !== "0") {
        this.report(
          "attribute",
          "shutdown",
          ns,
          nsPath + "/@shutdown",
          "the legacy node_state shutdown attribute is ignored (as in Pacemaker 2); the transient attribute shutdown counts",
        );
      }
      this.transientAttributes(ns, nsPath, raw, key);
      raw.resources = this.lrm(ns, nsPath, key);
      nodes[name] = raw;
    }
    return { nodes };
  }

  /** in_ccm / crmd: a boolean word, "online"/"offline", or a timestamp (non-zero: yes). */
  private membership(
    value: string | undefined,
    el: XmlElement,
    xpath: string,
    yes: string,
  ): boolean {
    if (value === undefined) return false;
    const v = value.trim().toLowerCase();
    if (v === yes) return true;
    if (v === "offline") return false;
    if (/^\d+$/.test(v)) return Number(v) > 0;
    const b = parsePacemakerBoolean(v);
    if (b !== undefined) return b;
    this.report(
      "value",
      subjectName(xpath),
      el,
      xpath,
      `"${value}" is not understood; false applies`,
    );
    return false;
  }

  private transientAttributes(ns: XmlElement, nsPath: string, raw: Raw, key: PathKey): void {
    const attributes: Record<string, string> = {};
    const failures: Record<string, { count: number; lastFailure?: number }> = {};
    const failure = (rsc: string) => failures[rsc] ??= { count: 0 };
    for (const ta of this.children(ns, nsPath, "transient_attributes")) {
      this.checkAttributes(ta.element, ta.xpath, ["id"]);
      this.checkChildren(ta.element, ta.xpath, ["instance_attributes"]);
      for (const [name, nv] of this.readSets(ta.element, ta.xpath, "instance_attributes")) {
        const failCount = /^fail-count-(.+?)(#.*)?$/.exec(name);
        const lastFailure = /^last-failure-(.+?)(#.*)?$/.exec(name);
        if (failCount) {
          const n = parsePacemakerScore(nv.value);
          if (n === undefined) {
            this.invalid(nv, name, "no failure");
            continue;
          }
          const f = failure(failCount[1]);
          f.count = Math.min(INFINITY, f.count + Math.max(0, n));
          this.at([...key, "failures", failCount[1]], nv.element, nv.xpath);
          if (failCount[2]) {
            this.report(
              "lossy",
              "fail-count-#op",
              nv.element,
              nv.xpath,
              "per-operation fail counts are summed per resource",
            );
          }
        } else if (lastFailure) {
          const t = parseTimestamp(nv.value);
          if (t === undefined || t < 0) {
            this.invalid(nv, name, "no last failure");
            continue;
          }
          const f = failure(lastFailure[1]);
          f.lastFailure = Math.max(f.lastFailure ?? 0, t);
          this.at([...key, "failures", lastFailure[1]], nv.element, nv.xpath);
        } else {
          attributes[name] = nv.value;
          if (name === "shutdown") {
            const t = parseTimestamp(nv.value);
            if (t !== undefined && t >= 0) raw.shutdown = t;
            else this.invalid(nv, name, "0 (not shutting down)");
          }
        }
      }
    }
    raw.attributes = attributes;
    raw.failures = failures;
  }

  private lrm(ns: XmlElement, nsPath: string, key: PathKey): Record<string, Raw> {
    const resources: Record<string, Raw> = {};
    const path = ["lrm", "lrm_resources", "lrm_resource"];
    for (const { element: r, xpath: rPath } of this.descendants(ns, nsPath, path)) {
      this.checkAttributes(r, rPath, ["id", "class", "provider", "type"]);
      this.checkChildren(r, rPath, ["lrm_rsc_op"]);
      const id = r.attributes.id;
      if (id === undefined) throw this.error(r, rPath, "an lrm_resource needs an id");
      const rKey = [...key, "resources", id];
      let history = resources[id];
      if (history === undefined) {
        const { class: cls, provider, type } = r.attributes;
        const valid = isAgentWord(cls) && isAgentWord(type) &&
          (cls !== "ocf" || isAgentWord(provider));
        if (!valid) {
          this.report(
            "value",
            "lrm_resource",
            r,
            rPath,
            "history without a valid class, provider and type: agent recorded as unknown",
          );
        }
        history = resources[id] = {
          agent: valid ? agentSpec(cls, provider, type) : "unknown",
          operations: [],
        };
        this.at(rKey, r, rPath);
      } else {
        this.report(
          "lossy",
          "lrm_resource",
          r,
          rPath,
          `second history of "${id}" merged into the first`,
        );
      }
      const ops = history.operations as Raw[];
      for (const op of this.children(r, rPath, "lrm_rsc_op")) {
        ops.push(
          this.operationRecord(op.element, op.xpath, [...rKey, "operations", ops.length]),
        );
      }
    }
    return resources;
  }

  private operationRecord(el: XmlElement, xpath: string, key: PathKey): Raw {
    const a = el.attributes;
    this.checkAttributes(el, xpath, [
      "id",
      "operation",
      "interval",
      "call-id",
      "rc-code",
      "op-status",
      "transition-key",
      "transition-magic",
      "last-rc-change",
      "exec-time",
      "queue-time",
    ], true);
    // Keys made up by Vigil's export carry only the expected rc, which is kept.
    for (const attr of ["transition-key", "transition-magic"]) {
      const value = a[attr];
      if (value !== undefined && !value.endsWith(`:${EXPORT_TRANSITION_UUID}`)) {
        this.reportAggregated(el, xpath, attr, STATUS_ATTRIBUTE_NOTES[attr]);
      }
    }
    this.checkChildren(el, xpath, []);
    this.at(key, el, xpath);
    const raw: Raw = {
      operation: a.operation,
      intervalMs: a.interval === undefined ? 0 : integerOrNaN(a.interval),
      callId: a["call-id"] === undefined ? undefined : integerOrNaN(a["call-id"]),
      rc: a["rc-code"] === undefined ? undefined : integerOrNaN(a["rc-code"]),
    };
    this.mapAttributes(el, xpath, raw, [{ attr: "id", field: "id", parse: asWritten }]);
    if (a["op-status"] !== undefined) {
      const status = OP_STATUS_NAMES[a["op-status"].trim()];
      if (status === undefined) {
        throw this.error(
          el,
          xpath,
          `op-status "${a["op-status"]}" is not a Pacemaker execution status`,
        );
      }
      raw.status = status;
    }
    const expected = expectedRc(a["transition-key"], false) ??
      expectedRc(a["transition-magic"], true);
    if (expected !== undefined) raw.expectedRc = expected;
    else if (a["transition-key"] !== undefined || a["transition-magic"] !== undefined) {
      this.report(
        "value",
        "transition-key",
        el,
        xpath,
        "transition key not understood; no expected rc recorded",
      );
    }
    this.mapAttributes(el, xpath, raw, [
      { attr: "last-rc-change", field: "lastRcChange", parse: integerOrNaN },
      { attr: "exec-time", field: "execMs", parse: integerOrNaN },
      { attr: "queue-time", field: "queueMs", parse: integerOrNaN },
    ]);
    return raw;
  }

  // --- helpers -------------------------------------------------------------

  /**
   * Reads an element's name/value sets of one tag, merged as Pacemaker does
   * (first value of a name wins; sets ordered by `firstId`, then descending score).
   */
  private readSets(
    owner: XmlElement,
    ownerPath: string,
    tag: string,
    firstId?: string,
  ): Map<string, Nvpair> {
    const sets: { element: XmlElement; xpath: string; score: number; index: number }[] = [];
    for (const [index, set] of this.children(owner, ownerPath, tag).entries()) {
      const s = set.element;
      if (s.attributes["id-ref"] !== undefined) {
        this.report(
          "element",
          tag,
          s,
          set.xpath,
          `${tag} by reference (id-ref) is not supported; not applied`,
        );
        continue;
      }
      const rules = childElements(s, "rule");
      if (rules.length > 0) {
        const count = childElements(s, "nvpair").length;
        this.report(
          "element",
          "rule",
          s,
          set.xpath,
          `conditional ${tag} (with a rule) is not supported; its ${count} nvpairs were not applied`,
        );
        continue;
      }
      this.checkAttributes(s, set.xpath, ["id", "score"]);
      this.checkChildren(s, set.xpath, ["nvpair"]);
      const score = s.attributes.score === undefined
        ? 0
        : parsePacemakerScore(s.attributes.score) ?? 0;
      sets.push({ element: s, xpath: set.xpath, score, index });
    }
    sets.sort((x, y) => {
      const xFirst = firstId !== undefined && x.element.attributes.id === firstId;
      const yFirst = firstId !== undefined && y.element.attributes.id === firstId;
      if (xFirst !== yFirst) return xFirst ? -1 : 1;
      return y.score - x.score || x.index - y.index;
    });
    const pairs = new Map<string, Nvpair>();
    for (const set of sets) {
      for (const nv of this.children(set.element, set.xpath, "nvpair")) {
        const a = nv.element.attributes;
        this.checkAttributes(nv.element, nv.xpath, ["id", "name", "value"]);
        if (a["id-ref"] !== undefined || a.name === undefined || a.value === undefined) {
          this.report(
            "element",
            "nvpair",
            nv.element,
            nv.xpath,
            "nvpair without name and value (or by id-ref) is not supported; not applied",
          );
          continue;
        }
        if (a.value.trim().toLowerCase() === "#default") {
          pairs.delete(a.name);
          continue;
        }
        const earlier = pairs.get(a.name);
        if (earlier !== undefined) {
          this.report(
            "value",
            a.name,
            nv.element,
            nv.xpath,
            `shadowed by an earlier value of ${a.name} (line ${
              earlier.element.line ?? "?"
            }); not applied`,
          );
          continue;
        }
        pairs.set(a.name, { value: a.value, element: nv.element, xpath: nv.xpath });
      }
    }
    return pairs;
  }

  /**
   * The elements reached from `el` through the children named `tags[0]`, their
   * children named `tags[1]` and so on: every element on the way but the last
   * is a wrapper with only an id and children of the next name (checked as the
   * walk reaches it, so reports keep document order).
   */
  private *descendants(el: XmlElement, xpath: string, tags: readonly string[]): Generator<Located> {
    const [tag, ...rest] = tags;
    for (const child of this.children(el, xpath, tag)) {
      if (rest.length === 0) {
        yield child;
        continue;
      }
      this.checkAttributes(child.element, child.xpath, ["id"]);
      this.checkChildren(child.element, child.xpath, [rest[0]]);
      yield* this.descendants(child.element, child.xpath, rest);
    }
  }

  /** The child elements named `name`, with their XPath-like locations. */
  private children(
    el: XmlElement,
    xpath: string,
    name: string,
  ): Located[] {
    return childElements(el, name).map((c) => ({
      element: c,
      xpath: xpath + "/" + this.step(el, c),
    }));
  }

  /** The first child named `name` (more are reported as unsupported). */
  private single(
    el: XmlElement,
    xpath: string,
    name: string,
  ): Located | undefined {
    const found = this.children(el, xpath, name);
    for (const extra of found.slice(1)) {
      this.report(
        "element",
        name,
        extra.element,
        extra.xpath,
        `a second <${name}> is not supported; left out`,
      );
    }
    return found[0];
  }

  private checkChildren(
    el: XmlElement,
    xpath: string,
    known: readonly string[],
    alsoHandled: readonly string[] = [],
  ): void {
    for (const child of el.children) {
      if (known.includes(child.name) || alsoHandled.includes(child.name)) continue;
      if (
        child.name === "rule" &&
        ["meta_attributes", "instance_attributes", "cluster_property_set"].includes(el.name)
      ) continue;
      this.report(
        "element",
        child.name,
        child,
        xpath + "/" + this.step(el, child),
        `<${child.name}> is not supported; left out`,
      );
    }
  }

  private checkAttributes(
    el: XmlElement,
    xpath: string,
    known: readonly string[],
    aggregate = false,
  ): void {
    for (const name of Object.keys(el.attributes)) {
      if (known.includes(name)) continue;
      const note = STATUS_ATTRIBUTE_NOTES[name] ?? `attribute ${name} is not kept`;
      if (aggregate || xpath.startsWith("/cib/status")) {
        this.reportAggregated(el, xpath, name, note);
      } else this.report("attribute", name, el, `${xpath}/@${name}`, note);
    }
  }

  /** Reports an attribute once per place (path without predicates), counting occurrences. */
  private reportAggregated(el: XmlElement, xpath: string, name: string, what: string): void {
    const generic = stripPredicates(xpath) + "/@" + name;
    const existing = this.aggregated.get(generic);
    if (existing !== undefined) {
      existing.count = (existing.count ?? 1) + 1;
      return;
    }
    const item: UnsupportedItem = { path: generic, what, kind: "attribute", name, count: 1 };
    if (el.line !== undefined) item.line = el.line;
    this.aggregated.set(generic, item);
    this.unsupported.push(item);
  }

  /** Sets `raw[field]` from each mapped attribute `el` has, in table order; reports invalid ones. */
  private mapAttributes(
    el: XmlElement,
    xpath: string,
    raw: Raw,
    mappings: readonly AttributeMapping[],
  ): void {
    for (const { attr, field, parse, invalid } of mappings) {
      const text = el.attributes[attr];
      if (text === undefined) continue;
      const value = parse(text);
      if (value !== undefined) raw[field] = value;
      else if (invalid !== undefined) this.reportValue(el, xpath, attr, invalid(text));
    }
  }

  /** Reports the value of attribute `attr` of `el` (at `xpath`) as not carried over. */
  private reportValue(el: XmlElement, xpath: string, attr: string, what: string): void {
    this.report("value", attr, el, `${xpath}/@${attr}`, what);
  }

  private report(
    kind: UnsupportedKind,
    name: string,
    el: XmlElement,
    path: string,
    what: string,
  ): void {
    const item: UnsupportedItem = { path, what, kind, name };
    if (el.line !== undefined) item.line = el.line;
    this.unsupported.push(item);
  }

  private invalid(nv: Nvpair, name: string, fallback: string): void {
    this.report(
      "value",
      name,
      nv.element,
      nv.xpath,
      `${name}="${nv.value}" is not valid; ${fallback} applies`,
    );
  }

  /** `value` as it is; when undefined, `nv` is reported invalid with `fallback` applying. */
  private valid<T>(
    nv: Nvpair,
    name: string,
    value: T | undefined,
    fallback: string,
  ): T | undefined {
    if (value === undefined) this.invalid(nv, name, fallback);
    return value;
  }

  private score(nv: Nvpair, name: string): number | undefined {
    return this.valid(nv, name, parsePacemakerScore(nv.value), "the default");
  }

  /** migration-threshold: a score; negative means 1 in Pacemaker 2.1. */
  private threshold(nv: Nvpair, name: string): number | undefined {
    const n = this.score(nv, name);
    if (n === undefined || n >= 0) return n;
    this.invalid(nv, name, "1 (as in Pacemaker)");
    return 1;
  }

  private boolean(value: string, el: XmlElement, xpath: string, fallback: boolean): boolean {
    const b = parsePacemakerBoolean(value);
    if (b !== undefined) return b;
    this.report(
      "value",
      subjectName(xpath),
      el,
      xpath,
      `"${value}" is not a boolean; ${fallback} applies`,
    );
    return fallback;
  }

  private at(key: PathKey, el: XmlElement, xpath: string): void {
    this.origins.push({ key, line: el.line, xpath });
  }

  private error(el: XmlElement, xpath: string, message: string): CibImportError {
    const where = el.line === undefined ? this.source : `${this.source}:${el.line}`;
    return new CibImportError(`${where}: ${xpath}: ${message}`, this.source, el.line);
  }

  private validate(doc: Raw): CibDocument {
    const result = cibDocumentSchema.safeParse(doc);
    if (result.success) return result.data;
    // A later record of the same path wins, as it did when records were set in a Map.
    const origins = new Map<string, { line?: number; xpath: string }>();
    for (const { key, line, xpath } of this.origins) origins.set(formatPath(key), { line, xpath });
    const lines: string[] = [];
    let firstLine: number | undefined;
    for (const issue of result.error.issues.slice(0, MAX_ERRORS_SHOWN)) {
      const path = issue.path as (string | number)[];
      let origin: { line?: number; xpath: string } | undefined;
      for (let n = path.length; n >= 0 && origin === undefined; n--) {
        origin = origins.get(formatPath(path.slice(0, n)));
      }
      const where = origin?.line === undefined ? this.source : `${this.source}:${origin.line}`;
      firstLine ??= origin?.line;
      const field = path.length ? formatPath(path) : "(root)";
      lines.push(`${where}: ${origin?.xpath ?? "/cib"}: ${field}: ${issue.message}`);
    }
    const more = result.error.issues.length - lines.length;
    if (more > 0) lines.push(`... and ${more} more`);
    return throwError(new CibImportError(lines.join("\n"), this.source, firstLine));
  }
}

/** The attribute's text as it is. */
function asWritten(text: string): string {
  return text;
}

/** The attribute's text trimmed and lower-cased (Pacemaker reads these case-insensitively). */
function normalized(text: string): string {
  return text.trim().toLowerCase();
}

/** A Pacemaker role name (any case, old or new) as Vigil's role. */
function parseRole(text: string): Role | undefined {
  const key = normalized(text);
  // Own keys only: "constructor" must be "not a role", not Object's prototype.
  return Object.hasOwn(ROLE_NAMES, key) ? ROLE_NAMES[key] : undefined;
}

/** A parser taking a value (trimmed, any case) of `values`. */
function oneOf(values: ReadonlySet<string>): (text: string) => string | undefined {
  return (text) => values.has(normalized(text)) ? normalized(text) : undefined;
}

/** A parser taking exactly a value of `values` (as written). */
function exactlyOneOf(values: ReadonlySet<string>): (text: string) => string | undefined {
  return (text) => values.has(text) ? text : undefined;
}

/** An integer attribute; anything else becomes NaN, which the schema rejects with the path. */
function integerOrNaN(text: string): number {
  return /^\s*[+-]?\d+\s*$/.test(text) ? Number(text) : NaN;
}

/** The report for a role attribute that names no role. */
function roleLeftOut(text: string): string {
  return `role "${text}" is not a role; left out`;
}

function throwError(e: Error): never {
  throw e;
}

/** The expected rc in "action:transition:expected_rc:uuid" (after "status:rc;" for magic). */
function expectedRc(text: string | undefined, magic: boolean): number | undefined {
  if (text === undefined) return undefined;
  const key = magic ? text.slice(text.indexOf(";") + 1) : text;
  const parts = key.split(":");
  if (parts.length < 4 || !/^-?\d+$/.test(parts[2])) return undefined;
  return Number(parts[2]);
}

/** Copies a parent's explicit priority / isManaged / multipleActive into children lacking them. */
function pushDownMeta(r: RawResource): void {
  const meta = r.raw.meta as Raw;
  for (const child of r.members) {
    const childMeta = child.raw.meta as Raw;
    for (const field of DEFAULTED_META) {
      if (field in meta && !(field in childMeta)) childMeta[field] = meta[field];
    }
    pushDownMeta(child);
  }
}

/** "clone-node-max" → "cloneNodeMax". */
function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Per parent: how many children have each name, and (built on demand) each child's position. */
interface SiblingIndex {
  counts: Map<string, number>;
  /** 1-based position of a child among its parent's children of the same name (first wins). */
  positions?: Map<XmlElement, number>;
}

/**
 * Sibling statistics per parent element, computed once per import: a `<resources>`
 * or `<lrm_resources>` with n children would otherwise cost O(n) per step, O(n²) in all.
 */
type SiblingIndexes = WeakMap<XmlElement, SiblingIndex>;

function siblingIndex(indexes: SiblingIndexes, parent: XmlElement): SiblingIndex {
  let index = indexes.get(parent);
  if (index === undefined) {
    const counts = new Map<string, number>();
    for (const c of parent.children) counts.set(c.name, (counts.get(c.name) ?? 0) + 1);
    index = { counts };
    indexes.set(parent, index);
  }
  return index;
}

/** Below this many children a step counts siblings directly instead of caching an index. */
const SMALL_PARENT = 16;

/** 1-based position of `child` among the children of `parent` named like it (0 if absent). */
function sameNamePosition(parent: XmlElement, index: SiblingIndex, child: XmlElement): number {
  if (index.positions === undefined) {
    const positions = new Map<XmlElement, number>();
    const seen = new Map<string, number>();
    for (const c of parent.children) {
      const n = (seen.get(c.name) ?? 0) + 1;
      seen.set(c.name, n);
      // indexOf semantics: an element object listed twice keeps its first position.
      if (!positions.has(c)) positions.set(c, n);
    }
    index.positions = positions;
  }
  return index.positions.get(child) ?? 0;
}

/** The XPath step for `child` under `parent`: `tag`, `tag[@id='x']`, `nvpair[@name='x']` or `tag[n]`. */
function step(indexes: SiblingIndexes, parent: XmlElement, child: XmlElement): string {
  const a = child.attributes;
  if (child.name === "nvpair" && a.name !== undefined) return `nvpair[@name=${quote(a.name)}]`;
  const siblings = parent.children;
  if (siblings.length < SMALL_PARENT) {
    // Few siblings (the usual case): counting is cheaper than building an index.
    let same = 0;
    let position = 0;
    for (const c of siblings) {
      if (c.name !== child.name) continue;
      same++;
      if (c === child && position === 0) position = same;
    }
    return stepFrom(child, same, () => position);
  }
  const index = siblingIndex(indexes, parent);
  return stepFrom(
    child,
    index.counts.get(child.name) ?? 0,
    () => sameNamePosition(parent, index, child),
  );
}

/** The step for `child`, which has `same` siblings of its name (itself included). */
function stepFrom(child: XmlElement, same: number, position: () => number): string {
  const a = child.attributes;
  if (CONTAINER_TAGS.has(child.name) && same === 1) return child.name;
  if (a.id !== undefined) return `${child.name}[@id=${quote(a.id)}]`;
  if (same === 1) return child.name;
  return `${child.name}[${position()}]`;
}

function quote(value: string): string {
  return value.includes("'") ? `"${value}"` : `'${value}'`;
}

/** The attribute or nvpair name a location ends in (`.../@crmd` → crmd, `nvpair[@name='x']` → x). */
function subjectName(xpath: string): string {
  const nvpair = /nvpair\[@name=['"]([^'"]*)['"]\]$/.exec(xpath);
  if (nvpair) return nvpair[1];
  return xpath.slice(xpath.lastIndexOf("/") + 1).replace(/^@/, "");
}

function stripPredicates(xpath: string): string {
  return xpath.replace(/\[[^\]]*\]/g, "");
}

/** A time in seconds since the epoch (not clamped like a score); undefined when malformed. */
function parseTimestamp(text: string): number | undefined {
  return /^\s*\d{1,15}\s*$/.test(text) ? Number(text) : undefined;
}

/**
 * A location of exactly the shape `crm_resource --move --lifetime` writes: one
 * rule with a score, one `#uname eq NODE` expression and one `date_expression`
 * `lt` END. Returns node, score and expiresAt, or undefined for anything else.
 */
function timedMove(
  el: XmlElement,
): { node: string; score: number; expiresAt: number } | undefined {
  if (el.children.length !== 1 || el.children[0].name !== "rule") return undefined;
  const rule = el.children[0];
  const ra = rule.attributes;
  const ruleKeys = Object.keys(ra).filter((k) => k !== "id" && k !== "boolean-op");
  if (ruleKeys.length !== 1 || ruleKeys[0] !== "score") return undefined;
  if (ra["boolean-op"] !== undefined && ra["boolean-op"].toLowerCase() !== "and") return undefined;
  const score = parsePacemakerScore(ra.score);
  if (score === undefined || rule.children.length !== 2) return undefined;
  const expr = rule.children.find((c) => c.name === "expression");
  const date = rule.children.find((c) => c.name === "date_expression");
  if (!expr || !date || date.children.length > 0) return undefined;
  const e = expr.attributes;
  const exprKeys = Object.keys(e).filter((k) => k !== "id");
  if (
    e.attribute !== "#uname" || e.operation !== "eq" || e.value === undefined ||
    (e.type !== undefined && e.type !== "string") ||
    exprKeys.some((k) => !["attribute", "operation", "value", "type"].includes(k)) ||
    expr.children.length > 0
  ) return undefined;
  const d = date.attributes;
  if (d.operation !== "lt" || d.end === undefined) return undefined;
  if (Object.keys(d).some((k) => !["id", "operation", "end"].includes(k))) return undefined;
  const expiresAt = parsePacemakerDateTime(d.end);
  return expiresAt === undefined ? undefined : { node: e.value, score, expiresAt };
}
