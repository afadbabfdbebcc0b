import { commonServerFields, objectSchema } from '../../runtime/schema-util.js';
import { streamServerAliases, streamServerFields, streamUpstreamAliases, streamUpstreamFields } from './stream-config.js';

export const TYPE_NAMES = ['tcp_stream', 'tcpstream'] as const;

/** g3's tcp_stream: every client connection is relayed to one upstream of a fixed list. */
export const tcpStreamSchema = objectSchema(TYPE_NAMES, {
  ...commonServerFields,
  ...streamServerFields,
  ...streamUpstreamFields,
}, { required: ['escaper', 'upstream'], aliases: { ...streamServerAliases, ...streamUpstreamAliases } });
