/** What STATUS shows of the warm-pool policy in force: its name and knobs, or the adaptive band now. */
import type { WarmPoolStatus } from '../../rpc/protocol.js';
import type { AdaptiveController } from './adaptive-controller.js';
import { isIpMode, type WarmTargets } from './plan/warm-targets.js';

export function warmPoolStatusOf(policy: { targets: WarmTargets; adaptive: AdaptiveController | undefined; prefixMode: boolean }, nowMs: number): WarmPoolStatus {
  const { targets, adaptive, prefixMode } = policy;
  if (prefixMode) return { policy: 'prefix', knobs: knobsOf(targets) };
  if (adaptive === undefined) return { policy: isIpMode(targets) ? 'ip' : 'eni', knobs: knobsOf(targets) };
  const band = adaptive.effectiveBand(nowMs);
  const starting = adaptive.startupFloor(nowMs);
  return {
    policy: 'adaptive',
    low: band.low,
    high: band.high,
    burst: band.burst,
    arrivalsPerMinute: Math.round(band.ratePerSec * 600) / 10,
    ...(starting === undefined ? {} : { startupFloor: starting }),
  };
}

/** The AWS VPC CNI knobs in force, as STATUS shows them (unset ones left out). */
function knobsOf(targets: WarmTargets): Readonly<Record<string, number>> {
  const knobs: Record<string, number | undefined> = {
    WARM_ENI_TARGET: targets.warmEniTarget,
    WARM_IP_TARGET: targets.warmIpTarget,
    MINIMUM_IP_TARGET: targets.minimumIpTarget,
    WARM_PREFIX_TARGET: targets.prefixDelegation === true ? targets.warmPrefixTarget : undefined,
    MAX_ENI: targets.maxEni,
  };
  return Object.fromEntries(Object.entries(knobs).filter((e): e is [string, number] => e[1] !== undefined));
}
