/** Several policies judged on one corpus trace share one baseline replay and one lower bound. */
import { describe, expect, it } from 'vitest';
import type { CorpusEntry } from '../../src/sim/corpus/corpus.js';
import { corpusMachines } from '../../src/sim/corpus/machines.js';
import { BASELINE_POLICY, replayEntry, replayPolicies } from '../../src/sim/corpus/replay.js';
import { steadyTrace } from '../../src/sim/traces.js';

describe('replaying several policies on one corpus trace', () => {
  it('judges each against the same baseline, as replaying each alone would', async () => {
    const machines = await corpusMachines('aws');
    const machine = machines.machines.find((m) => m.machineType === 'm5.large');
    expect(machine).toBeDefined();
    const entry: CorpusEntry = { index: 0, family: 'steady', half: 'tune', machine: machine!, trace: steadyTrace({ nodes: 2, hours: 1 }) };
    const warmIp = { name: 'WARM_IP_TARGET=2', env: { WARM_IP_TARGET: '2' } };
    const [asBaseline, judged] = await replayPolicies(entry, [BASELINE_POLICY, warmIp], 'aws', machines);
    // The baseline judged against itself: the same figures on both sides.
    expect(asBaseline!.policy).toEqual(asBaseline!.baseline);
    expect(judged!.baseline).toEqual(asBaseline!.baseline);
    expect(judged!.policy.idleAddressHours).toBeLessThan(judged!.baseline.idleAddressHours);
    const alone = await replayEntry(entry, warmIp, 'aws', machines);
    expect(judged).toEqual(alone);
  }, 60_000);
});
