/** The `auditor` key of the servers that audit their tunnels (http_proxy, socks_proxy, tcp_stream, tls_stream, sni_proxy). */
import { str, type FieldSchema } from '../runtime/schema-util.js';

export const serverAuditorField: FieldSchema = str(
  'Auditor of this server\'s tunnels (CONNECT / TCP connect / stream relays): their protocol is inspected and HTTP/1 is intercepted, ' +
    'as the auditor and the user\'s `audit` say. A comply_audit escaper replaces it for the tasks it carries.',
);

/** The dependency entry for a server's auditor (none without one). */
export function auditorDeps(name: string | undefined): { auditor?: string[] } {
  return name ? { auditor: [name] } : {};
}
