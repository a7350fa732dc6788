import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FIXTURES } from '../../test/helpers/version-golden.js';
import { affectedVerdict, fixedVersions, isAffected, type OsvAffected } from './osv-range.js';

interface OsvRecord {
  id: string;
  aliases?: string[];
  affected: OsvAffected[];
}

const record = (path: string): OsvRecord => JSON.parse(readFileSync(`${FIXTURES}vulndata/osv/${path}`, 'utf8')) as OsvRecord;
const only = (r: OsvRecord): OsvAffected => r.affected[0] as OsvAffected;

// Every expectation below was read off the record by hand (its events are quoted in the test
// name), not computed by the code under test.
describe('OSV affected ranges on real records', () => {
  it('Go GO-2025-3729 (mattermost, SEMVER pairs 9.0.0-rc1..9.11.13, 10.0.0-rc1..10.5.4, 10.6.0-rc1..10.6.3, 10.7.0-rc1..10.7.1, +incompatible)', () => {
    const a = only(record('Go/GO-2025-3729.json'));
    const yes = ['9.0.0-rc1+incompatible', '9.11.12+incompatible', 'v10.5.3+incompatible', '10.6.2+incompatible', '10.7.0+incompatible'];
    const no = ['8.1.10+incompatible', '9.11.13+incompatible', '10.5.4+incompatible', '10.6.3+incompatible', '10.7.1+incompatible', '10.8.0'];
    for (const v of yes) expect(isAffected(v, a), v).toBe(true);
    for (const v of no) expect(affectedVerdict(v, a), v).toBe('not-affected');
    expect(fixedVersions('10.6.2+incompatible', a)).toEqual(['10.6.3+incompatible']);
  });

  it('Go GO-2020-0012 (golang.org/x/crypto, introduced 0, fixed at pseudo-version 0.0.0-20200220183623-bac4c82f6975)', () => {
    const a = only(record('Go/GO-2020-0012.json'));
    expect(isAffected('v0.0.0-20200219234226-1ad67e1f0ef4', a)).toBe(true);
    expect(isAffected('v0.0.0-20200220183623-bac4c82f6975', a)).toBe(false);
    expect(isAffected('v0.1.0', a)).toBe(false);
  });

  it('crates.io RUSTSEC-2018-0003 (smallvec, [0.3.2,0.3.4) [0.4.0-0,0.4.5) [0.5.0-0,0.5.1) [0.6.0-0,0.6.3))', () => {
    const a = only(record('crates.io/RUSTSEC-2018-0003.json'));
    for (const v of ['0.3.2', '0.3.3', '0.4.0', '0.4.4', '0.5.0', '0.6.0', '0.6.2']) expect(isAffected(v, a), v).toBe(true);
    for (const v of ['0.3.1', '0.3.4', '0.4.5', '0.5.1', '0.6.3', '1.0.0']) expect(isAffected(v, a), v).toBe(false);
    expect(fixedVersions('0.4.4', a)).toEqual(['0.4.5']);
  });

  it('crates.io RUSTSEC-2020-0071 (time, [0.0.0-0,0.2.0), one-version holes 0.2.1..0.2.6, then [0.2.7-0,0.2.23))', () => {
    const a = only(record('crates.io/RUSTSEC-2020-0071.json'));
    for (const v of ['0.1.45', '0.2.0-alpha.1', '0.2.7', '0.2.22']) expect(isAffected(v, a), v).toBe(true);
    for (const v of ['0.2.0', '0.2.1', '0.2.6', '0.2.23', '0.3.0']) expect(isAffected(v, a), v).toBe(false);
  });

  it('PyPI PYSEC-2024-154 (ultralytics, [8.3.41, 8.3.47) and a versions list)', () => {
    const a = only(record('PyPI/PYSEC-2024-154.json'));
    for (const v of ['8.3.41', '8.3.46', '8.3.47rc1', '8.3.46.post1']) expect(isAffected(v, a), v).toBe(true);
    for (const v of ['8.3.40', '8.3.47', '8.3.47.post1', '9.0']) expect(isAffected(v, a), v).toBe(false);
    // the versions list alone: listed versions (also in another spelling of the same version) are affected
    const listOnly: OsvAffected = { ...a, ranges: [] };
    expect(isAffected('8.3.42', listOnly)).toBe(true);
    expect(isAffected('8.3.42.0', listOnly)).toBe(true);
    expect(isAffected('8.3.47', listOnly)).toBe(false);
  });

  it('PyPI PYSEC-2026-1055 (twisted, [0.9.4, 22.10.0rc1): the release candidate that fixes it is not affected)', () => {
    const a = only(record('PyPI/PYSEC-2026-1055.json'));
    for (const v of ['0.9.4', '22.4.0', '22.10.0a1']) expect(isAffected(v, a), v).toBe(true);
    for (const v of ['0.9.3', '22.10.0rc1', '22.10.0', '23.8.0']) expect(isAffected(v, a), v).toBe(false);
  });

  it('PyPI PYSEC-2009-15 (last_affected 0.10.9, 0.10.10, 0.10.11, 0.8.5, unsorted): evaluated as the schema says, events sorted first', () => {
    const a = only(record('PyPI/PYSEC-2009-15.json'));
    // sorted: introduced 0, last_affected 0.8.5, 0.10.9, ...: the first last_affected below v ends the range
    expect(isAffected('0.8.5', a)).toBe(true);
    expect(isAffected('0.7', a)).toBe(true);
    expect(isAffected('0.8.6', a)).toBe(false);
    expect(isAffected('0.10.10', a)).toBe(false);
  });

  it('RubyGems GHSA-24fg-p96v-hxh8 (rails, two affected entries [2.1.0,2.3.11) and [3.0.0,3.0.4))', () => {
    const r = record('RubyGems/GHSA-24fg-p96v-hxh8.json');
    const hit = (v: string): boolean => r.affected.some((a) => isAffected(v, a));
    for (const v of ['2.1.0', '2.3.10', '3.0.0', '3.0.3']) expect(hit(v), v).toBe(true);
    // 3.0.0.rc is a pre-release of 3.0.0, so it comes before the second range opens
    for (const v of ['2.0.5', '2.3.11', '3.0.0.rc', '3.0.4', '3.1.0']) expect(hit(v), v).toBe(false);
  });

  it('RubyGems GHSA-229r-pqp6-8w6g (sprout, introduced 0, last_affected 0.7.246)', () => {
    const a = only(record('RubyGems/GHSA-229r-pqp6-8w6g.json'));
    expect(isAffected('0.7.246', a)).toBe(true);
    expect(isAffected('0.7.247', a)).toBe(false);
  });
});

describe('Debian 12 changelog fixture (ecosystem Debian:12, source packages)', () => {
  const records = JSON.parse(readFileSync(`${FIXTURES}vulndata/debian/debian12-changelog-fixture-osv.json`, 'utf8')) as OsvRecord[];
  const cvesAffecting = (source: string, version: string): string[] =>
    records
      .filter((r) => r.affected.some((a) => a.package?.name === source && a.package.ecosystem === 'Debian:12' && isAffected(version, a)))
      .map((r) => r.aliases?.[0] ?? r.id)
      .sort();

  it('openssl 3.0.22-1~deb12u1 (libssl3) is affected by the six CVEs fixed in ~deb12u2 and none of the older ones', () => {
    expect(cvesAffecting('openssl', '3.0.22-1~deb12u1')).toEqual([
      'CVE-2026-35189', 'CVE-2026-54872', 'CVE-2026-75805', 'CVE-2026-75806', 'CVE-2026-77696', 'CVE-2026-84782',
    ]);
    expect(cvesAffecting('openssl', '3.0.22-1~deb12u1')).not.toContain('CVE-2026-42767');
    expect(cvesAffecting('openssl', '3.0.22-1~deb12u2')).toEqual([]);
  });

  it('glibc 2.36-9+deb12u13 is affected by the six CVEs fixed in +deb12u14, not by those fixed in +deb12u2..u13', () => {
    expect(cvesAffecting('glibc', '2.36-9+deb12u13')).toEqual([
      'CVE-2025-15281', 'CVE-2026-0861', 'CVE-2026-0915', 'CVE-2026-4046', 'CVE-2026-4437', 'CVE-2026-4438',
    ]);
    // deb12u10 < deb12u13 numerically, although not as strings
    expect(cvesAffecting('glibc', '2.36-9+deb12u13')).not.toContain('CVE-2025-0395');
  });

  it('perl 5.36.0-7+deb12u3 is affected by the thirteen CVEs fixed in +deb12u4 only', () => {
    const got = cvesAffecting('perl', '5.36.0-7+deb12u3');
    expect(got).toHaveLength(13);
    expect(got).toContain('CVE-2025-15649');
    expect(got).not.toContain('CVE-2025-40909');
  });

  it('matches by source package and ecosystem: a binary package name or another release finds nothing', () => {
    expect(cvesAffecting('libssl3', '3.0.0-1')).toEqual([]);
    const openssl = records.find((r) => r.aliases?.[0] === 'CVE-2026-35189')?.affected[0] as OsvAffected;
    expect(isAffected('3.0.22-1~deb12u1', openssl, 'Debian:12')).toBe(true);
  });
});

describe('range evaluation rules (osv-schema "Evaluation")', () => {
  const eco = (events: OsvAffected['ranges']): OsvAffected => ({ package: { ecosystem: 'PyPI', name: 'x' }, ...(events ? { ranges: events } : {}) });

  it('honours limit events, "*" meaning infinity', () => {
    const a = eco([{ type: 'ECOSYSTEM', events: [{ introduced: '1.0' }, { limit: '2.0' }] }]);
    expect(isAffected('1.5', a)).toBe(true);
    expect(isAffected('2.0', a)).toBe(false);
    expect(isAffected('5', eco([{ type: 'ECOSYSTEM', events: [{ introduced: '1.0' }, { limit: '*' }] }]))).toBe(true);
  });

  it('says unknown, not "not affected", when it cannot order the versions', () => {
    expect(affectedVerdict('not a version', eco([{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '2.0' }] }]))).toBe('unknown');
    expect(affectedVerdict('1.0', { package: { ecosystem: 'Hackage', name: 'x' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }] })).toBe('unknown');
    expect(affectedVerdict('1.0', eco([{ type: 'GIT', events: [{ introduced: 'abc' }] }]))).toBe('not-affected');
  });
});
