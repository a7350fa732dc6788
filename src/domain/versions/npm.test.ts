import { describe, expect, it } from 'vitest';
import { mismatches, readPairs, readRows } from '../../../test/helpers/version-golden.js';
import { npm } from './npm.js';

describe('npm versions', () => {
  it('agrees with node-semver on 2,500 pairs from the Node.js security index, Go versions and edge cases', () => {
    const pairs = readPairs('versions/npm-compare.tsv');
    expect(pairs).toHaveLength(2500);
    expect(mismatches(pairs, npm.compare)).toEqual([]);
  });

  it('accepts exactly what new SemVer() accepts', () => {
    const rows = readRows('versions/npm-valid.tsv');
    expect(rows.length).toBeGreaterThan(2000);
    expect(rows.filter(([v, valid]) => npm.isValid(v ?? '') !== (valid === 'valid'))).toEqual([]);
  });
});
