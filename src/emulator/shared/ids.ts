import { seededRandom } from '../../core/seeded-random.js';

/** Source of random-looking resource ids and MAC addresses; deterministic for a given seed. */
export interface IdSource {
  /** `count` lower-case hex digits. */
  hex(count: number): string;
}

/** Ids that only need to look random and not collide, from a seeded generator. */
export function seededIdSource(seed: number): IdSource {
  const next = seededRandom(seed);
  return {
    hex(count: number): string {
      let out = '';
      for (let i = 0; i < count; i++) out += Math.floor(next() * 16).toString(16);
      return out;
    },
  };
}

/** A locally administered unicast MAC: first octet 0x02. */
export function macFrom(ids: IdSource): string {
  const hex = ids.hex(10);
  return ['02', hex.slice(0, 2), hex.slice(2, 4), hex.slice(4, 6), hex.slice(6, 8), hex.slice(8, 10)].join(':');
}
