/**
 * Certificates for the local Kubernetes, made with the openssl command: one CA, and leaf
 * certificates it signs (ECDSA P-256, valid two days), plus the service-account key pair.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function openssl(args: readonly string[]): Promise<void> {
  try {
    await run('openssl', [...args]);
  } catch (error) {
    const stderr = (error as { stderr?: unknown }).stderr;
    throw new Error(`openssl ${args[0] ?? ''} failed: ${typeof stderr === 'string' ? stderr.trim() : String(error)}`, { cause: error });
  }
}

export interface CertPaths {
  readonly certPath: string;
  readonly keyPath: string;
}

export interface CertRequest {
  /** File name stem under the PKI directory: `<name>.crt`, `<name>.key`. */
  readonly name: string;
  /** Subject common name: the user name for client certificates. */
  readonly commonName: string;
  /** Subject organizations: the groups for client certificates. */
  readonly organizations?: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly dnsNames?: readonly string[];
}

/** A CA in a directory, and the certificates it issues there. */
export class TestPki {
  readonly caCertPath: string;
  readonly caKeyPath: string;

  constructor(readonly dir: string) {
    this.caCertPath = join(dir, 'ca.crt');
    this.caKeyPath = join(dir, 'ca.key');
  }

  /** Creates the CA key and self-signed certificate. Call once, before {@link issue}. */
  async createCa(commonName = 'nativeip-test-ca'): Promise<void> {
    await openssl([
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', this.caKeyPath, '-out', this.caCertPath, '-days', '2', '-subj', `/CN=${commonName}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
    ]);
  }

  /** Issues a certificate good for both server and client authentication. */
  async issue(request: CertRequest): Promise<CertPaths> {
    const keyPath = join(this.dir, `${request.name}.key`);
    const certPath = join(this.dir, `${request.name}.crt`);
    const csrPath = join(this.dir, `${request.name}.csr`);
    const extPath = join(this.dir, `${request.name}.ext`);
    const subject = [...(request.organizations ?? []).map((o) => `/O=${o}`), `/CN=${request.commonName}`].join('');
    const sans = [...(request.ipAddresses ?? []).map((ip) => `IP:${ip}`), ...(request.dnsNames ?? []).map((dns) => `DNS:${dns}`)];
    await writeFile(
      extPath,
      [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth,clientAuth',
        ...(sans.length > 0 ? [`subjectAltName=${sans.join(',')}`] : []),
        '',
      ].join('\n'),
    );
    await openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyPath, '-out', csrPath, '-subj', subject]);
    await openssl([
      'x509', '-req', '-in', csrPath, '-CA', this.caCertPath, '-CAkey', this.caKeyPath, '-CAcreateserial',
      '-days', '2', '-extfile', extPath, '-out', certPath,
    ]);
    return { certPath, keyPath };
  }

  /** An ECDSA key pair for signing service-account tokens: `<name>.key` and `<name>.pub`. */
  async keyPair(name: string): Promise<{ readonly privateKeyPath: string; readonly publicKeyPath: string }> {
    const privateKeyPath = join(this.dir, `${name}.key`);
    const publicKeyPath = join(this.dir, `${name}.pub`);
    await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', privateKeyPath]);
    await openssl(['pkey', '-in', privateKeyPath, '-pubout', '-out', publicKeyPath]);
    return { privateKeyPath, publicKeyPath };
  }
}
