import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { blake3 } from '@noble/hashes/blake3.js';
import { parseToken, verifyToken } from './token.js';

const pw = (s: string) => Buffer.from(s);

test('g3 digest test vectors (salted md5/sha1) verify toor and nothing else', () => {
  const a = parseToken({ salt: '4e8f8a4e37f0fa1b', md5: 'd9d963915b9815d4cc39c196c2868900', sha1: 'c28640e7b1a3d9db98187632aeba99c0cff0ffd4' });
  assert.equal(verifyToken(a, pw('toor')), true);
  assert.equal(verifyToken(a, pw('root')), false);
  const b = parseToken({ salt: '113323bdab6fd2cc', md5: '5c81f2becadde7fa5fde9026652ccc84', sha1: 'ff9d5c1a14328dd85ee95d4e574bd0558a1dfa96' });
  assert.equal(verifyToken(b, pw('toor')), true);
  // all given digests must match: a wrong sha1 fails even with the right md5
  const c = parseToken({ salt: '113323bdab6fd2cc', md5: '5c81f2becadde7fa5fde9026652ccc84', sha1: 'c28640e7b1a3d9db98187632aeba99c0cff0ffd4' });
  assert.equal(verifyToken(c, pw('toor')), false);
});

test('blake3 digests over password ‖ salt', () => {
  const salt = Buffer.from('0011223344556677', 'hex');
  const digest = Buffer.from(blake3(Buffer.concat([pw('s3cret'), salt]))).toString('hex');
  // the BLAKE3 reference vector for empty input, to show the implementation is the real BLAKE3
  assert.equal(Buffer.from(blake3(new Uint8Array())).toString('hex'), 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262');
  const t = parseToken({ type: 'fast_hash', salt: '0011223344556677', b3: digest });
  assert.equal(verifyToken(t, pw('s3cret')), true);
  assert.equal(verifyToken(t, pw('s3cre')), false);
  const md5 = createHash('md5').update(Buffer.concat([pw('s3cret'), salt])).digest('hex');
  assert.equal(verifyToken(parseToken({ salt: '0011223344556677', md5, blake3: digest }), pw('s3cret')), true);
});

test('null, missing, crypt and xcrypt_hash tokens', () => {
  assert.equal(verifyToken(parseToken(null), pw('anything')), true);
  assert.equal(verifyToken(parseToken(undefined), pw('')), false);
  assert.equal(verifyToken(parseToken('$1$rnfSARNK$DJNIbbMpjjSmral92rE3k1'), pw('toor')), true);
  assert.equal(verifyToken(parseToken({ type: 'xcrypt_hash', value: '$1$rnfSARNK$DJNIbbMpjjSmral92rE3k1' }), pw('toor')), true);
  assert.throws(() => parseToken('plaintext'), /crypt/);
  assert.throws(() => parseToken({ salt: '00' }), /salt/);
  assert.throws(() => parseToken({ salt: '0011223344556677' }), /at least one/);
});
