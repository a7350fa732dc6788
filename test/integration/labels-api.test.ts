import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProject, RegistryClient } from '../helpers/registry-client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { body, json, member, pushUntagged } from './catalog-fixtures.js';

interface Label {
  id: number;
  name: string;
  description: string;
  color: string;
  scope: string;
  project_id: number;
  creation_time: string;
  update_time: string;
}

let s: TestServer;
let admin: RegistryClient;
let anon: RegistryClient;
let owner: RegistryClient;
let dev: RegistryClient;
let outsider: RegistryClient;
let projectId: number;
let otherProjectId: number;
let digest: string;

const idOf = (res: Response) => Number(res.headers.get('location')!.split('/').pop());
const A = '/api/v2.0/projects/lab/repositories/app/artifacts';

beforeAll(async () => {
  s = await startTestServer();
  admin = new RegistryClient(s.url, s.adminBasic);
  anon = new RegistryClient(s.url);
  await createProject(s.url, s.adminBasic, 'lab', false);
  await createProject(s.url, s.adminBasic, 'other', false);
  owner = await member(s, 'owner3', 'lab', 'projectAdmin');
  dev = await member(s, 'dev3', 'lab', 'developer');
  outsider = await member(s, 'outsider3', 'lab', undefined);
  projectId = (await body<{ project_id: number }>(await admin.fetch('/api/v2.0/projects/lab'))).project_id;
  otherProjectId = (await body<{ project_id: number }>(await admin.fetch('/api/v2.0/projects/other'))).project_id;
  const img = await pushUntagged(admin, 'lab/app', 'amd64');
  await admin.pushManifest('lab/app', 'v1', img.body);
  digest = img.digest;
  await admin.pushManifest('lab/app', 'v2', (await pushUntagged(admin, 'lab/app', 'arm64')).body);
});
afterAll(() => s.stop());

describe('labels', () => {
  it('lets system admins create global labels (201 + Location) and nobody else', async () => {
    const res = await admin.fetch('/api/v2.0/labels', json('POST', { name: 'prod', color: '#00FF00', description: 'shipped', scope: 'g' }));
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toMatch(/^\/api\/v2\.0\/labels\/\d+$/);
    const l = await body<Label>(await admin.fetch(res.headers.get('location')!));
    expect(l).toMatchObject({ name: 'prod', color: '#00FF00', description: 'shipped', scope: 'g', project_id: 0 });
    expect(new Date(l.creation_time).toISOString()).toBe(l.creation_time);
    expect((await owner.fetch('/api/v2.0/labels', json('POST', { name: 'mine', scope: 'g' }))).status).toBe(403);
    expect((await anon.fetch('/api/v2.0/labels', json('POST', { name: 'anon', scope: 'g' }))).status).toBe(401);
    expect((await admin.fetch('/api/v2.0/labels', json('POST', { name: 'prod', scope: 'g' }))).status).toBe(409);
  });

  it('lets project admins create project labels; developers may only read them', async () => {
    const res = await owner.fetch('/api/v2.0/labels', json('POST', { name: 'prod', scope: 'p', project_id: projectId }));
    expect(res.status).toBe(201);
    expect((await owner.fetch('/api/v2.0/labels', json('POST', { name: 'prod', scope: 'p', project_id: projectId }))).status).toBe(409);
    expect((await dev.fetch('/api/v2.0/labels', json('POST', { name: 'devs', scope: 'p', project_id: projectId }))).status).toBe(403);
    expect((await owner.fetch('/api/v2.0/labels', json('POST', { name: 'x', scope: 'p', project_id: otherProjectId }))).status).toBe(403);
    expect((await dev.fetch(res.headers.get('location')!)).status).toBe(200);
    expect((await outsider.fetch(res.headers.get('location')!)).status).toBe(403);
  });

  it('refuses bad input with 400', async () => {
    for (const b of [
      { name: '', scope: 'g' },
      { name: 'a'.repeat(129), scope: 'g' },
      { name: 'c', scope: 'g', color: 'green' },
      { name: 'x', scope: 'q' },
      { name: 'x', scope: 'p' },
      { name: 'x', scope: 'g', project_id: projectId },
      { name: 'x', scope: 'g', shade: 'dark' },
    ]) {
      expect((await admin.fetch('/api/v2.0/labels', json('POST', b))).status, JSON.stringify(b)).toBe(400);
    }
    expect((await admin.fetch('/api/v2.0/labels', json('POST', { name: 'x', scope: 'p', project_id: 999999 }))).status).toBe(404);
  });

  it('lists by scope, project and name, with paging headers', async () => {
    await admin.fetch('/api/v2.0/labels', json('POST', { name: 'staging', scope: 'g' }));
    const g = await admin.fetch('/api/v2.0/labels?scope=g');
    expect(g.headers.get('x-total-count')).toBe('2');
    expect((await body<Label[]>(g)).map((l) => l.name)).toEqual(['prod', 'staging']);
    expect((await body<Label[]>(await dev.fetch('/api/v2.0/labels?scope=g&name=STAG'))).map((l) => l.name)).toEqual(['staging']);
    const p = await body<Label[]>(await dev.fetch(`/api/v2.0/labels?scope=p&project_id=${projectId}`));
    expect(p.map((l) => [l.name, l.scope, l.project_id])).toEqual([['prod', 'p', projectId]]);
    expect((await outsider.fetch(`/api/v2.0/labels?scope=p&project_id=${projectId}`)).status).toBe(403);
    expect((await anon.fetch('/api/v2.0/labels?scope=g')).status).toBe(401);
    expect((await admin.fetch('/api/v2.0/labels')).status).toBe(400);
    expect((await admin.fetch('/api/v2.0/labels?scope=p')).status).toBe(400);
    expect((await body<Label[]>(await admin.fetch('/api/v2.0/labels?scope=g&page=2&page_size=1'))).map((l) => l.name)).toEqual(['staging']);
  });

  it('updates name, description and color, never the scope', async () => {
    const [l] = await body<Label[]>(await admin.fetch('/api/v2.0/labels?scope=g&name=staging'));
    expect((await admin.fetch(`/api/v2.0/labels/${l!.id}`, json('PUT', { ...l, description: 'pre-prod', color: '#123456' }))).status).toBe(200);
    expect(await body<Label>(await admin.fetch(`/api/v2.0/labels/${l!.id}`))).toMatchObject({ name: 'staging', description: 'pre-prod', color: '#123456' });
    expect((await admin.fetch(`/api/v2.0/labels/${l!.id}`, json('PUT', { scope: 'p', project_id: projectId }))).status).toBe(400);
    expect((await admin.fetch(`/api/v2.0/labels/${l!.id}`, json('PUT', { name: 'prod' }))).status).toBe(409);
    expect((await owner.fetch(`/api/v2.0/labels/${l!.id}`, json('PUT', { description: 'no' }))).status).toBe(403);
    expect((await admin.fetch('/api/v2.0/labels/999999', json('PUT', { description: 'no' }))).status).toBe(404);
  });
});

describe('labels on artifacts', () => {
  let global: number;
  let local: number;
  let foreign: number;
  beforeAll(async () => {
    global = idOf(await admin.fetch('/api/v2.0/labels', json('POST', { name: 'signed-off', scope: 'g' })));
    local = idOf(await owner.fetch('/api/v2.0/labels', json('POST', { name: 'qa', scope: 'p', project_id: projectId })));
    foreign = idOf(await admin.fetch('/api/v2.0/labels', json('POST', { name: 'theirs', scope: 'p', project_id: otherProjectId })));
  });

  it('attaches global and project labels (409 twice, 400 for another project’s, 404 for none)', async () => {
    expect((await dev.fetch(`${A}/v1/labels`, json('POST', { id: global }))).status).toBe(200);
    expect((await dev.fetch(`${A}/${digest}/labels`, json('POST', { id: local }))).status).toBe(200);
    expect((await dev.fetch(`${A}/v1/labels`, json('POST', { id: local }))).status).toBe(409);
    expect((await dev.fetch(`${A}/v1/labels`, json('POST', { id: foreign }))).status).toBe(400);
    expect((await dev.fetch(`${A}/v1/labels`, json('POST', { id: 999999 }))).status).toBe(404);
    expect((await outsider.fetch(`${A}/v2/labels`, json('POST', { id: global }))).status).toBe(403);
    const a = await body<{ labels: Label[] }>(await dev.fetch(`${A}/v1?with_label=true`));
    expect(a.labels.map((l) => l.name)).toEqual(['signed-off', 'qa']);
  });

  it('filters artifacts by labels: and-list, or-list, exact', async () => {
    await dev.fetch(`${A}/v2/labels`, json('POST', { id: global }));
    const tagged = async (q: string) => (await body<{ tags: { name: string }[] }[]>(await dev.fetch(`${A}?q=${encodeURIComponent(q)}`))).map((x) => x.tags[0]!.name);
    expect(await tagged(`labels=(${global} ${local})`)).toEqual(['v1']);
    expect(await tagged(`labels=(${global}, ${local})`)).toEqual(['v1']);
    expect(await tagged(`labels=${global}`)).toEqual(['v2', 'v1']);
    expect(await tagged(`labels={${local} ${foreign}}`)).toEqual(['v1']);
  });

  it('detaches (404 when not attached) and deleting a label takes it off every artifact', async () => {
    expect((await dev.fetch(`${A}/v1/labels/${local}`, { method: 'DELETE' })).status).toBe(200);
    expect((await dev.fetch(`${A}/v1/labels/${local}`, { method: 'DELETE' })).status).toBe(404);
    expect((await owner.fetch(`/api/v2.0/labels/${global}`, { method: 'DELETE' })).status).toBe(403);
    expect((await admin.fetch(`/api/v2.0/labels/${global}`, { method: 'DELETE' })).status).toBe(200);
    expect((await admin.fetch(`/api/v2.0/labels/${global}`)).status).toBe(404);
    const list = await body<{ labels: Label[] }[]>(await dev.fetch(`${A}?with_label=true`));
    expect(list.flatMap((x) => x.labels)).toEqual([]);
    const logs = await s.server.berth.metadata.audit.list({ resourceType: 'label' }, { limit: 50 });
    expect(logs.items.map((l) => `${l.operator} ${l.operation} ${l.resource}`)).toEqual(expect.arrayContaining(['admin delete signed-off', 'owner3 create qa']));
  });
});
