import { Ec2ApiError, invalidParameterValue } from './errors.js';
import type { Ec2Tag } from './query-params.js';

/** Why 50: the published per-resource tag limit. */
const MAX_TAGS = 50;

export function applyTags(target: Map<string, string>, tags: readonly Ec2Tag[]): void {
  for (const tag of tags) {
    if (tag.key.toLowerCase().startsWith('aws:')) {
      throw invalidParameterValue(`Tag keys starting with 'aws:' are reserved for internal use`);
    }
  }
  const keys = new Set([...target.keys(), ...tags.map((t) => t.key)]);
  if (keys.size > MAX_TAGS) throw new Ec2ApiError('TagLimitExceeded', 'The maximum number of Tags for a resource has been reached.');
  for (const tag of tags) target.set(tag.key, tag.value ?? '');
}

/** DeleteTags semantics: no tags removes all; a key alone removes any value; key+value must match. */
export function removeTags(target: Map<string, string>, tags: readonly Ec2Tag[]): void {
  if (tags.length === 0) target.clear();
  for (const tag of tags) {
    if (tag.value === undefined || target.get(tag.key) === tag.value) target.delete(tag.key);
  }
}
