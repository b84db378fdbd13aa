/**
 * Command-line flags, read one way by every `nativeip` command and by the emulators: `--flag value`
 * and `--flag=value` alike, switches, other spellings of a flag, and flags that may repeat. Every
 * mistake is one line naming its flag; the caller turns it into its own usage error and prints its
 * usage once. Pure.
 */

/** What was wrong with the command line. */
export type FlagProblemCode = 'unknown' | 'missing-value' | 'unexpected-value' | 'repeated';

export interface FlagProblem {
  readonly code: FlagProblemCode;
  /** The flag as written (without `=value`); for an unknown argument, the argument itself. */
  readonly flag: string;
  /** One line naming the flag: `--out needs a value`, `unknown argument --bogus`. */
  readonly message: string;
}

export interface FlagSpec {
  /** Flags that take a value. */
  readonly values?: Iterable<string>;
  /** Flags that take no value. Giving one twice is the same as once. */
  readonly switches?: Iterable<string>;
  /** Value flags that may be given more than once; any other value flag may be given once. */
  readonly repeatable?: Iterable<string>;
  /** Other spellings: alias → the value flag or switch it stands for (`--cni-max-eni` → `--max-eni`). */
  readonly aliases?: Readonly<Record<string, string>>;
}

export interface ParsedFlags {
  /** The value of a flag (its first, for a repeatable one), or undefined when it was not given. */
  one(flag: string): string | undefined;
  /** Every value of a flag in order, or undefined when it was not given. */
  all(flag: string): readonly string[] | undefined;
  /** Whether a flag or switch was given. */
  has(flag: string): boolean;
}

/** The error {@link parseFlags} throws when the caller gives no error of its own. */
export class FlagError extends Error {
  override readonly name = 'FlagError';
  readonly code: FlagProblemCode;
  readonly flag: string;

  constructor(problem: FlagProblem) {
    super(problem.message);
    this.code = problem.code;
    this.flag = problem.flag;
  }
}

/** Makes the command's own error from a problem. */
export type FlagFailure = (problem: FlagProblem) => Error;

/**
 * Parses `argv` (the arguments after the command) against `spec`, left to right; throws
 * `fail(problem)` for the first mistake: an argument that is no flag of the spec (positional
 * arguments included), a value flag at the end or followed by another flag (`--flag=--x` passes a
 * value that starts with `--`), an empty value, `--switch=value`, or a non-repeatable value flag
 * given twice (under any of its spellings). Asking the result about a flag uses the same spellings.
 */
export function parseFlags(argv: readonly string[], spec: FlagSpec, fail: FlagFailure = (problem) => new FlagError(problem)): ParsedFlags {
  const valueFlags = new Set(spec.values);
  const switchFlags = new Set(spec.switches);
  const repeatable = new Set(spec.repeatable);
  const aliases = spec.aliases ?? {};
  const canonical = (flag: string): string => aliases[flag] ?? flag;
  const values = new Map<string, string[]>();
  /** The spelling each value flag was first given under, to name both when it repeats. */
  const writtenAs = new Map<string, string>();
  const switches = new Set<string>();
  const problem = (code: FlagProblemCode, flag: string, message: string) => fail({ code, flag, message });

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const inline = arg.startsWith('--') && eq > 2;
    const written = inline ? arg.slice(0, eq) : arg;
    const flag = canonical(written);
    if (switchFlags.has(flag)) {
      if (inline) throw problem('unexpected-value', written, `${written} takes no value`);
      switches.add(flag);
      continue;
    }
    if (!valueFlags.has(flag)) throw problem('unknown', arg, `unknown argument ${arg}`);
    const value = inline ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || value === '' || (!inline && value.startsWith('--'))) throw problem('missing-value', written, `${written} needs a value`);
    const earlier = values.get(flag);
    if (earlier !== undefined && !repeatable.has(flag)) {
      const first = writtenAs.get(flag)!;
      throw problem('repeated', written, first === written ? `${written} given more than once` : `${written} given more than once (${first} is the same flag)`);
    }
    if (earlier === undefined) writtenAs.set(flag, written);
    values.set(flag, [...(earlier ?? []), value]);
  }
  return {
    one: (flag) => values.get(canonical(flag))?.[0],
    all: (flag) => values.get(canonical(flag)),
    has: (flag) => switches.has(canonical(flag)) || values.has(canonical(flag)),
  };
}
