/**
 * One environment variable: how it is documented (the README's configuration table), how it is
 * parsed, and how it is read from the environment. Generic over the settings object it fills, so
 * the daemon's own table and each cloud's (src/providers/<cloud>/plugin.ts) are read the same way.
 */
import type { ParseResult, Parser } from './config-parsers.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** One bad variable or combination. */
export interface ConfigIssue {
  /** The variable at fault (for a combination, the first one named in the message). */
  readonly env: string;
  /** One line naming the variable, the value given and what is allowed. */
  readonly message: string;
}

/** One variable as documented: what the README's configuration table lists. */
export interface ConfigVariable {
  /** The environment variable's name. */
  readonly env: string;
  /** Read when `env` is unset or empty (`AWS_DEFAULT_REGION` for `AWS_REGION`). */
  readonly fallbackEnv?: string;
  /** The settings field it sets. */
  readonly field: string;
  /** The cloud whose settings it belongs to (CloudPlugin.name); absent for the daemon's own. */
  readonly cloud?: string;
  /** What values are accepted; also the end of every error message about this variable. */
  readonly allowed: string;
  /** The value used when unset, as text (`unset` for optional fields). */
  readonly default: string;
  readonly description: string;
}

export interface VariableSpec<C, K extends keyof C> extends ConfigVariable {
  readonly field: K & string;
  readonly parse: Parser<C[K]>;
  /** The value when unset. */
  readonly fallback: C[K];
}

/** One spec per field of `C`, checked by the compiler. */
export type SpecTable<C> = { readonly [K in keyof C]: VariableSpec<C, K> };

const MAX_SHOWN_VALUE = 80;

function quote(raw: string): string {
  const shown = raw.length > MAX_SHOWN_VALUE ? `${raw.slice(0, MAX_SHOWN_VALUE)}…` : raw;
  return JSON.stringify(shown);
}

export type ReadResult<T> = { ok: true; value: T } | { ok: false; issue: ConfigIssue };

/** Reads one variable: empty means unset; a value that does not parse is an issue, never the default. */
export function readVariable<C, K extends keyof C>(spec: VariableSpec<C, K>, env: Env): ReadResult<C[K]> {
  const name = [spec.env, spec.fallbackEnv].find((n): n is string => n !== undefined && env[n] !== undefined && env[n] !== '');
  const raw = name === undefined ? undefined : env[name];
  if (name === undefined || raw === undefined) return { ok: true, value: spec.fallback };
  const result: ParseResult<C[K]> = spec.parse(raw);
  if (result.ok) return { ok: true, value: result.value };
  const detail = result.detail === undefined ? '' : ` (${result.detail})`;
  return {
    ok: false,
    issue: { env: name, message: `${name}=${quote(raw)}: expected ${spec.allowed}${detail}` },
  };
}

/**
 * Reads every variable of a table. A variable that does not parse is an issue and its field gets
 * the fallback; `failed` names those fields, so checks of combinations do not judge them again.
 */
export function readTable<C>(specs: SpecTable<C>, env: Env): { value: C; issues: ConfigIssue[]; failed: Set<keyof C> } {
  const issues: ConfigIssue[] = [];
  const failed = new Set<keyof C>();
  const value = {} as Record<keyof C, unknown>;
  for (const field of Object.keys(specs) as (keyof C)[]) {
    const spec = specs[field];
    const result = readVariable(spec, env);
    if (result.ok) {
      value[field] = result.value;
    } else {
      issues.push(result.issue);
      failed.add(field);
      value[field] = spec.fallback;
    }
  }
  return { value: value as C, issues, failed };
}

/** The documented form of a table's variables, in its order; `cloud` for a cloud's own table. */
export function documentedVariables<C>(specs: SpecTable<C>, cloud?: string): ConfigVariable[] {
  return Object.values<VariableSpec<C, keyof C>>(specs).map((spec): ConfigVariable => {
    const { env, fallbackEnv, field, allowed, description } = spec;
    const documented = { env, field, allowed, default: spec.default, description, ...(cloud === undefined ? {} : { cloud }) };
    return Object.freeze(fallbackEnv === undefined ? documented : { ...documented, fallbackEnv });
  });
}
