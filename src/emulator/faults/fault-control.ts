/**
 * The HTTP control endpoint of a running emulator's fault plan, under a path neither EC2 (POST /)
 * nor ARM (/subscriptions/…) ever uses, answered to loopback clients only:
 *
 * - `GET    /_emulator/faults`        the plan (seed, rules with `seen`/`fired`) and the counters
 * - `PUT    /_emulator/faults`        replaces the plan (JSON plan body); draws restart from its seed
 * - `POST   /_emulator/faults`        appends the body's rules
 * - `DELETE /_emulator/faults`        drops every rule
 * - `GET    /_emulator/faults/fired`  the counters; `DELETE` resets them
 *
 * Bad bodies answer 400 `{"error": "rules[0].rate: …"}`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody } from '../shared/http-util.js';
import type { FaultKind, FaultPlan } from './fault-plan.js';
import { decodeFaultPlan, FaultSpecError } from './fault-spec.js';

export const FAULT_CONTROL_PATH = '/_emulator/faults';

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/** Whether the request is for the control endpoint (then {@link serveFaultControl} answers it). */
export function isFaultControl(req: IncomingMessage): boolean {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  return path === FAULT_CONTROL_PATH || path.startsWith(`${FAULT_CONTROL_PATH}/`);
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function jsonBody(req: IncomingMessage): Promise<unknown> {
  const text = await readBody(req);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new FaultSpecError('', `the body is not valid JSON (${(error as Error).message})`);
  }
}

/** Answers one control request against `plan`; `kinds` are the kinds this emulator knows. */
export async function serveFaultControl(req: IncomingMessage, res: ServerResponse, plan: FaultPlan, kinds: readonly FaultKind[]): Promise<void> {
  if (!LOOPBACK.has(req.socket.remoteAddress ?? '')) {
    reply(res, 403, { error: 'the fault control endpoint answers loopback clients only' });
    return;
  }
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  const method = req.method ?? 'GET';
  try {
    if (path === `${FAULT_CONTROL_PATH}/fired`) {
      if (method === 'DELETE') plan.resetFired();
      else if (method !== 'GET') return reply(res, 405, { error: `${method} is not supported on ${path}; use GET or DELETE` });
      return reply(res, 200, plan.fired());
    }
    if (path !== FAULT_CONTROL_PATH) return reply(res, 404, { error: `no control resource ${path}` });
    switch (method) {
      case 'GET':
        break;
      case 'PUT':
        plan.replace(decodeFaultPlan(await jsonBody(req), kinds));
        break;
      case 'POST':
        plan.add(decodeFaultPlan(await jsonBody(req), kinds).rules);
        break;
      case 'DELETE':
        plan.clear();
        break;
      default:
        return reply(res, 405, { error: `${method} is not supported on ${path}; use GET, PUT, POST or DELETE` });
    }
    reply(res, 200, plan.status());
  } catch (error) {
    if (!(error instanceof FaultSpecError)) throw error;
    reply(res, 400, { error: error.message, field: error.field });
  }
}
