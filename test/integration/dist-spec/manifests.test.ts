import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProject, errorsOf, RegistryClient } from '../../helpers/registry-client.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import {
  blob,
  type Content,
  config,
  digest,
  index,
  manifest,
  OCI_EMPTY,
  OCI_INDEX,
  OCI_MANIFEST,
  pushImage,
  putBlob,
  putManifest,
  randomLayer,
} from './oci-fixtures.js';

// OCI Distribution Spec v1.1, "Pushing Manifests"; conformance 02_push "Manifest Upload",
// 03_discovery "References setup" and the conformance2 data sets (image, index, nested index,
// empty index, artifact, artifact without layers, custom fields, data field, bad digest).

let s: TestServer;
let admin: RegistryClient;
const repo = 'conf/manifests';

beforeAll(async () => {
  s = await startTestServer();
  admin = new RegistryClient(s.url, s.adminBasic);
  await createProject(s.url, s.adminBasic, 'conf');
});
afterAll(() => s.stop());

/** conformance2 ManifestPut: follow Location and check the bytes, media type and length. */
async function expectStored(res: Response, m: Content, mediaType = m.descriptor.mediaType): Promise<void> {
  expect(res.headers.get('docker-content-digest')).toBe(m.digest);
  const location = res.headers.get('location')!;
  expect(location).toBe(`/v2/${repo}/manifests/${m.digest}`);
  const get = await admin.fetch(location, { headers: { accept: `${OCI_INDEX}, ${OCI_MANIFEST}` } });
  expect(get.status).toBe(200);
  expect(get.headers.get('content-type')).toBe(mediaType);
  expect(get.headers.get('content-length')).toBe(String(m.bytes.length));
  expect(Buffer.from(await get.arrayBuffer()).equals(m.bytes)).toBe(true);
}

async function image(extraConfig: Record<string, unknown> = {}): Promise<{ cfg: Content; layer: Content }> {
  const cfg = config(extraConfig);
  const layer = randomLayer();
  await putBlob(admin, repo, cfg);
  await putBlob(admin, repo, layer);
  return { cfg, layer };
}

describe('pushing manifests', () => {
  // "The registry MUST store the manifest exactly as provided" and "Upon successful upload ...
  // 201 Created ... Location: <location> where <location> is a pullable URL for the manifest."
  it('stores a manifest pushed by tag byte for byte and answers with its Location and digest', async () => {
    const { cfg, layer } = await image();
    const m = manifest({ config: cfg.descriptor, layers: [layer.descriptor] });
    await expectStored(await putManifest(admin, repo, 'v1', m), m);
  });

  it('takes the same manifest under several tags, and a tag moves to a newer manifest', async () => {
    const { cfg, layer } = await image();
    const m = manifest({ config: cfg.descriptor, layers: [layer.descriptor] });
    for (let i = 0; i < 4; i++) await putManifest(admin, repo, `test${i}`, m);
    const m2 = manifest({ config: cfg.descriptor, layers: [layer.descriptor], annotations: { v: '2' } });
    await putManifest(admin, repo, 'test3', m2);
    const head = await admin.fetch(`/v2/${repo}/manifests/test3`, { method: 'HEAD' });
    expect(head.headers.get('docker-content-digest')).toBe(m2.digest);
    expect((await admin.fetch(`/v2/${repo}/manifests/test2`, { method: 'HEAD' })).headers.get('docker-content-digest')).toBe(m.digest);
  });

  // conformance 02_push "Registry should accept a manifest upload with no layers" (its manifest
  // has no mediaType field: the Content-Type says what it is).
  it('accepts an image manifest with no layers and no mediaType field', async () => {
    const { cfg } = await image();
    const m = manifest({ config: cfg.descriptor, layers: [], noMediaType: true });
    await expectStored(await putManifest(admin, repo, 'emptylayer', m, OCI_MANIFEST), m, OCI_MANIFEST);
  });

  // "Registries SHOULD ignore any parameters" of the Content-Type.
  it('ignores parameters on the Content-Type', async () => {
    const { cfg, layer } = await image();
    const m = manifest({ config: cfg.descriptor, layers: [layer.descriptor] });
    await expectStored(await putManifest(admin, repo, 'params', m, `${OCI_MANIFEST}; charset=utf-8`), m);
  });

  // 03_discovery pushes artifacts whose config media type is unknown to the registry
  // (application/vnd.nhl.peanut.butter.bagel) and whose layer is the empty JSON blob.
  it('accepts manifests with unknown config and layer media types (artifacts)', async () => {
    const data = blob('NHL Peanut Butter on my NHL bagel', 'application/vnd.nhl.peanut.butter.bagel');
    const empty = blob('{}', OCI_EMPTY);
    await putBlob(admin, repo, data);
    await putBlob(admin, repo, empty);
    const byConfig = manifest({ config: data.descriptor, layers: [empty.descriptor] });
    await expectStored(await putManifest(admin, repo, byConfig.digest, byConfig), byConfig);
    const byArtifactType = manifest({
      artifactType: 'application/vnd.example.oci.conformance',
      config: empty.descriptor,
      layers: [{ ...data.descriptor, mediaType: 'application/vnd.example.oci.conformance' }],
    });
    await expectStored(await putManifest(admin, repo, byArtifactType.digest, byArtifactType), byArtifactType);
    const withoutLayers = manifest({ artifactType: 'application/vnd.example.oci.conformance', config: empty.descriptor, layers: [empty.descriptor] });
    await expectStored(await putManifest(admin, repo, 'artifact-without-layers', withoutLayers), withoutLayers);
  });

  // "A registry MUST accept an otherwise valid manifest with a subject field that references a
  // manifest that does not exist in the repository" and returns OCI-Subject when it processed it.
  it('accepts a subject that does not exist yet and answers with OCI-Subject', async () => {
    const { cfg, layer } = await image();
    const absent = { mediaType: OCI_MANIFEST, digest: digest('missing content'), size: 123 };
    const m = manifest({ config: cfg.descriptor, layers: [layer.descriptor], subject: absent });
    const res = await putManifest(admin, repo, m.digest, m);
    expect(res.headers.get('oci-subject')).toBe(absent.digest);
    await expectStored(res, m);
  });

  // conformance2 "index", "nested-index", "empty-index": an index is pushed after its children.
  it('accepts an index of images, an index of indexes, and an empty index', async () => {
    const children: Content[] = [];
    for (const arch of ['amd64', 'arm64']) {
      const { cfg, layer } = await image({ architecture: arch });
      const m = manifest({ config: cfg.descriptor, layers: [layer.descriptor] });
      await putManifest(admin, repo, m.digest, m);
      children.push(m);
    }
    const platforms = [
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64' },
    ];
    const idx = index({ manifests: children.map((c, i) => ({ ...c.descriptor, platform: platforms[i]! })) });
    await expectStored(await putManifest(admin, repo, 'index', idx), idx, OCI_INDEX);
    const idx2 = index({ manifests: children.map((c) => c.descriptor), annotations: { second: 'yes' } });
    await putManifest(admin, repo, idx2.digest, idx2);
    const nested = index({ manifests: [idx.descriptor, idx2.descriptor] });
    await expectStored(await putManifest(admin, repo, 'index-of-index', nested), nested, OCI_INDEX);
    const empty = index({ manifests: [] });
    await expectStored(await putManifest(admin, repo, 'empty-index', empty), empty, OCI_INDEX);
  });

  // conformance2 "custom-fields" and "data-field": fields the registry does not know are kept
  // (the bytes are stored as pushed) and do not make the manifest invalid.
  it('keeps unknown fields and descriptor data fields', async () => {
    const { cfg, layer } = await image({ 'x-custom': { nested: [1, 2, 3] } });
    const m = manifest({
      config: { ...cfg.descriptor, data: cfg.bytes.toString('base64'), newUnspecifiedField: 'aGVsbG8gd29ybGQ=' },
      layers: [{ ...layer.descriptor, 'x-extra': true }],
      extra: { 'org.example.unknown': 'value' },
    });
    await expectStored(await putManifest(admin, repo, 'custom-fields', m), m);
  });

  // Docker schema 2 manifests and lists are served with their own media types.
  it('accepts Docker schema 2 manifests and manifest lists', async () => {
    const { cfg, layer } = await image();
    const dm = blob(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        config: { ...cfg.descriptor, mediaType: 'application/vnd.docker.container.image.v1+json' },
        layers: [{ ...layer.descriptor, mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip' }],
      }),
      'application/vnd.docker.distribution.manifest.v2+json',
    );
    await expectStored(await putManifest(admin, repo, 'docker', dm), dm);
    const list = blob(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
        manifests: [{ ...dm.descriptor, platform: { os: 'linux', architecture: 'amd64' } }],
      }),
      'application/vnd.docker.distribution.manifest.list.v2+json',
    );
    const res = await putManifest(admin, repo, 'docker-list', list);
    expect(res.headers.get('docker-content-digest')).toBe(list.digest);
    const get = await admin.fetch(`/v2/${repo}/manifests/docker-list`, {
      headers: { accept: 'application/vnd.docker.distribution.manifest.list.v2+json' },
    });
    expect(get.headers.get('content-type')).toBe('application/vnd.docker.distribution.manifest.list.v2+json');
  });
});

describe('pushing by digest with tags', () => {
  // dist-spec (main) "Pushing Manifests with tags": a push by digest MAY carry `tag` query
  // parameters; the registry then sets each tag and returns one OCI-Tag header per tag.
  it('sets every ?tag= of a push by digest and reports them in OCI-Tag', async () => {
    const { manifest: m } = await pushImage(admin, repo);
    const res = await admin.fetch(`/v2/${repo}/manifests/${m.digest}?tag=multi-a&tag=multi-b&tag=multi-a`, {
      method: 'PUT',
      body: m.bytes,
      headers: { 'content-type': OCI_MANIFEST },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('oci-tag')).toBe('multi-a, multi-b');
    for (const t of ['multi-a', 'multi-b']) {
      expect((await admin.fetch(`/v2/${repo}/manifests/${t}`, { method: 'HEAD' })).headers.get('docker-content-digest')).toBe(m.digest);
    }
  });

  it.each([
    ['on a push by tag', (_d: string) => `/v2/${repo}/manifests/by-tag?tag=other`, 'MANIFEST_INVALID'],
    ['with an invalid tag', (d: string) => `/v2/${repo}/manifests/${d}?tag=-bad`, 'MANIFEST_INVALID'],
    ['with too many tags', (d: string) => `/v2/${repo}/manifests/${d}?${Array.from({ length: 101 }, (_, i) => `tag=t${i}`).join('&')}`, 'MANIFEST_INVALID'],
  ])('refuses ?tag= %s with 400', async (_label, path, code) => {
    const { manifest: m } = await pushImage(admin, repo);
    const res = await admin.fetch(path(m.digest), { method: 'PUT', body: m.bytes, headers: { 'content-type': OCI_MANIFEST } });
    expect(res.status).toBe(400);
    expect((await errorsOf(res))[0]!.code).toBe(code);
    expect((await admin.fetch(`/v2/${repo}/manifests/other`, { method: 'HEAD' })).status).toBe(404);
  });
});

describe('manifests that are refused', () => {
  // conformance2 "bad-digest-image": the bytes do not hash to the digest in the URL.
  it('refuses a push by digest whose bytes have another digest with 400 DIGEST_INVALID', async () => {
    const { cfg, layer } = await image();
    const m = manifest({ config: cfg.descriptor, layers: [layer.descriptor] });
    const res = await admin.fetch(`/v2/${repo}/manifests/${m.digest}`, {
      method: 'PUT',
      body: Buffer.concat([m.bytes, Buffer.from('  ')]),
      headers: { 'content-type': OCI_MANIFEST },
    });
    expect(res.status).toBe(400);
    expect((await errorsOf(res))[0]!.code).toBe('DIGEST_INVALID');
    expect((await admin.fetch(`/v2/${repo}/manifests/${m.digest}`, { method: 'HEAD' })).status).toBe(404);
  });

  // conformance2 "invalid-digest-format": PUT to sha256:baddigeststring is a 400, a GET 400 or 404.
  it('refuses the reference sha256:baddigeststring', async () => {
    const { cfg, layer } = await image();
    const m = manifest({ config: cfg.descriptor, layers: [layer.descriptor] });
    const put = await admin.fetch(`/v2/${repo}/manifests/sha256:baddigeststring`, { method: 'PUT', body: m.bytes, headers: { 'content-type': OCI_MANIFEST } });
    expect(put.status).toBe(400);
    expect([400, 404]).toContain((await admin.fetch(`/v2/${repo}/manifests/sha256:baddigeststring`)).status);
  });

  // "When a manifest is rejected for these reasons, it MUST result in one or more
  // MANIFEST_BLOB_UNKNOWN errors" — for a missing layer and for a missing child manifest.
  it('refuses references to content the repository does not hold with MANIFEST_BLOB_UNKNOWN', async () => {
    const { cfg } = await image();
    const absentLayer = randomLayer();
    const m = manifest({ config: cfg.descriptor, layers: [absentLayer.descriptor] });
    const res = await admin.fetch(`/v2/${repo}/manifests/missing-layer`, { method: 'PUT', body: m.bytes, headers: { 'content-type': OCI_MANIFEST } });
    expect(res.status).toBe(400);
    expect(await errorsOf(res)).toEqual([expect.objectContaining({ code: 'MANIFEST_BLOB_UNKNOWN', detail: { digest: absentLayer.digest } })]);
    const idx = index({ manifests: [m.descriptor] });
    const res2 = await admin.fetch(`/v2/${repo}/manifests/missing-child`, { method: 'PUT', body: idx.bytes, headers: { 'content-type': OCI_INDEX } });
    expect(res2.status).toBe(400);
    expect(await errorsOf(res2)).toEqual([expect.objectContaining({ code: 'MANIFEST_BLOB_UNKNOWN', detail: { digest: m.digest } })]);
    for (const t of ['missing-layer', 'missing-child']) expect((await admin.fetch(`/v2/${repo}/manifests/${t}`, { method: 'HEAD' })).status).toBe(404);
  });
});
