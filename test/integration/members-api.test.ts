import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../helpers/registry-client.js';
import { createTestSchema, type TestSchema } from '../helpers/postgres.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let s: TestServer;
let schema: TestSchema | undefined;
let admin: RegistryClient;
let anon: RegistryClient;
const clients: Record<string, RegistryClient> = {};
const ids: Record<string, number> = {};

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
const send = (method: string, body?: unknown) => ({
  method,
  ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
});

interface Member {
  id: number;
  project_id: number;
  entity_name: string;
  role_name: string;
  role_id: number;
  entity_id: number;
  entity_type: string;
}


const alice = () => clients['alice']!;
const bob = () => clients['bob']!;
const carol = () => clients['carol']!;

async function members(c: RegistryClient, query = ''): Promise<{ status: number; items: Member[]; total: string | null; link: string | null }> {
  const res = await c.fetch(`/api/v2.0/projects/team/members${query}`);
  return { status: res.status, items: res.status === 200 ? ((await res.json()) as Member[]) : [], total: res.headers.get('x-total-count'), link: res.headers.get('link') };
}

async function roleIn(c: RegistryClient, project: string): Promise<{ status: number; id?: number; ids?: number[] }> {
  const res = await c.fetch(`/api/v2.0/projects/${project}`);
  if (res.status !== 200) return { status: res.status };
  const p = (await res.json()) as { current_user_role_id: number; current_user_role_ids: number[] };
  return { status: 200, id: p.current_user_role_id, ids: p.current_user_role_ids };
}

describe.each(['sqlite', 'postgres'] as const)('project members API on %s', (dialect) => {
  beforeAll(async () => {
    schema = dialect === 'postgres' ? await createTestSchema() : undefined;
    s = await startTestServer(schema ? { BERTH_DATABASE_DRIVER: 'postgres', BERTH_DATABASE_URL: schema.url, BERTH_DATABASE_SCHEMA: schema.schema } : {});
    admin = new RegistryClient(s.url, s.adminBasic);
    anon = new RegistryClient(s.url);
    for (const name of ['alice', 'bob', 'carol', 'dave', 'erin']) {
      const u = await s.server.berth.users.create({ username: name, password: `${name[0]!.toUpperCase()}${name}12345` });
      ids[name] = u.id;
      clients[name] = new RegistryClient(s.url, basic(name, `${name[0]!.toUpperCase()}${name}12345`));
    }
    // alice creates the project, and so administers it
    expect((await clients['alice']!.fetch('/api/v2.0/projects', send('POST', { project_name: 'team' }))).status).toBe(201);
    expect((await admin.fetch('/api/v2.0/projects', send('POST', { project_name: 'other' }))).status).toBe(201);
  });
  afterAll(async () => {
    await s.stop();
    await schema?.drop();
  });

  it('lists the creator as projectAdmin in Harbor\'s ProjectMemberEntity shape', async () => {
    const { status, items } = await members(alice());
    expect(status).toBe(200);
    expect(items).toEqual([
      { id: expect.any(Number), project_id: expect.any(Number), entity_name: 'alice', role_name: 'projectAdmin', role_id: 1, entity_id: ids['alice'], entity_type: 'u' },
    ]);
    expect(await roleIn(alice(), 'team')).toEqual({ status: 200, id: 1, ids: [1] });
  });

  it('adds a user by username (201 + Location) and by user_id, and the new role takes effect at once', async () => {
    expect(await roleIn(bob(), 'team')).toEqual({ status: 403 });
    const res = await alice().fetch('/api/v2.0/projects/team/members', send('POST', { role_id: 2, member_user: { username: 'bob' } }));
    expect(res.status).toBe(201);
    const location = res.headers.get('location')!;
    expect(location).toMatch(/^\/api\/v2\.0\/projects\/team\/members\/\d+$/);
    const got = (await (await alice().fetch(location)).json()) as Member;
    expect(got).toMatchObject({ entity_name: 'bob', role_name: 'developer', role_id: 2, entity_id: ids['bob'], entity_type: 'u' });
    expect(await roleIn(bob(), 'team')).toEqual({ status: 200, id: 2, ids: [2] });

    const byId = await alice().fetch('/api/v2.0/projects/team/members', send('POST', { role_id: 3, member_user: { user_id: ids['carol'] } }));
    expect(byId.status).toBe(201);
    expect(await roleIn(carol(), 'team')).toEqual({ status: 200, id: 3, ids: [3] });
  });

  it('refuses a duplicate (409), an unknown user (404), a bad role_id or body (400)', async () => {
    const post = (body: unknown) => alice().fetch('/api/v2.0/projects/team/members', send('POST', body));
    const dup = await post({ role_id: 4, member_user: { username: 'bob' } });
    expect(dup.status).toBe(409);
    expect(((await dup.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('CONFLICT');
    expect((await post({ role_id: 2, member_user: { username: 'nobody' } })).status).toBe(404);
    expect((await post({ role_id: 2, member_user: { user_id: 987654 } })).status).toBe(404);
    for (const role_id of [0, 6, 99, -1]) expect((await post({ role_id, member_user: { username: 'dave' } })).status, String(role_id)).toBe(400);
    expect((await post({ member_user: { username: 'dave' } })).status).toBe(400);
    expect((await post({ role_id: 2 })).status).toBe(400);
    expect((await post({ role_id: 2, member_user: {} })).status).toBe(400);
    expect((await post({ role_id: 2, member_user: { username: 'dave' }, member_group: { id: 1 } })).status).toBe(400);
    expect((await post({ role_id: 2, member_user: { username: 'dave' }, colour: 'red' })).status).toBe(400);
    // nothing of the refused requests was added
    expect((await members(alice())).items.map((m) => m.entity_name).sort()).toEqual(['alice', 'bob', 'carol']);
  });

  it('adds groups: by name (OIDC), by LDAP DN, and refuses an unknown group id', async () => {
    const post = (body: unknown) => alice().fetch('/api/v2.0/projects/team/members', send('POST', body));
    expect((await post({ role_id: 3, member_group: { group_name: 'release-managers', group_type: 3 } })).status).toBe(201);
    expect((await post({ role_id: 5, member_group: { ldap_group_dn: 'cn=auditors,ou=groups,dc=example,dc=org', group_type: 1 } })).status).toBe(201);
    expect((await post({ role_id: 3, member_group: { id: 424242 } })).status).toBe(404);
    expect((await post({ role_id: 3, member_group: { group_type: 1 } })).status).toBe(400);
    expect((await post({ role_id: 3, member_group: { group_name: 'x', group_type: 7 } })).status).toBe(400);
    const { items } = await members(alice());
    const groups = items.filter((m) => m.entity_type === 'g');
    expect(groups.map((g) => [g.entity_name, g.role_name])).toEqual([
      ['release-managers', 'guest'],
      ['auditors', 'limitedGuest'],
    ]);
    // the same group again, by its id now
    expect((await post({ role_id: 2, member_group: { id: groups[0]!.entity_id } })).status).toBe(409);
  });

  it('a group member holds the group\'s role', async () => {
    const group = (await members(alice(), '?entityname=release')).items[0]!;
    const dave = await s.server.berth.metadata.users.getByUsername('dave');
    await s.server.berth.metadata.groups.setMemberships(dave!.id, [group.entity_id]);
    s.server.berth.access.forgetUser(dave!.id);
    expect(await roleIn(clients['dave']!, 'team')).toEqual({ status: 200, id: 3, ids: [3] });
  });

  it('filters by entityname and pages with X-Total-Count and Link', async () => {
    const all = await members(alice(), '?page_size=100');
    expect(all.total).toBe(String(all.items.length));
    expect(all.items.length).toBe(5);
    const page1 = await members(alice(), '?page=1&page_size=2');
    expect(page1.items.length).toBe(2);
    expect(page1.total).toBe('5');
    expect(page1.link).toContain('rel="next"');
    const page3 = await members(alice(), '?page=3&page_size=2');
    expect(page3.items.map((m) => m.id)).toEqual([all.items[4]!.id]);
    expect(page3.link).toContain('rel="prev"');
    expect(page3.link).not.toContain('rel="next"');
    const filtered = await members(alice(), '?entityname=BO');
    expect(filtered.items.map((m) => m.entity_name)).toEqual(['bob']);
    expect(filtered.total).toBe('1');
    expect((await members(alice(), '?entityname=%25')).items).toEqual([]);
  });

  it('takes the project by id and by name (X-Is-Resource-Name)', async () => {
    const p = (await (await admin.fetch('/api/v2.0/projects/team')).json()) as { project_id: number };
    const byId = (await (await alice().fetch(`/api/v2.0/projects/${p.project_id}/members?page_size=100`)).json()) as Member[];
    expect(byId.length).toBe(5);
    expect(byId.every((m) => m.project_id === p.project_id)).toBe(true);
    const res = await alice().fetch(`/api/v2.0/projects/team/members`, { headers: { 'x-is-resource-name': 'true' } });
    expect(res.status).toBe(200);
  });

  it('lets members read and list, and only the project admin (or a system admin) change', async () => {
    const bobId = (await members(alice(), '?entityname=bob')).items[0]!.id;
    expect((await members(bob())).status).toBe(200);
    expect((await bob().fetch(`/api/v2.0/projects/team/members/${bobId}`)).status).toBe(200);
    expect((await bob().fetch('/api/v2.0/projects/team/members', send('POST', { role_id: 1, member_user: { username: 'dave' } }))).status).toBe(403);
    expect((await bob().fetch(`/api/v2.0/projects/team/members/${bobId}`, send('PUT', { role_id: 1 }))).status).toBe(403);
    expect((await bob().fetch(`/api/v2.0/projects/team/members/${bobId}`, send('DELETE'))).status).toBe(403);
    expect(await roleIn(bob(), 'team')).toMatchObject({ id: 2 });
    // not a member at all; bad credentials
    expect((await members(clients['erin']!)).status).toBe(403);
    expect((await clients['erin']!.fetch('/api/v2.0/projects/team/members', send('POST', { role_id: 1, member_user: { username: 'erin' } }))).status).toBe(403);
    expect((await members(new RegistryClient(s.url, basic('nobody', 'Nobody12345')))).status).toBe(401);
    expect((await admin.fetch('/api/v2.0/projects/other/members')).status).toBe(200);
    expect((await alice().fetch('/api/v2.0/projects/other/members')).status).toBe(403);
    expect((await anon.fetch('/api/v2.0/projects/team/members')).status).toBe(401);
    expect((await anon.fetch('/api/v2.0/projects/team/members', send('POST', { role_id: 1, member_user: { username: 'dave' } }))).status).toBe(401);
    // a missing project: anonymous callers learn nothing, signed-in ones get 404
    expect((await anon.fetch('/api/v2.0/projects/nope/members')).status).toBe(401);
    expect((await alice().fetch('/api/v2.0/projects/nope/members')).status).toBe(404);
    // a member of another project is not found through this one
    expect((await admin.fetch(`/api/v2.0/projects/other/members/${bobId}`)).status).toBe(404);
    expect((await alice().fetch('/api/v2.0/projects/team/members/abc')).status).toBe(400);
    expect((await alice().fetch('/api/v2.0/projects/team/members/999999', send('PUT', { role_id: 2 }))).status).toBe(404);
    expect((await alice().fetch('/api/v2.0/projects/team/members/999999', send('DELETE'))).status).toBe(404);
  });

  it('changes a role (PUT) and removes a member (DELETE), effective at once', async () => {
    const bobId = (await members(alice(), '?entityname=bob')).items[0]!.id;
    expect((await alice().fetch(`/api/v2.0/projects/team/members/${bobId}`, send('PUT', { role_id: 4 }))).status).toBe(200);
    expect(await roleIn(bob(), 'team')).toEqual({ status: 200, id: 4, ids: [4] });
    expect((await alice().fetch(`/api/v2.0/projects/team/members/${bobId}`, send('PUT', { role_id: 8 }))).status).toBe(400);
    expect((await alice().fetch(`/api/v2.0/projects/team/members/${bobId}`, send('PUT', {}))).status).toBe(400);
    expect(await roleIn(bob(), 'team')).toMatchObject({ id: 4 });
    expect((await alice().fetch(`/api/v2.0/projects/team/members/${bobId}`, send('DELETE'))).status).toBe(200);
    expect(await roleIn(bob(), 'team')).toEqual({ status: 403 });
    expect((await alice().fetch(`/api/v2.0/projects/team/members/${bobId}`)).status).toBe(404);
  });

  it('records every change in the audit log with operator, address and project', async () => {
    const project = await s.server.berth.metadata.projects.getByName('team');
    const log = await s.server.berth.metadata.audit.list({ resourceType: 'member', projectId: project!.id }, { limit: 100 });
    const rows = log.items.map((r) => [r.operator, r.operation, r.resource, r.result]).reverse();
    expect(rows).toEqual([
      ['alice', 'create', 'bob', 'success'],
      ['alice', 'create', 'carol', 'success'],
      ['alice', 'create', 'release-managers', 'success'],
      ['alice', 'create', 'auditors', 'success'],
      ['alice', 'update', 'bob', 'success'],
      ['alice', 'delete', 'bob', 'success'],
    ]);
    expect(log.items.every((r) => r.sourceIp === '127.0.0.1')).toBe(true);
    expect(log.items.find((r) => r.operation === 'update')!.detail).toMatchObject({ project: 'team', role: 'maintainer', previous_role: 'developer' });
  });

  it('lets a project admin remove themselves, as Harbor does', async () => {
    const self = (await members(alice(), '?entityname=alice')).items[0]!;
    expect((await alice().fetch(`/api/v2.0/projects/team/members/${self.id}`, send('DELETE'))).status).toBe(200);
    expect(await roleIn(alice(), 'team')).toEqual({ status: 403 });
    // the system admin still manages the project
    expect((await admin.fetch('/api/v2.0/projects/team/members', send('POST', { role_id: 1, member_user: { username: 'alice' } }))).status).toBe(201);
    expect(await roleIn(alice(), 'team')).toEqual({ status: 200, id: 1, ids: [1] });
  });
});
