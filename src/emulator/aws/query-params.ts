import { Ec2ApiError, invalidParameterValue, missingParameter } from './errors.js';

export interface Ec2Filter {
  readonly name: string;
  readonly values: readonly string[];
}

export interface Ec2Tag {
  readonly key: string;
  /** Undefined when the request named only the key (DeleteTags: any value). */
  readonly value: string | undefined;
}

export interface TagSpecification {
  readonly resourceType: string;
  readonly tags: readonly Ec2Tag[];
}

export interface PrivateIpSpecification {
  readonly address: string;
  readonly primary: boolean;
}

/**
 * The decoded parameters of one EC2 Query request (`Action=…&Version=…&Name.1=…`). Lists use the
 * EC2 `.N` encoding, 1-based and possibly sparse; they come back ordered by N.
 */
export class QueryParams {
  private readonly values: ReadonlyMap<string, string>;

  constructor(values: ReadonlyMap<string, string>) {
    this.values = values;
  }

  static fromForm(body: string): QueryParams {
    return new QueryParams(new Map(new URLSearchParams(body)));
  }

  /** Every parameter as sent, for comparing whole requests. */
  entries(): IterableIterator<[string, string]> {
    return this.values.entries();
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  /** True when any parameter is `prefix` itself or starts with `prefix.`. */
  hasAny(prefix: string): boolean {
    for (const key of this.values.keys()) {
      if (key === prefix || key.startsWith(`${prefix}.`)) return true;
    }
    return false;
  }

  string(name: string): string | undefined {
    return this.values.get(name);
  }

  requireString(name: string): string {
    const value = this.values.get(name);
    if (value === undefined || value === '') throw missingParameter(name);
    return value;
  }

  int(name: string, range: { min?: number; max?: number } = {}): number | undefined {
    const text = this.values.get(name);
    if (text === undefined) return undefined;
    const value = /^-?\d+$/.test(text) ? Number(text) : Number.NaN;
    const min = range.min ?? Number.MIN_SAFE_INTEGER;
    const max = range.max ?? Number.MAX_SAFE_INTEGER;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      const bounds = range.max === undefined ? `at least ${min}` : `between ${min} and ${max}`;
      throw invalidParameterValue(`Value (${text}) for parameter ${name} is invalid. Expected an integer ${bounds}.`);
    }
    return value;
  }

  requireInt(name: string, range: { min?: number; max?: number } = {}): number {
    const value = this.int(name, range);
    if (value === undefined) throw missingParameter(name);
    return value;
  }

  bool(name: string): boolean | undefined {
    const text = this.values.get(name);
    if (text === undefined) return undefined;
    const lower = text.toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
    throw invalidParameterValue(`Value (${text}) for parameter ${name} is invalid. Expected 'true' or 'false'.`);
  }

  /** `Name.1`, `Name.2`, … as a list. */
  list(prefix: string): string[] {
    return this.indexes(prefix).flatMap((n) => {
      const value = this.values.get(`${prefix}.${n}`);
      return value === undefined ? [] : [value];
    });
  }

  /** `Filter.N.Name` with `Filter.N.Value.M`. */
  filters(prefix = 'Filter'): Ec2Filter[] {
    return this.indexes(prefix).map((n) => {
      const name = this.values.get(`${prefix}.${n}.Name`);
      if (name === undefined || name === '') throw missingParameter(`${prefix}.${n}.Name`);
      return { name, values: this.list(`${prefix}.${n}.Value`) };
    });
  }

  /** `Tag.N.Key` with optional `Tag.N.Value`. */
  tags(prefix = 'Tag'): Ec2Tag[] {
    return this.indexes(prefix).map((n) => {
      const key = this.values.get(`${prefix}.${n}.Key`);
      if (key === undefined || key === '') throw missingParameter(`${prefix}.${n}.Key`);
      return { key, value: this.values.get(`${prefix}.${n}.Value`) };
    });
  }

  /** `TagSpecification.N.ResourceType` with `TagSpecification.N.Tag.M.Key/Value`. */
  tagSpecifications(): TagSpecification[] {
    return this.indexes('TagSpecification').map((n) => {
      const resourceType = this.values.get(`TagSpecification.${n}.ResourceType`);
      if (resourceType === undefined) throw missingParameter(`TagSpecification.${n}.ResourceType`);
      return { resourceType, tags: this.tags(`TagSpecification.${n}.Tag`) };
    });
  }

  /** `PrivateIpAddresses.N.PrivateIpAddress` with `PrivateIpAddresses.N.Primary`. */
  privateIpSpecifications(): PrivateIpSpecification[] {
    return this.indexes('PrivateIpAddresses').map((n) => {
      const address = this.values.get(`PrivateIpAddresses.${n}.PrivateIpAddress`);
      if (address === undefined) throw missingParameter(`PrivateIpAddresses.${n}.PrivateIpAddress`);
      return { address, primary: this.bool(`PrivateIpAddresses.${n}.Primary`) ?? false };
    });
  }

  /** The distinct N of every `prefix.N` / `prefix.N.…` key, ascending. */
  private indexes(prefix: string): number[] {
    const found = new Set<number>();
    const head = `${prefix}.`;
    for (const key of this.values.keys()) {
      if (!key.startsWith(head)) continue;
      const rest = key.slice(head.length);
      const dot = rest.indexOf('.');
      const indexText = dot < 0 ? rest : rest.slice(0, dot);
      if (!/^\d+$/.test(indexText)) {
        throw new Ec2ApiError('InvalidParameterValue', `Parameter ${key} has an invalid list index '${indexText}'`);
      }
      found.add(Number(indexText));
    }
    return [...found].sort((a, b) => a - b);
  }
}
