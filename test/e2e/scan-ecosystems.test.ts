import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTool } from '../helpers/child-server.js';
import { REPO_ROOT, testImages } from '../helpers/images.js';
import { bookwormDebs, debLayer, goProgram, imageOnBookworm, type BuiltImage } from '../helpers/oci-layout.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.js';

/**
 * Issue 4's "done means": a real image with packages of every ecosystem Berth has data for,
 * built here (the cached Debian bookworm image, then .debs that apt fetched, node_modules, a Go
 * binary built by Debian's Go, a Cargo.lock and a wheel's METADATA), pushed with skopeo into an
 * auto_scan project and scanned on push. Every expected finding is worked out here from the
 * fixture data itself (OSV records read from the zips, `dpkg --compare-versions`, a plain semver
 * comparison, the image's own dpkg status read with tar, the binary's build info read by
 * `go version -m`), never from Berth's code.
 */

const run = promisify(execFile);
const REPORT = 'application/vnd.security.vulnerability.report; version=1.1';
const FIX = join(REPO_ROOT, 'test/fixtures/vulndata');
const BULK = join(FIX, 'osv-bulk');
const DEBIAN = join(FIX, 'debian/debian12-changelog-fixture-osv.json');
const KEV = join(FIX, 'kev/known_exploited_vulnerabilities.json');
const EPSS = join(FIX, 'epss/epss_scores-subset.csv.gz');

// packages put into the image; the vulnerable versions are chosen from the fixture records
const DEBS = ['libexpat1', 'expat'];
const NPM = [
  { dir: 'express', name: 'express', version: '4.17.1', purl: 'pkg:npm/express@4.17.1' },
  { dir: 'express/node_modules/debug', name: 'debug', version: '2.6.9', purl: 'pkg:npm/debug@2.6.9' },
  { dir: 'lodash', name: 'lodash', version: '4.17.20', purl: 'pkg:npm/lodash@4.17.20' },
  { dir: '@types/node', name: '@types/node', version: '18.11.9', purl: 'pkg:npm/%40types/node@18.11.9' },
];
const CRATES = [
  { name: 'smallvec', version: '0.6.9' },
  { name: 'cfg-if', version: '1.0.0' },
  // CVE-2023-4863 (libwebp), in the KEV catalog
  { name: 'libwebp-sys', version: '0.9.2' },
];
const WHEELS = [
  { name: 'requests', version: '2.19.1' },
  { name: 'idna', version: '2.7' },
  // CVE-2023-4863 again
  { name: 'Pillow', version: '10.0.0' },
];

interface Rec {
  id: string;
  aliases?: string[];
  withdrawn?: string;
  affected?: { package?: { ecosystem: string; name: string }; versions?: string[]; ranges?: { type: string; events: Record<string, string>[] }[] }[];
}

interface Vuln {
  id: string;
  package: string;
  version: string;
  fix_version: string;
  severity: string;
  kev: boolean;
  aliases: string[];
  purl: string;
  source: string;
  layer_digest: string;
  path: string;
}

interface Overview {
  scan_status: string;
  severity: string;
  summary?: { total: number; fixable: number; summary: Record<string, number> };
}

/** "id package version fix" — what a report line and an expectation are compared by */
type Line = string;
const line = (id: string, pkg: string, version: string, fix: string): Line => `${id} ${pkg} ${version} ${fix}`;

let s: TestServer;
let work: string;
let image: BuiltImage;
let vulns: Vuln[];
let overview: Overview;

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${s.url}/api/v2.0${path}`, {
    ...init,
    headers: { authorization: s.adminBasic, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...(init.headers ?? {}) },
  });

const unpacked = new Map<string, Promise<Rec[]>>();

/** The records of an osv.dev bulk zip, unpacked by Info-ZIP's unzip (once). */
function zipRecords(ecosystem: string): Promise<Rec[]> {
  let p = unpacked.get(ecosystem);
  if (!p) unpacked.set(ecosystem, (p = unzipRecords(ecosystem)));
  return p;
}

/** Every record the database was given, by id. */
async function allRecords(): Promise<Map<string, Rec>> {
  const all = [...(JSON.parse(await readFile(DEBIAN, 'utf8')) as Rec[])];
  for (const e of ['Go', 'crates.io', 'PyPI']) all.push(...(await zipRecords(e)));
  return new Map(all.map((r) => [r.id, r]));
}

async function unzipRecords(ecosystem: string): Promise<Rec[]> {
  const zip = join(BULK, ecosystem, 'all.zip');
  const into = join(work, 'osv', ecosystem);
  await mkdir(into, { recursive: true });
  await run('unzip', ['-q', '-o', zip, '-d', into], { timeout: 60_000 });
  const names = (await run('unzip', ['-Z1', zip], { maxBuffer: 16 * 1024 * 1024 })).stdout.split('\n').filter((n) => n.endsWith('.json'));
  return Promise.all(names.map(async (n) => JSON.parse(await readFile(join(into, n), 'utf8')) as Rec));
}

/** SemVer 2.0.0 precedence (semver.org §11), for SEMVER ranges; "v" prefixes dropped. */
function semverCompare(a: string, b: string): number {
  const parse = (v: string) => {
    const m = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+.*)?$/.exec(v);
    if (!m) throw new Error(`not a semantic version: ${v}`);
    return { core: [Number(m[1]), Number(m[2]), Number(m[3])], pre: m[4] === undefined ? [] : m[4].split('.') };
  };
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < 3; i++) if (x.core[i] !== y.core[i]) return Math.sign(x.core[i]! - y.core[i]!);
  if (!x.pre.length || !y.pre.length) return Math.sign(y.pre.length - x.pre.length);
  for (let i = 0; i < Math.max(x.pre.length, y.pre.length); i++) {
    const p = x.pre[i];
    const q = y.pre[i];
    if (p === undefined || q === undefined) return p === undefined ? -1 : 1;
    if (p === q) continue;
    const pn = /^\d+$/.test(p);
    const qn = /^\d+$/.test(q);
    if (pn && qn) return Math.sign(Number(p) - Number(q));
    if (pn !== qn) return pn ? -1 : 1;
    return p < q ? -1 : 1;
  }
  return 0;
}

/** Dotted release numbers ("2.19.1", "2.7"), for the PyPI ranges of the packages chosen here. */
function releaseCompare(a: string, b: string): number {
  if (!/^\d+(\.\d+)*$/.test(a) || !/^\d+(\.\d+)*$/.test(b)) throw new Error(`not a plain release number: ${a} / ${b}`);
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return Math.sign((x[i] ?? 0) - (y[i] ?? 0));
  return 0;
}

/**
 * The lines the records give for one installed package, read as osv-schema's evaluation says:
 * listed in `versions`, or inside an introduced..fixed (..last_affected) span of a range of the
 * given type; the fix is the first `fixed` above the version in each range that affects it.
 */
function expectFrom(recs: Rec[], ecosystem: string, rangeType: string, name: string, version: string, cmp: (a: string, b: string) => number, norm = (n: string) => n): Line[] {
  const out: Line[] = [];
  for (const r of recs) {
    if (r.withdrawn) continue;
    let hit = false;
    const fixes = new Set<string>();
    for (const a of r.affected ?? []) {
      if (a.package?.ecosystem !== ecosystem || norm(a.package.name) !== norm(name)) continue;
      if (a.versions?.includes(version)) hit = true;
      for (const range of a.ranges ?? []) {
        if (range.type !== rangeType) continue;
        const events = range.events.map((e) => Object.entries(e)[0]!);
        if (events.some(([k]) => k === 'limit')) throw new Error(`${r.id}: limit events are not evaluated here`);
        const at = (v: string) => (v === '0' ? -1 : cmp(v, version));
        const sorted = [...events].sort(([, p], [, q]) => (p === '0' ? -1 : q === '0' ? 1 : cmp(p, q)));
        let inside = false;
        for (const [k, v] of sorted) {
          if (k === 'introduced' && at(v) <= 0) inside = true;
          if (k === 'fixed' && at(v) <= 0) inside = false;
          if (k === 'last_affected' && at(v) < 0) inside = false;
        }
        if (!inside) continue;
        hit = true;
        const above = events.filter(([k, v]) => k === 'fixed' && cmp(v, version) > 0).map(([, v]) => v).sort(cmp);
        if (above[0] !== undefined) fixes.add(above[0]);
      }
    }
    if (hit) {
      out.push(line(r.id, name, version, [...fixes].sort(cmp).join(', ')));
    }
  }
  return out;
}

/** Installed packages of a dpkg status file: binary name and version, source name and version. */
function dpkgStatus(text: string): { name: string; version: string; source: string; sourceVersion: string }[] {
  return text
    .split(/\n\n+/)
    .map((stanza) => {
      const field = (k: string) => new RegExp(`^${k}: (.*)$`, 'm').exec(stanza)?.[1];
      const name = field('Package');
      const version = field('Version');
      if (!name || !version || field('Status') !== 'install ok installed') return undefined;
      const src = /^(\S+)(?: \((.+)\))?$/.exec(field('Source') ?? name)!;
      return { name, version, source: src[1]!, sourceVersion: src[2] ?? version };
    })
    .filter((p) => p !== undefined);
}

const compared = new Map<string, Promise<boolean>>();
function dpkgLess(a: string, b: string): Promise<boolean> {
  const key = `${a} ${b}`;
  let r = compared.get(key);
  if (!r) compared.set(key, (r = run('dpkg', ['--compare-versions', a, 'lt', b]).then(() => true, () => false)));
  return r;
}

/** Debian:12 records name source packages; each installed binary of an affected source is a line. */
async function expectedDebian(status: string): Promise<Line[]> {
  const recs = JSON.parse(await readFile(DEBIAN, 'utf8')) as Rec[];
  const out: Line[] = [];
  for (const p of dpkgStatus(status)) {
    for (const r of recs) {
      for (const a of r.affected ?? []) {
        if (a.package?.ecosystem !== 'Debian:12' || a.package.name !== p.source) continue;
        for (const range of a.ranges ?? []) {
          const ev = range.events.map((e) => Object.entries(e)[0]!);
          // the fixture's ranges are all "introduced 0, fixed X"
          expect(ev.map(([k]) => k)).toEqual(['introduced', 'fixed']);
          expect(ev[0]![1]).toBe('0');
          const fixed = ev[1]![1];
          if (await dpkgLess(p.sourceVersion, fixed)) {
                  out.push(line(r.id, p.name, p.version, fixed));
          }
        }
      }
    }
  }
  return out;
}

const lines = (vs: Vuln[]) => vs.map((v) => line(v.id, v.package, v.version, v.fix_version)).sort();
const bySource = (src: string) => vulns.filter((v) => v.source === src);

async function buildImage(): Promise<BuiltImage> {
  const base = await testImages();
  const { manifest } = await base.manifest('bookworm');
  const baseStatus = (await run('tar', ['-xzOf', base.blobPath(manifest.layers[0]!.digest), 'var/lib/dpkg/status'], { maxBuffer: 64 * 1024 * 1024 })).stdout;

  const debDir = join(work, 'l-deb');
  await debLayer(debDir, baseStatus, await bookwormDebs(DEBS));

  const npmDir = join(work, 'l-npm');
  const app = join(npmDir, 'srv/app');
  // the application's own package.json is not an installed package
  await mkdir(app, { recursive: true });
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'berth-app', version: '1.0.0', private: true, dependencies: { express: '4.17.1', lodash: '^4.17.20' } }, null, 2));
  for (const p of NPM) {
    const d = join(app, 'node_modules', p.dir);
    await mkdir(d, { recursive: true });
    await writeFile(join(d, 'package.json'), JSON.stringify({ name: p.name, version: p.version, description: `${p.name} as npm installs it`, license: 'MIT', main: 'index.js' }, null, 2));
    await writeFile(join(d, 'index.js'), 'module.exports = {};\n');
  }

  const goDir = join(work, 'l-go');
  await mkdir(join(goDir, 'usr/local/bin'), { recursive: true });
  const bin = await goProgram(join(work, 'go-src'));
  await copyFile(bin, join(goDir, 'usr/local/bin/berth-hello'));
  await chmod(join(goDir, 'usr/local/bin/berth-hello'), 0o755);

  const langDir = join(work, 'l-lang');
  await mkdir(join(langDir, 'srv/rust'), { recursive: true });
  const lock = [
    '# This file is automatically @generated by Cargo.\n# It is not intended for manual editing.\nversion = 3\n',
    `[[package]]\nname = "berth-rs"\nversion = "0.1.0"\ndependencies = [\n${CRATES.map((c) => ` "${c.name}",\n`).join('')}]\n`,
    ...CRATES.map((c) => `[[package]]\nname = "${c.name}"\nversion = "${c.version}"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\nchecksum = "${'0'.repeat(64)}"\n`),
  ].join('\n');
  await writeFile(join(langDir, 'srv/rust/Cargo.lock'), lock);
  for (const w of WHEELS) {
    const d = join(langDir, 'usr/lib/python3/dist-packages', `${w.name}-${w.version}.dist-info`);
    await mkdir(d, { recursive: true });
    await writeFile(join(d, 'METADATA'), `Metadata-Version: 2.1\nName: ${w.name}\nVersion: ${w.version}\nSummary: ${w.name}\nLicense: Apache 2.0\n\n${w.name} long description\n`);
  }

  return imageOnBookworm(base, join(work, 'layout'), 'eco', [
    { dir: debDir, createdBy: `dpkg -i ${DEBS.join(' ')}` },
    { dir: npmDir, createdBy: 'npm install' },
    { dir: goDir, createdBy: 'go build' },
    { dir: langDir, createdBy: 'cargo lock and a wheel' },
  ]);
}

beforeAll(async () => {
  await mkdir(join(REPO_ROOT, '.cache'), { recursive: true });
  work = await mkdtemp(join(REPO_ROOT, '.cache/scan-eco-'));
  image = await buildImage();
  s = await startTestServer({ BERTH_JOBS_POLL_MS: '50' });
  await s.server.berth.vulndb.import([BULK, DEBIAN, KEV, EPSS]);
  expect((await api('/projects', { method: 'POST', body: JSON.stringify({ project_name: 'eco', metadata: { public: 'false', auto_scan: 'true' } }) })).status).toBe(201);
  await runTool('skopeo', ['copy', '--dest-tls-verify=false', '--dest-creds', `admin:${ADMIN_PASSWORD}`, image.ref, `docker://${s.host}/eco/app:1`], { timeoutMs: 120_000 });
  let o: Overview | undefined;
  for (let i = 0; i < 1200; i++) {
    const res = await api('/projects/eco/repositories/app/artifacts/1?with_scan_overview=true', { headers: { 'x-accept-vulnerabilities': REPORT } });
    o = ((await res.json()) as { scan_overview?: Record<string, Overview> }).scan_overview?.[REPORT];
    if (o && o.scan_status !== 'Pending' && o.scan_status !== 'Running') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(o?.scan_status).toBe('Success');
  overview = o!;
  const res = await api('/projects/eco/repositories/app/artifacts/1/additions/vulnerabilities');
  expect(res.status).toBe(200);
  const body = (await res.json()) as Record<string, { vulnerabilities: Vuln[]; artifact: { digest: string } }>;
  expect(body[REPORT]!.artifact.digest).toBe(image.digest);
  vulns = body[REPORT]!.vulnerabilities;
}, 300_000);

afterAll(async () => {
  await s?.stop();
  if (work && !process.env['BERTH_KEEP']) await rm(work, { recursive: true, force: true });
});

describe('scanning a real image with packages of every ecosystem', () => {
  it('reports the Debian:12 records of each installed binary whose source version is below the fix', async () => {
    // the status of the top layer that has one (the .debs' layer), read with tar
    const status = (await run('tar', ['-xzOf', image.blobPath(image.manifest.layers[1]!.digest), 'var/lib/dpkg/status'], { maxBuffer: 64 * 1024 * 1024 })).stdout;
    const installed = dpkgStatus(status).map((p) => p.name);
    for (const d of DEBS) expect(installed).toContain(d);
    const expected = (await expectedDebian(status)).sort();
    expect(expected.length).toBeGreaterThan(0);
    expect(lines(bySource('Debian:12'))).toEqual(expected);
  });

  it('lists node_modules packages with their purls and invents no npm finding', async () => {
    const m = s.server.berth.metadata;
    const repo = await m.repositories.getByName('eco/app');
    const row = await m.manifests.stat(repo!.id, image.digest);
    const stored = await s.server.berth.scans.inventory(row!.id);
    const npm = stored!.inventory.packages.filter((p) => p.type === 'npm');
    expect(npm.map((p) => p.purl).sort()).toEqual(NPM.map((p) => p.purl).sort());
    // each from its own package.json, in the npm layer
    const npmLayer = image.manifest.layers[2]!.digest;
    for (const p of NPM) expect(npm.find((x) => x.purl === p.purl)).toMatchObject({ path: `srv/app/node_modules/${p.dir}/package.json`, layerDigest: npmLayer });
    expect(vulns.filter((v) => v.purl.startsWith('pkg:npm/') || v.source === 'npm')).toEqual([]);
  });

  it('reports exactly the Go stdlib records of the toolchain the binary was built with', async () => {
    const info = (await run('go', ['version', '-m', join(image.layout, '..', 'go-src', 'hello')])).stdout;
    const toolchain = /^\S+: go(\S+)/.exec(info)![1]!;
    expect(info).toMatch(/dep\s+example\.com\/berth\/greet\s+v1\.2\.3/);
    const recs = await zipRecords('Go');
    const expected = expectFrom(recs, 'Go', 'SEMVER', 'stdlib', toolchain, semverCompare).sort();
    expect(expected.length).toBeGreaterThan(0);
    expect(lines(bySource('Go').filter((v) => v.package === 'stdlib'))).toEqual(expected);
    // the locally replaced module has no records; nothing else of the binary matches
    const other = expectFrom(recs, 'Go', 'SEMVER', 'example.com/berth/greet', 'v1.2.3', semverCompare);
    expect(bySource('Go').filter((v) => v.package !== 'stdlib')).toHaveLength(other.length);
  });

  it('reports the crates.io and PyPI records of the Cargo.lock crates and the installed wheels', async () => {
    const crates = await zipRecords('crates.io');
    const cargo = CRATES.flatMap((c) => expectFrom(crates, 'crates.io', 'SEMVER', c.name, c.version, semverCompare)).sort();
    expect(cargo.some((l) => / smallvec /.test(l))).toBe(true);
    expect(lines(bySource('crates.io'))).toEqual(cargo);
    const pep503 = (n: string) => n.replace(/[-_.]+/g, '-').toLowerCase();
    const pypi = await zipRecords('PyPI');
    const py = WHEELS.flatMap((w) => expectFrom(pypi, 'PyPI', 'ECOSYSTEM', w.name, w.version, releaseCompare, pep503)).sort();
    expect(py.some((l) => / requests /.test(l))).toBe(true);
    expect(lines(bySource('PyPI'))).toEqual(py);
  });

  it('places each finding at the layer and file its package came from', () => {
    const [, debs, , go, lang] = image.manifest.layers.map((l) => l.digest);
    const where = new Set(vulns.map((v) => `${v.source} ${v.layer_digest} ${v.path}`));
    expect(where).toEqual(
      new Set([
        // the .debs' layer holds the status dpkg would leave: the base layer's is hidden by it
        `Debian:12 ${debs} var/lib/dpkg/status`,
        `Go ${go} usr/local/bin/berth-hello`,
        `crates.io ${lang} srv/rust/Cargo.lock`,
        ...WHEELS.filter((w) => vulns.some((v) => v.source === 'PyPI' && v.package === w.name)).map(
          (w) => `PyPI ${lang} usr/lib/python3/dist-packages/${w.name}-${w.version}.dist-info/METADATA`,
        ),
      ]),
    );
  });

  it('has no finding beyond those, and no finding twice', () => {
    expect(new Set(vulns.map((v) => v.source))).toEqual(new Set(['Debian:12', 'Go', 'crates.io', 'PyPI']));
    const keys = vulns.map((v) => `${v.id} ${v.purl}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('flags exactly the findings whose CVEs are in the KEV catalog', async () => {
    const kev = new Set(((JSON.parse(await readFile(KEV, 'utf8')) as { vulnerabilities: { cveID: string }[] }).vulnerabilities).map((v) => v.cveID));
    for (const v of vulns) {
      const r = (await allRecords()).get(v.id);
      expect(r, v.id).toBeDefined();
      const cves = [r!.id, ...(r!.aliases ?? [])];
      expect(v.kev, v.id).toBe(cves.some((c) => kev.has(c)));
    }
    // libwebp's CVE-2023-4863 through the crate and the wheel
    expect(vulns.filter((v) => v.kev).map((v) => `${v.id} ${v.package}`).sort()).toEqual(['PYSEC-2026-1794 Pillow', 'RUSTSEC-2023-0061 libwebp-sys']);
  });

  it('summarises the report in the overview', () => {
    const bySeverity: Record<string, number> = {};
    for (const v of vulns) bySeverity[v.severity] = (bySeverity[v.severity] ?? 0) + 1;
    expect(overview.summary).toEqual({ total: vulns.length, fixable: vulns.filter((v) => v.fix_version !== '').length, summary: bySeverity });
    const order = ['None', 'Unknown', 'Negligible', 'Low', 'Medium', 'High', 'Critical'];
    expect(overview.severity).toBe(order[Math.max(...vulns.map((v) => order.indexOf(v.severity)))]);
  });
});
