/** The pool's grow and shrink planning, in secondary-address or prefix mode. Pure. */
import { planPrefixGrow, planPrefixShrink } from './prefix-targets.js';
import { planGrow, planShrink, type GrowPlan, type PlanInput, type ShrinkPlan } from './warm-targets.js';

export function planPoolGrow(input: PlanInput): GrowPlan {
  return input.targets.prefixDelegation === true ? planPrefixGrow(input) : planGrow(input);
}

export function planPoolShrink(input: PlanInput): ShrinkPlan {
  return input.targets.prefixDelegation === true ? planPrefixShrink(input) : planShrink(input);
}
