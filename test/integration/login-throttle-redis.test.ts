import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisFailureCounter } from '../../src/cache/redis-failure-counter.js';
import { afterFailure, type FailureState, MemoryFailureCounter, type ThrottlePolicy } from '../../src/services/login-throttle.js';
import { freePort } from '../helpers/child-server.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** The Redis every session's machine and CI run. */
const REDIS_URL = 'redis://127.0.0.1:6379';
const POLICY: ThrottlePolicy = { maxFailuresPerUser: 5, maxFailuresPerAddress: 20, windowMs: 300_000, lockoutMs: 60_000, maxLockoutMs: 1_800_000 };
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('the failed-login counters in Redis', () => {
  const prefix = `berth-test-${randomUUID()}:`;
  const conns: Redis[] = [];
  const counter = (onError?: (err: unknown) => void, url = REDIS_URL) => {
    const r = new Redis(url, { enableOfflineQueue: url === REDIS_URL, maxRetriesPerRequest: 1, connectTimeout: 500, retryStrategy: () => null });
    r.on('error', () => undefined);
    conns.push(r);
    return new RedisFailureCounter(r, { policy: POLICY, prefix, fallback: new MemoryFailureCounter(POLICY, 100), ...(onError ? { onError } : {}) });
  };
  afterAll(async () => {
    const r = new Redis(REDIS_URL);
    const keys = await r.keys(`${prefix}*`);
    if (keys.length) await r.del(...keys);
    await r.quit();
    for (const c of conns) c.disconnect();
  });

  it('moves through the same states as the rule, and Redis expires a key with its state', async () => {
    const c = counter();
    let expected: FailureState | undefined;
    const t0 = 1_000_000;
    for (let i = 0; i < 12; i++) {
      const now = t0 + i * 1000;
      expected = afterFailure(expected, 5, now, POLICY);
      expect(await c.fail('u:seq', 5, now)).toEqual(expected);
      expect(await c.get('u:seq', now)).toEqual(expected);
    }
    expect(expected!.lockouts).toBe(2);
    // forgotten once it has expired, by the clock of whoever asks
    expect(await c.get('u:seq', expected!.expiresAt)).toBeUndefined();
    await c.clear('u:seq');
    expect(await c.get('u:seq', t0)).toBeUndefined();
    // the key lives as long as the state does (in Redis time, from its write)
    await c.fail('u:ttl', 5, Date.now());
    const ttl = await conns[0]!.pttl(`${prefix}login-failures:u:ttl`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(POLICY.windowMs);
  });

  it('loses no failure when instances count the same key at once', async () => {
    const a = counter();
    const b = counter();
    const now = Date.now();
    await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).fail('u:race', 1000, now)));
    expect((await a.get('u:race', now))?.failures).toBe(40);
  });

  it('falls back to the instance\'s own counter when Redis cannot be reached, and says so', async () => {
    const errors: unknown[] = [];
    const c = counter((e) => errors.push(e), `redis://127.0.0.1:${await freePort()}`);
    const now = Date.now();
    for (let i = 0; i < 4; i++) await c.fail('u:offline', 5, now);
    const s = await c.fail('u:offline', 5, now);
    expect(s.blockedUntil).toBe(now + POLICY.lockoutMs);
    expect((await c.get('u:offline', now))?.lockouts).toBe(1);
    expect(errors.length).toBeGreaterThan(0);
  });
});

describe('two instances sharing one Redis', () => {
  const prefix = `berth-test-${randomUUID()}:`;
  let a: TestServer;
  let b: TestServer;
  let alone: TestServer;
  beforeAll(async () => {
    const env = { BERTH_REDIS_URL: REDIS_URL, BERTH_REDIS_KEY_PREFIX: prefix, BERTH_AUTH_LOGIN_THROTTLE_MAX_FAILURES_PER_ADDRESS: '10000' };
    [a, b, alone] = await Promise.all([startTestServer(env), startTestServer(env), startTestServer({ BERTH_AUTH_LOGIN_THROTTLE_MAX_FAILURES_PER_ADDRESS: '10000' })]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop(), alone?.stop()]);
    const r = new Redis(REDIS_URL);
    const keys = await r.keys(`${prefix}*`);
    if (keys.length) await r.del(...keys);
    await r.quit();
  });
  const attempt = (s: TestServer, user: string, password: string) => fetch(`${s.url}/api/v2.0/users/current`, { headers: { authorization: basic(user, password) } });

  it('counts a guess against the limit whichever instance it reaches', async () => {
    // three failures on one instance and two on the other make the five of the limit
    for (const s of [a, a, a, b, b]) expect((await attempt(s, 'mallory', 'Wrong12345')).status).toBe(401);
    const ra = await attempt(a, 'mallory', 'Wrong12345');
    expect(ra.status).toBe(429);
    expect(Number(ra.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await attempt(b, 'mallory', 'Wrong12345')).status).toBe(429);
    // an instance without Redis keeps its own counts
    expect((await attempt(alone, 'mallory', 'Wrong12345')).status).toBe(401);
  });

  it('still signs in users with the right password on every instance', async () => {
    for (const s of [a, b]) {
      expect((await attempt(s, 'admin', 'Admin12345')).status).toBe(200);
    }
  });
});

describe('an instance whose Redis is down', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ BERTH_REDIS_URL: `redis://127.0.0.1:${await freePort()}`, BERTH_AUTH_LOGIN_THROTTLE_MAX_FAILURES_PER_ADDRESS: '10000' });
  });
  afterAll(() => s?.stop());

  it('starts, signs users in, and throttles failed logins by itself', async () => {
    const attempt = (user: string, password: string) => fetch(`${s.url}/api/v2.0/users/current`, { headers: { authorization: basic(user, password) } });
    expect((await attempt('admin', 'Admin12345')).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await attempt('trudy', `Wrong-${i}`)).status).toBe(401);
    expect((await attempt('trudy', 'Wrong-6')).status).toBe(429);
  });
});
