import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeKysely, openKysely } from '../../src/db/dialect.js';
import { up as findingIndexMigration } from '../../src/db/migrations/013-finding-index.js';
import type { Severity } from '../../src/domain/severity.js';
import type { Finding } from '../../src/domain/vulnerability.js';
import type { Metadata } from '../../src/ports/metadata.js';
import { SecurityHubService } from '../../src/services/security-hub.service.js';
import { openTestMetadata } from '../helpers/metadata.js';

const IMAGE_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

function finding(id: string, pkg: string, severity: Severity, score: number | undefined, opts: { aliases?: string[]; fix?: string; version?: string } = {}): Finding {
  return {
    id,
    aliases: opts.aliases ?? [],
    package: pkg,
    packageType: 'deb',
    purl: `pkg:deb/debian/${pkg}@1.0`,
    version: opts.version ?? '1.0',
    fixVersions: opts.fix ? [opts.fix] : [],
    severity,
    ...(score !== undefined ? { cvss: { version: '3.1' as const, vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', baseScore: score } } : {}),
    summary: `summary of ${id}`,
    description: '',
    links: [`https://example.test/${id}`],
    layerDigest: 'sha256:' + '0'.repeat(64),
    path: 'var/lib/dpkg/status',
    kev: false,
    source: 'Debian:12',
  };
}

/** The finding index (security hub) and the CVE export rows on both dialects. */
for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`finding index and CVE exports on ${dialect}`, () => {
    let md: Metadata;
    let cleanup: () => Promise<void>;
    /** a second connection (dropping the table) */
    let raw: ReturnType<typeof openKysely>;
    let n = 0;
    const manifest = async (repositoryId: number, mediaType = OCI_MANIFEST) => {
      const digest = `sha256:${(++n).toString(16).padStart(64, '0')}`;
      return md.manifests.put({
        repositoryId,
        digest,
        mediaType,
        artifactType: mediaType === OCI_INDEX ? null : IMAGE_CONFIG,
        size: 2,
        subjectDigest: null,
        annotations: null,
        content: Buffer.from('{}'),
        blobDigests: [],
        childDigests: [],
        now: n,
      });
    };
    let p1: number;
    let p2: number;
    let a: { id: number; digest: string };
    let idxId: number;
    let b: { id: number; digest: string };
    let c: { id: number; digest: string };

    beforeAll(async () => {
      const t = await openTestMetadata(dialect, { poolSize: 4 });
      md = t.metadata;
      // a second connection to the same database, for what the port does not do
      raw = openKysely({ ...t.options, ...(t.options.driver === 'postgres' ? { poolSize: 1 } : {}) });
      cleanup = async () => {
        await closeKysely(raw);
        await t.cleanup();
      };
      p1 = (await md.projects.create({ name: 'p1', public: false, ownerId: null, now: 1 })).id;
      p2 = (await md.projects.create({ name: 'p2', public: false, ownerId: null, now: 1 })).id;
      const r1 = await md.repositories.ensure(p1, 'p1/app', 1);
      const r2 = await md.repositories.ensure(p2, 'p2/web', 1);
      a = await manifest(r1.id);
      b = await manifest(r2.id);
      c = await manifest(r2.id);
      await md.tags.put(r1.id, 'v1', a.id, 1);
      await md.tags.put(r1.id, 'latest', a.id, 1);
      await md.findingIndex.replace(a.id, [
        finding('CVE-2024-0001', 'openssl', 'Critical', 9.8, { fix: '1.1' }),
        finding('DSA-5000-1', 'zlib', 'High', 7.5, { aliases: ['CVE-2024-0002'] }),
        finding('GHSA-aaaa-bbbb-cccc', 'lodash', 'Medium', 5.3, { fix: '4.17.21' }),
      ]);
      await md.findingIndex.replace(b.id, [finding('CVE-2024-0001', 'openssl', 'Critical', 9.8, { fix: '1.1' }), finding('CVE-2023-9999', 'bash', 'Low', 2.0)]);
      // an index's aggregated report is its children's: not indexed again
      const idx = await manifest(r2.id, OCI_INDEX);
      idxId = idx.id;
      await md.findingIndex.replace(idx.id, [finding('CVE-2024-0001', 'openssl', 'Critical', 9.8)]);
    });
    afterAll(() => cleanup());

    it('counts findings per severity over the images; scanned counts images with a stored report', async () => {
      const t = await md.findingIndex.totals();
      expect(t.bySeverity).toEqual({ None: 0, Unknown: 0, Low: 1, Medium: 1, High: 1, Critical: 2 });
      expect(t.total).toBe(5);
      expect(t.fixable).toBe(3);
      expect(t.artifacts).toBe(3);
      // no artifact_scans rows in this test: the index alone says nothing about scans
      expect(t.scanned).toBe(0);
    });

    it('lists the most dangerous CVEs once each, and the artifacts with the most severe findings', async () => {
      const cves = await md.findingIndex.dangerousCves(5);
      expect(cves.map((x) => x.cveId)).toEqual(['CVE-2024-0001', 'CVE-2024-0002', 'GHSA-aaaa-bbbb-cccc', 'CVE-2023-9999']);
      expect(cves[0]).toMatchObject({ severity: 'Critical', cvssScore: 9.8, package: 'openssl', version: '1.0', summary: 'summary of CVE-2024-0001' });
      const arts = await md.findingIndex.dangerousArtifacts(5);
      expect(arts).toEqual([
        { projectId: p1, repositoryName: 'p1/app', digest: a.digest, critical: 1, high: 1, medium: 1 },
        { projectId: p2, repositoryName: 'p2/web', digest: b.digest, critical: 1, high: 0, medium: 0 },
      ]);
    });

    it('filters by CVE (its id or the CVE it names), package, severity, score, project, repository, tag and digest', async () => {
      const page = { offset: 0, limit: 100, withTags: false, countUpTo: 1000 };
      const ids = async (f: Parameters<Metadata['findingIndex']['search']>[0]) => (await md.findingIndex.search(f, page)).items.map((h) => `${h.repositoryName} ${h.cveId} ${h.package}`);
      expect(await ids({ cveId: { exact: ['CVE-2024-0001'] } })).toEqual(['p1/app CVE-2024-0001 openssl', 'p2/web CVE-2024-0001 openssl']);
      expect(await ids({ cveId: { exact: ['CVE-2024-0002'] } })).toEqual(['p1/app CVE-2024-0002 zlib']);
      expect(await ids({ cveId: { exact: ['DSA-5000-1'] } })).toEqual(['p1/app CVE-2024-0002 zlib']);
      expect(await ids({ cveId: { fuzzy: '2023' } })).toEqual(['p2/web CVE-2023-9999 bash']);
      expect(await ids({ package: { exact: ['lodash'] } })).toEqual(['p1/app GHSA-aaaa-bbbb-cccc lodash']);
      expect(await ids({ package: { fuzzy: 'ss' } })).toHaveLength(2);
      // fuzzy matches ignore case on both dialects, as every other `=~` of the API does
      expect(await ids({ package: { fuzzy: 'OpenSS' } })).toHaveLength(2);
      expect(await ids({ cveId: { fuzzy: 'cve-2023' } })).toEqual(['p2/web CVE-2023-9999 bash']);
      expect(await ids({ repositoryName: { fuzzy: 'P1/' } })).toHaveLength(3);
      // LIKE's own wildcards are taken literally
      expect(await ids({ package: { fuzzy: '%' } })).toEqual([]);
      expect(await ids({ severities: ['High', 'Low'] })).toEqual(['p1/app CVE-2024-0002 zlib', 'p2/web CVE-2023-9999 bash']);
      expect(await ids({ cvss: { min: 5, max: 8 } })).toEqual(['p1/app CVE-2024-0002 zlib', 'p1/app GHSA-aaaa-bbbb-cccc lodash']);
      expect(await ids({ projectIds: [p2] })).toEqual(['p2/web CVE-2024-0001 openssl', 'p2/web CVE-2023-9999 bash']);
      expect(await ids({ repositoryName: { fuzzy: 'app' } })).toHaveLength(3);
      expect(await ids({ tag: 'v1', severities: ['Critical'] })).toEqual(['p1/app CVE-2024-0001 openssl']);
      expect(await ids({ digest: b.digest })).toHaveLength(2);
      expect(await ids({ digest: c.digest })).toEqual([]);
    });

    it('pages in a stable order, counts up to the cap and adds tags when asked', async () => {
      const all = await md.findingIndex.search({}, { offset: 0, limit: 100, withTags: true, countUpTo: 1000 });
      expect(all.total).toBe(5);
      expect(all.items.map((h) => h.severity)).toEqual(['Critical', 'Critical', 'High', 'Medium', 'Low']);
      expect(all.items[0]).toMatchObject({ tags: ['latest', 'v1'], fixedVersion: '1.1', link: 'https://example.test/CVE-2024-0001', vulnId: 'CVE-2024-0001', cvssVersion: '3.1' });
      const second = await md.findingIndex.search({}, { offset: 2, limit: 2, withTags: false, countUpTo: 3 });
      expect(second.items.map((h) => h.package)).toEqual(['zlib', 'lodash']);
      expect(second.items[0]!.tags).toBeUndefined();
      expect(second.total).toBe(3);
    });

    it('replaces an artifact\'s rows as a whole, and they go with the manifest', async () => {
      await md.findingIndex.replace(b.id, [finding('CVE-2025-1111', 'curl', 'High', 8.1)]);
      expect((await md.findingIndex.search({ projectIds: [p2] }, { offset: 0, limit: 10, withTags: false, countUpTo: 10 })).items.map((h) => h.cveId)).toEqual(['CVE-2025-1111']);
      await md.manifests.delete((await md.repositories.getByName('p2/web'))!.id, b.digest);
      expect((await md.findingIndex.search({ projectIds: [p2] }, { offset: 0, limit: 10, withTags: false, countUpTo: 10 })).total).toBe(0);
      expect((await md.findingIndex.totals()).total).toBe(3);
    });

    it('indexes the reports stored before the index existed when migration 013 runs', async () => {
      const findings = [finding('CVE-2024-0001', 'openssl', 'Critical', 9.8, { fix: '1.1' }), finding('DSA-5000-1', 'zlib', 'High', 7.5, { aliases: ['CVE-2024-0002'] })];
      const result = (f: Finding[]) => ({ scanner: 'berth', generation: 1, findings: f, summary: { total: f.length, fixable: 1, summary: {}, highest: 'Critical' as const }, startedAt: 1, endedAt: 2 });
      await md.scans.saveResult(a.id, result(findings));
      await md.scans.saveResult(idxId, result(findings));
      await raw.schema.dropTable('artifact_findings').execute();
      await findingIndexMigration(raw as never, dialect);
      const r = await md.findingIndex.search({}, { offset: 0, limit: 10, withTags: false, countUpTo: 10 });
      // the index's aggregate is not indexed
      expect(r.items.map((h) => [h.digest, h.vulnId, h.cveId, h.package, h.severity, h.fixedVersion, h.cvssScore, h.summary, h.link])).toEqual([
        [a.digest, 'CVE-2024-0001', 'CVE-2024-0001', 'openssl', 'Critical', '1.1', 9.8, 'summary of CVE-2024-0001', 'https://example.test/CVE-2024-0001'],
        [a.digest, 'DSA-5000-1', 'CVE-2024-0002', 'zlib', 'High', '', 7.5, 'summary of DSA-5000-1', 'https://example.test/DSA-5000-1'],
      ]);
      expect((await md.findingIndex.totals()).scanned).toBe(1);
    });

    it('keeps CVE export rows: created pending, updated, listed per requester newest first, removed when old', async () => {
      const e1 = await md.cveExports.create({ requester: 'user:1', userId: 1, username: 'alice', jobName: 'one', params: { projectIds: [p1], tags: '**', cveIds: ['CVE-1'] }, now: 100 });
      const e2 = await md.cveExports.create({ requester: 'robot:7', userId: null, username: 'robot$ci', jobName: 'two', params: { projectIds: [p2] }, now: 200 });
      expect(e1).toMatchObject({ status: 'Pending', statusText: '', filePath: null, rows: null, params: { projectIds: [p1], tags: '**', cveIds: ['CVE-1'] }, createdAt: 100 });
      await md.cveExports.update(e1.id, { status: 'Success', filePath: 'exports/cve/1.csv', fileSize: 10, rows: 2, startedAt: 110, endedAt: 120, statusText: 'x'.repeat(3000) });
      const got = await md.cveExports.get(e1.id);
      expect(got).toMatchObject({ status: 'Success', filePath: 'exports/cve/1.csv', fileSize: 10, rows: 2, startedAt: 110, endedAt: 120 });
      expect(got!.statusText).toHaveLength(2000);
      expect((await md.cveExports.list('user:1', 10)).map((e) => e.jobName)).toEqual(['one']);
      expect((await md.cveExports.list(undefined, 10)).map((e) => e.jobName)).toEqual(['two', 'one']);
      expect((await md.cveExports.createdBefore(150, 10)).map((e) => e.id)).toEqual([e1.id]);
      await md.cveExports.delete(e1.id);
      expect(await md.cveExports.get(e1.id)).toBeUndefined();
      expect((await md.cveExports.get(e2.id))?.userId).toBeNull();
    });

    it("counts up to Harbor's tune_count cap: past 1,000 matches the total is -1", async () => {
      const hub = new SecurityHubService({ metadata: md });
      await md.findingIndex.replace(a.id, Array.from({ length: 1001 }, (_, i) => finding(`CVE-2030-${1000 + i}`, 'many', 'Low', 1)));
      const page = { offset: 0, limit: 10, withTag: false };
      expect((await hub.vulnerabilities({ ...page, tuneCount: true, q: 'package=many' })).total).toBe(-1);
      expect((await hub.vulnerabilities({ ...page, tuneCount: false, q: 'package=many' })).total).toBe(1001);
      expect((await hub.vulnerabilities({ ...page, tuneCount: true, q: 'package=many,cve_id=~CVE-2030-10' })).total).toBe(100);
    });
  });
}
