import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../helpers/registry-client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** Harbor's project summary, _deletable and /metadatas operations, through the HTTP API. */

let s: TestServer;
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
const DEV = basic('dev', 'Developer123');

function call(path: string, init: { method?: string; body?: unknown; auth?: string } = {}): Promise<Response> {
  return fetch(new URL(path, s.url), {
    method: init.method ?? 'GET',
    headers: { authorization: init.auth ?? s.adminBasic, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
}

beforeAll(async () => {
  s = await startTestServer();
  expect((await call('/api/v2.0/projects', { method: 'POST', body: { project_name: 'extras' } })).status).toBe(201);
  expect((await call('/api/v2.0/projects', { method: 'POST', body: { project_name: 'empty' } })).status).toBe(201);
  for (const [u, role] of [['dev', 2], ['g1', 3], ['g2', 3], ['m', 4]] as const) {
    await s.server.berth.users.create({ username: u, password: u === 'dev' ? 'Developer123' : 'Someone12345' });
    expect((await call('/api/v2.0/projects/extras/members', { method: 'POST', body: { role_id: role, member_user: { username: u } } })).status).toBe(201);
  }
  const registry = new RegistryClient(s.url, s.adminBasic);
  await registry.pushImage('extras/a', 'v1');
  await registry.pushImage('extras/b/c', 'v1');
});
afterAll(() => s.stop());

describe('GET /projects/{p}/summary', () => {
  it('counts repositories and members per role', async () => {
    const res = await call('/api/v2.0/projects/extras/summary');
    expect(res.status).toBe(200);
    // the admin created the project over the API, so it is a member too (projectAdmin)
    expect(await res.json()).toEqual({ repo_count: 2, project_admin_count: 1, maintainer_count: 1, developer_count: 1, guest_count: 2, limited_guest_count: 0 });
  });

  it('is for those who may read the project', async () => {
    expect((await call('/api/v2.0/projects/extras/summary', { auth: DEV })).status).toBe(200);
    expect((await call('/api/v2.0/projects/empty/summary', { auth: DEV })).status).toBe(403);
  });
});

describe('GET /projects/{p}/_deletable', () => {
  it('says a project with repositories cannot be deleted, and an empty one can', async () => {
    expect(await (await call('/api/v2.0/projects/extras/_deletable')).json()).toEqual({ deletable: false, message: 'the project contains 2 repositories' });
    expect(await (await call('/api/v2.0/projects/empty/_deletable')).json()).toEqual({ deletable: true, message: '' });
    expect((await call('/api/v2.0/projects/extras/_deletable', { auth: DEV })).status).toBe(403);
  });
});

describe('/projects/{p}/metadatas', () => {
  it('adds, reads, updates and deletes entries, as the project PUT would validate them', async () => {
    expect((await call('/api/v2.0/projects/extras/metadatas/', { method: 'POST', body: { auto_scan: 'true', severity: 'high' } })).status).toBe(200);
    expect(await (await call('/api/v2.0/projects/extras/metadatas/')).json()).toMatchObject({ auto_scan: 'true', severity: 'high', public: 'false' });
    expect(await (await call('/api/v2.0/projects/extras/metadatas/severity')).json()).toEqual({ severity: 'high' });
    expect((await call('/api/v2.0/projects/extras/metadatas/severity', { method: 'PUT', body: { severity: 'critical' } })).status).toBe(200);
    expect(await (await call('/api/v2.0/projects/extras/metadatas/severity')).json()).toEqual({ severity: 'critical' });
    // the project itself shows the same
    const project = (await (await call('/api/v2.0/projects/extras')).json()) as { metadata: Record<string, string> };
    expect(project.metadata).toMatchObject({ auto_scan: 'true', severity: 'critical' });
    expect((await call('/api/v2.0/projects/extras/metadatas/auto_scan', { method: 'DELETE' })).status).toBe(200);
    expect((await call('/api/v2.0/projects/extras/metadatas/auto_scan')).status).toBe(404);
    expect((await call('/api/v2.0/projects/extras/metadatas/auto_scan', { method: 'DELETE' })).status).toBe(404);
  });

  it('sets public through the project row', async () => {
    expect((await call('/api/v2.0/projects/empty/metadatas/public', { method: 'PUT', body: { public: 'true' } })).status).toBe(200);
    expect((await fetch(new URL('/api/v2.0/projects/empty', s.url))).status).toBe(200);
    expect((await call('/api/v2.0/projects/empty/metadatas/public', { method: 'DELETE' })).status).toBe(400);
  });

  it('refuses unknown keys, bad values and a body that does not match the path', async () => {
    expect((await call('/api/v2.0/projects/extras/metadatas/', { method: 'POST', body: { colour: 'blue' } })).status).toBe(400);
    expect((await call('/api/v2.0/projects/extras/metadatas/', { method: 'POST', body: { severity: 'scary' } })).status).toBe(400);
    expect((await call('/api/v2.0/projects/extras/metadatas/severity', { method: 'PUT', body: { auto_scan: 'true' } })).status).toBe(400);
  });

  it('is for maintainers and up: a developer may neither read nor change them (Harbor rbac_role.go)', async () => {
    expect((await call('/api/v2.0/projects/extras/metadatas/', { auth: DEV })).status).toBe(403);
    expect((await call('/api/v2.0/projects/extras/metadatas/', { method: 'POST', body: { auto_scan: 'false' }, auth: DEV })).status).toBe(403);
  });
});
