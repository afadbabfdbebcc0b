/** Dynamic users from a file (JSON or YAML list of users), re-read at each refresh. */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { FileSourceConfig } from './source-config.js';

export async function fetchFileUsers(cfg: FileSourceConfig): Promise<unknown> {
  const text = await readFile(cfg.path, 'utf8');
  return cfg.format === 'json' ? JSON.parse(text) : parseYaml(text);
}
