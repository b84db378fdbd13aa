/**
 * EC2's idempotency tokens: a request repeated with the same `ClientToken` and the same
 * parameters answers with what the first one made instead of making it again; the same token
 * with other parameters is refused with `IdempotentParameterMismatch`. Only successful requests
 * keep their token, so a request EC2 refused may be repeated with it. EC2 keeps a token at least
 * 24 hours, per account and region; the emulator (one account, one region) keeps it for its life.
 * https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html
 */
import { Ec2ApiError } from './errors.js';

/** Parameters that do not make two requests different: the token itself and the API version. */
const NOT_COMPARED: ReadonlySet<string> = new Set(['ClientToken', 'Version']);

/** What a request asked for, comparable across requests: its parameters but the token, sorted. */
export function requestFingerprint(params: Iterable<readonly [string, string]>): string {
  const compared = [...params].filter(([name]) => !NOT_COMPARED.has(name));
  compared.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify(compared);
}

export function idempotentParameterMismatch(): Ec2ApiError {
  // EC2's message for this code (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html).
  return new Ec2ApiError(
    'IdempotentParameterMismatch',
    'The request uses the same client token as a previous, but non-identical request. Do not reuse a client token with different requests, unless the requests are identical.',
  );
}

interface Remembered<T> {
  readonly action: string;
  readonly fingerprint: string;
  readonly result: T;
}

/** The tokens of one account and region, with what each request made. */
export class ClientTokens<T> {
  readonly #byToken = new Map<string, Remembered<T>>();

  /**
   * Runs `make` unless `token` was used before: then answers the first result when the action and
   * fingerprint match, and throws IdempotentParameterMismatch when they do not. An undefined or
   * empty token always runs `make`. A `make` that throws leaves the token unused.
   */
  run(action: string, token: string | undefined, fingerprint: string, make: () => T): T {
    if (token === undefined || token === '') return make();
    const seen = this.#byToken.get(token);
    if (seen !== undefined) {
      if (seen.action !== action || seen.fingerprint !== fingerprint) throw idempotentParameterMismatch();
      return seen.result;
    }
    const result = make();
    this.#byToken.set(token, { action, fingerprint, result });
    return result;
  }

  get size(): number {
    return this.#byToken.size;
  }
}
