/**
 * How a fired fault reaches the wire, for both emulators' node:http servers: holding a request,
 * losing a reply, answering late. Every wait ends when the client goes away, and closing the
 * server destroys its connections, so a held request never keeps the emulator from closing.
 */
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FaultRule } from './fault-plan.js';

/**
 * Waits `ms` (undefined: until the client goes away). Resolves true when the time passed with the
 * client still connected, false when the client (or the closing server) ended the connection.
 */
export async function hold(res: ServerResponse, ms: number | undefined): Promise<boolean> {
  if (res.destroyed || res.socket === null) return false;
  const gone = new AbortController();
  const onClose = () => gone.abort();
  res.once('close', onClose);
  try {
    if (ms === undefined) {
      await new Promise<void>((resolve) => gone.signal.addEventListener('abort', () => resolve(), { once: true }));
      return false;
    }
    await sleep(ms, undefined, { signal: gone.signal });
    return !res.destroyed;
  } catch {
    return false;
  } finally {
    res.off('close', onClose);
  }
}

/** Whether the rule holds the request before the action runs (a timeout that is not applied). */
export function holdsBeforeApply(rule: FaultRule | undefined): rule is FaultRule & { kind: 'timeout' } {
  return rule?.kind === 'timeout' && !rule.applied;
}

/**
 * Sends the reply the action produced as the rule says: `replyLost` destroys the connection
 * instead, `latency` and an applied `timeout` wait first (a timeout without `delayMs` never
 * sends); anything else sends at once.
 */
export async function deliver(rule: FaultRule | undefined, res: ServerResponse, send: () => void): Promise<void> {
  switch (rule?.kind) {
    case 'replyLost':
      res.destroy();
      return;
    case 'latency':
      if (await hold(res, rule.delayMs)) send();
      return;
    case 'timeout':
      if (!rule.applied || (await hold(res, rule.delayMs))) send();
      return;
    default:
      send();
  }
}
