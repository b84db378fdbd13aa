/**
 * timedCheckpoint: each save is timed, and every member of Checkpoint reaches the checkpoint it
 * wraps. The recording checkpoint must have every member (`satisfies Required<Checkpoint>`), so a
 * member added to Checkpoint is added here too and this test then fails if the wrapper drops it.
 */
import { describe, expect, it } from 'vitest';
import type { Checkpoint, CheckpointData } from '../../src/ipamd/checkpoint/checkpoint.js';
import { timedCheckpoint } from '../../src/ipamd/metrics/instrumentation.js';

const DATA: CheckpointData = { version: 1, instanceId: 'i-0abc', allocations: [], cooldowns: [] };

function recordingCheckpoint() {
  const calls: string[] = [];
  const checkpoint = {
    load: async () => {
      calls.push('load');
      return DATA;
    },
    save: async (data: () => CheckpointData) => {
      calls.push(`save ${data().instanceId}`);
    },
    setAside: async () => {
      calls.push('setAside');
      return '/var/lib/nativeip/checkpoint.json.damaged';
    },
  } satisfies Required<Checkpoint>;
  return { checkpoint, calls };
}

describe('timedCheckpoint', () => {
  it('forwards every member of Checkpoint, optional ones included, to the checkpoint it wraps', async () => {
    const { checkpoint, calls } = recordingCheckpoint();
    const timed = timedCheckpoint(checkpoint, () => undefined);
    const members = Object.keys(checkpoint);
    expect(Object.keys(timed).sort()).toEqual([...members].sort());
    for (const name of members) {
      const member: unknown = Reflect.get(timed, name);
      expect(member, name).toBeTypeOf('function');
      calls.length = 0;
      await (member as (data: () => CheckpointData) => Promise<unknown>)(() => DATA);
      expect(calls, name).toEqual([name === 'save' ? 'save i-0abc' : name]);
    }
  });

  it('returns what the wrapped members return', async () => {
    const { checkpoint } = recordingCheckpoint();
    const timed = timedCheckpoint(checkpoint, () => undefined);
    expect(await timed.load()).toBe(DATA);
    expect(await timed.setAside?.()).toBe('/var/lib/nativeip/checkpoint.json.damaged');
  });

  it('has no setAside when the wrapped checkpoint has none', () => {
    const { checkpoint } = recordingCheckpoint();
    const plain: Checkpoint = { load: checkpoint.load, save: checkpoint.save };
    expect('setAside' in timedCheckpoint(plain, () => undefined)).toBe(false);
  });

  it('reports how long each save took, once the save has finished', async () => {
    const events: string[] = [];
    const written: number[] = [];
    const timed = timedCheckpoint(
      {
        load: async () => undefined,
        save: async () => {
          await new Promise((resolve) => setTimeout(resolve, 5));
          events.push('saved');
        },
      },
      (ms) => {
        events.push('written');
        written.push(ms);
      },
    );
    await timed.save(() => DATA);
    await timed.save(() => DATA);
    expect(events).toEqual(['saved', 'written', 'saved', 'written']);
    expect(written[0]).toBeGreaterThanOrEqual(4);
  });
});
