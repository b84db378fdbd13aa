/** Small helpers for decoding `unknown` JSON into typed shapes with errors that name the field. */

export type DecodeErrorCode = 'InvalidRequest' | 'InvalidResponse';

/** A decoded message did not have the expected shape; `field` is the dotted path of the culprit. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  readonly code: DecodeErrorCode;
  readonly field: string;
  /** Lets `toRpcError` reply with the matching RPC error code. */
  readonly rpcCode: 'InvalidRequest' | 'BadFrame';
  readonly retryable = false;

  constructor(code: DecodeErrorCode, field: string, problem: string) {
    super(field === '' ? problem : `${field}: ${problem}`);
    this.code = code;
    this.field = field;
    this.rpcCode = code === 'InvalidRequest' ? 'InvalidRequest' : 'BadFrame';
  }
}

export type JsonObject = Readonly<Record<string, unknown>>;

export function fieldPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

/** Decoding helpers bound to one error code, so request and response decoders share them. */
export class Reader {
  constructor(readonly code: DecodeErrorCode) {}

  fail(field: string, problem: string): never {
    throw new DecodeError(this.code, field, problem);
  }

  object(value: unknown, field: string): JsonObject {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.fail(field, `expected an object, got ${describe(value)}`);
    }
    return value as JsonObject;
  }

  array(value: unknown, field: string): readonly unknown[] {
    if (!Array.isArray(value)) this.fail(field, `expected an array, got ${describe(value)}`);
    return value;
  }

  string(value: unknown, field: string, check?: (s: string) => string | undefined): string {
    if (typeof value !== 'string') this.fail(field, `expected a string, got ${describe(value)}`);
    const problem = check?.(value);
    if (problem !== undefined) this.fail(field, problem);
    return value;
  }

  nonEmptyString(value: unknown, field: string, check?: (s: string) => string | undefined): string {
    if (typeof value !== 'string' || value.length === 0) {
      this.fail(field, `expected a non-empty string, got ${describe(value)}`);
    }
    return this.string(value, field, check);
  }

  integer(value: unknown, field: string, min: number, max: number): number {
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      this.fail(field, `expected an integer, got ${describe(value)}`);
    }
    if (value < min || value > max) this.fail(field, `${value} is out of range ${min}..${max}`);
    return value;
  }

  boolean(value: unknown, field: string): boolean {
    if (typeof value !== 'boolean') this.fail(field, `expected a boolean, got ${describe(value)}`);
    return value;
  }

  oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[]): T {
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      this.fail(field, `expected one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${describe(value)}`);
    }
    return value as T;
  }
}

/** A short, safe description of a JSON value for error messages. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') {
    const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    return `string ${JSON.stringify(shown)}`;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  return typeof value === 'object' ? 'an object' : typeof value;
}
