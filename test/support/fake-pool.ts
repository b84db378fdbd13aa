/**
 * A PoolManager on a FakeCloud and a VirtualClock, with what the tests of the pool share: a fake
 * datapath, MTU 9001, 1 s attach and acquire timeouts, a silent logger, the clock's time and sleep,
 * and backoff jitter fixed in the middle (random 0.5). A test says what it is about: the cloud (its
 * limits), the targets, and any other PoolManager option it needs, which overrides these.
 * The pool is not started.
 */
import pino from 'pino';
import type { CloudProvider } from '../../src/core/types.js';
import { PoolManager, type PoolManagerOptions } from '../../src/ipamd/pool/pool-manager.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import type { FakeCloud } from './fake-cloud.js';
import { FakeDatapath } from './fake-datapath.js';

export interface FakePoolOptions<C extends FakeCloud> extends Partial<Omit<PoolManagerOptions, 'provider' | 'clock' | 'sleep'>> {
  readonly cloud: C;
  readonly targets: PoolManagerOptions['targets'];
  /** What the pool calls, made from the cloud (a CloudCallCounter's wrap, say). Default: the cloud itself. */
  readonly provider?: (cloud: C) => CloudProvider;
  /** The pool's time and sleep. Default: a VirtualClock at 1,000,000 ms. */
  readonly clock?: VirtualClock;
}

export interface FakePool<C extends FakeCloud> {
  readonly pool: PoolManager;
  readonly cloud: C;
  readonly clock: VirtualClock;
}

export function fakePool<C extends FakeCloud>(options: FakePoolOptions<C>): FakePool<C> {
  const { cloud, provider, clock = new VirtualClock(1_000_000), ...overrides } = options;
  const pool = new PoolManager({
    provider: provider === undefined ? cloud : provider(cloud),
    datapath: new FakeDatapath(),
    mtu: 9001,
    attachTimeoutMs: 1_000,
    acquireTimeoutMs: 1_000,
    logger: pino({ level: 'silent' }),
    clock: clock.now,
    sleep: clock.sleep,
    random: () => 0.5,
    ...overrides,
  });
  return { pool, cloud, clock };
}
