/**
 * libc calls Node does not offer (setns, flock), through koffi, each loaded on first use; and the
 * name of the errno a failed call left.
 */
import koffi from 'koffi';

type IntCall = (...args: number[]) => number;
let libc: ReturnType<typeof koffi.load> | undefined;

/** A libc function of int arguments returning int, from its C prototype (e.g. `int flock(int fd, int operation)`). */
export function libcIntFunction(prototype: string): IntCall {
  let fn: ((...args: number[]) => unknown) | undefined;
  return (...args) => {
    if (fn === undefined) {
      libc ??= koffi.load('libc.so.6');
      const loaded: unknown = libc.func(prototype);
      if (typeof loaded !== 'function') throw new Error(`koffi did not return a function for libc ${prototype}`);
      fn = loaded as (...a: number[]) => unknown;
    }
    const rc = fn(...args);
    return typeof rc === 'number' ? rc : -1;
  };
}

/** The errno the last failed libc call left, as a number. */
export function lastErrno(): number {
  return koffi.errno();
}

/** The name of errno `n` (`EAGAIN`), or `errno <n>` when it has none. */
export function errnoName(n: number): string {
  for (const [name, value] of Object.entries(koffi.os.errno)) if (value === n) return name;
  return `errno ${n}`;
}
