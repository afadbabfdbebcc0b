/**
 * Issues fake server certificates signed by the configured CA: an EC P-256 leaf key, SANs taken from the
 * upstream's real certificate when one is given (subject CN and SAN list mimicked, issuer always our CA),
 * else from the requested host (an IP SAN for an address, a DNS SAN otherwise).
 */
import { createPrivateKey, randomBytes, webcrypto, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
// @peculiar/x509's dependency injection (tsyringe) needs the Reflect metadata API loaded before it
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as never);
const subtle = webcrypto.subtle;

export interface IssuerOptions {
  caCertPem: string;
  caKeyPem: string;
  /** append the CA certificate(s) after the leaf in the returned chain (g3fcgen's default) */
  appendCa: boolean;
  /** copy the upstream certificate's serial number when mimicking (g3fcgen `keep_serial`) */
  keepSerial: boolean;
  /** seconds the leaf stays valid after now (a day of backdating covers clock skew) */
  validitySecs: number;
}

export interface IssuedCert {
  /** leaf PEM, then the CA PEM(s) when appendCa */
  certChain: string;
  keyPem: string;
}

const DAY_MS = 86_400_000;
const LEAF_KEY_ALG: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };

interface CaMaterial {
  cert: x509.X509Certificate;
  chainPem: string;
  signingKey: webcrypto.CryptoKey;
  signingAlgorithm: webcrypto.Algorithm | webcrypto.EcdsaParams;
  authorityKeyId: x509.AuthorityKeyIdentifierExtension;
}

/** WebCrypto algorithms for the CA's key; the signature hash follows the curve size as openssl would. */
function caAlgorithms(key: KeyObject): { importAlg: webcrypto.Algorithm | webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams; sign: webcrypto.Algorithm | webcrypto.EcdsaParams } {
  const type = key.asymmetricKeyType;
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const named = curve === 'prime256v1' ? 'P-256' : curve === 'secp384r1' ? 'P-384' : curve === 'secp521r1' ? 'P-521' : undefined;
    if (!named) throw new Error(`unsupported CA key curve ${String(curve)}`);
    const hash = named === 'P-256' ? 'SHA-256' : named === 'P-384' ? 'SHA-384' : 'SHA-512';
    return { importAlg: { name: 'ECDSA', namedCurve: named }, sign: { name: 'ECDSA', hash } as webcrypto.EcdsaParams };
  }
  if (type === 'rsa') {
    const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    return { importAlg: alg, sign: alg };
  }
  if (type === 'ed25519') return { importAlg: { name: 'Ed25519' }, sign: { name: 'Ed25519' } };
  throw new Error(`unsupported CA key type ${String(type)}`);
}

function pemBlock(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

export class CertIssuer {
  private constructor(private readonly ca: CaMaterial, private readonly opts: IssuerOptions) {}

  static async create(opts: IssuerOptions): Promise<CertIssuer> {
    const certs = x509.PemConverter.decode(opts.caCertPem);
    if (certs.length === 0) throw new Error('no certificate found in ca_certificate');
    const cert = new x509.X509Certificate(certs[0]!);
    // any key PEM flavour (PKCS#8, SEC1 "EC PRIVATE KEY", PKCS#1 RSA) goes through node's parser into PKCS#8
    const keyObj = createPrivateKey(opts.caKeyPem);
    const algs = caAlgorithms(keyObj);
    const pkcs8 = keyObj.export({ type: 'pkcs8', format: 'der' });
    const signingKey = await subtle.importKey('pkcs8', pkcs8, algs.importAlg, false, ['sign']) as unknown as webcrypto.CryptoKey;
    const authorityKeyId = await x509.AuthorityKeyIdentifierExtension.create(cert.publicKey);
    const chainPem = certs.map((der) => pemBlock('CERTIFICATE', der)).join('');
    return new CertIssuer({ cert, chainPem, signingKey, signingAlgorithm: algs.sign, authorityKeyId }, opts);
  }

  /** Issue a leaf for `host`, mimicking `upstream` (PEM or DER) when given. */
  async issue(host: string, upstream?: string | Uint8Array): Promise<IssuedCert> {
    let cn = host;
    let names: x509.JsonGeneralNames = [isIP(host) ? { type: 'ip', value: host } : { type: 'dns', value: host }];
    let serialNumber = randomBytes(16).toString('hex').replace(/^[89a-f]/, '1');
    if (upstream !== undefined) {
      const real = parseUpstream(upstream);
      const realCn = real.subjectName.getField('CN')[0];
      if (realCn) cn = realCn;
      const san = real.getExtension(x509.SubjectAlternativeNameExtension);
      const copied = san?.names.toJSON().filter((n) => n.type === 'dns' || n.type === 'ip') ?? [];
      if (copied.length > 0) names = copied;
      if (this.opts.keepSerial) serialNumber = real.serialNumber;
    }
    const keys = await subtle.generateKey(LEAF_KEY_ALG, true, ['sign', 'verify']) as unknown as webcrypto.CryptoKeyPair;
    const now = Date.now();
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber,
      subject: [{ CN: [cn] }],
      issuer: this.ca.cert.subjectName,
      notBefore: new Date(now - DAY_MS),
      notAfter: new Date(now + this.opts.validitySecs * 1000),
      signingAlgorithm: this.ca.signingAlgorithm,
      publicKey: keys.publicKey,
      signingKey: this.ca.signingKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(names),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
        this.ca.authorityKeyId,
      ],
    });
    const keyDer = await subtle.exportKey('pkcs8', keys.privateKey as unknown as webcrypto.CryptoKey);
    const certChain = leaf.toString('pem') + '\n' + (this.opts.appendCa ? this.ca.chainPem : '');
    return { certChain, keyPem: pemBlock('PRIVATE KEY', keyDer) };
  }
}

function parseUpstream(v: string | Uint8Array): x509.X509Certificate {
  try {
    return new x509.X509Certificate(typeof v === 'string' ? v : Uint8Array.from(v));
  } catch (e) {
    throw new Error(`cannot parse the upstream certificate: ${(e as Error).message}`);
  }
}
