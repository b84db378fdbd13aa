/** Decoding and validating the network configuration the runtime passes on stdin. */

import { DEFAULT_SOCKET_PATH } from '../../rpc/protocol.js';
import { MAX_MTU, MIN_MTU, networkNameProblem } from '../../rpc/validate.js';
import { CNI_ERROR, CniError } from './cni-error.js';
import { findJsonSyntaxError } from './json-syntax.js';
import { SUPPORTED_VERSIONS, highestSupported, isSupportedVersion, type CniVersion } from './versions.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_TIMEOUT_MS = 10 * 60_000;

export interface NetworkConfig {
  readonly cniVersion: CniVersion;
  /** Network name: part of the allocation key. */
  readonly name: string;
  readonly type: string;
  /** The daemon's socket (`socketPath`), default {@link DEFAULT_SOCKET_PATH}. */
  readonly socketPath: string;
  /** Overrides the daemon's MTU for this network. */
  readonly mtu?: number;
  /** Deadline for one call to the daemon (`timeoutMs`), default {@link DEFAULT_TIMEOUT_MS}. */
  readonly timeoutMs: number;
  /** Where the plugin appends JSON-lines logs; none when absent. */
  readonly logFile?: string;
  readonly logLevel: LogLevel;
  /** The previous plugin's result, as given (CHECK and chained plugins). */
  readonly prevResult?: unknown;
}

/** Decodes stdin as a UTF-8 JSON object. Throws {@link CniError} code 6 saying where it is broken. */
export function decodeStdin(stdin: Uint8Array): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(stdin);
  } catch {
    throw new CniError(CNI_ERROR.DecodingFailure, 'failed to decode content: stdin is not valid UTF-8');
  }
  if (text.trim() === '') {
    throw new CniError(CNI_ERROR.DecodingFailure, 'failed to decode content: stdin is empty; expected the network configuration JSON');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const native = err instanceof Error ? err.message : String(err);
    const where = findJsonSyntaxError(text);
    const msg =
      where === undefined
        ? `failed to decode content: ${native}`
        : `failed to decode content: invalid JSON at line ${where.line}, column ${where.column} (offset ${where.offset}): ${where.problem}`;
    throw new CniError(CNI_ERROR.DecodingFailure, msg, native);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    throw new CniError(CNI_ERROR.DecodingFailure, `failed to decode content: the network configuration must be a JSON object, got ${got}`);
  }
  return value as Record<string, unknown>;
}

/** The version the config asks for if it is one we support, for labelling an error reply. */
export function peekCniVersion(raw: Record<string, unknown> | undefined): CniVersion | undefined {
  const version = raw?.['cniVersion'];
  if (typeof version === 'string') return isSupportedVersion(version) ? version : undefined;
  const versions = raw?.['cniVersions'];
  return Array.isArray(versions) ? highestSupported(versions.filter((v): v is string => typeof v === 'string')) : undefined;
}

/**
 * The spec version to speak: `cniVersion` when present; otherwise the highest supported entry
 * of `cniVersions` (spec 1.1 lets a config list several). Throws {@link CniError} code 1 when
 * the version is not one we support, code 7 when neither key is usable.
 */
export function selectCniVersion(raw: Record<string, unknown>): CniVersion {
  const version = raw['cniVersion'];
  const versions = raw['cniVersions'];
  if (versions !== undefined && (!Array.isArray(versions) || versions.some((v) => typeof v !== 'string'))) {
    throw invalid([`cniVersions: expected a list of version strings such as ["1.0.0", "1.1.0"], got ${show(versions)}`]);
  }
  const listed = (versions ?? []) as string[];
  if (version === undefined) {
    if (listed.length === 0) throw invalid(['cniVersion is required']);
    const best = highestSupported(listed);
    if (best !== undefined) return best;
    throw new CniError(
      CNI_ERROR.IncompatibleVersion,
      `incompatible CNI versions ${JSON.stringify(listed)}: nativeip-cni supports ${SUPPORTED_VERSIONS.join(', ')}`,
    );
  }
  if (typeof version !== 'string') throw invalid([`cniVersion: expected a string such as "1.0.0", got ${show(version)}`]);
  if (!isSupportedVersion(version)) {
    throw new CniError(
      CNI_ERROR.IncompatibleVersion,
      `incompatible CNI version ${JSON.stringify(version)}: nativeip-cni supports ${SUPPORTED_VERSIONS.join(', ')}`,
    );
  }
  return version;
}

/**
 * Validates a decoded config. Throws {@link CniError}: code 1 for an unsupported `cniVersion`,
 * code 7 listing every invalid key otherwise.
 */
export function parseNetworkConfig(raw: Record<string, unknown>): NetworkConfig {
  const version = selectCniVersion(raw);

  const problems: string[] = [];
  const name = raw['name'];
  if (name === undefined || name === '') problems.push('name is required');
  else if (typeof name !== 'string') problems.push(`name: expected a string, got ${show(name)}`);
  else {
    const problem = networkNameProblem(name);
    if (problem !== undefined) problems.push(`name: ${problem}`);
  }
  const type = raw['type'];
  if (typeof type !== 'string' || type === '') problems.push(`type: expected a non-empty string, got ${show(type)}`);

  const absolutePath = (v: unknown): Checked<string> =>
    typeof v === 'string' && v.startsWith('/') ? { value: v } : { problem: `expected an absolute path, got ${show(v)}` };
  const integerIn = (min: number, max: number, unit: string) => (v: unknown): Checked<number> =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max
      ? { value: v }
      : { problem: `expected an integer from ${min} to ${max}${unit}, got ${show(v)}` };

  const socketPath = optional(raw, 'socketPath', problems, absolutePath);
  const mtu = optional(raw, 'mtu', problems, integerIn(MIN_MTU, MAX_MTU, ''));
  const timeoutMs = optional(raw, 'timeoutMs', problems, integerIn(1, MAX_TIMEOUT_MS, ' (milliseconds)'));
  const logFile = optional(raw, 'logFile', problems, absolutePath);
  const logLevel = optional(raw, 'logLevel', problems, (v): Checked<LogLevel> =>
    typeof v === 'string' && (LOG_LEVELS as readonly string[]).includes(v)
      ? { value: v as LogLevel }
      : { problem: `expected one of ${LOG_LEVELS.join(', ')}, got ${show(v)}` },
  );
  if (problems.length > 0) throw invalid(problems);

  return {
    cniVersion: version,
    name: name as string,
    type: type as string,
    socketPath: socketPath ?? DEFAULT_SOCKET_PATH,
    timeoutMs: timeoutMs ?? DEFAULT_TIMEOUT_MS,
    logLevel: logLevel ?? 'info',
    ...(mtu === undefined ? {} : { mtu }),
    ...(logFile === undefined ? {} : { logFile }),
    ...(raw['prevResult'] === undefined ? {} : { prevResult: raw['prevResult'] }),
  };
}

type Checked<T> = { readonly value: T } | { readonly problem: string };

/** Applies `check` to `raw[key]` when present; a problem is recorded as `key: problem`. */
function optional<T>(
  raw: Record<string, unknown>,
  key: string,
  problems: string[],
  check: (value: unknown) => Checked<T>,
): T | undefined {
  const value = raw[key];
  if (value === undefined) return undefined;
  const checked = check(value);
  if ('problem' in checked) {
    problems.push(`${key}: ${checked.problem}`);
    return undefined;
  }
  return checked.value;
}

function invalid(problems: readonly string[]): CniError {
  return new CniError(CNI_ERROR.InvalidNetworkConfig, `invalid network config: ${problems.join('; ')}`);
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}
