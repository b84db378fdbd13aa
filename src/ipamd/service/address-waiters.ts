/**
 * What an ADD that found the pool empty waits on: a signal that wakes every waiter at once when
 * the pool may have an address, and the moment it must wake by itself. No polling: a thousand
 * waiting pods cost nothing while they wait.
 */
import { RpcServiceError } from '../../rpc/errors.js';
import type { GrowBlock } from '../pool/grow-block.js';

/** Wakes everyone waiting at the time of {@link notify}; later waiters wait for the next one. */
export class ChangeSignal {
  #current = deferred();

  /** Resolves at the next {@link notify}. Never rejects. */
  next(): Promise<void> {
    return this.#current.promise;
  }

  notify(): void {
    const current = this.#current;
    this.#current = deferred();
    current.resolve();
  }
}

/** When the first cooling address becomes free again; undefined when none is cooling. */
export function firstCooldownEnd(cooldowns: Iterable<{ readonly untilMs: number }>): number | undefined {
  let first: number | undefined;
  for (const { untilMs } of cooldowns) if (first === undefined || untilMs < first) first = untilMs;
  return first;
}

/** The earliest of the deadline, the first cooldown's end and the block's lifting. */
export function wakeAtMs(deadlineMs: number, cooledMs: number | undefined, block: GrowBlock | undefined): number {
  return Math.min(deadlineMs, cooledMs ?? Number.POSITIVE_INFINITY, block?.untilMs ?? Number.POSITIVE_INFINITY);
}

/** The pod's error when its wait ended with the pool still growing. */
export function stillGrowingError(coolingDown: number): RpcServiceError {
  return new RpcServiceError(
    'PoolEmptyGrowing',
    `no free address yet: the pool is growing${coolingDown > 0 ? ` (${coolingDown} addresses are cooling down)` : ''}; try again later`,
  );
}

interface Deferred {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
