/**
 * Control socket locations, following g3proxy: one socket per process (`<group>_<pid>.sock`, the "unique
 * controller") and one per daemon group (`<group>.sock`) that a hot-upgrade successor takes over.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';

/** Where the daemon puts its sockets unless `-C` says otherwise (g3proxy uses /tmp/g3). */
export const DEFAULT_DAEMON_CONTROL_DIR = '/tmp/sluice';
/** systemd's RuntimeDirectory for sluice; sluice-ctl prefers it when it exists (g3proxy-ctl: /run/g3proxy). */
export const SYSTEM_CONTROL_DIR = '/run/sluice';

/** `<dir>/<group>_<pid>.sock` when pid is given, else `<dir>/<group>.sock`; an empty group stays empty (`_.sock`). */
export function controlSocketPath(dir: string, group: string, pid?: number): string {
  // g3 names the group socket `_.sock` when the group is empty, and `_<pid>.sock` falls out of the pid form.
  const file = pid === undefined ? `${group === '' ? '_' : group}.sock` : `${group}_${pid}.sock`;
  return join(dir, file);
}

export function defaultDaemonControlDir(): string {
  return DEFAULT_DAEMON_CONTROL_DIR;
}

/** sluice-ctl's default: the system runtime dir if it exists, else the daemon's default. Run once at startup. */
export function defaultCtlControlDir(): string {
  try {
    if (statSync(SYSTEM_CONTROL_DIR).isDirectory()) return SYSTEM_CONTROL_DIR;
  } catch {
    // absent or unreadable: fall through to the tmp dir, as g3proxy-ctl does
  }
  return DEFAULT_DAEMON_CONTROL_DIR;
}
