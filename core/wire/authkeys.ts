/**
 * Parser and loader for the Heartbeat-style `authkeys` file: the shared secrets
 * that authenticate every cluster message.
 *
 * Format (one directive per line, `#` starts a comment line, blank lines ignored), read
 * the way Heartbeat 3.0.6 reads it (`sscanf("%d%s%s")`):
 *
 * ```
 * auth 1
 * 1 sha256 SomeLongSharedSecret
 * 2 sha1 AnOlderSecretStillAccepted   anything after the key is ignored
 * 0 crc
 * ```
 *
 * - Key ids are 0..255. Heartbeat itself allows 0..15; the larger ids are for Vigil's own
 *   frames, whose key id byte carries up to 255.
 * - The key is the first whitespace-free token after the method; the rest of the line is
 *   ignored, so a key cannot contain spaces.
 * - Methods: `sha256` (Vigil only), `sha1`, `md5` (these need a key), and `crc`, which
 *   must have no key and offers no authentication (its secret is ""). A keyring whose
 *   active key is crc can verify Heartbeat packets but must not sign Vigil frames: call
 *   {@link assertSigningKey} before using it for that.
 * - The file must not be accessible by group or others ({@link checkAuthkeysMode}).
 *
 * @module
 */

import { readFileSync, statSync } from "node:fs";

/** One shared secret, named by the key id carried in every frame. */
export interface AuthKey {
  /** Key id, 0..255 (Heartbeat: 0..15); travels in the frame so receivers can pick the secret. */
  id: number;
  /** HMAC hash algorithm, or Heartbeat's keyless `crc` checksum. */
  algorithm: "sha256" | "sha1" | "md5" | "crc";
  /** The shared secret (the first whitespace-free token after the algorithm); "" for crc. */
  secret: string;
}

/** All known keys plus the one used to sign outgoing frames. */
export interface Keyring {
  /** The key selected by the `auth N` line; outgoing frames are signed with it. */
  active: AuthKey;
  /** Every key in the file, by id; incoming frames may use any of them. */
  keys: Map<number, AuthKey>;
}

/** Error raised for an unreadable, unsafe or malformed authkeys file. */
export class AuthkeysError extends Error {
  /** @param message what is wrong, naming the file (and line, where there is one). */
  constructor(message: string) {
    super(message);
    this.name = "AuthkeysError";
  }
}

const ALGORITHMS: ReadonlySet<string> = new Set(["sha256", "sha1", "md5", "crc"]);

/** Parse a key id token; only plain decimal integers 0..255 fit the frame's key id byte. */
function parseKeyId(token: string, where: string): number {
  const id = /^[0-9]+$/.test(token) ? Number(token) : NaN;
  if (!Number.isInteger(id) || id < 0 || id > 255) {
    throw new AuthkeysError(`${where}: key id "${token}" is not an integer 0..255`);
  }
  return id;
}

/**
 * Parse the text of an authkeys file.
 *
 * @param text the file's contents.
 * @param file the file's path, used only in error messages.
 * @returns the keyring, with the key selected by `auth N` as active.
 * @throws AuthkeysError naming `file:line` and what is wrong.
 */
export function parseAuthkeys(text: string, file: string): Keyring {
  const keys = new Map<number, AuthKey>();
  let authId: number | undefined;
  let authLine = 0;
  const lines = text.split("\n");
  // A trailing newline yields an empty last element; it is not a real line.
  const lineCount = text.endsWith("\n") ? lines.length - 1 : lines.length;

  for (let i = 0; i < lines.length; i++) {
    const where = `${file}:${i + 1}`;
    const line = lines[i].trim();
    if (line === "" || line.startsWith("#")) continue;
    const tokens = line.split(/\s+/);

    if (tokens[0] === "auth") {
      if (authId !== undefined) {
        throw new AuthkeysError(`${where}: second "auth" line (first at line ${authLine})`);
      }
      if (tokens.length !== 2) {
        throw new AuthkeysError(`${where}: expected "auth N" with exactly one key id`);
      }
      authId = parseKeyId(tokens[1], where);
      authLine = i + 1;
      continue;
    }

    if (!/^[0-9+-]/.test(tokens[0])) {
      throw new AuthkeysError(
        `${where}: unrecognised line; expected "auth N" or "N ALGORITHM SECRET"`,
      );
    }
    const id = parseKeyId(tokens[0], where);
    const algorithm = (tokens[1] ?? "").toLowerCase();
    if (algorithm === "") {
      throw new AuthkeysError(
        `${where}: key ${id} has no algorithm (expected sha256, sha1, md5, crc)`,
      );
    }
    if (!ALGORITHMS.has(algorithm)) {
      throw new AuthkeysError(
        `${where}: key ${id} has unknown algorithm "${
          tokens[1]
        }" (expected sha256, sha1, md5, crc)`,
      );
    }
    // Like Heartbeat's sscanf("%d%s%s"): the key is one token; the rest of the line is ignored.
    const secret = tokens[2] ?? "";
    if (algorithm === "crc") {
      if (secret !== "") {
        throw new AuthkeysError(
          `${where}: key ${id} uses crc, which takes no key (remove "${secret}")`,
        );
      }
    } else if (secret === "") {
      throw new AuthkeysError(`${where}: key ${id} has no secret`);
    }
    if (keys.has(id)) {
      throw new AuthkeysError(`${where}: duplicate key id ${id}`);
    }
    keys.set(id, { id, algorithm: algorithm as AuthKey["algorithm"], secret });
  }

  if (authId === undefined) {
    throw new AuthkeysError(
      `${file}:${Math.max(lineCount, 1)}: missing "auth N" line selecting the active key`,
    );
  }
  const active = keys.get(authId);
  if (active === undefined) {
    throw new AuthkeysError(
      `${file}:${authLine}: "auth ${authId}" names key ${authId}, which is not defined`,
    );
  }
  return { active, keys };
}

/**
 * Refuse a keyring whose active key cannot sign Vigil frames: crc is a checksum anyone
 * can compute, so frames "signed" with it would be unauthenticated. (crc keys remain
 * usable for talking to Heartbeat peers configured that way.)
 *
 * @param keyring the parsed keyring.
 * @param file the authkeys path, used in the error message.
 * @throws AuthkeysError if the active key is crc.
 */
export function assertSigningKey(keyring: Keyring, file: string): void {
  if (keyring.active.algorithm === "crc") {
    throw new AuthkeysError(
      `${file}: auth ${keyring.active.id} selects a crc key: crc offers no authentication; ` +
        `Vigil frames need sha256, sha1 or md5 (e.g. "${keyring.active.id} sha256 SECRET")`,
    );
  }
}

/**
 * Refuse an authkeys file that group or others can access: the secrets in it are
 * what stands between the network and the cluster.
 *
 * @param mode the file's `st_mode` (permission bits are read from it).
 * @param file the file's path, used in the error message.
 * @throws AuthkeysError if any group/other permission bit is set.
 */
export function checkAuthkeysMode(mode: number, file: string): void {
  if ((mode & 0o077) !== 0) {
    const octal = (mode & 0o7777).toString(8).padStart(4, "0");
    throw new AuthkeysError(
      `authkeys file ${file} is readable by group or others (mode ${octal}); ` +
        `run: chmod 600 ${file}`,
    );
  }
}

/**
 * Read, permission-check and parse an authkeys file.
 *
 * @param file path of the authkeys file.
 * @returns the parsed keyring.
 * @throws AuthkeysError if the file cannot be read, is group/other accessible, or is malformed.
 */
export function loadAuthkeys(file: string): Keyring {
  let mode: number;
  let text: string;
  try {
    mode = statSync(file).mode;
  } catch (e) {
    throw new AuthkeysError(`cannot stat authkeys file ${file}: ${(e as Error).message}`);
  }
  checkAuthkeysMode(mode, file);
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new AuthkeysError(`cannot read authkeys file ${file}: ${(e as Error).message}`);
  }
  return parseAuthkeys(text, file);
}
