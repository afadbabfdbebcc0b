import { commonServerFields, objectSchema } from '../../runtime/schema-util.js';
import { tlsField } from '../../tls/tls-config.js';
import { streamServerAliases, streamServerFields, streamUpstreamAliases, streamUpstreamFields } from '../tcp_stream/stream-config.js';

export const TYPE_NAMES = ['tls_stream', 'tlsstream'] as const;

/** g3's tls_stream: TLS terminated here, the clear stream relayed to one upstream of a fixed list. */
export const tlsStreamSchema = objectSchema(TYPE_NAMES, {
  ...commonServerFields,
  ...streamServerFields,
  ...streamUpstreamFields,
  tls_server: tlsField('TLS server config (required): certificate + private_key (or cert_pairs), handshake_timeout (default 10s), enable_client_auth + ca_certificate for mTLS.'),
}, { required: ['escaper', 'upstream', 'tls_server'], aliases: { ...streamServerAliases, ...streamUpstreamAliases, tls: 'tls_server' } });
