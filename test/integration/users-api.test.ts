import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { argon2Hasher } from '../../src/crypto/argon2.hasher.js';
import { createTestSchema, type TestSchema } from '../helpers/postgres.js';
import { RegistryClient } from '../helpers/registry-client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let s: TestServer;
let admin: RegistryClient;
let anon: RegistryClient;

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const body = (method: string, json: unknown) => ({ method, body: JSON.stringify(json), headers: { 'content-type': 'application/json' } });
const errorOf = async (res: Response) => ((await res.json()) as { errors: { code: string; message: string }[] }).errors[0]!;

interface UserJson {
  user_id: number;
  username: string;
  email: string;
  realname: string;
  comment: string;
  sysadmin_flag: boolean;
  admin_role_in_auth: boolean;
  creation_time: string;
  update_time: string;
}

/** Creates a user through the API and returns its id and a client signed in with Basic. */
async function newUser(username: string, password = 'Passw0rdX', more: Record<string, string> = {}): Promise<{ id: number; client: RegistryClient }> {
  const res = await admin.fetch('/api/v2.0/users', body('POST', { username, password, ...more }));
  expect(res.status, await res.clone().text()).toBe(201);
  const id = Number(res.headers.get('location')!.split('/').pop());
  return { id, client: new RegistryClient(s.url, basic(username, password)) };
}

/** A UI session: the cookie and the CSRF token. */
async function uiLogin(username: string, password: string): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(`${s.url}/c/login`, {
    method: 'POST',
    body: new URLSearchParams({ principal: username, password }),
  });
  expect(res.status).toBe(200);
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  return { cookie, csrf: res.headers.get('x-harbor-csrf-token')! };
}

beforeAll(async () => {
  s = await startTestServer();
  admin = new RegistryClient(s.url, s.adminBasic);
  anon = new RegistryClient(s.url);
});
afterAll(() => s.stop());

describe('creating users (POST /api/v2.0/users)', () => {
  it('creates a local user: 201 with Location, and Harbor UserResp on GET', async () => {
    const { id } = await newUser('alice', 'Alice12345', { email: 'alice@example.org', realname: 'Alice A', comment: 'first' });
    const res = await admin.fetch(`/api/v2.0/users/${id}`);
    expect(res.status).toBe(200);
    const u = (await res.json()) as UserJson;
    expect(u).toMatchObject({ user_id: id, username: 'alice', email: 'alice@example.org', realname: 'Alice A', comment: 'first', sysadmin_flag: false, admin_role_in_auth: false });
    expect(new Date(u.creation_time).toISOString()).toBe(u.creation_time);
    expect(u).not.toHaveProperty('password');
    expect((await new RegistryClient(s.url, basic('alice', 'Alice12345')).fetch('/api/v2.0/users/current')).status).toBe(200);
  });

  it('refuses weak passwords, bad names, bad emails and unknown fields with 400', async () => {
    for (const password of ['short1A', 'alllowercase1', 'ALLUPPERCASE1', 'NoDigitsHere', 'A1' + 'a'.repeat(127)]) {
      const res = await admin.fetch('/api/v2.0/users', body('POST', { username: 'weak', password }));
      expect(res.status, password).toBe(400);
      expect((await errorOf(res)).message).toMatch(/password/);
    }
    for (const username of ['-dash', 'has space', 'robot$x', 'a'.repeat(256), '']) {
      expect((await admin.fetch('/api/v2.0/users', body('POST', { username, password: 'Passw0rdX' }))).status, username).toBe(400);
    }
    expect((await admin.fetch('/api/v2.0/users', body('POST', { username: 'e1', password: 'Passw0rdX', email: 'not-an-email' }))).status).toBe(400);
    expect((await admin.fetch('/api/v2.0/users', body('POST', { username: 'e2', password: 'Passw0rdX', realname: 'a#b' }))).status).toBe(400);
    expect((await admin.fetch('/api/v2.0/users', body('POST', { username: 'e3', password: 'Passw0rdX', sysadmin_flag: true }))).status).toBe(400);
    expect((await admin.fetch('/api/v2.0/users', body('POST', { password: 'Passw0rdX' }))).status).toBe(400);
    expect((await admin.fetch('/api/v2.0/users?q=username=weak')).headers.get('x-total-count')).toBe('0');
  });

  it('refuses a taken username or email with 409', async () => {
    await newUser('dup', 'Passw0rdX', { email: 'dup@example.org' });
    const sameName = await admin.fetch('/api/v2.0/users', body('POST', { username: 'dup', password: 'Passw0rdX' }));
    expect(sameName.status).toBe(409);
    expect((await errorOf(sameName)).code).toBe('CONFLICT');
    expect((await admin.fetch('/api/v2.0/users', body('POST', { username: 'dup2', password: 'Passw0rdX', email: 'DUP@example.org' }))).status).toBe(409);
  });

  it('lets only administrators create users: 401 anonymous, 403 for a user', async () => {
    const { client } = await newUser('plain1');
    expect((await anon.fetch('/api/v2.0/users', body('POST', { username: 'x1', password: 'Passw0rdX' }))).status).toBe(401);
    expect((await client.fetch('/api/v2.0/users', body('POST', { username: 'x2', password: 'Passw0rdX' }))).status).toBe(403);
  });
});

describe('listing and searching users', () => {
  beforeAll(async () => {
    for (const n of ['list-ann', 'list-bob', 'list-cid']) await newUser(n, 'Passw0rdX', { email: `${n}@corp.example` });
  });

  it('lists for administrators with paging, X-Total-Count and Link', async () => {
    const res = await admin.fetch('/api/v2.0/users?q=username%3D~list-&page_size=2&page=1');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-total-count')).toBe('3');
    expect(res.headers.get('link')).toContain('rel="next"');
    const first = (await res.json()) as UserJson[];
    expect(first.map((u) => u.username)).toEqual(['list-ann', 'list-bob']);
    const second = (await (await admin.fetch('/api/v2.0/users?q=username%3D~list-&page_size=2&page=2')).json()) as UserJson[];
    expect(second.map((u) => u.username)).toEqual(['list-cid']);
  });

  it('filters by exact or fuzzy username and email, and sorts', async () => {
    const exact = (await (await admin.fetch('/api/v2.0/users?q=username%3Dlist-bob')).json()) as UserJson[];
    expect(exact.map((u) => u.username)).toEqual(['list-bob']);
    const byMail = (await (await admin.fetch('/api/v2.0/users?q=email%3D~%40CORP.example')).json()) as UserJson[];
    expect(byMail.map((u) => u.username).sort()).toEqual(['list-ann', 'list-bob', 'list-cid']);
    const desc = (await (await admin.fetch('/api/v2.0/users?q=username%3D~list-&sort=-username')).json()) as UserJson[];
    expect(desc.map((u) => u.username)).toEqual(['list-cid', 'list-bob', 'list-ann']);
    // a % in the input is literal
    expect((await admin.fetch('/api/v2.0/users?q=username%3D~%25')).headers.get('x-total-count')).toBe('0');
    expect((await admin.fetch('/api/v2.0/users?q=realname%3Dx')).status).toBe(400);
    expect((await admin.fetch('/api/v2.0/users?sort=password')).status).toBe(400);
    expect((await admin.fetch('/api/v2.0/users?page_size=1001')).status).toBe(400);
  });

  it('keeps the list from non-admins (403) and anonymous callers (401)', async () => {
    const { client } = await newUser('list-plain');
    expect((await client.fetch('/api/v2.0/users')).status).toBe(403);
    expect((await anon.fetch('/api/v2.0/users')).status).toBe(401);
  });

  it('searches by username for any signed-in user, with ids and names only', async () => {
    const { client } = await newUser('searcher');
    const res = await client.fetch('/api/v2.0/users/search?username=list-b');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-total-count')).toBe('1');
    const items = (await res.json()) as Record<string, unknown>[];
    expect(items).toHaveLength(1);
    expect(Object.keys(items[0]!).sort()).toEqual(['user_id', 'username']);
    expect(items[0]!['username']).toBe('list-bob');
    expect((await anon.fetch('/api/v2.0/users/search?username=list')).status).toBe(401);
    expect((await client.fetch('/api/v2.0/users/search')).status).toBe(400);
  });
});

describe('profiles (GET/PUT /api/v2.0/users/{id})', () => {
  it('lets users read and change their own profile, not somebody else’s', async () => {
    const me = await newUser('prof-me');
    const other = await newUser('prof-other');
    expect((await me.client.fetch(`/api/v2.0/users/${me.id}`)).status).toBe(200);
    expect((await me.client.fetch(`/api/v2.0/users/${other.id}`)).status).toBe(403);
    // a user who does not exist looks the same to a non-admin as one who does
    expect((await me.client.fetch('/api/v2.0/users/999999')).status).toBe(403);
    expect((await admin.fetch('/api/v2.0/users/999999')).status).toBe(404);
    expect((await anon.fetch(`/api/v2.0/users/${me.id}`)).status).toBe(401);
    expect((await admin.fetch('/api/v2.0/users/not-a-number')).status).toBe(400);

    const put = await me.client.fetch(`/api/v2.0/users/${me.id}`, body('PUT', { email: 'me@example.org', realname: 'Me Myself', comment: 'hi' }));
    expect(put.status).toBe(200);
    const u = (await (await me.client.fetch(`/api/v2.0/users/${me.id}`)).json()) as UserJson;
    expect(u).toMatchObject({ email: 'me@example.org', realname: 'Me Myself', comment: 'hi', username: 'prof-me' });
    expect((await me.client.fetch(`/api/v2.0/users/${other.id}`, body('PUT', { comment: 'x' }))).status).toBe(403);
  });

  it('takes the user object Harbor’s UI sends back, ignoring what is not the profile', async () => {
    const me = await newUser('prof-ui');
    const current = (await (await me.client.fetch('/api/v2.0/users/current')).json()) as UserJson;
    const res = await me.client.fetch(`/api/v2.0/users/${me.id}`, body('PUT', { ...current, username: 'renamed', sysadmin_flag: true, realname: 'UI Name' }));
    expect(res.status).toBe(200);
    const after = (await (await me.client.fetch('/api/v2.0/users/current')).json()) as UserJson;
    expect(after).toMatchObject({ username: 'prof-ui', sysadmin_flag: false, realname: 'UI Name' });
    expect((await me.client.fetch(`/api/v2.0/users/${me.id}`, body('PUT', { password: 'Passw0rdY' }))).status).toBe(400);
    expect((await me.client.fetch(`/api/v2.0/users/${me.id}`, body('PUT', { email: 'bad@' }))).status).toBe(400);
  });

  it('lets administrators change anybody’s profile, but not to a taken email', async () => {
    const a = await newUser('prof-a', 'Passw0rdX', { email: 'a@prof.example' });
    const b = await newUser('prof-b');
    expect((await admin.fetch(`/api/v2.0/users/${b.id}`, body('PUT', { realname: 'Set By Admin' }))).status).toBe(200);
    expect(((await (await admin.fetch(`/api/v2.0/users/${b.id}`)).json()) as UserJson).realname).toBe('Set By Admin');
    expect((await admin.fetch(`/api/v2.0/users/${b.id}`, body('PUT', { email: 'a@prof.example' }))).status).toBe(409);
    // keeping one's own address is no conflict
    expect((await a.client.fetch(`/api/v2.0/users/${a.id}`, body('PUT', { email: 'a@prof.example' }))).status).toBe(200);
    expect((await admin.fetch('/api/v2.0/users/999999', body('PUT', { comment: 'x' }))).status).toBe(404);
  });
});

describe('the current user', () => {
  it('answers Harbor’s UserResp for the caller, 401 for anonymous, 403 for a robot', async () => {
    const me = await newUser('cur-me', 'Passw0rdX', { email: 'cur@example.org' });
    const res = await me.client.fetch('/api/v2.0/users/current');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ user_id: me.id, username: 'cur-me', email: 'cur@example.org', sysadmin_flag: false, admin_role_in_auth: false });
    expect(((await (await admin.fetch('/api/v2.0/users/current')).json()) as UserJson).sysadmin_flag).toBe(true);
    expect((await anon.fetch('/api/v2.0/users/current')).status).toBe(401);

    await s.server.berth.metadata.robots.create({
      name: 'robot$cur',
      description: '',
      level: 'system',
      projectId: null,
      durationDays: -1,
      expiresAt: -1,
      disabled: false,
      creator: 'admin',
      permissions: [],
      secretHash: await argon2Hasher.hash('RobotSecret1'),
      now: Date.now(),
    });
    const robot = new RegistryClient(s.url, basic('robot$cur', 'RobotSecret1'));
    expect((await robot.fetch('/api/v2.0/users/current')).status).toBe(403);
  });

  it('lists the caller’s permissions in a project, absolute or relative, and in the system namespace', async () => {
    const me = await newUser('perm-dev');
    expect((await admin.fetch('/api/v2.0/projects', body('POST', { project_name: 'perm-proj' }))).status).toBe(201);
    const project = (await (await admin.fetch('/api/v2.0/projects/perm-proj')).json()) as { project_id: number };
    const pid = project.project_id;
    await s.server.berth.metadata.members.add({ projectId: pid, entityType: 'u', entityId: me.id, role: 'developer', now: Date.now() });
    s.server.berth.access.forgetDecisions();

    type Perm = { resource: string; action: string };
    const abs = (await (await me.client.fetch(`/api/v2.0/users/current/permissions?scope=/project/${pid}`)).json()) as Perm[];
    expect(abs).toContainEqual({ resource: `/project/${pid}/repository`, action: 'push' });
    expect(abs).toContainEqual({ resource: `/project/${pid}/repository`, action: 'pull' });
    expect(abs).not.toContainEqual({ resource: `/project/${pid}/repository`, action: 'delete' });
    expect(abs).not.toContainEqual({ resource: `/project/${pid}/member`, action: 'create' });
    const rel = (await (await me.client.fetch(`/api/v2.0/users/current/permissions?scope=/project/${pid}&relative=true`)).json()) as Perm[];
    expect(rel).toContainEqual({ resource: 'repository', action: 'push' });
    expect(rel).toHaveLength(abs.length);

    // an administrator holds every project policy, including what a developer lacks
    const adminRel = (await (await admin.fetch(`/api/v2.0/users/current/permissions?scope=/project/${pid}&relative=true`)).json()) as Perm[];
    expect(adminRel).toContainEqual({ resource: 'member', action: 'create' });
    expect(adminRel.length).toBeGreaterThan(rel.length);

    const system = (await (await me.client.fetch('/api/v2.0/users/current/permissions?scope=/system&relative=true')).json()) as Perm[];
    expect(system).toContainEqual({ resource: 'user', action: 'list' });
    expect(system).not.toContainEqual({ resource: 'user', action: 'create' });
    expect(system).not.toContainEqual({ resource: 'configuration', action: 'update' });
    const adminSystem = (await (await admin.fetch('/api/v2.0/users/current/permissions?scope=/system')).json()) as Perm[];
    expect(adminSystem).toContainEqual({ resource: '/system/configuration', action: 'update' });

    expect(await (await me.client.fetch('/api/v2.0/users/current/permissions')).json()).toEqual([]);
    expect(await (await me.client.fetch('/api/v2.0/users/current/permissions?scope=/project/999999')).json()).toEqual([]);
    expect((await anon.fetch('/api/v2.0/users/current/permissions?scope=/system')).status).toBe(401);
  });
});

describe('system administrators (PUT /api/v2.0/users/{id}/sysadmin)', () => {
  it('promotes and demotes; the rights follow at once', async () => {
    const u = await newUser('promoted');
    expect((await u.client.fetch('/api/v2.0/users')).status).toBe(403);
    expect((await admin.fetch(`/api/v2.0/users/${u.id}/sysadmin`, body('PUT', { sysadmin_flag: true }))).status).toBe(200);
    expect((await u.client.fetch('/api/v2.0/users')).status).toBe(200);
    expect(((await (await u.client.fetch('/api/v2.0/users/current')).json()) as UserJson).sysadmin_flag).toBe(true);
    expect((await admin.fetch(`/api/v2.0/users/${u.id}/sysadmin`, body('PUT', { sysadmin_flag: false }))).status).toBe(200);
    expect((await u.client.fetch('/api/v2.0/users')).status).toBe(403);
  });

  it('lets only administrators change the flag, and validates the body', async () => {
    const u = await newUser('wannabe');
    expect((await u.client.fetch(`/api/v2.0/users/${u.id}/sysadmin`, body('PUT', { sysadmin_flag: true }))).status).toBe(403);
    expect((await anon.fetch(`/api/v2.0/users/${u.id}/sysadmin`, body('PUT', { sysadmin_flag: true }))).status).toBe(401);
    expect((await admin.fetch(`/api/v2.0/users/${u.id}/sysadmin`, body('PUT', { sysadmin_flag: 'yes' }))).status).toBe(400);
    expect((await admin.fetch('/api/v2.0/users/999999/sysadmin', body('PUT', { sysadmin_flag: true }))).status).toBe(404);
  });

  it('never demotes the last administrator', async () => {
    const adminId = ((await (await admin.fetch('/api/v2.0/users/current')).json()) as UserJson).user_id;
    const res = await admin.fetch(`/api/v2.0/users/${adminId}/sysadmin`, body('PUT', { sysadmin_flag: false }));
    expect(res.status).toBe(403);
    expect((await errorOf(res)).message).toMatch(/last system administrator/);
    expect(((await (await admin.fetch('/api/v2.0/users/current')).json()) as UserJson).sysadmin_flag).toBe(true);
  });
});

describe('passwords (PUT /api/v2.0/users/{id}/password)', () => {
  it('changes one’s own password with the old one; the old one stops working at once', async () => {
    const u = await newUser('pw-self', 'OldPassw0rd');
    expect((await u.client.fetch('/api/v2.0/users/current')).status).toBe(200);
    const res = await u.client.fetch(`/api/v2.0/users/${u.id}/password`, body('PUT', { old_password: 'OldPassw0rd', new_password: 'NewPassw0rd' }));
    expect(res.status).toBe(200);
    expect((await u.client.fetch('/api/v2.0/users/current')).status).toBe(401);
    expect((await new RegistryClient(s.url, basic('pw-self', 'NewPassw0rd')).fetch('/api/v2.0/users/current')).status).toBe(200);
  });

  it('refuses a wrong or missing old password, a weak or unchanged new one', async () => {
    const u = await newUser('pw-rules', 'OldPassw0rd');
    const put = (json: unknown) => u.client.fetch(`/api/v2.0/users/${u.id}/password`, body('PUT', json));
    expect((await put({ old_password: 'WrongPassw0rd', new_password: 'NewPassw0rd' })).status).toBe(403);
    expect((await put({ new_password: 'NewPassw0rd' })).status).toBe(400);
    expect((await put({ old_password: 'OldPassw0rd', new_password: 'weak' })).status).toBe(400);
    expect((await put({ old_password: 'OldPassw0rd', new_password: 'OldPassw0rd' })).status).toBe(400);
    expect((await put({ old_password: 'OldPassw0rd' })).status).toBe(400);
    expect((await u.client.fetch('/api/v2.0/users/current')).status).toBe(200);
  });

  it('lets an administrator set another user’s password without the old one; nobody else may', async () => {
    const victim = await newUser('pw-victim', 'OldPassw0rd');
    const other = await newUser('pw-other');
    expect((await other.client.fetch(`/api/v2.0/users/${victim.id}/password`, body('PUT', { old_password: 'OldPassw0rd', new_password: 'Hijack3dX' }))).status).toBe(403);
    expect((await anon.fetch(`/api/v2.0/users/${victim.id}/password`, body('PUT', { new_password: 'Hijack3dX' }))).status).toBe(401);
    expect((await admin.fetch(`/api/v2.0/users/${victim.id}/password`, body('PUT', { new_password: 'AdminS3tIt' }))).status).toBe(200);
    expect((await new RegistryClient(s.url, basic('pw-victim', 'AdminS3tIt')).fetch('/api/v2.0/users/current')).status).toBe(200);
    expect((await victim.client.fetch('/api/v2.0/users/current')).status).toBe(401);
  });

  it('ends the user’s other UI sessions and keeps the one that changed it', async () => {
    const u = await newUser('pw-sessions', 'OldPassw0rd');
    const here = await uiLogin('pw-sessions', 'OldPassw0rd');
    const elsewhere = await uiLogin('pw-sessions', 'OldPassw0rd');
    const res = await fetch(`${s.url}/api/v2.0/users/${u.id}/password`, {
      ...body('PUT', { old_password: 'OldPassw0rd', new_password: 'NewPassw0rd' }),
      headers: { 'content-type': 'application/json', cookie: here.cookie, 'x-harbor-csrf-token': here.csrf },
    });
    expect(res.status).toBe(200);
    expect((await fetch(`${s.url}/api/v2.0/users/current`, { headers: { cookie: here.cookie } })).status).toBe(200);
    expect((await fetch(`${s.url}/api/v2.0/users/current`, { headers: { cookie: elsewhere.cookie } })).status).toBe(401);
  });

  it('refuses password and profile changes for directory users (their identity provider owns them)', async () => {
    const u = await newUser('ldap-person', 'Passw0rdX');
    // turn the user into a directory user, as the LDAP onboarding would record it
    const db = new Database(join(s.dataDir, 'berth.db'));
    try {
      db.prepare("update users set auth_source = 'ldap', external_id = 'uid=ldap-person,dc=example' where id = ?").run(u.id);
    } finally {
      db.close();
    }
    const pw = await admin.fetch(`/api/v2.0/users/${u.id}/password`, body('PUT', { new_password: 'NewPassw0rd' }));
    expect(pw.status).toBe(403);
    expect((await errorOf(pw)).message).toMatch(/ldap/);
    expect((await admin.fetch(`/api/v2.0/users/${u.id}`, body('PUT', { comment: 'x' }))).status).toBe(403);
  });
});

describe('deleting users (DELETE /api/v2.0/users/{id})', () => {
  it('deletes the user with its memberships and sessions', async () => {
    const u = await newUser('doomed', 'Passw0rdX');
    expect((await admin.fetch('/api/v2.0/projects', body('POST', { project_name: 'doomed-proj' }))).status).toBe(201);
    const project = (await s.server.berth.metadata.projects.getByName('doomed-proj'))!;
    await s.server.berth.metadata.members.add({ projectId: project.id, entityType: 'u', entityId: u.id, role: 'developer', now: Date.now() });
    const session = await uiLogin('doomed', 'Passw0rdX');

    expect((await u.client.fetch(`/api/v2.0/users/${u.id}`, { method: 'DELETE' })).status).toBe(403);
    expect((await admin.fetch(`/api/v2.0/users/${u.id}`, { method: 'DELETE' })).status).toBe(200);
    expect((await admin.fetch(`/api/v2.0/users/${u.id}`)).status).toBe(404);
    expect(await s.server.berth.metadata.members.rolesOf(project.id, u.id, [])).toEqual([]);
    expect((await s.server.berth.metadata.members.list(project.id, { offset: 0, limit: 100 })).items.map((m) => m.entityId)).not.toContain(u.id);
    expect((await fetch(`${s.url}/api/v2.0/users/current`, { headers: { cookie: session.cookie } })).status).toBe(401);
    expect((await u.client.fetch('/api/v2.0/users/current')).status).toBe(401);
    expect((await admin.fetch(`/api/v2.0/users/${u.id}`, { method: 'DELETE' })).status).toBe(404);
    // the name is free again
    await newUser('doomed', 'Passw0rdX');
  });

  it('refuses to delete oneself, and never deletes the last administrator', async () => {
    const adminId = ((await (await admin.fetch('/api/v2.0/users/current')).json()) as UserJson).user_id;
    expect((await admin.fetch(`/api/v2.0/users/${adminId}`, { method: 'DELETE' })).status).toBe(403);
    // only a caller who is no administrator (a robot with user rights) could try the last one
    const robot = { principal: { kind: 'robot' as const, robotId: 1, name: 'robot$ops', permissions: [] }, ip: '127.0.0.1' };
    await expect(s.server.berth.users.delete(robot, adminId)).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/last system administrator/) });
    expect((await admin.fetch('/api/v2.0/users/current')).status).toBe(200);
  });
});

describe('the audit log', () => {
  it('records every user change with the operator and the source address', async () => {
    const u = await newUser('audited', 'Passw0rdX');
    await admin.fetch(`/api/v2.0/users/${u.id}`, body('PUT', { comment: 'c' }));
    await admin.fetch(`/api/v2.0/users/${u.id}/sysadmin`, body('PUT', { sysadmin_flag: true }));
    await admin.fetch(`/api/v2.0/users/${u.id}/password`, body('PUT', { new_password: 'Rotat3dPw' }));
    await admin.fetch(`/api/v2.0/users/${u.id}`, { method: 'DELETE' });
    const page = await s.server.berth.metadata.audit.list({ resourceType: 'user', resource: 'audited' }, { limit: 20 });
    const ops = page.items.map((r) => ({ op: r.operation, by: r.operator, ip: r.sourceIp, ok: r.result }));
    expect(ops.map((o) => o.op).reverse()).toEqual(['create', 'update', 'update', 'update', 'delete']);
    for (const o of ops) expect(o).toMatchObject({ by: 'admin', ip: '127.0.0.1', ok: 'success' });
    expect(JSON.stringify(page.items)).not.toContain('Rotat3dPw');
  });
});

describe('the last administrator on PostgreSQL, under concurrency', () => {
  let schema: TestSchema;
  let pg: TestServer;
  beforeAll(async () => {
    schema = await createTestSchema();
    pg = await startTestServer({ BERTH_DATABASE_DRIVER: 'postgres', BERTH_DATABASE_URL: schema.url, BERTH_DATABASE_SCHEMA: schema.schema });
  });
  afterAll(async () => {
    await pg?.stop();
    await schema?.drop();
  });

  it('lets only one of two administrators demote the other at the same moment', async () => {
    const pgAdmin = new RegistryClient(pg.url, pg.adminBasic);
    const created = await pgAdmin.fetch('/api/v2.0/users', body('POST', { username: 'second', password: 'Passw0rdX' }));
    const secondId = Number(created.headers.get('location')!.split('/').pop());
    const adminId = ((await (await pgAdmin.fetch('/api/v2.0/users/current')).json()) as UserJson).user_id;
    const clients = new Map([
      [adminId, pgAdmin],
      [secondId, new RegistryClient(pg.url, basic('second', 'Passw0rdX'))],
    ]);
    const other = (id: number) => (id === adminId ? secondId : adminId);
    const demote = (by: number) => clients.get(by)!.fetch(`/api/v2.0/users/${other(by)}/sysadmin`, body('PUT', { sysadmin_flag: false }));
    let survivor = adminId;
    for (let round = 0; round < 5; round++) {
      // both are administrators again
      expect((await clients.get(survivor)!.fetch(`/api/v2.0/users/${other(survivor)}/sysadmin`, body('PUT', { sysadmin_flag: true }))).status).toBe(200);
      expect(await pg.server.berth.metadata.users.count({ sysadmin: true })).toBe(2);
      const statuses = (await Promise.all([demote(adminId), demote(secondId)])).map((r) => r.status);
      // one demotion wins; the other finds its target the last administrator, or its sender
      // already demoted: 403 either way, never two demotions
      expect([...statuses].sort()).toEqual([200, 403]);
      const admins = (await pg.server.berth.metadata.users.list({}, { offset: 0, limit: 10 })).items.filter((u) => u.sysadmin);
      expect(admins).toHaveLength(1);
      survivor = admins[0]!.id;
      expect(survivor).toBe(statuses[0] === 200 ? adminId : secondId);
    }
  });

  it('keeps one administrator when several demotions of each other run in one instant', async () => {
    const users = pg.server.berth.users;
    const ids: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await new RegistryClient(pg.url, pg.adminBasic).fetch('/api/v2.0/users', body('POST', { username: `racer${i}`, password: 'Passw0rdX' }));
      ids.push(Number(res.headers.get('location')!.split('/').pop()));
    }
    const actor = (id: number) => ({ principal: { kind: 'user' as const, userId: id, username: `u${id}`, sysadmin: true }, ip: '127.0.0.1' });
    for (let round = 0; round < 10; round++) {
      const everyone = (await pg.server.berth.metadata.users.list({}, { offset: 0, limit: 100 })).items.map((u) => u.id);
      const keeper = everyone.find((id) => !ids.includes(id))!;
      // only the racers are administrators
      for (const id of ids) await users.setSysadmin(actor(keeper), id, true);
      await users.setSysadmin(actor(ids[0]!), keeper, false);
      const outcomes = await Promise.allSettled(ids.map((id, i) => users.setSysadmin(actor(id), ids[(i + 1) % ids.length]!, false)));
      const admins = await pg.server.berth.metadata.users.count({ sysadmin: true });
      expect(admins).toBe(1);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(ids.length - 1);
      for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toMatchObject({ code: 'FORBIDDEN' });
      // the keeper becomes an administrator again for the next round
      const left = (await pg.server.berth.metadata.users.list({}, { offset: 0, limit: 100 })).items.find((u) => u.sysadmin)!;
      await users.setSysadmin(actor(left.id), keeper, true);
    }
  });
});
