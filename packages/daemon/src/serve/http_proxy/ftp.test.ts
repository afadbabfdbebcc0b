import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ftpCredentials, parseFtpPath } from './ftp.js';

describe('parseFtpPath', () => {
  it('follows g3: relative to the login dir, %2F for absolute, trailing slash lists, ;type= wins', () => {
    assert.deepEqual(parseFtpPath('/'), { kind: 'default', path: '.' });
    assert.deepEqual(parseFtpPath('/a/'), { kind: 'list', path: 'a' });
    assert.deepEqual(parseFtpPath('/a'), { kind: 'auto', path: 'a' });
    assert.deepEqual(parseFtpPath('/%2F/a'), { kind: 'auto', path: '/a' });
    assert.deepEqual(parseFtpPath('/%E6%B5%8B%E8%AF%95/'), { kind: 'list', path: '测试' });
    assert.deepEqual(parseFtpPath('/a;type=i'), { kind: 'file', path: 'a' });
    assert.deepEqual(parseFtpPath('/a;type=d'), { kind: 'list', path: 'a' });
    assert.deepEqual(parseFtpPath('/a?x=1'), { kind: 'auto', path: 'a' });
  });

  it('refuses decoded line breaks (command injection) and bad escapes', () => {
    assert.throws(() => parseFtpPath('/a%0D%0ADELE%20b'));
    assert.throws(() => parseFtpPath('/a%00'));
    assert.throws(() => parseFtpPath('/a%zz'));
  });
});

describe('ftpCredentials', () => {
  it('reads userinfo, and Authorization: Basic overrides it', () => {
    assert.deepEqual(ftpCredentials(undefined, undefined), {});
    assert.deepEqual(ftpCredentials('bob', undefined), { user: 'bob' });
    assert.deepEqual(ftpCredentials('bob:p%40ss', undefined), { user: 'bob', pass: 'p@ss' });
    const basic = `Basic ${Buffer.from('amy:x:y').toString('base64')}`;
    assert.deepEqual(ftpCredentials('bob:pw', basic), { user: 'amy', pass: 'x:y' });
  });

  it('refuses line breaks in credentials', () => {
    assert.throws(() => ftpCredentials('bob%0D%0A:x', undefined));
  });
});
