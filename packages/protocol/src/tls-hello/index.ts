export { looksLikeTls, parseClientHello, TlsHelloError, type ClientHelloInfo, type TlsHelloErrorKind } from './client-hello.js';
