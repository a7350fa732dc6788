import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, mkdir, copyFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Metadata } from '../../src/ports/metadata.js';
import type { FeedItem, FeedSpec, VulnFeedReader } from '../../src/ports/vulndb-repo.js';
import { FileFeedReader } from '../../src/scanner/vulndb/feed-reader.js';
import { VulndbService } from '../../src/services/vulndb.service.js';
import { openTestMetadata } from '../helpers/metadata.js';

const FIX = resolve('test/fixtures/vulndata');
const BULK = join(FIX, 'osv-bulk');
const KEV = join(FIX, 'kev/known_exploited_vulnerabilities.json');
const EPSS = join(FIX, 'epss/epss_scores-subset.csv.gz');

/** The .json entries of a zip, as Info-ZIP's unzip lists them. */
const zipJsonEntries = (zip: string): string[] =>
  execFileSync('unzip', ['-Z1', zip], { encoding: 'utf8' })
    .split('\n')
    .filter((n) => n.endsWith('.json'));

/** A reader that fails after `after` items: a disk or network error in the middle of a feed. */
class FailingReader implements VulnFeedReader {
  private readonly inner = new FileFeedReader();
  constructor(
    private readonly after: number,
    private readonly atFailure: () => Promise<void> = async () => undefined,
  ) {}
  detect(path: string): Promise<FeedSpec[]> {
    return this.inner.detect(path);
  }
  async *read(spec: FeedSpec): AsyncIterable<FeedItem> {
    let n = 0;
    for await (const item of this.inner.read(spec)) {
      if (++n > this.after) {
        await this.atFailure();
        throw new Error('EIO: read failed');
      }
      yield item;
    }
  }
}

const clock = { now: () => Date.now() };
const service = (m: Metadata, feeds: VulnFeedReader = new FileFeedReader(), onChange?: (g: number) => void) =>
  new VulndbService({ repo: m.vulndb, feeds, clock, config: { ecosystems: [], updateIntervalSeconds: 0 }, ...(onChange ? { onChange } : {}) });

function describeImport(dialect: string, open: () => Promise<{ metadata: Metadata; cleanup(): Promise<void> }>): void {
  describe(`vulndb import on ${dialect}`, () => {
    let m: Metadata;
    let cleanup: () => Promise<void>;
    let work: string;
    beforeAll(async () => {
      ({ metadata: m, cleanup } = await open());
      work = await mkdtemp(join(tmpdir(), 'berth-vulndb-'));
    });
    afterAll(async () => {
      await cleanup();
      await rm(work, { recursive: true, force: true });
    });

    it("imports osv.dev's bulk layout: one source per ecosystem, as many records as the zips hold", async () => {
      const changes: number[] = [];
      const r = await service(m, undefined, (g) => changes.push(g)).import([BULK]);
      const expected = ['Go', 'PyPI', 'crates.io'].map((eco) => [`osv:${eco}`, zipJsonEntries(join(BULK, eco, 'all.zip')).length, 0]);
      expect(r.map((x) => [x.source, x.records, x.skipped])).toEqual(expected);
      expect(changes).toEqual([r.at(-1)!.generation]);
      const sources = await m.vulndb.sources();
      expect(sources.map((s) => [s.name, s.records, s.skipped])).toEqual(expected);
    });

    it('imports the KEV catalog and EPSS scores with their record counts', async () => {
      const kev = JSON.parse(await readFile(KEV, 'utf8')) as { vulnerabilities: { cveID: string }[] };
      const epssRows = gunzipSync(await readFile(EPSS)).toString('utf8').trim().split('\n').slice(1);
      const r = await service(m).import([KEV, EPSS]);
      expect(r.map((x) => [x.source, x.records, x.skipped])).toEqual([
        ['kev', new Set(kev.vulnerabilities.map((v) => v.cveID)).size, 0],
        ['epss', epssRows.length, 0],
      ]);
    });

    it('skips and counts malformed records, never failing the import', async () => {
      const dir = join(work, 'mixed');
      await mkdir(join(dir, 'sub'), { recursive: true });
      const good = await readFile(join(FIX, 'osv/crates.io/RUSTSEC-2018-0003.json'), 'utf8');
      await writeFile(join(dir, 'good.json'), good);
      await writeFile(join(dir, 'sub', 'truncated.json'), good.slice(0, 100));
      await writeFile(join(dir, 'no-id.json'), JSON.stringify({ modified: '2020-01-01T00:00:00Z', affected: [] }));
      await writeFile(join(dir, 'bad-affected.json'), JSON.stringify({ id: 'X-1', affected: { package: 'nope' } }));
      await writeFile(join(dir, 'bad-range.json'), JSON.stringify({ id: 'X-2', affected: [{ package: { ecosystem: 'npm', name: 'a' }, ranges: [{ type: 'SEMVER' }] }] }));
      await writeFile(join(dir, 'list.json'), JSON.stringify([JSON.parse(good), 'not a record', { ...JSON.parse(good), id: 'RUSTSEC-COPY-1' }]));
      const [r] = await service(m).import([dir]);
      // good.json, list.json[2]; list.json[0] repeats good.json's id
      expect([r!.source, r!.records, r!.skipped]).toEqual(['osv:mixed', 2, 6]);
      expect(r!.skippedSamples.map((s) => s.where).sort()).toEqual(['RUSTSEC-2018-0003', 'bad-affected.json', 'bad-range.json', 'list.json[1]', 'no-id.json', 'sub/truncated.json']);

      // the same inside a zip, with an entry that is not JSON at all
      const zipDir = join(work, 'zipped');
      await mkdir(zipDir);
      await copyFile(join(dir, 'good.json'), join(zipDir, 'good.json'));
      await writeFile(join(zipDir, 'garbage.json'), Buffer.from([0xff, 0x00, 0x13]));
      await writeFile(join(zipDir, 'README.txt'), 'not a record');
      execFileSync('zip', ['-q', '-j', join(work, 'bad.zip'), join(zipDir, 'good.json'), join(zipDir, 'garbage.json'), join(zipDir, 'README.txt')]);
      const [z] = await service(m).import([join(work, 'bad.zip')]);
      expect([z!.source, z!.records, z!.skipped]).toEqual(['osv:bad', 1, 1]);
    });

    it('a failing import leaves the old data visible and the generation unchanged', async () => {
      const before = await m.vulndb.source('osv:Go');
      const g = await m.vulndb.generation();
      const goRows = (await m.vulndb.affected('Go', ['stdlib'])).length;
      expect(goRows).toBeGreaterThan(100);
      // while the new copy is half written, readers see the old one
      let midway: number | undefined;
      const reader = new FailingReader(2000, async () => {
        midway = (await m.vulndb.affected('Go', ['stdlib'])).length;
      });
      await expect(service(m, reader).import([join(BULK, 'Go', 'all.zip')])).rejects.toThrow('EIO');
      expect(midway).toBe(goRows);
      expect(await m.vulndb.generation()).toBe(g);
      expect(await m.vulndb.source('osv:Go')).toEqual(before);
      expect((await m.vulndb.affected('Go', ['stdlib'])).length).toBe(goRows);
      // nothing of the failed copy is left behind
      expect(await m.vulndb.removeStaleBatches(Number.MAX_SAFE_INTEGER)).toBe(0);
    });

    it('a truncated EPSS file fails its import and keeps the old scores', async () => {
      const whole = await readFile(EPSS);
      const cut = join(work, 'epss-cut.csv.gz');
      await writeFile(cut, whole.subarray(0, Math.floor(whole.length / 2)));
      const before = await m.vulndb.source('epss');
      await expect(service(m).import([cut])).rejects.toThrow(/EPSS file unreadable/);
      expect(await m.vulndb.source('epss')).toEqual(before);
      // a plain csv with a FIRST model line and one bad row
      const plain = join(work, 'epss.csv');
      await writeFile(plain, `#model_version:v2025.03.14,score_date:2026-08-16T00:00:00+0000\ncve,epss,percentile\nCVE-2021-44228,0.94,0.99\nCVE-bad,1,1\n`);
      const [r] = await service(m).import([plain]);
      expect([r!.records, r!.skipped]).toEqual([1, 1]);
    });

    it('refuses a path that holds no feed, with a clear error', async () => {
      await expect(service(m).import([join(work, 'missing')])).rejects.toThrow(/no such file or folder/);
      await writeFile(join(work, 'notes.txt'), 'x');
      await expect(service(m).import([join(work, 'notes.txt')])).rejects.toThrow(/not a known feed/);
      await writeFile(join(work, 'fake.zip'), 'not a zip');
      await expect(service(m).import([join(work, 'fake.zip')])).rejects.toThrow(/zip/);
    });
  });
}

describeImport('sqlite', () => openTestMetadata('sqlite'));
describeImport('postgres', () => openTestMetadata('postgres'));
