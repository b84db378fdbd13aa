/**
 * One daemon per node: an exclusive flock(2) on `ipamd.lock` in the state directory (and in the
 * socket's directory, when that is another one), held for the daemon's whole life. The kernel
 * drops it when the process ends, however it ends (kill -9 included), so a successor never waits
 * for a dead holder and a stale file means nothing. The file carries the holder's PID, for the
 * message a second instance gives.
 *
 * A lock lives on a file, not on a name: if the file is removed or replaced while held (an
 * operator deleting it to "clear" a refusal), a second daemon would lock the new file. So a taker
 * checks, once locked, that the name still leads to its file, and the holder watches its files
 * (`watch`) and is told the moment one is not its own any more, to stop serving.
 */
import { closeSync, fstatSync, ftruncateSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { errnoName, lastErrno, libcIntFunction } from './datapath/libc.js';
import { sleep } from '../core/sleep.js';

export const LOCK_FILE_NAME = 'ipamd.lock';

const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;
const EWOULDBLOCK = 11;
const EINTR = 4;

const flock = libcIntFunction('int flock(int fd, int operation)');

/** Another process holds the lock and did not let go within the wait. */
export class InstanceLockBusyError extends Error {
  override readonly name = 'InstanceLockBusyError';
  readonly path: string;
  /** The holder's PID as its lock file says; undefined when the file holds none yet. */
  readonly holderPid: number | undefined;

  constructor(path: string, holderPid: number | undefined, waitedMs: number) {
    const holder = holderPid === undefined ? 'another process' : `another nativeip-ipamd (PID ${holderPid})`;
    super(
      `${holder} holds ${path} and still ran after ${Math.round(waitedMs / 1000)} s: only one daemon may serve a node ` +
        '(two would hand the same address to two pods). Stop the other one, or let it finish stopping, and start again',
    );
    this.path = path;
    this.holderPid = holderPid;
  }
}

export interface InstanceLockOptions {
  /** Directories whose `ipamd.lock` to take: the checkpoint's and the socket's. Made if missing (0700). */
  readonly directories: readonly string[];
  /** How long to wait for a holder that is stopping (a rolling update); 0: do not wait. */
  readonly waitMs: number;
  /** Called once per lock, when it is found held and the wait begins. */
  readonly onWait?: (path: string, holderPid: number | undefined) => void;
  /** How often a held lock is tried again. Default 200 ms. */
  readonly pollMs?: number;
}

/** A lock taken; release() lets it go (the process's end does too). */
export class InstanceLock {
  readonly #fds: number[];
  readonly paths: readonly string[];

  constructor(fds: number[], paths: readonly string[]) {
    this.#fds = fds;
    this.paths = paths;
  }

  /** The first lock path that no longer names the file this lock holds (removed or replaced), if any. */
  lostPath(): string | undefined {
    return this.paths.find((path, i) => {
      const fd = this.#fds[i];
      return fd !== undefined && !namesFile(path, fd);
    });
  }

  /**
   * Checks every `intervalMs` that each lock path still names the held file; calls `onLost` once
   * with the first that does not. Returns a function that stops watching. The timer does not keep
   * the process alive.
   */
  watch(onLost: (path: string) => void, intervalMs = 1_000): () => void {
    const timer = setInterval(() => {
      const lost = this.lostPath();
      if (lost === undefined) return;
      clearInterval(timer);
      onLost(lost);
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  release(): void {
    for (const fd of this.#fds.splice(0)) {
      flock(fd, LOCK_UN);
      closeSync(fd);
    }
  }
}

/**
 * Takes the lock of every directory (in a fixed order, so two daemons never each hold one), waiting
 * up to `waitMs` in all for a holder to go. Throws InstanceLockBusyError when one is still held.
 */
export async function acquireInstanceLock(options: InstanceLockOptions): Promise<InstanceLock> {
  const paths = [...new Set(options.directories)].sort().map((dir) => join(dir, LOCK_FILE_NAME));
  const deadline = Date.now() + options.waitMs;
  const fds: number[] = [];
  try {
    for (const path of paths) fds.push(await lockOne(path, deadline, options));
  } catch (error) {
    new InstanceLock(fds, []).release();
    throw error;
  }
  return new InstanceLock(fds, paths);
}

async function lockOne(path: string, deadline: number, options: InstanceLockOptions): Promise<number> {
  mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
  // Node opens with O_CLOEXEC: the commands the daemon runs (nft, ip) never inherit the lock.
  let fd = openSync(path, 'a+', 0o600);
  const started = Date.now();
  let announced = false;
  for (;;) {
    const rc = flock(fd, LOCK_EX | LOCK_NB);
    if (rc === 0) {
      if (namesFile(path, fd)) break;
      // The file was removed or replaced between open and lock: lock what the name leads to now.
      closeSync(fd);
      fd = openSync(path, 'a+', 0o600);
      continue;
    }
    const errno = lastErrno();
    if (errno === EINTR) continue;
    if (errno !== EWOULDBLOCK) {
      closeSync(fd);
      throw new Error(`cannot lock ${path}: flock failed (${errnoName(errno)})`);
    }
    const holder = holderPidOf(path);
    if (Date.now() >= deadline) {
      closeSync(fd);
      throw new InstanceLockBusyError(path, holder, Date.now() - started);
    }
    if (!announced) options.onWait?.(path, holder);
    announced = true;
    await sleep(Math.min(options.pollMs ?? 200, Math.max(1, deadline - Date.now())));
  }
  ftruncateSync(fd, 0);
  writeSync(fd, `${process.pid}\n`);
  return fd;
}

/** Whether `path` leads to the file open as `fd` (same device and inode). */
function namesFile(path: string, fd: number): boolean {
  try {
    const named = statSync(path);
    const held = fstatSync(fd);
    return named.ino === held.ino && named.dev === held.dev;
  } catch {
    return false;
  }
}

/** The PID a lock file names; undefined when it names none (being written, or empty). */
export function holderPidOf(path: string): number | undefined {
  try {
    return parseHolderPid(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Pure: the PID on the first line of a lock file's text. */
export function parseHolderPid(text: string): number | undefined {
  const line = text.split('\n', 1)[0]?.trim() ?? '';
  if (!/^[1-9][0-9]{0,9}$/.test(line)) return undefined;
  return Number(line);
}
