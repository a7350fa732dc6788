import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChildServer, ensureBuilt, startChildServer } from '../helpers/child-server.js';
import { REPO_ROOT } from '../helpers/images.js';
import { RegistryClient } from '../helpers/registry-client.js';
import { gzip, tarOf } from '../scanner/tar-fixtures.js';

const REPORT = 'application/vnd.security.vulnerability.report; version=1.1';

let server: ChildServer | undefined;

beforeAll(async () => {
  await ensureBuilt();
}, 600_000);

afterAll(async () => {
  await server?.kill();
  if (server) await rm(server.dataDir, { recursive: true, force: true });
});

describe('berth worker', () => {
  it('runs the scans that a server with jobs.inProcess false only queues, and stops on SIGTERM', async () => {
    server = await startChildServer({ env: { BERTH_JOBS_IN_PROCESS: 'false' } });
    const api = (path: string, init: RequestInit = {}) =>
      fetch(`${server!.url}/api/v2.0${path}`, { ...init, headers: { authorization: server!.adminBasic, 'content-type': 'application/json', 'x-accept-vulnerabilities': REPORT } });
    expect((await api('/projects', { method: 'POST', body: JSON.stringify({ project_name: 'auto', metadata: { auto_scan: 'true' } }) })).status).toBe(201);
    const layer = gzip(tarOf([{ name: 'var/lib/dpkg/status', body: 'Package: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.13.dfsg-1\n\nPackage: bash\nStatus: install ok installed\nVersion: 5.2.15-2+b2\n\n' }]));
    const { digest } = await new RegistryClient(server.url, server.adminBasic).pushImage('auto/app', 'v1', layer);
    const overview = async () => {
      const a = (await (await api(`/projects/auto/repositories/app/artifacts/v1?with_scan_overview=true`)).json()) as { scan_overview?: Record<string, { scan_status: string }> };
      return a.scan_overview?.[REPORT]?.scan_status;
    };
    // queued in the push's transaction; this server does not run it
    expect(await overview()).toBe('Pending');

    const worker = spawn(process.execPath, [join(REPO_ROOT, 'dist/cli/main.js'), 'worker'], {
      cwd: server.dataDir,
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', BERTH_DATA_DIR: server.dataDir, BERTH_JOBS_POLL_MS: '100', BERTH_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    worker.stdout.on('data', (c: Buffer) => (out += c.toString()));
    worker.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));
    try {
      let status: string | undefined;
      for (let i = 0; i < 600 && status !== 'Success'; i++) {
        status = await overview();
        if (status === 'Error') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(status, out).toBe('Success');
      expect(out).toContain('berth worker running queued jobs');
      // the worker's inventory is the server's: the SBOM addition lists the packages it read
      const sbom = (await (await api(`/projects/auto/repositories/app/artifacts/${digest}/additions/sbom`)).json()) as { packages: { name: string; versionInfo?: string }[] };
      // (the first SPDX package is the artifact itself)
      expect(sbom.packages.slice(1).map((p) => `${p.name} ${p.versionInfo}`).sort()).toEqual(['bash 5.2.15-2+b2', 'zlib1g 1:1.2.13.dfsg-1']);
    } finally {
      if (worker.exitCode === null) worker.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect((await server.stop()).code).toBe(0);
  });
});
