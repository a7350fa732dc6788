import { describe, expect, it } from 'vitest';
import { mismatches, readPairs, readRows } from '../../../test/helpers/version-golden.js';
import { normalizePep440, parsePep440, pep440 } from './pep440.js';

describe('PEP 440 versions (PyPI)', () => {
  it('agrees with packaging.version on 4,000 pairs of PyPI versions from OSV and edge cases', () => {
    const pairs = readPairs('versions/pep440-compare.tsv');
    expect(pairs).toHaveLength(4000);
    expect(mismatches(pairs, pep440.compare)).toEqual([]);
  });

  it('accepts what packaging accepts and normalises it the same way', () => {
    const rows = readRows('versions/pep440-valid.tsv');
    expect(rows.length).toBeGreaterThan(3000);
    const wrong = rows.filter(([v, valid, normal]) => {
      const p = parsePep440(v ?? '');
      return valid === 'valid' ? !p || normalizePep440(p) !== normal : p !== undefined;
    });
    expect(wrong).toEqual([]);
  });

  it('orders dev < pre < final < post releases, with epochs first and local versions last', () => {
    const order = ['1.0.dev1', '1.0a1.dev1', '1.0a1', '1.0a1.post1', '1.0b1', '1.0rc1', '1.0', '1.0+abc', '1.0+abc.5', '1.0+5', '1.0.post1.dev1', '1.0.post1', '1.1', '1!0.1'];
    for (let i = 1; i < order.length; i++) expect(pep440.compare(order[i - 1] as string, order[i] as string), `${order[i - 1]} < ${order[i]}`).toBe(-1);
    expect(pep440.compare('1.0', '1.0.0')).toBe(0);
    expect(pep440.compare('1.0-1', '1.0.post1')).toBe(0);
    expect(pep440.compare('1.0ALPHA1', '1.0a1')).toBe(0);
  });
});
