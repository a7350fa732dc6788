import type { FailureState } from '../domain/login-lockout.js';

/**
 * Failure counters by key (the login throttle's). The in-process one serves a single instance;
 * the Redis one shares them between instances, applying the same `afterFailure` rule.
 */
export interface FailureCounter {
  get(key: string, now: number): Promise<FailureState | undefined>;
  /** records one failure against a limit of `max` and returns the new state */
  fail(key: string, max: number, now: number): Promise<FailureState>;
  clear(key: string): Promise<void>;
}
