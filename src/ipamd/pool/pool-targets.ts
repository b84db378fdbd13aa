/** The pool's warm-pool policy from the daemon's configuration; shared by the daemon and the churn simulator. */
import type { WarmTargets } from './plan/warm-targets.js';
import { AdaptiveController } from './adaptive-controller.js';
import { usesAdaptiveDefault, type DaemonConfig } from '../config/config.js';

export interface PoolPolicy {
  readonly targets: WarmTargets;
  /** Set when no AWS warm-pool knob is: the adaptive default. */
  readonly adaptive: AdaptiveController | undefined;
}

export function poolPolicyOf(config: DaemonConfig): PoolPolicy {
  return {
    targets: {
      warmEniTarget: config.warmEniTarget ?? 1,
      warmIpTarget: config.warmIpTarget,
      minimumIpTarget: config.minimumIpTarget,
      maxEni: config.maxEni,
      prefixDelegation: config.prefixDelegation,
      warmPrefixTarget: config.warmPrefixTarget,
    },
    adaptive: usesAdaptiveDefault(config) ? new AdaptiveController() : undefined,
  };
}
