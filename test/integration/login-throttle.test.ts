import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../src/domain/permission.js';
import {
  addressKey,
  afterFailure,
  type FailedLogin,
  LoginThrottle,
  MemoryFailureCounter,
  type ThrottlePolicy,
} from '../../src/services/login-throttle.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const POLICY: ThrottlePolicy = { maxFailuresPerUser: 5, maxFailuresPerAddress: 20, windowMs: 300_000, lockoutMs: 60_000, maxLockoutMs: 1_800_000 };
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('the throttle rule', () => {
  it('locks out after max failures within the window, doubling each lockout up to the maximum', () => {
    let s = undefined as ReturnType<typeof afterFailure> | undefined;
    const t0 = 1_000_000;
    for (let i = 1; i <= 4; i++) {
      s = afterFailure(s, 5, t0 + i, POLICY);
      expect(s.failures).toBe(i);
      expect(s.blockedUntil).toBe(0);
    }
    s = afterFailure(s, 5, t0 + 5, POLICY);
    expect(s).toMatchObject({ failures: 0, lockouts: 1, blockedUntil: t0 + 5 + 60_000 });
    const lengths: number[] = [];
    for (let round = 0; round < 8; round++) {
      const start = s.blockedUntil;
      for (let i = 0; i < 5; i++) s = afterFailure(s, 5, start + i, POLICY);
      lengths.push(s.blockedUntil - (start + 4));
    }
    expect(lengths).toEqual([120_000, 240_000, 480_000, 960_000, 1_800_000, 1_800_000, 1_800_000, 1_800_000]);
  });

  it('starts a new window after it ends, and forgets a key that stayed quiet', () => {
    const t0 = 5_000_000;
    let s = afterFailure(undefined, 5, t0, POLICY);
    for (let i = 0; i < 3; i++) s = afterFailure(s, 5, t0 + 1, POLICY);
    expect(s.failures).toBe(4);
    s = afterFailure(s, 5, t0 + 300_000, POLICY);
    expect(s).toMatchObject({ failures: 1, windowStart: t0 + 300_000, blockedUntil: 0 });
    // a lockout is remembered (its level doubles the next one) until the key stayed quiet as long
    for (let i = 0; i < 4; i++) s = afterFailure(s, 5, t0 + 300_000, POLICY);
    expect(s.lockouts).toBe(1);
    const quietFrom = s.blockedUntil + 60_000;
    expect(s.expiresAt).toBe(Math.max(quietFrom, s.windowStart + POLICY.windowMs));
    const fresh = afterFailure(s, 5, s.expiresAt, POLICY);
    expect(fresh).toMatchObject({ failures: 1, lockouts: 0 });
  });

  it('keeps a bounded number of keys, dropping those whose last failure is the oldest', async () => {
    const counter = new MemoryFailureCounter(POLICY, 100);
    for (let i = 0; i < 10_000; i++) await counter.fail(`u:spray-${i}`, 5, 1_000 + i);
    expect(counter.size).toBe(100);
    expect(await counter.get('u:spray-9999', 20_000)).toBeDefined();
    expect(await counter.get('u:spray-0', 20_000)).toBeUndefined();
    // a key that fails again moves to the young end
    await counter.fail('u:spray-9900', 5, 20_001);
    for (let i = 0; i < 99; i++) await counter.fail(`u:more-${i}`, 5, 30_000 + i);
    expect(await counter.get('u:spray-9900', 40_000)).toBeDefined();
    expect(await counter.get('u:spray-9901', 40_000)).toBeUndefined();
  });

  it('counts an IPv6 client by its /64 and an IPv4-mapped address as IPv4', () => {
    expect(addressKey('2001:db8:1:2::1')).toBe(addressKey('2001:db8:1:2:ffff:ffff:ffff:9'));
    expect(addressKey('2001:0db8:0001:0002:0:0:0:1')).toBe(addressKey('2001:db8:1:2::1'));
    expect(addressKey('2001:db8:1:3::1')).not.toBe(addressKey('2001:db8:1:2::1'));
    expect(addressKey('::ffff:10.0.0.1')).toBe(addressKey('10.0.0.1'));
    expect(addressKey('10.0.0.1')).not.toBe(addressKey('10.0.0.2'));
    expect(addressKey('::1')).toBe('a:0:0:0:0::/64');
  });
});

describe('LoginThrottle with a clock of its own', () => {
  let now = 10_000_000;
  const clock = { now: () => now };
  const alice: Principal = { kind: 'user', userId: 7, username: 'alice', sysadmin: false };
  const failures: FailedLogin[] = [];
  const throttle = () => new LoginThrottle({ counter: new MemoryFailureCounter(POLICY, 1000), policy: POLICY, clock, recordFailure: (f) => void failures.push(f) });
  const check = (password: string) => async () => (password === 'Right12345' ? alice : undefined);
  const from = { ip: '192.0.2.10', channel: 'basic' as const };

  it('refuses attempts during a lockout without checking them, then lets them through again', async () => {
    const t = throttle();
    for (let i = 0; i < 5; i++) expect(await t.guard('alice', `wrong-${i}`, from, check(`wrong-${i}`))).toBeUndefined();
    expect(failures.at(-1)).toMatchObject({ username: 'alice', source: from, lockedForSeconds: 60 });
    let checked = false;
    const e = await t
      .guard('alice', 'Right12345', from, async () => {
        checked = true;
        return alice;
      })
      .catch((err: unknown) => err);
    expect(e).toMatchObject({ code: 'TOOMANYREQUESTS', detail: { retryAfterSeconds: 60 } });
    expect(checked).toBe(false);
    now += 30_000;
    await expect(t.guard('alice', 'Right12345', from, check('Right12345'))).rejects.toMatchObject({ detail: { retryAfterSeconds: 30 } });
    now += 30_001;
    expect(await t.guard('alice', 'Right12345', from, check('Right12345'))).toEqual(alice);
  });

  it('throttles a username that does not exist exactly like one that does', async () => {
    const t = throttle();
    const nobody = async () => undefined;
    const outcomes: string[] = [];
    for (const name of ['alice', 'no-such-user']) {
      for (let i = 0; i < 6; i++) {
        outcomes.push(await t.guard(name, 'guess', { ...from, ip: `198.51.100.${name.length}` }, nobody).then((p) => (p ? 'ok' : 'denied'), (err: { code: string }) => err.code));
      }
    }
    expect(outcomes.slice(0, 6)).toEqual(outcomes.slice(6));
    expect(outcomes.slice(0, 6)).toEqual(['denied', 'denied', 'denied', 'denied', 'denied', 'TOOMANYREQUESTS']);
  });

  it('lets at most the allowed number of a parallel burst of guesses be checked', async () => {
    const t = throttle();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    let started = 0;
    const slowWrong = async () => {
      started++;
      await gate;
      return undefined;
    };
    const burst = Array.from({ length: 30 }, (_, i) => t.guard('burst-target', `guess-${i}`, { ...from, ip: '203.0.113.5' }, slowWrong).catch((err: { code: string }) => err.code));
    await new Promise((r) => setImmediate(r));
    release();
    const results = await Promise.all(burst);
    expect(started).toBe(5);
    expect(results.filter((r) => r === 'TOOMANYREQUESTS')).toHaveLength(25);
  });

  it('lets a parallel first burst of right credentials through: the extra attempts wait for the first check', async () => {
    const t = throttle();
    let running = 0;
    let most = 0;
    let firstDone = false;
    const slowRight = async () => {
      running++;
      if (!firstDone) most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 20));
      firstDone = true;
      running--;
      return alice;
    };
    const burst = await Promise.all(Array.from({ length: 16 }, () => t.guard('alice', 'Right12345', { ...from, ip: '192.0.2.77' }, slowRight)));
    expect(burst).toEqual(Array.from({ length: 16 }, () => alice));
    // until the first success made them trusted, no more than the budget was being checked
    expect(most).toBe(5);
  });

  it('does not hold up credentials that just worked, not even while the account is locked out', async () => {
    const t = throttle();
    const mine = { ...from, ip: '192.0.2.200' };
    expect(await t.guard('alice', 'Right12345', mine, check('Right12345'))).toEqual(alice);
    // somebody else guesses alice's password from elsewhere until she is locked out
    for (let i = 0; i < 5; i++) await t.guard('alice', `guess-${i}`, { ...from, ip: '192.0.2.201' }, check(`guess-${i}`));
    await expect(t.guard('alice', 'guess-x', mine, check('guess-x'))).rejects.toMatchObject({ code: 'TOOMANYREQUESTS' });
    // her working client goes on
    expect(await t.guard('alice', 'Right12345', mine, check('Right12345'))).toEqual(alice);
  });

  it('clears a username’s count on success, never the address’s', async () => {
    const shared = { ...from, ip: '192.0.2.77' };
    const policy = { ...POLICY, maxFailuresPerAddress: 8 };
    const t = new LoginThrottle({ counter: new MemoryFailureCounter(policy, 1000), policy, clock, recordFailure: () => undefined });
    for (let i = 0; i < 4; i++) await t.guard('alice', `w${i}`, shared, check(`w${i}`));
    expect(await t.guard('alice', 'Right12345', shared, check('Right12345'))).toEqual(alice);
    // alice's own count starts again: four more failures (8 from the address) do not lock her…
    for (let i = 0; i < 3; i++) expect(await t.guard('alice', `v${i}`, shared, check(`v${i}`))).toBeUndefined();
    expect(await t.guard('alice', 'v3', shared, check('v3'))).toBeUndefined();
    // …but the address has now failed eight times
    await expect(t.guard('carol', 'x', shared, check('x'))).rejects.toMatchObject({ code: 'TOOMANYREQUESTS' });
    await expect(t.guard('alice', 'v4', shared, check('v4'))).rejects.toMatchObject({ code: 'TOOMANYREQUESTS' });
  });
});

describe('failed-login throttling over HTTP', () => {
  let s: TestServer;
  beforeAll(async () => {
    // per user: the default 5; the per-address limit is tested by the next block
    s = await startTestServer({ BERTH_AUTH_LOGIN_THROTTLE_MAX_FAILURES_PER_ADDRESS: '10000' });
    for (const u of ['alice', 'bob', 'carol', 'dave', 'erin']) await s.server.berth.users.create({ username: u, password: 'Right12345' });
  });
  afterAll(() => s.stop());

  const api = (user: string, password: string) => fetch(`${s.url}/api/v2.0/users/current`, { headers: { authorization: basic(user, password) } });

  it('answers 429 after 5 failures, with Retry-After and Harbor’s error, for an existing and a missing user alike', async () => {
    const seen: { status: number; body: unknown; retryAfter: string | null }[][] = [];
    for (const name of ['alice', 'not-a-user']) {
      const rounds: { status: number; body: unknown; retryAfter: string | null }[] = [];
      for (let i = 0; i < 7; i++) {
        // the last attempt has alice's right password: refused unchecked
        const res = await api(name, i === 6 ? 'Right12345' : `Wrong-${i}`);
        rounds.push({ status: res.status, body: await res.json(), retryAfter: res.headers.get('retry-after') });
      }
      seen.push(rounds);
    }
    const [existing, missing] = seen;
    expect(existing!.map((r) => r.status)).toEqual([401, 401, 401, 401, 401, 429, 429]);
    expect(missing!.map((r) => r.status)).toEqual(existing!.map((r) => r.status));
    for (let i = 0; i < 7; i++) expect(missing![i]!.body).toEqual(existing![i]!.body);
    expect(existing![5]!.body).toEqual({ errors: [{ code: 'TOOMANYREQUESTS', message: 'too many failed logins; try again later' }] });
    const retry = Number(existing![5]!.retryAfter);
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(60);
  });

  it('holds on every way in: Basic on /v2 and /api, /service/token (GET and POST), /c/login', async () => {
    for (let i = 0; i < 5; i++) expect((await api('bob', `Wrong-${i}`)).status).toBe(401);
    const v2 = await fetch(`${s.url}/v2/`, { headers: { authorization: basic('bob', 'Right12345') } });
    expect(v2.status).toBe(429);
    expect(((await v2.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('TOOMANYREQUESTS');
    expect(v2.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await fetch(`${s.url}/service/token?service=berth`, { headers: { authorization: basic('bob', 'Right12345') } })).status).toBe(429);
    const form = await fetch(`${s.url}/service/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'password', username: 'bob', password: 'Right12345', service: 'berth' }),
    });
    expect(form.status).toBe(429);
    const ui = await fetch(`${s.url}/c/login`, { method: 'POST', body: new URLSearchParams({ principal: 'bob', password: 'Right12345' }) });
    expect(ui.status).toBe(429);
    expect(ui.headers.get('set-cookie')).toBeNull();
    // another user is not affected
    expect((await api('carol', 'Right12345')).status).toBe(200);
  });

  it('counts failures across the ways in', async () => {
    const ui = () => fetch(`${s.url}/c/login`, { method: 'POST', body: new URLSearchParams({ principal: 'dave', password: 'nope' }) });
    const v2 = () => fetch(`${s.url}/v2/`, { headers: { authorization: basic('dave', 'nope') } });
    const token = () =>
      fetch(`${s.url}/service/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'password', username: 'dave', password: 'nope', service: 'berth' }) });
    expect([(await ui()).status, (await ui()).status, (await v2()).status, (await v2()).status, (await token()).status]).toEqual([401, 401, 401, 401, 401]);
    expect((await api('dave', 'Right12345')).status).toBe(429);
  });

  it('refuses most of a parallel burst of guesses unchecked', async () => {
    const statuses = await Promise.all(Array.from({ length: 30 }, (_, i) => api('burst', `Guess-${i}`).then((r) => r.status)));
    expect(statuses.filter((x) => x === 401).length).toBeLessThanOrEqual(5);
    expect(statuses.filter((x) => x === 401).length).toBeGreaterThanOrEqual(1);
    expect(statuses.filter((x) => x === 429).length).toBeGreaterThanOrEqual(25);
  });

  it('keeps serving a client whose credentials just worked while its account is locked out', async () => {
    expect((await api('erin', 'Right12345')).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await api('erin', `Wrong-${i}`)).status).toBe(401);
    expect((await api('erin', 'Wrong-again')).status).toBe(429);
    expect((await api('erin', 'Right12345')).status).toBe(200);
  });

  it('audits failed logins of existing and missing users alike, never with the password', async () => {
    await s.server.berth.audit.flush();
    const failed = await s.server.berth.metadata.audit.list({ operation: 'login' }, { limit: 500 });
    const of = (name: string) => failed.items.filter((r) => r.operator === name && r.result === 'failure');
    expect(of('alice')).toHaveLength(5);
    expect(of('not-a-user')).toHaveLength(5);
    expect(of('alice')[0]).toMatchObject({ resourceType: 'user', resource: 'alice', sourceIp: '127.0.0.1' });
    const vias = of('dave').map((r) => (r.detail as { via: string }).via).sort();
    expect(vias).toEqual(['basic', 'basic', 'token', 'ui', 'ui']);
    expect(JSON.stringify(failed.items)).not.toMatch(/Wrong-|Guess-|nope/);
  });
});

describe('per-address throttling over HTTP', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ BERTH_AUTH_LOGIN_THROTTLE_MAX_FAILURES_PER_ADDRESS: '6', BERTH_AUTH_LOGIN_THROTTLE_MAX_FAILURES_PER_USER: '1000' });
    for (const u of ['worker', 'newcomer']) await s.server.berth.users.create({ username: u, password: 'Right12345' });
  });
  afterAll(() => s.stop());

  const api = (user: string, password: string) => fetch(`${s.url}/api/v2.0/users/current`, { headers: { authorization: basic(user, password) } });

  it('locks an address out after failures spread over many usernames, but not its working clients', async () => {
    expect((await api('worker', 'Right12345')).status).toBe(200);
    for (let i = 0; i < 6; i++) expect((await api(`spray-${randomUUID().slice(0, 8)}`, 'Guess1234')).status).toBe(401);
    expect((await api(`spray-${randomUUID().slice(0, 8)}`, 'Guess1234')).status).toBe(429);
    // a sign-in not seen before is held back like any other attempt from here
    expect((await api('newcomer', 'Right12345')).status).toBe(429);
    // the client that is already working goes on
    expect((await api('worker', 'Right12345')).status).toBe(200);
  });
});
