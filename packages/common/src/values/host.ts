/**
 * Hosts and domains in config values. Domains are put through IDNA (Unicode → punycode) and lowercased,
 * as g3proxy does with idna::domain_to_ascii, then checked for DNS-name shape.
 */
import { domainToASCII } from 'node:url';
import { ValueError, describe } from './errors.js';
import { normalizeIp } from './ip.js';

/** A host as written in config: an IP literal (ipFamily 4|6, canonical text) or a domain (ipFamily 0). */
export interface Host {
  readonly host: string;
  readonly ipFamily: 0 | 4 | 6;
}

const LABEL = /^[a-z0-9_-]{1,63}$/;

/**
 * Why `domain` (already lowercase ASCII, no trailing dot) is not a usable DNS name, or null if it is.
 * Labels are 1..63 of letters, digits, `-` and `_` (underscores appear in real service names), the whole
 * name at most 253; a last label of only digits is refused because such a name is a mistyped IPv4 address.
 */
export function domainProblem(domain: string): string | null {
  if (domain.length === 0) return 'it is empty';
  if (domain.length > 253) return `it is ${domain.length} characters long (max 253)`;
  const labels = domain.split('.');
  for (const label of labels) {
    if (label.length === 0) return 'it has an empty label (two dots in a row, or a leading dot)';
    if (label.length > 63) return `label '${label.slice(0, 20)}...' is longer than 63 characters`;
    if (!LABEL.test(label)) return `label '${label}' contains characters other than letters, digits, '-' and '_'`;
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) return 'it ends in a number but is not a valid IP address';
  return null;
}

/**
 * Normalises a domain name: IDNA to ASCII, lowercase, one trailing dot dropped. Returns null if the text
 * cannot be a domain. Use {@link parseDomain} for config values (it says why).
 */
export function normalizeDomain(s: string): string | null {
  const d = toAsciiDomain(s);
  return d !== null && domainProblem(d) === null ? d : null;
}

function toAsciiDomain(s: string): string | null {
  let t = s.trim();
  if (t.endsWith('.') && t.length > 1) t = t.slice(0, -1);
  // domainToASCII handles IDNA and case; it returns '' for text no URL host could hold
  const ascii = /^[\x21-\x7e]*$/.test(t) ? t.toLowerCase() : domainToASCII(t);
  return ascii === '' ? null : ascii;
}

/** A domain name value (not an IP literal). `allowLeadingDot` accepts `.example.com` meaning `example.com`. */
export function parseDomain(v: unknown, allowLeadingDot = false): string {
  if (typeof v !== 'string') throw new ValueError(`domain must be a string, got ${describe(v)}`);
  let s = v.trim();
  if (allowLeadingDot && s.startsWith('.')) s = s.slice(1);
  const d = toAsciiDomain(s);
  if (d === null) throw new ValueError(`'${v}' is not a valid domain name`);
  if (normalizeIp(d) !== null) throw new ValueError(`'${v}' is an IP address, a domain name is needed here`);
  const problem = domainProblem(d);
  if (problem) throw new ValueError(`'${v}' is not a valid domain name: ${problem}`);
  return d;
}

/** A host value: an IP literal or a domain name. */
export function parseHost(v: unknown): Host {
  if (typeof v !== 'string') throw new ValueError(`host must be a string, got ${describe(v)}`);
  return hostFromText(v.trim(), v);
}

/** Host text (no port) → Host; `original` is only for messages. */
export function hostFromText(s: string, original: string = s): Host {
  const ip = normalizeIp(s);
  if (ip !== null) return Object.freeze({ host: ip, ipFamily: ip.includes(':') ? 6 : 4 });
  const d = toAsciiDomain(s);
  if (d === null) throw new ValueError(`'${original}' is neither an IP address nor a valid domain name`);
  const problem = domainProblem(d);
  if (problem) {
    const hint = /^[0-9.]+$/.test(d) ? 'neither an IP address nor a valid domain name' : `not a valid domain name: ${problem}`;
    throw new ValueError(`'${original}' is ${hint}`);
  }
  return Object.freeze({ host: d, ipFamily: 0 });
}
