/**
 * One corpus trace replayed under a policy and under the baseline (`WARM_ENI_TARGET=1`), with its
 * lower bound, judged (judge.ts). The replays run the daemon's real pool engine and the cloud's
 * real provider on the emulated account in-process (simulate.ts), every node sharing the account's
 * request limits.
 */
import { loadDaemonConfig } from '../../ipamd/config/config.js';
import { simulate, type Policy, type SimulationResult } from '../simulate.js';
import type { CorpusEntry } from './corpus.js';
import { judgeTrace, type ReplayFigures, type TraceJudgement } from './judge.js';
import { lowerBound } from './lower-bound.js';
import type { CloudCorpusMachines } from './machines.js';

export const BASELINE_POLICY: Policy = { name: 'WARM_ENI_TARGET=1 (nativeip in ENI mode)', env: { WARM_ENI_TARGET: '1' } };

export function figuresOf(result: SimulationResult): ReplayFigures {
  return {
    podsWaited: result.podsWaited,
    idleAddressHours: result.idleAddressHours,
    mutatingCalls: result.mutatingCalls + result.warmupMutatingCalls,
    maxWaitMs: result.maxWaitMs,
    podsUnserved: result.podsUnserved,
  };
}

export async function replayEntry(entry: CorpusEntry, policy: Policy, cloud: string, machines: CloudCorpusMachines): Promise<TraceJudgement> {
  const [judgement] = await replayPolicies(entry, [policy], cloud, machines);
  return judgement!;
}

/** Several policies on one trace, judged against one replay of the baseline and one lower bound. */
export async function replayPolicies(entry: CorpusEntry, policies: readonly Policy[], cloud: string, machines: CloudCorpusMachines): Promise<TraceJudgement[]> {
  const options = { cloud, instanceType: entry.machine.machineType, throttling: true };
  const limits = machines.limits.get(entry.machine.machineType);
  if (limits === undefined) throw new Error(`no limits for ${entry.machine.machineType}`);
  const judgements: TraceJudgement[] = [];
  let baseline: ReplayFigures | undefined;
  for (const policy of policies) {
    const ours = await simulate(entry.trace, policy, options);
    baseline ??= figuresOf(await simulate(entry.trace, BASELINE_POLICY, options));
    const config = loadDaemonConfig({ ...policy.env });
    const bound = lowerBound(entry.trace, { limits, cooldownMs: config.ipCooldownMs, callsPerInterface: machines.mutatingCallsPerInterface });
    judgements.push(judgeTrace(entry.trace.name, entry.family, figuresOf(ours), baseline, bound));
  }
  return judgements;
}
