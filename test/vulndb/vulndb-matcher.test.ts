import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMetadata } from '../../src/db/metadata.js';
import type { ExtractedPackage, ImageInventory } from '../../src/domain/sbom.js';
import type { Metadata } from '../../src/ports/metadata.js';
import { FileFeedReader } from '../../src/scanner/vulndb/feed-reader.js';
import { VulndbMatcher } from '../../src/services/vulndb-matcher.js';
import { VulndbService } from '../../src/services/vulndb.service.js';

const FIX = resolve('test/fixtures/vulndata');
const BULK = join(FIX, 'osv-bulk');
const DEBIAN = join(FIX, 'debian/debian12-changelog-fixture-osv.json');
const KEV = join(FIX, 'kev/known_exploited_vulnerabilities.json');
const EPSS = join(FIX, 'epss/epss_scores-subset.csv.gz');

interface Rec {
  id: string;
  aliases?: string[];
  withdrawn?: string;
  affected?: { package?: { ecosystem: string; name: string }; versions?: string[]; ranges?: { type: string; events: Record<string, string>[] }[] }[];
}

/** The records of a zip, unpacked by Info-ZIP's unzip. */
async function zipRecords(zip: string, into: string): Promise<Rec[]> {
  execFileSync('unzip', ['-q', '-o', zip, '-d', into]);
  const names = execFileSync('unzip', ['-Z1', zip], { encoding: 'utf8' }).split('\n').filter((n) => n.endsWith('.json'));
  return Promise.all(names.map(async (n) => JSON.parse(await readFile(join(into, n), 'utf8')) as Rec));
}

/** Plain dotted numbers only ("1.20.2", "0"); anything else is undefined (not decided here). */
function plainCompare(a: string, b: string): number | undefined {
  if (!/^\d+(\.\d+)*$/.test(a) || !/^\d+(\.\d+)*$/.test(b)) return undefined;
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d) return Math.sign(d);
  }
  return 0;
}

/**
 * What the records say of `version`, read the obvious way: listed in `versions`, or between an
 * `introduced` and the next `fixed` (or up to `last_affected`). 'undecided' when an event is not a
 * plain number (such advisories are left out of the comparison).
 */
function recordSays(rec: Rec, eco: string, name: string, version: string, norm = (n: string) => n): boolean | 'undecided' {
  let undecided = false;
  for (const a of rec.affected ?? []) {
    if (a.package?.ecosystem !== eco || norm(a.package.name) !== name) continue;
    if (a.versions?.includes(version)) return true;
    for (const r of a.ranges ?? []) {
      if (r.type === 'GIT') continue;
      // SemVer's lowest version, which RustSec writes for "from the start"
      const events = r.events
        .map((e) => Object.entries(e)[0]!)
        .filter(([k]) => k !== 'limit')
        .map(([k, v]) => [k, v === '0.0.0-0' ? '0' : v] as const);
      if (r.events.some((e) => 'limit' in e)) undecided = true;
      const comparable = events.every(([, v]) => v === '0' || plainCompare(v, v) !== undefined);
      if (!comparable) {
        undecided = true;
        continue;
      }
      const sorted = [...events].sort(([, p], [, q]) => (p === '0' ? -1 : q === '0' ? 1 : plainCompare(p, q)!));
      let inRange = false;
      for (const [k, v] of sorted) {
        const c = v === '0' ? 1 : plainCompare(version, v)!;
        if (k === 'introduced' && c >= 0) inRange = true;
        if (k === 'fixed' && c >= 0) inRange = false;
        if (k === 'last_affected' && c > 0) inRange = false;
      }
      if (inRange) return true;
    }
  }
  return undecided ? 'undecided' : false;
}

const pep503 = (n: string): string => n.replace(/[-_.]+/g, '-').toLowerCase();

let seq = 0;
function pkg(type: ExtractedPackage['type'], name: string, version: string, extra: Partial<ExtractedPackage> = {}): ExtractedPackage {
  return { type, name, version, purl: `pkg:${type}/${extra.namespace ? `${extra.namespace}/` : ''}${name}@${version}`, layerDigest: `sha256:${String(++seq).padStart(64, '0')}`, path: `app/${name}`, ...extra };
}

describe('vulnerability matcher on the real OSV, KEV and EPSS data', () => {
  let m: Metadata;
  let matcher: VulndbMatcher;
  let work: string;
  const records: Record<string, Rec[]> = {};
  beforeAll(async () => {
    m = await openMetadata({ driver: 'sqlite', path: ':memory:' });
    await new VulndbService({ repo: m.vulndb, feeds: new FileFeedReader(), clock: { now: () => Date.now() }, config: { ecosystems: [], updateIntervalSeconds: 0 } }).import([BULK, DEBIAN, KEV, EPSS]);
    matcher = new VulndbMatcher({ repo: m.vulndb });
    work = await mkdtemp(join(tmpdir(), 'berth-osv-'));
    for (const eco of ['Go', 'PyPI', 'crates.io']) records[eco] = await zipRecords(join(BULK, eco, 'all.zip'), join(work, eco));
    records['Debian'] = JSON.parse(await readFile(DEBIAN, 'utf8')) as Rec[];
  }, 120_000);
  afterAll(async () => {
    await m.close();
    await rm(work, { recursive: true, force: true });
  });

  const cases: { eco: string; p: ExtractedPackage; name: string; version: string; norm?: (n: string) => string }[] = [
    { eco: 'Go', p: pkg('golang', 'stdlib', '1.20.1'), name: 'stdlib', version: '1.20.1' },
    { eco: 'Go', p: pkg('golang', 'golang.org/x/net', 'v0.7.0'), name: 'golang.org/x/net', version: '0.7.0' },
    { eco: 'Go', p: pkg('golang', 'github.com/gin-gonic/gin', 'v1.6.0'), name: 'github.com/gin-gonic/gin', version: '1.6.0' },
    { eco: 'crates.io', p: pkg('cargo', 'wasmtime', '0.38.0'), name: 'wasmtime', version: '0.38.0' },
    { eco: 'crates.io', p: pkg('cargo', 'hyper', '0.14.0'), name: 'hyper', version: '0.14.0' },
    { eco: 'crates.io', p: pkg('cargo', 'smallvec', '1.6.0'), name: 'smallvec', version: '1.6.0' },
    { eco: 'PyPI', p: pkg('pypi', 'Django', '3.2.0'), name: 'django', version: '3.2.0', norm: pep503 },
    { eco: 'PyPI', p: pkg('pypi', 'requests', '2.19.0'), name: 'requests', version: '2.19.0', norm: pep503 },
    { eco: 'PyPI', p: pkg('pypi', 'Jinja2', '2.10'), name: 'jinja2', version: '2.10', norm: pep503 },
    { eco: 'PyPI', p: pkg('pypi', 'PyYAML', '5.3'), name: 'pyyaml', version: '5.3', norm: pep503 },
    // CVE-2023-4863 (libwebp) is in CISA's KEV catalog
    { eco: 'PyPI', p: pkg('pypi', 'Pillow', '9.5.0'), name: 'pillow', version: '9.5.0', norm: pep503 },
    { eco: 'crates.io', p: pkg('cargo', 'libwebp-sys', '0.9.0'), name: 'libwebp-sys', version: '0.9.0' },
  ];

  it.each(cases)('finds what the $eco records say of $name $version', async ({ eco, p, name, version, norm }) => {
    const found = (await matcher.match({ packages: [p], warnings: [] })).map((f) => f.id);
    const says = records[eco]!.filter((r) => !r.withdrawn).map((r) => [r.id, recordSays(r, eco, name, version, norm)] as const);
    const decided = new Set(says.filter(([, s]) => s !== 'undecided').map(([id]) => id));
    const expected = says.filter(([, s]) => s === true).map(([id]) => id).sort();
    expect(expected.length).toBeGreaterThan(0);
    expect(found.filter((id) => decided.has(id))).toEqual(expected);
  });

  it('matches Debian packages by source package and source version (Debian 12 fixture)', async () => {
    const distro = { id: 'debian', versionId: '12', codename: 'bookworm' };
    const installed: [string, string, string, string][] = [
      // binary, binary version, source, source version
      ['libssl3', '3.0.11-1~deb12u2', 'openssl', '3.0.11-1~deb12u2'],
      ['openssl', '3.0.11-1~deb12u2', 'openssl', '3.0.11-1~deb12u2'],
      ['libc6', '2.36-9+deb12u4', 'glibc', '2.36-9+deb12u4'],
      ['libexpat1', '2.5.0-1', 'expat', '2.5.0-1'],
      ['zlib1g', '1:1.2.13.dfsg-1', 'zlib', '1:1.2.13.dfsg-1'],
      ['perl-base', '5.36.0-7+deb12u1', 'perl', '5.36.0-7+deb12u1'],
      ['tar', '1.34+dfsg-1.2+deb12u1', 'tar', '1.34+dfsg-1.2+deb12u1'],
    ];
    const inv: ImageInventory = {
      distro,
      warnings: [],
      packages: installed.map(([bin, v, src, sv]) =>
        pkg('deb', bin, v, { source: { name: src, version: sv }, purl: `pkg:deb/debian/${bin}@${encodeURIComponent(v)}?distro=debian-12`, path: 'var/lib/dpkg/status', layerDigest: 'sha256:base' }),
      ),
    };
    const found = await matcher.match(inv);
    // dpkg itself decides: affected when the source version is below the record's `fixed`
    const expected: string[] = [];
    for (const [bin, , src, sv] of installed) {
      for (const r of records['Debian']!) {
        const a = r.affected!.find((x) => x.package?.name === src && x.package.ecosystem === 'Debian:12');
        const fixed = a?.ranges?.[0]?.events.find((e) => 'fixed' in e)?.['fixed'];
        if (!fixed) continue;
        let below = true;
        try {
          execFileSync('dpkg', ['--compare-versions', sv, 'lt', fixed]);
        } catch {
          below = false;
        }
        if (below) expected.push(`${r.id} ${bin}`);
      }
    }
    expect(expected.length).toBeGreaterThan(10);
    expect(found.map((f) => `${f.id} ${f.package}`).sort()).toEqual(expected.sort());
    expect(new Set(found.map((f) => f.source))).toEqual(new Set(['Debian:12']));
    // a binary package name alone never matches: the fixture names source packages
    expect(await matcher.match({ distro, warnings: [], packages: [pkg('deb', 'libssl3', '3.0.11-1~deb12u2')] })).toEqual([]);
    // another release's packages do not match Debian 12 advisories
    expect(await matcher.match({ ...inv, distro: { id: 'debian', versionId: '11' }, packages: inv.packages })).toEqual([]);
  });

  it('carries KEV membership (id or CVE alias), EPSS scores, fix versions and links on each finding', async () => {
    const kev = new Set((JSON.parse(await readFile(KEV, 'utf8')) as { vulnerabilities: { cveID: string }[] }).vulnerabilities.map((v) => v.cveID));
    const epss = new Map(
      gunzipSync(await readFile(EPSS))
        .toString('utf8')
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.split(','))
        .map(([c, s, p]) => [c!, { score: Number(s), percentile: Number(p) }]),
    );
    const inv: ImageInventory = { warnings: [], packages: cases.map((c) => c.p) };
    const found = await matcher.match(inv);
    expect(found.length).toBeGreaterThan(50);
    const byId = new Map(Object.values(records).flat().map((r) => [r.id, r]));
    let inKev = 0;
    let scored = 0;
    for (const f of found) {
      const r = byId.get(f.id)!;
      const cves = [r.id, ...(r.aliases ?? [])].filter((x) => x.startsWith('CVE-'));
      expect(f.kev).toBe(cves.some((c) => kev.has(c)));
      const e = cves.map((c) => epss.get(c)).find((x) => x);
      expect(f.epss).toEqual(e);
      if (f.kev) inKev++;
      if (f.epss) scored++;
    }
    expect(scored).toBeGreaterThan(10);
    expect(inKev).toBeGreaterThanOrEqual(2);
    expect(inKev).toBe(found.filter((f) => [f.id, ...f.aliases].some((c) => kev.has(c))).length);
    // sorted by id then purl; every finding has its advisory's references as links
    expect(found.map((f) => `${f.id} ${f.purl}`)).toEqual(found.map((f) => `${f.id} ${f.purl}`).sort());
    const stdlib = found.find((f) => f.id === 'GO-2023-1621');
    expect(stdlib).toMatchObject({ package: 'stdlib', packageType: 'golang', version: '1.20.1', fixVersions: ['1.20.2'], source: 'Go' });
    expect(stdlib!.links.length).toBeGreaterThan(0);
  });

  it('computes severity at import from the best CVSS vector', async () => {
    const f = (await matcher.match({ warnings: [], packages: [pkg('pypi', 'django', '3.2.0')] })).find((x) => x.cvss);
    expect(f?.cvss?.vector).toMatch(/^CVSS:/);
    expect(['Low', 'Medium', 'High', 'Critical']).toContain(f!.severity);
  });

  it('reports the generation and finds nothing for unknown packages or ecosystems', async () => {
    expect(await matcher.generation()).toBeGreaterThan(0);
    expect(await matcher.match({ warnings: [], packages: [pkg('npm', 'no-such-package', '1.0.0'), pkg('rpm', 'bash', '5.1')] })).toEqual([]);
  });
});
