import { describe, expect, it } from 'vitest';
import { mismatches, readPairs } from '../../../test/helpers/version-golden.js';
import { parseRpm, rpm, rpmvercmp } from './rpm.js';

describe('rpm version order (rpmvercmp, rpm 4.18)', () => {
  it('agrees with rpm.ver of python3-rpm on 3,000 pairs', () => {
    const pairs = readPairs('versions/rpm-compare.tsv');
    expect(pairs).toHaveLength(3000);
    expect(mismatches(pairs, rpm.compare)).toEqual([]);
  });

  it('sorts "~" before the end and "^" after the end but before more segments', () => {
    expect(rpmvercmp('1.0~rc1', '1.0')).toBe(-1);
    expect(rpmvercmp('1.0^git1', '1.0')).toBe(1);
    expect(rpmvercmp('1.0^git1', '1.0.1')).toBe(-1);
    expect(rpmvercmp('1.0~rc1^git1', '1.0~rc1')).toBe(1);
  });

  it('ignores separators, compares digit runs as numbers and makes numbers newer than letters', () => {
    expect(rpmvercmp('1.0a', '1.0.a')).toBe(0);
    expect(rpmvercmp('1_0', '1.0')).toBe(0);
    expect(rpmvercmp('1.010', '1.9')).toBe(1);
    expect(rpmvercmp('1.001', '1.1')).toBe(0);
    expect(rpmvercmp('1.1', '1.a')).toBe(1);
    expect(rpmvercmp('el8_10', 'el8_6')).toBe(1);
  });

  it('reads epoch:version-release; a missing epoch is 0 and a missing release is older', () => {
    expect(parseRpm('2:1.0-0.1.rc1.fc39')).toEqual({ epoch: '2', version: '1.0', release: '0.1.rc1.fc39' });
    expect(rpm.compare('0:1.0-1', '1.0-1')).toBe(0);
    expect(rpm.compare('1:0.1-1', '9.9-1')).toBe(1);
    expect(rpm.compare('1.0', '1.0-1')).toBe(-1);
    expect(rpm.compare('5.14.0-427.13.1.el9_4', '5.14.0-427.el9')).toBe(1);
  });
});
