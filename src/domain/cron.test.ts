import { describe, expect, it } from 'vitest';
import { CronError, nextCronTime, parseCron } from './cron.js';

const at = (iso: string) => Date.parse(iso);
const next = (expr: string, after: string) => {
  const t = nextCronTime(parseCron(expr), at(after));
  return t === undefined ? undefined : new Date(t).toISOString();
};

describe('cron', () => {
  it('reads Harbor’s six-field schedules (seconds first)', () => {
    expect(next('0 0 * * * *', '2024-03-10T10:15:00Z')).toBe('2024-03-10T11:00:00.000Z');
    expect(next('0 0 0 * * *', '2024-03-10T10:15:00Z')).toBe('2024-03-11T00:00:00.000Z');
    // weekly: Sunday
    expect(next('0 0 0 * * 0', '2024-03-10T10:15:00Z')).toBe('2024-03-17T00:00:00.000Z');
    expect(next('0 0 0 * * 7', '2024-03-10T10:15:00Z')).toBe('2024-03-17T00:00:00.000Z');
  });

  it('takes five fields as minute-first cron', () => {
    expect(next('30 2 * * *', '2024-03-10T02:30:00Z')).toBe('2024-03-11T02:30:00.000Z');
  });

  it('is strictly after the given time', () => {
    expect(next('0 0 0 * * *', '2024-03-11T00:00:00Z')).toBe('2024-03-12T00:00:00.000Z');
  });

  it('handles steps, ranges, lists and names', () => {
    expect(next('*/15 * * * * *', '2024-01-01T00:00:07Z')).toBe('2024-01-01T00:00:15.000Z');
    expect(next('0 0 9-17/4 * * MON-FRI', '2024-03-09T12:00:00Z')).toBe('2024-03-11T09:00:00.000Z');
    expect(next('0 0 12 1,15 * ?', '2024-03-02T00:00:00Z')).toBe('2024-03-15T12:00:00.000Z');
    expect(next('0 0 0 1 JAN *', '2024-03-02T00:00:00Z')).toBe('2025-01-01T00:00:00.000Z');
  });

  it('runs on a day matching either day field when both are restricted (cron’s rule)', () => {
    // the 13th, or any Friday
    expect(next('0 0 0 13 * 5', '2024-09-01T00:00:00Z')).toBe('2024-09-06T00:00:00.000Z');
  });

  it('finds leap days and says when there is none', () => {
    expect(next('0 0 0 29 2 *', '2024-03-01T00:00:00Z')).toBe('2028-02-29T00:00:00.000Z');
    expect(next('0 0 0 30 2 *', '2024-03-01T00:00:00Z')).toBeUndefined();
  });

  it('refuses malformed expressions with a reason', () => {
    for (const bad of ['', '* * *', '60 * * * * *', '* * 24 * * *', '0 0 0 0 * *', '*/0 * * * * *', '5-1 * * * * *', 'a * * * * *', '1,,2 * * * * *', '0 0 0 * 13 *']) {
      expect(() => parseCron(bad), bad).toThrow(CronError);
    }
  });
});
