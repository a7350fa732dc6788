import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanLayer } from '../../src/scanner/layer-reader.js';
import { mergeLayers } from '../../src/scanner/layer-merge.js';
import { chunked, DIGEST, gzip, tarOf } from './tar-fixtures.js';
import { run, tarOfPaths } from './real-files.js';

let dir: string;
const root = (): string => join(dir, 'root');
const DB = 'var/lib/rpm/rpmdb.sqlite';

function spec(name: string, version: string, release: string, epoch?: number): string {
  return [
    `Name: ${name}`, `Version: ${version}`, `Release: ${release}`, ...(epoch ? [`Epoch: ${epoch}`] : []),
    'Summary: test', 'License: MIT', 'BuildArch: noarch', '%description', 'test', '%install',
    `mkdir -p %{buildroot}/usr/share/${name}`, `echo hi > %{buildroot}/usr/share/${name}/README`,
    '%files', `/usr/share/${name}/README`, '',
  ].join('\n');
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-rpm-'));
  // Debian's rpm 4.18 (sqlite backend) builds two packages and installs them into a root
  const defs = ['--define', `_topdir ${join(dir, 'top')}`, '--define', '_dbpath /var/lib/rpm'];
  writeFileSync(join(dir, 'a.spec'), spec('berth-hello', '1.2.3', '4.fc40', 2));
  writeFileSync(join(dir, 'b.spec'), spec('berth-world', '0.9', '1'));
  for (const s of ['a.spec', 'b.spec']) run('rpmbuild', [...defs, '-bb', join(dir, s)]);
  run('rpm', ['--define', '_dbpath /var/lib/rpm', '--root', root(), '--initdb']);
  const rpms = run('find', [join(dir, 'top/RPMS'), '-name', '*.rpm']).trim().split('\n');
  run('rpm', ['--define', '_dbpath /var/lib/rpm', '--root', root(), '-i', '--nodeps', ...rpms]);
}, 300_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** rpm's own answer for the installed packages. */
function rpmQa(): string[] {
  return run('rpm', ['--define', '_dbpath /var/lib/rpm', '--root', root(), '-qa', '--qf', '%{NAME} %{EPOCHNUM} %{VERSION}-%{RELEASE} %{ARCH} %{SOURCERPM}\\n'])
    .trim().split('\n').sort();
}

const row = (p: { name: string; epoch?: number; version: string; arch?: string; source?: { name: string; version?: string } }): string =>
  `${p.name} ${p.epoch ?? 0} ${p.version} ${p.arch} ${p.source?.name}-${p.source?.version}.src.rpm`;

describe('rpm analyzer', () => {
  it('reads an rpmdb.sqlite that rpm 4.18 wrote, as rpm -qa reads it', async () => {
    const layer = tarOfPaths(root(), [DB, 'usr/share/berth-hello/README']);
    const inv = await scanLayer(chunked(gzip(layer)), { layerDigest: DIGEST });
    expect(inv.warnings).toEqual([]);
    expect(inv.packages.map(row).sort()).toEqual(rpmQa());
    const hello = inv.packages.find((p) => p.name === 'berth-hello')!;
    expect(hello.purl).toBe('pkg:rpm/berth-hello@1.2.3-4.fc40?arch=noarch&epoch=2');
    // the file lists make the files rpm installed owned by their package
    expect(inv.owned.flatMap((o) => o.paths)).toContain('usr/share/berth-hello/README');
  });

  it('applies a write-ahead log found beside the database', async () => {
    // a copy with a change still in its WAL: copied while the writer holds it open
    const w = join(dir, 'wal');
    mkdirSync(join(w, 'var/lib/rpm'), { recursive: true });
    copyFileSync(join(root(), DB), join(w, DB));
    const db = new Database(join(w, DB));
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0');
    db.pragma('foreign_keys = OFF');
    db.exec("DELETE FROM Packages WHERE hnum = (SELECT min(hnum) FROM Packages)");
    const snap = join(dir, 'snap');
    mkdirSync(join(snap, 'var/lib/rpm'), { recursive: true });
    copyFileSync(join(w, DB), join(snap, DB));
    copyFileSync(join(w, `${DB}-wal`), join(snap, `${DB}-wal`));
    db.close();
    expect(readFileSync(join(snap, `${DB}-wal`)).length).toBeGreaterThan(0);
    const inv = await scanLayer(chunked(tarOfPaths(snap, [DB, `${DB}-wal`])), { layerDigest: DIGEST });
    expect(inv.warnings).toEqual([]);
    expect(inv.packages).toHaveLength(rpmQa().length - 1);
  });

  it('takes the distribution from os-release into purls', async () => {
    const osr = 'NAME="Fedora Linux"\nVERSION_ID=40\nID=fedora\n';
    const inv = mergeLayers([
      await scanLayer(chunked(tarOfPaths(root(), [DB])), { layerDigest: DIGEST }),
      await scanLayer(chunked(tarOf([{ name: 'etc/os-release', body: osr }])), { layerDigest: DIGEST }),
    ]);
    expect(inv.packages.find((p) => p.name === 'berth-world')!.purl).toBe('pkg:rpm/fedora/berth-world@0.9-1?arch=noarch&distro=fedora-40');
  });

  /**
   * The Berkeley DB `Packages` of RHEL/CentOS 7-8 and Amazon Linux 2, written by the real
   * Berkeley DB library (db5.3_load, hash access method): rpm's own header blobs from the SQLite
   * rpmdb, keyed by their header number (4 bytes, little-endian) as rpm keys them, and rpm's key
   * 0 (its next free number). `pageSize` 512 puts every header on overflow pages.
   */
  function bdbPackages(pageSize?: number): Buffer {
    const db = new Database(join(root(), DB), { readonly: true });
    const rows = db.prepare('SELECT hnum, blob FROM Packages ORDER BY hnum').all() as { hnum: number; blob: Buffer }[];
    db.close();
    const hex = (b: Buffer) => [...b].map((x) => `\\${x.toString(16).padStart(2, '0')}`).join('');
    const u32 = (n: number) => {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(n);
      return b;
    };
    const text = [[u32(0), u32(rows.length + 1)], ...rows.map((r) => [u32(r.hnum), r.blob])].map(([k, v]) => `${hex(k!)}\n${hex(v!)}\n`).join('');
    const out = join(dir, `Packages-${pageSize ?? 'default'}`);
    rmSync(out, { force: true });
    writeFileSync(`${out}.txt`, text);
    run('sh', ['-c', `db5.3_load -T -t hash ${pageSize ? `-c db_pagesize=${pageSize}` : ''} '${out}' < '${out}.txt'`]);
    return readFileSync(out);
  }

  it('reads a Berkeley DB Packages (RHEL/CentOS 7-8) as rpm -qa reads the same headers, on one page and on overflow pages', async () => {
    for (const pageSize of [undefined, 512]) {
      const file = bdbPackages(pageSize);
      const inv = await scanLayer(chunked(gzip(tarOf([{ name: 'var/lib/rpm/Packages', body: file }]))), { layerDigest: DIGEST });
      expect(inv.warnings).toEqual([]);
      expect(inv.packages.map(row).sort()).toEqual(rpmQa());
      expect(inv.packages.find((p) => p.name === 'berth-hello')!.purl).toBe('pkg:rpm/berth-hello@1.2.3-4.fc40?arch=noarch&epoch=2');
      expect(inv.owned.flatMap((o) => o.paths)).toContain('usr/share/berth-hello/README');
    }
  });

  it('degrades on a broken Berkeley DB Packages: a cut file, a looping overflow chain, a page number outside the file', async () => {
    const file = bdbPackages(512);
    const pageSize = file.readUInt32LE(20);
    const pages = file.length / pageSize;
    const overflowPages = Array.from({ length: pages }, (_, i) => i).filter((i) => file[i * pageSize + 25] === 7);
    expect(overflowPages.length).toBeGreaterThan(2);
    // an overflow page that points back at itself
    const loop = Buffer.from(file);
    const first = overflowPages[0]!;
    if (loop.readUInt32LE(first * pageSize + 16) !== 0) loop.writeUInt32LE(first, first * pageSize + 16);
    // the chain's next page far beyond the end
    const outside = Buffer.from(file);
    outside.writeUInt32LE(1_000_000, first * pageSize + 16);
    const cut = file.subarray(0, Math.floor(file.length / 2));
    for (const broken of [loop, outside, cut]) {
      const inv = await scanLayer(chunked(tarOf([{ name: 'var/lib/rpm/Packages', body: broken }])), { layerDigest: DIGEST });
      expect(inv.warnings.map((w) => `${w.code} ${w.message}`)).toEqual([expect.stringMatching(/^malformed rpm: \d+ unreadable header\(s\) skipped$/)]);
      // the headers that are whole are still read
      expect(inv.packages.length).toBeLessThan(rpmQa().length);
    }
  });

  it('degrades on a corrupt database, a database with a view for Packages, and the formats it does not read', async () => {
    const good = readFileSync(join(root(), DB));
    const corrupt = Buffer.from(good);
    corrupt.fill(0x5a, 4096, 4096 * 8);
    const viewDb = new Database(':memory:');
    viewDb.exec('CREATE VIEW Packages AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x AS hnum, x AS blob FROM c');
    const inv = await scanLayer(chunked(tarOf([
      { name: 'var/lib/rpm/rpmdb.sqlite', body: corrupt },
      { name: 'usr/lib/sysimage/rpm/rpmdb.sqlite', body: viewDb.serialize() },
      { name: 'var/lib/rpm/Packages', body: Buffer.alloc(8192) },
      { name: 'var/lib/rpm/Packages.db', body: Buffer.alloc(8192) },
    ])), { layerDigest: DIGEST });
    viewDb.close();
    expect(inv.warnings.map((w) => `${w.code} ${w.path}`).sort()).toEqual([
      'malformed usr/lib/sysimage/rpm/rpmdb.sqlite',
      'malformed var/lib/rpm/Packages',
      'malformed var/lib/rpm/rpmdb.sqlite',
      'unsupported var/lib/rpm/Packages.db',
    ]);
  });
});
