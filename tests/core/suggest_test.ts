import assert from "node:assert/strict";
import { editDistance, suggestNames } from "../../core/suggest.ts";

Deno.test("suggest: edit distance counts insertions, deletions and substitutions", () => {
  assert.equal(editDistance("kitten", "sitting"), 3);
  assert.equal(editDistance("", "abc"), 3);
  assert.equal(editDistance("same", "same"), 0);
  assert.equal(editDistance("a", "a".repeat(20)), Infinity);
});

Deno.test("suggest: close names only, nearest first, bounded", () => {
  assert.deepEqual(suggestNames("dbx", ["db", "web", "dbs"]), ["db", "dbs"]);
  assert.deepEqual(suggestNames("keepalive", ["keepalive2", "deadtime"]), ["keepalive2"]);
  assert.deepEqual(suggestNames("zzz", ["db", "web"]), []);
  assert.equal(suggestNames("ab", ["ac", "ad", "ae", "af"], 2).length, 2);
});
