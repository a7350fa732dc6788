import type { Redis } from 'ioredis';
import { afterFailure, type FailureState, type ThrottlePolicy } from '../domain/login-lockout.js';
import type { FailureCounter } from '../ports/failure-counter.js';

/**
 * Compare and set: the new state is written only when the stored one is still what the caller
 * read (`''` for none), with the state's own expiry. The rule itself stays in TypeScript
 * (`afterFailure`); the script only makes the read-modify-write atomic between instances.
 */
const CAS = `
local cur = redis.call('GET', KEYS[1])
if (cur == false and ARGV[1] == '') or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0`;

/** Rounds of compare-and-set before a failure is counted from the last read anyway. */
const MAX_ROUNDS = 50;

type CasRedis = Redis & { berthFailureCas(key: string, expected: string, next: string, ttlMs: number): Promise<number> };

function parse(v: string | null): FailureState | undefined {
  if (v === null) return undefined;
  try {
    const s = JSON.parse(v) as FailureState;
    return typeof s.failures === 'number' && typeof s.expiresAt === 'number' ? s : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The failed-login counters of every instance in one Redis: a guess counts against the limit
 * whichever instance it reaches. When Redis cannot be reached, each call falls back to the
 * instance's own counter (`fallback`), so that logins neither fail nor go unthrottled.
 */
export class RedisFailureCounter implements FailureCounter {
  private readonly redis: CasRedis;

  constructor(
    redis: Redis,
    private readonly opts: { policy: ThrottlePolicy; prefix: string; fallback: FailureCounter; onError?: (err: unknown) => void },
  ) {
    redis.defineCommand('berthFailureCas', { numberOfKeys: 1, lua: CAS });
    this.redis = redis as CasRedis;
  }

  private key(k: string): string {
    return `${this.opts.prefix}login-failures:${k}`;
  }

  private async guarded<T>(op: () => Promise<T>, fallback: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      this.opts.onError?.(err);
      return fallback();
    }
  }

  get(key: string, now: number): Promise<FailureState | undefined> {
    return this.guarded(
      async () => {
        const s = parse(await this.redis.get(this.key(key)));
        return s && s.expiresAt > now ? s : undefined;
      },
      () => this.opts.fallback.get(key, now),
    );
  }

  fail(key: string, max: number, now: number): Promise<FailureState> {
    return this.guarded(
      async () => {
        const k = this.key(key);
        let next: FailureState | undefined;
        for (let round = 0; round < MAX_ROUNDS; round++) {
          const cur = await this.redis.get(k);
          next = afterFailure(parse(cur), max, now, this.opts.policy);
          const ttl = Math.max(1, Math.ceil(next.expiresAt - now));
          if ((await this.redis.berthFailureCas(k, cur ?? '', JSON.stringify(next), ttl)) === 1) return next;
        }
        // a key contended this hard is under attack: its state is at least this
        return next!;
      },
      () => this.opts.fallback.fail(key, max, now),
    );
  }

  clear(key: string): Promise<void> {
    return this.guarded(
      async () => {
        await this.redis.del(this.key(key));
      },
      () => this.opts.fallback.clear(key),
    );
  }
}
