import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cibSchema } from "../../core/cib/cib.ts";
import {
  CIB_BACKUPS,
  CibFileError,
  cibPath,
  readCibFile,
  writeCibFile,
} from "../../core/cib/cib_file.ts";

function cib(numUpdates: number) {
  return cibSchema.parse({
    version: { adminEpoch: 0, epoch: 1, numUpdates },
    config: { nodes: [{ name: "n1" }], resources: [{ id: "web", agent: "Dummy" }] },
    status: {},
  });
}

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "vigil-cib-"));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

Deno.test("cib file: missing file reads as undefined; a written CIB reads back equal", () => {
  withDir((dir) => {
    assert.equal(readCibFile(dir), undefined);
    writeCibFile(dir, cib(3));
    assert.deepEqual(readCibFile(dir), cib(3));
  });
});

Deno.test("cib file: keeps the last versions as backups, bounded", () => {
  withDir((dir) => {
    for (let i = 0; i < CIB_BACKUPS + 3; i++) writeCibFile(dir, cib(i));
    const backup = (n: number) => JSON.parse(readFileSync(`${cibPath(dir)}.${n}`, "utf8")).cib;
    assert.equal(backup(1).version.numUpdates, CIB_BACKUPS + 1);
    assert.equal(backup(CIB_BACKUPS).version.numUpdates, 2);
    assert.throws(() => readFileSync(`${cibPath(dir)}.${CIB_BACKUPS + 1}`));
  });
});

Deno.test("cib file: a truncated file stops with its name and the newest valid backup", () => {
  withDir((dir) => {
    writeCibFile(dir, cib(1));
    writeCibFile(dir, cib(2));
    const text = readFileSync(cibPath(dir), "utf8");
    writeFileSync(cibPath(dir), text.slice(0, text.length / 2));
    assert.throws(() => readCibFile(dir), (e: Error) => {
      assert.ok(e instanceof CibFileError);
      assert.match(e.message, /cib\.json: corrupt or truncated/);
      assert.match(e.message, /newest valid backup: .*cib\.json\.1/);
      return true;
    });
  });
});

Deno.test("cib file: an edited file fails the digest check", () => {
  withDir((dir) => {
    writeCibFile(dir, cib(1));
    const doc = JSON.parse(readFileSync(cibPath(dir), "utf8"));
    doc.cib.version.epoch = 9;
    writeFileSync(cibPath(dir), JSON.stringify(doc));
    chmodSync(cibPath(dir), 0o600);
    assert.throws(() => readCibFile(dir), /digest mismatch.*no valid backup/);
  });
});
