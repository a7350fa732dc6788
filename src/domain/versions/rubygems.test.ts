import { describe, expect, it } from 'vitest';
import { mismatches, readPairs, readRows } from '../../../test/helpers/version-golden.js';
import { rubygems } from './rubygems.js';

describe('RubyGems versions (Gem::Version)', () => {
  it('agrees with Gem::Version#<=> on 1,200 pairs', () => {
    const pairs = readPairs('versions/rubygems-compare.tsv');
    expect(pairs).toHaveLength(1200);
    expect(mismatches(pairs, rubygems.compare)).toEqual([]);
  });

  it('accepts exactly what Gem::Version.correct? accepts', () => {
    const rows = readRows('versions/rubygems-valid.tsv');
    expect(rows.length).toBeGreaterThan(40);
    expect(rows.filter(([v, valid]) => rubygems.isValid(v ?? '') !== (valid === 'valid'))).toEqual([]);
  });

  it('sorts prerelease letters before numbers and drops trailing zeros', () => {
    expect(rubygems.compare('1.0.a', '1.0')).toBe(-1);
    expect(rubygems.compare('1.0.0.rc1', '1.0.0')).toBe(-1);
    expect(rubygems.compare('1.0.0-rc1', '1.0.0.pre.rc1')).toBe(0);
    expect(rubygems.compare('1.0.0', '1')).toBe(0);
    expect(rubygems.compare('1.0.a.0', '1.a')).toBe(0);
  });
});
