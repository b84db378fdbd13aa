/**
 * Fault plans from outside: JSON (CLI flag, HTTP control endpoint) or the compact text form of
 * `--faults`. Pure; every mistake names its field (`rules[1].delayMs: …`).
 *
 * JSON: `{"seed": 42, "rules": [{"kind": "replyLost", "actions": ["CreateNetworkInterface"], "count": 1}]}`
 * (a bare array of rules works too). Compact: rules separated by `;`, each
 * `kind[@Action|Action…][,key=value…]`, plus an optional `seed=N` entry:
 * `replyLost@CreateNetworkInterface,count=1;latency@Describe*,delayMs=300,rate=0.2;seed=42`.
 */
import { FAULT_KINDS, type FaultEffect, type FaultKind, type FaultPlanSpec, type FaultRule, type FaultSelection } from './fault-plan.js';

export class FaultSpecError extends Error {
  override readonly name = 'FaultSpecError';
  /** The bad field's path, e.g. `rules[0].rate`; empty for the whole spec. */
  readonly field: string;

  constructor(field: string, message: string) {
    super(field === '' ? message : `${field}: ${message}`);
    this.field = field;
  }
}

const MAX_DELAY_MS = 3_600_000;
const SELECTION_KEYS = ['kind', 'actions', 'rate', 'count', 'skip'];
const EFFECT_KEYS: Record<FaultKind, readonly string[]> = {
  replyLost: [],
  serverError: ['status'],
  timeout: ['delayMs', 'applied'],
  latency: ['delayMs'],
  notFoundAfterCreate: ['windowMs'],
  throttle: ['retryAfterSec'],
  anotherOperation: ['retryAfterSec'],
  concurrentWrite: ['name'],
  failOperation: ['code', 'message'],
};

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const show = (value: unknown): string => JSON.stringify(value) ?? String(value);

function wholeNumber(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new FaultSpecError(field, `${show(value)} is not a whole number from ${min} to ${max}`);
  }
  return value;
}

function optional<T>(record: Record<string, unknown>, key: string, decode: (value: unknown) => T): T | undefined {
  return record[key] === undefined ? undefined : decode(record[key]);
}

function text(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw new FaultSpecError(field, `${show(value)} is not a non-empty string`);
  return value;
}

function decodeActions(field: string, value: unknown): readonly string[] {
  if (value === undefined) return ['*'];
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0) throw new FaultSpecError(field, `${show(value)} is not an action name or a non-empty list of them`);
  return list.map((item, i) => {
    if (typeof item !== 'string' || !/^[A-Za-z*][A-Za-z0-9*]*$/.test(item)) {
      throw new FaultSpecError(`${field}[${i}]`, `${show(item)} is not an action name (letters and digits, * for any run of them)`);
    }
    return item;
  });
}

function decodeEffect(kind: FaultKind, rule: Record<string, unknown>, at: string): FaultEffect {
  const field = (key: string) => `${at}.${key}`;
  const required = (key: string): unknown => {
    if (rule[key] === undefined) throw new FaultSpecError(field(key), `required for kind '${kind}'`);
    return rule[key];
  };
  switch (kind) {
    case 'replyLost':
      return { kind };
    case 'serverError': {
      const status = rule['status'] ?? 500;
      if (status !== 500 && status !== 503) throw new FaultSpecError(field('status'), `${show(status)} is not 500 or 503`);
      return { kind, status };
    }
    case 'timeout': {
      const applied = rule['applied'] ?? false;
      if (typeof applied !== 'boolean') throw new FaultSpecError(field('applied'), `${show(applied)} is not true or false`);
      return { kind, delayMs: optional(rule, 'delayMs', (v) => wholeNumber(field('delayMs'), v, 0, MAX_DELAY_MS)), applied };
    }
    case 'latency':
      return { kind, delayMs: wholeNumber(field('delayMs'), required('delayMs'), 0, MAX_DELAY_MS) };
    case 'notFoundAfterCreate':
      return { kind, windowMs: wholeNumber(field('windowMs'), required('windowMs'), 1, MAX_DELAY_MS) };
    case 'throttle':
    case 'anotherOperation':
      return { kind, retryAfterSec: wholeNumber(field('retryAfterSec'), rule['retryAfterSec'] ?? 1, 0, 3600) };
    case 'concurrentWrite':
      return { kind, name: text(field('name'), required('name')) };
    case 'failOperation':
      return {
        kind,
        code: text(field('code'), rule['code'] ?? 'InternalServerError'),
        message: text(field('message'), rule['message'] ?? 'The operation failed (fault injected by the emulator).'),
      };
  }
}

/** One rule from JSON; `kinds` are the kinds this emulator knows. */
export function decodeFaultRule(value: unknown, at: string, kinds: readonly FaultKind[]): FaultRule {
  if (!isRecord(value)) throw new FaultSpecError(at, `${show(value)} is not an object`);
  const kind = value['kind'];
  if (typeof kind !== 'string' || !(kinds as readonly string[]).includes(kind)) {
    throw new FaultSpecError(`${at}.kind`, `${show(kind)} is not one of ${kinds.join(', ')}`);
  }
  const known = new Set([...SELECTION_KEYS, ...EFFECT_KEYS[kind as FaultKind]]);
  const unknown = Object.keys(value).find((key) => !known.has(key));
  if (unknown !== undefined) throw new FaultSpecError(`${at}.${unknown}`, `not a field of kind '${kind}' (known: ${[...known].join(', ')})`);
  const rate = optional(value, 'rate', (v) => {
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new FaultSpecError(`${at}.rate`, `${show(v)} is not a number from 0 to 1`);
    return v;
  });
  const selection: FaultSelection = {
    actions: decodeActions(`${at}.actions`, value['actions']),
    rate,
    count: optional(value, 'count', (v) => wholeNumber(`${at}.count`, v, 1, 2 ** 31)),
    skip: wholeNumber(`${at}.skip`, value['skip'] ?? 0, 0, 2 ** 31),
  };
  return { ...decodeEffect(kind as FaultKind, value, at), ...selection };
}

/** A plan from JSON: `{seed?, rules: [...]}` or a bare array of rules. */
export function decodeFaultPlan(value: unknown, kinds: readonly FaultKind[] = FAULT_KINDS): FaultPlanSpec {
  const record = Array.isArray(value) ? { rules: value } : value;
  if (!isRecord(record)) throw new FaultSpecError('', `${show(value)} is not a fault plan ({"seed"?, "rules": [...]} or a list of rules)`);
  const unknown = Object.keys(record).find((key) => key !== 'seed' && key !== 'rules');
  if (unknown !== undefined) throw new FaultSpecError(unknown, 'not a field of a fault plan (known: seed, rules)');
  const rules = record['rules'];
  if (!Array.isArray(rules)) throw new FaultSpecError('rules', `${show(rules)} is not a list of rules`);
  return {
    seed: optional(record, 'seed', (v) => wholeNumber('seed', v, 0, 2 ** 32 - 1)),
    rules: rules.map((rule: unknown, i) => decodeFaultRule(rule, `rules[${i}]`, kinds)),
  };
}

function compactValue(raw: string): unknown {
  if (/^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
  if (raw === 'true' || raw === 'false') return raw === 'true';
  return raw;
}

/** The compact form as the JSON it stands for (not yet validated). */
function compactToJson(textSpec: string): unknown {
  const rules: Record<string, unknown>[] = [];
  const plan: Record<string, unknown> = { rules };
  for (const entry of textSpec.split(';').map((e) => e.trim()).filter((e) => e.length > 0)) {
    const seed = /^seed=(.*)$/.exec(entry);
    if (seed !== null) {
      plan['seed'] = compactValue(seed[1]!);
      continue;
    }
    const [head = '', ...pairs] = entry.split(',');
    const at = head.indexOf('@');
    const rule: Record<string, unknown> = { kind: at < 0 ? head : head.slice(0, at) };
    if (at >= 0) rule['actions'] = head.slice(at + 1).split('|');
    for (const pair of pairs) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new FaultSpecError(`rules[${rules.length}]`, `'${pair}' is not key=value`);
      rule[pair.slice(0, eq).trim()] = compactValue(pair.slice(eq + 1).trim());
    }
    rules.push(rule);
  }
  return plan;
}

/** A plan from `--faults` text: JSON when it starts with `{` or `[`, else the compact form. */
export function parseFaultSpec(textSpec: string, kinds: readonly FaultKind[] = FAULT_KINDS): FaultPlanSpec {
  const trimmed = textSpec.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      throw new FaultSpecError('', `not valid JSON (${(error as Error).message})`);
    }
    return decodeFaultPlan(parsed, kinds);
  }
  return decodeFaultPlan(compactToJson(trimmed), kinds);
}
