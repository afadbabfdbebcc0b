export { CertIssuer, type IssuerOptions, type IssuedCert } from './issuer.js';
export { decodeRequest, encodeResponse, encodeIdMap, serviceName, usageName, BadRequest, type CertRequest, type CertResponse } from './protocol.js';
export { loadCertgenConfig, type CertgenConfig } from './config.js';
export { CertgenServer, type CertgenServerOptions } from './server.js';
