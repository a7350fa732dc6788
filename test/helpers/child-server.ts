import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rename, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './images.js';

const run = promisify(execFile);

export const CHILD_ADMIN_PASSWORD = 'Admin12345';

export interface ChildServer {
  pid: number;
  url: string;
  /** host:port, for clients that take a registry address */
  host: string;
  dataDir: string;
  password: string;
  adminBasic: string;
  /** settles when the process has exited */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** what the process wrote, last 256 KiB, for failure messages */
  output(): string;
  /** SIGTERM (graceful shutdown) and wait for the exit */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL (a crash) and wait for the exit */
  kill(): Promise<void>;
}

export interface ChildOptions {
  /** reuse a data folder (a restart); a fresh temporary one otherwise */
  dataDir?: string;
  /** more BERTH_* variables */
  env?: Record<string, string>;
}

/**
 * Builds dist/ when a source file is newer than it. Under a lock, so parallel test workers
 * build once; tsc emits even with type errors from work in progress elsewhere, which is only
 * a warning here (the e2e tests judge the behaviour).
 */
export async function ensureBuilt(): Promise<void> {
  const script = [
    'set -e',
    'if [ ! -f dist/cli/main.js ] || [ -n "$(find src -name "*.ts" ! -name "*.test.ts" -newer dist/cli/main.js | head -n1)" ]; then',
    '  node node_modules/typescript/bin/tsc -p tsconfig.build.json >&2 || echo "berth e2e: tsc reported errors; using what it emitted" >&2',
    '  [ ! -f dist/cli/main.js ] || touch dist/cli/main.js',
    'fi',
  ].join('\n');
  await mkdir(join(REPO_ROOT, '.cache'), { recursive: true });
  await run('flock', [join(REPO_ROOT, '.cache/build.lock'), 'bash', '-c', script], { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 });
}

/** A port that was free a moment ago (the child binds it; the race is harmless in tests). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts `node dist/cli/main.js serve` as its own OS process (call ensureBuilt() first) and
 * waits until /api/v2.0/ping answers. Passing the `dataDir` of a stopped or killed server
 * restarts it on the same data.
 */
export async function startChildServer(opts: ChildOptions = {}): Promise<ChildServer> {
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'berth-e2e-')));
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    try {
      return await spawnOn(port, dataDir, opts.env ?? {});
    } catch (e) {
      // another process took the port between freePort() and the bind: try another one
      if (attempt < 3 && e instanceof Error && e.message.includes('EADDRINUSE')) continue;
      throw e;
    }
  }
}

async function spawnOn(port: number, dataDir: string, env: Record<string, string>): Promise<ChildServer> {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'dist/cli/main.js'), 'serve'], {
    cwd: dataDir,
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: process.env['HOME'] ?? '/root',
      TZ: 'UTC',
      BERTH_LISTEN: `127.0.0.1:${port}`,
      BERTH_DATA_DIR: dataDir,
      BERTH_ADMIN_PASSWORD: CHILD_ADMIN_PASSWORD,
      BERTH_LOG_LEVEL: process.env['BERTH_TEST_LOG'] ?? 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (c: Buffer) => {
    out += c.toString('utf8');
    if (out.length > 512 * 1024) out = out.slice(-256 * 1024);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start berth');

  const url = `http://127.0.0.1:${port}`;
  let gone: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void exited.then((e) => (gone = e));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (gone) throw new Error(`berth exited (${gone.code ?? gone.signal}) before it was ready:\n${out}`);
    try {
      const res = await fetch(`${url}/api/v2.0/ping`, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      await exited;
      throw new Error(`berth did not answer /api/v2.0/ping within 60 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    pid,
    url,
    host: `127.0.0.1:${port}`,
    dataDir,
    password: CHILD_ADMIN_PASSWORD,
    adminBasic: `Basic ${Buffer.from(`admin:${CHILD_ADMIN_PASSWORD}`).toString('base64')}`,
    exited,
    output: () => out,
    async stop() {
      if (!gone) process.kill(pid, 'SIGTERM');
      return exited;
    },
    async kill() {
      if (!gone) process.kill(pid, 'SIGKILL');
      await exited;
    },
  };
}

/**
 * No login state leaks in from the machine or between tests: one empty auth file, shared by
 * all test workers (the tests never log in, so it stays empty), written by rename.
 */
let authFile: Promise<string> | undefined;
function emptyAuthFile(): Promise<string> {
  authFile ??= (async () => {
    const dir = join(tmpdir(), 'berth-e2e-auth');
    await mkdir(dir, { recursive: true });
    const tmp = join(dir, `auth.json.${process.pid}`);
    await writeFile(tmp, '{"auths":{}}\n');
    await rename(tmp, join(dir, 'auth.json'));
    return join(dir, 'auth.json');
  })();
  return authFile;
}

/**
 * Runs a real client (skopeo, podman, buildah) and returns its stdout; a failure carries the
 * command and its stderr. Clients see no auth file, so only the credentials given are used.
 */
export async function runTool(cmd: string, args: string[], opts: { timeoutMs?: number } = {}): Promise<string> {
  try {
    const r = await run(cmd, args, {
      maxBuffer: 64 * 1024 * 1024,
      timeout: opts.timeoutMs ?? 300_000,
      env: { ...process.env, REGISTRY_AUTH_FILE: await emptyAuthFile() },
    });
    return r.stdout;
  } catch (e) {
    const err = e as { stderr?: string; code?: number | string; signal?: string };
    throw new ToolError(`${cmd} ${args.join(' ')} failed (${err.code ?? err.signal}): ${err.stderr ?? String(e)}`, err.stderr ?? '');
  }
}

export class ToolError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
  }
}
