/**
 * TLS interception building blocks for auditors (g3's tls_cert_agent, tls_interception_client/server).
 *
 *   const tls = parseTlsInterception(raw, ctx);          // in the auditor's parse; undefined = no interception
 *   const interceptor = new TlsInterceptor(tls);         // one per auditor (owns the cert agent's cache)
 *   const r = await interceptor.intercept({ client, clientHello, upstream, host, port });
 *   // r.client / r.upstream are the decrypted streams; r.alpn says h2 or http/1.1
 *   interceptor.close();                                 // when the auditor goes away
 */
export {
  TLS_INTERCEPTION_FIELDS,
  TLS_INTERCEPTION_ALIASES,
  parseTlsInterception,
  type TlsInterceptionConfig,
  type CertAgentConfig,
  type InterceptionClientConfig,
  type InterceptionServerConfig,
} from './config.js';
export { TlsInterceptor, type TlsInterceptArgs, type TlsInterceptResult, type TlsInterceptTimings } from './intercept.js';
export { CertAgent } from './cert-agent.js';
