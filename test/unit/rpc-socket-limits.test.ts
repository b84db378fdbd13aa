import { describe, expect, it } from 'vitest';

import { FrameBudgetError, SharedFrameBudget } from '../../src/rpc/frame-budget.js';
import { FrameDecoder, encodeFrame } from '../../src/rpc/framing.js';
import { ReplySequencer } from '../../src/rpc/reply-sequencer.js';
import { DEFAULT_SOCKET_LIMITS, socketLimits } from '../../src/rpc/socket-limits.js';

describe('ReplySequencer', () => {
  it.each([
    ['in order', [0, 1, 2], [['a'], ['b'], ['c']]],
    ['last first', [2, 1, 0], [[], [], ['a', 'b', 'c']]],
    ['middle first', [1, 0, 2], [[], ['a', 'b'], ['c']]],
    ['first last', [1, 2, 0], [[], [], ['a', 'b', 'c']]],
  ])('releases replies in slot order when they finish %s', (_name, finishOrder, released) => {
    const seq = new ReplySequencer<string>();
    const slots = [seq.reserve(), seq.reserve(), seq.reserve()];
    const names = ['a', 'b', 'c'];
    expect(finishOrder.map((i) => seq.fill(slots[i] as number, names[i] as string))).toEqual(released);
    expect(seq.pending).toBe(0);
  });

  it('counts pending slots and refuses a slot filled twice or never taken', () => {
    const seq = new ReplySequencer<number>();
    const a = seq.reserve();
    const b = seq.reserve();
    expect(seq.pending).toBe(2);
    expect(seq.fill(b, 2)).toEqual([]);
    expect(() => seq.fill(b, 2)).toThrow(RangeError);
    expect(() => seq.fill(7, 0)).toThrow(RangeError);
    expect(seq.fill(a, 1)).toEqual([1, 2]);
    expect(() => seq.fill(a, 1)).toThrow(RangeError);
  });
});

describe('SharedFrameBudget', () => {
  it('reserves up to its limit, refuses past it, and releases', () => {
    const budget = new SharedFrameBudget(10);
    expect(budget.tryReserve(6)).toBe(true);
    expect(budget.tryReserve(5)).toBe(false);
    expect(budget.reservedBytes).toBe(6);
    expect(budget.tryReserve(4)).toBe(true);
    budget.release(10);
    budget.release(3);
    expect(budget.reservedBytes).toBe(0);
  });
});

describe('FrameDecoder with a budget', () => {
  const big = encodeFrame('x'.repeat(1000));

  it('parses a frame that arrives whole without reserving anything', () => {
    const budget = new SharedFrameBudget(0);
    expect(new FrameDecoder({ budget }).push(big)).toEqual(['x'.repeat(1000)]);
  });

  it('reserves the announced length of a split frame until it completes', () => {
    const budget = new SharedFrameBudget(4096);
    const decoder = new FrameDecoder({ budget });
    expect(decoder.push(big.subarray(0, 10))).toEqual([]);
    expect(budget.reservedBytes).toBe(big.length - 4);
    expect(decoder.expectedBytes).toBe(big.length - 4);
    expect(decoder.bufferedBytes).toBe(6);
    expect(decoder.push(big.subarray(10))).toEqual(['x'.repeat(1000)]);
    expect(budget.reservedBytes).toBe(0);
  });

  it('refuses a split frame the budget has no room for, keeping what was decoded before', () => {
    const budget = new SharedFrameBudget(100);
    const decoder = new FrameDecoder({ budget });
    const small = encodeFrame({ id: 1 });
    let caught: unknown;
    try {
      decoder.push(Buffer.concat([small, big.subarray(0, 10)]));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(FrameBudgetError);
    expect((caught as FrameBudgetError).decodedBefore).toEqual([{ id: 1 }]);
    expect((caught as FrameBudgetError).message).toBe(
      `refused a frame of ${big.length - 4} bytes: the daemon already buffers 0 bytes of partly received frames and its limit is 100 bytes; try again`,
    );
    expect(budget.reservedBytes).toBe(0);
    expect(() => decoder.push(small)).toThrow(FrameBudgetError);
  });

  it('gives the reservation back on dispose and on a bad frame', () => {
    const budget = new SharedFrameBudget(4096);
    const decoder = new FrameDecoder({ budget });
    decoder.push(big.subarray(0, 10));
    decoder.dispose();
    expect(budget.reservedBytes).toBe(0);
    expect(decoder.hasPartialFrame).toBe(false);
    const bad = Buffer.concat([Buffer.from([0, 0, 0, 20]), Buffer.from('{'.repeat(20))]);
    decoder.push(bad.subarray(0, 8));
    expect(budget.reservedBytes).toBe(20);
    expect(() => decoder.push(bad.subarray(8))).toThrow(/not valid JSON/);
    expect(budget.reservedBytes).toBe(0);
  });
});

describe('socketLimits', () => {
  it('fills in the defaults', () => {
    expect(socketLimits({ idleTimeoutMs: 50 })).toEqual({ ...DEFAULT_SOCKET_LIMITS, idleTimeoutMs: 50 });
  });

  it('names every invalid value', () => {
    expect(() => socketLimits({ maxConnections: 0, frameTimeoutMs: 1.5, closeGraceMs: 0 })).toThrow('invalid socket limits: maxConnections=0, frameTimeoutMs=1.5');
  });
});
