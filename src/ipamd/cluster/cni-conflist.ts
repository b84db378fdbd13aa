/**
 * The CNI network configuration kubelet's runtime reads, written by the daemon only once it can
 * serve: until then the node's runtime has no network for pods and kubelet keeps the Node
 * NotReady, instead of calling a plugin whose daemon cannot answer. Written atomically (temp
 * file, fsync, rename, fsync of the directory), so the runtime never reads half a file.
 */
import { open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_SOCKET_PATH } from '../../rpc/protocol.js';

/**
 * The runtime (libcni) uses the first configuration in name order. `05-` sorts before the `10-`
 * files other CNIs write (the AWS VPC CNI's `10-aws.conflist`, Calico's and Flannel's `10-…`),
 * so a node that still has one left over uses nativeip, deterministically.
 */
export const CONFLIST_NAME = '05-nativeip.conflist';

/** Names earlier versions wrote: removed when the current one is in place, so no stale copy is read. */
export const LEGACY_CONFLIST_NAMES: readonly string[] = ['10-nativeip.conflist'];

/** The files libcni reads as network configurations. */
const CNI_CONFIG_FILE = /^[^.].*\.(conf|conflist|json)$/;

/** Other networks' configurations among `names`: those the runtime would pick before ours, and the rest. Pure. */
export function otherConfigurations(names: readonly string[], ours: string = CONFLIST_NAME): { before: string[]; after: string[] } {
  const others = names.filter((n) => CNI_CONFIG_FILE.test(n) && n !== ours && !LEGACY_CONFLIST_NAMES.includes(n)).sort();
  return { before: others.filter((n) => n < ours), after: others.filter((n) => n > ours) };
}

/**
 * Writes the conflist (atomically), removes the names earlier versions used, and says which other
 * networks' configurations are in the directory (`before`: the runtime would use them instead).
 */
export async function installConflist(dir: string, text: string): Promise<{ path: string; removed: string[]; before: string[]; after: string[] }> {
  const path = await writeFileAtomically(dir, CONFLIST_NAME, text);
  const names = await readdir(dir);
  const removed: string[] = [];
  for (const legacy of LEGACY_CONFLIST_NAMES) {
    if (!names.includes(legacy)) continue;
    await rm(join(dir, legacy), { force: true });
    removed.push(legacy);
  }
  return { path, removed, ...otherConfigurations(names) };
}

/** The conflist's text for a daemon listening on `socketPath`. Pure. */
export function renderConflist(options: { socketPath: string }): string {
  const plugin = {
    type: 'nativeip-cni',
    ...(options.socketPath === DEFAULT_SOCKET_PATH ? {} : { socketPath: options.socketPath }),
  };
  return `${JSON.stringify({ cniVersion: '1.0.0', name: 'nativeip', plugins: [plugin] }, null, 2)}\n`;
}

/** Writes `text` as `dir/name` atomically; returns the path. Throws, naming the path, when it cannot. */
export async function writeFileAtomically(dir: string, name: string, text: string): Promise<string> {
  const target = join(dir, name);
  // A dot-name the runtime ignores (libcni reads *.conf, *.conflist and *.json only).
  const temp = join(dir, `.${name}.${process.pid}.tmp`);
  try {
    const file = await open(temp, 'w', 0o644);
    try {
      await file.writeFile(text);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, target);
    const directory = await open(dir, 'r');
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
    return target;
  } catch (error) {
    await rm(temp, { force: true });
    throw new Error(`cannot write the CNI configuration ${target}: ${(error as Error).message}`, { cause: error });
  }
}
