/* eslint-disable @typescript-eslint/no-explicit-any -- the documents are plain JSON, walked by shape in the assertions */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTool } from '../helpers/child-server.js';
import { testImages, type TestImages } from '../helpers/images.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.js';
import { validateCycloneDx, validateSpdx } from '../sbom/sbom-schemas.js';

/**
 * The whole way on the real Debian image of test/helpers/images.ts: skopeo pushes it, the scan
 * pipeline reads its layers and fills the package index, inventory search finds it by its own
 * dpkg versions, and its SBOMs become referrers of the pushed digest.
 */
describe('a real image: scan, inventory search, SBOM referrers', () => {
  let s: TestServer;
  let images: TestImages;
  let digest: string;
  let dpkg: Map<string, string>;

  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${s.url}/api/v2.0${path}`, { ...init, headers: { authorization: s.adminBasic, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) } });

  beforeAll(async () => {
    images = await testImages();
    s = await startTestServer();
    expect((await api('/projects', { method: 'POST', body: JSON.stringify({ project_name: 'real', metadata: { public: 'true' } }) })).status).toBe(201);
    await runTool('skopeo', ['copy', '--dest-tls-verify=false', '--dest-creds', `admin:${ADMIN_PASSWORD}`, images.ref('bookworm'), `docker://${s.host}/real/debian:bookworm`], { timeoutMs: 120_000 });
    const head = await fetch(`${s.url}/v2/real/debian/manifests/bookworm`, { method: 'HEAD', headers: { authorization: s.adminBasic, accept: 'application/vnd.oci.image.manifest.v1+json' } });
    digest = head.headers.get('docker-content-digest')!;
    expect((await api('/projects/real/repositories/debian/artifacts/bookworm/scan', { method: 'POST', body: '{}' })).status).toBe(202);
    for (let i = 0; i < 1200; i++) {
      const m = s.server.berth.metadata;
      const repo = await m.repositories.getByName('real/debian');
      const row = await m.manifests.stat(repo!.id, digest);
      const rows = row ? await m.packageIndex.packagesOf(row.id) : [];
      if (rows.length) {
        dpkg = new Map(rows.filter((r) => r.type === 'deb').map((r) => [r.name, r.version]));
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(dpkg?.size).toBeGreaterThan(50);
  }, 300_000);

  afterAll(async () => {
    await s?.stop();
  });

  it("finds the image by a package's own version, and not by a range that excludes it", async () => {
    const libc = dpkg.get('libc6')!;
    const hit = async (v: string) => {
      const res = await fetch(`${s.url}/api/v2.0/packages?purl=pkg:deb/debian/libc6&version=${encodeURIComponent(v)}`);
      expect(res.status).toBe(200);
      return ((await res.json()) as any[]).map((h) => `${h.repository_name}@${h.digest} ${h.tags.join(',')}`);
    };
    expect(await hit(`=${libc}`)).toEqual([`real/debian@${digest} bookworm`]);
    expect(await hit(`<=${libc}`)).toEqual([`real/debian@${digest} bookworm`]);
    expect(await hit(`<${libc}`)).toEqual([]);
    expect(await hit(`>${libc}`)).toEqual([]);
  });

  it('publishes SBOMs of the stored inventory as referrers of the pushed digest', async () => {
    const m = s.server.berth.metadata;
    const repo = await m.repositories.getByName('real/debian');
    const row = await m.manifests.stat(repo!.id, digest);
    const record = await m.scans.inventory(row!.id);
    expect(record).toBeDefined();
    await s.server.berth.sbom.onInventoryStored('real/debian', digest, record!.inventory);
    const listed = (await (await fetch(`${s.url}/v2/real/debian/referrers/${digest}`)).json()) as { manifests: { artifactType: string; digest: string }[] };
    expect(listed.manifests.map((d) => d.artifactType).sort()).toEqual(['application/spdx+json', 'application/vnd.cyclonedx+json']);
    const cdx = (await (await fetch(`${s.url}/api/v2.0/projects/real/repositories/debian/artifacts/bookworm/additions/sbom?format=cyclonedx`)).json()) as any;
    expect(validateCycloneDx(cdx)).toEqual([]);
    const versions = new Map(cdx.components.filter((c: any) => c.purl?.startsWith('pkg:deb/')).map((c: any) => [c.name, c.version]));
    expect(versions).toEqual(dpkg);
    // the image's history names the layers its packages came from
    const layers = cdx.metadata.component.properties.filter((p: any) => /^berth:image:history:\d+:layer$/.test(p.name)).map((p: any) => p.value);
    const used = new Set(cdx.components.flatMap((c: any) => (c.properties ?? []).filter((p: any) => p.name === 'berth:layer:digest').map((p: any) => p.value)));
    for (const l of used) expect(layers).toContain(l);
    const spdx = (await (await fetch(`${s.url}/api/v2.0/projects/real/repositories/debian/artifacts/${digest}/additions/sbom`)).json()) as any;
    expect(validateSpdx(spdx)).toEqual([]);
  });
});
