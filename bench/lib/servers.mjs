// Starts Berth and Debian's docker-registry (CNCF Distribution 2.8.2) on 127.0.0.1 with free
// ports and throwaway data folders, and stops them by PID, also when the bench fails or is
// interrupted.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, rmSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ADMIN_PASSWORD = 'Bench-Admin-1';
/**
 * Where the data folders go: a disk file system, as a registry's data would be. /var/tmp is
 * disk-backed by convention; /tmp is often tmpfs, where fsync is free (see bench/README.md).
 */
export const DATA_BASE = process.env.BENCH_TMPDIR ?? (existsSync('/var/tmp') ? '/var/tmp' : tmpdir());
const PEER_BIN = '/usr/bin/docker-registry';

/** @type {Set<import('node:child_process').ChildProcess>} */
const children = new Set();
const dirs = new Set();

// last resort: whatever way the bench ends, no server outlives it
process.on('exit', () => {
  for (const c of children) {
    try {
      process.kill(c.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    process.stderr.write(`bench: ${signal}, stopping servers\n`);
    process.exit(130);
  });
}

export async function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

export async function startBerth(repoRoot) {
  const dir = await tempDir('berth-bench-');
  const port = await freePort();
  const env = {
    ...withoutBerthVars(process.env),
    BERTH_LISTEN: `127.0.0.1:${port}`,
    BERTH_DATA_DIR: dir,
    BERTH_ADMIN_PASSWORD: ADMIN_PASSWORD,
    BERTH_LOG_LEVEL: 'warn',
  };
  const extraArgs = (process.env.BENCH_BERTH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = launch('berth', process.execPath, [...extraArgs, resolve(repoRoot, 'dist/cli/main.js'), 'serve'], { env, cwd: dir });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(child, url);
  return { name: 'berth', url, pid: child.pid, dir, child, stop: () => stop(child, dir) };
}

export async function startPeer() {
  const dir = await tempDir('distribution-bench-');
  const port = await freePort();
  // Debian's default config, less htpasswd auth (the brief asks for none) and with access logs
  // off: Berth at log level warn writes no per-request line either.
  const config = `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: ${join(dir, 'data')}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${port}
`;
  await writeFile(join(dir, 'config.yml'), config);
  const child = launch('distribution', PEER_BIN, ['serve', join(dir, 'config.yml')], { env: process.env, cwd: dir });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(child, url);
  return { name: 'distribution', url, pid: child.pid, dir, child, stop: () => stop(child, dir) };
}

/** Resident set size of a process, in bytes (Linux /proc). */
export async function rssBytes(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

async function tempDir(prefix) {
  const d = await mkdtemp(join(DATA_BASE, prefix));
  dirs.add(d);
  return d;
}

function withoutBerthVars(env) {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('BERTH_')));
}

function launch(name, cmd, args, opts) {
  // BENCH_SERVER_LOG_DIR keeps each server's stdout (e.g. node --trace-gc) for a post-mortem
  const logDir = process.env.BENCH_SERVER_LOG_DIR;
  const stdout = logDir ? openSync(join(logDir, `${name}.stdout.log`), 'w') : 'ignore';
  const child = spawn(cmd, args, { ...opts, stdio: ['ignore', stdout, 'pipe'] });
  if (typeof stdout === 'number') closeSync(stdout);
  children.add(child);
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  child.on('exit', (code, signal) => {
    children.delete(child);
    child.exitInfo = { code, signal };
    if (!child.stopping) process.stderr.write(`bench: ${name} exited early (${signal ?? code}):\n${stderr}\n`);
  });
  child.stderrTail = () => stderr;
  return child;
}

async function waitReady(child, url) {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitInfo) throw new Error(`server exited before it was ready: ${child.stderrTail()}`);
    try {
      const res = await fetch(`${url}/v2/`);
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 401) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer /v2/ within 20 s`);
}

async function stop(child, dir) {
  child.stopping = true;
  if (!child.exitInfo) {
    const exited = new Promise((r) => child.once('exit', r));
    process.kill(child.pid, 'SIGTERM');
    const timer = setTimeout(() => {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }, 5_000);
    await exited;
    clearTimeout(timer);
  }
  await rm(dir, { recursive: true, force: true });
  dirs.delete(dir);
}
