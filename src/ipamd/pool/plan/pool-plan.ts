/** The pool's grow and shrink planning: prefix mode, the adaptive default, or the AWS knobs. Pure. */
import { planAdaptiveRound, planAdaptiveShrink } from './adaptive-plan.js';
import { planPrefixGrow, planPrefixShrink } from './prefix-targets.js';
import { planGrow, planShrink, type GrowPlan, type PlanInput, type ShrinkPlan } from './warm-targets.js';

export function planPoolGrow(input: PlanInput): GrowPlan {
  if (input.targets.prefixDelegation === true) return planPrefixGrow(input);
  return input.targets.adaptive === undefined ? planGrow(input) : planAdaptiveRound(input, input.targets.adaptive);
}

export function planPoolShrink(input: PlanInput): ShrinkPlan {
  if (input.targets.prefixDelegation === true) return planPrefixShrink(input);
  return input.targets.adaptive === undefined ? planShrink(input) : planAdaptiveShrink(input, input.targets.adaptive);
}
