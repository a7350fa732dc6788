import { randomUUID } from 'node:crypto';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient, sha256 } from '../helpers/registry-client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/**
 * Every principal × every action of the HTTP API, through the real routes: /v2 with Basic and
 * with bearer tokens from /service/token, and the Harbor management API. The expected outcomes
 * are written out below from Harbor's documented matrix, not computed from Berth's tables.
 */

const WHO = ['projectAdmin', 'maintainer', 'developer', 'guest', 'limitedGuest', 'nonMember', 'anonymous', 'sysadmin', 'robot'] as const;
type Who = (typeof WHO)[number];

/** Harbor's role ids (role_id) of the five project roles. */
const ROLE_ID: Partial<Record<Who, number>> = { projectAdmin: 1, developer: 2, guest: 3, maintainer: 4, limitedGuest: 5 };

/** The robot's grant: a project robot of `mx`. Its column below follows from this list. */
const ROBOT_GRANT = ['repository:pull', 'repository:push', 'member:list'];

/**
 * Sources: goharbor.io "User Permissions By Role" (project configurations, members, pull, push,
 * delete image, public projects: everybody pulls); Harbor's src/common/rbac/project/rbac_role.go
 * for the rows that page leaves out (project delete, robot accounts: guest and up read and list,
 * only the project admin creates, edits, deletes); a system administrator has every right; a
 * non-member and an anonymous caller have none in a private project. The repository, artifact,
 * tag, label and log rows follow rbac_role.go (limitedGuest lists and reads artifacts but neither
 * reads repositories nor lists logs; only the project admin and maintainer delete). `mx` is private, `pubmx`
 * public, and nobody but the system admin is a member of `pubmx`.
 *
 *                                 PA M  D  G  LG non anon sys robot
 */
const MATRIX: Record<string, string> = {
  'v2 pull (token)': '             Y  Y  Y  Y  Y  .   .    Y   Y',
  'v2 pull (basic)': '             Y  Y  Y  Y  Y  .   .    Y   Y',
  'v2 push (token)': '             Y  Y  Y  .  .  .   .    Y   Y',
  'v2 push (basic)': '             Y  Y  Y  .  .  .   .    Y   Y',
  'v2 delete artifact (token)': '  Y  Y  .  .  .  .   .    Y   .',
  'v2 delete artifact (basic)': '  Y  Y  .  .  .  .   .    Y   .',
  'v2 pull public (token)': '      Y  Y  Y  Y  Y  Y   Y    Y   Y',
  'v2 pull public (basic)': '      Y  Y  Y  Y  Y  Y   Y    Y   Y',
  'v2 push public (basic)': '      .  .  .  .  .  .   .    Y   .',
  'project read': '                Y  Y  Y  Y  Y  .   .    Y   .',
  'project update': '              Y  .  .  .  .  .   .    Y   .',
  'project delete': '              Y  .  .  .  .  .   .    Y   .',
  'member list': '                 Y  Y  Y  Y  .  .   .    Y   Y',
  'member read': '                 Y  Y  Y  Y  .  .   .    Y   .',
  'member create': '               Y  .  .  .  .  .   .    Y   .',
  'member update': '               Y  .  .  .  .  .   .    Y   .',
  'member delete': '               Y  .  .  .  .  .   .    Y   .',
  'robot list': '                  Y  Y  Y  Y  .  .   .    Y   .',
  'robot read': '                  Y  Y  Y  Y  .  .   .    Y   .',
  'robot create': '                Y  .  .  .  .  .   .    Y   .',
  'robot update': '                Y  .  .  .  .  .   .    Y   .',
  'robot delete': '                Y  .  .  .  .  .   .    Y   .',
  'repository list': '             Y  Y  Y  Y  Y  .   .    Y   .',
  'repository read': '             Y  Y  Y  Y  .  .   .    Y   .',
  'repository update': '           Y  Y  Y  .  .  .   .    Y   .',
  'repository delete': '           Y  Y  .  .  .  .   .    Y   .',
  'artifact list': '               Y  Y  Y  Y  Y  .   .    Y   .',
  'artifact read': '               Y  Y  Y  Y  Y  .   .    Y   .',
  'artifact delete': '             Y  Y  .  .  .  .   .    Y   .',
  'tag create': '                  Y  Y  Y  .  .  .   .    Y   .',
  'tag delete': '                  Y  Y  .  .  .  .   .    Y   .',
  'label create (project)': '      Y  Y  .  .  .  .   .    Y   .',
  'label attach to artifact': '    Y  Y  Y  .  .  .   .    Y   .',
  'project logs list': '           Y  Y  Y  Y  .  .   .    Y   .',
};


function expected(action: string, who: Who): boolean {
  const cols = MATRIX[action]!.trim().split(/\s+/);
  if (cols.length !== WHO.length) throw new Error(`matrix row ${action} has ${cols.length} columns`);
  return cols[WHO.indexOf(who)] === 'Y';
}

let s: TestServer;
const auth: Partial<Record<Who, string>> = {};
let mxId: number;
let seq = 0;
const unique = (prefix: string) => `${prefix}-${++seq}-${randomUUID().slice(0, 6)}`;

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

function call(who: Who, path: string, init: { method?: string; body?: unknown; raw?: Uint8Array; headers?: Record<string, string> } = {}): Promise<Response> {
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  const a = auth[who];
  if (a && headers['authorization'] === undefined) headers['authorization'] = a;
  let body: Uint8Array | string | undefined;
  if (init.raw) body = init.raw;
  else if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers['content-type'] = 'application/json';
  }
  return fetch(new URL(path, s.url), { method: init.method ?? 'GET', headers, redirect: 'manual', ...(body !== undefined ? { body } : {}) });
}

/** A token from /service/token, asked with the principal's Basic credentials (none for anonymous). */
async function token(who: Who, scope: string): Promise<{ bearer: string; actions: string[] }> {
  const q = new URLSearchParams({ service: 'berth', scope });
  const res = await fetch(`${s.url}/service/token?${q}`, { headers: auth[who] ? { authorization: auth[who]! } : {} });
  expect(res.status).toBe(200);
  const t = ((await res.json()) as { token: string }).token;
  const access = (decodeJwt(t) as { access: { name: string; actions: string[] }[] }).access;
  return { bearer: `Bearer ${t}`, actions: access.find((a) => `repository:${a.name}:` === scope.slice(0, scope.lastIndexOf(':') + 1))?.actions ?? [] };
}

const admin = (path: string, init: Parameters<typeof call>[2] = {}) => call('sysadmin', path, init);

/** An image that only this case touches (deletes take it away). */
async function freshImage(project: string): Promise<{ repo: string; digest: string }> {
  const repo = `${project}/${unique('del')}`;
  const { digest } = await new RegistryClient(s.url, auth.sysadmin).pushImage(repo, 'v1');
  return { repo, digest };
}

async function freshMember(): Promise<number> {
  const username = unique('target');
  await s.server.berth.users.create({ username, password: 'Target12345' });
  const res = await admin('/api/v2.0/projects/mx/members', { method: 'POST', body: { role_id: 3, member_user: { username } } });
  expect(res.status).toBe(201);
  return Number(res.headers.get('location')!.split('/').pop());
}

async function freshRobot(): Promise<number> {
  const res = await admin('/api/v2.0/robots', {
    method: 'POST',
    body: { name: unique('target'), level: 'project', permissions: [{ kind: 'project', namespace: 'mx', access: [{ resource: 'repository', action: 'pull' }] }] },
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: number }).id;
}

/** How a refusal looks: a token without the scope is 401 (insufficient_scope), else 401 for anonymous and 403. */
type Channel = 'token' | 'basic' | 'api';
const refusal = (channel: Channel, who: Who) => (channel === 'token' || who === 'anonymous' ? 401 : 403);

interface Probe {
  channel: Channel;
  /** the status of success */
  ok: number;
  /** performs the action; for token probes also returns the actions the token was granted */
  run(who: Who): Promise<{ status: number; granted?: string[]; wanted?: string }>;
}

const blobBody = () => new TextEncoder().encode(`blob ${randomUUID()}`);

async function v2Push(who: Who, repo: string, channel: 'token' | 'basic') {
  const data = blobBody();
  const path = `/v2/${repo}/blobs/uploads/?digest=${sha256(data)}`;
  if (channel === 'basic') return { status: (await call(who, path, { method: 'POST', raw: data, headers: { 'content-type': 'application/octet-stream' } })).status };
  const t = await token(who, `repository:${repo}:pull,push`);
  const res = await call(who, path, { method: 'POST', raw: data, headers: { authorization: t.bearer, 'content-type': 'application/octet-stream' } });
  return { status: res.status, granted: t.actions, wanted: 'push' };
}

async function v2Pull(who: Who, repo: string, channel: 'token' | 'basic') {
  const path = `/v2/${repo}/manifests/v1`;
  if (channel === 'basic') return { status: (await call(who, path, { method: 'HEAD' })).status };
  const t = await token(who, `repository:${repo}:pull`);
  return { status: (await call(who, path, { method: 'HEAD', headers: { authorization: t.bearer } })).status, granted: t.actions, wanted: 'pull' };
}

async function v2Delete(who: Who, channel: 'token' | 'basic') {
  const { repo, digest } = await freshImage('mx');
  const path = `/v2/${repo}/manifests/${digest}`;
  if (channel === 'basic') return { status: (await call(who, path, { method: 'DELETE' })).status };
  const t = await token(who, `repository:${repo}:delete`);
  return { status: (await call(who, path, { method: 'DELETE', headers: { authorization: t.bearer } })).status, granted: t.actions, wanted: 'delete' };
}

const repoOf = (repo: string) => `/api/v2.0/projects/mx/repositories/${encodeURIComponent(repo.slice('mx/'.length))}`;

async function adminLabel(): Promise<number> {
  const res = await admin('/api/v2.0/labels', { method: 'POST', body: { name: unique('lbl'), scope: 'p', project_id: mxId } });
  expect(res.status).toBe(201);
  return Number(res.headers.get('location')!.split('/').pop());
}

const robotsOfMx = () => `/api/v2.0/robots?q=${encodeURIComponent(`Level=project,ProjectID=${mxId}`)}`;

const PROBES: Record<string, Probe> = {
  'v2 pull (token)': { channel: 'token', ok: 200, run: (w) => v2Pull(w, 'mx/app', 'token') },
  'v2 pull (basic)': { channel: 'basic', ok: 200, run: (w) => v2Pull(w, 'mx/app', 'basic') },
  'v2 push (token)': { channel: 'token', ok: 201, run: (w) => v2Push(w, 'mx/app', 'token') },
  'v2 push (basic)': { channel: 'basic', ok: 201, run: (w) => v2Push(w, 'mx/app', 'basic') },
  'v2 delete artifact (token)': { channel: 'token', ok: 202, run: (w) => v2Delete(w, 'token') },
  'v2 delete artifact (basic)': { channel: 'basic', ok: 202, run: (w) => v2Delete(w, 'basic') },
  'v2 pull public (token)': { channel: 'token', ok: 200, run: (w) => v2Pull(w, 'pubmx/app', 'token') },
  'v2 pull public (basic)': { channel: 'basic', ok: 200, run: (w) => v2Pull(w, 'pubmx/app', 'basic') },
  'v2 push public (basic)': { channel: 'basic', ok: 201, run: (w) => v2Push(w, 'pubmx/app', 'basic') },
  'project read': { channel: 'api', ok: 200, run: async (w) => ({ status: (await call(w, '/api/v2.0/projects/mx')).status }) },
  'project update': {
    channel: 'api',
    ok: 200,
    run: async (w) => ({ status: (await call(w, '/api/v2.0/projects/mx', { method: 'PUT', body: { metadata: { public: 'false' } } })).status }),
  },
  // mx keeps its repositories, so a caller who may delete it is told 412 (Harbor), never 401/403
  'project delete': { channel: 'api', ok: 412, run: async (w) => ({ status: (await call(w, '/api/v2.0/projects/mx', { method: 'DELETE' })).status }) },
  'member list': { channel: 'api', ok: 200, run: async (w) => ({ status: (await call(w, '/api/v2.0/projects/mx/members')).status }) },
  'member read': {
    channel: 'api',
    ok: 200,
    run: async (w) => ({ status: (await call(w, `/api/v2.0/projects/mx/members/${await freshMember()}`)).status }),
  },
  'member create': {
    channel: 'api',
    ok: 201,
    run: async (w) => {
      const username = unique('new');
      await s.server.berth.users.create({ username, password: 'Newuser12345' });
      return { status: (await call(w, '/api/v2.0/projects/mx/members', { method: 'POST', body: { role_id: 2, member_user: { username } } })).status };
    },
  },
  'member update': {
    channel: 'api',
    ok: 200,
    run: async (w) => ({ status: (await call(w, `/api/v2.0/projects/mx/members/${await freshMember()}`, { method: 'PUT', body: { role_id: 5 } })).status }),
  },
  'member delete': {
    channel: 'api',
    ok: 200,
    run: async (w) => ({ status: (await call(w, `/api/v2.0/projects/mx/members/${await freshMember()}`, { method: 'DELETE' })).status }),
  },
  'robot list': { channel: 'api', ok: 200, run: async (w) => ({ status: (await call(w, robotsOfMx())).status }) },
  'robot read': { channel: 'api', ok: 200, run: async (w) => ({ status: (await call(w, `/api/v2.0/robots/${await freshRobot()}`)).status }) },
  'robot create': {
    channel: 'api',
    ok: 201,
    run: async (w) => ({
      status: (
        await call(w, '/api/v2.0/robots', {
          method: 'POST',
          body: { name: unique('made'), level: 'project', permissions: [{ kind: 'project', namespace: 'mx', access: [{ resource: 'repository', action: 'pull' }] }] },
        })
      ).status,
    }),
  },
  'robot update': {
    channel: 'api',
    ok: 200,
    run: async (w) => {
      const id = await freshRobot();
      const current = (await (await admin(`/api/v2.0/robots/${id}`)).json()) as Record<string, unknown>;
      return { status: (await call(w, `/api/v2.0/robots/${id}`, { method: 'PUT', body: { ...current, description: 'changed' } })).status };
    },
  },
  'robot delete': { channel: 'api', ok: 200, run: async (w) => ({ status: (await call(w, `/api/v2.0/robots/${await freshRobot()}`, { method: 'DELETE' })).status }) },
  'repository list': { channel: 'api', ok: 200, run: async (w) => ({ status: (await call(w, '/api/v2.0/projects/mx/repositories')).status }) },
  'repository read': { channel: 'api', ok: 200, run: async (w) => ({ status: (await call(w, repoOf('mx/app'))).status }) },
  'repository update': {
    channel: 'api',
    ok: 200,
    run: async (w) => ({ status: (await call(w, repoOf('mx/app'), { method: 'PUT', body: { description: `by ${w}` } })).status }),
  },
  'repository delete': {
    channel: 'api',
    ok: 200,
    run: async (w) => ({ status: (await call(w, repoOf((await freshImage('mx')).repo), { method: 'DELETE' })).status }),
  },
  'artifact list': { channel: 'api', ok: 200, run: async (w) => ({ status: (await call(w, `${repoOf('mx/app')}/artifacts`)).status }) },
  'artifact read': { channel: 'api', ok: 200, run: async (w) => ({ status: (await call(w, `${repoOf('mx/app')}/artifacts/v1`)).status }) },
  'artifact delete': {
    channel: 'api',
    ok: 200,
    run: async (w) => {
      const { repo, digest } = await freshImage('mx');
      return { status: (await call(w, `${repoOf(repo)}/artifacts/${digest}`, { method: 'DELETE' })).status };
    },
  },
  'tag create': {
    channel: 'api',
    ok: 201,
    run: async (w) => ({ status: (await call(w, `${repoOf('mx/app')}/artifacts/v1/tags`, { method: 'POST', body: { name: unique('t') } })).status }),
  },
  'tag delete': {
    channel: 'api',
    ok: 200,
    run: async (w) => {
      const name = unique('t');
      expect((await admin(`${repoOf('mx/app')}/artifacts/v1/tags`, { method: 'POST', body: { name } })).status).toBe(201);
      return { status: (await call(w, `${repoOf('mx/app')}/artifacts/v1/tags/${name}`, { method: 'DELETE' })).status };
    },
  },
  'label create (project)': {
    channel: 'api',
    ok: 201,
    run: async (w) => ({ status: (await call(w, '/api/v2.0/labels', { method: 'POST', body: { name: unique('lbl'), scope: 'p', project_id: mxId } })).status }),
  },
  'label attach to artifact': {
    channel: 'api',
    ok: 200,
    run: async (w) => ({ status: (await call(w, `${repoOf('mx/app')}/artifacts/v1/labels`, { method: 'POST', body: { id: await adminLabel() } })).status }),
  },
  'project logs list': { channel: 'api', ok: 200, run: async (w) => ({ status: (await call(w, '/api/v2.0/projects/mx/logs')).status }) },
};

beforeAll(async () => {
  s = await startTestServer();
  auth.sysadmin = s.adminBasic;
  expect((await admin('/api/v2.0/projects', { method: 'POST', body: { project_name: 'mx', public: false } })).status).toBe(201);
  expect((await admin('/api/v2.0/projects', { method: 'POST', body: { project_name: 'pubmx', public: true } })).status).toBe(201);
  mxId = (await s.server.berth.metadata.projects.getByName('mx'))!.id;
  const registry = new RegistryClient(s.url, s.adminBasic);
  await registry.pushImage('mx/app', 'v1');
  await registry.pushImage('pubmx/app', 'v1');
  for (const who of WHO) {
    const roleId = ROLE_ID[who];
    if (roleId === undefined && who !== 'nonMember') continue;
    const username = `u-${who.toLowerCase()}`;
    await s.server.berth.users.create({ username, password: 'Matrix12345' });
    auth[who] = basic(username, 'Matrix12345');
    if (roleId !== undefined) {
      expect((await admin('/api/v2.0/projects/mx/members', { method: 'POST', body: { role_id: roleId, member_user: { username } } })).status).toBe(201);
    }
  }
  const robot = await admin('/api/v2.0/robots', {
    method: 'POST',
    body: {
      name: 'matrix',
      level: 'project',
      duration: -1,
      permissions: [{ kind: 'project', namespace: 'mx', access: ROBOT_GRANT.map((g) => ({ resource: g.split(':')[0], action: g.split(':')[1] })) }],
    },
  });
  expect(robot.status).toBe(201);
  const r = (await robot.json()) as { name: string; secret: string };
  auth.robot = basic(r.name, r.secret);
});
afterAll(() => s.stop());

describe('permission matrix', () => {
  it('covers every action of the table with a probe, and every principal in every row', () => {
    expect(Object.keys(PROBES).sort()).toEqual(Object.keys(MATRIX).sort());
    for (const row of Object.keys(MATRIX)) for (const who of WHO) expect(typeof expected(row, who)).toBe('boolean');
  });

  for (const action of Object.keys(MATRIX)) {
    describe(action, () => {
      for (const who of WHO) {
        const allowed = expected(action, who);
        it(`${who} is ${allowed ? 'allowed' : 'refused'}`, async () => {
          const probe = PROBES[action]!;
          const r = await probe.run(who);
          expect(r.status).toBe(allowed ? probe.ok : refusal(probe.channel, who));
          // a token grants exactly what the matrix allows: the intersection of asked and allowed
          if (r.granted) expect(r.granted.includes(r.wanted!)).toBe(allowed);
        });
      }
    });
  }
});
