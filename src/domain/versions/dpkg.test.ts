import { describe, expect, it } from 'vitest';
import { mismatches, readPairs } from '../../../test/helpers/version-golden.js';
import { compareDpkgPart, dpkg, parseDpkg } from './dpkg.js';

describe('dpkg version order (Debian policy §5.6.12)', () => {
  it('agrees with dpkg --compare-versions on all 5,000 pairs from the bookworm Packages indexes', () => {
    const pairs = readPairs('vulndata/debian/dpkg-compare-golden.tsv');
    expect(pairs).toHaveLength(5000);
    expect(mismatches(pairs, dpkg.compare)).toEqual([]);
  });

  it('agrees with dpkg on 2,000 more pairs with tildes, epochs and odd characters', () => {
    const pairs = readPairs('versions/dpkg-compare.tsv');
    expect(pairs).toHaveLength(2000);
    expect(mismatches(pairs, dpkg.compare)).toEqual([]);
  });

  it('sorts "~" before everything, even the end of the string', () => {
    expect(dpkg.compare('1.0~rc1', '1.0')).toBeLessThan(0);
    expect(dpkg.compare('1.0~~', '1.0~')).toBeLessThan(0);
    expect(dpkg.compare('3.0.22-1~deb12u1', '3.0.22-1')).toBeLessThan(0);
    expect(dpkg.compare('3.0.22-1~deb12u1', '3.0.22-1~deb12u2')).toBeLessThan(0);
  });

  it('sorts letters before non-letters and digit runs as numbers', () => {
    expect(compareDpkgPart('1.0a', '1.0+')).toBeLessThan(0);
    expect(compareDpkgPart('1.10', '1.9')).toBeGreaterThan(0);
    expect(compareDpkgPart('1.007', '1.7')).toBe(0);
    expect(compareDpkgPart('1.0', '1.0.')).toBeLessThan(0);
  });

  it('reads a missing epoch as 0 and a missing revision as equal to "0"', () => {
    expect(dpkg.compare('0:1.0', '1.0')).toBe(0);
    expect(dpkg.compare('1.0', '1.0-0')).toBe(0);
    expect(dpkg.compare('1:0.1', '9.9')).toBeGreaterThan(0);
    expect(parseDpkg('1:1.2.13.dfsg-1')).toEqual({ epoch: '1', upstream: '1.2.13.dfsg', revision: '1' });
    expect(parseDpkg('2.36-9+deb12u14')).toEqual({ epoch: '0', upstream: '2.36', revision: '9+deb12u14' });
  });

  it('cannot order what dpkg rejects, and tells well-formed versions from tolerated ones', () => {
    expect(dpkg.compare('a:1.0', '1.0')).toBeUndefined();
    expect(dpkg.compare('1.0 1', '1.0')).toBeUndefined();
    expect(dpkg.compare('', '1.0')).toBeUndefined();
    expect(dpkg.isValid('1:2.3.4-5+deb12u1')).toBe(true);
    expect(dpkg.isValid('abc')).toBe(false);
    expect(dpkg.isValid('1.0_1')).toBe(false);
  });
});
