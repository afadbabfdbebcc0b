import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertValueError } from '../test-helpers.js';
import { parseHostFilterSet } from './host-filter.js';

describe('parseHostFilterSet', () => {
  it('evaluates exact, then child, then regex for domains; first hit decides', () => {
    const set = parseHostFilterSet({
      exact_match: { permit: 'www.bad.com' },
      child_match: { forbid: 'bad.com', permit: 'good.com' },
      regex_match: { forbid: 'evil', permit_log: '^api[.]' },
    });
    assert.equal(set.check('www.bad.com'), 'permit'); // exact beats child
    assert.equal(set.check('x.bad.com'), 'forbid');
    assert.equal(set.check('bad.com'), 'forbid'); // child matches the parent itself
    assert.equal(set.check('evil.good.com'), 'permit'); // child beats regex
    assert.equal(set.check('evil.org'), 'forbid');
    assert.equal(set.check('api.example.org'), 'permit_log');
    assert.equal(set.check('notbad.com'), 'forbid'); // label boundary: no child hit, missed
    assert.equal(set.check('WWW.BAD.COM.'), 'permit'); // case and trailing dot
  });
  it('uses the deepest child match', () => {
    const set = parseHostFilterSet({ child: { forbid: 'example.com', permit: 'ok.example.com' } });
    assert.equal(set.check('a.ok.example.com'), 'permit');
    assert.equal(set.check('a.example.com'), 'forbid');
  });
  it('evaluates exact then subnet for IPs, and never child/regex', () => {
    const set = parseHostFilterSet({
      exact: ['10.0.0.5', '2001:db8::5', 'example.com'],
      subnet: { default: 'allow', forbid: '10.0.0.0/8' },
      child: 'example.org',
      regex: '.', // matches any text, but regexes are never tried on IP hosts
    });
    assert.equal(set.check('10.0.0.5'), 'permit');
    assert.equal(set.check('[2001:db8::5]'), 'permit');
    assert.equal(set.check('::ffff:10.0.0.5'), 'permit');
    assert.equal(set.check('10.0.0.6'), 'forbid');
    assert.equal(set.check('127.0.0.1'), 'forbid'); // subnet rule carries the egress bans
    assert.equal(set.lookup('8.8.8.8'), undefined);
  });
  it('falls back to the strictest default of the configured rules', () => {
    const set = parseHostFilterSet({
      exact: { default: 'permit', forbid: 'a.com' },
      child: { default: 'permit_log', forbid: 'b.com' },
      subnet: { default: 'permit', forbid: '10.0.0.0/8' },
    });
    assert.equal(set.missedAction, 'permit_log');
    assert.equal(set.check('c.com'), 'permit_log');
    assert.equal(set.check('8.8.8.8'), 'permit_log');
    // a rule without default contributes forbid
    const strict = parseHostFilterSet({ exact: { default: 'permit' }, child: 'c.com' });
    assert.equal(strict.missedAction, 'forbid');
    assert.equal(strict.check('c.com'), 'permit');
    assert.equal(strict.check('d.com'), 'forbid');
    // nothing configured: permit
    assert.equal(parseHostFilterSet({}).check('anything.example'), 'permit');
  });
  it('matches {parent, regex} only against the part before the parent', () => {
    const set = parseHostFilterSet({
      regex: [
        { parent: 'example.net', regex: ['^www$', '^img[0-9]+$'] },
        '(?i)^CDN[.]',
      ],
    });
    assert.equal(set.check('www.example.net'), 'permit');
    assert.equal(set.check('img12.example.net'), 'permit');
    assert.equal(set.check('www2.example.net'), 'forbid');
    assert.equal(set.check('x.www.example.net'), 'forbid');
    assert.equal(set.check('cdn.other.org'), 'permit');
    assert.equal(set.check('example.net'), 'forbid'); // empty sub part
    // a lone {parent, regex} map is taken as one record
    assert.equal(parseHostFilterSet({ regex: { parent: 'a.org', regex: 'x' } }).check('x.a.org'), 'permit');
    // the strictest matching regex wins
    const both = parseHostFilterSet({ regex: { permit: 'example', forbid_log: 'bad' } });
    assert.equal(both.check('bad.example.com'), 'forbid_log');
  });
  it('reports errors with their path', () => {
    assertValueError(() => parseHostFilterSet({ exact: ['ok.com', 'bad host'] }), /nor a valid domain name/, ['exact', '1']);
    assertValueError(() => parseHostFilterSet({ child: { forbid: [7] } }), /must be a domain string/, ['child', 'forbid', '0']);
    assertValueError(() => parseHostFilterSet({ regex: ['(unclosed'] }), /invalid regex '\(unclosed'/, ['regex', '0']);
    assertValueError(() => parseHostFilterSet({ regex: [{ parent: 'a.org' }] }), /needs a regex/, ['regex', '0']);
    assertValueError(() => parseHostFilterSet({ regex: [{ parent: 'a.org', regex: ['x', '['] }] }), /invalid regex/, ['regex', '0', 'regex', '1']);
    assertValueError(() => parseHostFilterSet({ suffix: 'a.org' }), /unknown key 'suffix'/, ['suffix']);
    assertValueError(() => parseHostFilterSet({ subnet: { allow: '10.0.0.0/33' } }), /too long/, ['subnet', 'allow']);
    assertValueError(() => parseHostFilterSet(['a.org']), /must be a map/);
  });
});
