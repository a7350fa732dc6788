import { describe, expect, it } from 'vitest';
import { atLeast, compareSeverity, resolveSeverity, SEVERITIES, severityFromLabel, severityFromScore } from './severity.js';

describe('severity', () => {
  it('rates scores on the CVSS v3.1/v4.0 qualitative scale', () => {
    const cases: Array<[number, string]> = [[0, 'None'], [0.1, 'Low'], [3.9, 'Low'], [4, 'Medium'], [6.9, 'Medium'], [7, 'High'], [8.9, 'High'], [9, 'Critical'], [10, 'Critical']];
    for (const [score, word] of cases) expect(severityFromScore(score), String(score)).toBe(word);
    expect(severityFromScore(11)).toBe('Unknown');
    expect(severityFromScore(Number.NaN)).toBe('Unknown');
  });

  it('rates v2 scores on the v2 scale, which has no None or Critical', () => {
    expect(severityFromScore(10, '2.0')).toBe('High');
    expect(severityFromScore(0, '2.0')).toBe('Low');
    expect(severityFromScore(4.3, '2.0')).toBe('Medium');
  });

  it("keeps Harbor's order None < Unknown < Low < Medium < High < Critical", () => {
    expect(SEVERITIES).toEqual(['None', 'Unknown', 'Low', 'Medium', 'High', 'Critical']);
    expect(compareSeverity('Unknown', 'None')).toBeGreaterThan(0);
    expect(atLeast('Critical', 'High')).toBe(true);
    expect(atLeast('Medium', 'High')).toBe(false);
  });

  it("reads databases' own words", () => {
    expect(severityFromLabel('MODERATE')).toBe('Medium');
    expect(severityFromLabel('CRITICAL')).toBe('Critical');
    expect(severityFromLabel('unimportant')).toBe('Low');
    expect(severityFromLabel('whatever')).toBeUndefined();
  });

  it('prefers the newest CVSS version, then the database word', () => {
    const v3 = { version: '3.1' as const, vector: 'v3', baseScore: 9.8 };
    const v4 = { version: '4.0' as const, vector: 'v4', baseScore: 6.9 };
    expect(resolveSeverity([v3, v4], ['LOW'])).toEqual({ severity: 'Medium', cvss: v4 });
    expect(resolveSeverity([], ['LOW', 'HIGH'])).toEqual({ severity: 'Low' });
    expect(resolveSeverity([], ['odd'])).toEqual({ severity: 'Unknown' });
  });
});
