import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import Filesystem, {
  type FilesystemParams,
  findMount,
  mountArgs,
  parseMounts,
  unescapeMountField,
} from "../../ra/filesystem.ts";
import { findResourceAgent } from "../../ra/builtin.ts";
import { describeParams } from "../../plugins/param_description.ts";
import { type AgentContext, OCF } from "../../plugins/resource_agent.ts";
import { runResourceAgentContract } from "../plugins/resource_agent_contract.ts";

const MOUNT = "/usr/bin/mount";
const LOSETUP = "/usr/sbin/losetup";
const MKFS = "/usr/sbin/mkfs.ext4";

const cannotMount = Deno.uid() !== 0
  ? "needs root (mount)"
  : !existsSync(MOUNT)
  ? `${MOUNT} is missing`
  : undefined;
const skipped = cannotMount ? ` (skipped: ${cannotMount})` : "";
const noLoop = cannotMount ??
  (!existsSync(LOSETUP) || !existsSync(MKFS) || !existsSync("/dev/loop-control")
    ? "losetup, mkfs.ext4 or /dev/loop-control is missing"
    : undefined);

const INVALID = [
  {},
  { device: "tmpfs" },
  { device: "tmpfs", directory: "relative/dir" },
  { device: "tmpfs", directory: "/" },
  { device: "tmpfs", directory: "/mnt/../" },
  { device: "-oremount", directory: "/mnt/x" },
  { device: "tmp fs", directory: "/mnt/x" },
  { device: "tmpfs", directory: "/mnt/x", fstype: "ext4 -o" },
  { device: "tmpfs", directory: "/mnt/x", options: "size=1m ro" },
  { device: "tmpfs", directory: "/mnt/x", lazy_unmount: "maybe" },
];

if (!cannotMount) {
  runResourceAgentContract(
    Filesystem,
    (tmpDir) => ({
      device: "tmpfs",
      directory: `${tmpDir}/mnt`,
      fstype: "tmpfs",
      options: "size=1m",
    }),
    { invalidParams: INVALID },
  );
} else {
  Deno.test({ name: `contract Filesystem${skipped}`, ignore: true, fn: () => {} });
}

Deno.test("Filesystem: parseMounts decodes octal escapes; the last stacked mount wins", () => {
  const text = [
    "sysfs /sys sysfs rw,nosuid 0 0",
    "tmpfs /mnt/with\\040space tmpfs rw,size=1024k 0 0",
    "/dev/sdb1 /srv ext4 rw 0 0",
    "tmpfs /srv tmpfs ro 0 0",
    "short line",
    "",
  ].join("\n");
  const entries = parseMounts(text);
  assert.equal(entries.length, 4);
  assert.equal(entries[1].directory, "/mnt/with space");
  assert.deepEqual(findMount(entries, "/srv"), {
    device: "tmpfs",
    directory: "/srv",
    fstype: "tmpfs",
    options: "ro",
  });
  assert.equal(findMount(entries, "/nowhere"), undefined);
  assert.equal(unescapeMountField("a\\011b\\134c\\012"), "a\tb\\c\n");
});

Deno.test("Filesystem: mountArgs and parameter defaults", () => {
  const p = Filesystem.params.parse({ device: "/dev/sdb1", directory: "/srv/data" });
  assert.equal(p.options, "");
  assert.equal(p.lazy_unmount, false);
  assert.deepEqual(mountArgs(p), ["/dev/sdb1", "/srv/data"]);
  const q = Filesystem.params.parse({
    device: "tmpfs",
    directory: "/m",
    fstype: "tmpfs",
    options: "size=1m,mode=700",
    lazy_unmount: "yes",
  });
  assert.equal(q.lazy_unmount, true);
  assert.deepEqual(mountArgs(q), ["-t", "tmpfs", "-o", "size=1m,mode=700", "tmpfs", "/m"]);
});

Deno.test("Filesystem: every parameter is described; defaults show in the description table", () => {
  const rows = describeParams(Filesystem.params);
  assert.ok(rows.length > 0);
  for (const row of rows) assert.ok(row.description, `${row.name} has no description`);
  for (const [name, value] of [["lazy_unmount", false], ["options", ""]] as [string, unknown][]) {
    assert.deepEqual(rows.find((r) => r.name === name)?.default, value, name);
  }
});

Deno.test("Filesystem: registered as a built-in", () => {
  assert.equal(findResourceAgent("Filesystem"), Filesystem);
});

function context(raw: Record<string, unknown>, lines: string[], depth = 0) {
  const ctx: AgentContext<FilesystemParams> = {
    params: Filesystem.params.parse(raw),
    resourceId: "fs",
    node: "n1",
    stateDir: "/nonexistent-state-dir",
    signal: new AbortController().signal,
    timeoutMs: 60_000,
    depth,
    log: (line) => lines.push(line),
  };
  return ctx;
}

/** Unmounts `dir` if still mounted (lazily, so cleanup cannot hang on a busy mount). */
async function forceUnmount(dir: string): Promise<void> {
  const mounts = await Deno.readTextFile("/proc/self/mounts");
  if (!findMount(parseMounts(mounts), dir)) return;
  await new Deno.Command("/usr/bin/umount", { args: ["-l", dir] }).output();
}

Deno.test({
  name: `Filesystem: tmpfs start/monitor (depth 10)/stop, mount point created${skipped}`,
  ignore: cannotMount !== undefined,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "vigil-fs-" });
    const dir = `${tmp}/a/b`;
    const lines: string[] = [];
    const raw = { device: "tmpfs", directory: dir, fstype: "tmpfs", options: "size=1m,mode=750" };
    try {
      assert.equal(await Filesystem.actions.validate!(context(raw, lines)), OCF.OK);
      assert.equal(await Filesystem.actions.start(context(raw, lines)), OCF.OK, lines.join("\n"));
      const entry = findMount(parseMounts(await Deno.readTextFile("/proc/self/mounts")), dir);
      assert.equal(entry?.fstype, "tmpfs");
      assert.match(entry!.options, /size=1024k/);
      assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o750);
      await Deno.writeTextFile(`${dir}/hello`, "x");
      assert.equal(await Filesystem.actions.monitor(context(raw, lines, 10)), OCF.OK);
      assert.equal(await Filesystem.actions.stop(context(raw, lines)), OCF.OK, lines.join("\n"));
      // The file lived on the tmpfs, which is gone.
      assert.ok(!existsSync(`${dir}/hello`));
      assert.equal(await Filesystem.actions.monitor(context(raw, lines, 10)), OCF.NOT_RUNNING);
    } finally {
      await forceUnmount(dir);
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: `Filesystem: a busy mount fails stop unless lazy_unmount is set${skipped}`,
  ignore: cannotMount !== undefined,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "vigil-fs-" });
    const dir = `${tmp}/mnt`;
    const lines: string[] = [];
    const raw = { device: "tmpfs", directory: dir, fstype: "tmpfs" };
    let user: Deno.ChildProcess | undefined;
    try {
      assert.equal(await Filesystem.actions.start(context(raw, lines)), OCF.OK, lines.join("\n"));
      // A process whose working directory is on the filesystem keeps it busy.
      user = new Deno.Command("/bin/sleep", { args: ["300"], cwd: dir }).spawn();
      assert.equal(await Filesystem.actions.stop(context(raw, lines)), OCF.ERR_GENERIC);
      assert.match(lines.join("\n"), /busy/i);
      assert.equal(await Filesystem.actions.monitor(context(raw, lines)), OCF.OK);
      const lazy = { ...raw, lazy_unmount: "true" };
      assert.equal(await Filesystem.actions.stop(context(lazy, lines)), OCF.OK, lines.join("\n"));
      assert.match(lines.join("\n"), /lazily/);
      assert.equal(await Filesystem.actions.monitor(context(raw, lines)), OCF.NOT_RUNNING);
    } finally {
      if (user) {
        user.kill("SIGKILL");
        await user.status;
      }
      await forceUnmount(dir);
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: `Filesystem: a device that does not exist fails validate and start${skipped}`,
  ignore: cannotMount !== undefined,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "vigil-fs-" });
    const lines: string[] = [];
    const raw = { device: `${tmp}/no-such-device`, directory: `${tmp}/mnt`, fstype: "ext4" };
    try {
      assert.equal(await Filesystem.actions.validate!(context(raw, lines)), OCF.ERR_INSTALLED);
      assert.equal(await Filesystem.actions.start(context(raw, lines)), OCF.ERR_GENERIC);
      assert.match(lines.join("\n"), /mount .*exit \d+/);
      assert.equal(await Filesystem.actions.monitor(context(raw, lines)), OCF.NOT_RUNNING);
    } finally {
      await forceUnmount(`${tmp}/mnt`);
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

async function command(file: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(file, {
    args,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  if (out.code !== 0) {
    throw new Error(`${file} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test({
  name: `Filesystem: ext4 on a loop device keeps data across stop and start${
    noLoop ? ` (skipped: ${noLoop})` : ""
  }`,
  ignore: noLoop !== undefined,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "vigil-fs-" });
    const image = `${tmp}/disk.img`;
    const dir = `${tmp}/mnt`;
    const lines: string[] = [];
    let loop: string | undefined;
    try {
      await Deno.writeFile(image, new Uint8Array(16 * 1024 * 1024));
      await command(MKFS, ["-q", "-F", image]);
      loop = await command(LOSETUP, ["--find", "--show", image]);
      assert.match(loop, /^\/dev\/loop\d+$/);
      const raw = { device: loop, directory: dir, fstype: "ext4", options: "noatime" };
      assert.equal(await Filesystem.actions.validate!(context(raw, lines)), OCF.OK);
      assert.equal(await Filesystem.actions.start(context(raw, lines)), OCF.OK, lines.join("\n"));
      const entry = findMount(parseMounts(await Deno.readTextFile("/proc/self/mounts")), dir);
      assert.equal(entry?.device, loop);
      assert.equal(entry?.fstype, "ext4");
      assert.match(entry!.options, /noatime/);
      await Deno.writeTextFile(`${dir}/kept`, "survives a remount");
      assert.equal(await Filesystem.actions.monitor(context(raw, lines, 10)), OCF.OK);
      assert.equal(await Filesystem.actions.stop(context(raw, lines)), OCF.OK, lines.join("\n"));
      assert.ok(!existsSync(`${dir}/kept`));
      assert.equal(await Filesystem.actions.start(context(raw, lines)), OCF.OK);
      assert.equal(await Deno.readTextFile(`${dir}/kept`), "survives a remount");
      assert.equal(await Filesystem.actions.stop(context(raw, lines)), OCF.OK);
      assert.equal(await Filesystem.actions.monitor(context(raw, lines)), OCF.NOT_RUNNING);
    } finally {
      await forceUnmount(dir);
      if (loop) await command(LOSETUP, ["-d", loop]).catch((e) => console.error(e));
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
