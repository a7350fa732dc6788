import { statfsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';

let s: TestServer;
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
const get = (path: string, authorization?: string) => fetch(new URL(path, s.url), { headers: authorization ? { authorization } : {} });

beforeAll(async () => {
  s = await startTestServer();
  await s.server.berth.users.create({ username: 'plain', password: 'Plain12345' });
});
afterAll(() => s.stop());

describe('GET /api/v2.0/systeminfo/volumes', () => {
  it("gives a system admin the blob volume's size and free space, as statfs of the data folder says", async () => {
    const res = await get('/api/v2.0/systeminfo/volumes', s.adminBasic);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { storage: { total: number; free: number }[] };
    const st = statfsSync(s.dataDir);
    expect(body.storage).toHaveLength(1);
    expect(body.storage[0]!.total).toBe(st.blocks * st.bsize);
    // free space moves while other tests write beside this one: only its bounds are certain
    expect(body.storage[0]!.free).toBeGreaterThan(0);
    expect(body.storage[0]!.free).toBeLessThanOrEqual(body.storage[0]!.total);
  });

  it('is refused to other users and to anonymous callers', async () => {
    expect((await get('/api/v2.0/systeminfo/volumes', basic('plain', 'Plain12345'))).status).toBe(403);
    expect((await get('/api/v2.0/systeminfo/volumes')).status).toBe(401);
  });
});

describe('GET /api/v2.0/systeminfo/getcert', () => {
  it("answers Harbor's 404 error: Berth makes no root certificate", async () => {
    const res = await get('/api/v2.0/systeminfo/getcert', s.adminBasic);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('NOT_FOUND');
  });
});

describe('GET /api/v2.0/permissions', () => {
  type Perms = { system?: { resource: string; action: string }[]; project: { resource: string; action: string }[] };

  it('lists project permissions to a signed-in user, and system ones to a system admin only', async () => {
    const admin = (await (await get('/api/v2.0/permissions', s.adminBasic)).json()) as Perms;
    const plain = (await (await get('/api/v2.0/permissions', basic('plain', 'Plain12345'))).json()) as Perms;
    expect(plain.system).toBeUndefined();
    expect(plain.project).toEqual(admin.project);
    // Harbor's robot dialog: repository pull/push per project, project creation system-wide
    expect(admin.project).toEqual(expect.arrayContaining([{ resource: 'repository', action: 'pull' }, { resource: 'repository', action: 'push' }]));
    expect(admin.system).toEqual(expect.arrayContaining([{ resource: 'project', action: 'create' }]));
    // and never the rights a robot cannot hold
    expect(admin.system!.some((p) => p.resource === 'user' || p.resource === 'robot')).toBe(false);
  });

  it('every listed pair is accepted by robot creation', async () => {
    const perms = (await (await get('/api/v2.0/permissions', s.adminBasic)).json()) as Perms;
    await fetch(new URL('/api/v2.0/projects', s.url), { method: 'POST', headers: { authorization: s.adminBasic, 'content-type': 'application/json' }, body: JSON.stringify({ project_name: 'perm' }) });
    const res = await fetch(new URL('/api/v2.0/robots', s.url), {
      method: 'POST',
      headers: { authorization: s.adminBasic, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'everything',
        level: 'system',
        duration: 1,
        permissions: [
          { kind: 'system', namespace: '/', access: perms.system },
          { kind: 'project', namespace: 'perm', access: perms.project },
        ],
      }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
  });

  it('is refused to anonymous callers', async () => {
    expect((await get('/api/v2.0/permissions')).status).toBe(401);
  });
});
