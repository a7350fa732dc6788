import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../helpers/registry-client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let s: TestServer;
let admin: RegistryClient;
let anon: RegistryClient;
let alice: RegistryClient;

beforeAll(async () => {
  s = await startTestServer();
  admin = new RegistryClient(s.url, s.adminBasic);
  anon = new RegistryClient(s.url);
  await s.server.berth.users.create({ username: 'alice', password: 'Alice12345' });
  alice = new RegistryClient(s.url, `Basic ${Buffer.from('alice:Alice12345').toString('base64')}`);
});
afterAll(() => s.stop());

const json = (body: unknown) => ({ method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

describe('Harbor projects API', () => {
  it('has the public library project from the first start', async () => {
    const res = await anon.fetch('/api/v2.0/projects/library');
    expect(res.status).toBe(200);
    const p = (await res.json()) as Record<string, unknown>;
    expect(p).toMatchObject({ name: 'library', metadata: { public: 'true' }, repo_count: 0, deleted: false });
    expect(typeof p['project_id']).toBe('number');
    expect(new Date(p['creation_time'] as string).toISOString()).toBe(p['creation_time']);
  });

  it('creates a project (201 + Location), refuses a duplicate (409) and a bad name (400)', async () => {
    const res = await admin.fetch('/api/v2.0/projects', json({ project_name: 'team-a', public: false }));
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toMatch(/^\/api\/v2\.0\/projects\/\d+$/);
    const dup = await admin.fetch('/api/v2.0/projects', json({ project_name: 'team-a' }));
    expect(dup.status).toBe(409);
    expect(((await dup.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('CONFLICT');
    for (const name of ['Team', '-x', 'a/b', '..', 'a'.repeat(256)]) {
      const bad = await admin.fetch('/api/v2.0/projects', json({ project_name: name }));
      expect(bad.status, name).toBe(400);
      expect(((await bad.json()) as { errors: { code: string; message: string }[] }).errors[0]!.code).toBe('BAD_REQUEST');
    }
    const unknownKey = await admin.fetch('/api/v2.0/projects', json({ project_name: 'x1', colour: 'red' }));
    expect(unknownKey.status).toBe(400);
    const notJson = await admin.fetch('/api/v2.0/projects', { method: 'POST', body: '{', headers: { 'content-type': 'application/json' } });
    expect(notJson.status).toBe(400);
  });

  it('takes metadata.public as Harbor clients send it', async () => {
    expect((await admin.fetch('/api/v2.0/projects', json({ project_name: 'meta-pub', metadata: { public: 'true' } }))).status).toBe(201);
    const p = (await (await anon.fetch('/api/v2.0/projects/meta-pub')).json()) as { metadata: { public: string } };
    expect(p.metadata.public).toBe('true');
  });

  it('answers HEAD ?project_name= with 200 or 404', async () => {
    expect((await admin.fetch('/api/v2.0/projects?project_name=team-a', { method: 'HEAD' })).status).toBe(200);
    expect((await admin.fetch('/api/v2.0/projects?project_name=nope', { method: 'HEAD' })).status).toBe(404);
    expect((await anon.fetch('/api/v2.0/projects?project_name=team-a', { method: 'HEAD' })).status).toBe(401);
  });

  it('gets a project by name or id (X-Is-Resource-Name)', async () => {
    await admin.fetch('/api/v2.0/projects', json({ project_name: '42' }));
    const byName = (await (await admin.fetch('/api/v2.0/projects/42', { headers: { 'x-is-resource-name': 'true' } })).json()) as { name: string; project_id: number };
    expect(byName.name).toBe('42');
    const byId = (await (await admin.fetch(`/api/v2.0/projects/${byName.project_id}`)).json()) as { name: string };
    expect(byId.name).toBe('42');
  });

  it('hides private projects from anonymous users and from users who are not members', async () => {
    expect((await anon.fetch('/api/v2.0/projects/team-a')).status).toBe(401);
    expect((await anon.fetch('/api/v2.0/projects/does-not-exist')).status).toBe(401);
    expect((await alice.fetch('/api/v2.0/projects/team-a')).status).toBe(403);
    const anonList = (await (await anon.fetch('/api/v2.0/projects?page_size=100')).json()) as { name: string }[];
    expect(anonList.map((p) => p.name)).not.toContain('team-a');
    const adminList = (await (await admin.fetch('/api/v2.0/projects?page_size=100')).json()) as { name: string }[];
    expect(adminList.map((p) => p.name)).toContain('team-a');
  });

  it('pages with page/page_size, X-Total-Count and Link, up to page_size 1000', async () => {
    for (let i = 0; i < 12; i++) await admin.fetch('/api/v2.0/projects', json({ project_name: `page-${String(i).padStart(2, '0')}` }));
    const r1 = await admin.fetch('/api/v2.0/projects?name=page-&page=1&page_size=5');
    expect(r1.headers.get('x-total-count')).toBe('12');
    expect(r1.headers.get('link')).toContain('rel="next"');
    const names1 = ((await r1.json()) as { name: string }[]).map((p) => p.name);
    expect(names1).toEqual(['page-00', 'page-01', 'page-02', 'page-03', 'page-04']);
    const r3 = await admin.fetch('/api/v2.0/projects?name=page-&page=3&page_size=5');
    expect(((await r3.json()) as unknown[]).length).toBe(2);
    expect(r3.headers.get('link')).toContain('rel="prev"');
    expect(r3.headers.get('link')).not.toContain('rel="next"');
    expect((await admin.fetch('/api/v2.0/projects?page_size=1000')).status).toBe(200);
    expect((await admin.fetch('/api/v2.0/projects?page_size=1001')).status).toBe(400);
    expect((await admin.fetch('/api/v2.0/projects?page=0')).status).toBe(400);
  });

  it('updates public, and deletes only empty projects (412 otherwise)', async () => {
    await admin.fetch('/api/v2.0/projects', json({ project_name: 'full' }));
    const put = await admin.fetch('/api/v2.0/projects/full', { method: 'PUT', body: JSON.stringify({ metadata: { public: 'true' } }), headers: { 'content-type': 'application/json' } });
    expect(put.status).toBe(200);
    expect((await anon.fetch('/api/v2.0/projects/full')).status).toBe(200);
    await admin.pushImage('full/app', 'v1');
    const del = await admin.fetch('/api/v2.0/projects/full', { method: 'DELETE' });
    expect(del.status).toBe(412);
    expect(((await del.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('PRECONDITION');
    expect((await admin.fetch('/api/v2.0/projects/full')).status).toBe(200);
    expect((await alice.fetch('/api/v2.0/projects/meta-pub', { method: 'DELETE' })).status).toBe(403);
    expect((await admin.fetch('/api/v2.0/projects/meta-pub', { method: 'DELETE' })).status).toBe(200);
    expect((await admin.fetch('/api/v2.0/projects/meta-pub')).status).toBe(404);
  });

  it('answers unknown API paths with Harbor’s error shape', async () => {
    const res = await admin.fetch('/api/v2.0/no-such-thing');
    expect(res.status).toBe(404);
    const body = (await res.json()) as { errors: { code: string; message: string }[] };
    expect(body.errors[0]!.code).toBe('NOT_FOUND');
  });

  it('lets any signed-in user create a project, which that user then administers', async () => {
    expect((await alice.fetch('/api/v2.0/projects', json({ project_name: 'alices', public: false }))).status).toBe(201);
    expect((await alice.fetch('/api/v2.0/projects/alices')).status).toBe(200);
    await alice.pushImage('alices/app', 'v1');
    expect((await anon.fetch('/api/v2.0/projects', json({ project_name: 'anons' }))).status).toBe(401);
    const mine = ((await (await alice.fetch('/api/v2.0/projects?page_size=100')).json()) as { name: string }[]).map((p) => p.name);
    expect(mine).toContain('alices');
    expect(mine).not.toContain('team-a');
  });

  it('refuses project creation by non-admins when project_creation_restriction is adminonly', async () => {
    await s.server.berth.metadata.config.set({ project_creation_restriction: 'adminonly' }, Date.now());
    try {
      // the rule is cached for a few seconds
      let status = 0;
      for (let i = 0; i < 80 && status !== 403; i++) {
        status = (await alice.fetch('/api/v2.0/projects', json({ project_name: `alices-${i}` }))).status;
        if (status !== 403) await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).toBe(403);
      expect((await admin.fetch('/api/v2.0/projects', json({ project_name: 'admins-only' }))).status).toBe(201);
    } finally {
      await s.server.berth.metadata.config.set({ project_creation_restriction: 'everyone' }, Date.now());
    }
  });
});
