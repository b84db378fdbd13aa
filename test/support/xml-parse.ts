/**
 * A strict parser for the XML the project writes (an XML declaration, elements, attributes, text
 * and character references; no DTD, comments, CDATA or processing instructions past the first
 * line). It throws on anything that is not well-formed XML 1.0 within that subset, so a test can
 * check a document parses and read its text back unescaped.
 */

export interface XmlElement {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: ReadonlyArray<XmlElement | string>;
}

const NAME = /[A-Za-z_:][-A-Za-z0-9._:]*/y;
const SPACE = /[ \t\r\n]*/y;
const DECLARATION = /<\?xml[ \t\r\n]+version=(["'])1\.[0-9]+\1[^?<>]*\?>/y;
const CHAR = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;
const NAMED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

export function parseXml(doc: string): XmlElement {
  if (!CHAR.test(doc)) throw new Error('a character XML 1.0 forbids');
  let at = 0;
  const fail = (why: string): never => {
    throw new Error(`${why} at offset ${at}: ${JSON.stringify(doc.slice(at, at + 40))}`);
  };
  const match = (re: RegExp): string | undefined => {
    re.lastIndex = at;
    const m = re.exec(doc);
    if (m === null) return undefined;
    at = re.lastIndex;
    return m[0];
  };
  const expect = (literal: string): void => {
    if (!doc.startsWith(literal, at)) fail(`expected ${JSON.stringify(literal)}`);
    at += literal.length;
  };
  const unescape = (raw: string, forbidden: RegExp): string => {
    if (forbidden.test(raw)) fail(`a raw character that must be escaped in ${JSON.stringify(raw.slice(0, 40))}`);
    return raw.replace(/&([^;]*);|&/g, (whole, ref: string | undefined) => {
      if (ref === undefined) return fail('a bare &');
      if (ref in NAMED) return NAMED[ref]!;
      const code = /^#x[0-9a-fA-F]+$/.test(ref) ? parseInt(ref.slice(2), 16) : /^#[0-9]+$/.test(ref) ? parseInt(ref.slice(1), 10) : NaN;
      const char = Number.isNaN(code) || code > 0x10ffff ? undefined : String.fromCodePoint(code);
      if (char === undefined || !CHAR.test(char)) return fail(`an unknown reference ${whole}`);
      return char;
    });
  };

  const element = (): XmlElement => {
    expect('<');
    const name = match(NAME) ?? fail('expected an element name');
    const attributes: Record<string, string> = {};
    for (;;) {
      const space = match(SPACE) ?? '';
      if (doc.startsWith('/>', at)) {
        at += 2;
        return { name, attributes, children: [] };
      }
      if (doc.startsWith('>', at)) {
        at += 1;
        break;
      }
      if (space === '') fail('expected white space before an attribute');
      const key = match(NAME) ?? fail('expected an attribute name');
      if (key in attributes) fail(`a duplicate attribute ${key}`);
      match(SPACE);
      expect('=');
      match(SPACE);
      const quote = doc[at];
      if (quote !== '"' && quote !== "'") return fail('expected a quoted attribute value');
      const end = doc.indexOf(quote, at + 1);
      if (end < 0) fail('an unterminated attribute value');
      attributes[key] = unescape(doc.slice(at + 1, end), /</);
      at = end + 1;
    }
    const children: Array<XmlElement | string> = [];
    for (;;) {
      const lt = doc.indexOf('<', at);
      if (lt < 0) fail(`an unclosed <${name}>`);
      if (lt > at) {
        const raw = doc.slice(at, lt);
        if (raw.includes(']]>')) fail('"]]>" in text');
        children.push(unescape(raw, /(?!)/));
        at = lt;
      }
      if (doc.startsWith('</', at)) {
        at += 2;
        if (match(NAME) !== name) fail(`expected </${name}>`);
        match(SPACE);
        expect('>');
        return { name, attributes, children };
      }
      if (doc.startsWith('<!', at) || doc.startsWith('<?', at)) fail('markup this parser does not accept');
      children.push(element());
    }
  };

  match(DECLARATION);
  match(SPACE);
  const root = element();
  match(SPACE);
  if (at !== doc.length) fail('content after the root element');
  return root;
}

/** Every element of the tree, depth first. */
export function xmlElements(root: XmlElement): XmlElement[] {
  const out: XmlElement[] = [root];
  for (const child of root.children) if (typeof child !== 'string') out.push(...xmlElements(child));
  return out;
}

/** The text of an element and its descendants. */
export function xmlText(node: XmlElement | string): string {
  return typeof node === 'string' ? node : node.children.map(xmlText).join('');
}
