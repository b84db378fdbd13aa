import { describe, expect, it } from 'vitest';
import { FlagError, parseFlags, type FlagProblem, type FlagSpec } from '../../src/core/cli-flags.js';

const SPEC: FlagSpec = {
  values: ['--out', '--max-eni', '--subnet'],
  switches: ['--json', '--prefix-delegation'],
  repeatable: ['--subnet'],
  aliases: { '--cni-max-eni': '--max-eni', '--cni-prefix-delegation-enabled': '--prefix-delegation' },
};

describe('parseFlags', () => {
  it.each<[string, string[], Record<string, string | undefined>]>([
    ['--flag value', ['--out', 'a.tgz'], { '--out': 'a.tgz' }],
    ['--flag=value', ['--out=a.tgz'], { '--out': 'a.tgz' }],
    ['a value with = in it', ['--out=a=b', '--max-eni', 'x=y'], { '--out': 'a=b', '--max-eni': 'x=y' }],
    ['a value that starts with -- after =', ['--out=--x'], { '--out': '--x' }],
    ['a value that starts with one dash', ['--max-eni', '-1'], { '--max-eni': '-1' }],
    ['an alias, asked under either name', ['--cni-max-eni', '2'], { '--max-eni': '2', '--cni-max-eni': '2' }],
    ['nothing given', [], { '--out': undefined }],
  ])('reads %s', (_name, argv, expected) => {
    const flags = parseFlags(argv, SPEC);
    for (const [flag, value] of Object.entries(expected)) {
      expect(flags.one(flag)).toBe(value);
      expect(flags.has(flag)).toBe(value !== undefined);
    }
  });

  it('reads switches, under any spelling, any number of times', () => {
    expect(parseFlags([], SPEC).has('--json')).toBe(false);
    expect(parseFlags(['--json'], SPEC).has('--json')).toBe(true);
    expect(parseFlags(['--json', '--json'], SPEC).has('--json')).toBe(true);
    const flags = parseFlags(['--cni-prefix-delegation-enabled', '--prefix-delegation'], SPEC);
    expect(flags.has('--prefix-delegation')).toBe(true);
    expect(flags.one('--prefix-delegation')).toBeUndefined();
  });

  it('keeps a repeatable flag in order, in both forms', () => {
    const flags = parseFlags(['--subnet', 'a', '--json', '--subnet=b'], SPEC);
    expect(flags.all('--subnet')).toEqual(['a', 'b']);
    expect(flags.one('--subnet')).toBe('a');
    expect(flags.all('--out')).toBeUndefined();
  });

  it.each<[string[], FlagProblem]>([
    [['--bogus'], { code: 'unknown', flag: '--bogus', message: 'unknown argument --bogus' }],
    [['--bogus=1'], { code: 'unknown', flag: '--bogus=1', message: 'unknown argument --bogus=1' }],
    [['extra'], { code: 'unknown', flag: 'extra', message: 'unknown argument extra' }],
    [['--out', 'a', 'extra'], { code: 'unknown', flag: 'extra', message: 'unknown argument extra' }],
    [['-j'], { code: 'unknown', flag: '-j', message: 'unknown argument -j' }],
    [['--out'], { code: 'missing-value', flag: '--out', message: '--out needs a value' }],
    [['--out', '--json'], { code: 'missing-value', flag: '--out', message: '--out needs a value' }],
    [['--out='], { code: 'missing-value', flag: '--out', message: '--out needs a value' }],
    [['--out', ''], { code: 'missing-value', flag: '--out', message: '--out needs a value' }],
    [['--cni-max-eni'], { code: 'missing-value', flag: '--cni-max-eni', message: '--cni-max-eni needs a value' }],
    [['--json=true'], { code: 'unexpected-value', flag: '--json', message: '--json takes no value' }],
    [['--out', 'a', '--out=b'], { code: 'repeated', flag: '--out', message: '--out given more than once' }],
    [['--max-eni', '1', '--cni-max-eni', '2'], { code: 'repeated', flag: '--cni-max-eni', message: '--cni-max-eni given more than once (--max-eni is the same flag)' }],
  ])('%j: one error naming the flag', (argv, problem) => {
    let thrown: unknown;
    try {
      parseFlags(argv, SPEC);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(FlagError);
    expect({ code: (thrown as FlagError).code, flag: (thrown as FlagError).flag, message: (thrown as FlagError).message }).toEqual(problem);
  });

  it('throws the caller’s own error, made from the problem', () => {
    class UsageError extends Error {}
    const problems: FlagProblem[] = [];
    const parse = () => parseFlags(['--out'], SPEC, (p) => (problems.push(p), new UsageError(`cmd: ${p.message}`)));
    expect(parse).toThrow(UsageError);
    expect(parse).toThrow('cmd: --out needs a value');
    expect(problems[0]).toEqual({ code: 'missing-value', flag: '--out', message: '--out needs a value' });
  });
});
