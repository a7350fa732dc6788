import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProject, RegistryClient } from '../helpers/registry-client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { body, json, member, pushIndex, pushUntagged } from './catalog-fixtures.js';

interface Repo {
  id: number;
  project_id: number;
  name: string;
  description: string;
  artifact_count: number;
  pull_count: number;
  creation_time: string;
  update_time: string;
}

let s: TestServer;
let admin: RegistryClient;
let anon: RegistryClient;
let dev: RegistryClient;
let guest: RegistryClient;
let outsider: RegistryClient;

const names = async (c: RegistryClient, path: string) => (await body<Repo[]>(await c.fetch(path))).map((r) => r.name);

beforeAll(async () => {
  s = await startTestServer();
  admin = new RegistryClient(s.url, s.adminBasic);
  anon = new RegistryClient(s.url);
  await createProject(s.url, s.adminBasic, 'team', false);
  await createProject(s.url, s.adminBasic, 'hidden', false);
  dev = await member(s, 'dev2', 'team', 'developer');
  guest = await member(s, 'guest2', 'team', 'guest');
  outsider = await member(s, 'outsider2', 'team', undefined);
  for (const r of ['team/api', 'team/web', 'team/tools/lint', 'hidden/secret', 'library/base']) await admin.pushImage(r, 'v1');
  await pushIndex(admin, 'team/api', 'multi');
});
afterAll(() => s.stop());

describe('repositories: listing', () => {
  it('answers Harbor’s Repository JSON with the count of listed artifacts', async () => {
    const res = await admin.fetch('/api/v2.0/projects/team/repositories/api');
    const r = await body<Repo>(res);
    const project = await body<{ project_id: number }>(await admin.fetch('/api/v2.0/projects/team'));
    expect(r).toMatchObject({ name: 'team/api', project_id: project.project_id, description: '', artifact_count: 2, pull_count: 0 });
    expect(new Date(r.creation_time).toISOString()).toBe(r.creation_time);
    expect(new Date(r.update_time).getTime()).toBeGreaterThanOrEqual(new Date(r.creation_time).getTime());
  });

  it('lists the repositories of a project, newest first, with X-Total-Count and Link', async () => {
    const res = await admin.fetch('/api/v2.0/projects/team/repositories?page_size=2');
    expect(res.headers.get('x-total-count')).toBe('3');
    expect(res.headers.get('link')).toContain('rel="next"');
    expect((await body<Repo[]>(res)).map((r) => r.name)).toEqual(['team/tools/lint', 'team/web']);
    expect(await names(admin, '/api/v2.0/projects/team/repositories?page=2&page_size=2')).toEqual(['team/api']);
    expect(await names(admin, '/api/v2.0/projects/team/repositories?sort=name')).toEqual(['team/api', 'team/tools/lint', 'team/web']);
    expect(await names(admin, '/api/v2.0/projects/team/repositories?sort=-name')).toEqual(['team/web', 'team/tools/lint', 'team/api']);
  });

  it('filters with q on name (exact, fuzzy, or-list) and project_id', async () => {
    expect(await names(admin, '/api/v2.0/projects/team/repositories?q=name%3D~WE')).toEqual(['team/web']);
    expect(await names(admin, '/api/v2.0/projects/team/repositories?q=name%3Dteam%2Fapi')).toEqual(['team/api']);
    expect(await names(admin, `/api/v2.0/repositories?sort=name&q=${encodeURIComponent('name={team/api hidden/secret}')}`)).toEqual(['hidden/secret', 'team/api']);
    const hidden = await body<{ project_id: number }>(await admin.fetch('/api/v2.0/projects/hidden'));
    expect(await names(admin, `/api/v2.0/repositories?q=project_id%3D${hidden.project_id}`)).toEqual(['hidden/secret']);
    for (const q of ['q=colour%3Dred', 'q=project_id%3Dx', 'sort=size', 'q=name%3D[a~b]']) {
      expect((await admin.fetch(`/api/v2.0/repositories?${q}`)).status, q).toBe(400);
    }
    expect((await admin.fetch('/api/v2.0/repositories?page_size=1000')).status).toBe(200);
    expect((await admin.fetch('/api/v2.0/repositories?page_size=1001')).status).toBe(400);
  });

  it('lists all repositories to admins, public and member ones to users, public ones to anonymous callers', async () => {
    const all = await names(admin, '/api/v2.0/repositories?sort=name&page_size=100');
    expect(all).toEqual(['hidden/secret', 'library/base', 'team/api', 'team/tools/lint', 'team/web']);
    expect(await names(dev, '/api/v2.0/repositories?sort=name')).toEqual(['library/base', 'team/api', 'team/tools/lint', 'team/web']);
    expect(await names(outsider, '/api/v2.0/repositories?sort=name')).toEqual(['library/base']);
    expect(await names(anon, '/api/v2.0/repositories?sort=name')).toEqual(['library/base']);
    const res = await anon.fetch('/api/v2.0/repositories');
    expect(res.headers.get('x-total-count')).toBe('1');
  });

  it('refuses the repositories of a private project to outsiders (403) and anonymous callers (401); 404 for a missing project', async () => {
    expect((await outsider.fetch('/api/v2.0/projects/team/repositories')).status).toBe(403);
    expect((await anon.fetch('/api/v2.0/projects/team/repositories')).status).toBe(401);
    expect((await anon.fetch('/api/v2.0/projects/team/repositories/api')).status).toBe(401);
    expect((await guest.fetch('/api/v2.0/projects/team/repositories')).status).toBe(200);
    expect((await anon.fetch('/api/v2.0/projects/library/repositories')).status).toBe(200);
    expect((await admin.fetch('/api/v2.0/projects/ghost/repositories')).status).toBe(404);
    expect((await admin.fetch('/api/v2.0/projects/team/repositories/ghost')).status).toBe(404);
  });
});

describe('repositories: names with a slash', () => {
  it('takes repository_name encoded once, twice or plain', async () => {
    for (const n of ['tools%2Flint', 'tools%252Flint', 'tools/lint']) {
      expect((await body<Repo>(await admin.fetch(`/api/v2.0/projects/team/repositories/${n}`))).name, n).toBe('team/tools/lint');
    }
    expect((await admin.fetch('/api/v2.0/projects/team/repositories/..%2Fhidden%2Fsecret')).status).toBe(400);
    expect((await admin.fetch('/api/v2.0/projects/team/repositories/Bad%20Name')).status).toBe(400);
  });
});

describe('repositories: update and delete', () => {
  it('updates the description (Harbor clients PUT the whole object back)', async () => {
    const current = await body<Repo>(await admin.fetch('/api/v2.0/projects/team/repositories/web'));
    const put = await dev.fetch('/api/v2.0/projects/team/repositories/web', json('PUT', { ...current, description: 'the web front end' }));
    expect(put.status).toBe(200);
    expect((await body<Repo>(await admin.fetch('/api/v2.0/projects/team/repositories/web'))).description).toBe('the web front end');
    expect((await guest.fetch('/api/v2.0/projects/team/repositories/web', json('PUT', { description: 'x' }))).status).toBe(403);
    expect((await admin.fetch('/api/v2.0/projects/team/repositories/web', json('PUT', { colour: 'x' }))).status).toBe(400);
  });

  it('deletes a repository with its manifests and tags, keeps the blobs, and lets the project go', async () => {
    await createProject(s.url, s.adminBasic, 'shortlived', false);
    const img = await pushUntagged(admin, 'shortlived/app', 'amd64');
    await admin.pushManifest('shortlived/app', 'v1', img.body);
    await pushIndex(admin, 'shortlived/app', 'multi');
    const layer = (JSON.parse(img.body) as { layers: { digest: string }[] }).layers[0]!.digest;
    expect((await dev.fetch('/api/v2.0/projects/team/repositories/web', { method: 'DELETE' })).status).toBe(403);
    expect((await admin.fetch('/api/v2.0/projects/shortlived/repositories/app', { method: 'DELETE' })).status).toBe(200);
    expect((await admin.fetch('/api/v2.0/projects/shortlived/repositories/app')).status).toBe(404);
    expect((await admin.fetch('/v2/shortlived/app/manifests/v1')).status).toBe(404);
    expect((await admin.fetch('/v2/shortlived/app/tags/list')).status).toBe(404);
    // blobs are garbage collection's business: the row stays
    expect(await s.server.berth.metadata.blobs.get(layer)).toBeDefined();
    expect((await admin.fetch('/api/v2.0/projects/shortlived', { method: 'DELETE' })).status).toBe(200);
    const logs = await s.server.berth.metadata.audit.list({ resourceType: 'repository' }, { limit: 10 });
    expect(logs.items.map((l) => `${l.operator} ${l.operation} ${l.resource}`)).toEqual(
      expect.arrayContaining(['admin delete shortlived/app', 'dev2 update team/web']),
    );
    // the same name can be pushed again, from nothing
    await admin.pushImage('library/again', 'v1');
    expect((await admin.fetch('/api/v2.0/projects/library/repositories/again', { method: 'DELETE' })).status).toBe(200);
    await admin.pushImage('library/again', 'v2');
    expect((await body<Repo>(await admin.fetch('/api/v2.0/projects/library/repositories/again'))).artifact_count).toBe(1);
  });
});
