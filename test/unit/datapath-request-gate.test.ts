import { describe, expect, it } from 'vitest';
import { RequestGate } from '../../src/ipamd/datapath/request-gate.js';

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('RequestGate', () => {
  it('never has more than its limit in flight, and starts waiting requests in call order', async () => {
    const gate = new RequestGate(2);
    const started: number[] = [];
    const pending = Array.from({ length: 5 }, () => deferred());
    const runs = pending.map((d, i) =>
      gate.run(async () => {
        started.push(i);
        await d.promise;
        return i;
      }),
    );
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    expect(gate.inFlight).toBe(2);
    expect(gate.waiting).toBe(3);
    pending[1]!.resolve();
    await runs[1];
    await Promise.resolve();
    expect(started).toEqual([0, 1, 2]);
    expect(gate.inFlight).toBe(2);
    for (const d of pending) d.resolve();
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3, 4]);
    expect(gate.inFlight).toBe(0);
    expect(gate.waiting).toBe(0);
  });

  it('frees the slot of a request that fails', async () => {
    const gate = new RequestGate(1);
    await expect(gate.run(() => Promise.reject(new Error('ENOENT')))).rejects.toThrow('ENOENT');
    expect(gate.inFlight).toBe(0);
    await expect(gate.run(() => Promise.resolve('next'))).resolves.toBe('next');
  });
});
