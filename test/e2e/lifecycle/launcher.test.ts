/**
 * The `sluice` launcher (packages/daemon/bin/sluice, what npm links as the `sluice` command and the systemd
 * unit runs): it sets glibc's malloc trim threshold and execs node, so the daemon keeps the launcher's PID.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { curl, freeTcpUdpPort, startOrigin, until } from '@sluice/testkit';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../../..');
const LAUNCHER = join(ROOT, 'packages/daemon/bin/sluice');

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    p.stdout.on('data', (d) => (stdout += d));
    const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
    p.on('exit', (code) => (clearTimeout(t), resolve({ code, stdout })));
  });
}


describe('sluice launcher', () => {
  it('runs the daemon under its own PID with the malloc trim threshold set, through an npm-style symlink', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-launcher-'));
    const origin = await startOrigin();
    const port = await freeTcpUdpPort();
    writeFileSync(join(dir, 'main.yaml'), `runtime: {server_offline_delay: 0, task_wait_delay: 0}
resolver: [{name: dns, type: c-ares}]
escaper: [{name: direct, type: direct_fixed, resolver: dns, egress_net_filter: {default: allow, allow: 127.0.0.1}}]
server: [{name: http, type: http_proxy, listen: 127.0.0.1:${port}, escaper: direct}]
`);
    const link = join(dir, 'sluice');
    symlinkSync(LAUNCHER, link); // npm links bin entries into node_modules/.bin like this
    const pidFile = join(dir, 'pid');
    const env: NodeJS.ProcessEnv = { ...process.env, SLUICE_NODE: process.execPath };
    delete env.GLIBC_TUNABLES;
    const child = spawn(link, ['-c', dir, '-p', pidFile, '-C', dir], { env, stdio: 'ignore' });
    try {
      await until('the pid file', () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '');
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      assert.equal(pid, child.pid, 'exec: the daemon is the process the launcher started');
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      assert.ok(environ.includes('GLIBC_TUNABLES=glibc.malloc.trim_threshold=134217728'), environ.filter((e) => e.startsWith('GLIBC')).join());
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      assert.ok(cmdline.some((a) => /packages\/daemon\/bin\/\.\.\/dist\/bin\/sluice\.js$/.test(a)), cmdline.join(' '));
      let r = await curl(['-x', `http://127.0.0.1:${port}`, `${origin.url}/via-launcher`]);
      for (let i = 0; i < 40 && r.status !== 200; i++) {
        await new Promise((res) => setTimeout(res, 100)); // the pid file is written before the listener is up
        r = await curl(['-x', `http://127.0.0.1:${port}`, `${origin.url}/via-launcher`]);
      }
      assert.equal(r.status, 200);
      const exited = new Promise((res) => child.on('exit', res));
      child.kill('SIGINT');
      await exited;
    } finally {
      child.kill('SIGKILL');
      await origin.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("keeps an operator's own trim threshold and appends to other tunables", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-launcher-'));
    try {
      // a stand-in node that prints what it was given
      const fake = join(dir, 'node');
      writeFileSync(fake, '#!/bin/sh\nprintf "%s|%s\\n" "$GLIBC_TUNABLES" "$*"\n');
      chmodSync(fake, 0o755);
      const base = { ...process.env, SLUICE_NODE: fake, SLUICE_NODE_ARGS: '--max-old-space-size=512 --trace-gc' };
      const own = await run(LAUNCHER, ['-t', '-c', 'x y'], { ...base, GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=1048576' });
      assert.equal(own.code, 0);
      const [tunables, args] = own.stdout.trim().split('|');
      assert.equal(tunables, 'glibc.malloc.trim_threshold=1048576');
      assert.match(args, /^--min-semi-space-size=16 --max-old-space-size=512 --trace-gc \S+\/packages\/daemon\/bin\/\.\.\/dist\/bin\/sluice\.js -t -c x y$/);
      const other = await run(LAUNCHER, ['-V'], { ...base, GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' });
      assert.equal(other.stdout.split('|')[0], 'glibc.malloc.arena_max=2:glibc.malloc.trim_threshold=134217728');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
