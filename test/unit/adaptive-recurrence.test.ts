import { describe, expect, it } from 'vitest';
import { AddressPool } from '../../src/ipamd/pool/plan/address-pool.js';
import { DEFAULT_ADAPTIVE_PARAMS } from '../../src/ipamd/pool/plan/adaptive-target.js';
import { recurrenceOf } from '../../src/ipamd/pool/plan/burst-recurrence.js';
import { AdaptiveController } from '../../src/ipamd/pool/adaptive-controller.js';

const options = { onsetWindowMs: 2_000, leadMs: 9_000 };

describe('recurrenceOf', () => {
  it.each([
    ['fewer than three bursts: no recurrence', [{ startMs: 0, size: 20 }, { startMs: 120_000, size: 20 }], undefined],
    ['three bursts 120 s apart: the next in 120 s, as large as the larger of the last two', [{ startMs: 0, size: 20 }, { startMs: 120_000, size: 18 }, { startMs: 240_500, size: 21 }], { nextMs: 361_000, intervalMs: 120_500, size: 21, sizeVariation: 3, toleranceMs: 2_500 }],
    ['intervals that differ by more than the onset window and the lead: not periodic', [{ startMs: 0, size: 20 }, { startMs: 120_000, size: 20 }, { startMs: 300_000, size: 20 }], undefined],
  ])('%s', (_name, bursts, expected) => {
    expect(recurrenceOf(bursts, options)).toEqual(expected);
  });
});

describe('AdaptiveController with bursts that recur', () => {
  const eni = (id: string, deviceIndex: number, ips: string[]) => ({ id, mac: `02:00:00:00:00:0${deviceIndex}`, deviceIndex, subnetId: 's', subnetCidr: '10.0.0.0/16', primaryIp: `10.0.9.${deviceIndex}`, secondaryIps: ips, managed: deviceIndex > 0 });
  const period = 120_000;
  const first = 700_000; // past the start-up window

  /** A controller that has seen `count` bursts of `size` pods, one every `period` (pods 50 ms apart), each closed 15 s later. */
  function afterBursts(count: number, size: number, spacing = (k: number) => k * period) {
    const pool = new AddressPool();
    pool.addInterface(eni('eni-0', 0, []));
    const controller = new AdaptiveController();
    controller.targets(pool, 0, 14);
    let key = 0;
    for (let k = 0; k < count; k += 1) {
      const start = first + spacing(k);
      for (let i = 0; i < size; i += 1) {
        controller.recordArrival(start + 50 * i, `pod-${key++}`);
        controller.targets(pool, start + 50 * i, 14);
      }
      controller.targets(pool, start + 15_000, 14);
    }
    return { pool, controller, next: (pod: number) => `pod-${key + pod}` };
  }

  it('between periodic bursts keeps the next burst\'s worth once that idles at most half an interface over the interval, and grows to it before the burst is due', () => {
    const { pool, controller } = afterBursts(3, 20);
    // 20 kept for the last ~20 s before the next burst is due: 20 × 20 s is under 7 × 120 s.
    const between = controller.targets(pool, first + 3 * period - 30_000, 14);
    expect(between.high).toBeGreaterThanOrEqual(20);
    expect(between.low).toBeLessThan(20); // no grow yet
    const due = controller.targets(pool, first + 3 * period - 1_000, 14);
    expect(due.low).toBe(20); // fewer free than the burst brings: the pool grows now
  });

  it('gives a burst\'s worth back as soon as nothing is cooling when keeping it to the next would idle more, without the hold', () => {
    const { pool, controller } = afterBursts(3, 20);
    pool.addAddresses('eni-0', Array.from({ length: 14 }, (_, i) => `10.0.0.${10 + i}`));
    pool.addInterface(eni('eni-1', 1, Array.from({ length: 14 }, (_, i) => `10.0.1.${10 + i}`)));
    // 90 s before the next is due: 20 × 90 s is more than 7 × 120 s.
    const early = first + 2 * period + 20_000;
    expect(controller.targets(pool, early, 14)).toMatchObject({ releaseExcess: true, high: controller.effectiveBand(early).high });
  });

  it('during the expected burst, is ready for the pods still to come, not twice the band', () => {
    const { pool, controller, next } = afterBursts(3, 20);
    const start = first + 3 * period;
    let targets = controller.targets(pool, start, 14);
    for (let i = 0; i < 5; i += 1) {
      controller.recordArrival(start + 50 * i, next(i));
      targets = controller.targets(pool, start + 50 * i, 14);
    }
    // 15 pods to come: grow only below that, to that and the minimum spare (the 20 kept cover it).
    expect(targets).toMatchObject({ burst: false, low: 15, high: 15 + DEFAULT_ADAPTIVE_PARAMS.minWarm });
  });

  it('a burst larger than expected (beyond the kept spare) is a burst like any other', () => {
    const { pool, controller, next } = afterBursts(3, 20);
    const start = first + 3 * period;
    let targets = controller.targets(pool, start, 14);
    for (let i = 0; i < 20 + DEFAULT_ADAPTIVE_PARAMS.minWarm + 1; i += 1) {
      controller.recordArrival(start + 50 * i, next(i));
      targets = controller.targets(pool, start + 50 * i, 14);
    }
    expect(targets.burst).toBe(true);
  });

  it('bursts at irregular intervals change nothing: the measured band', () => {
    const { pool, controller } = afterBursts(3, 20, (k) => [0, period, 3 * period][k]!);
    const at = first + 3 * period + 60_000;
    const measured = controller.effectiveBand(at);
    expect(controller.targets(pool, at, 14)).toMatchObject({ low: measured.low, high: measured.high, interfaceLow: measured.interfaceLow });
  });
});
