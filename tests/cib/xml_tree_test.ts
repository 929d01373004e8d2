/**
 * The XML tree reader: the one-pass reader of the plain subset
 * (`parsePlainXmlTree`) gives exactly the tree the general fast-xml-parser
 * reader gives, on the corpus and on random documents, and declines the rest,
 * so `parseXmlTree` behaves as the general reader does (errors included).
 */

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import {
  MAX_XML_DEPTH,
  parseGeneralXmlTree,
  parsePlainXmlTree,
  parseXmlTree,
  serializeXmlTree,
  type XmlElement,
  XmlSyntaxError,
} from "../../core/cib/xml_tree.ts";
import { corpusFiles, haveCorpus, readCorpus } from "./corpus.ts";

const FIXTURES = fileURLToPath(new URL("../fixtures/cib/", import.meta.url));

/** What a reader made of a document: the tree, or the error it threw. */
type Outcome = { tree: XmlElement } | { error: string; line?: number };

function outcome(read: () => XmlElement): Outcome {
  try {
    return { tree: read() };
  } catch (e) {
    assert.ok(e instanceof XmlSyntaxError, `not an XmlSyntaxError: ${e}`);
    return e.line === undefined ? { error: e.message } : { error: e.message, line: e.line };
  }
}

/** Checks parseXmlTree agrees with the general reader; true when the plain reader took it. */
function agrees(xml: string): boolean {
  const general = outcome(() => parseGeneralXmlTree(xml, "t.xml"));
  assert.deepStrictEqual(outcome(() => parseXmlTree(xml, "t.xml")), general, xml);
  const plain = parsePlainXmlTree(xml);
  if (plain === undefined) return false;
  assert.ok("tree" in general, `plain reader took what the general one rejects: ${xml}`);
  assert.deepStrictEqual(plain, general.tree, xml);
  // Same key order too, so serialized forms match.
  assert.equal(JSON.stringify(plain), JSON.stringify(general.tree), xml);
  return true;
}

Deno.test({
  name: "corpus and fixtures: the plain reader takes every file and gives the general tree",
  ignore: !haveCorpus,
  fn() {
    const files = corpusFiles();
    assert.ok(files.length >= 100, `corpus has ${files.length} files`);
    for (const file of files) assert.ok(agrees(readCorpus(file)), `${file} not plain`);
  },
});

Deno.test("fixtures: the plain reader takes every CIB fixture and gives the general tree", () => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith(".xml"));
  assert.ok(files.length > 0, "no fixtures");
  for (const file of files) {
    assert.ok(agrees(readFileSync(FIXTURES + file, "utf8")), `${file} not plain`);
  }
});

Deno.test("plain reader: lines, attributes, text pieces, comments and entities", () => {
  const xml = '<?xml version="1.0"?>\n<!-- c -->\n<cib a="1" b=\'x "y"\'>\n' +
    '  one <!-- no split -->two\n  <n v="a&amp;b&#10;c\td&#x41;"/>\n  &lt;three&gt;\n' +
    "  <e>\n</e>\n</cib>\n<!-- after -->\n";
  assert.ok(agrees(xml));
  const root = parsePlainXmlTree(xml);
  assert.ok(root);
  assert.deepStrictEqual(root, {
    name: "cib",
    attributes: { a: "1", b: 'x "y"' },
    children: [
      { name: "n", attributes: { v: "a&b\nc dA" }, children: [], line: 5 },
      { name: "e", attributes: {}, children: [], line: 7 },
    ],
    text: "one two <three>",
    line: 3,
  });
});

Deno.test("plain reader declines what it does not take; parseXmlTree then reads it generally", () => {
  const declined = [
    "<a>\r\n<b/>\r\n</a>", // carriage returns (fast-xml-parser rewrites them first)
    '<!DOCTYPE a>\n<a x="1"/>',
    "<a><![CDATA[x]]></a>",
    "<a>&nbsp;</a>", // unknown entity: an error naming the line
    '<a x="&constructor;"/>',
    "<a>a & b</a>",
    '<a x="1" x="2"/>',
    '<a x = "1"/>',
    '<a x="1"y="2"/>',
    '<a x="1>2"/>',
    "<a>\n<?pi x?>\n</a>",
    "<a/><b/>",
    "<a>",
    "<a></b>",
    "text<a/>",
    "<a/>text",
    "\ufeff<a/>",
    '<a __proto__="x"/>',
    "<é/>",
    "",
  ];
  for (const xml of declined) {
    assert.equal(parsePlainXmlTree(xml), undefined, xml);
    assert.equal(agrees(xml), false, xml);
  }
  // An error still names the line, as the general reader does.
  assert.throws(() => parseXmlTree("<a>\n<b>&nbsp;</b>\n</a>", "f.xml"), /f\.xml:2: .*&nbsp;/);
  assert.throws(() => parseXmlTree("<a>\n</b>", "f.xml"), /f\.xml:2:\d+: not well-formed/);
});

Deno.test("plain reader: nesting up to MAX_XML_DEPTH is read, deeper goes to the general error", () => {
  const nest = (n: number, leaf: string) => "<e>".repeat(n - 1) + leaf + "</e>".repeat(n - 1);
  assert.ok(agrees(nest(MAX_XML_DEPTH, "<e/>")));
  assert.ok(parsePlainXmlTree(nest(MAX_XML_DEPTH, "<e/>")));
  for (const leaf of ["<e/>", "<e></e>"]) {
    const deep = nest(MAX_XML_DEPTH + 1, leaf);
    assert.equal(parsePlainXmlTree(deep), undefined);
    assert.throws(() => parseXmlTree(deep, "d.xml"), /nested deeper than 200/);
  }
});

Deno.test("plain reader: a long single-line document is read in linear time", () => {
  const children = '<p id="x" a="1"/>'.repeat(200_000);
  const xml = `<cib>${children}</cib>`;
  const started = performance.now();
  const root = parsePlainXmlTree(xml);
  const ms = performance.now() - started;
  assert.ok(root);
  assert.equal(root.children.length, 200_000);
  assert.equal(root.children[199_999].line, 1);
  // Quadratic line counting would take minutes here; linear takes well under a second.
  assert.ok(ms < 20_000, `took ${ms} ms`);
});

/** Mostly one of `valid`, now and then one of `invalid` (near misses and junk). */
function mostly(valid: readonly string[], invalid: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(...valid) },
    { weight: 1, arbitrary: fc.constantFrom(...invalid) },
  );
}

/** Pieces random documents are made of: valid syntax, near misses and plain junk. */
const NAME = mostly(["a", "b", "cib", "x:y", "n-1", "_u"], ["é", "1a", ""]);
const VALUE = mostly(
  ["", "v", "a b", "&amp;", "&#65;", "&#x41;", "\t\n", "'"],
  ["&#0;", "&bogus;", "a&b", "<", ">", "x\r\ny", '"'],
);
const TEXT = mostly(
  ["", " ", "\n  ", "t", " two words ", "&lt;", "&#10;", ">", "\t", "<!-- c -->", "<!---->"],
  ["&x;", "&", "]]>", "\r\n", "<!-- a -- b -->", "<?pi x?>", "<![CDATA[ c ]]>", "\r", "<"],
);

const arbAttribute = fc.record({
  name: NAME,
  value: VALUE,
  quote: fc.constantFrom('"', "'"),
  before: mostly([" ", "\n ", "\t"], [""]),
  equals: mostly(["="], [" = ", "= "]),
}).map(({ name, value, quote, before, equals }) =>
  `${before}${name}${equals}${quote}${value}${quote}`
);

const arbElement: fc.Arbitrary<string> = fc.letrec<{ element: string }>((tie) => ({
  element: fc.record({
    name: NAME,
    attributes: fc.array(arbAttribute, { maxLength: 3 }),
    content: fc.array(
      fc.oneof({ weight: 3, arbitrary: TEXT }, { weight: 2, arbitrary: tie("element") }),
      { maxLength: 4, depthIdentifier: "element" },
    ),
    closeSpace: mostly(["", " ", "\n"], ["x"]),
    selfClose: mostly(["/>", " />"], ["/ >"]),
  }).map(({ name, attributes, content, closeSpace, selfClose }) => {
    const open = `<${name}${attributes.join("")}`;
    return content.length === 0
      ? open + selfClose
      : `${open}>${content.join("")}</${name}${closeSpace}>`;
  }),
})).element;

Deno.test("random documents: parseXmlTree gives what the general reader gives", () => {
  let plain = 0;
  let runs = 0;
  fc.assert(
    fc.property(
      mostly(["", '<?xml version="1.0"?>\n', "\n", "<!-- c -->"], [" <?xml version='1.0'?>"]),
      arbElement,
      mostly(["", "\n", "<!-- end -->\n"], ["<a/>", "junk"]),
      (prolog, element, epilog) => {
        runs++;
        if (agrees(prolog + element + epilog)) plain++;
      },
    ),
    { numRuns: 3000 },
  );
  // Not vacuous: many documents take the plain way (and are compared), many do not.
  assert.ok(plain > runs / 10, `${plain} of ${runs} read by the plain reader`);
  assert.ok(plain < runs, `${plain} of ${runs} read by the plain reader`);
});

Deno.test("a serialized tree reads back the same through the plain reader", () => {
  const root = parseXmlTree(
    '<cib e="a &amp; b &lt;c&gt; &quot;q&quot;">\n  <x t="1&#10;2">text &amp; more</x>\n</cib>',
    "s.xml",
  );
  const text = serializeXmlTree(root);
  const again = parsePlainXmlTree(text);
  assert.ok(again);
  assert.deepStrictEqual(serializeXmlTree(again), text);
  assert.equal(again.children[0].text, "text & more");
  assert.equal(again.attributes.e, 'a & b <c> "q"');
});

Deno.test("xml tree: an entity named like an Object property is unknown, not decoded", () => {
  assert.throws(
    () => parseXmlTree('<cib><a x="&constructor;"/></cib>', "ent.xml"),
    /unknown entity &constructor;/,
  );
});
