import assert from 'node:assert/strict';
import { test } from 'node:test';
import { md5Crypt, shaCrypt, verifyCrypt } from './crypt.js';

const pw = (s: string) => Buffer.from(s);

test('md5-crypt matches the g3 example token for toor', () => {
  assert.equal(md5Crypt(pw('toor'), 'rnfSARNK'), '$1$rnfSARNK$DJNIbbMpjjSmral92rE3k1');
  assert.equal(verifyCrypt(pw('toor'), '$1$rnfSARNK$DJNIbbMpjjSmral92rE3k1'), true);
  assert.equal(verifyCrypt(pw('root'), '$1$rnfSARNK$DJNIbbMpjjSmral92rE3k1'), false);
});

test('sha-crypt matches the specification vectors (as openssl passwd -5/-6 prints them)', () => {
  assert.equal(shaCrypt('sha256', pw('Hello world!'), 'saltstring'), '$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5');
  assert.equal(
    shaCrypt('sha256', pw('Hello world!'), 'rounds=10000$saltstringsaltstring'),
    '$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA',
  );
  assert.equal(
    shaCrypt('sha512', pw('Hello world!'), 'saltstring'),
    '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1',
  );
});

test('crypt hashes made by openssl passwd verify', () => {
  // produced with `openssl passwd -5 -salt abcdefgh toor` and `-6`
  assert.equal(verifyCrypt(pw('toor'), '$5$abcdefgh$a38tmN4O0XgKEEXeJyaXKhhit0M5NLiy0CUE69vp4s/'), true);
  assert.equal(
    verifyCrypt(pw('toor'), '$6$abcdefgh$hEHJCSqyNGISD5ir9k725MA80Nt8ygDruqp/Agk3yTj6ApoajAxcPht9xoaDMO2.mjiDimXcD6z3anRFYBXz40'),
    true,
  );
  assert.equal(verifyCrypt(pw('tool'), '$5$abcdefgh$a38tmN4O0XgKEEXeJyaXKhhit0M5NLiy0CUE69vp4s/'), false);
});
