/** A self-signed certificate for the emulated ARM endpoint on a loopback address. */

export interface EmulatorTls {
  readonly key: string;
  /** PEM certificate: also the CA bundle a client must trust. */
  readonly cert: string;
}

/**
 * Generates an EC P-256 certificate valid for `host` (an IP address) and `localhost`, for a day.
 * `selfsigned` is a development dependency: the emulator is a development and test tool.
 */
export async function selfSignedFor(host: string): Promise<EmulatorTls> {
  const { generate } = await import('selfsigned');
  const isIp = /^[0-9.]+$/.test(host) || host.includes(':');
  const now = Date.now();
  const pems = await generate([{ name: 'commonName', value: host }], {
    keyType: 'ec',
    curve: 'P-256',
    notBeforeDate: new Date(now - 60_000),
    notAfterDate: new Date(now + 24 * 3600_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'subjectAltName', altNames: [isIp ? { type: 7, ip: host } : { type: 2, value: host }, { type: 2, value: 'localhost' }] },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}
