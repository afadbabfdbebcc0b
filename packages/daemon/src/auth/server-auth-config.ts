/** The keys a proxy server gets for user authentication (http_proxy, socks_proxy): one spread, one parse. */
import { parseUsernameParams, type UsernameParams } from '@sluice/common';
import { g3, str, type FieldSchema } from '../runtime/schema-util.js';

export interface ServerAuthConfig {
  /** '' = no authentication */
  readonly userGroup: string;
  readonly realm: string;
  readonly usernameParams: UsernameParams | undefined;
}

export const serverAuthFields: Record<string, FieldSchema> = {
  user_group: str('User group clients authenticate against (HTTP Basic / SOCKS5 username+password); unset = no authentication.'),
  auth_realm: str('Realm sent in `Proxy-Authenticate: Basic realm="..."` (default `proxy`).'),
  username_params: g3('username_params', 'Read `user+key=value+...` user names: the params pick the egress path; the base name authenticates.'),
};

export function parseServerAuth(v: Record<string, unknown>): ServerAuthConfig {
  return Object.freeze({
    userGroup: typeof v.user_group === 'string' ? v.user_group : '',
    realm: typeof v.auth_realm === 'string' ? v.auth_realm : 'proxy',
    usernameParams: v.username_params === undefined ? undefined : parseUsernameParams(v.username_params),
  });
}
