/* eslint-disable @typescript-eslint/no-explicit-any -- the documents are plain JSON, walked by shape in the assertions */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeLayers } from '../../src/scanner/layer-merge.js';
import { scanLayer } from '../../src/scanner/layer-reader.js';
import { createProject, RegistryClient, sha256 } from '../helpers/registry-client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { tarOfPaths } from '../scanner/real-files.js';
import { chunked, gzip } from '../scanner/tar-fixtures.js';
import { validateCycloneDx, validateSpdx } from '../sbom/sbom-schemas.js';
import { IMAGE_CONFIG, member, OCI_MANIFEST, pushReferrer } from './catalog-fixtures.js';

const CDX = 'application/vnd.cyclonedx+json';
const SPDX = 'application/spdx+json';

describe('SBOMs as OCI referrers', () => {
  let s: TestServer;
  let admin: RegistryClient;
  const repo = 'sbomproj/app';
  let image: { digest: string; size: number; layer: string };
  let layerBytes: Buffer;

  beforeAll(async () => {
    s = await startTestServer({ BERTH_EXTERNAL_URL: 'https://registry.example:5443' });
    admin = new RegistryClient(s.url, s.adminBasic);
    await createProject(s.url, s.adminBasic, 'sbomproj', false);
    // a real layer: this machine's dpkg database and os-release, gzipped
    layerBytes = gzip(tarOfPaths('/', ['var/lib/dpkg/status', 'usr/lib/os-release']));
    const layer = await admin.pushBlob(repo, layerBytes);
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: ['sha256:' + '0'.repeat(64)] },
        history: [
          { created: '2024-05-01T09:00:00Z', created_by: 'debootstrap bookworm' },
          { created: '2024-05-01T09:01:00Z', created_by: 'LABEL x=y', empty_layer: true },
        ],
      }),
    );
    const configDigest = await admin.pushBlob(repo, config);
    const body = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: IMAGE_CONFIG, digest: configDigest, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layer, size: layerBytes.length }],
      annotations: {
        'org.opencontainers.image.source': 'https://git.example/app.git',
        'org.opencontainers.image.revision': 'feedface',
        'org.opencontainers.image.version': '2.1.0',
        'org.opencontainers.image.created': '2024-05-01T09:02:00Z',
      },
    });
    const res = await admin.pushManifest(repo, '2.1.0', body);
    expect(res.status).toBe(201);
    image = { digest: sha256(body), size: body.length, layer };
  }, 60_000);

  afterAll(async () => {
    await s?.stop();
  });

  const inventory = async () => mergeLayers([await scanLayer(chunked(layerBytes), { layerDigest: image.layer })]);
  const referrers = async (artifactType?: string) => {
    const res = await admin.fetch(`/v2/${repo}/referrers/${image.digest}${artifactType ? `?artifactType=${encodeURIComponent(artifactType)}` : ''}`);
    expect(res.status).toBe(200);
    return ((await res.json()) as { manifests: { artifactType: string; digest: string; annotations?: Record<string, string> }[] }).manifests;
  };
  const layerOf = async (referrer: string) => {
    const m = (await (await admin.fetch(`/v2/${repo}/manifests/${referrer}`, { headers: { accept: OCI_MANIFEST } })).json()) as any;
    return { manifest: m, doc: (await (await admin.fetch(`/v2/${repo}/blobs/${m.layers[0].digest}`)).json()) as any };
  };

  it('publishes a CycloneDX and an SPDX referrer of the artifact, listed by the referrers API, valid and complete', async () => {
    const inv = await inventory();
    expect(inv.packages.length).toBeGreaterThan(50);
    const published = await s.server.berth.sbom.publish(repo, image.digest, inv);
    expect(published.map((p) => [p.format, p.created])).toEqual([['cyclonedx', true], ['spdx', true]]);
    const listed = await referrers();
    expect(listed.map((d) => d.artifactType).sort()).toEqual([SPDX, CDX].sort());
    expect((await referrers(CDX)).map((d) => d.digest)).toEqual([published[0]!.digest]);

    const cdx = await layerOf(published[0]!.digest);
    expect(cdx.manifest).toMatchObject({ artifactType: CDX, subject: { digest: image.digest, mediaType: OCI_MANIFEST, size: image.size } });
    expect(cdx.manifest.layers[0].mediaType).toBe(CDX);
    expect(validateCycloneDx(cdx.doc)).toEqual([]);
    expect(new Set(cdx.doc.components.filter((c: any) => c.purl).map((c: any) => c.purl))).toEqual(new Set(inv.packages.map((p) => p.purl)));
    const root = cdx.doc.metadata.component;
    expect(root).toMatchObject({ name: repo, version: '2.1.0', externalReferences: [{ type: 'vcs', url: 'https://git.example/app.git' }] });
    expect(root.purl).toContain('repository_url=registry.example:5443/sbomproj/app');
    expect(root.properties).toContainEqual({ name: 'berth:artifact:tag', value: '2.1.0' });
    expect(root.properties).toContainEqual({ name: 'berth:image:history:0:layer', value: image.layer });
    expect(root.properties).toContainEqual({ name: 'berth:image:history:0:created_by', value: 'debootstrap bookworm' });

    const spdx = await layerOf(published[1]!.digest);
    expect(validateSpdx(spdx.doc)).toEqual([]);
    expect(spdx.doc.documentNamespace.startsWith('https://registry.example:5443/spdx/sbomproj/app/')).toBe(true);
    expect(spdx.doc.packages.find((p: any) => p.SPDXID === 'SPDXRef-Image').sourceInfo).toBe('built from https://git.example/app.git at revision feedface');
  });

  it('makes no new referrer for an unchanged inventory, and replaces its own when the inventory changes', async () => {
    const inv = await inventory();
    const before = await referrers();
    const again = await s.server.berth.sbom.onInventoryStored(repo, image.digest, inv);
    expect(again.every((p) => !p.created)).toBe(true);
    expect((await referrers()).map((d) => d.digest).sort()).toEqual(before.map((d) => d.digest).sort());

    const foreign = await pushReferrer(admin, repo, image, CDX);
    const fewer = { ...inv, packages: inv.packages.slice(0, 10) };
    const next = await s.server.berth.sbom.publish(repo, image.digest, fewer);
    expect(next.every((p) => p.created)).toBe(true);
    const after = await referrers();
    // a referrer somebody pushed is left alone
    expect(after.map((d) => d.digest).sort()).toEqual([...next.map((p) => p.digest), foreign].sort());
  });

  it("serves Harbor's additions/sbom: SPDX by default, CycloneDX on ?format=, on the artifact and on the SBOM accessory itself", async () => {
    const base = `/api/v2.0/projects/sbomproj/repositories/app/artifacts`;
    const spdx = await admin.fetch(`${base}/2.1.0/additions/sbom`);
    expect(spdx.status).toBe(200);
    expect(spdx.headers.get('content-type')).toBe(SPDX);
    expect(((await spdx.json()) as any).spdxVersion).toBe('SPDX-2.3');
    const cdx = await admin.fetch(`${base}/${image.digest}/additions/sbom?format=cyclonedx`);
    expect(cdx.headers.get('content-type')).toBe(CDX);
    expect(((await cdx.json()) as any).bomFormat).toBe('CycloneDX');
    const accessory = (await referrers(CDX)).find((d) => d.annotations?.['dev.berth.sbom.generator'] === 'berth')!.digest;
    const own = await admin.fetch(`${base}/${accessory}/additions/sbom`);
    expect(((await own.json()) as any).specVersion).toBe('1.6');
    expect((await admin.fetch(`${base}/2.1.0/additions/sbom?format=xml`)).status).toBe(400);
  });

  it('asks for read rights on the project: anonymous and non-members are refused, a guest may read', async () => {
    const path = `/api/v2.0/projects/sbomproj/repositories/app/artifacts/2.1.0/additions/sbom`;
    expect((await new RegistryClient(s.url).fetch(path)).status).toBe(401);
    const outsider = await member(s, 'outsider', 'sbomproj', undefined);
    expect((await outsider.fetch(path)).status).toBe(403);
    const guest = await member(s, 'reader', 'sbomproj', 'guest');
    expect((await guest.fetch(path)).status).toBe(200);
  });

  it('answers 404 for an artifact without an SBOM', async () => {
    const other = await admin.pushImage(repo, 'plain');
    const res = await admin.fetch(`/api/v2.0/projects/sbomproj/repositories/app/artifacts/${other.digest}/additions/sbom`);
    expect(res.status).toBe(404);
  });
});
