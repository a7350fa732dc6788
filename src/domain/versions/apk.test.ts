import { describe, expect, it } from 'vitest';
import { readRows } from '../../../test/helpers/version-golden.js';
import { apk } from './apk.js';

const OPS: Readonly<Record<string, number>> = { '<': -1, '=': 0, '>': 1 };

describe('apk version order (apk-tools)', () => {
  // apk-tools' own test vectors, test/version.data: "a op b", "#" starts a comment
  const vectors = readRows('versions/apk-version.data')
    .map(([line]) => (line ?? '').replace(/#.*/, '').trim())
    .filter((l) => l !== '')
    .map((l) => l.split(/\s+/));

  it("agrees with every vector of apk-tools' test/version.data", () => {
    expect(vectors).toHaveLength(733);
    const wrong = vectors.filter(([a, op, b]) => Math.sign(apk.compare(a ?? '', b ?? '') ?? NaN) !== OPS[op ?? '']);
    expect(wrong).toEqual([]);
  });

  it('orders suffixes _alpha < _beta < _pre < _rc < none < _cvs < _svn < _git < _hg < _p', () => {
    const order = ['1.0_alpha', '1.0_beta', '1.0_pre', '1.0_rc', '1.0', '1.0_cvs', '1.0_svn', '1.0_git', '1.0_hg', '1.0_p'];
    for (let i = 1; i < order.length; i++) expect(apk.compare(order[i - 1] as string, order[i] as string), `${order[i - 1]} < ${order[i]}`).toBe(-1);
  });

  it('orders revisions, letters and commit hashes', () => {
    expect(apk.compare('1.2.3-r9', '1.2.3-r10')).toBe(-1);
    expect(apk.compare('1.2.3', '1.2.3-r0')).toBe(-1);
    expect(apk.compare('1.2.3a', '1.2.3b')).toBe(-1);
    expect(apk.compare('1.2.3b', '1.2.4')).toBe(-1);
    // version.c: the token that comes earlier in the grammar wins, so a ~hash is newer than none
    expect(apk.compare('1.2.3~abc1-r0', '1.2.3-r0')).toBe(1);
    expect(apk.compare('1.2.3~abc1', '1.2.3~abc2')).toBe(-1);
    expect(apk.compare('3.0.15-r0', '3.0.15-r1')).toBe(-1);
  });

  it('knows well-formed versions', () => {
    for (const v of ['1.0', '1.0_alpha2-r1', '2.3.0b-r4', '0.1_pre20060810', '1.4~a3f91c-r3']) expect(apk.isValid(v), v).toBe(true);
    for (const v of ['', '1.0-', '1.0bc', '23_foo', '1.0-x1', 'v1.0']) expect(apk.isValid(v), v).toBe(false);
  });
});
