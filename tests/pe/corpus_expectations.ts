/**
 * A TypeScript port of the comparison in ../shared/pacemaker-scheduler/compare.py:
 * parses Pacemaker's expected "Revised Cluster Status" (and the fencing in the
 * "Transition Summary") of a scheduler regression case into the same shape
 * `vigil simulate --json` prints, and compares the two as compare.py does
 * (active (resource, role, node) triples; anonymous clone instance numbers
 * ignored; fenced nodes equal).
 *
 * @module
 */

/** The JSON shape compared (`vigil simulate --json`). */
export interface SimulateJson {
  resources: Record<string, { role: string; nodes: string[] }>;
  fence?: string[];
}

const ROLE_MAP: Record<string, string> = {
  Started: "Started",
  Starting: "Started",
  Stopping: "Started",
  Migrating: "Started",
  Promoted: "Promoted",
  Master: "Promoted",
  Promoting: "Promoted",
  Demoting: "Promoted",
  Unpromoted: "Unpromoted",
  Slave: "Unpromoted",
  Stopped: "Stopped",
  Unknown: "Stopped",
};

/** What compare.py needs to know about the CIB: which primitives are anonymous clone members. */
export interface CibModel {
  members: Map<string, string[]>;
  cloneOf: Map<string, string>;
  anonymous: Map<string, boolean>;
}

/** Reads the resource structure of a Pacemaker CIB (compare.py's CibModel) with regular expressions. */
export function cibModel(xml: string): CibModel {
  const model: CibModel = { members: new Map(), cloneOf: new Map(), anonymous: new Map() };
  const resStart = xml.indexOf("<resources");
  const resEnd = xml.indexOf("</resources>");
  if (resStart < 0 || resEnd < 0) return model;
  const body = xml.slice(resStart, resEnd);
  const primClass = new Map<string, string>();
  for (const m of body.matchAll(/<primitive\b([^>]*)>/g)) {
    const id = attr(m[1], "id");
    if (id) {
      model.members.set(id, [id]);
      primClass.set(id, attr(m[1], "class") ?? "");
    }
  }
  for (const m of body.matchAll(/<group\b([^>]*)>([\s\S]*?)<\/group>/g)) {
    const id = attr(m[1], "id");
    if (!id) continue;
    const prims = [...m[2].matchAll(/<primitive\b([^>]*)>/g)].map((p) => attr(p[1], "id")!).filter(
      Boolean,
    );
    model.members.set(id, prims);
  }
  for (const m of body.matchAll(/<(clone|master)\b([^>]*)>([\s\S]*?)<\/\1>/g)) {
    const id = attr(m[2], "id");
    if (!id) continue;
    const inner = m[3];
    let unique = false;
    for (const nv of inner.matchAll(/<nvpair\b([^>]*)\/?>/g)) {
      if (attr(nv[1], "name") === "globally-unique") {
        unique = ["true", "yes", "1", "on"].includes((attr(nv[1], "value") ?? "").toLowerCase());
      }
    }
    const prims = [...inner.matchAll(/<primitive\b([^>]*)>/g)].map((p) => attr(p[1], "id")!).filter(
      Boolean,
    );
    if (prims.some((p) => !["ocf", ""].includes(primClass.get(p) ?? ""))) unique = false;
    model.anonymous.set(id, !unique);
    model.members.set(id, prims);
    for (const p of prims) model.cloneOf.set(p, id);
  }
  return model;
}

function attr(attrs: string, name: string): string | undefined {
  const m = new RegExp(`\\b${name}="([^"]*)"`).exec(attrs);
  return m ? m[1] : undefined;
}

interface SummaryRecord {
  prim: string;
  inst: string | null;
  role: string;
  nodes: string[];
  anon: boolean | null;
}

const RSC_LINE = /^(\S+)(?: \(([^)]*)\))?\t\((.*?)\):\t (.*)$/;
const COLLAPSED = /^([A-Za-z]+)(?: \(([^)]*)\))?: \[([^\]]*)\]$/;
const CLONE_HDR = /^Clone Set: (\S+) \[([^\]]+)\](?: \(([^)]*)\))?:$/;
const GROUP_HDR = /^Resource Group: (\S+?)(?: \(([^)]*)\))?:$/;
const FENCE_LINE = /^\s*\* Fence \(([a-z]+)\) (\S+)/;

function parseStatus(s: string): { role: string; nodes: string[] } {
  let s2 = s.replace(/\([^)]*\)/g, " ");
  let nodes: string[] = [];
  const m = /\[([^\]]*)\]/.exec(s2);
  if (m) {
    nodes = m[1].split(/\s+/).filter(Boolean);
    s2 = s2.slice(0, m.index) + " " + s2.slice(m.index + m[0].length);
  }
  const words = s2.split(/\s+/).filter((w) => w && w !== "FAILED" && w !== "ORPHANED");
  let role: string | null = null;
  if (words.length && words[0] in ROLE_MAP) role = words.shift()!;
  return { role: role ?? "Started", nodes: nodes.concat(words) };
}

/**
 * Parses the expected result of a case (compare.py's parse_summary + records_to_ours).
 * Primitives the summary shows as anonymous clone members are added to `anon`.
 */
export function expectedResult(summary: string, cib: CibModel, anon?: Set<string>): SimulateJson {
  const anonOut = anon;
  const lines = summary.split("\n");
  const start = lines.findIndex((l) => l.trim() === "Revised Cluster Status:");
  if (start < 0) throw new Error("no 'Revised Cluster Status:' section");
  let end = lines.length;
  for (let j = start + 1; j < lines.length; j++) {
    if (lines[j] && !lines[j].startsWith(" ")) {
      end = j;
      break;
    }
  }
  const records: SummaryRecord[] = [];
  let part: string | null = null;
  const stack: Array<{ ind: number; kind: string; anon?: boolean; child?: string }> = [];
  for (const raw of lines.slice(start + 1, end)) {
    if (!raw.trim()) continue;
    const m = /^( *)\* (.*)$/.exec(raw);
    if (!m) continue;
    const ind = m[1].length;
    const item = m[2];
    if (ind === 2) {
      part = item === "Full List of Resources:"
        ? "resources"
        : item === "Node List:"
        ? "nodes"
        : null;
      stack.length = 0;
      continue;
    }
    if (part !== "resources") continue;
    while (stack.length && stack[stack.length - 1].ind >= ind) stack.pop();
    let mm = CLONE_HDR.exec(item);
    if (mm) {
      const flags = (mm[3] ?? "").split(",").map((x) => x.trim());
      stack.push({ ind, kind: "clone", anon: !flags.includes("unique"), child: mm[2] });
      continue;
    }
    mm = GROUP_HDR.exec(item);
    if (mm) {
      stack.push({ ind, kind: "group" });
      continue;
    }
    const cloneCtx = [...stack].reverse().find((c) => c.kind === "clone");
    mm = RSC_LINE.exec(item);
    if (mm) {
      const { role, nodes } = parseStatus(mm[4]);
      let prim = mm[1];
      let inst: string | null = null;
      const mi = /^(.*):(\d+)$/.exec(prim);
      if (mi) {
        prim = mi[1];
        inst = mi[2];
      }
      let anon: boolean | null = null;
      if (cloneCtx) {
        anon = cloneCtx.anon!;
        if (anon) inst = null;
      } else if (cib.cloneOf.has(prim)) {
        anon = cib.anonymous.get(cib.cloneOf.get(prim)!) ?? true;
        if (anon) inst = null;
      }
      records.push({ prim, inst, role, nodes, anon });
      if (anon) anonOut?.add(prim);
      continue;
    }
    mm = COLLAPSED.exec(item);
    if (mm && cloneCtx && mm[1] in ROLE_MAP) {
      const members = cib.members.get(cloneCtx.child!) ?? [cloneCtx.child!];
      for (const n of mm[3].split(/\s+/).filter(Boolean)) {
        for (const prim of members) {
          records.push({ prim, inst: null, role: mm[1], nodes: [n], anon: true });
          anonOut?.add(prim);
        }
      }
    }
  }
  const fence: string[] = [];
  const ts = lines.findIndex((l) => l.trim() === "Transition Summary:");
  if (ts >= 0) {
    for (const l of lines.slice(ts + 1)) {
      if (l && !l.startsWith(" ")) break;
      const fm = FENCE_LINE.exec(l);
      if (fm && fm[1] !== "on") fence.push(fm[2]);
    }
  }
  const resources: SimulateJson["resources"] = {};
  const counters = new Map<string, number>();
  for (const r of records) {
    const role = ROLE_MAP[r.role] ?? r.role;
    let key: string;
    if (r.inst !== null) key = `${r.prim}:${r.inst}`;
    else if (r.anon) {
      const n = counters.get(r.prim) ?? 0;
      key = `${r.prim}:${n}`;
      counters.set(r.prim, n + 1);
    } else key = r.prim;
    while (key in resources) key += "'";
    resources[key] = { role, nodes: r.nodes };
  }
  return { resources, fence: [...new Set(fence)].sort() };
}

/** Primitive ids whose instance numbers are ignored: anonymous clone members of the CIB. */
export function anonymousPrims(cib: CibModel, fromSummary: Set<string>): Set<string> {
  const out = new Set<string>(fromSummary);
  for (const [prim, clone] of cib.cloneOf) if (cib.anonymous.get(clone) ?? true) out.add(prim);
  return out;
}

function canon(result: SimulateJson, anon: Set<string>): Map<string, number> {
  const c = new Map<string, number>();
  for (const [rawKey, v] of Object.entries(result.resources)) {
    const key = rawKey.replace(/'+$/, "");
    const role = ROLE_MAP[v.role];
    if (!role || role === "Stopped") continue;
    let prim = key;
    let inst: string | null = null;
    const mi = /^(.*):(\d+)$/.exec(key);
    if (mi) {
      prim = mi[1];
      inst = mi[2];
    }
    if (inst !== null && anon.has(prim)) inst = null;
    const k = inst === null ? prim : `${prim}:${inst}`;
    const nodes = v.nodes.length ? v.nodes : [""];
    for (const n of nodes) {
      const t = `${k}\u0000${role}\u0000${n}`;
      c.set(t, (c.get(t) ?? 0) + 1);
    }
  }
  return c;
}

/** Differences between expected and actual (empty: the case passes). */
export function compareResults(
  expected: SimulateJson,
  actual: SimulateJson,
  anon: Set<string>,
): string[] {
  const e = canon(expected, anon);
  const a = canon(actual, anon);
  const diffs: string[] = [];
  const fmt = (t: string) => t.split("\u0000").join(" ").replace(/ (\S+)$/, " on $1");
  for (const [t, n] of e) {
    for (let i = 0; i < n - (a.get(t) ?? 0); i++) diffs.push(`missing    ${fmt(t)}`);
  }
  for (const [t, n] of a) {
    for (let i = 0; i < n - (e.get(t) ?? 0); i++) diffs.push(`unexpected ${fmt(t)}`);
  }
  const ef = new Set(expected.fence ?? []);
  const af = new Set(actual.fence ?? []);
  for (const n of ef) if (!af.has(n)) diffs.push(`missing    fence ${n}`);
  for (const n of af) if (!ef.has(n)) diffs.push(`unexpected fence ${n}`);
  return diffs.sort();
}
