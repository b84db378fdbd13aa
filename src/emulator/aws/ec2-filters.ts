import { invalidParameterValue } from './errors.js';
import type { Ec2Filter } from './query-params.js';

/** For each supported filter name, the values a resource has for it. */
export type FilterFields<T> = Record<string, (item: T) => readonly string[]>;

function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) source += escapeRegExp(pattern[++i]!);
    else if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else source += escapeRegExp(c);
  }
  return new RegExp(`^${source}$`, 's');
}

function escapeRegExp(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Keeps items matching every filter (AND); within one filter any value may match (OR). Values
 * take EC2's `*` and `?` wildcards. `tag:KEY`, `tag-key` and `tag-value` work on `tagsOf`.
 * An unknown filter name is an error, as on EC2.
 */
export function applyFilters<T>(
  items: readonly T[],
  filters: readonly Ec2Filter[],
  fields: FilterFields<T>,
  tagsOf: (item: T) => ReadonlyMap<string, string>,
): T[] {
  const tests = filters.map((filter) => {
    const patterns = filter.values.map(globToRegExp);
    const valuesOf = fieldFor(filter.name, fields, tagsOf);
    return (item: T): boolean => valuesOf(item).some((v) => patterns.some((p) => p.test(v)));
  });
  return items.filter((item) => tests.every((test) => test(item)));
}

function fieldFor<T>(
  name: string,
  fields: FilterFields<T>,
  tagsOf: (item: T) => ReadonlyMap<string, string>,
): (item: T) => readonly string[] {
  if (name.startsWith('tag:')) {
    const key = name.slice(4);
    return (item) => {
      const value = tagsOf(item).get(key);
      return value === undefined ? [] : [value];
    };
  }
  if (name === 'tag-key') return (item) => [...tagsOf(item).keys()];
  if (name === 'tag-value') return (item) => [...tagsOf(item).values()];
  const field = Object.hasOwn(fields, name) ? fields[name] : undefined;
  if (field === undefined) throw invalidParameterValue(`The filter '${name}' is invalid`);
  return field;
}
