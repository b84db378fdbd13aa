/**
 * Finds the first JSON syntax error in a text and says where it is. Runtimes word `JSON.parse`
 * errors differently (V8 gives a position, JavaScriptCore does not), so the plugin locates the
 * error itself to give the same message under Node and Bun.
 */

export interface JsonSyntaxError {
  /** 0-based offset in UTF-16 code units. */
  readonly offset: number;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
  /** What was wrong there, e.g. `expected ':' after an object key, found '}'`. */
  readonly problem: string;
}

const MAX_DEPTH = 512;

class Stop {
  constructor(
    readonly offset: number,
    readonly problem: string,
  ) {}
}

/** Returns the first syntax error in `text`, or `undefined` when it is valid JSON. */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  let i = 0;

  const found = (): string => (i >= text.length ? 'the end of the input' : show(text[i] ?? ''));
  const stop = (expected: string): never => {
    throw new Stop(i, `expected ${expected}, found ${found()}`);
  };
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i] ?? '')) i += 1;
  };
  const literal = (word: string): void => {
    for (const ch of word) {
      if (text[i] !== ch) stop(`'${word}'`);
      i += 1;
    }
  };
  const digits = (what: string): void => {
    if (!/[0-9]/.test(text[i] ?? '')) stop(what);
    while (/[0-9]/.test(text[i] ?? '')) i += 1;
  };
  const number = (): void => {
    if (text[i] === '-') i += 1;
    if (text[i] === '0') i += 1;
    else digits('a digit');
    if (text[i] === '.') {
      i += 1;
      digits("a digit after '.'");
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i += 1;
      if (text[i] === '+' || text[i] === '-') i += 1;
      digits('a digit in the exponent');
    }
  };
  const string = (): void => {
    i += 1;
    for (;;) {
      if (i >= text.length) throw new Stop(i, 'unterminated string');
      const ch = text[i] ?? '';
      if (ch === '"') {
        i += 1;
        return;
      }
      if (ch.charCodeAt(0) < 0x20) throw new Stop(i, `control character ${show(ch)} in a string (escape it)`);
      if (ch === '\\') {
        i += 1;
        const esc = text[i] ?? '';
        if (esc === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) throw new Stop(i - 1, 'invalid \\u escape (needs 4 hex digits)');
          i += 5;
        } else if ('"\\/bfnrt'.includes(esc) && esc !== '') {
          i += 1;
        } else {
          throw new Stop(i - 1, `invalid escape '\\${esc}'`);
        }
        continue;
      }
      i += 1;
    }
  };
  const value = (depth: number): void => {
    if (depth > MAX_DEPTH) throw new Stop(i, `nesting deeper than ${MAX_DEPTH}`);
    ws();
    const ch = text[i];
    if (ch === '{') object(depth);
    else if (ch === '[') array(depth);
    else if (ch === '"') string();
    else if (ch === 't') literal('true');
    else if (ch === 'f') literal('false');
    else if (ch === 'n') literal('null');
    else if (ch === '-' || /[0-9]/.test(ch ?? '')) number();
    else stop('a value');
  };
  const object = (depth: number): void => {
    i += 1;
    ws();
    if (text[i] === '}') {
      i += 1;
      return;
    }
    for (;;) {
      ws();
      if (text[i] !== '"') stop('a double-quoted property name');
      string();
      ws();
      if (text[i] !== ':') stop("':' after a property name");
      i += 1;
      value(depth + 1);
      ws();
      if (text[i] === ',') {
        i += 1;
        continue;
      }
      if (text[i] === '}') {
        i += 1;
        return;
      }
      stop("',' or '}' after a property value");
    }
  };
  const array = (depth: number): void => {
    i += 1;
    ws();
    if (text[i] === ']') {
      i += 1;
      return;
    }
    for (;;) {
      value(depth + 1);
      ws();
      if (text[i] === ',') {
        i += 1;
        continue;
      }
      if (text[i] === ']') {
        i += 1;
        return;
      }
      stop("',' or ']' after an array element");
    }
  };

  try {
    value(0);
    ws();
    if (i < text.length) throw new Stop(i, `unexpected ${found()} after the JSON value`);
    return undefined;
  } catch (err) {
    if (!(err instanceof Stop)) throw err;
    return { offset: err.offset, ...lineAndColumn(text, err.offset), problem: err.problem };
  }
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let k = 0; k < offset && k < text.length; k += 1) {
    if (text[k] === '\n') {
      line += 1;
      lineStart = k + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

function show(ch: string): string {
  const code = ch.charCodeAt(0);
  if (code < 0x20 || code === 0x7f) return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return `'${ch}'`;
}
