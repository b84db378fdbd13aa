/**
 * One environment variable of the daemon: how it is documented (the README's configuration
 * table), how it is parsed, and how it is read from the environment.
 */
import type { ConfigIssue, DaemonConfig } from './config.js';
import type { ParseResult, Parser } from './config-parsers.js';

/** One variable as documented: what the README's configuration table lists. */
export interface ConfigVariable {
  /** The environment variable's name. */
  readonly env: string;
  /** Read when `env` is unset or empty (`AWS_DEFAULT_REGION` for `AWS_REGION`). */
  readonly fallbackEnv?: string;
  /** The {@link DaemonConfig} field it sets. */
  readonly field: keyof DaemonConfig;
  /** What values are accepted; also the end of every error message about this variable. */
  readonly allowed: string;
  /** The value used when unset, as text (`unset` for optional fields). */
  readonly default: string;
  readonly description: string;
}

export interface VariableSpec<K extends keyof DaemonConfig> extends ConfigVariable {
  readonly field: K;
  readonly parse: Parser<DaemonConfig[K]>;
  /** The value when unset. */
  readonly fallback: DaemonConfig[K];
}

const MAX_SHOWN_VALUE = 80;

function quote(raw: string): string {
  const shown = raw.length > MAX_SHOWN_VALUE ? `${raw.slice(0, MAX_SHOWN_VALUE)}…` : raw;
  return JSON.stringify(shown);
}

export type ReadResult<T> = { ok: true; value: T } | { ok: false; issue: ConfigIssue };

/** Reads one variable: empty means unset; a value that does not parse is an issue, never the default. */
export function readVariable<K extends keyof DaemonConfig>(
  spec: VariableSpec<K>,
  env: Readonly<Record<string, string | undefined>>,
): ReadResult<DaemonConfig[K]> {
  const name = [spec.env, spec.fallbackEnv].find(
    (n): n is string => n !== undefined && env[n] !== undefined && env[n] !== '',
  );
  const raw = name === undefined ? undefined : env[name];
  if (name === undefined || raw === undefined) return { ok: true, value: spec.fallback };
  const result: ParseResult<DaemonConfig[K]> = spec.parse(raw);
  if (result.ok) return { ok: true, value: result.value };
  const detail = result.detail === undefined ? '' : ` (${result.detail})`;
  return {
    ok: false,
    issue: { env: name, message: `${name}=${quote(raw)}: expected ${spec.allowed}${detail}` },
  };
}
