import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CIB_BACKUPS,
  cibDigest,
  CibFileError,
  cibPath,
  listCibFiles,
  readCibFile,
  restoreCibBackup,
  writeCibFile,
} from "../../core/cib/cib_file.ts";
import { parseCibSource } from "../../core/cib/cib_source.ts";
import { cibDocumentSchema } from "../../core/cib/schema/document.ts";

function cib(numUpdates: number) {
  return cibDocumentSchema.parse({
    version: { adminEpoch: 0, epoch: 1, numUpdates },
    config: { nodes: [{ name: "n1" }], resources: [{ id: "web", agent: "Dummy" }] },
  });
}

function cibDigestOf(doc: unknown): string {
  return cibDigest(doc as ReturnType<typeof cib>, 0);
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
    assert.deepEqual(readCibFile(dir), { term: 0, cib: cib(3) });
    writeCibFile(dir, cib(4), 7);
    assert.deepEqual(readCibFile(dir), { term: 7, cib: cib(4) });
    assert.deepEqual(listCibFiles(dir).map((f) => f.term), [7, 0]);
    // `vigil config validate` and the CIB sources read the stored file as a document.
    assert.deepEqual(parseCibSource(readFileSync(cibPath(dir), "utf8"), "cib.json").cib, cib(4));
  });
});

Deno.test("cib file: the digest is over canonical JSON and covers the term", () => {
  withDir((dir) => {
    writeCibFile(dir, cib(1), 3);
    const stored = JSON.parse(readFileSync(cibPath(dir), "utf8"));
    // Keys in another order: the same content, the same digest.
    const reordered = { cib: { status: stored.cib.status, ...stored.cib }, term: 3 };
    writeFileSync(cibPath(dir), JSON.stringify({ ...reordered, digest: stored.digest }));
    assert.equal(readCibFile(dir)?.term, 3);
    // A changed term is damage.
    writeFileSync(cibPath(dir), JSON.stringify({ ...stored, term: 4 }));
    assert.throws(() => readCibFile(dir), /digest mismatch/);
    // A file without a term (older writers) reads as term 0 when its digest matches.
    const noTerm = { digest: cibDigestOf(stored.cib), cib: stored.cib };
    writeFileSync(cibPath(dir), JSON.stringify(noTerm));
    assert.equal(readCibFile(dir)?.term, 0);
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

Deno.test("cib file: restore puts the newest valid backup back and keeps the damaged file", () => {
  withDir((dir) => {
    writeCibFile(dir, cib(1));
    writeCibFile(dir, cib(2));
    writeFileSync(cibPath(dir), '{"digest":"x","cib":{"vers');
    assert.throws(() => readCibFile(dir), /vigil cib restore --state-dir/);
    const files = listCibFiles(dir);
    assert.equal(files[0].backup, 0);
    assert.ok(files[0].problem);
    assert.equal(files[1].version?.numUpdates, 1);
    const restored = restoreCibBackup(dir);
    assert.equal(restored.backup, 1);
    assert.equal(readCibFile(dir)?.cib.version.numUpdates, 1);
    assert.match(readFileSync(`${cibPath(dir)}.damaged`, "utf8"), /"vers$/);
    assert.throws(() => restoreCibBackup(dir, 4), /no such backup/);
  });
});

Deno.test("cib file: SIGKILL at random points while writing never leaves an unreadable CIB", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vigil-cib-crash-"));
  const worker = new URL("./cib_writer_worker.ts", import.meta.url).pathname;
  let lastReported = 0;
  try {
    // Bounded: 20 kills, each after 5..80 ms of writing.
    for (let round = 0; round < 20; round++) {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", worker, dir],
        stdout: "piped",
        stderr: "null",
      }).spawn();
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      // Wait for the first completed write so that the kill lands mid-stream.
      while (!text.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
      await new Promise((r) => setTimeout(r, 5 + ((round * 37) % 75)));
      Deno.kill(child.pid, "SIGKILL");
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
      await child.status;
      const reported = text.trim().split("\n").map(Number).filter((n) => n > 0);
      if (reported.length > 0) lastReported = reported[reported.length - 1];
      const read = readCibFile(dir);
      assert.ok(read, `round ${round}: no CIB after a kill`);
      // Every write that returned is on disk: nothing acknowledged is lost.
      assert.ok(
        read.cib.version.numUpdates >= lastReported,
        `round ${round}: read ${read.cib.version.numUpdates}, but ${lastReported} was written`,
      );
      // The next worker restarts from 1; begin from a clean directory each round so
      // that versions stay comparable.
      rmSync(dir, { recursive: true, force: true });
      lastReported = 0;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("cib file: a crash before the rename leaves the previous CIB current", () => {
  withDir((dir) => {
    writeCibFile(dir, cib(1));
    // The state a crash between the temporary write and the rename leaves behind.
    writeFileSync(`${cibPath(dir)}.tmp`, '{"digest":"half');
    assert.equal(readCibFile(dir)?.cib.version.numUpdates, 1);
    // And the next write goes through.
    writeCibFile(dir, cib(2));
    assert.equal(readCibFile(dir)?.cib.version.numUpdates, 2);
  });
});
