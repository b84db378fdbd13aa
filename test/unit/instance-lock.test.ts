import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { InstanceLockBusyError, acquireInstanceLock, parseHolderPid } from '../../src/ipamd/instance-lock.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nativeip-lock-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('reads the holder PID from the first line only when it is one', () => {
  expect(parseHolderPid('4242\n')).toBe(4242);
  expect(parseHolderPid('')).toBeUndefined();
  expect(parseHolderPid('0\n')).toBeUndefined();
  expect(parseHolderPid('12ab\n')).toBeUndefined();
});

it('takes each directory once, writes its PID, and lets go on release', async () => {
  const lock = await acquireInstanceLock({ directories: [join(dir, 'b'), join(dir, 'a'), join(dir, 'b')], waitMs: 0 });
  expect(lock.paths).toEqual([join(dir, 'a', 'ipamd.lock'), join(dir, 'b', 'ipamd.lock')]);
  expect(await readFile(join(dir, 'a', 'ipamd.lock'), 'utf8')).toBe(`${process.pid}\n`);
  lock.release();
  const again = await acquireInstanceLock({ directories: [join(dir, 'a')], waitMs: 0 });
  again.release();
});

it('a second taker (another open file description) is refused with the holder named, after its wait', async () => {
  const lock = await acquireInstanceLock({ directories: [dir], waitMs: 0 });
  const waits: (number | undefined)[] = [];
  const second = acquireInstanceLock({ directories: [dir], waitMs: 300, pollMs: 50, onWait: (_path, pid) => waits.push(pid) });
  await expect(second).rejects.toBeInstanceOf(InstanceLockBusyError);
  await expect(second).rejects.toThrow(`another nativeip-ipamd (PID ${process.pid}) holds ${join(dir, 'ipamd.lock')}`);
  expect(waits).toEqual([process.pid]);
  lock.release();
});

it('a waiting taker gets the lock once the holder lets go', async () => {
  const lock = await acquireInstanceLock({ directories: [dir], waitMs: 0 });
  const second = acquireInstanceLock({ directories: [dir], waitMs: 10_000, pollMs: 20 });
  setTimeout(() => lock.release(), 100);
  (await second).release();
});

it.each([
  ['removed', async (path: string) => rm(path)],
  ['replaced', async (path: string) => {
    await rm(path);
    await writeFile(path, '1\n');
  }],
])('the holder is told when its lock file is %s, since a second taker could lock the new one', async (_how, change) => {
  const lock = await acquireInstanceLock({ directories: [dir], waitMs: 0 });
  expect(lock.lostPath()).toBeUndefined();
  const lost = new Promise<string>((resolve) => lock.watch(resolve, 20));
  await change(join(dir, 'ipamd.lock'));
  expect(await lost).toBe(join(dir, 'ipamd.lock'));
  expect(lock.lostPath()).toBe(join(dir, 'ipamd.lock'));
  lock.release();
});
