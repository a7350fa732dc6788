/** The failed-login lockout rule (the login throttle's), pure: no clock, no storage. */

export interface ThrottlePolicy {
  /** failures within `windowMs` that lock a username out */
  maxFailuresPerUser: number;
  /** failures within `windowMs` that lock an address out (higher: many people share a NAT) */
  maxFailuresPerAddress: number;
  windowMs: number;
  /** the first lockout; each next one of the same key doubles, up to `maxLockoutMs` */
  lockoutMs: number;
  maxLockoutMs: number;
}

export interface FailureState {
  /** failures in the current window */
  failures: number;
  windowStart: number;
  /** lockouts so far: the next one lasts lockoutMs × 2^lockouts */
  lockouts: number;
  /** epoch ms; attempts before it are refused unchecked */
  blockedUntil: number;
  /** the length of the last lockout */
  lastLockoutMs: number;
  /** when the whole entry may be forgotten */
  expiresAt: number;
}

/** The rule: `max` failures within the window start a lockout that doubles each time. */
export function afterFailure(prev: FailureState | undefined, max: number, now: number, policy: ThrottlePolicy): FailureState {
  const live = prev && prev.expiresAt > now ? prev : undefined;
  let failures = live?.failures ?? 0;
  let windowStart = live?.windowStart ?? now;
  let lockouts = live?.lockouts ?? 0;
  let blockedUntil = live?.blockedUntil ?? 0;
  let lastLockoutMs = live?.lastLockoutMs ?? 0;
  if (now - windowStart >= policy.windowMs) {
    failures = 0;
    windowStart = now;
  }
  failures += 1;
  if (failures >= max) {
    lastLockoutMs = Math.min(policy.lockoutMs * 2 ** lockouts, policy.maxLockoutMs);
    lockouts += 1;
    blockedUntil = now + lastLockoutMs;
    failures = 0;
    windowStart = now;
  }
  // the lockout level is forgotten once the key has stayed quiet as long as its last lockout
  const expiresAt = Math.max(windowStart + policy.windowMs, blockedUntil + lastLockoutMs);
  return { failures, windowStart, lockouts, blockedUntil, lastLockoutMs, expiresAt };
}
