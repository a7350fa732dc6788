import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Metadata } from '../../src/ports/metadata.js';
import type { AdvisoryRecord } from '../../src/ports/vulndb-repo.js';
import { openTestMetadata } from '../helpers/metadata.js';

const record = (id: string, name: string, fixed: string, aliases: string[] = []): AdvisoryRecord & { lookupNames: string[] } => ({
  advisory: { id, aliases, summary: `summary of ${id}`, details: '', severity: 'High', cvss: { version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', baseScore: 9.8 }, references: ['https://example.test/a'] },
  affected: [{ ecosystem: 'PyPI', name, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }], versions: [] }],
  lookupNames: [name],
});

function describeVulndbRepo(dialect: string, open: () => Promise<{ metadata: Metadata; cleanup(): Promise<void> }>): void {
  describe(`vulndb repository on ${dialect}`, () => {
    let m: Metadata;
    let cleanup: () => Promise<void>;
    beforeAll(async () => {
      ({ metadata: m, cleanup } = await open());
    });
    afterAll(async () => cleanup());

    it('keeps a new copy invisible until commit, then switches it in with a generation bump', async () => {
      const g0 = await m.vulndb.generation();
      const w = await m.vulndb.beginBatch('osv:PyPI', 'osv', 1000);
      expect(await w.addAdvisory(record('PYSEC-1', 'django', '2.0', ['CVE-2020-0001']))).toBe(true);
      expect(await w.addAdvisory(record('PYSEC-1', 'django', '2.0'))).toBe(false);
      expect(await m.vulndb.affected('PyPI', ['django'])).toEqual([]);
      const g1 = await w.commit({ records: 1, skipped: 1, now: 2000, etag: '"e1"' });
      expect(g1).toBe(g0 + 1);
      expect(await m.vulndb.generation()).toBe(g1);
      const rows = await m.vulndb.affected('PyPI', ['django', 'flask']);
      expect(rows.map((r) => [r.advisoryId, r.source, r.name, r.ranges])).toEqual([['PYSEC-1', 'osv:PyPI', 'django', [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '2.0' }] }]]]);
      const [a] = await m.vulndb.advisories(rows[0]!.batch, ['PYSEC-1']);
      expect(a).toEqual(record('PYSEC-1', 'django', '2.0', ['CVE-2020-0001']).advisory);
      expect(await m.vulndb.source('osv:PyPI')).toMatchObject({ name: 'osv:PyPI', kind: 'osv', records: 1, skipped: 1, updatedAt: 2000, etag: '"e1"' });
    });

    it('replaces a source as a whole and leaves others alone; an aborted copy leaves no trace', async () => {
      const other = await m.vulndb.beginBatch('osv:other', 'osv', 1000);
      await other.addAdvisory(record('OTHER-1', 'flask', '1.0'));
      await other.commit({ records: 1, skipped: 0, now: 3000 });

      const w = await m.vulndb.beginBatch('osv:PyPI', 'osv', 3000);
      await w.addAdvisory(record('PYSEC-2', 'django', '3.0'));
      const g = await w.commit({ records: 1, skipped: 0, now: 4000 });
      expect((await m.vulndb.affected('PyPI', ['django', 'flask'])).map((r) => r.advisoryId).sort()).toEqual(['OTHER-1', 'PYSEC-2']);

      const failed = await m.vulndb.beginBatch('osv:PyPI', 'osv', 5000);
      for (let i = 0; i < 1200; i++) await failed.addAdvisory(record(`PYSEC-X${i}`, 'django', '9.0'));
      await failed.abort();
      expect(await m.vulndb.generation()).toBe(g);
      expect((await m.vulndb.affected('PyPI', ['django'])).map((r) => r.advisoryId)).toEqual(['PYSEC-2']);
      expect(await m.vulndb.removeStaleBatches(Number.MAX_SAFE_INTEGER)).toBe(0);
    });

    it('removes copies no source points at (an import that died with its process)', async () => {
      const w = await m.vulndb.beginBatch('osv:PyPI', 'osv', 100);
      await w.addAdvisory(record('PYSEC-DEAD', 'django', '1.0'));
      // the writer's buffer reaches the database only on a flush: fill one
      for (let i = 0; i < 600; i++) await w.addAdvisory(record(`PYSEC-D${i}`, 'django', '1.0'));
      expect(await m.vulndb.removeStaleBatches(50)).toBe(0);
      expect(await m.vulndb.removeStaleBatches(200)).toBe(1);
      expect((await m.vulndb.affected('PyPI', ['django'])).map((r) => r.advisoryId)).toEqual(['PYSEC-2']);
    });

    it('answers KEV membership and EPSS scores from the active copies', async () => {
      expect(await m.vulndb.kev(['CVE-2021-44228'])).toEqual(new Set());
      const k = await m.vulndb.beginBatch('kev', 'kev', 1);
      expect(await k.addKev('CVE-2021-44228')).toBe(true);
      expect(await k.addKev('CVE-2021-44228')).toBe(false);
      await k.commit({ records: 1, skipped: 0, now: 1 });
      const e = await m.vulndb.beginBatch('epss', 'epss', 1);
      for (let i = 0; i < 12_000; i++) await e.addEpss({ cve: `CVE-2000-${10000 + i}`, score: i / 12_000, percentile: 0.5 });
      await e.addEpss({ cve: 'CVE-2021-44228', score: 0.94358, percentile: 0.99961 });
      await e.commit({ records: 12_001, skipped: 0, now: 1 });
      expect(await m.vulndb.kev(['CVE-2021-44228', 'CVE-2000-1'])).toEqual(new Set(['CVE-2021-44228']));
      const scores = await m.vulndb.epss(['CVE-2021-44228', 'CVE-1999-9']);
      expect([...scores.values()]).toEqual([{ cve: 'CVE-2021-44228', score: 0.94358, percentile: 0.99961 }]);
      const kinds = (await m.vulndb.sources()).map((s) => [s.name, s.kind, s.records]);
      expect(kinds).toEqual([['epss', 'epss', 12_001], ['kev', 'kev', 1], ['osv:PyPI', 'osv', 1], ['osv:other', 'osv', 1]]);
    });

    it('records a mirror check and its error without touching the data', async () => {
      const g = await m.vulndb.generation();
      await m.vulndb.noteCheck('kev', 'kev', { now: 77, url: 'http://mirror.test/kev.json', error: 'HTTP 500' });
      expect(await m.vulndb.source('kev')).toMatchObject({ records: 1, checkedAt: 77, url: 'http://mirror.test/kev.json', lastError: 'HTTP 500' });
      expect(await m.vulndb.generation()).toBe(g);
    });
  });
}

describeVulndbRepo('sqlite', () => openTestMetadata('sqlite'));
describeVulndbRepo('postgres', () => openTestMetadata('postgres'));
