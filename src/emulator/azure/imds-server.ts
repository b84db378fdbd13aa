/**
 * Azure IMDS for one emulated VM, on plain http like the real one: the instance document
 * (`/metadata/instance`) and its network part alone (`/metadata/instance/network`) from the
 * committed ARM state, and the managed-identity token endpoint (`/metadata/identity/oauth2/token`)
 * that `@azure/identity` calls. All demand `Metadata: true`. The network part trails ARM by
 * `propagationMs` (see {@link record}); the compute part does not change.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { closeServer, listen, urlHost } from '../shared/http-util.js';
import { imdsInstanceJson, imdsNetworkJson } from './arm-render.js';
import type { AzureState } from './arm-state.js';
import { LaggedView } from './imds-lag.js';

const TOKEN_LIFETIME_SEC = 86_399;

export class AzureImdsServer {
  readonly #state: AzureState;
  readonly #vmId: string;
  readonly #server: Server;
  readonly #count: (operation: string) => void;
  readonly #clock: () => number;
  readonly #network: LaggedView<Record<string, unknown>>;
  #url = '';

  constructor(options: { state: AzureState; vmId: string; count: (operation: string) => void; clock: () => number; propagationMs: number }) {
    this.#state = options.state;
    this.#vmId = options.vmId;
    this.#count = options.count;
    this.#clock = options.clock;
    this.#network = new LaggedView(options.propagationMs);
    this.#server = createServer((req, res) => this.#handle(req, res));
    this.record();
  }

  /**
   * Takes note of the VM's committed network now; call after every committed change. IMDS shows
   * it once `propagationMs` have passed (the VM as created: at once).
   */
  record(): void {
    const vm = this.#state.vm(this.#vmId);
    if (vm === undefined) return;
    const network = imdsNetworkJson(this.#state, vm);
    this.#network.record(this.#clock(), network, JSON.stringify(network));
  }

  get url(): string {
    return this.#url;
  }

  async start(host: string): Promise<void> {
    this.#url = `http://${urlHost(host)}:${await listen(this.#server, host, 0)}`;
  }

  close(): Promise<void> {
    return closeServer(this.#server);
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    const url = new URL(req.url ?? '/', 'http://imds');
    // MSAL asks for the token path with a trailing slash.
    const path = url.pathname.replace(/\/+$/, '');
    if (req.headers['metadata'] !== 'true') {
      return send(res, 400, { error: 'Bad request. Required metadata header not specified' });
    }
    if (req.method !== 'GET') return send(res, 405, { error: 'Method not allowed' });
    if (url.searchParams.get('api-version') === null) {
      return send(res, 400, { error: 'Bad request. api-version was not specified in the request' });
    }
    this.#state.settle();
    const vm = this.#state.vm(this.#vmId);
    if (vm === undefined) return send(res, 404, { error: 'Not found' });
    const network = this.#network.viewAt(this.#clock()) ?? imdsNetworkJson(this.#state, vm);
    if (path === '/metadata/instance') {
      this.#count('ImdsInstance');
      return send(res, 200, imdsInstanceJson(this.#state, vm, network));
    }
    if (path === '/metadata/instance/network') {
      this.#count('ImdsNetwork');
      return send(res, 200, network);
    }
    if (path === '/metadata/identity/oauth2/token') {
      this.#count('ImdsToken');
      const resource = url.searchParams.get('resource');
      if (resource === null || resource === '') return send(res, 400, { error: 'invalid_request', error_description: 'Required query variable resource is missing' });
      const token = `emulated.${randomBytes(24).toString('hex')}`;
      this.#state.tokens.add(token);
      const now = Math.floor(this.#clock() / 1000);
      return send(res, 200, {
        access_token: token,
        client_id: vm.vmId,
        expires_in: String(TOKEN_LIFETIME_SEC),
        expires_on: String(now + TOKEN_LIFETIME_SEC),
        ext_expires_in: String(TOKEN_LIFETIME_SEC),
        not_before: String(now),
        resource,
        token_type: 'Bearer',
      });
    }
    return send(res, 404, { error: 'Not found' });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
