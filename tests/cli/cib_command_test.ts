import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cibDocumentSchema } from "../../core/cib/schema/document.ts";
import { writeCibFile } from "../../core/cib/cib_file.ts";
import { cibCommand } from "../../core/cli/cib_command.ts";
import type { CliIo } from "../../core/cli/command.ts";
import { SHARED_DIR } from "../shared_dir.ts";
import { configCommand } from "../../core/cli/config_command.ts";

const CORPUS = join(SHARED_DIR, "pacemaker-scheduler", "xml");
const LAB = join(SHARED_DIR, "heartbeat", "lab", "n1");

function collector(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t) };
}

function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "vigil-cib-cli-"));
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

Deno.test({
  name: "vigil cib import-pacemaker → export round trip keeps resources and constraints",
  ignore: !existsSync(CORPUS),
  fn: () =>
    withDir(async (dir) => {
      const io = collector();
      const out = join(dir, "cib.json");
      assert.equal(
        await cibCommand.run(["import-pacemaker", `${CORPUS}/group5.xml`, "-o", out], io),
        0,
      );
      assert.match(io.stderr.at(-1) ?? "", /^imported \d+ resources, \d+ constraints, \d+ nodes/);
      const cib = JSON.parse(readFileSync(out, "utf8"));
      assert.ok(cib.config.resources.length > 0);
      const exported = collector();
      assert.equal(await cibCommand.run(["export", "--cib", out], exported), 0);
      const xml = exported.stdout.join("\n");
      assert.match(xml, /^<cib /);
      for (const r of cib.config.resources) assert.ok(xml.includes(`id="${r.id}"`), r.id);
      // Valid as configuration input again.
      writeFileSync(join(dir, "again.xml"), xml);
      const check = collector();
      assert.equal(await configCommand.run(["validate", join(dir, "again.xml")], check), 0);
      assert.match(check.stdout.at(-1) ?? "", /valid Pacemaker CIB/);
    }),
});

Deno.test({
  name: "vigil cib import-heartbeat reads the lab's haresources and ha.cf",
  ignore: !existsSync(LAB),
  fn: async () => {
    const io = collector();
    assert.equal(await cibCommand.run(["import-heartbeat", LAB, "--json"], io), 0);
    const { cib } = JSON.parse(io.stdout.join("\n"));
    const text = JSON.stringify(cib);
    assert.match(text, /198\.18\.70\.100/);
    assert.ok(cib.config.nodes.length >= 2);
  },
});

Deno.test("vigil config validate names the failing path and exits 1", () =>
  withDir(async (dir) => {
    const file = join(dir, "bad.json");
    writeFileSync(
      file,
      JSON.stringify({
        config: {
          resources: [{
            id: "a",
            agent: "Dummy",
            operations: [{ name: "monitor", timeoutMs: "fast" }],
          }],
        },
      }),
    );
    const io = collector();
    assert.equal(await configCommand.run(["validate", file], io), 1);
    assert.match(
      io.stderr.join("\n"),
      /config\.resources\[0\]\.operations\[0\]\.timeoutMs: not a duration/,
    );
    const json = collector();
    assert.equal(await configCommand.run(["validate", file, "--json"], json), 1);
    assert.equal(JSON.parse(json.stdout.join("\n")).valid, false);
  }));

Deno.test("vigil cib backups and restore repair a damaged CIB", () =>
  withDir(async (dir) => {
    const cib = (n: number) =>
      cibDocumentSchema.parse({
        version: { adminEpoch: 0, epoch: 1, numUpdates: n },
        config: { nodes: [{ name: "n1" }] },
        status: {},
      });
    writeCibFile(dir, cib(1));
    writeCibFile(dir, cib(2));
    writeFileSync(join(dir, "cib.json"), "{trunc");
    const list = collector();
    assert.equal(await cibCommand.run(["backups", "--state-dir", dir], list), 1);
    assert.match(list.stdout[0], /^current .*UNUSABLE/);
    assert.match(list.stdout[1], /^backup 1 .*version 0\.1\.1/);
    const io = collector();
    assert.equal(await cibCommand.run(["restore", "--state-dir", dir], io), 0);
    assert.match(io.stdout[0], /restored .*cib\.json\.1 \(version 0\.1\.1\)/);
    const after = collector();
    assert.equal(await cibCommand.run(["backups", "--state-dir", dir], after), 0);
  }));

Deno.test("vigil cib: usage errors name the problem", async () => {
  await assert.rejects(() => cibCommand.run([], collector()), /give a subcommand/);
  await assert.rejects(() => cibCommand.run(["frobnicate"], collector()), /unknown subcommand/);
  await assert.rejects(() => cibCommand.run(["export"], collector()), /--cib FILE/);
  await assert.rejects(
    () => cibCommand.run(["restore", "--state-dir", "/x", "--backup", "0"], collector()),
    /--backup/,
  );
});
