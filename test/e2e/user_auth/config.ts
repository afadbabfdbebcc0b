/**
 * The user_auth scenario's config, built per run (origin ports are only known once the origins listen).
 * Token values are those of g3proxy's simple_user_auth example (password `toor`) and of `openssl passwd`.
 */
import { baseConfig } from '@sluice/testkit';

export const TOOR_FAST = { salt: '113323bdab6fd2cc', md5: '5c81f2becadde7fa5fde9026652ccc84', sha1: 'ff9d5c1a14328dd85ee95d4e574bd0558a1dfa96' };
export const TOOR_MD5_CRYPT = '$1$rnfSARNK$DJNIbbMpjjSmral92rE3k1';
export const TOOR_SHA512_CRYPT = '$6$abcdefgh$hEHJCSqyNGISD5ir9k725MA80Nt8ygDruqp/Agk3yTj6ApoajAxcPht9xoaDMO2.mjiDimXcD6z3anRFYBXz40';

export function mainYaml(originPort: number): string {
  return `
${baseConfig({ runtime: ['task_wait_timeout: 5s'] })}
user_group:
  - name: default
    refresh_interval: 300ms
    cache: users.cache.json
    source:
      type: file
      path: dynamic_users.json
    static_users:
      - name: root
        token:
          salt: ${TOOR_FAST.salt}
          md5: ${TOOR_FAST.md5}
          sha1: ${TOOR_FAST.sha1}
      - name: crypt6
        token: "${TOOR_SHA512_CRYPT}"
      - name: xcrypt
        token:
          type: xcrypt_hash
          value: "${TOOR_MD5_CRYPT}"
      - name: locked
      - name: expired
        token: null
        expire: 2001-01-01T00:00:00Z
      - name: later
        token: null
        expire: 2999-01-01T00:00:00+08:00
      - name: blocked
        token: null
        block_and_delay: 300ms
      - name: sites
        token: null
        dst_host_filter_set:
          exact: [allowed.test]
          child: [kids.test]
          regex: ["^re[0-9]+[.]test$"]
        resolve_redirection:
          allowed.test: 127.0.0.1
          a.kids.test: 127.0.0.1
          re1.test: 127.0.0.1
          rex.test: 127.0.0.1
          denied.test: 127.0.0.1
        explicit_sites:
          - id: kids
            child_match: kids.test
            emit_stats: true
      - name: ports
        token: null
        dst_port_filter: [${originPort}]
      - name: forward_only
        token: null
        proxy_request_filter: [http_forward]
      - name: no_curl
        token: null
        http_user_agent_filter: [curl]
      - name: req_limited
        token: null
        request_rate_limit: 3/m
      - name: conn_limited
        token: null
        connection_rate_limit: 2/m
      - name: one_alive
        token: null
        request_max_alive: 1
      - name: lan_only
        token: null
        ingress_network_filter:
          default: forbid
          allow: 10.0.0.0/8
      - name: quiet
        token: null
        log_rate_limit: 1/m
      - name: short_uri
        token: null
        log_uri_max_chars: 24
      - name: slow
        token: null
        tcp_sock_speed_limit:
          shift_millis: 8
          upload: 16K
          download: 16K

  - name: open
    anonymous_user:
      name: guest
      dst_port_filter: [${originPort}]

server:
  - name: http
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
    user_group: default
    auth_realm: sluice-test
    username_params:
      keys_for_host: [country]
  - name: socks
    type: socks_proxy
    listen: 127.0.0.1:0
    escaper: direct
    user_group: default
  - name: anon
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
    user_group: open
`;
}

/** The dynamic users file (same shape as g3's dynamic_users.json); `root` here must lose to the static root. */
export function dynamicUsers(extra: object[] = []): string {
  return JSON.stringify([
    { name: 'foo', token: TOOR_FAST },
    { name: 'bar', token: TOOR_MD5_CRYPT },
    { name: 'root', token: null },
    ...extra,
  ]);
}
