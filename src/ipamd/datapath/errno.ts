/** Netlink failures as errno names and readable text. Pure. */

const TEXT: Readonly<Record<string, string>> = {
  EEXIST: 'already exists',
  ENODEV: 'no such device',
  ENOENT: 'no such object',
  ESRCH: 'no such route',
  EADDRNOTAVAIL: 'address not assigned to the link',
  ENETDOWN: 'link is down',
  ENETUNREACH: 'network unreachable (no route to the gateway)',
  EINVAL: 'invalid argument (the kernel rejected the attributes)',
  EPERM: 'operation not permitted (needs CAP_NET_ADMIN)',
  EACCES: 'permission denied',
  EBUSY: 'device or resource busy',
  ERANGE: 'value out of range (e.g. MTU outside the link limits)',
  ENOTCONN: 'veth peer not connected',
  ENOBUFS: 'kernel buffer space exhausted',
  EOPNOTSUPP: 'operation not supported by the kernel',
  ETIMEDOUT: 'timed out',
};

/** errno names meaning "that object is already gone", for idempotent deletes. */
export const ABSENT_CODES: ReadonlySet<string> = new Set(['ENOENT', 'ESRCH', 'ENODEV', 'EADDRNOTAVAIL']);

/**
 * The errno name of a failed netlink request. The `netlink` package rejects with
 * `Error("Request rejected: EEXIST")` for kernel NACKs and with errno exceptions (a `code`
 * property) for socket failures.
 */
export function errnoOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  if ('code' in err && typeof err.code === 'string' && /^E[A-Z0-9]+$/.test(err.code)) return err.code;
  if (err instanceof Error) {
    const m = /Request rejected: (E[A-Z0-9]+|-?\d+)/.exec(err.message);
    if (m) return m[1];
    if (err.message === 'Timeout has been reached') return 'ETIMEDOUT';
  }
  return undefined;
}

/** `EEXIST (already exists)`, or the error's own message when it carries no errno. */
export function describeFailure(err: unknown): string {
  const code = errnoOf(err);
  if (code === undefined) return err instanceof Error ? err.message : String(err);
  const text = TEXT[code];
  return text === undefined ? code : `${code} (${text})`;
}

export function isAbsent(err: unknown): boolean {
  const code = errnoOf(err);
  return code !== undefined && ABSENT_CODES.has(code);
}
