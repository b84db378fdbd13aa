/**
 * What `nativeip emulator aws` and `nativeip emulator azure` share: `--flag value` / `--flag=value`
 * parsing where every mistake names its flag, and running an emulator until SIGINT/SIGTERM.
 */
import { once } from 'node:events';

/** Makes the cloud's own CLI error from a message. */
export type CliErrorFactory = (message: string) => Error;

export interface FlagSpec {
  /** Flags that take a value. */
  readonly values: ReadonlySet<string>;
  /** Flags that take no value. */
  readonly switches: ReadonlySet<string>;
  /** Value flags that may be given more than once. */
  readonly repeatable: ReadonlySet<string>;
  /** The usage line quoted when an argument is unknown. */
  readonly usage: string;
}

export interface ParsedFlags {
  /** The value of a flag given at most once (throws when given more often), or undefined. */
  one(flag: string): string | undefined;
  /** Every value of a repeatable flag in order, or undefined when it was not given. */
  all(flag: string): readonly string[] | undefined;
  /** Whether a flag or switch was given. */
  has(flag: string): boolean;
}

/** Parses `--flag value` and `--flag=value`; every mistake names its flag. */
export function parseFlags(argv: readonly string[], spec: FlagSpec, fail: CliErrorFactory): ParsedFlags {
  const values = new Map<string, string[]>();
  const switches = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    if (spec.switches.has(flag)) {
      if (flag !== arg) throw fail(`${flag} takes no value`);
      switches.add(flag);
      continue;
    }
    if (!spec.values.has(flag)) throw fail(`unknown argument '${arg}'; usage: ${spec.usage}`);
    const value = flag !== arg ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || (flag === arg && value.startsWith('--'))) throw fail(`${flag} needs a value`);
    values.set(flag, [...(values.get(flag) ?? []), value]);
  }
  return {
    one(flag) {
      const list = values.get(flag);
      if (list !== undefined && list.length > 1 && !spec.repeatable.has(flag)) throw fail(`${flag} given more than once`);
      return list?.[0];
    },
    all: (flag) => values.get(flag),
    has: (flag) => switches.has(flag) || values.has(flag),
  };
}

/** A whole number from `min` to `max`, or an error naming the flag. */
export function wholeNumber(flag: string, text: string, min: number, max: number, fail: CliErrorFactory): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw fail(`${flag}: '${text}' is not a whole number from ${min} to ${max}`);
  }
  return Number(text);
}

/** `--listen HOST:PORT` (`[v6]:PORT` too); `example` is quoted when the text is not of that form. */
export function parseListen(text: string, example: string, fail: CliErrorFactory): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text);
  if (match === null) throw fail(`--listen: '${text}' is not HOST:PORT (e.g. ${example})`);
  return { host: match[1] ?? match[2] ?? '', port: wholeNumber('--listen', match[3] ?? '', 0, 65535, fail) };
}

export interface EmulatorCliDeps {
  /** Where the JSON line goes; default stdout. */
  readonly write?: (line: string) => void;
  /** Resolves when the emulator should stop; default the first SIGINT or SIGTERM. */
  readonly until?: Promise<unknown>;
}

function untilSignal(): Promise<unknown> {
  const controller = new AbortController();
  return Promise.race([
    once(process, 'SIGINT', { signal: controller.signal }),
    once(process, 'SIGTERM', { signal: controller.signal }),
  ]).finally(() => controller.abort());
}

/**
 * Sets the emulator up with `announce` (which returns what to print), prints that as one JSON
 * line, waits until told to stop, and closes the emulator whatever happened.
 */
export async function runUntilStopped(emulator: { close(): Promise<void> }, deps: EmulatorCliDeps, announce: () => Promise<unknown>): Promise<void> {
  const until = deps.until ?? untilSignal();
  try {
    const line = JSON.stringify(await announce());
    (deps.write ?? ((l: string) => process.stdout.write(`${l}\n`)))(line);
    await until;
  } finally {
    await emulator.close();
  }
}
