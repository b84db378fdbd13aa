/**
 * The CNI network configuration kubelet's runtime reads, written by the daemon only once it can
 * serve: until then the node's runtime has no network for pods and kubelet keeps the Node
 * NotReady, instead of calling a plugin whose daemon cannot answer. Written atomically (temp
 * file, fsync, rename, fsync of the directory), so the runtime never reads half a file.
 */
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_SOCKET_PATH } from '../../rpc/protocol.js';

export const CONFLIST_NAME = '10-nativeip.conflist';

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
