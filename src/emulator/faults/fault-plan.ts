/**
 * The fault plan both emulators share: which requests get which fault. Pure: the plan sees an
 * action name (and, from the server, whether a rule can apply to this request) and answers the
 * rule that fires, if any; the servers do the wire work. Seeded, so a run can be repeated.
 */
import { seededRandom } from '../../core/seeded-random.js';

/** What a fault does to one request; the wire shape is each emulator's (see its server). */
export type FaultEffect =
  /** The action is applied to state, then the connection is destroyed without a reply. */
  | { readonly kind: 'replyLost' }
  /** A 5xx in the cloud's error shape; the action is not applied. */
  | { readonly kind: 'serverError'; readonly status: 500 | 503 }
  /**
   * The request is accepted and not answered: never (until the client gives up or the emulator
   * closes), or after `delayMs`. `applied`: the action is applied before the wait (else after it,
   * and only when the client is still there).
   */
  | { readonly kind: 'timeout'; readonly delayMs: number | undefined; readonly applied: boolean }
  /** The action is applied, then the reply waits `delayMs`. */
  | { readonly kind: 'latency'; readonly delayMs: number }
  /** Eventual consistency: for `windowMs` after a resource was created, requests naming it say it does not exist. */
  | { readonly kind: 'notFoundAfterCreate'; readonly windowMs: number }
  /** The cloud's throttling answer (EC2 503 RequestLimitExceeded; ARM 429 with Retry-After). */
  | { readonly kind: 'throttle'; readonly retryAfterSec: number }
  /** ARM only: 429 RetryableErrorDueToAnotherOperation with Retry-After. */
  | { readonly kind: 'anotherOperation'; readonly retryAfterSec: number }
  /** ARM only: just before a NIC PUT is judged, another writer adds IP configuration `name` (new ETag). */
  | { readonly kind: 'concurrentWrite'; readonly name: string }
  /** ARM only: the accepted write's long-running operation ends Failed with this error. */
  | { readonly kind: 'failOperation'; readonly code: string; readonly message: string };

export type FaultKind = FaultEffect['kind'];

export const FAULT_KINDS: readonly FaultKind[] = [
  'replyLost',
  'serverError',
  'timeout',
  'latency',
  'notFoundAfterCreate',
  'throttle',
  'anotherOperation',
  'concurrentWrite',
  'failOperation',
];

/** Which requests a rule takes. */
export interface FaultSelection {
  /** Action names (EC2 `Action`, ARM operation such as `PutNetworkInterface`); `*` matches any run of characters. */
  readonly actions: readonly string[];
  /** Probability that a matching request (past `skip`) gets the fault; undefined: every one. */
  readonly rate: number | undefined;
  /** At most this many faults from this rule; undefined: no limit. */
  readonly count: number | undefined;
  /** Matching requests let through before the rule starts. */
  readonly skip: number;
}

export type FaultRule = FaultEffect & FaultSelection;

export interface FaultPlanSpec {
  /** Seed of the rate draws; undefined: the emulator picks one and reports it. */
  readonly seed: number | undefined;
  readonly rules: readonly FaultRule[];
}

/** Faults fired since the last reset: in all, per kind, and per kind and action. */
export interface FaultCounts {
  readonly total: number;
  readonly byKind: Readonly<Partial<Record<FaultKind, number>>>;
  readonly byAction: Readonly<Partial<Record<FaultKind, Readonly<Record<string, number>>>>>;
}

/** A rule with how far it got: matching requests seen, and faults fired. */
export type FaultRuleStatus = FaultRule & { readonly seen: number; readonly fired: number };

export interface FaultPlanStatus {
  readonly seed: number;
  readonly rules: readonly FaultRuleStatus[];
  readonly fired: FaultCounts;
}

/** Whether `action` matches a pattern in which `*` stands for any run of characters. */
export function actionMatches(pattern: string, action: string): boolean {
  const parts = pattern.split('*');
  if (parts.length === 1) return pattern === action;
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  if (!action.startsWith(first) || action.length < first.length + last.length || !action.endsWith(last)) return false;
  let at = first.length;
  for (const middle of parts.slice(1, -1)) {
    const found = action.indexOf(middle, at);
    if (found < 0 || found + middle.length > action.length - last.length) return false;
    at = found + middle.length;
  }
  return true;
}

export { seededRandom };

interface RuleState {
  readonly rule: FaultRule;
  seen: number;
  fired: number;
}

/**
 * The rules in order, their progress, the seeded draws and the counters of fired faults. At most
 * one fault per request: the first rule (in plan order) that fires; later rules are not consulted
 * for that request, so their skips, counts and draws do not move.
 */
export class FaultPlan {
  #rules: RuleState[] = [];
  #seed = 0;
  #random: () => number = seededRandom(0);
  readonly #fired = new Map<FaultKind, Map<string, number>>();
  readonly #fallbackSeed: () => number;

  /** `fallbackSeed` picks the seed of a plan that names none. */
  constructor(spec: FaultPlanSpec | undefined, fallbackSeed: () => number) {
    this.#fallbackSeed = fallbackSeed;
    this.replace(spec ?? { seed: undefined, rules: [] });
  }

  /** Replaces the rules and restarts the draws from the spec's seed. Counters of fired faults stay. */
  replace(spec: FaultPlanSpec): void {
    this.#seed = spec.seed ?? this.#fallbackSeed();
    this.#random = seededRandom(this.#seed);
    this.#rules = spec.rules.map((rule) => ({ rule, seen: 0, fired: 0 }));
  }

  /** Appends rules after the current ones; the draws go on. */
  add(rules: readonly FaultRule[]): void {
    this.#rules.push(...rules.map((rule) => ({ rule, seen: 0, fired: 0 })));
  }

  /** Drops every rule; counters stay. */
  clear(): void {
    this.#rules = [];
  }

  /**
   * The rule that fires for this request, or undefined. `applies` says whether a rule's effect can
   * apply to this request at all (a NIC PUT fault on a GET, NotFound on a request naming no new
   * resource): a request it refuses does not count as matching.
   */
  decide(action: string, applies: (effect: FaultEffect) => boolean = () => true): FaultRule | undefined {
    for (const state of this.#rules) {
      const { rule } = state;
      if (rule.count !== undefined && state.fired >= rule.count) continue;
      if (!rule.actions.some((p) => actionMatches(p, action)) || !applies(rule)) continue;
      state.seen += 1;
      if (state.seen <= rule.skip) continue;
      if (rule.rate !== undefined && this.#random() >= rule.rate) continue;
      state.fired += 1;
      const perAction = this.#fired.get(rule.kind) ?? new Map<string, number>();
      perAction.set(action, (perAction.get(action) ?? 0) + 1);
      this.#fired.set(rule.kind, perAction);
      return rule;
    }
    return undefined;
  }

  fired(): FaultCounts {
    const byKind: Partial<Record<FaultKind, number>> = {};
    const byAction: Partial<Record<FaultKind, Record<string, number>>> = {};
    let total = 0;
    for (const [kind, perAction] of this.#fired) {
      const sum = [...perAction.values()].reduce((a, b) => a + b, 0);
      byKind[kind] = sum;
      byAction[kind] = Object.fromEntries(perAction);
      total += sum;
    }
    return { total, byKind, byAction };
  }

  resetFired(): void {
    this.#fired.clear();
  }

  status(): FaultPlanStatus {
    return { seed: this.#seed, rules: this.#rules.map((s) => ({ ...s.rule, seen: s.seen, fired: s.fired })), fired: this.fired() };
  }
}
