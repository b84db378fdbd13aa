import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { IdleCollector } from '../../src/ipamd/idle-collector.js';

let now = 0;
let runs = 0;
const collector = () => new IdleCollector({ gc: () => (runs += 1), thresholdBytes: 1000, connectionBytes: 0, quietMs: 100, quietConnections: 0, minIntervalMs: 10_000, clock: () => now });

beforeEach(() => {
  vi.useFakeTimers();
  now = 100_000;
  runs = 0;
});
afterEach(() => {
  vi.useRealTimers();
});

function advance(ms: number): void {
  now += ms;
  vi.advanceTimersByTime(ms);
}

it('collects once the socket has been quiet for quietMs after enough bytes crossed it', () => {
  const c = collector();
  c.noteClosed(600);
  c.connections(0);
  advance(1_000);
  expect(runs).toBe(0);
  c.noteClosed(600);
  c.connections(0);
  advance(99);
  expect(runs).toBe(0);
  advance(1);
  expect(runs).toBe(1);
  expect(c.collections).toBe(1);
});

it('a connection arriving during the quiet period puts the collection off', () => {
  const c = collector();
  c.noteClosed(5_000);
  c.connections(0);
  advance(50);
  c.connections(1);
  advance(1_000);
  expect(runs).toBe(0);
  c.connections(0);
  advance(100);
  expect(runs).toBe(1);
});

it('collects at most once per minIntervalMs, the next one when the interval has passed', () => {
  const c = collector();
  c.noteClosed(5_000);
  c.connections(0);
  advance(100);
  c.noteClosed(5_000);
  c.connections(0);
  advance(100);
  expect(runs).toBe(1);
  advance(9_899);
  expect(runs).toBe(1);
  advance(1);
  expect(runs).toBe(2);
});

it('does nothing without a gc to call', () => {
  const c = new IdleCollector({ gc: undefined, thresholdBytes: 1, connectionBytes: 0, quietMs: 1, quietConnections: 0, minIntervalMs: 1 });
  c.noteClosed(10);
  c.connections(0);
  advance(10);
  expect(c.collections).toBe(0);
});

it('counts each connection beside its bytes: many idle connections are a burst too', () => {
  const c = new IdleCollector({ gc: () => (runs += 1), thresholdBytes: 1000, connectionBytes: 100, quietMs: 100, quietConnections: 0, minIntervalMs: 10_000, clock: () => now });
  for (let i = 0; i < 9; i += 1) c.noteClosed(0);
  c.connections(0);
  advance(1_000);
  expect(runs).toBe(0);
  c.noteClosed(0);
  c.connections(0);
  advance(100);
  expect(runs).toBe(1);
});

it('a few connections open (the runtime\'s periodic STATUS) still count as quiet; a burst does not', () => {
  const c = new IdleCollector({ gc: () => (runs += 1), thresholdBytes: 1000, connectionBytes: 0, quietMs: 100, quietConnections: 2, minIntervalMs: 10_000, clock: () => now });
  c.noteClosed(5_000);
  c.connections(3);
  advance(1_000);
  expect(runs).toBe(0);
  c.connections(1);
  advance(50);
  c.connections(2);
  c.connections(1);
  advance(50);
  expect(runs).toBe(1);
});
