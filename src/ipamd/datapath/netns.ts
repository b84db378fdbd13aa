/**
 * Entering a network namespace from the Node main thread: libc setns(2) through koffi, loaded on
 * first use. The switch is synchronous, so no other JavaScript runs while the thread is inside
 * the target namespace; libuv's thread pool is not affected (setns is per thread).
 */
import { closeSync, openSync } from 'node:fs';
import { errnoName, lastErrno, libcIntFunction } from './libc.js';

const CLONE_NEWNET = 0x40000000;
const SELF_NETNS = '/proc/thread-self/ns/net';

const setns = libcIntFunction('int setns(int fd, int nstype)');

export class NetnsError extends Error {
  override readonly name = 'NetnsError';
  /** errno name, e.g. `ENOENT` (netns path missing) or `EINVAL` (not a network namespace). */
  readonly code: string;
  readonly path: string;
  constructor(path: string, code: string, message: string, options?: { cause?: unknown }) {
    super(`netns ${path}: ${message}`, options);
    this.code = code;
    this.path = path;
  }
}

function codeOf(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return 'EIO';
}

/** Opens a network namespace file read-only; throws NetnsError naming the path. */
export function openNetns(path: string): number {
  try {
    return openSync(path, 'r');
  } catch (err) {
    const code = codeOf(err);
    throw new NetnsError(path, code, code === 'ENOENT' ? 'does not exist' : `cannot open (${code})`, { cause: err });
  }
}

function enter(fd: number, path: string): void {
  if (setns(fd, CLONE_NEWNET) !== 0) {
    const code = errnoName(lastErrno());
    const why = code === 'EINVAL' ? 'is not a network namespace' : `setns failed (${code})`;
    throw new NetnsError(path, code, why);
  }
}

/**
 * Runs the synchronous `fn` inside the network namespace at `path` and always switches back.
 * Use it to create sockets: a netlink socket stays bound to the namespace it was created in.
 * Throws NetnsError naming the path when the namespace cannot be entered; if switching back
 * fails the process is in an unknown namespace, so that error is thrown even over fn's result.
 */
export function withNetns<T>(path: string, fn: () => T): T {
  const self = openNetns(SELF_NETNS);
  let target: number | undefined;
  try {
    target = openNetns(path);
    enter(target, path);
    try {
      return fn();
    } finally {
      enter(self, SELF_NETNS);
    }
  } finally {
    if (target !== undefined) closeSync(target);
    closeSync(self);
  }
}
