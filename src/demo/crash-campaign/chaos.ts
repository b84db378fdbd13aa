/**
 * The crash campaign's choices, all from one seed so a failing run can be replayed: what a round
 * does, and how a checkpoint is damaged while its daemon is down. Pure.
 */
import { signCheckpoint } from '../../ipamd/checkpoint/checkpoint-checksum.js';

export { seededRandom } from '../../core/seeded-random.js';

export const CHECKPOINT_DAMAGE = ['deleted', 'truncated', 'garbled', 'doubled'] as const;
export type CheckpointDamage = (typeof CHECKPOINT_DAMAGE)[number];

/**
 * The checkpoint text after `damage`; undefined means the file is deleted. `truncated` and
 * `garbled` are damage on disk (the file's checksum no longer matches). `doubled` is a sound file
 * that says something wrong (a bug, an edit; re-signed when the file was signed): it gives one
 * allocation's address to another allocation too (the same address twice), or, with fewer than
 * two allocations, repeats the whole text (two records back to back: not one JSON value).
 */
export function damageCheckpoint(text: string, damage: CheckpointDamage, random: () => number): string | undefined {
  switch (damage) {
    case 'deleted':
      return undefined;
    case 'truncated':
      return text.slice(0, Math.floor(random() * Math.max(1, text.length - 1)));
    case 'garbled': {
      const bytes = [...text];
      const flips = 1 + Math.floor(random() * 8);
      for (let i = 0; i < flips && bytes.length > 0; i += 1) bytes[Math.floor(random() * bytes.length)] = String.fromCharCode(Math.floor(random() * 256));
      return bytes.join('');
    }
    case 'doubled': {
      const data = JSON.parse(text) as { allocations?: { address: string }[]; checksum?: unknown };
      const allocations = data.allocations ?? [];
      if (allocations.length < 2) return `${text}${text}`;
      const from = Math.floor(random() * allocations.length);
      const to = (from + 1 + Math.floor(random() * (allocations.length - 1))) % allocations.length;
      allocations[to]!.address = allocations[from]!.address;
      return data.checksum === undefined ? JSON.stringify(data) : signCheckpoint(data);
    }
  }
}

/** What one round of the campaign does besides its ADD/DEL storm. */
export interface RoundPlan {
  /** kill -9 the daemon this many ms into the storm; undefined: no kill. */
  readonly killAtMs: number | undefined;
  /** After a kill, wait this long before starting the successor (DELs and ADDs keep retrying). */
  readonly restartAfterMs: number;
  /** Damage done to the checkpoint while the daemon is down. */
  readonly damage: CheckpointDamage | undefined;
  /**
   * Start a second daemon beside the running one: `refused` (no wait: it must exit naming the
   * first) or `takeover` (it waits; the first is then killed and the second must serve).
   */
  readonly secondDaemon: 'refused' | 'takeover' | undefined;
  /** Storm size: how many pods change (ADD an empty slot, DEL a live one). */
  readonly changes: number;
}

export interface RoundOdds {
  readonly kill: number;
  readonly damage: number;
  readonly secondDaemon: number;
  readonly maxChanges: number;
}

export const DEFAULT_ODDS: RoundOdds = { kill: 0.7, damage: 0.35, secondDaemon: 0.15, maxChanges: 8 };

/**
 * The next round. Damage kinds and second-daemon modes take turns (`turn` counts the rounds that
 * had one), so even a short campaign meets each of them.
 */
export function planRound(random: () => number, odds: RoundOdds = DEFAULT_ODDS, turn: { damage: number; second: number } = { damage: 0, second: 0 }): RoundPlan {
  const kill = random() < odds.kill;
  const second = random() < odds.secondDaemon ? (['refused', 'takeover'] as const)[turn.second++ % 2] : undefined;
  const damage = kill && random() < odds.damage ? CHECKPOINT_DAMAGE[turn.damage++ % CHECKPOINT_DAMAGE.length] : undefined;
  return {
    killAtMs: kill ? Math.floor(random() * 400) : undefined,
    restartAfterMs: Math.floor(random() * 600),
    damage,
    secondDaemon: second,
    changes: 1 + Math.floor(random() * odds.maxChanges),
  };
}
