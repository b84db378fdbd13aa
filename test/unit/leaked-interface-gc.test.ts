import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { jitteredDelay, LeakedInterfaceGc } from '../../src/ipamd/pool/leaked-interface-gc.js';

const logger = pino({ level: 'silent' });

describe('LeakedInterfaceGc', () => {
  it.each([
    [0, 240_000],
    [0.5, 300_000],
    [0.999999, 359_999.88],
  ])('jitter with random %f waits %f ms of a 300 s interval', (random, expected) => {
    expect(jitteredDelay(300_000, () => random)).toBeCloseTo(expected, 1);
  });

  it('runs one sweep at a time and reports what was deleted', async () => {
    let calls = 0;
    let finish: (ids: string[]) => void = () => undefined;
    const gc = new LeakedInterfaceGc({
      provider: {
        collectLeakedInterfaces: () => {
          calls += 1;
          return new Promise<string[]>((resolve) => {
            finish = resolve;
          });
        },
      },
      intervalMs: 1_000,
      logger,
    });
    const first = gc.runNow();
    const second = gc.runNow();
    finish(['eni-1']);
    expect(await first).toEqual(['eni-1']);
    expect(await second).toEqual(['eni-1']);
    expect(calls).toBe(1);
    await gc.close();
  });

  it('logs a failed sweep instead of throwing', async () => {
    const gc = new LeakedInterfaceGc({
      provider: { collectLeakedInterfaces: () => Promise.reject(new Error('throttled')) },
      intervalMs: 1_000,
      logger,
    });
    expect(await gc.runNow()).toEqual([]);
  });

  it('does nothing for a provider without leaked-interface collection', async () => {
    const gc = new LeakedInterfaceGc({ provider: {}, intervalMs: 1_000, logger });
    expect(gc.supported).toBe(false);
    gc.start();
    expect(await gc.runNow()).toEqual([]);
    await gc.close();
  });
});
