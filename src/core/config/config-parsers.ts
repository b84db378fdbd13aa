/**
 * Value parsers for the daemon's environment variables. Pure: strings in, typed values out.
 * A parser never substitutes a default; it either accepts the whole string or says why not.
 */

import { isIpv4, parseCidr } from '../ipv4.js';

export type ParseResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly detail?: string };

export type Parser<T> = (raw: string) => ParseResult<T>;

const ok = <T>(value: T): ParseResult<T> => ({ ok: true, value });
const fail = (detail?: string): ParseResult<never> =>
  detail === undefined ? { ok: false } : { ok: false, detail };

/**
 * Longest delay Node timers accept: setTimeout/setInterval clamp anything above 2^31-1 ms to 1 ms
 * (with a TimeoutOverflowWarning), so a larger period would fire continuously.
 */
export const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/** Bytes available for a Unix socket path: `sun_path` is 108 bytes including the NUL. */
export const MAX_SOCKET_PATH_BYTES = 107;

/** Decimal digits only: no sign, no fraction, no exponent, no hex, no surrounding spaces. */
export function wholeNumber(min: number, max: number = Number.MAX_SAFE_INTEGER): Parser<number> {
  return (raw) => {
    if (!/^[0-9]+$/.test(raw)) return fail();
    const value = Number(raw);
    if (value > max) return fail(`larger than ${max}`);
    if (value < min) return fail();
    return ok(value);
  };
}

export function map<A, B>(parser: Parser<A>, f: (value: A) => B): Parser<B> {
  return (raw) => {
    const result = parser(raw);
    return result.ok ? ok(f(result.value)) : result;
  };
}

/** Whole seconds in the string, milliseconds out. */
export function secondsAsMs(min: number): Parser<number> {
  return map(wholeNumber(min, MAX_TIMER_SECONDS), (seconds) => seconds * 1000);
}

/**
 * `true`/`false` in any letter case, or `1`/`0`. Go's strconv.ParseBool (what the AWS VPC CNI
 * uses) also takes `t`/`f`; we do not, because a single letter is more often a slip than a choice.
 */
export const boolean: Parser<boolean> = (raw) => {
  const lower = raw.toLowerCase();
  if (lower === 'true' || lower === '1') return ok(true);
  if (lower === 'false' || lower === '0') return ok(false);
  return fail();
};

/**
 * A boolean as the AWS VPC CNI reads one (Go's strconv.ParseBool: `1`, `t`, `T`, `TRUE`, `true`,
 * `True` and their `0`/`f`/`false` counterparts, nothing else); undefined when it is not one. For
 * judging the AWS VPC CNI's own settings as aws-node would, not for nativeip's (see {@link boolean}).
 */
export function vpcCniBoolean(value: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  return undefined;
}

/** One of a fixed set of lower-case words; the input may be in any letter case. */
export function oneOf<const T extends string>(values: readonly T[]): Parser<T> {
  return (raw) => {
    const lower = raw.toLowerCase();
    const found = values.find((v) => v === lower);
    return found === undefined ? fail() : ok(found);
  };
}

export function absolutePath(options: { maxBytes?: number } = {}): Parser<string> {
  return (raw) => {
    if (!raw.startsWith('/')) return fail('not absolute');
    if (raw.includes('\0')) return fail('contains a NUL character');
    const bytes = new TextEncoder().encode(raw).length;
    if (options.maxBytes !== undefined && bytes > options.maxBytes) {
      return fail(`${bytes} bytes long`);
    }
    return ok(raw);
  };
}

/** An http or https URL with a host and no user:password part. Returned exactly as given. */
export const httpUrl: Parser<string> = (raw) => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return fail('not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return fail(`scheme ${url.protocol} is not http: or https:`);
  }
  if (url.hostname === '') return fail('no host');
  if (url.username !== '' || url.password !== '') return fail('credentials in a URL are refused');
  return ok(raw);
};


/**
 * Host-side veth names are this prefix plus a hash, within the kernel's 15-byte limit. The AWS VPC
 * CNI refuses the same three prefixes: `eth` and `lo` would shadow the host's own links, and
 * `vlan` is used for branch-ENI (security-group-per-pod) interfaces.
 */
export const RESERVED_VETH_PREFIXES = ['eth', 'lo', 'vlan'] as const;

export const vethPrefix: Parser<string> = (raw) => {
  if (!/^[a-z0-9]{1,4}$/.test(raw)) return fail();
  if ((RESERVED_VETH_PREFIXES as readonly string[]).includes(raw)) return fail(`"${raw}" is reserved`);
  return ok(raw);
};

/**
 * EKS names (letters, digits, `-`, `_`) plus `.` for kops-style DNS names; it ends up in a tag
 * value, so it stays within a DNS name's 253 characters.
 */
export const clusterName: Parser<string> = (raw) =>
  /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/.test(raw) ? ok(raw) : fail();

/** The word `stderr`, or an absolute file path. */
export const logDestination: Parser<string> = (raw) =>
  raw === 'stderr' ? ok(raw) : absolutePath()(raw);

/**
 * Comma-separated IPv4 CIDRs (`10.1.0.0/16,192.168.0.0/24`; spaces around items allowed), each
 * normalised to its network address. The AWS VPC CNI skips an item it cannot parse; we refuse it.
 */
export const ipv4CidrList: Parser<readonly string[]> = (raw) => {
  const out: string[] = [];
  for (const item of raw.split(',').map((i) => i.trim())) {
    try {
      out.push(parseCidr(item).text);
    } catch {
      return fail(item === '' ? 'an empty item' : `${JSON.stringify(item)} is not an IPv4 CIDR`);
    }
  }
  return ok([...new Set(out)]);
};

/** A non-zero 32-bit mark, decimal or `0x` hexadecimal (the AWS VPC CNI takes either). */
export function connmark(raw: string): ParseResult<number> {
  const value = /^[0-9]+$/.test(raw) ? Number(raw) : /^0x[0-9a-f]+$/i.test(raw) ? Number.parseInt(raw.slice(2), 16) : undefined;
  if (value === undefined) return { ok: false };
  if (value === 0) return { ok: false, detail: '0 marks nothing' };
  return value > 0xffffffff ? { ok: false, detail: 'marks are 32 bits' } : { ok: true, value };
}

/** `off`, or `IPv4:port` with a port from 1 to 65535; `off` reads as unset. */
export const hostPortOrOff: Parser<{ readonly host: string; readonly port: number } | undefined> = (raw) => {
  if (raw === 'off') return ok(undefined);
  const match = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(raw);
  if (match === null || !isIpv4(match[1]!)) return fail();
  const port = Number(match[2]);
  return port >= 1 && port <= 65535 ? ok({ host: match[1]!, port }) : fail(`port ${port} is not 1 to 65535`);
};

/** A Node name: a DNS subdomain (RFC 1123, lower case), as the API server requires. */
export const kubernetesNodeName: Parser<string> = (raw) =>
  raw.length <= 253 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(raw) ? ok(raw) : fail();
