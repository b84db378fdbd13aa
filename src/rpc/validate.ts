/**
 * Checks on the CNI identifiers both sides validate. Each returns `undefined` when the value is
 * fine, else a phrase saying what is wrong (callers prefix the field name).
 */

/** CNI spec: alphanumeric first, then alphanumerics, `_`, `.`, `-`. Used for container ids and network names. */
const CNI_IDENTIFIER = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
/** Linux IFNAMSIZ is 16 including the terminating NUL. */
const MAX_IFNAME_BYTES = 15;
/** Kubernetes object names are DNS subdomains: at most 253 characters. */
const MAX_POD_REF_LENGTH = 253;

export function containerIdProblem(id: string): string | undefined {
  if (id.length === 0) return 'must not be empty';
  if (!CNI_IDENTIFIER.test(id)) {
    return `${JSON.stringify(id)} is not a valid container id (an alphanumeric character, then alphanumerics, '_', '.' or '-')`;
  }
  return undefined;
}

export function networkNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (!CNI_IDENTIFIER.test(name)) {
    return `${JSON.stringify(name)} is not a valid network name (an alphanumeric character, then alphanumerics, '_', '.' or '-')`;
  }
  return undefined;
}

/** Same rules as libcni's interface-name check: 1–15 bytes, not `.`/`..`, no `/`, `:` or whitespace. */
export function ifNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_IFNAME_BYTES) {
    return `${JSON.stringify(name)} is ${bytes} bytes; an interface name has at most ${MAX_IFNAME_BYTES}`;
  }
  if (name === '.' || name === '..') return `${JSON.stringify(name)} is not a valid interface name`;
  if (/[/:\s]/u.test(name)) {
    return `${JSON.stringify(name)} is not a valid interface name (no '/', ':' or whitespace)`;
  }
  return undefined;
}

export function netnsProblem(path: string): string | undefined {
  if (path.length === 0) return 'must not be empty';
  if (!path.startsWith('/')) return `${JSON.stringify(path)} is not an absolute path`;
  if (path.includes('\0')) return 'must not contain a NUL byte';
  return undefined;
}

export function podRefProblem(value: string): string | undefined {
  if (value.length === 0) return 'must not be empty';
  if (value.length > MAX_POD_REF_LENGTH) return `is ${value.length} characters; at most ${MAX_POD_REF_LENGTH}`;
  return undefined;
}

/** IPv4 or IPv6 MTU bounds: 68 is the IPv4 minimum, 65535 the largest a link can report. */
export const MIN_MTU = 68;
export const MAX_MTU = 65535;
