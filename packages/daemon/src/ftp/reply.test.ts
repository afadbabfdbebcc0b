import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FtpProtocolError, FtpReplyParser, parseEpsvReply, parsePasvReply } from './reply.js';

describe('FtpReplyParser', () => {
  it('parses single-line replies split across chunks', () => {
    const p = new FtpReplyParser();
    assert.deepEqual(p.push(Buffer.from('220 (vsFTPd')), []);
    assert.ok(p.pending);
    assert.deepEqual(p.push(Buffer.from(' 3.0.3)\r\n230 ok\r\n')), [{ code: 220, lines: ['(vsFTPd 3.0.3)'] }, { code: 230, lines: ['ok'] }]);
    assert.ok(!p.pending);
  });

  it('collects a multi-line reply until the closing line with the same code', () => {
    const p = new FtpReplyParser();
    const r = p.push(Buffer.from('211-Features:\r\n EPSV\r\n SIZE\r\n211-not the end\r\n UTF8\r\n211 End\r\n'));
    assert.deepEqual(r, [{ code: 211, lines: ['Features:', ' EPSV', ' SIZE', '211-not the end', ' UTF8', 'End'] }]);
  });

  it('accepts bare LF line endings and a code-only line', () => {
    assert.deepEqual(new FtpReplyParser().push(Buffer.from('200\n')), [{ code: 200, lines: [''] }]);
  });

  it('rejects malformed lines, bad codes, long lines and endless multi-line replies', () => {
    assert.throws(() => new FtpReplyParser().push(Buffer.from('hello\r\n')), FtpProtocolError);
    assert.throws(() => new FtpReplyParser().push(Buffer.from('099 low\r\n')), FtpProtocolError);
    assert.throws(() => new FtpReplyParser().push(Buffer.from('600 high\r\n')), FtpProtocolError);
    assert.throws(() => new FtpReplyParser().push(Buffer.from('220x what\r\n')), FtpProtocolError);
    assert.throws(() => new FtpReplyParser({ maxLineBytes: 16, maxLines: 4 }).push(Buffer.from(`220 ${'a'.repeat(40)}`)), FtpProtocolError);
    const p = new FtpReplyParser({ maxLineBytes: 64, maxLines: 3 });
    assert.throws(() => p.push(Buffer.from('211-a\r\nb\r\nc\r\nd\r\ne\r\n')), FtpProtocolError);
  });

  it('decodes UTF-8 text per line', () => {
    const [r] = new FtpReplyParser().push(Buffer.from('257 "/测试" created\r\n'));
    assert.equal(r!.lines[0], '"/测试" created');
  });
});

describe('passive replies', () => {
  it('parses PASV and EPSV', () => {
    assert.deepEqual(parsePasvReply({ code: 227, lines: ['Entering Passive Mode (127,0,0,1,85,240).'] }), { host: '127.0.0.1', port: 22000 });
    assert.equal(parsePasvReply({ code: 227, lines: ['Entering Passive Mode (127,0,0,1,300,1)'] }), null);
    assert.equal(parsePasvReply({ code: 227, lines: ['nothing'] }), null);
    assert.equal(parseEpsvReply({ code: 229, lines: ['Entering Extended Passive Mode (|||21908|)'] }), 21908);
    assert.equal(parseEpsvReply({ code: 229, lines: ['Entering Extended Passive Mode (!!!21908!)'] }), 21908);
    assert.equal(parseEpsvReply({ code: 229, lines: ['Entering Extended Passive Mode (|||0|)'] }), null);
    assert.equal(parseEpsvReply({ code: 229, lines: ['Entering Extended Passive Mode (||1|21908|)'] }), null);
  });
});
