import assert from "node:assert/strict";
import {
  EXPORT_VALIDATE_WITH,
  EXPORT_VALIDATE_WITH_NUMBERS,
  exportPacemakerXml,
  formatDurationMs,
  splitAgentSpec,
} from "../../core/cib/pacemaker_export.ts";
import { importPacemakerXml } from "../../core/cib/pacemaker_import.ts";
import { CibImportError } from "../../core/cib/import_report.ts";
import { parseCibDocument } from "../../core/cib/schema/document.ts";
import { childElements, parseXmlTree, type XmlElement } from "../../core/cib/xml_tree.ts";
import { INFINITY } from "../../core/score.ts";
import {
  corpusFiles,
  CRM_VERIFY,
  crmVerify,
  FEATURES,
  haveCorpus,
  readCorpus,
  readFeatures,
} from "./corpus.ts";

/** Every element named `name` in the tree. */
function all(root: XmlElement, name: string): XmlElement[] {
  const out: XmlElement[] = [];
  const visit = (e: XmlElement, depth: number) => {
    assert.ok(depth < 100);
    if (e.name === name) out.push(e);
    e.children.forEach((c) => visit(c, depth + 1));
  };
  visit(root, 0);
  return out;
}

/** Instance parameters per primitive id: name → value. */
function params(root: XmlElement): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const p of all(root, "primitive")) {
    const values: Record<string, string> = {};
    for (const set of childElements(p, "instance_attributes")) {
      for (const nv of childElements(set, "nvpair")) {
        values[nv.attributes.name] ??= nv.attributes.value;
      }
    }
    out.set(p.attributes.id, values);
  }
  return out;
}

Deno.test({
  name: "corpus round trip: import, export, import gives the same document",
  ignore: !haveCorpus,
  fn() {
    const started = performance.now();
    for (const file of corpusFiles()) {
      const original = readCorpus(file);
      const first = importPacemakerXml(original, file);
      const xml = exportPacemakerXml(first.cib);
      const second = importPacemakerXml(xml, `exported ${file}`);
      assert.deepEqual(second.cib, first.cib, file);
      // Nothing the export writes is unsupported on the way back in.
      assert.deepEqual(second.unsupported, [], file);
    }
    const ms = performance.now() - started;
    assert.ok(ms < 10_000, `round trips took ${ms.toFixed(0)} ms`);
  },
});

Deno.test({
  name: "corpus round trip keeps the supported elements of the original XML",
  ignore: !haveCorpus,
  fn() {
    for (const file of corpusFiles()) {
      const xml = readCorpus(file);
      const { unsupported, cib } = importPacemakerXml(xml, file);
      const before = parseXmlTree(xml, file);
      const after = parseXmlTree(exportPacemakerXml(cib), file);
      const n = (root: XmlElement, tag: string) => all(root, tag).length;
      assert.equal(n(after, "primitive"), n(before, "primitive"), `${file}: primitives`);
      assert.equal(n(after, "group"), n(before, "group"), `${file}: groups`);
      assert.equal(n(after, "clone"), n(before, "clone") + n(before, "master"), `${file}: clones`);
      assert.equal(n(after, "node"), n(before, "node"), `${file}: nodes`);
      assert.equal(n(after, "node_state"), n(before, "node_state"), `${file}: node_state`);
      assert.equal(n(after, "lrm_rsc_op"), n(before, "lrm_rsc_op"), `${file}: lrm_rsc_op`);
      const droppedOps = unsupported.filter((u) => u.name === "op" && u.kind === "element").length;
      assert.equal(n(after, "op"), n(before, "op") - droppedOps, `${file}: ops`);
      for (const tag of ["rsc_location", "rsc_colocation", "rsc_order"]) {
        const dropped = unsupported.filter((u) =>
          u.path.includes(`/${tag}[`) && u.path.split("/").length === 5 && u.kind !== "value" &&
          u.kind !== "attribute"
        ).length;
        assert.equal(n(after, tag), n(before, tag) - dropped, `${file}: ${tag}`);
      }
      assert.equal(n(after, "rule"), n(before, "rule"), `${file}: rules`);
      assert.equal(n(after, "expression"), n(before, "expression"), `${file}: expressions`);
      // Every instance parameter of every primitive, with its value.
      const paramsAfter = params(after);
      for (const [id, values] of params(before)) {
        const exported = paramsAfter.get(id) ?? {};
        for (const [name, value] of Object.entries(values)) {
          assert.equal(exported[name], value, `${file}: ${id} param ${name}`);
        }
      }
      // Every transient attribute of every node.
      const transient = (root: XmlElement) =>
        all(root, "transient_attributes").flatMap((t) =>
          all(t, "nvpair").map((nv) => `${nv.attributes.name}=${nv.attributes.value}`)
        ).filter((s) => !/^(fail-count|last-failure)-/.test(s)).sort();
      assert.deepEqual(transient(after), transient(before), `${file}: transient attributes`);
    }
  },
});

Deno.test({
  name: "crm_verify accepts exported CIBs as it accepts the originals",
  ignore: !haveCorpus || CRM_VERIFY === undefined,
  fn() {
    // A third of the corpus keeps this fast; every file passed when it was written.
    const files = corpusFiles().filter((_, i) => i % 3 === 0);
    for (const file of files) {
      const original = readCorpus(file);
      const exported = exportPacemakerXml(importPacemakerXml(original, file).cib);
      const mine = crmVerify(exported);
      assert.doesNotMatch(mine.output, /Relax-NG|validity error/, `${file}: ${mine.output}`);
      if (mine.status !== 0) {
        // Pacemaker's own objections (no STONITH device, ...) must be the original's too.
        const theirs = crmVerify(original);
        assert.notEqual(theirs.status, 0, `${file}: only the export fails: ${mine.output}`);
      }
    }
  },
});

Deno.test({
  name: "crm_verify accepts the exported feature fixture, which round-trips",
  ignore: CRM_VERIFY === undefined,
  fn() {
    const first = importPacemakerXml(readFeatures(), FEATURES);
    const xml = exportPacemakerXml(first.cib);
    assert.match(xml, new RegExp(`validate-with="${EXPORT_VALIDATE_WITH_NUMBERS}"`));
    const verdict = crmVerify(xml);
    assert.doesNotMatch(verdict.output, /Relax-NG|validity error/, verdict.output);
    assert.deepEqual(importPacemakerXml(xml, "exported").cib, first.cib);
  },
});

/** A Vigil-native document (Vigil's defaults, built-in agents, a timed move). */
function nativeDocument() {
  const parsed = parseCibDocument({
    version: { adminEpoch: 1, epoch: 4, numUpdates: 2 },
    config: {
      options: { stickiness: 100, noQuorumPolicy: "ignore" },
      nodes: [{ name: "n1" }, { name: "n2", id: "2", standby: true, attributes: { rack: "a" } }],
      resources: [
        {
          id: "web",
          agent: "HttpService",
          // Pacemaker's parameters are strings: numbers would come back as strings.
          params: { port: "8080", address: "127.0.0.1" },
          // Ids Pacemaker needs are made up when absent (and then come back), so give them.
          operations: [{ id: "web-mon", name: "monitor", intervalMs: 500, timeoutMs: "20s" }],
        },
        {
          kind: "group",
          id: "grp",
          meta: { priority: 5 },
          members: [
            { id: "g1", agent: "ocf:heartbeat:Dummy", meta: { priority: 0 } },
            { id: "g2", agent: "Dummy" },
          ],
        },
        {
          kind: "clone",
          id: "dbs",
          meta: { promotable: true, cloneMax: 2, targetRole: "Promoted" },
          resource: { id: "db", agent: "ocf:linbit:drbd" },
        },
      ],
      constraints: {
        locations: [
          {
            id: "move-web",
            resource: "web",
            node: "n2",
            score: "INFINITY",
            expiresAt: 1_800_000_000_000,
          },
          {
            id: "by-rack",
            resource: "grp",
            rules: [{
              id: "by-rack-rule",
              score: 50,
              expressions: [{ id: "by-rack-e", attribute: "rack", operation: "eq", value: "a" }],
            }],
          },
        ],
        colocations: [{
          id: "grp-with-db",
          resource: "grp",
          withResource: "dbs",
          score: INFINITY,
          withRole: "Promoted",
        }],
        orders: [{ id: "db-then-grp", first: "dbs", firstAction: "promote", then: "grp" }],
      },
    },
    status: {
      haveQuorum: true,
      dc: "n2",
      nodes: {
        n1: { inMembership: true, online: true, join: "member", expected: "member" },
        n2: {
          inMembership: true,
          online: true,
          join: "member",
          expected: "member",
          failures: { web: { count: 2, lastFailure: 1_700_000_000 } },
          resources: {
            web: {
              agent: "HttpService",
              operations: [{
                id: "web_last_0",
                operation: "start",
                callId: 3,
                rc: 0,
                expectedRc: 0,
              }],
            },
          },
        },
      },
    },
  });
  assert.ok(parsed.ok, parsed.ok ? "" : parsed.errors.join("\n"));
  return parsed.cib;
}

Deno.test("a Vigil-native document exports as Pacemaker XML and imports back the same", () => {
  const cib = nativeDocument();
  const xml = exportPacemakerXml(cib);
  const root = parseXmlTree(xml, "native.xml");
  assert.equal(root.attributes["validate-with"], EXPORT_VALIDATE_WITH);
  assert.equal(root.attributes["dc-uuid"], "2", "the DC's node id");
  const byName = (tag: string, id: string) => all(root, tag).find((e) => e.attributes.id === id);
  const nvpairs = (e: XmlElement | undefined) =>
    Object.fromEntries(all(e!, "nvpair").map((nv) => [nv.attributes.name, nv.attributes.value]));
  // Vigil's defaults that differ from Pacemaker's are written out.
  assert.deepEqual(nvpairs(all(root, "crm_config")[0]), {
    "stonith-enabled": "false",
    "no-quorum-policy": "ignore",
  });
  assert.deepEqual(nvpairs(all(root, "rsc_defaults")[0]), {
    "resource-stickiness": "100",
    "migration-threshold": "3",
  });
  assert.deepEqual(byName("primitive", "web")?.attributes, {
    id: "web",
    class: "ocf",
    provider: "vigil",
    type: "HttpService",
  });
  assert.equal(all(byName("primitive", "web")!, "op")[0].attributes.interval, "500ms");
  // priority 0 on g1 differs from what it would inherit (5), so it is written.
  // Vigil's schema gives g2 priority 0 (it cannot say "inherit"), so both are written.
  assert.deepEqual(nvpairs(byName("primitive", "g1")), { priority: "0" });
  assert.deepEqual(nvpairs(byName("primitive", "g2")), { priority: "0" });
  assert.deepEqual(nvpairs(byName("clone", "dbs")), {
    "target-role": "Master",
    "clone-max": "2",
    promotable: "true",
  });
  const move = byName("rsc_location", "move-web")!;
  const date = all(move, "date_expression")[0];
  assert.deepEqual(date.attributes, {
    id: "move-web-lifetime-end",
    operation: "lt",
    end: "2027-01-15T08:00:00Z",
  });
  assert.equal(byName("rsc_colocation", "grp-with-db")?.attributes["with-rsc-role"], "Master");
  const op = all(root, "lrm_rsc_op")[0];
  assert.equal(op.attributes["op-status"], "0");
  assert.match(op.attributes["transition-key"], /^0:0:0:/);
  const back = importPacemakerXml(xml, "native.xml");
  assert.deepEqual(back.cib, cib);
  assert.deepEqual(back.unsupported, []);
});

Deno.test({
  name: "crm_verify accepts an exported Vigil-native document",
  ignore: CRM_VERIFY === undefined,
  fn() {
    const verdict = crmVerify(exportPacemakerXml(nativeDocument()));
    assert.doesNotMatch(verdict.output, /Relax-NG|validity error/, verdict.output);
  },
});

Deno.test("export refuses ids Pacemaker cannot take, and helpers format as Pacemaker does", () => {
  const parsed = parseCibDocument({
    config: { resources: [{ id: "a:b", agent: "Dummy" }] },
  });
  assert.ok(parsed.ok);
  assert.throws(() => exportPacemakerXml(parsed.cib), /"a:b" is not a valid XML id/);
  assert.deepEqual(splitAgentSpec("ocf:heartbeat:IPaddr2"), {
    class: "ocf",
    provider: "heartbeat",
    type: "IPaddr2",
  });
  assert.deepEqual(splitAgentSpec("stonith:fence_xvm"), { class: "stonith", type: "fence_xvm" });
  assert.deepEqual(splitAgentSpec("heartbeat:IPaddr"), { class: "heartbeat", type: "IPaddr" });
  assert.deepEqual(splitAgentSpec("Dummy"), { class: "ocf", provider: "vigil", type: "Dummy" });
  assert.throws(() => splitAgentSpec("a:b:c:d"), /not CLASS:TYPE/);
  assert.equal(formatDurationMs(0), "0s");
  assert.equal(formatDurationMs(20_000), "20s");
  assert.equal(formatDurationMs(1500), "1500ms");
});

Deno.test({
  name: "mutated corpus files import or fail with CibImportError, and what imports round-trips",
  ignore: !haveCorpus,
  fn() {
    const files = corpusFiles();
    let seed = 20261122;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const values = ["", "x", "-1", "INFINITY", "0", "a b", "1.5", "#default", "no", "Master", ":"];
    let imported = 0;
    for (let i = 0; i < 300; i++) {
      let xml = readCorpus(files[random(files.length)]);
      for (let k = 0; k < 3; k++) {
        // Change or drop an attribute other than an id (made-up ids would come back).
        const attrs = [...xml.matchAll(/ ([a-z_-]+)="([^"]*)"/g)].filter((m) => m[1] !== "id");
        const m = attrs[random(attrs.length)];
        const value = values[random(values.length)];
        const change = [" ", ` ${m[1]}="${value}"`, ` ${m[1]}="${m[2]}${value}"`][random(3)];
        xml = xml.slice(0, m.index) + change + xml.slice(m.index! + m[0].length);
      }
      let first;
      try {
        first = importPacemakerXml(xml, `mutation ${i}`);
      } catch (e) {
        assert.ok(e instanceof CibImportError, `mutation ${i}: ${(e as Error).stack}`);
        continue;
      }
      imported++;
      let exported: string;
      try {
        exported = exportPacemakerXml(first.cib);
      } catch (e) {
        // Vigil's ids may contain ':', Pacemaker's may not.
        assert.match(String(e), /not a valid XML id/, `mutation ${i}`);
        continue;
      }
      assert.deepEqual(importPacemakerXml(exported, "again").cib, first.cib, `mutation ${i}`);
    }
    assert.ok(imported > 50, `only ${imported} of 300 mutations imported`);
  },
});
