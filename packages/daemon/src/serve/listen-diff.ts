import type { ListeningServerConfig } from './base-server.js';

/** A changed listen address needs a new listener (respawn); any other change applies in place (reload). */
export function listeningDiff(a: ListeningServerConfig, b: ListeningServerConfig): 'none' | 'reload' | 'respawn' {
  if (JSON.stringify(a.raw) === JSON.stringify(b.raw)) return 'none';
  return JSON.stringify(a.listen) === JSON.stringify(b.listen) ? 'reload' : 'respawn';
}
