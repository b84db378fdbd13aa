import { describe, expect, it } from 'vitest';
import { LinkDeletionBatcher, type LinkDeletion } from '../../src/ipamd/datapath/link-batcher.js';
import { decodeWorkerMessage } from '../../src/ipamd/datapath/link-reaper.js';

/** A batch runner whose batches finish when the test says so. */
function controlledRunner() {
  const batches: string[][] = [];
  const finishers: Array<(outcomes: ReadonlyMap<string, LinkDeletion> | Error) => void> = [];
  const run = (names: readonly string[]) => {
    batches.push([...names]);
    return new Promise<ReadonlyMap<string, LinkDeletion>>((resolve, reject) => {
      finishers.push((o) => (o instanceof Error ? reject(o) : resolve(o)));
    });
  };
  const allOk = (names: readonly string[]) => new Map(names.map((n): [string, LinkDeletion] => [n, { ok: true }]));
  return { batches, finishers, run, allOk };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('LinkDeletionBatcher', () => {
  it('runs the first deletion at once and groups those asked for meanwhile into the next batch', async () => {
    const r = controlledRunner();
    const batcher = new LinkDeletionBatcher(r.run);
    const first = batcher.delete('a');
    const rest = ['b', 'c', 'd'].map((n) => batcher.delete(n));
    expect(r.batches).toEqual([['a']]);
    expect(batcher.pending).toBe(4);
    r.finishers[0]!(r.allOk(['a']));
    await first;
    await tick();
    expect(r.batches).toEqual([['a'], ['b', 'c', 'd']]);
    r.finishers[1]!(r.allOk(['b', 'c', 'd']));
    await Promise.all(rest);
    await tick();
    expect(batcher.pending).toBe(0);
  });

  it('asks once for a name requested twice and settles both callers', async () => {
    const r = controlledRunner();
    const batcher = new LinkDeletionBatcher(r.run);
    void batcher.delete('busy');
    const twice = [batcher.delete('x'), batcher.delete('x')];
    r.finishers[0]!(r.allOk(['busy']));
    await tick();
    expect(r.batches[1]).toEqual(['x']);
    r.finishers[1]!(new Map([['x', { ok: false, error: new Error('Request rejected: EBUSY') }]]));
    const settled = await Promise.allSettled(twice);
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected']);
  });

  it('rejects only the links that failed, each with its own error', async () => {
    const r = controlledRunner();
    const batcher = new LinkDeletionBatcher(r.run);
    const ok = batcher.delete('good');
    r.finishers[0]!(new Map([['good', { ok: true }]]));
    await ok;
    const [good, bad] = [batcher.delete('good2'), batcher.delete('bad')];
    await tick();
    r.finishers[1]!(new Map<string, LinkDeletion>([
      ['good2', { ok: true }],
      ['bad', { ok: false, error: new Error('Request rejected: ENODEV') }],
    ]));
    await expect(good).resolves.toBeUndefined();
    await expect(bad).rejects.toThrow('ENODEV');
  });

  it('rejects the whole batch when the runner fails, and keeps going', async () => {
    const r = controlledRunner();
    const batcher = new LinkDeletionBatcher(r.run);
    const lost = batcher.delete('a');
    r.finishers[0]!(new Error('worker exited'));
    await expect(lost).rejects.toThrow('worker exited');
    const next = batcher.delete('b');
    await tick();
    expect(r.batches).toEqual([['a'], ['b']]);
    r.finishers[1]!(r.allOk(['b']));
    await expect(next).resolves.toBeUndefined();
  });

  it('rejects a link the runner gave no outcome for', async () => {
    const r = controlledRunner();
    const batcher = new LinkDeletionBatcher(r.run);
    const p = batcher.delete('a');
    r.finishers[0]!(new Map());
    await expect(p).rejects.toThrow('no outcome for a');
  });

  it('caps a batch and carries the rest over in request order', async () => {
    const r = controlledRunner();
    const batcher = new LinkDeletionBatcher(r.run, 2);
    const all = ['a', 'b', 'c', 'd', 'e'].map((n) => batcher.delete(n));
    r.finishers[0]!(r.allOk(['a']));
    await tick();
    r.finishers[1]!(r.allOk(['b', 'c']));
    await tick();
    r.finishers[2]!(r.allOk(['d', 'e']));
    await Promise.all(all);
    expect(r.batches).toEqual([['a'], ['b', 'c'], ['d', 'e']]);
  });
});

describe('decodeWorkerMessage', () => {
  it('decodes ready, failed and done with errors that keep their errno text', () => {
    expect(decodeWorkerMessage({ type: 'ready' })).toEqual({ type: 'ready' });
    expect(decodeWorkerMessage({ type: 'failed', message: 'no socket' })).toEqual({ type: 'failed', message: 'no socket' });
    const done = decodeWorkerMessage({ type: 'done', id: 3, outcomes: [{ ok: true }, { ok: false, message: 'Request rejected: EBUSY', code: 'EBUSY' }] });
    expect(done?.type).toBe('done');
    if (done?.type !== 'done') return;
    expect(done.outcomes[0]).toEqual({ ok: true });
    const failed = done.outcomes[1];
    expect(failed?.ok).toBe(false);
    if (failed?.ok !== false) return;
    expect(failed.error.message).toBe('Request rejected: EBUSY');
    expect((failed.error as Error & { code?: string }).code).toBe('EBUSY');
  });

  it('refuses malformed messages', () => {
    expect(decodeWorkerMessage(null)).toBeUndefined();
    expect(decodeWorkerMessage({ type: 'done', id: '1', outcomes: [] })).toBeUndefined();
    expect(decodeWorkerMessage({ type: 'done', id: 1, outcomes: [{ ok: false }] })).toBeUndefined();
    expect(decodeWorkerMessage({ type: 'failed' })).toBeUndefined();
    expect(decodeWorkerMessage({ type: 'other' })).toBeUndefined();
  });
});
