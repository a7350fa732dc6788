import { describe, expect, it } from 'vitest';
import { mismatches, readPairs, readRows } from '../../../test/helpers/version-golden.js';
import { go } from './go.js';

describe('Go module versions', () => {
  it('agrees with golang.org/x/mod/semver on 2,500 pairs of Go versions from OSV and edge cases', () => {
    const pairs = readPairs('versions/go-compare.tsv');
    expect(pairs).toHaveLength(2500);
    expect(mismatches(pairs, go.compare)).toEqual([]);
  });

  it('accepts exactly what semver.IsValid accepts (with the "v" OSV leaves out)', () => {
    const rows = readRows('versions/go-valid.tsv');
    expect(rows.length).toBeGreaterThan(2000);
    expect(rows.filter(([v, valid]) => go.isValid(v ?? '') !== (valid === 'valid'))).toEqual([]);
  });

  it('sorts pseudo-versions below the release they precede and ignores +incompatible', () => {
    expect(go.compare('v0.0.0-20191109021931-daa7c04131f5', 'v0.0.1')).toBe(-1);
    expect(go.compare('v1.2.4-0.20191109021931-daa7c04131f5', 'v1.2.3')).toBe(1);
    expect(go.compare('v1.2.4-0.20191109021931-daa7c04131f5', 'v1.2.4')).toBe(-1);
    expect(go.compare('v2.0.0+incompatible', '2.0.0')).toBe(0);
    expect(go.compare('v1.2', 'v1.2.0')).toBe(0);
  });
});
