import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../helpers/registry-client.js';
import { createTestSchema, type TestSchema } from '../helpers/postgres.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let s: TestServer;
let schema: TestSchema | undefined;
let admin: RegistryClient;
let anon: RegistryClient;
const users: Record<string, RegistryClient> = {};
let teamId: number;

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
const send = (method: string, body?: unknown) => ({
  method,
  ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
});
const DAY_S = 86_400;

interface Created {
  id: number;
  name: string;
  secret: string;
  creation_time: string;
  expires_at: number;
}

interface Robot {
  id: number;
  name: string;
  description: string;
  level: string;
  duration: number;
  editable: boolean;
  disable: boolean;
  expires_at: number;
  permissions: { kind: string; namespace: string; access: { resource: string; action: string }[] }[];
  creation_time: string;
  update_time: string;
}

const projectPerm = (namespace: string, ...pairs: string[]) => ({
  kind: 'project',
  namespace,
  access: pairs.map((p) => ({ resource: p.split(':')[0]!, action: p.split(':')[1]! })),
});

async function createRobot(c: RegistryClient, body: Record<string, unknown>): Promise<{ status: number; created?: Created; location?: string | null }> {
  const res = await c.fetch('/api/v2.0/robots', send('POST', body));
  if (res.status !== 201) return { status: res.status };
  return { status: 201, created: (await res.json()) as Created, location: res.headers.get('location') };
}

const robotClient = (r: Created) => new RegistryClient(s.url, basic(r.name, r.secret));
/** /v2 through Basic: 200 when the robot may pull the tag, else the refusal's status */
const pullStatus = async (c: RegistryClient, ref: string) => (await c.fetch(`/v2/${ref.replace(':', '/manifests/')}`, { method: 'HEAD' })).status;


const alice = () => users['alice']!;
const bob = () => users['bob']!;

describe.each(['sqlite', 'postgres'] as const)('robot accounts API on %s', (dialect) => {
  beforeAll(async () => {
    schema = dialect === 'postgres' ? await createTestSchema() : undefined;
    s = await startTestServer(schema ? { BERTH_DATABASE_DRIVER: 'postgres', BERTH_DATABASE_URL: schema.url, BERTH_DATABASE_SCHEMA: schema.schema } : {});
    admin = new RegistryClient(s.url, s.adminBasic);
    anon = new RegistryClient(s.url);
    for (const name of ['alice', 'bob', 'mia', 'erin']) {
      await s.server.berth.users.create({ username: name, password: `${name[0]!.toUpperCase()}${name}12345` });
      users[name] = new RegistryClient(s.url, basic(name, `${name[0]!.toUpperCase()}${name}12345`));
    }
    expect((await users['alice']!.fetch('/api/v2.0/projects', send('POST', { project_name: 'team' }))).status).toBe(201);
    expect((await admin.fetch('/api/v2.0/projects', send('POST', { project_name: 'other' }))).status).toBe(201);
    teamId = (await s.server.berth.metadata.projects.getByName('team'))!.id;
    expect((await users['alice']!.fetch('/api/v2.0/projects/team/members', send('POST', { role_id: 2, member_user: { username: 'bob' } }))).status).toBe(201);
    expect((await users['alice']!.fetch('/api/v2.0/projects/team/members', send('POST', { role_id: 4, member_user: { username: 'mia' } }))).status).toBe(201);
    await admin.pushImage('library/pub', 'v1');
    await admin.pushImage('other/app', 'v1');
  });
  afterAll(async () => {
    await s.stop();
    await schema?.drop();
  });

  let ci: Created;

  it('creates a project robot: 201, Location, robot$<project>+<name>, the secret once, expiry in days', async () => {
    const r = await createRobot(alice(), {
      name: 'ci',
      description: 'pipeline',
      level: 'project',
      duration: 5,
      permissions: [projectPerm('team', 'repository:push', 'repository:pull')],
    });
    expect(r.status).toBe(201);
    ci = r.created!;
    expect(r.location).toBe(`/api/v2.0/robots/${ci.id}`);
    expect(ci.name).toBe('robot$team+ci');
    expect(ci.secret).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(ci.expires_at).toBe(Math.floor(Date.parse(ci.creation_time) / 1000) + 5 * DAY_S);

    const got = (await (await alice().fetch(`/api/v2.0/robots/${ci.id}`)).json()) as Robot & { secret?: string };
    expect(got).toMatchObject({
      id: ci.id,
      name: 'robot$team+ci',
      description: 'pipeline',
      level: 'project',
      duration: 5,
      editable: true,
      disable: false,
      expires_at: ci.expires_at,
      permissions: [projectPerm('team', 'repository:push', 'repository:pull')],
    });
    expect(got.secret).toBeUndefined();
    // stored hashed, never in clear
    const stored = await s.server.berth.metadata.robots.getWithSecret('robot$team+ci');
    expect(stored!.secretHash).not.toContain(ci.secret);
    expect(stored!.secretHash).toMatch(/^\$argon2/);
  });

  it('the robot pushes and pulls with Basic and with a token limited to its grant', async () => {
    const robot = robotClient(ci);
    await robot.pushImage('team/app', 'v1');
    expect(await pullStatus(robot, 'team/app:v1')).toBe(200);
    // a public project's pulls are everybody's, robots included; its pushes are not
    expect(await pullStatus(robot, 'library/pub:v1')).toBe(200);
    expect((await robot.fetch('/v2/library/pub/blobs/uploads/', { method: 'POST' })).status).toBe(403);
    expect(await pullStatus(robot, 'other/app:v1')).toBe(403);
    const q = new URLSearchParams({ service: 'berth' });
    q.append('scope', 'repository:team/app:pull,push,delete');
    q.append('scope', 'repository:other/app:pull');
    const token = (await (await fetch(`${s.url}/service/token?${q}`, { headers: { authorization: basic(ci.name, ci.secret) } })).json()) as { token: string };
    expect((decodeJwt(token.token) as { access: unknown }).access).toEqual([
      { type: 'repository', name: 'team/app', actions: ['pull', 'push'] },
      { type: 'repository', name: 'other/app', actions: [] },
    ]);
    // a robot is no user of the management API beyond its grant
    expect((await robot.fetch('/api/v2.0/projects/team/members')).status).toBe(403);
  });

  it('takes the default duration from robot_token_duration (30 days unless configured), and -1 for never', async () => {
    const def = await createRobot(alice(), { name: 'default-days', level: 'project', permissions: [projectPerm('team', 'repository:pull')] });
    expect(def.status).toBe(201);
    expect(def.created!.expires_at).toBe(Math.floor(Date.parse(def.created!.creation_time) / 1000) + 30 * DAY_S);
    await s.server.berth.metadata.config.set({ robot_token_duration: 7 }, Date.now());
    const seven = await createRobot(alice(), { name: 'seven-days', level: 'project', duration: 0, permissions: [projectPerm('team', 'repository:pull')] });
    expect(seven.created!.expires_at).toBe(Math.floor(Date.parse(seven.created!.creation_time) / 1000) + 7 * DAY_S);
    const never = await createRobot(alice(), { name: 'forever', level: 'project', duration: -1, permissions: [projectPerm('team', 'repository:pull')] });
    expect(never.created!.expires_at).toBe(-1);
    expect(await pullStatus(robotClient(never.created!), 'team/app:v1')).toBe(200);
  });

  it('refuses malformed requests with 400', async () => {
    const good = { name: 'x', level: 'project', permissions: [projectPerm('team', 'repository:pull')] };
    const bad: Record<string, unknown>[] = [
      { ...good, name: 'CI' },
      { ...good, name: 'a+b' },
      { ...good, name: '-a' },
      { ...good, name: '' },
      { ...good, level: 'galaxy' },
      { ...good, duration: -2 },
      { ...good, permissions: [] },
      { ...good, permissions: [projectPerm('team')] },
      { ...good, permissions: [projectPerm('team', 'repository:pull'), projectPerm('other', 'repository:pull')] },
      { ...good, permissions: [projectPerm('team', 'repository:fly')] },
      { ...good, permissions: [projectPerm('team', 'galaxy:pull')] },
      { ...good, permissions: [projectPerm('team', 'repository:*')] },
      { ...good, permissions: [projectPerm('*', 'repository:pull')] },
      { ...good, permissions: [{ kind: 'system', namespace: '/', access: [{ resource: 'catalog', action: 'list' }] }] },
      { ...good, permissions: [{ ...projectPerm('team'), access: [{ resource: 'repository', action: 'pull', effect: 'deny' }] }] },
      { ...good, level: 'system', permissions: [{ kind: 'system', namespace: '/', access: [{ resource: 'user', action: 'create' }] }] },
      { ...good, secret: 'weak' },
      { ...good, colour: 'red' },
    ];
    for (const body of bad) expect((await alice().fetch('/api/v2.0/robots', send('POST', body))).status, JSON.stringify(body)).toBe(400);
    const dup = await createRobot(alice(), { ...good, name: 'ci' });
    expect(dup.status).toBe(409);
  });

  it('grants no more than the creator holds: only project admins make project robots, system robots are a system admin\'s', async () => {
    const body = { name: 'bob-bot', level: 'project', permissions: [projectPerm('team', 'repository:pull')] };
    expect((await createRobot(bob(), body)).status).toBe(403);
    expect((await createRobot(users['mia']!, body)).status).toBe(403);
    expect((await createRobot(users['erin']!, body)).status).toBe(403);
    expect((await createRobot(anon, body)).status).toBe(401);
    expect((await createRobot(alice(), { ...body, permissions: [projectPerm('other', 'repository:pull')] })).status).toBe(403);
    const system = { name: 'sys', level: 'system', permissions: [projectPerm('team', 'repository:pull')] };
    expect((await createRobot(alice(), system)).status).toBe(403);
    expect((await createRobot(admin, { ...system, permissions: [projectPerm('nope', 'repository:pull')] })).status).toBe(404);
    expect((await createRobot(admin, { ...body, permissions: [projectPerm('nope', 'repository:pull')] })).status).toBe(404);

    // a robot that may create robots grants only what it holds itself
    const maker = await createRobot(alice(), { name: 'maker', level: 'project', permissions: [projectPerm('team', 'robot:create', 'repository:pull')] });
    const m = robotClient(maker.created!);
    expect((await createRobot(m, { name: 'child', level: 'project', permissions: [projectPerm('team', 'repository:pull')] })).status).toBe(201);
    expect((await createRobot(m, { name: 'greedy', level: 'project', permissions: [projectPerm('team', 'repository:push')] })).status).toBe(403);
    expect((await createRobot(m, { name: 'elsewhere', level: 'project', permissions: [projectPerm('other', 'repository:pull')] })).status).toBe(403);
  });

  it('makes system robots over every project (namespace *) and the system namespace', async () => {
    const r = await createRobot(admin, {
      name: 'mirror',
      level: 'system',
      duration: -1,
      permissions: [projectPerm('*', 'repository:pull'), { kind: 'system', namespace: '/', access: [{ resource: 'catalog', action: 'list' }] }],
    });
    expect(r.status).toBe(201);
    expect(r.created!.name).toBe('robot$mirror');
    const robot = robotClient(r.created!);
    expect(await pullStatus(robot, 'team/app:v1')).toBe(200);
    expect(await pullStatus(robot, 'other/app:v1')).toBe(200);
    expect((await robot.fetch('/v2/team/app/blobs/uploads/', { method: 'POST' })).status).toBe(403);
    expect((await robot.fetch('/v2/_catalog')).status).toBe(200);
    const got = (await (await admin.fetch(`/api/v2.0/robots/${r.created!.id}`)).json()) as Robot;
    expect(got.permissions).toEqual([projectPerm('*', 'repository:pull'), { kind: 'system', namespace: '/', access: [{ resource: 'catalog', action: 'list' }] }]);
  });

  it('lists system robots for system admins, a project\'s robots for its members (q=Level=project,ProjectID=…)', async () => {
    const sys = await admin.fetch('/api/v2.0/robots');
    expect(sys.status).toBe(200);
    expect(((await sys.json()) as Robot[]).map((r) => r.name)).toEqual(['robot$mirror']);
    expect((await alice().fetch('/api/v2.0/robots')).status).toBe(403);
    expect((await anon.fetch('/api/v2.0/robots')).status).toBe(401);

    const q = `?q=${encodeURIComponent(`Level=project,ProjectID=${teamId}`)}`;
    const list = await alice().fetch(`/api/v2.0/robots${q}&page_size=3`);
    expect(list.status).toBe(200);
    expect(list.headers.get('x-total-count')).toBe('6');
    expect(list.headers.get('link')).toContain('rel="next"');
    expect(((await list.json()) as Robot[]).map((r) => r.name)).toEqual(['robot$team+ci', 'robot$team+default-days', 'robot$team+seven-days']);
    // developers and maintainers read robots (Harbor's robot:read,list), outsiders do not
    expect((await bob().fetch(`/api/v2.0/robots${q}`)).status).toBe(200);
    expect((await users['mia']!.fetch(`/api/v2.0/robots${q}`)).status).toBe(200);
    expect((await users['erin']!.fetch(`/api/v2.0/robots${q}`)).status).toBe(403);
    const named = (await (await alice().fetch(`/api/v2.0/robots?q=${encodeURIComponent(`Level=project,ProjectID=${teamId},name=~days`)}`)).json()) as Robot[];
    expect(named.map((r) => r.name)).toEqual(['robot$team+default-days', 'robot$team+seven-days']);
    const exact = (name: string) => alice().fetch(`/api/v2.0/robots?q=${encodeURIComponent(`Level=project,ProjectID=${teamId},name=${name}`)}`);
    expect(((await (await exact('robot$team+ci')).json()) as Robot[]).map((r) => r.name)).toEqual(['robot$team+ci']);
    expect(await (await exact('robot$team+c')).json()).toEqual([]);
    expect((await alice().fetch(`/api/v2.0/robots?q=${encodeURIComponent('colour=red')}`)).status).toBe(400);
    expect((await alice().fetch(`/api/v2.0/robots?q=Level=project`)).status).toBe(400);
    expect((await alice().fetch(`/api/v2.0/robots?q=${encodeURIComponent('Level=project,ProjectID=x')}`)).status).toBe(400);
    expect((await alice().fetch(`/api/v2.0/robots?q=Level=galaxy`)).status).toBe(400);
    expect((await alice().fetch(`/api/v2.0/robots?q=${encodeURIComponent('Level=project,ProjectID=999999')}`)).status).toBe(404);
  });

  it('reads one robot per the same rights', async () => {
    expect((await bob().fetch(`/api/v2.0/robots/${ci.id}`)).status).toBe(200);
    expect((await users['erin']!.fetch(`/api/v2.0/robots/${ci.id}`)).status).toBe(403);
    expect((await anon.fetch(`/api/v2.0/robots/${ci.id}`)).status).toBe(401);
    expect((await alice().fetch('/api/v2.0/robots/999999')).status).toBe(404);
    expect((await alice().fetch('/api/v2.0/robots/abc')).status).toBe(400);
  });

  it('updates description, duration (from the creation time), disable and permissions; never name or level', async () => {
    const got = (await (await alice().fetch(`/api/v2.0/robots/${ci.id}`)).json()) as Robot;
    const put = (c: RegistryClient, body: unknown) => c.fetch(`/api/v2.0/robots/${ci.id}`, send('PUT', body));
    expect((await put(bob(), { ...got, disable: true })).status).toBe(403);
    expect((await put(alice(), { ...got, name: 'robot$team+renamed' })).status).toBe(400);
    expect((await put(alice(), { ...got, level: 'system' })).status).toBe(400);
    expect((await put(alice(), { ...got, permissions: [projectPerm('other', 'repository:pull')] })).status).toBe(400);

    expect((await put(alice(), { ...got, disable: true })).status).toBe(200);
    const robot = robotClient(ci);
    expect(await pullStatus(robot, 'team/app:v1')).toBe(401);
    const q = new URLSearchParams({ service: 'berth', scope: 'repository:team/app:pull' });
    expect((await fetch(`${s.url}/service/token?${q}`, { headers: { authorization: basic(ci.name, ci.secret) } })).status).toBe(401);

    expect((await put(alice(), { ...got, description: 'pull only', duration: 10, disable: false, permissions: [projectPerm('team', 'repository:pull')] })).status).toBe(200);
    const after = (await (await alice().fetch(`/api/v2.0/robots/${ci.id}`)).json()) as Robot;
    expect(after).toMatchObject({ description: 'pull only', duration: 10, disable: false, permissions: [projectPerm('team', 'repository:pull')] });
    expect(after.expires_at).toBe(Math.floor(Date.parse(got.creation_time) / 1000) + 10 * DAY_S);
    expect(await pullStatus(robot, 'team/app:v1')).toBe(200);
    expect((await robot.fetch('/v2/team/app/blobs/uploads/', { method: 'POST' })).status).toBe(403);
    // the short name is accepted as well as the full one
    expect((await put(alice(), { ...after, name: 'ci', permissions: [projectPerm('team', 'repository:pull', 'repository:push')] })).status).toBe(200);
  });

  it('an expired robot cannot authenticate', async () => {
    const r = await createRobot(alice(), { name: 'short-lived', level: 'project', duration: 1, permissions: [projectPerm('team', 'repository:pull')] });
    const robot = robotClient(r.created!);
    expect(await pullStatus(robot, 'team/app:v1')).toBe(200);
    await s.server.berth.metadata.robots.update(r.created!.id, { expiresAt: Date.now() - 1000, now: Date.now() });
    s.server.berth.access.forgetDecisions();
    expect(await pullStatus(robot, 'team/app:v1')).toBe(401);
  });

  it('refreshes the secret (PATCH): a generated one is returned once, or the caller\'s own', async () => {
    const patch = (c: RegistryClient, body: unknown) => c.fetch(`/api/v2.0/robots/${ci.id}`, send('PATCH', body));
    expect((await patch(bob(), {})).status).toBe(403);
    const res = await patch(alice(), {});
    expect(res.status).toBe(200);
    const { secret } = (await res.json()) as { secret: string };
    expect(secret).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(secret).not.toBe(ci.secret);
    expect(await pullStatus(robotClient(ci), 'team/app:v1')).toBe(401);
    expect(await pullStatus(robotClient({ ...ci, secret }), 'team/app:v1')).toBe(200);

    expect((await patch(alice(), { secret: 'short' })).status).toBe(400);
    expect((await patch(alice(), { secret: 'alllowercase123' })).status).toBe(400);
    const own = await patch(alice(), { secret: 'MyOwnSecret123' });
    expect(own.status).toBe(200);
    expect(await own.json()).toEqual({});
    expect(await pullStatus(robotClient({ ...ci, secret }), 'team/app:v1')).toBe(401);
    expect(await pullStatus(robotClient({ ...ci, secret: 'MyOwnSecret123' }), 'team/app:v1')).toBe(200);
    ci = { ...ci, secret: 'MyOwnSecret123' };
  });

  it('deletes a robot: it can no longer authenticate', async () => {
    expect((await bob().fetch(`/api/v2.0/robots/${ci.id}`, send('DELETE'))).status).toBe(403);
    expect((await alice().fetch(`/api/v2.0/robots/${ci.id}`, send('DELETE'))).status).toBe(200);
    expect((await alice().fetch(`/api/v2.0/robots/${ci.id}`)).status).toBe(404);
    expect(await pullStatus(robotClient(ci), 'team/app:v1')).toBe(401);
    expect((await alice().fetch(`/api/v2.0/robots/${ci.id}`, send('DELETE'))).status).toBe(404);
  });

  it('records creation, changes, refreshes and deletion in the audit log, without secrets', async () => {
    const log = await s.server.berth.metadata.audit.list({ resourceType: 'robot', resource: 'robot$team+ci' }, { limit: 100 });
    expect(log.items.map((r) => [r.operator, r.operation, r.projectId]).reverse()).toEqual([
      ['alice', 'create', teamId],
      ['alice', 'update', teamId],
      ['alice', 'update', teamId],
      ['alice', 'update', teamId],
      ['alice', 'update', teamId],
      ['alice', 'update', teamId],
      ['alice', 'delete', teamId],
    ]);
    const text = JSON.stringify(log.items);
    expect(text).not.toContain('MyOwnSecret123');
    expect(text).not.toContain(ci.secret);
    expect(log.items.every((r) => r.sourceIp === '127.0.0.1' && r.result === 'success')).toBe(true);
  });
});
