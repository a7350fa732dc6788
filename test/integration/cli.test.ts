import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const MAIN = resolve('dist/cli/main.js');
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'berth-cli-'));
  dirs.push(d);
  return d;
};
const children: ChildProcess[] = [];
afterAll(() => {
  // a failed test must not leave its server running
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

function berth(args: string[], env: Record<string, string>, input?: string) {
  const p = run('node', [MAIN, ...args], { env: { PATH: process.env['PATH'] ?? '', ...env } });
  if (input !== undefined) {
    p.child.stdin?.end(input);
  }
  return p;
}

async function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

/** Starts `berth serve`, resolves once it answers, with everything it wrote so far. */
async function serve(env: Record<string, string>): Promise<{ child: ChildProcess; url: string; out: () => string }> {
  const port = await freePort();
  const child = spawn('node', [MAIN, 'serve'], { env: { PATH: process.env['PATH'] ?? '', BERTH_LISTEN: `127.0.0.1:${port}`, ...env } });
  children.push(child);
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    const ok = await fetch(`${url}/api/v2.0/ping`).then((r) => r.ok, () => false);
    if (ok) return { child, url, out: () => out };
    if (child.exitCode !== null) throw new Error(`berth exited: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`berth did not start: ${out}`);
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  child.kill('SIGTERM');
  return exited;
}

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

describe('berth CLI', () => {
  it('config check validates and hides secrets; a bad configuration fails with every problem', async () => {
    const d = tmp();
    const ok = await berth(['config', 'check'], { BERTH_DATA_DIR: d, BERTH_ADMIN_PASSWORD: 'Secret12345' });
    expect(ok.stdout).toContain('configuration is valid');
    expect(ok.stdout).not.toContain('Secret12345');
    const bad = await berth(['config', 'check'], { BERTH_LISTEN_PORT: '1', BERTH_UPLOADS_SESSION_TTL_SECONDS: 'soon' }).catch((e: { code: number; stderr: string }) => e);
    expect((bad as { code: number }).code).toBe(1);
    expect((bad as { stderr: string }).stderr).toContain('BERTH_LISTEN_PORT is not a configuration key');
    expect((bad as { stderr: string }).stderr).toContain('BERTH_UPLOADS_SESSION_TTL_SECONDS');
  });

  it('config schema prints the JSON Schema', async () => {
    const { stdout } = await berth(['config', 'schema'], {});
    const schema = JSON.parse(stdout) as { properties: Record<string, unknown> };
    expect(schema.properties).toHaveProperty('listen');
  });

  it('serve generates, prints once and never logs the admin password; user create/passwd work beside it', async () => {
    const d = tmp();
    const s = await serve({ BERTH_DATA_DIR: d });
    const m = /generated password: (\S+)/.exec(s.out());
    expect(m).not.toBeNull();
    const password = m![1]!;
    expect(s.out().split(password).length - 1).toBe(1);
    const v2 = await fetch(`${s.url}/v2/`, { headers: { authorization: basic('admin', password) } });
    expect(v2.status).toBe(200);

    await berth(['user', 'create', 'alice', '--password-stdin'], { BERTH_DATA_DIR: d }, 'Alice12345\n');
    expect((await fetch(`${s.url}/v2/`, { headers: { authorization: basic('alice', 'Alice12345') } })).status).toBe(200);
    const weak = await berth(['user', 'create', 'bob', '--password-stdin'], { BERTH_DATA_DIR: d }, 'short\n').catch((e: { code: number; stderr: string }) => e);
    expect((weak as { code: number }).code).toBe(1);
    expect((weak as { stderr: string }).stderr).toMatch(/password must be/);

    await berth(['user', 'passwd', 'alice', '--password-stdin'], { BERTH_DATA_DIR: d }, 'Alice67890\n');
    // the running server sees the change at once, although it had the old password cached
    expect((await fetch(`${s.url}/v2/`, { headers: { authorization: basic('alice', 'Alice12345') } })).status).toBe(401);
    expect((await fetch(`${s.url}/v2/`, { headers: { authorization: basic('alice', 'Alice67890') } })).status).toBe(200);
    expect(await stop(s.child)).toBe(0);

    // a restart keeps the admin (no second password) and sees the changed password
    const again = await serve({ BERTH_DATA_DIR: d });
    expect(again.out()).not.toMatch(/generated password/);
    expect((await fetch(`${again.url}/v2/`, { headers: { authorization: basic('alice', 'Alice67890') } })).status).toBe(200);
    expect((await fetch(`${again.url}/v2/`, { headers: { authorization: basic('alice', 'Alice12345') } })).status).toBe(401);
    expect(again.out()).not.toContain('Alice67890');
    expect(await stop(again.child)).toBe(0);
  });

  it('serve refuses to start on an invalid configuration', async () => {
    const r = await berth(['serve'], { BERTH_DATA_DIR: tmp(), BERTH_STORAGE_DRIVER: 'floppy' }).catch((e: { code: number; stderr: string }) => e);
    expect((r as { code: number }).code).toBe(1);
    expect((r as { stderr: string }).stderr).toContain('storage.driver');
  });
});
