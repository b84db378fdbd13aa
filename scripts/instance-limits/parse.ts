/**
 * The pure half of scripts/generate-instance-limits.ts: reads the AWS VPC CNI's generated Go table
 * of instance-type networking limits (a map literal, instance type → InstanceTypeLimits) and a
 * vCPU / memory listing, and lays out data/aws-instance-limits.json. No I/O; tested on small
 * fixtures in test/unit/instance-limits-generator.test.ts.
 */

/** A Go literal value as read: composite literals become objects (keyed) or arrays (unkeyed). */
export type GoValue = string | number | boolean | GoValue[] | { [key: string]: GoValue };

type Token = { kind: 'string' | 'number' | 'ident' | 'punct'; text: string; at: number };

export class GoParseError extends Error {}

/** Splits Go source into tokens; comments and white space dropped. Enough for literals. */
export function tokenizeGo(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (source.startsWith('//', i)) {
      const end = source.indexOf('\n', i);
      i = end < 0 ? source.length : end + 1;
    } else if (source.startsWith('/*', i)) {
      const end = source.indexOf('*/', i + 2);
      if (end < 0) throw new GoParseError(`unterminated comment at ${i}`);
      i = end + 2;
    } else if (c === '"') {
      let j = i + 1;
      let text = '';
      while (j < source.length && source[j] !== '"') {
        if (source[j] === '\\') j++;
        text += source[j] ?? '';
        j++;
      }
      if (j >= source.length) throw new GoParseError(`unterminated string at ${i}`);
      tokens.push({ kind: 'string', text, at: i });
      i = j + 1;
    } else if (c === '`') {
      const end = source.indexOf('`', i + 1);
      if (end < 0) throw new GoParseError(`unterminated raw string at ${i}`);
      tokens.push({ kind: 'string', text: source.slice(i + 1, end), at: i });
      i = end + 1;
    } else if (/[0-9]/.test(c) || (c === '-' && /[0-9]/.test(source[i + 1] ?? ''))) {
      const match = /^-?[0-9][0-9_]*(\.[0-9]+)?/.exec(source.slice(i, i + 40))!;
      tokens.push({ kind: 'number', text: match[0].replaceAll('_', ''), at: i });
      i += match[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(source.slice(i, i + 200))!;
      tokens.push({ kind: 'ident', text: match[0], at: i });
      i += match[0].length;
    } else {
      tokens.push({ kind: 'punct', text: c, at: i });
      i++;
    }
  }
  return tokens;
}

/**
 * The value of the package-level `var NAME = map[string]T{…}` (any NAME when `name` is not given):
 * a record of each key's literal.
 */
export function parseGoMapLiteral(source: string, name?: string): Record<string, GoValue> {
  const tokens = tokenizeGo(source);
  let pos = -1;
  for (let i = 0; i < tokens.length - 3; i++) {
    if (tokens[i]!.text === 'var' && tokens[i + 1]!.kind === 'ident' && (name === undefined || tokens[i + 1]!.text === name)
      && tokens[i + 2]!.text === '=' && tokens[i + 3]!.text === 'map') {
      pos = i + 3;
      break;
    }
  }
  if (pos < 0) throw new GoParseError(`no \`var ${name ?? 'NAME'} = map[…]…{\` in the source`);
  const peek = (): Token => {
    const t = tokens[pos];
    if (t === undefined) throw new GoParseError('source ends inside the map literal');
    return t;
  };
  const next = (): Token => {
    const t = peek();
    pos++;
    return t;
  };
  const expect = (text: string): void => {
    const t = next();
    if (t.text !== text) throw new GoParseError(`expected ${text} at ${t.at}, found ${t.text}`);
  };
  // The type before a composite literal's brace: map[K]V, []T, pkg.T, T.
  const skipType = (): void => {
    if (peek().text === 'map') {
      next();
      expect('[');
      skipType();
      expect(']');
      skipType();
    } else if (peek().text === '[') {
      next();
      expect(']');
      skipType();
    } else if (peek().text === '*') {
      next();
      skipType();
    } else {
      if (next().kind !== 'ident') throw new GoParseError(`expected a type at ${tokens[pos - 1]!.at}`);
      if (peek().text === '.') {
        next();
        skipType();
      }
    }
  };
  const composite = (): GoValue => {
    expect('{');
    const keyed: Record<string, GoValue> = {};
    const unkeyed: GoValue[] = [];
    while (peek().text !== '}') {
      const first = value();
      if (peek().text === ':') {
        next();
        if (typeof first !== 'string') throw new GoParseError(`a key must be a name or a string, at ${peek().at}`);
        keyed[first] = value();
      } else {
        unkeyed.push(first);
      }
      if (peek().text === ',') next();
      else if (peek().text !== '}') throw new GoParseError(`expected , or } at ${peek().at}, found ${peek().text}`);
    }
    next();
    if (unkeyed.length > 0 && Object.keys(keyed).length > 0) throw new GoParseError('a literal mixes keyed and unkeyed elements');
    return unkeyed.length > 0 ? unkeyed : Object.keys(keyed).length > 0 ? keyed : {};
  };
  const value = (): GoValue => {
    const t = peek();
    if (t.text === '{') return composite();
    if (t.kind === 'string') return next().text;
    if (t.kind === 'number') return Number(next().text);
    if (t.text === 'true' || t.text === 'false') return next().text === 'true';
    if (t.text === '[' || t.text === 'map' || t.text === '*') {
      skipType();
      return composite();
    }
    if (t.kind === 'ident') {
      // A field name (before ':'), a constant, or a type before '{'.
      const start = pos;
      next();
      if (peek().text === ':' || peek().text === ',' || peek().text === '}') return t.text;
      pos = start;
      skipType();
      return composite();
    }
    throw new GoParseError(`unexpected ${t.text} at ${t.at}`);
  };
  skipType();
  const map = composite();
  if (Array.isArray(map) || typeof map !== 'object') throw new GoParseError('the map literal has unkeyed elements');
  return map;
}

/** One instance type's limits as data/aws-instance-limits.json keeps them. */
export interface LimitsRow {
  /** Network interfaces on the default network card (the VPC CNI's ENILimit). */
  readonly enis: number;
  /** IPv4 addresses per interface, its primary included (IPv4Limit). */
  readonly ipv4PerEni: number;
  /** nitro, xen, or unknown (bare metal: no hypervisor). */
  readonly hypervisor: string;
  readonly bareMetal: boolean;
  readonly defaultNetworkCardIndex: number;
  /** Interfaces per network card, by card index. */
  readonly networkCards: readonly number[];
  /** Present only where the vCPU source knows the type. */
  readonly vcpus?: number;
  readonly memoryMiB?: number;
}

const integer = (value: GoValue | undefined, what: string): number => {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new GoParseError(`${what} is not a whole number`);
  return value;
};

/** The limits of each instance type from the VPC CNI's `map[string]InstanceTypeLimits` literal. */
export function limitsFromVpcCniSource(source: string): Map<string, LimitsRow> {
  const map = parseGoMapLiteral(source);
  const out = new Map<string, LimitsRow>();
  for (const [name, raw] of Object.entries(map)) {
    if (Array.isArray(raw) || typeof raw !== 'object') throw new GoParseError(`${name}: not a keyed literal`);
    const cards = raw['NetworkCards'] ?? [];
    if (!Array.isArray(cards)) throw new GoParseError(`${name}: NetworkCards is not a list`);
    const networkCards: number[] = [];
    for (const card of cards) {
      if (Array.isArray(card) || typeof card !== 'object') throw new GoParseError(`${name}: a network card is not a keyed literal`);
      const index = integer(card['NetworkCardIndex'] ?? 0, `${name}: NetworkCardIndex`);
      if (networkCards[index] !== undefined) throw new GoParseError(`${name}: network card ${index} given twice`);
      networkCards[index] = integer(card['MaximumNetworkInterfaces'], `${name}: MaximumNetworkInterfaces`);
    }
    if (networkCards.some((n) => n === undefined) || networkCards.length !== cards.length) {
      throw new GoParseError(`${name}: network card indexes are not 0…${cards.length - 1}`);
    }
    const hypervisor = raw['HypervisorType'] ?? 'unknown';
    const bareMetal = raw['IsBareMetal'] ?? false;
    if (typeof hypervisor !== 'string') throw new GoParseError(`${name}: HypervisorType is not a string`);
    if (typeof bareMetal !== 'boolean') throw new GoParseError(`${name}: IsBareMetal is not a boolean`);
    out.set(name, {
      enis: integer(raw['ENILimit'], `${name}: ENILimit`),
      ipv4PerEni: integer(raw['IPv4Limit'], `${name}: IPv4Limit`),
      hypervisor,
      bareMetal,
      defaultNetworkCardIndex: integer(raw['DefaultNetworkCardIndex'] ?? 0, `${name}: DefaultNetworkCardIndex`),
      networkCards,
    });
  }
  return out;
}

/**
 * vCPUs and memory per instance type from the listing github.com/cristim/ec2-instances-info
 * generates from its data (generated_instances_data.txt, one type a line:
 * `Instance type: m5.large,\tCPU: …,\t Arch: …,\tCPU cores: 2,\tMemory(GB): 8,\t…`). Its
 * "CPU cores" column is the vCPU count (m5.large: 2).
 */
export function vcpusFromInstancesListing(text: string): Map<string, { vcpus: number; memoryMiB?: number }> {
  const out = new Map<string, { vcpus: number; memoryMiB?: number }>();
  for (const line of text.split('\n')) {
    const type = /^Instance type: ([a-z0-9.-]+),/.exec(line)?.[1];
    const vcpus = /CPU cores: (\d+),/.exec(line)?.[1];
    if (type === undefined || vcpus === undefined || Number(vcpus) === 0) continue;
    const memoryGiB = /Memory\(GB\): ([0-9.]+),/.exec(line)?.[1];
    const memoryMiB = memoryGiB === undefined ? undefined : Math.round(Number(memoryGiB) * 1024);
    out.set(type, memoryMiB === undefined || memoryMiB === 0 ? { vcpus: Number(vcpus) } : { vcpus: Number(vcpus), memoryMiB });
  }
  return out;
}

export interface SourceHeader {
  readonly module: string;
  readonly version: string;
  readonly file: string;
  /** The module version's commit time, from the proxy's .info. */
  readonly versionTime?: string;
}

/**
 * The JSON text of data/aws-instance-limits.json: a header, then one type a line, sorted by name.
 * vCPUs and memory are merged in from `vcpus` where it knows the type.
 */
export function renderLimitsJson(
  limits: ReadonlyMap<string, LimitsRow>,
  vcpus: ReadonlyMap<string, { vcpus: number; memoryMiB?: number }>,
  header: { generated: string; limits: SourceHeader; vcpus: SourceHeader },
): string {
  const names = [...limits.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const rows = names.map((name) => {
    const row = limits.get(name)!;
    const extra = vcpus.get(name);
    const full: LimitsRow = {
      enis: row.enis,
      ipv4PerEni: row.ipv4PerEni,
      hypervisor: row.hypervisor,
      bareMetal: row.bareMetal,
      defaultNetworkCardIndex: row.defaultNetworkCardIndex,
      networkCards: row.networkCards,
      ...(extra === undefined ? {} : { vcpus: extra.vcpus }),
      ...(extra?.memoryMiB === undefined ? {} : { memoryMiB: extra.memoryMiB }),
    };
    return `    ${JSON.stringify(name)}: ${JSON.stringify(full)}`;
  });
  const about = {
    description:
      'EC2 instance types\' networking limits: enis (interfaces on the default network card), ipv4PerEni (primary included), ' +
      'hypervisor (nitro, xen, or unknown for bare metal), bareMetal, defaultNetworkCardIndex, networkCards (interfaces per card, by index); ' +
      'vcpus and memoryMiB only where the second source knows the type. Generated by scripts/generate-instance-limits.ts; do not edit.',
    generated: header.generated,
    limits: header.limits,
    vcpus: header.vcpus,
    types: names.length,
    withVcpus: names.filter((name) => vcpus.has(name)).length,
  };
  return `{\n  "source": ${JSON.stringify(about, null, 2).replaceAll('\n', '\n  ')},\n  "types": {\n${rows.join(',\n')}\n  }\n}\n`;
}
