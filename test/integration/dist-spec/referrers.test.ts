import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProject, errorsOf, RegistryClient } from '../../helpers/registry-client.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import {
  blob,
  type Content,
  config,
  type Descriptor,
  digest,
  index,
  manifest,
  OCI_CONFIG,
  OCI_EMPTY,
  OCI_INDEX,
  OCI_MANIFEST,
  putBlob,
  putManifest,
  randomLayer,
} from './oci-fixtures.js';

// OCI Distribution Spec v1.1, "Listing Referrers"; conformance 03_discovery "listing references"
// (the same data set: two artifacts by config media type, two by artifactType, an index, and
// one artifact whose subject was never pushed) and conformance2 TestReferrers / empty referrers.

let s: TestServer;
let admin: RegistryClient;
const repo = 'conf/refs';
const KEY = 'org.opencontainers.conformance.test';
const TYPE_A = 'application/vnd.nhl.peanut.butter.bagel';
const TYPE_B = 'application/vnd.nba.strawberry.jam.croissant';
const TYPE_INDEX = 'application/vnd.food.stand';
let subject: Content;
let missingSubject: Content;
const expected = new Map<string, { descriptor: Descriptor; note: string; artifactType: string | undefined }>();
let orphan: Content;

type Index = { schemaVersion: number; mediaType: string; manifests: Descriptor[] };

async function referrers(digestOrPath: string, query = ''): Promise<{ res: Response; body: Index }> {
  const res = await admin.fetch(`/v2/${repo}/referrers/${digestOrPath}${query}`);
  expect(res.status).toBe(200);
  // "MUST return ... Content-Type: application/vnd.oci.image.index.v1+json" (exactly: the
  // conformance suites compare the whole header)
  expect(res.headers.get('content-type')).toBe(OCI_INDEX);
  const body = (await res.json()) as Index;
  expect(body.schemaVersion).toBe(2);
  expect(body.mediaType).toBe(OCI_INDEX);
  return { res, body };
}

beforeAll(async () => {
  s = await startTestServer();
  admin = new RegistryClient(s.url, s.adminBasic);
  await createProject(s.url, s.adminBasic, 'conf');
  const empty = blob('{}', OCI_EMPTY);
  const refA = blob('NHL Peanut Butter on my NHL bagel', TYPE_A);
  const refB = blob('NBA Strawberry Jam on my NBA croissant', TYPE_B);
  for (const b of [empty, refA, refB]) await putBlob(admin, repo, b);

  // the subject's descriptor is known before it is pushed, as in the suite
  const subjCfg = config();
  const subjLayer = randomLayer();
  subject = manifest({ config: subjCfg.descriptor, layers: [subjLayer.descriptor] });
  const otherCfg = config();
  missingSubject = manifest({ config: otherCfg.descriptor, layers: [] });
  const record = (m: Content, note: string, artifactType: string | undefined) => expected.set(m.digest, { descriptor: m.descriptor, note, artifactType });

  const aConfig = manifest({ config: refA.descriptor, layers: [empty.descriptor], subject: subject.descriptor, annotations: { [KEY]: 'test config a' } });
  const aLayer = manifest({
    artifactType: TYPE_A,
    config: empty.descriptor,
    layers: [refA.descriptor],
    subject: subject.descriptor,
    annotations: { [KEY]: 'test layer a' },
  });
  for (const m of [aConfig, aLayer]) {
    const res = await putManifest(admin, repo, m.digest, m);
    expect(res.headers.get('oci-subject')).toBe(subject.digest);
  }
  record(aConfig, 'test config a', TYPE_A);
  record(aLayer, 'test layer a', TYPE_A);
  const idx = index({ artifactType: TYPE_INDEX, manifests: [aConfig.descriptor, aLayer.descriptor], subject: subject.descriptor, annotations: { [KEY]: 'test index' } });
  expect((await putManifest(admin, repo, idx.digest, idx)).headers.get('oci-subject')).toBe(subject.digest);
  record(idx, 'test index', TYPE_INDEX);

  await putBlob(admin, repo, subjCfg);
  await putBlob(admin, repo, subjLayer);
  await putManifest(admin, repo, 'tagtest0', subject);

  const bConfig = manifest({ config: refB.descriptor, layers: [empty.descriptor], subject: subject.descriptor, annotations: { [KEY]: 'test config b' } });
  const bLayer = manifest({
    artifactType: TYPE_B,
    config: empty.descriptor,
    layers: [refB.descriptor],
    subject: subject.descriptor,
    annotations: { [KEY]: 'test layer b' },
  });
  for (const m of [bConfig, bLayer]) expect((await putManifest(admin, repo, m.digest, m)).headers.get('oci-subject')).toBe(subject.digest);
  record(bConfig, 'test config b', TYPE_B);
  record(bLayer, 'test layer b', TYPE_B);

  orphan = manifest({ artifactType: TYPE_B, config: empty.descriptor, layers: [refB.descriptor], subject: missingSubject.descriptor });
  expect((await putManifest(admin, repo, orphan.digest, orphan)).headers.get('oci-subject')).toBe(missingSubject.digest);
});
afterAll(() => s.stop());

describe('the referrers API', () => {
  // "A registry that supports the referrers API MUST NOT return 404 Not Found"; with no referrers
  // "the registry MUST return an image index with an empty manifests list".
  it('answers a digest nothing refers to with an empty index', async () => {
    const { body } = await referrers(digest('hello world'));
    expect(body.manifests).toEqual([]);
  });

  // conformance2 "empty/referrers" runs before anything is pushed to the repository.
  it('answers for a repository nothing was pushed to yet with an empty index', async () => {
    const res = await admin.fetch(`/v2/conf/never-pushed/referrers/${digest('x')}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(OCI_INDEX);
    expect(((await res.json()) as Index).manifests).toEqual([]);
  });

  // "The descriptors MUST include an artifactType field that is set to the value of the
  // artifactType in the image manifest or index, if present. If the artifactType is empty or
  // missing in the image manifest, the value of artifactType MUST be set to the config
  // descriptor mediaType value ... The descriptors MUST include annotations from the image
  // manifest or index."
  it('lists every manifest and index whose subject is the digest, with artifactType and annotations', async () => {
    const { body } = await referrers(subject.digest);
    expect(body.manifests).toHaveLength(5);
    expect(new Set(body.manifests.map((d) => d.digest)).size).toBe(5);
    for (const d of body.manifests) {
      const want = expected.get(d.digest)!;
      expect(want, d.digest).toBeDefined();
      expect(d.mediaType).toBe(want.descriptor.mediaType);
      expect(d.size).toBe(want.descriptor.size);
      expect(d.artifactType).toBe(want.artifactType);
      expect(d.annotations).toEqual({ [KEY]: want.note });
    }
  });

  // "Registries SHOULD support filtering on artifactType ... If filtering is requested and
  // applied, the response MUST include a header OCI-Filters-Applied: artifactType"
  it('filters on artifactType and says so in OCI-Filters-Applied', async () => {
    const { res, body } = await referrers(subject.digest, `?artifactType=${encodeURIComponent(TYPE_A)}`);
    expect(res.headers.get('oci-filters-applied')).toBe('artifactType');
    expect(body.manifests.map((d) => expected.get(d.digest)!.note).sort()).toEqual(['test config a', 'test layer a']);
    const none = await referrers(subject.digest, '?artifactType=application%2Fvnd.nothing');
    expect(none.res.headers.get('oci-filters-applied')).toBe('artifactType');
    expect(none.body.manifests).toEqual([]);
    const unfiltered = await referrers(subject.digest);
    expect(unfiltered.res.headers.get('oci-filters-applied')).toBeNull();
  });

  // 03_discovery "GET request to missing manifest should yield 200" with the one referrer.
  it('lists referrers of a subject that was never pushed', async () => {
    const { body } = await referrers(missingSubject.digest);
    expect(body.manifests.map((d) => d.digest)).toEqual([orphan.digest]);
    expect(body.manifests[0]!.artifactType).toBe(TYPE_B);
  });

  it('omits artifactType for an index without one and uses the config media type for an image', async () => {
    const cfg = config();
    await putBlob(admin, repo, cfg);
    const plain = manifest({ config: cfg.descriptor, layers: [], subject: orphan.descriptor });
    await putManifest(admin, repo, plain.digest, plain);
    const idx = index({ manifests: [], subject: orphan.descriptor });
    await putManifest(admin, repo, idx.digest, idx);
    const { body } = await referrers(orphan.digest);
    const byDigest = new Map(body.manifests.map((d) => [d.digest, d]));
    expect(byDigest.get(plain.digest)).toEqual({ mediaType: OCI_MANIFEST, digest: plain.digest, size: plain.bytes.length, artifactType: OCI_CONFIG });
    expect(byDigest.get(idx.digest)).toEqual({ mediaType: OCI_INDEX, digest: idx.digest, size: idx.bytes.length });
  });

  it('drops a referrer once it is deleted', async () => {
    const cfg = config();
    await putBlob(admin, repo, cfg);
    const temp = manifest({ config: cfg.descriptor, layers: [], subject: subject.descriptor, annotations: { [KEY]: 'temporary' } });
    await putManifest(admin, repo, temp.digest, temp);
    expect((await referrers(subject.digest)).body.manifests).toHaveLength(6);
    expect((await admin.fetch(`/v2/${repo}/manifests/${temp.digest}`, { method: 'DELETE' })).status).toBe(202);
    expect((await referrers(subject.digest)).body.manifests).toHaveLength(5);
  });

  // "If the request is invalid, such as a <digest> with invalid syntax, a 400 Bad Request MUST
  // be returned."
  it('refuses a malformed digest with 400', async () => {
    const res = await admin.fetch(`/v2/${repo}/referrers/sha256:nothex`);
    expect(res.status).toBe(400);
    expect((await errorsOf(res))[0]!.code).toBe('DIGEST_INVALID');
  });
});
