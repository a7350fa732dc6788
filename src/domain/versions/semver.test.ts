import { describe, expect, it } from 'vitest';
import { compareSemVer, parseSemVer, semver } from './semver.js';

describe('SemVer 2.0.0 (semver.org)', () => {
  it('orders the precedence example of §11', () => {
    const order = ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0'];
    for (let i = 1; i < order.length; i++) expect(semver.compare(order[i - 1] as string, order[i] as string), `${order[i - 1]} < ${order[i]}`).toBe(-1);
    expect(semver.compare('1.0.0', '2.0.0')).toBe(-1);
    expect(semver.compare('2.1.0', '2.1.1')).toBe(-1);
  });

  it('ignores build metadata for precedence (§10)', () => {
    expect(semver.compare('1.0.0+20130313144700', '1.0.0')).toBe(0);
    expect(semver.compare('1.0.0-beta+exp.sha.5114f85', '1.0.0-beta')).toBe(0);
  });

  it('rejects leading zeros, empty identifiers and missing parts; tolerates one "v" on an installed version', () => {
    for (const v of ['01.0.0', '1.0', '1.0.0-01', '1.0.0-', '1.0.0+', '1.0.0-a..b', ' 1.0.0']) expect(semver.isValid(v), v).toBe(false);
    expect(semver.compare('v1.2.3', '1.2.3')).toBe(0);
  });

  it('compares numbers of any size', () => {
    const a = parseSemVer('99999999999999999999.0.0');
    const b = parseSemVer('99999999999999999998.0.0');
    expect(a && b && compareSemVer(a, b)).toBe(1);
  });
});
