/**
 * `Filesystem`: mounts a filesystem, the built-in counterpart of ocf:heartbeat:Filesystem
 * (kept simple: no fsck, no killing of the filesystem's users).
 *
 * - start: creates `directory` if missing, then `mount [-t FSTYPE] [-o OPTIONS] DEVICE
 *   DIRECTORY`. Already mounted there is OK (whatever the device).
 * - monitor: `directory` is a mount point in `/proc/self/mounts`. With depth ≥ 10 the
 *   directory must also be listable (a hung NFS server or a dead disk shows up there).
 * - stop: `umount DIRECTORY`; when that fails (busy) and `lazy_unmount` is set,
 *   `umount -l` detaches it anyway (its users keep their open files). Processes using
 *   the filesystem are never killed. Not mounted is OK.
 *
 * @example
 * ```ts
 * // { id: "data", agent: "Filesystem",
 * //   params: { device: "/dev/vg0/data", directory: "/srv/data", fstype: "ext4" } }
 * ```
 * @module
 */

import { statSync } from "node:fs";
import { mkdir, readdir, readFile, realpath } from "node:fs/promises";
import { isAbsolute, normalize } from "node:path";
import { z } from "zod";
import { type AgentContext, defineResourceAgent, OCF } from "../plugins/resource_agent.ts";
import {
  describeCommandFailure,
  errorText,
  findProgram,
  runCommand,
  timeoutWithin,
} from "./agent_tools.ts";

// ---------------------------------------------------------------------------------------
// Pure helpers (exported for tests)

/** One line of `/proc/mounts`. */
export interface MountEntry {
  /** What is mounted (a device, `tmpfs`, `server:/export`, ...). */
  device: string;
  /** Where, with the kernel's octal escapes decoded. */
  directory: string;
  /** The filesystem type. */
  fstype: string;
  /** The mount options, comma-separated. */
  options: string;
}

/** Decodes the kernel's `\NNN` octal escapes (space, tab, newline, backslash). */
export function unescapeMountField(field: string): string {
  return field.replace(
    /\\([0-7]{3})/g,
    (_, octal: string) => String.fromCharCode(parseInt(octal, 8)),
  );
}

/** Parses `/proc/mounts` text; malformed lines are skipped, at most 100 000 are read. */
export function parseMounts(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split("\n").slice(0, 100_000)) {
    const fields = line.split(" ");
    if (fields.length < 4 || fields[1] === undefined || fields[1] === "") continue;
    entries.push({
      device: unescapeMountField(fields[0]),
      directory: unescapeMountField(fields[1]),
      fstype: fields[2],
      options: fields[3],
    });
  }
  return entries;
}

/** The entry mounted on `directory` that is visible (the last one: mounts stack). */
export function findMount(
  entries: readonly MountEntry[],
  directory: string,
): MountEntry | undefined {
  return entries.findLast((e) => e.directory === directory);
}

/** The `mount` arguments for the given parameters. */
export function mountArgs(
  p: Pick<FilesystemParams, "device" | "directory" | "fstype" | "options">,
): string[] {
  const args: string[] = [];
  if (p.fstype !== undefined) args.push("-t", p.fstype);
  if (p.options !== "") args.push("-o", p.options);
  args.push(p.device, p.directory);
  return args;
}

// ---------------------------------------------------------------------------------------
// Parameters

const bool = z.union([
  z.boolean(),
  z.enum(["true", "false", "yes", "no", "on", "off", "1", "0"]).transform((s) =>
    ["true", "yes", "on", "1"].includes(s)
  ),
]);

const params = z.object({
  device: z.string().min(1).regex(/^[^\s\0-]/, { error: "expected a device, not an option" })
    .refine((s) => !/[\s\0]/.test(s), { error: "must not contain blanks" })
    .describe(
      "What to mount: a block device (/dev/sdb1), LABEL=/UUID=, an image file, " +
        "server:/export, or a name such as tmpfs.",
    ),
  directory: z.string().refine((s) => isAbsolute(s) && normalize(s) !== "/" && !s.includes("\0"), {
    error: "expected an absolute path other than /",
  }).describe("The mount point; created when missing."),
  fstype: z.string().regex(/^[A-Za-z0-9_.+-]{1,32}$/, { error: "expected a filesystem type" })
    .optional().describe(
      "Filesystem type (mount -t), e.g. ext4, xfs, nfs, tmpfs; by default detected.",
    ),
  options: z.string().regex(/^[^\s\0]*$/, { error: "expected comma-separated options" })
    .default("").describe("Mount options (mount -o), e.g. noatime,ro or size=64m."),
  lazy_unmount: bool.prefault(false).describe(
    "When umount fails (busy), detach the filesystem anyway with umount -l.",
  ),
});

/** The parsed parameters of a `Filesystem` resource. */
export type FilesystemParams = z.output<typeof params>;

// ---------------------------------------------------------------------------------------
// I/O

const MOUNT_TIMEOUT_MS = 120_000;
const MAX_OUTPUT = 64 * 1024;
const MOUNTS_FILE = "/proc/self/mounts";
/** Where mount and umount are looked for after $PATH. */
const SEARCH_DIRS = ["/usr/bin", "/bin", "/usr/sbin", "/sbin"];

type Ctx = AgentContext<FilesystemParams>;

/** Runs `file args`, bounded in time and by `ctx.signal`; resolves with an error line or undefined. */
async function run(ctx: Ctx, file: string, args: string[]): Promise<string | undefined> {
  const r = await runCommand(file, args, {
    signal: ctx.signal,
    timeoutMs: timeoutWithin(MOUNT_TIMEOUT_MS, ctx.timeoutMs),
    maxOutputBytes: MAX_OUTPUT,
  });
  if (r.code === 0 && r.failure === undefined) return undefined;
  return describeCommandFailure(`${file} ${args.join(" ")}`, r);
}

/** The mount point as the kernel names it: symlinks resolved when the directory exists. */
async function canonical(directory: string): Promise<string> {
  try {
    return await realpath(directory);
  } catch {
    return normalize(directory);
  }
}

/** What is mounted on the resource's directory, if anything. */
async function mountedHere(ctx: Ctx): Promise<MountEntry | undefined> {
  const entries = parseMounts(await readFile(MOUNTS_FILE, "utf8"));
  return findMount(entries, await canonical(ctx.params.directory));
}

/** Resolves when `directory` can be listed; rejects on error or after the signal aborts. */
function listable(ctx: Ctx, directory: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new Error("aborted"));
    ctx.signal.addEventListener("abort", onAbort, { once: true });
    readdir(directory).then(() => resolve(), reject).finally(() =>
      ctx.signal.removeEventListener("abort", onAbort)
    );
  });
}

/** The `Filesystem` agent definition. */
const Filesystem = defineResourceAgent({
  kind: "resource-agent",
  name: "Filesystem",
  version: "1.0.0",
  description: "Mounts a filesystem (mount/umount) on a directory.",
  params,
  actions: {
    async start(ctx) {
      const p = ctx.params;
      try {
        if (await mountedHere(ctx)) return OCF.OK;
        await mkdir(p.directory, { recursive: true });
      } catch (e) {
        ctx.log(`Filesystem: ${p.directory}: ${errorText(e)}`);
        return OCF.ERR_GENERIC;
      }
      const mount = findProgram("mount", SEARCH_DIRS);
      if (!mount) {
        ctx.log("Filesystem: mount is not installed");
        return OCF.ERR_INSTALLED;
      }
      const failed = await run(ctx, mount, mountArgs(p));
      if (failed) {
        ctx.log(`Filesystem: ${failed}`);
        return OCF.ERR_GENERIC;
      }
      ctx.log(`Filesystem: mounted ${p.device} on ${p.directory}`);
      return OCF.OK;
    },

    async stop(ctx) {
      const p = ctx.params;
      try {
        if (!await mountedHere(ctx)) return OCF.OK;
      } catch (e) {
        ctx.log(`Filesystem: ${MOUNTS_FILE}: ${errorText(e)}`);
        return OCF.ERR_GENERIC;
      }
      const umount = findProgram("umount", SEARCH_DIRS);
      if (!umount) {
        ctx.log("Filesystem: umount is not installed");
        return OCF.ERR_INSTALLED;
      }
      const directory = await canonical(p.directory);
      const failed = await run(ctx, umount, [directory]);
      if (failed) {
        ctx.log(`Filesystem: ${failed}`);
        if (!p.lazy_unmount) return OCF.ERR_GENERIC;
        const lazyFailed = await run(ctx, umount, ["-l", directory]);
        if (lazyFailed) {
          ctx.log(`Filesystem: ${lazyFailed}`);
          return OCF.ERR_GENERIC;
        }
        ctx.log(`Filesystem: detached ${directory} lazily (umount -l)`);
      }
      try {
        // Several filesystems may be stacked on the directory: stop only when none is left.
        if (await mountedHere(ctx)) {
          ctx.log(`Filesystem: ${directory} is still a mount point after umount`);
          return OCF.ERR_GENERIC;
        }
      } catch (e) {
        ctx.log(`Filesystem: ${MOUNTS_FILE}: ${errorText(e)}`);
        return OCF.ERR_GENERIC;
      }
      return OCF.OK;
    },

    async monitor(ctx) {
      let entry: MountEntry | undefined;
      try {
        entry = await mountedHere(ctx);
      } catch (e) {
        ctx.log(`Filesystem: ${MOUNTS_FILE}: ${errorText(e)}`);
        return OCF.ERR_GENERIC;
      }
      if (!entry) return OCF.NOT_RUNNING;
      if ((ctx.depth ?? 0) >= 10) {
        try {
          await listable(ctx, entry.directory);
        } catch (e) {
          ctx.log(`Filesystem: ${entry.directory} is mounted but cannot be read: ${errorText(e)}`);
          return OCF.ERR_GENERIC;
        }
      }
      return OCF.OK;
    },

    validate(ctx) {
      const p = ctx.params;
      for (const program of ["mount", "umount"]) {
        if (!findProgram(program, SEARCH_DIRS)) {
          ctx.log(`Filesystem: ${program} is not installed`);
          return Promise.resolve(OCF.ERR_INSTALLED);
        }
      }
      if (p.device.startsWith("/")) {
        try {
          statSync(p.device);
        } catch (e) {
          ctx.log(`Filesystem: device ${p.device}: ${errorText(e)}`);
          return Promise.resolve(OCF.ERR_INSTALLED);
        }
      }
      try {
        if (!statSync(p.directory).isDirectory()) {
          ctx.log(`Filesystem: ${p.directory} exists and is not a directory`);
          return Promise.resolve(OCF.ERR_CONFIGURED);
        }
      } catch {
        // Missing: start creates it.
      }
      return Promise.resolve(OCF.OK);
    },
  },
  timeouts: { start: 60_000, stop: 60_000, monitor: 40_000 },
});

/** The module's default export, as the plugin contract requires. */
export default Filesystem;
