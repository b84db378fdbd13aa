/** nativeip tune: the grid drawn from the trace, the recommendation, the arguments and the table. */
import { describe, expect, it } from 'vitest';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chartInput, parseTuneArgs, renderRecommendation, renderTuneTable, runTune, TuneUsageError } from '../../src/cli/tune.js';
import { cloudPlugin } from '../../src/ipamd/clouds.js';
import type { SimulationResult } from '../../src/sim/simulate.js';
import { candidatePolicies, recommend, timelineOf, traceShape, type TunedPolicy } from '../../src/sim/tune.js';
import type { Trace } from '../../src/sim/traces.js';

const trace: Trace = {
  name: 't',
  description: '',
  durationSec: 600,
  events: [
    ...Array.from({ length: 6 }, (_, i) => ({ t: i * 5, node: 'node-1', pod: `p${i}`, op: 'add' as const })),
    { t: 300, node: 'node-1', pod: 'p0', op: 'del' as const },
    { t: 310, node: 'node-2', pod: 'q0', op: 'add' as const },
  ],
};

function tuned(name: string, env: Record<string, string>, podsWaited: number, idleAddressHours: number, mutatingCalls: number): TunedPolicy {
  return { policy: { name, env }, result: { podsWaited, idleAddressHours, mutatingCalls } as SimulationResult, timeline: [] };
}

describe('the grid', () => {
  it('reads the pods per node and the busiest minute of arrivals from the trace', () => {
    const shape = traceShape(trace);
    expect(shape.peakArrivalsPerMinute).toBe(6);
    expect(Math.max(...shape.podsPerNode)).toBe(6);
  });

  it('offers the adaptive default, the AWS VPC CNI default, WARM_IP_TARGET powers of two up to the busiest minute, and prefixes where the cloud has them', () => {
    const names = candidatePolicies(trace, cloudPlugin('aws')).map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(['nativeip default (adaptive)', 'WARM_ENI_TARGET=1 (nativeip in ENI mode)', 'WARM_IP_TARGET=1', 'WARM_IP_TARGET=4', 'ENABLE_PREFIX_DELEGATION, WARM_PREFIX_TARGET=1']));
    expect(names).not.toContain('WARM_IP_TARGET=8');
  });

  it('leaves out what the cloud refuses (Azure: no WARM_ENI_TARGET, no prefixes)', () => {
    const names = candidatePolicies(trace, cloudPlugin('azure')).map((p) => p.name);
    expect(names.some((n) => n.includes('WARM_ENI_TARGET') || n.includes('PREFIX'))).toBe(false);
    expect(names).toContain('WARM_IP_TARGET=2');
  });
});

describe('the recommendation', () => {
  it('takes the fewest idle address-hours among policies waiting no more than the reference, then fewer calls within 5 %', () => {
    const reference = tuned('ref', { WARM_ENI_TARGET: '1' }, 5, 100, 50);
    const policies = [reference, tuned('waits more', { WARM_IP_TARGET: '1' }, 9, 10, 5), tuned('lean', { WARM_IP_TARGET: '2' }, 5, 40, 30), tuned('lean, fewer calls', { WARM_IP_TARGET: '4' }, 4, 41, 12)];
    const outcome = { policies, reference, recommended: recommend(policies, reference) };
    expect(outcome.recommended.policy.name).toBe('lean, fewer calls');
    expect(renderRecommendation(outcome)).toContain('WARM_IP_TARGET=4');
    const table = renderTuneTable(outcome);
    expect(table.split('\n')).toHaveLength(2 + policies.length);
    expect(table).toContain('lean, fewer calls ← recommended');
    expect(table).toContain('ref (reference)');
  });

  it('says to set nothing when the adaptive default wins', () => {
    const reference = tuned('ref', { WARM_ENI_TARGET: '1' }, 5, 100, 50);
    const adaptive = tuned('adaptive', {}, 0, 20, 10);
    expect(renderRecommendation({ policies: [reference, adaptive], reference, recommended: recommend([reference, adaptive], reference) })).toContain('set no warm-pool variable');
  });
});

describe('arguments', () => {
  it('needs a trace and a machine type, and a cloud that can be simulated', () => {
    expect(parseTuneArgs(['--trace', 'x.jsonl', '--instance-type', 'm5.large'], ['aws', 'azure'])).toEqual({ trace: 'x.jsonl', machineType: 'm5.large', cloud: 'aws', chart: 'x.svg', json: false });
    expect(() => parseTuneArgs(['--instance-type', 'm5.large'], ['aws'])).toThrow(TuneUsageError);
    expect(() => parseTuneArgs(['--trace', 'x', '--instance-type', 'm', '--cloud', 'gcp'], ['aws'])).toThrow(/--cloud must be one of aws/);
    expect(() => parseTuneArgs(['--trace', 'x', '--instance-type', 'm', '--frobnicate'], ['aws'])).toThrow(/unknown argument --frobnicate/);
    expect(() => parseTuneArgs(['--trace'], ['aws'])).toThrow(/--trace needs a value/);
  });
});

describe('a bad trace', () => {
  it('is a usage error naming the file and each bad line, not a crash', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'nativeip-tune-')), 'bad.jsonl');
    await writeFile(path, 'not json\n{"t": 1}\n');
    await expect(runTune(['--trace', path, '--instance-type', 'm5.large'])).rejects.toThrow(TuneUsageError);
    await expect(runTune(['--trace', path, '--instance-type', 'm5.large'])).rejects.toThrow(/bad\.jsonl.*2 bad line\(s\)[\s\S]*line 1: not JSON/);
  });
});

describe('the timeline', () => {
  it('sums the nodes at each sample, splits free from cooling, counts the account\'s calls once and the trace\'s running pods', () => {
    const sample = (atMs: number, node: string, assigned: number, unassigned: number, cooling: number, calls: number) => ({ atMs, node, assigned, unassigned, cooling, interfaces: 1, accountMutatingCalls: calls });
    const timeline = timelineOf(trace, [sample(0, 'node-1', 1, 4, 1, 3), sample(0, 'node-2', 0, 2, 0, 3), sample(320_000, 'node-1', 5, 3, 1, 7), sample(320_000, 'node-2', 1, 1, 0, 7)]);
    expect(timeline).toEqual([
      { atMs: 0, pods: 1, assigned: 1, free: 5, cooling: 1, interfaces: 2, mutatingCalls: 3 },
      { atMs: 320_000, pods: 6, assigned: 6, free: 3, cooling: 1, interfaces: 2, mutatingCalls: 7 },
    ]);
    const chart = chartInput('t', { policies: [{ ...tuned('a', {}, 0, 1, 1), timeline }], reference: tuned('a', {}, 0, 1, 1), recommended: tuned('a', {}, 0, 1, 1) });
    expect(chart.policies[0]!.calls).toEqual([{ atMs: 0, mutating: 3 }, { atMs: 320_000, mutating: 7 }]);
  });
});
