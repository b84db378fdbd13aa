/** The warm-pool policies the churn simulator compares, as the environment a user would set. */
import type { Policy } from './simulate.js';

export const POLICIES: readonly Policy[] = [
  { name: 'nativeip default (adaptive)', env: {} },
  { name: 'WARM_ENI_TARGET=1 (nativeip in ENI mode)', env: { WARM_ENI_TARGET: '1' } },
  { name: 'WARM_IP_TARGET=5, MINIMUM_IP_TARGET=10', env: { WARM_IP_TARGET: '5', MINIMUM_IP_TARGET: '10' } },
  { name: 'ENABLE_PREFIX_DELEGATION, WARM_PREFIX_TARGET=1', env: { ENABLE_PREFIX_DELEGATION: 'true', WARM_PREFIX_TARGET: '1' } },
];
