import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertValueError } from '../test-helpers.js';
import { parseProxyRequestFilter, parseUserAgentFilter } from './request.js';

describe('parseUserAgentFilter', () => {
  it('forbids listed products and permits the rest (inverted defaults)', () => {
    const f = parseUserAgentFilter(['curl', 'Wget']);
    assert.equal(f.missedAction, 'permit');
    assert.equal(f.check('curl/8.4.0'), 'forbid');
    assert.equal(f.check('Wget/1.21'), 'forbid');
    assert.equal(f.check('wget'), 'forbid');
    assert.equal(f.check('Mozilla/5.0 (compatible; curl)'), 'permit'); // ')' ends no token
    assert.equal(f.check('Mozilla/5.0; curl/1'), 'forbid');
    assert.equal(f.check('libcurl/7.1'), 'permit');
    assert.equal(f.check('curly/1'), 'permit');
    assert.equal(f.check('Mozilla/5.0'), 'permit');
  });
  it('honours explicit actions and default', () => {
    const f = parseUserAgentFilter({ default: 'forbid', permit: ['Mozilla', 'Chrome'] });
    assert.equal(f.check('Mozilla/5.0 (X11)'), 'permit');
    assert.equal(f.check('python-requests/2.31'), 'forbid');
  });
  it('refuses non-ASCII product names', () => {
    assertValueError(() => parseUserAgentFilter(['curl', 'kürl']), /only ASCII/, ['1']);
  });
});

describe('parseProxyRequestFilter', () => {
  it('reads request types case- and underscore-insensitively', () => {
    const f = parseProxyRequestFilter(['HttpForward', 'https_forward', 'HTTPCONNECT']);
    assert.equal(f.check('HttpForward'), 'permit');
    assert.equal(f.check('HttpsForward'), 'permit');
    assert.equal(f.check('HttpConnect'), 'permit');
    assert.equal(f.check('FtpOverHttp'), 'forbid');
    assert.equal(f.check('SocksUdpAssociate'), 'forbid');
    const g = parseProxyRequestFilter({ default: 'allow', forbid: ['socks_udp_associate', 'ftp_over_http'] });
    assert.equal(g.check('SocksUdpAssociate'), 'forbid');
    assert.equal(g.check('SocksTcpConnect'), 'permit');
  });
  it('names the known types on error', () => {
    assertValueError(() => parseProxyRequestFilter({ forbid: ['HttpForward', 'Gopher'] }), /unknown proxy request type 'Gopher'.*SocksUdpAssociate/, ['forbid', '1']);
  });
});
