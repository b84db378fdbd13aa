/**
 * Waiting before serving while another IPAM agent of the cloud runs on the node (the cloud's
 * CloudPlugin.otherAgentOnNode: AWS's aws-node). Two would hand out the same addresses, so the
 * daemon neither reads the node nor serves pods until the other is gone; it says why at once and
 * again every minute. The health endpoint answers meanwhile (the process is alive, not ready).
 */
import type { Logger } from 'pino';
import { sleep as realSleep } from '../core/sleep.js';

export interface OtherAgentWaitOptions {
  /** What is seen of another agent, or undefined when none runs. A failure to look counts as none. */
  readonly look: () => Promise<string | undefined>;
  readonly logger: Pick<Logger, 'error' | 'info' | 'warn'>;
  /** Between two looks. */
  readonly intervalMs?: number;
  /** Between two log lines while it runs. */
  readonly repeatLogMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly clock?: () => number;
}

/** Resolves once no other agent is seen; returns how long it waited (ms). */
export async function waitWhileOtherAgentRuns(options: OtherAgentWaitOptions): Promise<number> {
  const { look, logger } = options;
  const intervalMs = options.intervalMs ?? 5_000;
  const repeatLogMs = options.repeatLogMs ?? 60_000;
  const sleep = options.sleep ?? realSleep;
  const clock = options.clock ?? Date.now;
  const started = clock();
  let loggedAt: number | undefined;
  for (;;) {
    let other: string | undefined;
    try {
      other = await look();
    } catch (error) {
      logger.warn({ err: error }, 'could not look for another IPAM agent on the node; going on');
    }
    if (other === undefined) {
      if (loggedAt !== undefined) logger.info({ waitedMs: clock() - started }, 'the other IPAM agent is gone: starting');
      return clock() - started;
    }
    if (loggedAt === undefined || clock() - loggedAt >= repeatLogMs) {
      logger.error({ other, waitingMs: clock() - started }, `another IPAM agent runs on this node: ${other}. nativeip waits until it is gone before serving (two would hand out the same addresses; README, Running on a cluster)`);
      loggedAt = clock();
    }
    await sleep(intervalMs);
  }
}
