import { describe, expect, it } from 'vitest';
import { mismatches, readPairs, readRows } from '../../../test/helpers/version-golden.js';
import { cargo } from './cargo.js';

describe('Cargo versions', () => {
  it('agrees with the semver crate (precedence) on 1,500 pairs of crates.io versions from OSV and edge cases', () => {
    const pairs = readPairs('versions/cargo-compare.tsv');
    expect(pairs).toHaveLength(1500);
    expect(mismatches(pairs, cargo.compare)).toEqual([]);
  });

  it('accepts exactly what Version::parse accepts', () => {
    const rows = readRows('versions/cargo-valid.tsv');
    expect(rows.length).toBeGreaterThan(600);
    expect(rows.filter(([v, valid]) => cargo.isValid(v ?? '') !== (valid === 'valid'))).toEqual([]);
  });
});
