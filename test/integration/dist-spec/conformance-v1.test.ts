import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChallengeClient, createProject } from '../../helpers/registry-client.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../../helpers/server.js';
import { blob, type Content, digest, OCI_CONFIG, OCI_EMPTY, OCI_INDEX, OCI_LAYER, OCI_MANIFEST } from './oci-fixtures.js';

// A replay of the OCI distribution-spec conformance suite v1.1.1 (conformance/01_pull_test.go,
// 02_push_test.go, 03_discovery_test.go, 04_management_test.go with setup.go's data), in its
// order, with its accepted statuses, authenticating as it does (reggie: every request first
// without credentials, then the Bearer token from the challenge's realm with Basic admin).
// One `it` per `g.Specify`, named as the suite names it. OCI_NAMESPACE=conformance/repo,
// OCI_CROSSMOUNT_NAMESPACE=conformance/crossmount, OCI_AUTOMATIC_CROSSMOUNT=1,
// OCI_DELETE_MANIFEST_BEFORE_BLOBS=1 (the default).

let s: TestServer;
let c: ChallengeClient;
const ns = 'conformance/repo';
const crossmount = 'conformance/crossmount';

beforeAll(async () => {
  s = await startTestServer();
  await createProject(s.url, `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}`, 'conformance');
  c = new ChallengeClient(s.url, 'admin', ADMIN_PASSWORD);
});
afterAll(() => s.stop());

// --- setup.go ------------------------------------------------------------------------------
const goJSON = (v: unknown) => Buffer.from(JSON.stringify(v, null, '\t'));
const configs: Content[] = Array.from({ length: 5 }, () =>
  blob(goJSON({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, author: randomBytes(8).toString('hex') }), OCI_CONFIG),
);
// "a base64 encoding of a simple tarball" (setup.go layerBase64String)
const layer = blob(
  Buffer.from(
    'H4sIAAAAAAAAA+3OQQrCMBCF4a49xXgBSUnaHMCTRBptQRNpp6i3t0UEV7oqIv7fYgbmzeJpHHSjVy0' +
      'WZCa1c/MufWVe94N3RWlrZ72x3k/30nhbFWKWLPU0Dhp6keJ8im//PuU/6pZH2WVtYx8b0Sz7LjWSR5VLG6YRBumSzOlGtjkd+qD' +
      'jMWiX07Befbs7AAAAAAAAAAAAAAAAAPyzO34MnqoAKAAA',
    'base64',
  ),
  OCI_LAYER,
);
const manifests: Content[] = configs.map((cfg) =>
  blob(
    goJSON({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { ...cfg.descriptor, data: cfg.bytes.toString('base64'), newUnspecifiedField: Buffer.from('hello world').toString('base64') },
      layers: [layer.descriptor],
    }),
    OCI_MANIFEST,
  ),
);
const emptyLayerManifest = blob(
  goJSON({ schemaVersion: 2, config: { ...configs[1]!.descriptor, data: configs[1]!.bytes.toString('base64'), newUnspecifiedField: 'aGVsbG8gd29ybGQ=' }, layers: [] }),
  OCI_MANIFEST,
);
const testBlobA = blob(randomBytes(42));
const testBlobB = blob(randomBytes(42));
const chunk1 = testBlobB.bytes.subarray(0, 22);
const chunk2 = testBlobB.bytes.subarray(22);
const chunk1Range = '0-21';
const chunk2Range = '22-41';
const dummyDigest = digest('hello world');
const emptyJSON = blob('{}', OCI_EMPTY);
const refBlobA = blob('NHL Peanut Butter on my NHL bagel', 'application/vnd.nhl.peanut.butter.bagel');
const refBlobB = blob('NBA Strawberry Jam on my NBA croissant', 'application/vnd.nba.strawberry.jam.croissant');
const KEY = 'org.opencontainers.conformance.test';
const subj = (m: Content) => ({ mediaType: OCI_MANIFEST, size: m.bytes.length, digest: m.digest });
const refManifest = (o: Record<string, unknown>) => blob(goJSON({ schemaVersion: 2, mediaType: OCI_MANIFEST, ...o }), OCI_MANIFEST);
const refsAConfig = refManifest({ config: refBlobA.descriptor, subject: subj(manifests[4]!), layers: [emptyJSON.descriptor], annotations: { [KEY]: 'test config a' } });
const refsBConfig = refManifest({ config: refBlobB.descriptor, subject: subj(manifests[4]!), layers: [emptyJSON.descriptor], annotations: { [KEY]: 'test config b' } });
const refsALayer = refManifest({
  artifactType: refBlobA.descriptor.mediaType,
  config: emptyJSON.descriptor,
  subject: subj(manifests[4]!),
  layers: [refBlobA.descriptor],
  annotations: { [KEY]: 'test layer a' },
});
const refsBLayer = refManifest({
  artifactType: refBlobB.descriptor.mediaType,
  config: emptyJSON.descriptor,
  subject: subj(manifests[4]!),
  layers: [refBlobB.descriptor],
  annotations: { [KEY]: 'test layer b' },
});
const refsCLayer = refManifest({ artifactType: refBlobB.descriptor.mediaType, config: emptyJSON.descriptor, subject: subj(manifests[3]!), layers: [refBlobB.descriptor] });
const refsIndex = blob(
  goJSON({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    artifactType: 'application/vnd.food.stand',
    manifests: [subj(refsAConfig), subj(refsALayer)],
    subject: subj(manifests[4]!),
    annotations: { [KEY]: 'test index' },
  }),
  OCI_INDEX,
);
const annotationOf = new Map([
  [refsAConfig.digest, 'test config a'],
  [refsBConfig.digest, 'test config b'],
  [refsALayer.digest, 'test layer a'],
  [refsBLayer.digest, 'test layer b'],
  [refsIndex.digest, 'test index'],
]);
const ERROR_CODES = [
  'BLOB_UNKNOWN', 'BLOB_UPLOAD_INVALID', 'BLOB_UPLOAD_UNKNOWN', 'DIGEST_INVALID', 'MANIFEST_BLOB_UNKNOWN', 'MANIFEST_INVALID',
  'MANIFEST_UNKNOWN', 'MANIFEST_UNVERIFIED', 'NAME_INVALID', 'NAME_UNKNOWN', 'SIZE_INVALID', 'TAG_INVALID', 'UNAUTHORIZED', 'DENIED', 'UNSUPPORTED',
];

// --- the suite's request shapes --------------------------------------------------------------
const is2xx = (n: number) => n >= 200 && n < 300;
const req = (method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}) => c.fetch(path, { method, ...(body !== undefined ? { body } : {}), headers });
const postPut = async (r: string, b: Content) => {
  const post = await req('POST', `/v2/${r}/blobs/uploads/`);
  return req('PUT', `${post.headers.get('location')}?digest=${b.digest}`, b.bytes, { 'content-type': 'application/octet-stream' });
};
const putManifest = (r: string, ref: string, m: Content, ct = OCI_MANIFEST) => req('PUT', `/v2/${r}/manifests/${ref}`, m.bytes, { 'content-type': ct });
const del = (path: string) => req('DELETE', path);
const tagList = async (query = '') => ((await (await req('GET', `/v2/${ns}/tags/list${query}`)).json()) as { tags: string[] }).tags;

describe.sequential('Pull', () => {
  describe.sequential('Setup', () => {
    it('Populate registry with test blob', async () => expect(is2xx((await postPut(ns, configs[0]!)).status)).toBe(true));
    it('Populate registry with test blob', async () => expect(is2xx((await postPut(ns, configs[1]!)).status)).toBe(true));
    it('Populate registry with test layer', async () => expect(is2xx((await postPut(ns, layer)).status)).toBe(true));
    it('Populate registry with test manifest', async () => expect(is2xx((await putManifest(ns, 'tagtest0', manifests[0]!)).status)).toBe(true));
    it('Populate registry with test manifest', async () => expect(is2xx((await putManifest(ns, manifests[1]!.digest, manifests[1]!)).status)).toBe(true));
  });
  describe.sequential('Pull blobs', () => {
    it('HEAD request to nonexistent blob should result in 404 response', async () => expect((await req('HEAD', `/v2/${ns}/blobs/${dummyDigest}`)).status).toBe(404));
    it('HEAD request to existing blob should yield 200', async () => {
      const res = await req('HEAD', `/v2/${ns}/blobs/${configs[0]!.digest}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('docker-content-digest')).toBe(configs[0]!.digest);
    });
    it('GET nonexistent blob should result in 404 response', async () => expect((await req('GET', `/v2/${ns}/blobs/${dummyDigest}`)).status).toBe(404));
    it('GET request to existing blob URL should yield 200', async () => expect((await req('GET', `/v2/${ns}/blobs/${configs[0]!.digest}`)).status).toBe(200));
  });
  describe.sequential('Pull manifests', () => {
    const head = (ref: string) => req('HEAD', `/v2/${ns}/manifests/${ref}`, undefined, { accept: OCI_MANIFEST });
    const get = (ref: string) => req('GET', `/v2/${ns}/manifests/${ref}`, undefined, { accept: OCI_MANIFEST });
    it('HEAD request to nonexistent manifest should return 404', async () => expect((await head('.INVALID_MANIFEST_NAME')).status).toBe(404));
    it('HEAD request to manifest[0] path (digest) should yield 200 response', async () => {
      const res = await head(manifests[0]!.digest);
      expect(res.status).toBe(200);
      expect(res.headers.get('docker-content-digest')).toBe(manifests[0]!.digest);
    });
    it('HEAD request to manifest[1] path (digest) should yield 200 response', async () => {
      const res = await head(manifests[1]!.digest);
      expect(res.status).toBe(200);
      expect(res.headers.get('docker-content-digest')).toBe(manifests[1]!.digest);
    });
    it('HEAD request to manifest path (tag) should yield 200 response', async () => {
      const res = await head('tagtest0');
      expect(res.status).toBe(200);
      expect(res.headers.get('docker-content-digest')).toBe(manifests[0]!.digest);
    });
    it('GET nonexistent manifest should return 404', async () => expect((await get('.INVALID_MANIFEST_NAME')).status).toBe(404));
    it('GET request to manifest[0] path (digest) should yield 200 response', async () => expect((await get(manifests[0]!.digest)).status).toBe(200));
    it('GET request to manifest[1] path (digest) should yield 200 response', async () => expect((await get(manifests[1]!.digest)).status).toBe(200));
    it('GET request to manifest path (tag) should yield 200 response', async () => expect((await get('tagtest0')).status).toBe(200));
  });
  describe.sequential('Error codes', () => {
    it('400 response body should contain OCI-conforming JSON message', async () => {
      const res = await req('GET', `/v2/${ns}/manifests/sha256:totallywrong`, undefined, { 'content-type': OCI_MANIFEST });
      expect([400, 404]).toContain(res.status);
      if (res.status === 400) {
        const body = (await res.json()) as { errors: { code: string }[] };
        expect(body.errors.length).toBeGreaterThan(0);
        expect(ERROR_CODES).toContain(body.errors[0]!.code);
      }
    });
  });
  describe.sequential('Teardown', () => {
    it('Delete manifest[0] created in setup', async () => expect(is2xx((await del(`/v2/${ns}/manifests/${manifests[0]!.digest}`)).status)).toBe(true));
    it('Delete manifest[1] created in setup', async () => expect(is2xx((await del(`/v2/${ns}/manifests/${manifests[1]!.digest}`)).status)).toBe(true));
    it.each([
      ['Delete config[0] blob created in setup', 0],
      ['Delete config[1] blob created in setup', 1],
    ])('%s', async (_n, i) => expect([202, 404]).toContain((await del(`/v2/${ns}/blobs/${configs[i]!.digest}`)).status));
    it('Delete layer blob created in setup', async () => expect([202, 404]).toContain((await del(`/v2/${ns}/blobs/${layer.digest}`)).status));
  });
});

describe.sequential('Push', () => {
  let last: Response;
  let prev: Response;
  describe.sequential('Blob Upload Streamed', () => {
    it('PATCH request with blob in body should yield 202 response', async () => {
      const post = await req('POST', `/v2/${ns}/blobs/uploads/`);
      expect(post.headers.get('location')).toBeTruthy();
      last = await req('PATCH', post.headers.get('location')!, testBlobA.bytes, { 'content-type': 'application/octet-stream' });
      expect(last.status).toBe(202);
    });
    it('PUT request to session URL with digest should yield 201 response', async () => {
      const res = await req('PUT', `${last.headers.get('location')}?digest=${testBlobA.digest}`, undefined, { 'content-type': 'application/octet-stream' });
      expect(res.status).toBe(201);
      expect(res.headers.get('location')).toBeTruthy();
    });
  });
  describe.sequential('Blob Upload Monolithic', () => {
    it('GET nonexistent blob should result in 404 response', async () => expect((await req('GET', `/v2/${ns}/blobs/${dummyDigest}`)).status).toBe(404));
    it('POST request with digest and blob should yield a 201 or 202', async () => {
      last = await req('POST', `/v2/${ns}/blobs/uploads/?digest=${configs[1]!.digest}`, configs[1]!.bytes, { 'content-type': 'application/octet-stream' });
      expect(last.headers.get('location')).toBeTruthy();
      expect([201, 202]).toContain(last.status);
    });
    it('GET request to blob URL from prior request should yield 200 or 404 based on response code', async () => {
      const res = await req('GET', `/v2/${ns}/blobs/${configs[1]!.digest}`);
      expect(res.status).toBe(last.status === 202 ? 404 : 200);
    });
    it('POST request should yield a session ID', async () => {
      last = await req('POST', `/v2/${ns}/blobs/uploads/`);
      expect(last.status).toBe(202);
    });
    it('PUT upload of a blob should yield a 201 Response', async () => {
      const res = await req('PUT', `${last.headers.get('location')}?digest=${configs[1]!.digest}`, configs[1]!.bytes, { 'content-type': 'application/octet-stream' });
      expect(res.headers.get('location')).toBeTruthy();
      expect(res.status).toBe(201);
    });
    it('GET request to existing blob should yield 200 response', async () => expect((await req('GET', `/v2/${ns}/blobs/${configs[1]!.digest}`)).status).toBe(200));
    it('PUT upload of a layer blob should yield a 201 Response', async () => {
      const res = await postPut(ns, layer);
      expect(res.headers.get('location')).toBeTruthy();
      expect(res.status).toBe(201);
    });
    it('GET request to existing layer should yield 200 response', async () => expect((await req('GET', `/v2/${ns}/blobs/${layer.digest}`)).status).toBe(200));
  });
  describe.sequential('Blob Upload Chunked', () => {
    const patch = (loc: string, body: Buffer, range: string) =>
      req('PATCH', loc, body, { 'content-type': 'application/octet-stream', 'content-range': range });
    it('Out-of-order blob upload should return 416', async () => {
      const post = await req('POST', `/v2/${ns}/blobs/uploads/`, undefined, { 'content-length': '0' });
      expect(post.headers.get('location')).toBeTruthy();
      // no OCI-Chunk-Min-Length by default, so the 22/20 byte chunks stand
      expect(post.headers.get('oci-chunk-min-length')).toBeNull();
      expect((await patch(post.headers.get('location')!, chunk2, chunk2Range)).status).toBe(416);
    });
    it('PATCH request with first chunk should return 202', async () => {
      prev = await req('POST', `/v2/${ns}/blobs/uploads/`, undefined, { 'content-length': '0' });
      expect(prev.headers.get('location')).toBeTruthy();
      last = await patch(prev.headers.get('location')!, chunk1, chunk1Range);
      expect(last.status).toBe(202);
      expect(last.headers.get('range')).toBe(chunk1Range);
    });
    it('Retry previous blob chunk should return 416', async () => expect((await patch(prev.headers.get('location')!, chunk1, chunk1Range)).status).toBe(416));
    it('Get on stale blob upload should return 204 with a range and location', async () => {
      last = await req('GET', prev.headers.get('location')!);
      expect(last.status).toBe(204);
      expect(last.headers.get('location')).toBeTruthy();
      expect(last.headers.get('range')).toBe(chunk1Range);
    });
    it('PATCH request with second chunk should return 202', async () => {
      last = await patch(last.headers.get('location')!, chunk2, chunk2Range);
      expect(last.status).toBe(202);
      expect(last.headers.get('location')).toBeTruthy();
    });
    it('PUT request with digest should return 201', async () => {
      const res = await req('PUT', `${last.headers.get('location')}?digest=${testBlobB.digest}`, undefined, { 'content-length': '0', 'content-type': 'application/octet-stream' });
      expect(res.status).toBe(201);
      expect(res.headers.get('location')).toBeTruthy();
    });
  });
  describe.sequential('Cross-Repository Blob Mount', () => {
    it('Cross-mounting of a blob without the from argument should yield session id', async () => {
      const res = await req('POST', `/v2/${crossmount}/blobs/uploads/?mount=${dummyDigest}`);
      expect(res.status).toBe(202);
      expect(res.headers.get('location')).toBeTruthy();
    });
    it("POST request to mount another repository's blob should return 201 or 202", async () => {
      last = await req('POST', `/v2/${crossmount}/blobs/uploads/?mount=${testBlobA.digest}&from=${ns}`);
      expect([201, 202]).toContain(last.status);
    });
    it('GET request to test digest within cross-mount namespace should return 200', async () => {
      expect(last.status).toBe(201); // RunOnlyIf(201): Berth mounts, so this check runs
      expect(last.headers.get('location')).toBe(`/v2/${crossmount}/blobs/${testBlobA.digest}`);
      expect((await req('GET', last.headers.get('location')!)).status).toBe(200);
    });
    it('Cross-mounting without from, and automatic content discovery enabled should return a 201', async () => {
      expect((await req('POST', `/v2/${crossmount}/blobs/uploads/?mount=${testBlobA.digest}`)).status).toBe(201);
    });
  });
  describe.sequential('Manifest Upload', () => {
    it('GET nonexistent manifest should return 404', async () => expect((await req('GET', `/v2/${ns}/manifests/.INVALID_MANIFEST_NAME`)).status).toBe(404));
    it('PUT should accept a manifest upload', async () => {
      for (let i = 0; i < 4; i++) {
        const res = await putManifest(ns, `test${i}`, manifests[1]!);
        expect(res.headers.get('location')).toBeTruthy();
        expect(res.status).toBe(201);
      }
    });
    it('Registry should accept a manifest upload with no layers', async () => {
      const res = await putManifest(ns, 'emptylayer', emptyLayerManifest);
      expect(res.status).toBe(201);
      expect(res.headers.get('location')).toBeTruthy();
    });
    it('GET request to manifest URL (digest) should yield 200 response', async () => {
      expect((await req('GET', `/v2/${ns}/manifests/${manifests[1]!.digest}`, undefined, { accept: OCI_MANIFEST })).status).toBe(200);
    });
  });
  describe.sequential('Teardown', () => {
    it('Delete manifest created in tests', async () => {
      expect(is2xx((await del(`/v2/${ns}/manifests/${manifests[1]!.digest}`)).status)).toBe(true);
      expect(is2xx((await del(`/v2/${ns}/manifests/${emptyLayerManifest.digest}`)).status)).toBe(true);
    });
    it('Delete config blob created in tests', async () => expect([202, 404]).toContain((await del(`/v2/${ns}/blobs/${configs[1]!.digest}`)).status));
    it('Delete layer blob created in setup', async () => expect([202, 404]).toContain((await del(`/v2/${ns}/blobs/${layer.digest}`)).status));
  });
});

describe.sequential('Content Discovery', () => {
  let tags: string[] = [];
  let numTags = 4;
  const referrers = async (d: string, q = '') => {
    const res = await req('GET', `/v2/${ns}/referrers/${d}${q}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(OCI_INDEX);
    return { res, manifests: ((await res.json()) as { manifests: { digest: string; annotations?: Record<string, string> }[] }).manifests };
  };
  describe.sequential('Setup', () => {
    it('Populate registry with test blob', async () => expect(is2xx((await postPut(ns, configs[2]!)).status)).toBe(true));
    it('Populate registry with test layer', async () => expect(is2xx((await postPut(ns, layer)).status)).toBe(true));
    it('Populate registry with test tags', async () => {
      for (let i = 0; i < numTags; i++) expect(is2xx((await putManifest(ns, `test${i}`, manifests[2]!)).status)).toBe(true);
      tags = await tagList();
    });
    it('References setup', async () => {
      expect(emptyJSON.digest).toBe('sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
      expect(is2xx((await postPut(ns, emptyJSON)).status)).toBe(true);
      expect(is2xx((await postPut(ns, refBlobA)).status)).toBe(true);
      for (const m of [refsAConfig, refsALayer]) {
        const res = await putManifest(ns, m.digest, m);
        expect(is2xx(res.status)).toBe(true);
        expect(res.headers.get('oci-subject')).toBe(manifests[4]!.digest);
      }
      const idx = await putManifest(ns, refsIndex.digest, refsIndex, OCI_INDEX);
      expect(is2xx(idx.status)).toBe(true);
      expect(idx.headers.get('oci-subject')).toBe(manifests[4]!.digest);
      expect(is2xx((await postPut(ns, configs[4]!)).status)).toBe(true);
      expect(is2xx((await postPut(ns, layer)).status)).toBe(true);
      expect(is2xx((await putManifest(ns, 'tagtest0', manifests[4]!)).status)).toBe(true);
      expect(is2xx((await postPut(ns, refBlobB)).status)).toBe(true);
      for (const m of [refsBConfig, refsBLayer]) {
        const res = await putManifest(ns, m.digest, m);
        expect(is2xx(res.status)).toBe(true);
        expect(res.headers.get('oci-subject')).toBe(manifests[4]!.digest);
      }
      const orphan = await putManifest(ns, refsCLayer.digest, refsCLayer);
      expect(is2xx(orphan.status)).toBe(true);
      expect(orphan.headers.get('oci-subject')).toBe(manifests[3]!.digest);
    });
  });
  describe.sequential('Test content discovery endpoints (listing tags)', () => {
    it('GET request to list tags should yield 200 response', async () => {
      const res = await req('GET', `/v2/${ns}/tags/list`);
      expect(res.status).toBe(200);
      tags = ((await res.json()) as { tags: string[] }).tags;
      numTags = tags.length;
      expect(tags).toEqual(['tagtest0', 'test0', 'test1', 'test2', 'test3']);
    });
    it('GET number of tags should be limitable by `n` query parameter', async () => {
      expect(await tagList(`?n=${Math.floor(numTags / 2)}`)).toHaveLength(Math.floor(numTags / 2));
    });
    it('GET start of tag is set by `last` query parameter', async () => {
      const n = Math.floor(numTags / 2);
      const first = await tagList(`?n=${n}`);
      const page = await tagList(`?n=${n}&last=${first[n - 1]}`);
      expect(page.length).toBeLessThanOrEqual(n);
      expect(page).toEqual(tags.slice(n, 2 * n));
    });
  });
  describe.sequential('Test content discovery endpoints (listing references)', () => {
    it('GET request to nonexistent blob should result in empty 200 response', async () => expect((await referrers(dummyDigest)).manifests).toHaveLength(0));
    it('GET request to existing blob should yield 200', async () => {
      const { manifests: list } = await referrers(manifests[4]!.digest);
      expect(list).toHaveLength(5);
      expect(list[0]!.digest).not.toBe(list[1]!.digest);
      for (const d of list) expect(d.annotations).toEqual({ [KEY]: annotationOf.get(d.digest) });
    });
    it('GET request to existing blob with filter should yield 200', async () => {
      const { res, manifests: list } = await referrers(manifests[4]!.digest, `?artifactType=${encodeURIComponent(refBlobA.descriptor.mediaType)}`);
      expect(res.headers.get('oci-filters-applied')).toBe('artifactType');
      expect(list).toHaveLength(2);
      for (const d of list) expect(d.annotations).toEqual({ [KEY]: annotationOf.get(d.digest) });
    });
    it('GET request to missing manifest should yield 200', async () => {
      const { manifests: list } = await referrers(manifests[3]!.digest);
      expect(list.map((d) => d.digest)).toEqual([refsCLayer.digest]);
    });
  });
  describe.sequential('Teardown', () => {
    const anyDelete = async (path: string) => expect([202, 404]).toContain((await del(path)).status);
    it('Delete created manifest & associated tags', async () => {
      for (const ref of [refsIndex.digest, manifests[2]!.digest, manifests[4]!.digest, refsAConfig.digest, refsALayer.digest, 'tagtest0', refsBConfig.digest, refsBLayer.digest, refsCLayer.digest]) {
        await anyDelete(`/v2/${ns}/manifests/${ref}`);
      }
    });
    it('Delete config blob created in tests', async () => expect((await del(`/v2/${ns}/blobs/${configs[2]!.digest}`)).status).toBe(202));
    it('Delete layer blob created in setup', async () => expect((await del(`/v2/${ns}/blobs/${layer.digest}`)).status).toBe(202));
    it('References teardown', async () => {
      for (const ref of [refsIndex.digest, refsAConfig.digest, refsALayer.digest, manifests[4]!.digest, refsBConfig.digest, refsBLayer.digest]) {
        await anyDelete(`/v2/${ns}/manifests/${ref}`);
      }
      for (const d of [configs[4]!.digest, refBlobA.digest, refBlobB.digest, emptyJSON.digest]) await anyDelete(`/v2/${ns}/blobs/${d}`);
    });
  });
});

describe.sequential('Content Management', () => {
  let numTags = 0;
  describe.sequential('Setup', () => {
    it('Populate registry with test config blob', async () => expect(is2xx((await postPut(ns, configs[3]!)).status)).toBe(true));
    it('Populate registry with test layer', async () => expect(is2xx((await postPut(ns, layer)).status)).toBe(true));
    it('Populate registry with test tag', async () => expect(is2xx((await putManifest(ns, 'tagtest0', manifests[3]!)).status)).toBe(true));
    it('Check how many tags there are before anything gets deleted', async () => {
      numTags = (await tagList()).length;
      expect(numTags).toBe(1);
    });
  });
  describe.sequential('Manifest delete', () => {
    it('DELETE request to manifest tag should return 202, unless tag deletion is disallowed (400/405)', async () => {
      expect((await del(`/v2/${ns}/manifests/tagtest0`)).status).toBe(202);
    });
    it('DELETE request to manifest (digest) should yield 202 response unless already deleted', async () => {
      expect([202, 404]).toContain((await del(`/v2/${ns}/manifests/${manifests[3]!.digest}`)).status);
    });
    it('GET request to deleted manifest URL should yield 404 response, unless delete is disallowed', async () => {
      expect((await req('GET', `/v2/${ns}/manifests/${manifests[3]!.digest}`)).status).toBe(404);
    });
    it('GET request to tags list should reflect manifest deletion', async () => {
      const res = await req('GET', `/v2/${ns}/tags/list`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { tags: string[] }).tags.length).toBeLessThan(numTags);
    });
  });
  describe.sequential('Blob delete', () => {
    it('DELETE request to blob URL should yield 202 response', async () => {
      expect([202, 404]).toContain((await del(`/v2/${ns}/blobs/${configs[3]!.digest}`)).status);
      expect((await del(`/v2/${ns}/blobs/${layer.digest}`)).status).toBe(202);
    });
    it('GET request to deleted blob URL should yield 404 response', async () => {
      expect((await req('GET', `/v2/${ns}/blobs/${configs[3]!.digest}`)).status).toBe(404);
    });
  });

  it('authenticated through the challenge flow throughout, every token request succeeding', () => {
    expect(c.challenges.length).toBeGreaterThan(50);
    expect(c.tokenFailures).toEqual([]);
  });
});
