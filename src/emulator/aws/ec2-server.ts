import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { ACTIONS } from './ec2-actions.js';
import { CallCounters } from './call-counters.js';
import type { Ec2State } from './ec2-state.js';
import { Ec2ApiError, missingParameter } from './errors.js';
import { closeServer, listen, readBody, urlHost } from '../shared/http-util.js';
import { QueryParams } from './query-params.js';
import { throttleClassOf, type Throttler } from './ec2-throttling.js';
import { ec2ErrorResponse, ec2Response } from './xml.js';
import { decideEc2Fault, ec2FaultError, EC2_FAULT_KINDS, eniIdsNamed } from './ec2-faults.js';
import { isFaultControl, serveFaultControl } from '../faults/fault-control.js';
import { deliver, hold, holdsBeforeApply } from '../faults/fault-delivery.js';
import type { FaultPlan, FaultRule } from '../faults/fault-plan.js';

export interface Ec2ServerOptions {
  readonly state: Ec2State;
  /** Present when throttling is on. */
  readonly throttler: Throttler | undefined;
  readonly latencyMs: Readonly<Partial<Record<string, number>>>;
  /** The injected faults (see ec2-faults.ts for their EC2 shape). */
  readonly faults: FaultPlan;
  /** Time source for NotFound-after-create windows. */
  readonly clock: () => number;
}

/**
 * The EC2 Query API over HTTP: POST form bodies (or GET query strings) with `Action` and
 * `Version`, XML responses. Signatures are accepted without verification. Injected faults come
 * from the fault plan, whose control endpoint (`/_emulator/faults`) this server also answers.
 */
export class Ec2Server {
  readonly counters = new CallCounters();
  private readonly options: Ec2ServerOptions;
  private readonly server: Server;
  private baseUrl = '';

  constructor(options: Ec2ServerOptions) {
    this.options = options;
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) this.send(res, 500, ec2ErrorResponse('InternalError', describe(err), randomUUID()), '');
      });
    });
  }

  get url(): string {
    return this.baseUrl;
  }

  async start(host: string, port: number): Promise<void> {
    const bound = await listen(this.server, host, port);
    this.baseUrl = `http://${urlHost(host)}:${bound}`;
  }

  close(): Promise<void> {
    return closeServer(this.server);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (isFaultControl(req)) return serveFaultControl(req, res, this.options.faults, EC2_FAULT_KINDS);
    const requestId = randomUUID();
    let action = '(none)';
    let rule: FaultRule | undefined;
    let status = 200;
    let xml: string;
    try {
      const query = new URL(req.url ?? '/', 'http://localhost').search.slice(1);
      const body = req.method === 'POST' ? await readBody(req) : '';
      const params = QueryParams.fromForm(body.length > 0 ? body : query);
      action = params.string('Action') ?? action;
      this.counters.bump(this.counters.calls, action);
      if (action === '(none)') throw missingParameter('Action');
      const handler = Object.hasOwn(ACTIONS, action) ? ACTIONS[action] : undefined;
      if (handler === undefined) throw new Ec2ApiError('InvalidAction', `The action ${action} is not valid for this web service.`);
      const fault = decideEc2Fault(this.options.faults, this.options.state, this.options.clock, action, eniIdsNamed(params));
      rule = fault.rule;
      if (holdsBeforeApply(rule) && !(await hold(res, rule.delayMs))) return;
      const injected = rule === undefined ? undefined : ec2FaultError(rule, fault.youngNamed);
      if (injected !== undefined) throw injected;
      if (this.options.throttler !== undefined && !this.options.throttler.admit(throttleClassOf(action, params))) {
        this.counters.bump(this.counters.throttled, action);
        throw new Ec2ApiError('RequestLimitExceeded', 'Request limit exceeded.', 503);
      }
      const latency = this.options.latencyMs[action] ?? 0;
      if (latency > 0) await sleep(latency);
      if (params.bool('DryRun') === true) {
        throw new Ec2ApiError('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412);
      }
      xml = ec2Response(action, requestId, handler(this.options.state, params, fault.hidden === undefined ? {} : { hiddenEnis: fault.hidden }));
    } catch (err) {
      status = err instanceof Ec2ApiError ? err.httpStatus : 500;
      xml = err instanceof Ec2ApiError ? ec2ErrorResponse(err.code, err.message, requestId) : ec2ErrorResponse('InternalError', describe(err), requestId);
    }
    await deliver(rule, res, () => this.send(res, status, xml, requestId));
  }

  private send(res: ServerResponse, status: number, xml: string, requestId: string): void {
    res.writeHead(status, {
      'content-type': 'text/xml;charset=UTF-8',
      'content-length': Buffer.byteLength(xml),
      'x-amzn-requestid': requestId,
      server: 'AmazonEC2',
    });
    res.end(xml);
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
