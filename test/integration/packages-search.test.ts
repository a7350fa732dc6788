import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExtractedPackage } from '../../src/domain/sbom.js';
import { packagePurl } from '../../src/scanner/purl.js';
import { ANONYMOUS } from '../../src/domain/permission.js';
import { PackageSearchService } from '../../src/services/package-search.service.js';
import { createTestSchema, type TestSchema } from '../helpers/postgres.js';
import { createProject, RegistryClient } from '../helpers/registry-client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { member, pushUntagged } from './catalog-fixtures.js';

const LAYER = 'sha256:' + 'c'.repeat(64);
const DEBIAN = { id: 'debian', versionId: '12', codename: 'bookworm' };

function deb(name: string, version: string, arch = 'amd64'): ExtractedPackage {
  const p = { type: 'deb' as const, name, version, arch, layerDigest: LAYER, path: 'var/lib/dpkg/status', distro: DEBIAN };
  return { ...p, purl: packagePurl(p, DEBIAN) };
}

function pypi(name: string, version: string): ExtractedPackage {
  const p = { type: 'pypi' as const, name, version, layerDigest: LAYER, path: `usr/lib/python3/dist-packages/${name}.dist-info/METADATA` };
  return { ...p, purl: packagePurl(p, undefined) };
}

interface Hit {
  project_name: string;
  repository_name: string;
  digest: string;
  tags: string[];
  packages: { purl: string; version: string; layer_digest: string; path: string }[];
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`inventory search on ${dialect}`, () => {
    let s: TestServer;
    let schema: TestSchema | undefined;
    let admin: RegistryClient;
    let alice: RegistryClient;
    let bob: RegistryClient;
    const anon = () => new RegistryClient(s.url);
    const digests: Record<string, string> = {};

    /** pushes an image with a tag and indexes its packages the way the scan pipeline does */
    async function artifact(repo: string, tag: string, packages: ExtractedPackage[]): Promise<string> {
      const { digest } = await pushUntagged(admin, repo, 'amd64');
      const res = await admin.pushManifest(repo, tag, (await (await admin.fetch(`/v2/${repo}/manifests/${digest}`)).text()));
      expect(res.status).toBe(201);
      const m = s.server.berth.metadata;
      const r = await m.repositories.getByName(repo);
      const row = await m.manifests.stat(r!.id, digest);
      await m.packageIndex.replace(row!.id, packages);
      digests[`${repo}:${tag}`] = digest;
      return digest;
    }

    const search = async (c: RegistryClient, query: string) => {
      const res = await c.fetch(`/api/v2.0/packages?${query}`);
      return { res, hits: res.status === 200 ? ((await res.json()) as Hit[]) : [] };
    };
    const names = (hits: Hit[]) => hits.map((h) => `${h.repository_name}:${h.tags.join(',')}`).sort();

    beforeAll(async () => {
      if (dialect === 'postgres') {
        schema = await createTestSchema();
        s = await startTestServer({ BERTH_DATABASE_DRIVER: 'postgres', BERTH_DATABASE_URL: schema.url, BERTH_DATABASE_SCHEMA: schema.schema });
      } else {
        s = await startTestServer();
      }
      admin = new RegistryClient(s.url, s.adminBasic);
      await createProject(s.url, s.adminBasic, 'pub', true);
      await createProject(s.url, s.adminBasic, 'priv', false);
      await createProject(s.url, s.adminBasic, 'bulk', true);
      alice = await member(s, 'alice', 'priv', 'guest');
      bob = await member(s, 'bob', 'pub', 'developer');
      await artifact('pub/app', 'old', [deb('openssl', '3.0.11-1~deb12u2'), deb('libc6', '2.36-9+deb12u4'), pypi('Requests', '2.28.1')]);
      await artifact('pub/app', 'new', [deb('openssl', '3.0.13-1~deb12u1'), deb('libc6', '2.36-9+deb12u7')]);
      await artifact('pub/lib', 'rc', [deb('libfoo', '1.0~rc1')]);
      await artifact('pub/lib', 'final', [deb('libfoo', '1.0')]);
      await artifact('pub/lib', 'epoch', [deb('libfoo', '1:0.9')]);
      await artifact('priv/secret', 'v1', [deb('openssl', '3.0.11-1~deb12u2'), deb('openssl', '3.0.11-1~deb12u2', 'i386')]);
      for (let i = 0; i < 25; i++) await artifact(`bulk/r${String(i).padStart(2, '0')}`, 'v', [deb('zlib1g', `1:1.2.13.dfsg-${i + 1}`)]);
    }, 180_000);

    afterAll(async () => {
      await s?.stop();
      await schema?.drop();
    });

    it('finds the artifacts holding a package below a version, in dpkg order, with where it was found', async () => {
      const { res, hits } = await search(anon(), 'purl=pkg:deb/debian/openssl&version=<3.0.13');
      expect(res.status).toBe(200);
      expect(names(hits)).toEqual(['pub/app:old']);
      expect(hits[0]).toMatchObject({ project_name: 'pub', digest: digests['pub/app:old'] });
      expect(hits[0]!.packages).toEqual([
        { purl: 'pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12', version: '3.0.11-1~deb12u2', layer_digest: LAYER, path: 'var/lib/dpkg/status' },
      ]);
      expect(res.headers.get('x-total-count')).toBe('1');
    });

    it('orders ~ before the release and an epoch above both, as dpkg does', async () => {
      const q = async (v: string) => names((await search(anon(), `purl=pkg:deb/debian/libfoo&version=${encodeURIComponent(v)}`)).hits);
      expect(await q('<1.0')).toEqual(['pub/lib:rc']);
      expect(await q('<=1.0')).toEqual(['pub/lib:final', 'pub/lib:rc']);
      expect(await q('>1.0~rc1')).toEqual(['pub/lib:epoch', 'pub/lib:final']);
      expect(await q('>=1.0~rc1,<1.0')).toEqual(['pub/lib:rc']);
      expect(await q('=1.0')).toEqual(['pub/lib:final']);
      expect(await q('>1.0')).toEqual(['pub/lib:epoch']);
      expect(await q('!=1.0')).toEqual(['pub/lib:epoch', 'pub/lib:rc']);
      // no constraint: every version
      expect(names((await search(anon(), 'purl=pkg:deb/debian/libfoo')).hits)).toHaveLength(3);
      // a version in the purl is an exact match
      expect(names((await search(anon(), `purl=${encodeURIComponent('pkg:deb/debian/libfoo@1.0~rc1')}`)).hits)).toEqual(['pub/lib:rc']);
    });

    it('hides private projects from anonymous callers and non-members, shows them to members and admins', async () => {
      const q = 'purl=pkg:deb/debian/openssl&version=<=3.0.11-1~deb12u2';
      expect(names((await search(anon(), q)).hits)).toEqual(['pub/app:old']);
      expect(names((await search(bob, q)).hits)).toEqual(['pub/app:old']);
      expect(names((await search(alice, q)).hits)).toEqual(['priv/secret:v1', 'pub/app:old']);
      const asAdmin = await search(admin, q);
      expect(names(asAdmin.hits)).toEqual(['priv/secret:v1', 'pub/app:old']);
      // both architectures of the private artifact, in one hit
      expect(asAdmin.hits.find((h) => h.project_name === 'priv')!.packages.map((p) => p.purl)).toEqual([
        'pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12',
        'pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=i386&distro=debian-12',
      ]);
      // project_name narrows; a private project a caller cannot see gives nothing
      expect(names((await search(admin, `${q}&project_name=priv`)).hits)).toEqual(['priv/secret:v1']);
      expect(names((await search(anon(), `${q}&project_name=priv`)).hits)).toEqual([]);
    });

    it('filters by purl qualifiers and matches names the way purl-spec normalises them', async () => {
      expect(names((await search(admin, `purl=${encodeURIComponent('pkg:deb/debian/openssl?arch=i386')}`)).hits)).toEqual(['priv/secret:v1']);
      expect(names((await search(anon(), `purl=${encodeURIComponent('pkg:deb/debian/openssl?distro=debian-11')}`)).hits)).toEqual([]);
      // PyPI: PEP 503 names, PEP 440 order
      expect(names((await search(anon(), 'purl=pkg:pypi/requests&version=<2.31')).hits)).toEqual(['pub/app:old']);
      expect(names((await search(anon(), 'purl=pkg:pypi/REQUESTS&version=>=2.31')).hits)).toEqual([]);
      // without a namespace: any vendor
      expect(names((await search(anon(), 'purl=pkg:deb/libc6&version=<2.36-9%2Bdeb12u5')).hits)).toEqual(['pub/app:old']);
    });

    it('pages Harbor-style with X-Total-Count and Link, newest push first', async () => {
      const first = await search(anon(), 'purl=pkg:deb/debian/zlib1g&page_size=10');
      expect(first.res.headers.get('x-total-count')).toBe('25');
      expect(first.hits.map((h) => h.repository_name)).toEqual(Array.from({ length: 10 }, (_, i) => `bulk/r${24 - i}`));
      expect(first.res.headers.get('link')).toContain('page=2');
      const last = await search(anon(), 'purl=pkg:deb/debian/zlib1g&page_size=10&page=3');
      expect(last.hits.map((h) => h.repository_name)).toEqual(Array.from({ length: 5 }, (_, i) => `bulk/r0${4 - i}`));
      expect(last.res.headers.get('link')).toContain('rel="prev"');
      expect(last.res.headers.get('link')).not.toContain('rel="next"');
      // epochs and ranges over the bulk: 1:1.2.13.dfsg-10 .. -25 (numeric, not string order)
      const ranged = await search(anon(), `purl=pkg:deb/debian/zlib1g&version=${encodeURIComponent('>=1:1.2.13.dfsg-10,<1:1.2.13.dfsg-20')}&page_size=100`);
      expect(ranged.hits.map((h) => h.packages[0]!.version)).toEqual(Array.from({ length: 10 }, (_, i) => `1:1.2.13.dfsg-${19 - i}`));
      expect((await search(anon(), 'purl=pkg:deb/debian/zlib1g&page_size=1001')).res.status).toBe(400);
    });

    it('answers the same when it tests rows one by one (many versions) as when the database pages them', async () => {
      const berth = s.server.berth;
      const fast = new PackageSearchService({ metadata: berth.metadata, access: berth.access });
      const slow = new PackageSearchService({ metadata: berth.metadata, access: berth.access, limits: { versionListMax: 1 } });
      const queries = [
        { purl: 'pkg:deb/debian/zlib1g', version: '>=1:1.2.13.dfsg-3,<1:1.2.13.dfsg-21', offset: 5, limit: 7 },
        { purl: 'pkg:deb/debian/libfoo', version: '<=1.0', offset: 0, limit: 10 },
        { purl: 'pkg:deb/debian/openssl', version: '<3.0.13', offset: 0, limit: 10 },
        { purl: 'pkg:deb/libc6', version: '!=2.36-9+deb12u7', offset: 0, limit: 10 },
      ];
      for (const q of queries) {
        const a = await fast.search(ANONYMOUS, q);
        const b = await slow.search(ANONYMOUS, q);
        expect(b, q.purl).toEqual(a);
        expect(a.items.length, q.purl).toBeGreaterThan(0);
      }
      const capped = new PackageSearchService({ metadata: berth.metadata, access: berth.access, limits: { versionListMax: 1, candidateLimit: 3 } });
      await expect(capped.search(ANONYMOUS, queries[0]!)).rejects.toThrow(/narrow the search/);
    });

    it('refuses bad queries with Harbor errors, never a crash', async () => {
      for (const q of ['purl=openssl', 'purl=pkg:deb', 'purl=pkg:deb/debian/openssl&version=<', 'purl=pkg:deb/debian/openssl&version=%3C%25%25', 'version=1']) {
        const res = await anon().fetch(`/api/v2.0/packages?${q}`);
        expect(res.status, q).toBe(400);
        const body = (await res.json()) as { errors: { code: string }[] };
        expect(body.errors[0]!.code).toBeTruthy();
      }
    });

    it('forgets an artifact when it is deleted, and replaces its rows when it is indexed again', async () => {
      const digest = await artifact('pub/tmp', 'x', [deb('gone', '1.0')]);
      expect(names((await search(anon(), 'purl=pkg:deb/debian/gone')).hits)).toEqual(['pub/tmp:x']);
      const m = s.server.berth.metadata;
      const r = await m.repositories.getByName('pub/tmp');
      const row = await m.manifests.stat(r!.id, digest);
      await m.packageIndex.replace(row!.id, [deb('gone', '2.0')]);
      expect((await search(anon(), 'purl=pkg:deb/debian/gone')).hits.map((h) => h.packages.map((p) => p.version))).toEqual([['2.0']]);
      expect((await admin.fetch(`/v2/pub/tmp/manifests/${digest}`, { method: 'DELETE' })).status).toBe(202);
      expect((await search(anon(), 'purl=pkg:deb/debian/gone')).hits).toEqual([]);
    });
  });
}
