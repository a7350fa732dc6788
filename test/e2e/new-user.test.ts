import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTool, ToolError } from '../helpers/child-server.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { LDAP_USERS, type Slapd, startSlapd } from '../helpers/slapd.js';

/**
 * Berth tried as a new user would, in one story and in order: an admin connects Berth to the
 * company directory (the seeded slapd), a directory user signs in to the UI, creates a project,
 * adds a colleague (who has never signed in) as developer and a third as guest, creates a robot
 * for CI; the robot pushes with skopeo; the guest pulls with skopeo but cannot push; and each of
 * these steps is in the audit log, attributed to the one who did it.
 */

let ldap: Slapd;
let s: TestServer;
let work: string;
let layout: string;

interface UiSession {
  cookie: string;
  csrf: string;
}

interface AuditRow {
  username: string;
  operation: string;
  resource_type: string;
  resource: string;
}

const ALICE = { username: 'alice', password: LDAP_USERS.alice.password };
const CAROL = { username: 'carol', password: LDAP_USERS.carol.password };
const EVE = { username: 'eve(ops)', password: LDAP_USERS.eve.password };

function adminApi(path: string, method = 'GET', body?: unknown): Promise<Response> {
  return fetch(new URL(path, s.url), {
    method,
    headers: { authorization: s.adminBasic, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** The UI's way in: POST /c/login with Harbor's form fields. */
async function uiLogin(u: { username: string; password: string }): Promise<UiSession> {
  const res = await fetch(new URL('/c/login', s.url), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ principal: u.username, password: u.password }).toString(),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]!).join('; ');
  return { cookie, csrf: res.headers.get('x-harbor-csrf-token')! };
}

/** A call from the signed-in browser: session cookie, and the CSRF token on state changes. */
function ui(sess: UiSession, path: string, method = 'GET', body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { cookie: sess.cookie };
  if (method !== 'GET') headers['x-harbor-csrf-token'] = sess.csrf;
  if (body !== undefined) headers['content-type'] = 'application/json';
  return fetch(new URL(path, s.url), { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
}

async function auditLog(): Promise<AuditRow[]> {
  const res = await adminApi('/api/v2.0/audit-logs?page_size=100');
  expect(res.status).toBe(200);
  return (await res.json()) as AuditRow[];
}

beforeAll(async () => {
  ldap = await startSlapd();
  s = await startTestServer();
  work = await mkdtemp(join(tmpdir(), 'berth-new-user-'));
  layout = join(work, 'layout');
  await runTool('umoci', ['init', '--layout', layout]);
  await runTool('umoci', ['new', '--image', `${layout}:app`]);
  await writeFile(join(work, 'build.txt'), `built by CI at ${Date.now()}\n`);
  await runTool('umoci', ['insert', '--image', `${layout}:app`, join(work, 'build.txt'), '/build.txt']);
}, 120_000);

afterAll(async () => {
  await s?.stop();
  await ldap?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('a new team, from directory sign-in to a robot push', () => {
  let alice: UiSession;
  let robot: { name: string; secret: string };

  it('1. the admin connects Berth to the directory and checks the connection', async () => {
    const put = await adminApi('/api/v2.0/configurations', 'PUT', ldap.settings());
    expect(put.status, await put.clone().text()).toBe(200);
    const ping = await adminApi('/api/v2.0/ldap/ping', 'POST');
    expect(await ping.json()).toMatchObject({ success: true });
    const cfg = (await (await adminApi('/api/v2.0/configurations')).json()) as Record<string, { value: unknown }>;
    expect(cfg['auth_mode']?.value).toBe('ldap_auth');
    // the search password is write-only
    expect(JSON.stringify(cfg)).not.toContain(ldap.settings()['ldap_search_password'] as string);
  });

  it('2. a directory user signs in to the UI and is who the directory says', async () => {
    const wrong = await fetch(new URL('/c/login', s.url), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ principal: 'alice', password: 'not-her-password' }).toString(),
    });
    expect(wrong.status).toBe(401);
    alice = await uiLogin(ALICE);
    const me = (await (await ui(alice, '/api/v2.0/users/current')).json()) as { username: string; sysadmin_flag: boolean };
    expect(me).toMatchObject({ username: 'alice', sysadmin_flag: false });
  });

  it('3. she creates a private project and becomes its admin', async () => {
    // a state change without the CSRF token is refused
    const forged = await fetch(new URL('/api/v2.0/projects', s.url), {
      method: 'POST',
      headers: { cookie: alice.cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ project_name: 'team', metadata: { public: 'false' } }),
    });
    expect(forged.status).toBe(403);
    const res = await ui(alice, '/api/v2.0/projects', 'POST', { project_name: 'team', metadata: { public: 'false' } });
    expect(res.status, await res.clone().text()).toBe(201);
    const project = (await (await ui(alice, '/api/v2.0/projects/team')).json()) as { current_user_role_id: number };
    expect(project.current_user_role_id).toBe(1);
  });

  it('4. she adds a colleague who never signed in as developer, and another as guest', async () => {
    const dev = await ui(alice, '/api/v2.0/projects/team/members', 'POST', { role_id: 2, member_user: { username: 'carol' } });
    expect(dev.status, await dev.clone().text()).toBe(201);
    const guest = await ui(alice, '/api/v2.0/projects/team/members', 'POST', { role_id: 3, member_user: { username: EVE.username } });
    expect(guest.status, await guest.clone().text()).toBe(201);
    const nobody = await ui(alice, '/api/v2.0/projects/team/members', 'POST', { role_id: 3, member_user: { username: 'mallory' } });
    expect(nobody.status).toBe(404);
    const members = (await (await ui(alice, '/api/v2.0/projects/team/members')).json()) as { entity_name: string; role_name: string }[];
    expect(members.map((m) => `${m.entity_name}:${m.role_name}`).sort()).toEqual(['alice:projectAdmin', 'carol:developer', 'eve(ops):guest']);
    // the colleague signs in with the directory password and sees the project
    const carol = await uiLogin(CAROL);
    const seen = (await (await ui(carol, '/api/v2.0/projects/team')).json()) as { current_user_role_id: number };
    expect(seen.current_user_role_id).toBe(2);
  });

  it('5. she creates a robot for CI that may push and pull in the project', async () => {
    const res = await ui(alice, '/api/v2.0/robots', 'POST', {
      name: 'ci',
      level: 'project',
      duration: 30,
      permissions: [{ kind: 'project', namespace: 'team', access: [{ resource: 'repository', action: 'push' }, { resource: 'repository', action: 'pull' }] }],
    });
    expect(res.status, await res.clone().text()).toBe(201);
    robot = (await res.json()) as { name: string; secret: string };
    expect(robot.name).toBe('robot$team+ci');
    // a robot cannot sign in to the UI
    const asUi = await fetch(new URL('/c/login', s.url), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ principal: robot.name, password: robot.secret }).toString(),
    });
    expect(asUi.status).toBe(401);
  });

  it('6. the robot pushes with skopeo', async () => {
    await runTool('skopeo', ['copy', '--dest-tls-verify=false', '--dest-creds', `${robot.name}:${robot.secret}`, `oci:${layout}:app`, `docker://${s.host}/team/app:1.0`]);
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const head = await adminApi('/v2/team/app/manifests/1.0', 'HEAD');
    expect(head.headers.get('docker-content-digest')).toBe(index.manifests[0]!.digest);
  });

  it('7. the guest pulls with skopeo and is refused a push', async () => {
    const out = join(work, 'pulled');
    await runTool('skopeo', ['copy', '--src-tls-verify=false', '--src-creds', `${EVE.username}:${EVE.password}`, `docker://${s.host}/team/app:1.0`, `oci:${out}:app`]);
    expect(JSON.parse(await readFile(join(out, 'index.json'), 'utf8'))).toMatchObject({ manifests: [{}] });
    const push = runTool('skopeo', ['copy', '--dest-tls-verify=false', '--dest-creds', `${EVE.username}:${EVE.password}`, `oci:${layout}:app`, `docker://${s.host}/team/app:guest`]);
    const err = await push.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ToolError);
    expect((err as ToolError).stderr).toMatch(/denied|unauthorized|authentication required/i);
    expect((await adminApi('/v2/team/app/manifests/guest', 'HEAD')).status).toBe(404);
  });

  it('8. every step is in the audit log, attributed to whoever did it', async () => {
    await s.server.berth.audit.flush();
    const rows = await auditLog();
    const has = (username: string, operation: string, resourceType: string, resource: RegExp | string) =>
      rows.some(
        (r) =>
          r.username === username &&
          r.operation === operation &&
          r.resource_type === resourceType &&
          (typeof resource === 'string' ? r.resource === resource : resource.test(r.resource)),
      );
    const steps: [string, string, string, RegExp | string][] = [
      ['admin', 'update', 'configuration', /ldap_url|auth_mode/],
      ['alice', 'login', 'user', 'alice'],
      ['alice', 'create', 'project', 'team'],
      ['alice', 'create', 'member', /carol/],
      ['alice', 'create', 'member', /eve\(ops\)/],
      ['alice', 'create', 'robot', /robot\$team\+ci/],
      ['robot$team+ci', 'create', 'artifact', /^team\/app/],
      ['eve(ops)', 'pull', 'artifact', /^team\/app/],
    ];
    const missing = steps.filter(([u, o, t, r]) => !has(u, o, t, r));
    expect(missing, JSON.stringify(rows.map((r) => [r.username, r.operation, r.resource_type, r.resource]))).toEqual([]);
    // colleagues onboarded from the directory on being added are recorded as created users
    expect(has('alice', 'create', 'user', 'carol')).toBe(true);
    // the failed sign-in is there too (a second login row of alice's), without the password
    expect(rows.filter((r) => r.username === 'alice' && r.operation === 'login').length).toBe(2);
    expect(JSON.stringify(rows)).not.toContain('not-her-password');
  });
});
