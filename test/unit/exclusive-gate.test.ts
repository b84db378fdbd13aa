/**
 * ExclusiveGate: ADD/DEL/CHECK/GC share it, a rewrite of every pod's host rules takes it alone
 * (ipam-service.ts). Orders are recorded as tasks start and end.
 */
import { describe, expect, it } from 'vitest';
import { ExclusiveGate } from '../../src/ipamd/service/keyed-mutex.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('ExclusiveGate', () => {
  it('runs shared tasks together', async () => {
    const gate = new ExclusiveGate();
    const log: string[] = [];
    const a = deferred();
    const b = deferred();
    const first = gate.shared(async () => (log.push('a start'), await a.promise, log.push('a end')));
    const second = gate.shared(async () => (log.push('b start'), await b.promise, log.push('b end')));
    await tick();
    expect(log).toEqual(['a start', 'b start']);
    b.resolve();
    a.resolve();
    await Promise.all([first, second]);
    expect(log).toEqual(['a start', 'b start', 'b end', 'a end']);
  });

  it('an exclusive task waits for the shared ones in flight and holds back new ones', async () => {
    const gate = new ExclusiveGate();
    const log: string[] = [];
    const inFlight = deferred();
    const add = gate.shared(async () => (log.push('add start'), await inFlight.promise, log.push('add end')));
    const rewrite = gate.exclusive(async () => (log.push('rewrite start'), await tick(), log.push('rewrite end'), 7));
    const del = gate.shared(async () => log.push('del'));
    await tick();
    expect(log).toEqual(['add start']);
    inFlight.resolve();
    await Promise.all([add, del]);
    expect(await rewrite).toBe(7);
    expect(log).toEqual(['add start', 'add end', 'rewrite start', 'rewrite end', 'del']);
  });

  it('exclusive tasks run one at a time, and a failing one releases the gate', async () => {
    const gate = new ExclusiveGate();
    const log: string[] = [];
    const first = gate.exclusive(async () => (log.push('1 start'), await tick(), log.push('1 end'), Promise.reject(new Error('rules refused'))));
    const second = gate.exclusive(async () => (log.push('2 start'), await tick(), log.push('2 end')));
    await expect(first).rejects.toThrow('rules refused');
    await second;
    await gate.shared(async () => log.push('add'));
    expect(log).toEqual(['1 start', '1 end', '2 start', '2 end', 'add']);
  });
});
