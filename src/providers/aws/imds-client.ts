/**
 * IMDSv2 client: a session token from `PUT /latest/api/token`, reused until shortly before it
 * expires and re-fetched when IMDS answers 401; each GET carries `X-aws-ec2-metadata-token`.
 * Uses global fetch with a per-request timeout and a few retries for transient failures.
 */
import { sleep as defaultSleep } from '../../core/sleep.js';
import { ImdsError } from './error-mapping.js';
import type { ImdsApi } from './imds-api.js';

export const DEFAULT_IMDS_ENDPOINT = 'http://169.254.169.254';

const TOKEN_PATH = '/latest/api/token';
const TOKEN_TTL_SECONDS = 21_600;
/** Fetch a new token this long before the old one expires, so a request never races expiry. */
const TOKEN_REFRESH_MARGIN_MS = 60_000;

export interface ImdsClientOptions {
  /** Base URL; defaults to {@link DEFAULT_IMDS_ENDPOINT}. */
  readonly endpoint?: string;
  /** Per-request timeout. Default 2000 ms. */
  readonly timeoutMs?: number;
  /** Attempts per request for network errors, 429 and 5xx. Default 3. */
  readonly attempts?: number;
  /** Delay before the first retry, doubled for each further one. Default 100 ms. */
  readonly retryDelayMs?: number;
  /** Injectable clock and sleep, for tests. */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

interface Token {
  readonly value: string;
  readonly expiresAt: number;
}


function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

export class ImdsClient implements ImdsApi {
  readonly endpoint: string;
  private readonly timeoutMs: number;
  private readonly attempts: number;
  private readonly retryDelayMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private token: Token | undefined;
  private pendingToken: Promise<Token> | undefined;

  constructor(options: ImdsClientOptions = {}) {
    this.endpoint = (options.endpoint ?? DEFAULT_IMDS_ENDPOINT).replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.attempts = Math.max(1, options.attempts ?? 3);
    this.retryDelayMs = options.retryDelayMs ?? 100;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? defaultSleep;
  }

  /**
   * GETs a metadata path (e.g. `/latest/meta-data/instance-id`) and returns the body trimmed.
   * Throws {@link ImdsError} naming the path and status when IMDS does not answer 200.
   */
  async get(path: string): Promise<string> {
    const token = await this.currentToken();
    let response = await this.request('GET', path, { 'X-aws-ec2-metadata-token': token.value });
    if (response.status === 401) {
      this.token = undefined;
      const fresh = await this.currentToken();
      response = await this.request('GET', path, { 'X-aws-ec2-metadata-token': fresh.value });
    }
    if (response.status !== 200) throw new ImdsError(path, response.status, response.body.trim());
    return response.body.trim();
  }

  /** GETs a path whose body is a newline-separated list; empty lines are dropped. */
  async getLines(path: string): Promise<string[]> {
    const body = await this.get(path);
    return body
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '');
  }

  private currentToken(): Promise<Token> {
    const token = this.token;
    if (token !== undefined && this.now() < token.expiresAt - TOKEN_REFRESH_MARGIN_MS) {
      return Promise.resolve(token);
    }
    if (this.pendingToken === undefined) {
      this.pendingToken = this.fetchToken().finally(() => {
        this.pendingToken = undefined;
      });
    }
    return this.pendingToken;
  }

  private async fetchToken(): Promise<Token> {
    const issuedAt = this.now();
    const response = await this.request('PUT', TOKEN_PATH, {
      'X-aws-ec2-metadata-token-ttl-seconds': String(TOKEN_TTL_SECONDS),
    });
    const value = response.body.trim();
    if (response.status !== 200) throw new ImdsError(TOKEN_PATH, response.status, value);
    if (value === '') throw new ImdsError(TOKEN_PATH, response.status, 'empty token');
    const token = { value, expiresAt: issuedAt + TOKEN_TTL_SECONDS * 1000 };
    this.token = token;
    return token;
  }

  private async request(
    method: 'GET' | 'PUT',
    path: string,
    headers: Record<string, string>,
  ): Promise<{ status: number; body: string }> {
    const url = `${this.endpoint}${path.startsWith('/') ? path : `/${path}`}`;
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.attempts; attempt += 1) {
      if (attempt > 1) await this.sleep(this.retryDelayMs * 2 ** (attempt - 2));
      try {
        const response = await fetch(url, {
          method,
          headers,
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        const body = await response.text();
        if (isRetryableStatus(response.status) && attempt < this.attempts) {
          lastError = new ImdsError(path, response.status, body.trim());
          continue;
        }
        return { status: response.status, body };
      } catch (error) {
        lastError = error;
      }
    }
    if (lastError instanceof ImdsError) throw lastError;
    const detail = lastError instanceof Error ? lastError.message : String(lastError);
    throw new ImdsError(path, undefined, `no answer after ${this.attempts} attempts (${detail})`, lastError);
  }
}
