/**
 * sluice-certgen's config: g3fcgen's YAML (`backend: {ca_certificate, ca_private_key, no_append_ca_cert,
 * keep_serial, max_ttl}`), so a g3fcgen config directory works unchanged. `runtime`, `worker`, `stat` and
 * `log` are g3 daemon sections this single-threaded service accepts and does not use.
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';

export interface CertgenConfig {
  caCertPem: string;
  caKeyPem: string;
  appendCa: boolean;
  keepSerial: boolean;
  /** seconds: the ttl returned to the proxy and the leaf's validity (g3fcgen: at least 300, default 1 day) */
  maxTtl: number;
  /** the file the config came from */
  file: string;
}

const IGNORED_SECTIONS = new Set(['runtime', 'worker', 'stat', 'log', 'controller']);
const DEFAULT_MAX_TTL = 24 * 3600;
const MIN_MAX_TTL = 300;

export class CertgenConfigError extends Error {}

const norm = (k: string) => k.toLowerCase().replace(/-/g, '_');

async function pemValue(v: unknown, baseDir: string, key: string): Promise<string> {
  if (typeof v !== 'string' || v.length === 0) throw new CertgenConfigError(`backend.${key} must be a file path or PEM text`);
  if (v.includes('-----BEGIN')) return v;
  const p = isAbsolute(v) ? v : join(baseDir, v);
  try {
    return await readFile(p, 'utf8');
  } catch (e) {
    throw new CertgenConfigError(`backend.${key}: cannot read ${p}: ${(e as Error).message}`);
  }
}

/** `path` is a YAML file, or a directory holding g3fcgen.yaml (g3fcgen's `-c dir/` form) or sluice-certgen.yaml. */
export async function loadCertgenConfig(path: string): Promise<CertgenConfig> {
  let file = path;
  if ((await stat(path)).isDirectory()) {
    file = join(path, 'g3fcgen.yaml');
    try {
      await stat(file);
    } catch {
      file = join(path, 'sluice-certgen.yaml');
    }
  }
  let doc: unknown;
  try {
    doc = parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new CertgenConfigError(`${file}: ${(e as Error).message}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new CertgenConfigError(`${file}: the root must be a map`);
  let backend: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    const key = norm(k);
    if (key === 'backend') {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new CertgenConfigError(`${file}: backend must be a map`);
      backend = v as Record<string, unknown>;
    } else if (!IGNORED_SECTIONS.has(key)) throw new CertgenConfigError(`${file}: invalid key ${k}`);
  }
  if (!backend) throw new CertgenConfigError(`${file}: no backend section`);
  const baseDir = dirname(file);
  const out: Partial<CertgenConfig> = { appendCa: true, keepSerial: false, maxTtl: DEFAULT_MAX_TTL, file };
  for (const [k, v] of Object.entries(backend)) {
    switch (norm(k)) {
      case 'ca_certificate':
        out.caCertPem = await pemValue(v, baseDir, k);
        break;
      case 'ca_private_key':
        out.caKeyPem = await pemValue(v, baseDir, k);
        break;
      case 'no_append_ca_cert':
        out.appendCa = !bool(v, k);
        break;
      case 'keep_serial':
        out.keepSerial = bool(v, k);
        break;
      case 'max_ttl': {
        if (typeof v !== 'number' || !Number.isInteger(v)) throw new CertgenConfigError(`backend.${k} must be an integer`);
        out.maxTtl = Math.max(v, MIN_MAX_TTL);
        break;
      }
      case 'duration_stats':
      case 'duration_metrics':
        break;
      default:
        throw new CertgenConfigError(`${file}: invalid key backend.${k}`);
    }
  }
  if (!out.caCertPem) throw new CertgenConfigError(`${file}: no ca certificate set`);
  if (!out.caKeyPem) throw new CertgenConfigError(`${file}: no ca private key set`);
  return out as CertgenConfig;
}

function bool(v: unknown, key: string): boolean {
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'yes' || v === 1) return true;
  if (v === 'false' || v === 'no' || v === 0) return false;
  throw new CertgenConfigError(`backend.${key} must be a boolean`);
}
