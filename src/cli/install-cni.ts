/**
 * `nativeip install-cni`: the DaemonSet's init step. Copies the CNI plugin shim shipped in the
 * image onto the host's CNI bin directory, atomically: kubelet (or the container runtime) may
 * run the plugin at any moment, and must see either the old file or the new one, never a
 * half-written one. Writing in place would also fail with ETXTBSY while the old one runs; a
 * rename replaces the directory entry and leaves running or open copies their old file.
 * It does not write the CNI network configuration: the daemon does, once it can serve.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseFlags } from '../core/cli-flags.js';

export const DEFAULT_SHIM_PATH = '/opt/nativeip/bin/nativeip-cni';
export const DEFAULT_BIN_DIR = '/host/opt/cni/bin';
/** The name kubelet finds the plugin by: the `type` in the CNI network configuration. */
export const PLUGIN_NAME = 'nativeip-cni';

export const INSTALL_CNI_USAGE = `usage: nativeip install-cni [--from PATH] [--bin-dir DIR] [--rp-filter-loose]
  --from PATH         the plugin to install (default ${DEFAULT_SHIM_PATH}, the image's)
  --bin-dir DIR       the host's CNI bin directory, mounted into the container (default ${DEFAULT_BIN_DIR})
  --rp-filter-loose   set rp_filter to 2 on the default route's interface when it is 1 (NodePort to
                      pods on secondary interfaces; the DaemonSet's init step passes it)
`;

export class InstallCniUsageError extends Error {}

/** A failure to install, naming the path it concerns. */
export class InstallCniError extends Error {
  constructor(
    message: string,
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'InstallCniError';
  }
}

export interface InstallCniOptions {
  readonly from: string;
  readonly binDir: string;
  /** Also loosen the primary interface's rp_filter (rp-filter.ts). */
  readonly rpFilterLoose?: boolean;
}

export type InstallOutcome =
  | { readonly kind: 'installed'; readonly path: string; readonly from: string; readonly bytes: number; readonly replaced: boolean }
  | { readonly kind: 'unchanged'; readonly path: string; readonly from: string };

/** Parses the arguments (after `install-cni`). Pure; throws InstallCniUsageError with the reason. */
export function parseInstallCniArgs(argv: readonly string[]): InstallCniOptions {
  const flags = parseFlags(argv, { values: ['--from', '--bin-dir'], switches: ['--rp-filter-loose'] }, (problem) => new InstallCniUsageError(problem.message));
  return {
    from: flags.one('--from') ?? DEFAULT_SHIM_PATH,
    binDir: flags.one('--bin-dir') ?? DEFAULT_BIN_DIR,
    ...(flags.has('--rp-filter-loose') ? { rpFilterLoose: true } : {}),
  };
}

/** What to do with the installed file: nothing when it already has these bytes. Pure. */
export function installAction(source: Uint8Array, installed: Uint8Array | undefined): 'write' | 'skip' {
  return installed !== undefined && Buffer.from(source.buffer, source.byteOffset, source.byteLength).equals(installed) ? 'skip' : 'write';
}

/**
 * The message for a file system error at `path`, in the terms of what install-cni was doing
 * (`doing`, e.g. "write the plugin into"). Pure.
 */
export function describeFsError(error: unknown, doing: string, path: string): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const why =
    code === 'ENOENT'
      ? 'it does not exist'
      : code === 'ENOTDIR'
        ? 'a part of the path is not a directory'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : code === 'EROFS'
            ? 'read-only file system'
            : code === 'ENOSPC'
              ? 'no space left on the device'
              : code === 'EISDIR'
                ? 'it is a directory'
                : error instanceof Error
                  ? error.message
                  : String(error);
  return `cannot ${doing} ${path}: ${why}${code === undefined ? '' : ` (${code})`}`;
}

/**
 * The file system operations install-cni makes, as a seam for tests that need one of them to
 * fail; `nodeInstallIo` is the real one.
 */
export interface InstallIo {
  readFile(path: string): Promise<Uint8Array>;
  /** Whether `path` is a directory; throws the stat error when it is missing. */
  isDirectory(path: string): Promise<boolean>;
  /** Creates `path` (which must not exist), writes `data`, sets `mode`, fsyncs and closes it. */
  writeNew(path: string, data: Uint8Array, mode: number): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** fsyncs a directory, so a rename in it survives a crash. */
  syncDirectory(path: string): Promise<void>;
  unlink(path: string): Promise<void>;
}

export const nodeInstallIo: InstallIo = {
  readFile: (path) => readFile(path),
  isDirectory: async (path) => (await stat(path)).isDirectory(),
  async writeNew(path, data, mode) {
    const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      await handle.writeFile(data);
      await handle.chmod(mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  rename: (from, to) => rename(from, to),
  async syncDirectory(path) {
    const handle = await open(path, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  unlink: (path) => unlink(path),
};

/**
 * Installs the plugin at `options.from` as `<binDir>/nativeip-cni`: a temp file in the same
 * directory (so the rename is atomic), fsynced, mode 0755, renamed over the old one, the
 * directory fsynced. Idempotent: an installed file with the same bytes is left as it is.
 * Throws InstallCniError naming the path when the plugin cannot be read or the directory is
 * missing or not writable; no temp file is left behind.
 */
export async function installCni(options: InstallCniOptions, io: InstallIo = nodeInstallIo): Promise<InstallOutcome> {
  const { from, binDir } = options;
  const target = join(binDir, PLUGIN_NAME);
  let source: Uint8Array;
  try {
    source = await io.readFile(from);
  } catch (error) {
    throw new InstallCniError(describeFsError(error, 'read the plugin to install,', from), from, { cause: error });
  }
  let isDirectory: boolean;
  try {
    isDirectory = await io.isDirectory(binDir);
  } catch (error) {
    const mountHint = (error as NodeJS.ErrnoException).code === 'ENOENT' ? " (mount the host's CNI bin directory there, or pass --bin-dir)" : '';
    throw new InstallCniError(`${describeFsError(error, 'use the CNI bin directory', binDir)}${mountHint}`, binDir, { cause: error });
  }
  if (!isDirectory) throw new InstallCniError(`cannot use the CNI bin directory ${binDir}: it is not a directory`, binDir);
  const installed = await io.readFile(target).catch(() => undefined);
  if (installAction(source, installed) === 'skip') return { kind: 'unchanged', path: target, from };

  const temp = join(binDir, `.${PLUGIN_NAME}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let renamed = false;
  try {
    try {
      await io.writeNew(temp, source, 0o755);
    } catch (error) {
      throw new InstallCniError(describeFsError(error, 'write the plugin into', binDir), binDir, { cause: error });
    }
    try {
      await io.rename(temp, target);
      renamed = true;
    } catch (error) {
      throw new InstallCniError(describeFsError(error, `replace ${target} with`, basename(temp)), target, { cause: error });
    }
    try {
      await io.syncDirectory(binDir);
    } catch (error) {
      throw new InstallCniError(describeFsError(error, 'sync the directory', binDir), binDir, { cause: error });
    }
  } finally {
    if (!renamed) await io.unlink(temp).catch(() => undefined);
  }
  return { kind: 'installed', path: target, from, bytes: source.byteLength, replaced: installed !== undefined };
}

/** One line for the init container's log. Pure. */
export function renderInstallOutcome(outcome: InstallOutcome): string {
  if (outcome.kind === 'unchanged') return `install-cni: ${outcome.path} already has the bytes of ${outcome.from}; left as it is`;
  return `install-cni: ${outcome.replaced ? 'replaced' : 'installed'} ${outcome.path} (${outcome.bytes} bytes, from ${outcome.from})`;
}
