import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { argon2Hasher } from '../../src/crypto/argon2.hasher.js';
import { openMetadata } from '../../src/db/metadata.js';
import type { Metadata } from '../../src/ports/metadata.js';
import { SessionService } from '../../src/services/session.service.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let s: TestServer;

const hashOf = (cookieValue: string) => createHash('sha256').update(cookieValue).digest('hex');
const errorOf = async (res: Response) => ((await res.json()) as { errors: { code: string; message: string }[] }).errors[0]!;

function login(base: string, principal: string, password: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}/c/login`, { method: 'POST', body: new URLSearchParams({ principal, password }), headers, redirect: 'manual' });
}

/** The `sid=value` pair of a Set-Cookie header, and its value. */
function sid(res: Response): { pair: string; value: string; attributes: string[] } {
  const header = res.headers.get('set-cookie') ?? '';
  const [pair = '', ...attributes] = header.split(';').map((p) => p.trim());
  return { pair, value: decodeURIComponent(pair.slice('sid='.length)), attributes };
}

const current = (cookie: string) => fetch(`${s.url}/api/v2.0/users/current`, { headers: { cookie } });

beforeAll(async () => {
  s = await startTestServer({ BERTH_AUTH_SESSION_TIMEOUT_SECONDS: '60' });
  await s.server.berth.users.create({ username: 'alice', password: 'Alice12345', email: 'alice@example.org' });
});
afterAll(() => s.stop());

describe('UI sign-in (POST /c/login)', () => {
  it('opens a session: an HttpOnly, SameSite=Lax cookie for / and the CSRF token in X-Harbor-CSRF-Token', async () => {
    const res = await login(s.url, 'alice', 'Alice12345');
    expect(res.status).toBe(200);
    const c = sid(res);
    expect(c.pair).toMatch(/^sid=.{20,}/);
    expect(c.attributes).toEqual(expect.arrayContaining(['Path=/', 'HttpOnly', 'SameSite=Lax']));
    // http external URL: no Secure (the browser would drop the cookie)
    expect(c.attributes).not.toContain('Secure');
    const csrf = res.headers.get('x-harbor-csrf-token');
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(res.headers.get('cache-control')).toBe('no-store');

    const me = await current(c.pair);
    expect(me.status).toBe(200);
    expect(((await me.json()) as { username: string }).username).toBe('alice');
    // every answer to a session request carries the session's token
    expect(me.headers.get('x-harbor-csrf-token')).toBe(csrf);
    // the database holds only the cookie's hash
    expect(await s.server.berth.metadata.sessions.get(c.value)).toBeUndefined();
    expect((await s.server.berth.metadata.sessions.get(hashOf(c.value)))?.csrfToken).toBe(csrf);
  });

  it('takes a JSON body too', async () => {
    const res = await fetch(`${s.url}/c/login`, { method: 'POST', body: JSON.stringify({ principal: 'alice', password: 'Alice12345' }), headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(200);
    expect(sid(res).pair).toMatch(/^sid=/);
  });

  it('answers a wrong password and an unknown user alike: 401, same body, no cookie', async () => {
    const wrong = await login(s.url, 'alice', 'Wrong12345');
    const nobody = await login(s.url, 'nobody-here', 'Wrong12345');
    expect(wrong.status).toBe(401);
    expect(nobody.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    const [a, b] = [await wrong.json(), await nobody.json()];
    expect(a).toEqual(b);
    expect(a).toEqual({ errors: [{ code: 'UNAUTHORIZED', message: 'invalid username or password' }] });
  });

  it('never lets a robot account sign in to the UI', async () => {
    await s.server.berth.metadata.robots.create({
      name: 'robot$ui',
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
    // the robot's credentials are good for the registry…
    const api = await fetch(`${s.url}/v2/`, { headers: { authorization: `Basic ${Buffer.from('robot$ui:RobotSecret1').toString('base64')}` } });
    expect(api.status).toBe(200);
    // …but open no session
    const res = await login(s.url, 'robot$ui', 'RobotSecret1');
    expect(res.status).toBe(401);
    expect(res.headers.get('set-cookie')).toBeNull();
  });

  it('refuses a missing field (400) and a sign-in posted from another origin (403)', async () => {
    const missing = await fetch(`${s.url}/c/login`, { method: 'POST', body: new URLSearchParams({ principal: 'alice' }) });
    expect(missing.status).toBe(400);
    expect((await errorOf(missing)).code).toBe('BAD_REQUEST');
    const cross = await login(s.url, 'alice', 'Alice12345', { origin: 'https://evil.example' });
    expect(cross.status).toBe(403);
    expect(cross.headers.get('set-cookie')).toBeNull();
    const same = await login(s.url, 'alice', 'Alice12345', { origin: s.url });
    expect(same.status).toBe(200);
  });

  it('records sign-ins and sign-outs in the audit log with the source address', async () => {
    const res = await login(s.url, 'alice', 'Alice12345');
    await fetch(`${s.url}/c/log_out`, { headers: { cookie: sid(res).pair } });
    // failed attempts are written a moment later by a buffer: only the successes are ordered here
    const page = await s.server.berth.metadata.audit.list({ operator: 'alice' }, { limit: 50 });
    const done = page.items.filter((r) => r.result === 'success');
    expect(done.slice(0, 2).map((r) => `${r.operation}:${r.sourceIp}`)).toEqual(['logout:127.0.0.1', 'login:127.0.0.1']);
    expect(done[0]).toMatchObject({ resourceType: 'user', resource: 'alice' });
  });
});

describe('CSRF on state-changing session requests', () => {
  it('refuses a PUT with the cookie but without the token (403), and with a wrong one; accepts the right one', async () => {
    const res = await login(s.url, 'alice', 'Alice12345');
    const cookie = sid(res).pair;
    const csrf = res.headers.get('x-harbor-csrf-token')!;
    const me = (await (await current(cookie)).json()) as { user_id: number };
    const put = (headers: Record<string, string>) =>
      fetch(`${s.url}/api/v2.0/users/${me.user_id}`, {
        method: 'PUT',
        body: JSON.stringify({ comment: 'via the UI' }),
        headers: { 'content-type': 'application/json', cookie, ...headers },
      });
    const without = await put({});
    expect(without.status).toBe(403);
    expect((await errorOf(without)).message).toMatch(/CSRF/);
    expect((await put({ 'x-harbor-csrf-token': 'not-the-token' })).status).toBe(403);
    expect((await put({ 'x-harbor-csrf-token': csrf })).status).toBe(200);
    expect(((await (await current(cookie)).json()) as { comment: string }).comment).toBe('via the UI');
  });
});

describe('sign-out and expiry', () => {
  it('ends the session on GET /c/log_out and clears the cookie; a second sign-out is no error', async () => {
    const res = await login(s.url, 'alice', 'Alice12345');
    const c = sid(res);
    expect((await current(c.pair)).status).toBe(200);
    const out = await fetch(`${s.url}/c/log_out`, { headers: { cookie: c.pair } });
    expect(out.status).toBe(200);
    expect(sid(out).pair).toBe('sid=');
    expect(sid(out).attributes).toContain('Max-Age=0');
    expect((await current(c.pair)).status).toBe(401);
    expect(await s.server.berth.metadata.sessions.get(hashOf(c.value))).toBeUndefined();
    expect((await fetch(`${s.url}/c/log_out`, { headers: { cookie: c.pair } })).status).toBe(200);
    expect((await fetch(`${s.url}/c/log_out`)).status).toBe(200);
  });

  it('refuses a session once it expired, and the sweep removes it', async () => {
    const res = await login(s.url, 'alice', 'Alice12345');
    const c = sid(res);
    const id = hashOf(c.value);
    const row = (await s.server.berth.metadata.sessions.get(id))!;
    // BERTH_AUTH_SESSION_TIMEOUT_SECONDS=60
    expect(row.expiresAt - row.createdAt).toBe(60_000);
    // expire it in the database: the server's clock cannot be moved, the row can
    await s.server.berth.metadata.sessions.touch(id, Date.now() - 1);
    expect((await current(c.pair)).status).toBe(401);
    expect(await s.server.berth.sessions.sweep()).toBeGreaterThanOrEqual(1);
    expect(await s.server.berth.metadata.sessions.get(id)).toBeUndefined();
  });

  it('ends the sessions of a deleted user', async () => {
    await s.server.berth.users.create({ username: 'short-lived', password: 'Passw0rdX' });
    const c = sid(await login(s.url, 'short-lived', 'Passw0rdX'));
    const me = (await (await current(c.pair)).json()) as { user_id: number };
    expect((await fetch(`${s.url}/api/v2.0/users/${me.user_id}`, { method: 'DELETE', headers: { authorization: s.adminBasic } })).status).toBe(200);
    expect((await current(c.pair)).status).toBe(401);
  });
});

describe('behind an https external URL', () => {
  let secure: TestServer;
  beforeAll(async () => {
    secure = await startTestServer({ BERTH_EXTERNAL_URL: 'https://registry.example.test' });
  });
  afterAll(() => secure?.stop());

  it('marks the session cookie Secure and takes sign-ins from that origin only', async () => {
    const ok = await login(secure.url, 'admin', 'Admin12345', { origin: 'https://registry.example.test' });
    expect(ok.status).toBe(200);
    expect(sid(ok).attributes).toContain('Secure');
    expect((await login(secure.url, 'admin', 'Admin12345', { origin: secure.url })).status).toBe(403);
    const out = await fetch(`${secure.url}/c/log_out`, { headers: { cookie: sid(ok).pair } });
    expect(sid(out).attributes).toContain('Secure');
  });
});

describe('SessionService with a clock of its own', () => {
  let dir: string;
  let md: Metadata;
  let now = 1_700_000_000_000;
  const clock = { now: () => now };
  let service: SessionService;
  let userId: number;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-sessions-'));
    md = await openMetadata({ driver: 'sqlite', path: join(dir, 'berth.db') });
    service = new SessionService({ metadata: md, clock, config: { timeoutMs: 600_000 } });
    userId = (await md.users.create({ username: 'timed', passwordHash: 'h', sysadmin: false, now })).id;
  });
  afterAll(async () => {
    await md.close();
    // the WAL checkpointer's thread closes its connection after close() returns
    await rm(dir, { recursive: true, force: true, maxRetries: 10 });
  });

  it('slides the expiry while the session is used and ends it after the idle timeout', async () => {
    const opened = await service.open(userId);
    expect(opened.expiresAt).toBe(now + 600_000);
    now += 300_000;
    expect((await service.resolve(opened.cookie))?.principal.username).toBe('timed');
    // used half-way: the expiry moved to a full timeout from now
    expect((await md.sessions.get(hashOf(opened.cookie)))?.expiresAt).toBe(now + 600_000);
    now += 599_000;
    expect(await service.resolve(opened.cookie)).toBeDefined();
    now += 600_001;
    expect(await service.resolve(opened.cookie)).toBeUndefined();
    expect(await service.sweep()).toBe(1);
    expect(await md.sessions.get(hashOf(opened.cookie))).toBeUndefined();
  });

  it('ends every session of a user but the one it is told to keep', async () => {
    const [a, b, c] = [await service.open(userId), await service.open(userId), await service.open(userId)];
    expect(await service.resolve(b.cookie)).toBeDefined();
    // b is in the one-second cache of resolved sessions: it must leave it too
    await service.closeAllOf(userId, { exceptId: hashOf(a.cookie) });
    expect(await service.resolve(a.cookie)).toBeDefined();
    expect(await service.resolve(b.cookie)).toBeUndefined();
    expect(await service.resolve(c.cookie)).toBeUndefined();
  });
});
