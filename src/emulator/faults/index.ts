/**
 * Fault injection shared by the EC2 and ARM emulators: the plan (fault-plan.ts), its parser
 * (fault-spec.ts), delivery on the wire (fault-delivery.ts), the HTTP control endpoint
 * (fault-control.ts), and the in-process handle tests use.
 */
import type { FaultCounts, FaultKind, FaultPlan, FaultPlanStatus } from './fault-plan.js';
import { decodeFaultPlan, decodeFaultRule } from './fault-spec.js';

export type { FaultCounts, FaultEffect, FaultKind, FaultPlanSpec, FaultPlanStatus, FaultRule } from './fault-plan.js';
export { FAULT_CONTROL_PATH } from './fault-control.js';
export { FaultSpecError, parseFaultSpec } from './fault-spec.js';

/** A rule as a test writes it: `kind`, then any selection and kind fields; defaults as in the JSON form. */
export interface FaultRuleInput {
  readonly kind: FaultKind;
  /** Default every action (`*`). */
  readonly actions?: string | readonly string[];
  readonly rate?: number;
  readonly count?: number;
  readonly skip?: number;
  /** serverError: 500 (default) or 503. */
  readonly status?: 500 | 503;
  /** latency (required), timeout (optional: never answered without it). */
  readonly delayMs?: number;
  /** timeout: apply the action before holding the reply. Default false. */
  readonly applied?: boolean;
  /** notFoundAfterCreate (required). */
  readonly windowMs?: number;
  /** throttle, anotherOperation. Default 1. */
  readonly retryAfterSec?: number;
  /** concurrentWrite (required). */
  readonly name?: string;
  /** failOperation. */
  readonly code?: string;
  readonly message?: string;
}

/** The fault plan of one running emulator. Rules are validated like the JSON form; a bad one throws FaultSpecError naming its field. */
export interface EmulatorFaults {
  /** `http(s)://host:port/_emulator/faults`: the same plan over HTTP, for a test driving an emulator process. */
  readonly controlUrl: string;
  /** Replaces every rule; the rate draws restart from `seed` (default: a new one, shown by `status()`). */
  set(plan: { readonly seed?: number; readonly rules: readonly FaultRuleInput[] }): void;
  /** Appends rules after the current ones. */
  add(...rules: readonly FaultRuleInput[]): void;
  /** Drops every rule. Counters stay. */
  clear(): void;
  /** Faults fired since start or the last `resetFired`: in all, per kind, per kind and action. */
  fired(): FaultCounts;
  resetFired(): void;
  /** Seed, rules with how many matching requests each saw and fired on, and the counters. */
  status(): FaultPlanStatus;
}

export function emulatorFaults(plan: FaultPlan, kinds: readonly FaultKind[], controlUrl: string): EmulatorFaults {
  return {
    controlUrl,
    set: (spec) => plan.replace(decodeFaultPlan(spec, kinds)),
    add: (...rules) => plan.add(rules.map((rule, i) => decodeFaultRule(rule, `rules[${i}]`, kinds))),
    clear: () => plan.clear(),
    fired: () => plan.fired(),
    resetFired: () => plan.resetFired(),
    status: () => plan.status(),
  };
}
