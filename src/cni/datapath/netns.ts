/**
 * Entering a network namespace from the Node main thread: libc setns(2) through koffi, loaded on
 * first use. The switch is synchronous, so no other JavaScript runs while the thread is inside
 * the target namespace; libuv's thread pool is not affected (setns is per thread).
 */
import { closeSync, openSync } from 'node:fs';
import koffi from 'koffi';

const CLONE_NEWNET = 0x40000000;
const SELF_NETNS = '/proc/thread-self/ns/net';

type SetnsFn = (fd: number, nstype: number) => number;
let setnsFn: SetnsFn | undefined;

function setns(): SetnsFn {
  if (!setnsFn) {
    const libc = koffi.load('libc.so.6');
    const fn: unknown = libc.func('int setns(int fd, int nstype)');
    if (typeof fn !== 'function') throw new Error('koffi did not return a function for libc setns');
    setnsFn = (fd, nstype) => {
      const rc: unknown = fn(fd, nstype);
      return typeof rc === 'number' ? rc : -1;
    };
  }
  return setnsFn;
}

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

function errnoName(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return 'EIO';
}

function errnoNameOf(n: number): string {
  for (const [name, value] of Object.entries(koffi.os.errno)) if (value === n) return name;
  return `errno ${n}`;
}

/** Opens a network namespace file read-only; throws NetnsError naming the path. */
export function openNetns(path: string): number {
  try {
    return openSync(path, 'r');
  } catch (err) {
    const code = errnoName(err);
    throw new NetnsError(path, code, code === 'ENOENT' ? 'does not exist' : `cannot open (${code})`, { cause: err });
  }
}

function enter(fd: number, path: string): void {
  if (setns()(fd, CLONE_NEWNET) !== 0) {
    const code = errnoNameOf(koffi.errno());
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
