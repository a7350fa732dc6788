import { describe, expect, it } from 'vitest';
import { mismatches, readPairs } from '../../../test/helpers/version-golden.js';
import { compareMaven } from './maven.js';

describe('Maven versions (ComparableVersion)', () => {
  it('agrees with maven-artifact 3.9 on 2,500 pairs of real and edge-case versions', () => {
    const pairs = readPairs('versions/maven-compare.tsv');
    expect(pairs).toHaveLength(2500);
    expect(mismatches(pairs, compareMaven)).toEqual([]);
  });

  it('orders qualifiers alpha < beta < milestone < rc = cr < snapshot < "" = ga = final = release < sp', () => {
    const order = ['1-alpha', '1-beta', '1-milestone', '1-rc', '1-snapshot', '1', '1-sp', '1-foo', '1-1', '1.1'];
    for (let i = 1; i < order.length; i++) expect(compareMaven(order[i - 1] as string, order[i] as string), `${order[i - 1]} < ${order[i]}`).toBe(-1);
    for (const same of ['1.0', '1-ga', '1-final', '1-release', '1.0.0.Final']) expect(compareMaven('1', same), same).toBe(0);
    expect(compareMaven('1-cr1', '1-rc1')).toBe(0);
    expect(compareMaven('1.0a1', '1.0-alpha-1')).toBe(0);
  });
});
