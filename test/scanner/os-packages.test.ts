import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mergeLayers } from '../../src/scanner/layer-merge.js';
import { scanLayer } from '../../src/scanner/layer-reader.js';
import { chunked, gzip, zstd } from './tar-fixtures.js';
import { run, tarOfPaths } from './real-files.js';

const LISTS = readdirSync('/var/lib/dpkg/info').filter((f) => f.endsWith('.list')).map((f) => `var/lib/dpkg/info/${f}`);

/** What dpkg itself says is installed here: `ii` and `hi` rows of dpkg-query. */
function dpkgInstalled(): Set<string> {
  const out = run('dpkg-query', ['-W', '-f', '${db:Status-Abbrev}\\t${Package}\\t${Version}\\t${Architecture}\\n']);
  return new Set(
    out.split('\n').filter((l) => /^[ih]i/.test(l)).map((l) => l.split('\t').slice(1).join(' ')),
  );
}

describe('dpkg analyzer on this machine', () => {
  const layer = tarOfPaths('/', ['var/lib/dpkg/status', 'etc/os-release', 'usr/lib/os-release', ...LISTS]);

  for (const [name, wrap] of [['uncompressed', (b: Buffer) => b], ['gzip', gzip], ['zstd', (b: Buffer) => zstd(b)]] as const) {
    it(`finds what dpkg-query lists as installed (${name})`, async () => {
      const inv = await scanLayer(chunked(wrap(layer)), { layerDigest: 'sha256:' + 'a'.repeat(64) });
      expect(inv.compression).toBe(name === 'uncompressed' ? 'none' : name);
      expect(inv.warnings).toEqual([]);
      expect(inv.complete).toBe(true);
      const got = new Set(inv.packages.filter((p) => p.type === 'deb').map((p) => `${p.name} ${p.version} ${p.arch}`));
      expect(got).toEqual(dpkgInstalled());
      expect(inv.distro).toMatchObject({ id: 'debian', versionId: '12', codename: 'bookworm' });
    });
  }

  it('gives each package a purl-spec deb purl with the distro qualifier, and its source', async () => {
    const inv = await scanLayer(chunked(layer), { layerDigest: 'sha256:' + 'a'.repeat(64) });
    const [version, source] = run('dpkg-query', ['-W', '-f', '${Version}\\t${source:Package} ${source:Version}', 'libc6:amd64']).split('\t');
    const libc = inv.packages.find((p) => p.name === 'libc6' && p.arch === 'amd64')!;
    // purl-spec: '+' is percent-encoded, '~' and ':' are not
    expect(libc.purl).toBe(`pkg:deb/debian/libc6@${version!.replaceAll('+', '%2B')}?arch=amd64&distro=debian-12`);
    expect(`${libc.source?.name} ${libc.source?.version}`).toBe(source);
    expect(libc).toMatchObject({ path: 'var/lib/dpkg/status', layerDigest: 'sha256:' + 'a'.repeat(64) });
    // a package whose source package differs in name and version: dpkg-query says which
    const rows = run('dpkg-query', ['-W', '-f', '${db:Status-Abbrev}|${Package}|${Architecture}|${source:Package}|${source:Version}|${Version}\\n'])
      .split('\n').filter((l) => l.startsWith('ii')).map((l) => l.split('|'));
    const differing = rows.find((r) => r[3] !== r[1] && r[4] !== r[5])!;
    const pkg = inv.packages.find((p) => p.name === differing[1] && p.arch === differing[2])!;
    expect(pkg.source).toEqual({ name: differing[3], version: differing[4] });
  });

  it('does not report Python packages that Debian packages installed, and does report pip-installed ones', async () => {
    const debPy = readdirSync('/usr/lib/python3/dist-packages').filter((f) => f.endsWith('.dist-info') || f.endsWith('.egg-info'));
    const debMeta = debPy.map((d) => (d.endsWith('.dist-info') ? `usr/lib/python3/dist-packages/${d}/METADATA` : `usr/lib/python3/dist-packages/${d}`));
    const site = run('python3', ['-c', 'import site; print(site.getsitepackages()[0])']).trim();
    const pipMeta = readdirSync(site).filter((f) => f.endsWith('.dist-info')).map((d) => `${site.slice(1)}/${d}/METADATA`);
    const osLayer = tarOfPaths('/', ['var/lib/dpkg/status', 'usr/lib/os-release', ...LISTS]);
    const pyLayer = tarOfPaths('/', [...debMeta, ...pipMeta]);
    const l1 = await scanLayer(chunked(osLayer), { layerDigest: 'sha256:' + '1'.repeat(64) });
    const l2 = await scanLayer(chunked(pyLayer), { layerDigest: 'sha256:' + '2'.repeat(64) });
    // egg-info directories are listed as directories too: only files count
    const metaFiles = debMeta.filter((m) => statSync(`/${m}`).isFile());
    expect(metaFiles.length).toBeGreaterThan(0);
    expect(l2.packages.filter((p) => p.path.startsWith('usr/lib/python3/')).length).toBe(metaFiles.length);
    const image = mergeLayers([l1, l2]);
    const py = image.packages.filter((p) => p.type === 'pypi');
    // dpkg -S says which of those files belong to a Debian package
    const found = spawnSync('dpkg', ['-S', ...debMeta.map((m) => `/${m}`)], { encoding: 'utf8' }).stdout;
    const owned = new Set(found.split('\n').map((l) => l.slice(l.indexOf(': ') + 3)).filter(Boolean));
    const unowned = debMeta.filter((m) => !owned.has(m));
    expect(py.filter((p) => p.path.startsWith('usr/lib/python3/')).map((p) => p.path).sort()).toEqual(unowned.sort());
    const pipList = JSON.parse(run('python3', ['-m', 'pip', 'list', '--format', 'json', '--path', site])) as Array<{ name: string; version: string }>;
    const norm = (n: string): string => n.replace(/[-_.]+/g, '-').toLowerCase();
    const fromPip = new Set(pipList.map((p) => `${norm(p.name)} ${p.version}`));
    const fromScan = new Set(py.filter((p) => p.path.startsWith(site.slice(1))).map((p) => `${norm(p.name)} ${p.version}`));
    expect(fromScan).toEqual(fromPip);
    const yaml = py.find((p) => norm(p.name) === 'pyyaml');
    if (yaml) expect(yaml.purl).toBe(`pkg:pypi/pyyaml@${yaml.version}`);
  });
});
