import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../helpers/registry-client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/**
 * Harbor's POST /system/scanAll/stop. Jobs do not run in this process (jobs.inProcess false),
 * so the scan-all's queued scans stay queued until the stop cancels them.
 */

let s: TestServer;
const api = (path: string, init: RequestInit = {}) =>
  fetch(`${s.url}/api/v2.0${path}`, { ...init, headers: { authorization: s.adminBasic, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) } });

beforeAll(async () => {
  s = await startTestServer({ BERTH_JOBS_IN_PROCESS: 'false' });
  expect((await api('/projects', { method: 'POST', body: JSON.stringify({ project_name: 'many' }) })).status).toBe(201);
  const registry = new RegistryClient(s.url, s.adminBasic);
  for (let i = 0; i < 3; i++) await registry.pushImage(`many/app${i}`, 'v1');
});
afterAll(() => s.stop());

describe('POST /api/v2.0/system/scanAll/stop', () => {
  it('is refused while no scan-all runs', async () => {
    expect((await api('/system/scanAll/stop', { method: 'POST' })).status).toBe(400);
  });

  it('cancels the queued scans of the running scan-all, and the artifacts read Stopped', async () => {
    expect((await api('/system/scanAll/schedule', { method: 'POST', body: JSON.stringify({ schedule: { type: 'Manual' } }) })).status).toBe(201);
    // what the scan.all job does when a runner takes it: one queued scan per image
    const run = (await s.server.berth.metadata.scans.latestScanAllRun())!;
    await s.server.berth.scanAll.runScanAll({ runId: run.id }, { signal: new AbortController().signal } as never);
    const before = (await (await api('/scans/all/metrics')).json()) as { total: number; metrics: Record<string, number>; ongoing: boolean };
    expect(before).toMatchObject({ total: 3, ongoing: true, metrics: { Pending: 3 } });

    expect((await api('/system/scanAll/stop', { method: 'POST' })).status).toBe(202);
    const after = (await (await api('/scans/all/metrics')).json()) as { metrics: Record<string, number>; ongoing: boolean };
    expect(after).toMatchObject({ ongoing: false, metrics: { Stopped: 3 } });
    const art = (await (await api('/projects/many/repositories/app0/artifacts/v1?with_scan_overview=true')).json()) as {
      scan_overview?: Record<string, { scan_status: string }>;
    };
    expect(Object.values(art.scan_overview ?? {})[0]?.scan_status).toBe('Stopped');
    // and it is over: a second stop has nothing to stop
    expect((await api('/system/scanAll/stop', { method: 'POST' })).status).toBe(400);
  });

  it('is for system admins', async () => {
    await s.server.berth.users.create({ username: 'plain', password: 'Plain12345' });
    const res = await fetch(`${s.url}/api/v2.0/system/scanAll/stop`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from('plain:Plain12345').toString('base64')}` } });
    expect(res.status).toBe(403);
  });
});
