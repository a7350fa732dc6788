import { createHash } from 'node:crypto';
import { isIPv6 } from 'node:net';
import { RegistryError } from '../domain/errors.js';
import type { Principal } from '../domain/permission.js';
import type { Clock } from '../ports/clock.js';
import type { Metadata } from '../ports/metadata.js';
import { TtlCache } from './ttl-cache.js';
import { afterFailure, type FailureState, type ThrottlePolicy } from '../domain/login-lockout.js';
import type { FailureCounter } from '../ports/failure-counter.js';

export { afterFailure, type FailureState, type ThrottlePolicy };
export type { FailureCounter };

/** Where a password attempt comes from. */
export interface LoginSource {
  /** the client address (req.ip) */
  ip: string;
  /** basic: an Authorization header on /v2, /api or /service/token; token: the OAuth2 form; ui: /c/login */
  channel: 'basic' | 'token' | 'ui';
}

/**
 * In-process counters with a cap on the number of keys: past it, the entry whose last failure is
 * the oldest goes first (a Map keeps insertion order, and every failure re-inserts its key).
 */
export class MemoryFailureCounter implements FailureCounter {
  private readonly entries = new Map<string, FailureState>();

  constructor(
    private readonly policy: ThrottlePolicy,
    private readonly maxKeys: number,
  ) {}

  async get(key: string, now: number): Promise<FailureState | undefined> {
    const e = this.entries.get(key);
    if (e && e.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  async fail(key: string, max: number, now: number): Promise<FailureState> {
    const next = afterFailure(this.entries.get(key), max, now, this.policy);
    this.entries.delete(key);
    while (this.entries.size >= this.maxKeys) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(key, next);
    return next;
  }

  async clear(key: string): Promise<void> {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}

/** The wrapper AccessService calls around every password check. */
export interface PasswordGuard {
  guard(username: string, password: string, source: LoginSource | undefined, verify: () => Promise<Principal | undefined>): Promise<Principal | undefined>;
}

/** A refused password check, for the audit log (the password is never part of it). */
export interface FailedLogin {
  username: string;
  source: LoginSource | undefined;
  at: number;
  /** set when this failure started a lockout */
  lockedForSeconds?: number;
}

/**
 * Records failed logins in their own short transaction (there is no change to join), in the
 * shape of every login record: operation `login`, result `failure`.
 */
export function auditFailedLogins(metadata: Pick<Metadata, 'transaction'>, onError: (err: unknown) => void): (f: FailedLogin) => Promise<void> {
  return async (f) => {
    const name = f.username.slice(0, 255);
    try {
      await metadata.transaction((tx) =>
        tx.audit.append({
          operator: name === '' ? 'anonymous' : name,
          operation: 'login',
          resourceType: 'user',
          resource: name,
          ...(f.source ? { sourceIp: f.source.ip } : {}),
          result: 'failure',
          detail: { via: f.source?.channel ?? 'basic', ...(f.lockedForSeconds ? { locked_seconds: f.lockedForSeconds } : {}) },
          at: f.at,
        }),
      );
    } catch (err) {
      // the login answer stands; the failure to record it is logged
      onError(err);
    }
  };
}

export const tooManyFailedLogins = (retryAfterSeconds: number) =>
  new RegistryError('TOOMANYREQUESTS', 'too many failed logins; try again later', { retryAfterSeconds });

/** how long credentials that succeeded pass without the throttle's checks */
const TRUST_MS = 5 * 60_000;
/** How long an attempt waits for the checks in flight that fill its key's budget. */
const MAX_INFLIGHT_WAIT_MS = 10_000;

/** A username as a key; names longer than any account can have share one key per prefix. */
const userKey = (username: string) => `u:${username.slice(0, 256)}`;

/** IPv4 addresses count alone; IPv6 ones by /64, the block one client usually holds. */
export function addressKey(ip: string): string {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
  if (v4 || !isIPv6(ip)) return `a:${v4 ?? ip}`;
  const [head = '', tail] = ip.split('%')[0]!.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return `a:${groups
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

/**
 * Failed-login throttling per username and per source address: after too many failures in the
 * window, attempts are refused with TOOMANYREQUESTS (and Retry-After) before any check, for a
 * lockout that doubles each time. Keys are the attempted names, so an account that does not
 * exist is throttled exactly like one that does. Every failed check goes to `recordFailure`.
 *
 * Attempts in flight count as failures until they end, so that a burst of parallel guesses
 * cannot pass the limit before the first of them is recorded; an attempt beyond that budget
 * waits for the running checks (bounded) instead of being refused outright. Credentials that succeeded in the
 * last minutes (on this instance) are no guesses: they pass without either check, so that a
 * client's parallel requests never trip the limit and an attacker who locks an account or an
 * address out does not stop the clients already working with it.
 */
export class LoginThrottle implements PasswordGuard {
  private readonly inflight = new Map<string, number>();
  private readonly waiters = new Map<string, (() => void)[]>();
  private readonly recentlyGood: TtlCache<string, true>;

  constructor(
    private readonly deps: {
      counter: FailureCounter;
      policy: ThrottlePolicy;
      clock: Clock;
      /** the audit record of a failed check (auditFailedLogins, or a buffered writer) */
      recordFailure: (f: FailedLogin) => Promise<void> | void;
    },
  ) {
    this.recentlyGood = new TtlCache(10_000, () => deps.clock.now());
  }

  async guard(username: string, password: string, source: LoginSource | undefined, verify: () => Promise<Principal | undefined>): Promise<Principal | undefined> {
    const { counter, policy, clock } = this.deps;
    const now = clock.now();
    const keys = [{ key: userKey(username), max: policy.maxFailuresPerUser }];
    if (source) keys.push({ key: addressKey(source.ip), max: policy.maxFailuresPerAddress });
    const fingerprint = createHash('sha256').update(username).update('\0').update(password).digest('base64');
    // not a guess: these exact credentials were right a moment ago, so neither a lockout nor
    // the in-flight count holds them up (a locked-out address does not stop its working clients)
    let trusted = this.recentlyGood.get(fingerprint) !== undefined;

    let states: (FailureState | undefined)[] = [];
    const waitStarted = performance.now();
    while (!trusted) {
      states = await Promise.all(keys.map((k) => counter.get(k.key, now)));
      let retryAfterMs = 0;
      let busy: string | undefined;
      keys.forEach((k, i) => {
        const s = states[i];
        if (s && s.blockedUntil > now) retryAfterMs = Math.max(retryAfterMs, s.blockedUntil - now);
        else if ((s?.failures ?? 0) + (this.inflight.get(k.key) ?? 0) >= k.max) {
          if (this.inflight.has(k.key)) busy = k.key;
          else retryAfterMs = Math.max(retryAfterMs, 1000);
        }
      });
      if (retryAfterMs > 0) throw tooManyFailedLogins(Math.ceil(retryAfterMs / 1000));
      if (busy === undefined) {
        for (const k of keys) this.inflight.set(k.key, (this.inflight.get(k.key) ?? 0) + 1);
        break;
      }
      // The budget is taken by checks still running: wait for them rather than refuse. A
      // client's parallel first requests with new credentials then pass as soon as the first
      // of them succeeds; parallel guesses are checked one budget at a time and refused once
      // the failures lock the key out.
      const left = MAX_INFLIGHT_WAIT_MS - (performance.now() - waitStarted);
      if (left <= 0) throw tooManyFailedLogins(1);
      await this.settled(busy, left);
      trusted = this.recentlyGood.get(fingerprint) !== undefined;
    }
    let principal: Principal | undefined;
    let after: FailureState[] = [];
    try {
      principal = await verify();
      // recorded before the in-flight count drops, so that no check in between sees neither
      if (!principal) after = await Promise.all(keys.map((k) => counter.fail(k.key, k.max, clock.now())));
    } finally {
      if (!trusted) for (const k of keys) this.release(k.key);
    }

    if (principal) {
      if (!trusted) this.recentlyGood.set(fingerprint, true, TRUST_MS);
      // a success clears the username's count, never the address's: one good account must not
      // reset the count of guesses at the others from the same place
      if (states[0]) await counter.clear(keys[0]!.key);
      return principal;
    }
    if (trusted) this.recentlyGood.delete(fingerprint);
    const lockedForMs = Math.max(...after.map((s) => (s.failures === 0 && s.blockedUntil > now ? s.blockedUntil - now : 0)));
    await this.deps.recordFailure({ username, source, at: now, ...(lockedForMs > 0 ? { lockedForSeconds: Math.ceil(lockedForMs / 1000) } : {}) });
    return undefined;
  }

  private release(key: string): void {
    const n = (this.inflight.get(key) ?? 1) - 1;
    if (n <= 0) this.inflight.delete(key);
    else this.inflight.set(key, n);
    const waiting = this.waiters.get(key);
    if (waiting) {
      this.waiters.delete(key);
      for (const wake of waiting) wake();
    }
  }

  /** Resolves when a check in flight for `key` ends, or after `ms`. */
  private settled(key: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      timer.unref();
      const list = this.waiters.get(key) ?? [];
      list.push(() => {
        clearTimeout(timer);
        resolve();
      });
      this.waiters.set(key, list);
    });
  }
}
