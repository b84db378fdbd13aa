/**
 * Tiny XML writer. Leaves are always escaped by {@link leaf}; {@link el} and {@link set} only
 * nest fragments produced by these functions, so no unescaped text can reach the output.
 */
declare const fragmentBrand: unique symbol;
export type XmlFragment = string & { readonly [fragmentBrand]: true };

export const EC2_XMLNS = 'http://ec2.amazonaws.com/doc/2016-11-15/';

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => {
    switch (c) {
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '&':
        return '&amp;';
      case '"':
        return '&quot;';
      default:
        return '&apos;';
    }
  });
}

/** `<name>value</name>`, or nothing when value is undefined. */
export function leaf(name: string, value: string | number | boolean | undefined): XmlFragment {
  if (value === undefined) return '' as XmlFragment;
  return `<${name}>${escapeXml(String(value))}</${name}>` as XmlFragment;
}

export function el(name: string, children: readonly XmlFragment[]): XmlFragment {
  return `<${name}>${children.join('')}</${name}>` as XmlFragment;
}

/** EC2 list: `<name><item>…</item>…</name>`. */
export function set(name: string, items: readonly (readonly XmlFragment[])[]): XmlFragment {
  return el(name, items.map((item) => el('item', item)));
}

/** A whole EC2 success response document. */
export function ec2Response(action: string, requestId: string, body: readonly XmlFragment[]): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${EC2_XMLNS}">` +
    leaf('requestId', requestId) +
    body.join('') +
    `</${action}Response>`
  );
}

/** EC2's error document: `<Response><Errors><Error>…</Error></Errors><RequestID>…</RequestID></Response>`. */
export function ec2ErrorResponse(code: string, message: string, requestId: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    el('Response', [el('Errors', [el('Error', [leaf('Code', code), leaf('Message', message)])]), leaf('RequestID', requestId)])
  );
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '.000Z');
}
