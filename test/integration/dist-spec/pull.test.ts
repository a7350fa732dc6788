import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProject, errorsOf, RegistryClient } from '../../helpers/registry-client.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { blob, type Content, config, digest, manifest, OCI_INDEX, OCI_MANIFEST, putBlob, putManifest, randomLayer } from './oci-fixtures.js';

// OCI Distribution Spec v1.1, "Pull" workflow; conformance 01_pull_test.go and conformance2 pull/head.

let s: TestServer;
let admin: RegistryClient;
let anon: RegistryClient;
const repo = 'conf/pull';
let cfg: Content;
let layer: Content;
let m0: Content;
let m1: Content;
const missing = digest('hello world');

beforeAll(async () => {
  s = await startTestServer();
  admin = new RegistryClient(s.url, s.adminBasic);
  anon = new RegistryClient(s.url);
  await createProject(s.url, s.adminBasic, 'conf');
  cfg = config();
  layer = blob(Buffer.alloc(2048, 7).map((_, i) => (i * 31) % 251));
  await putBlob(admin, repo, cfg);
  await putBlob(admin, repo, layer);
  m0 = manifest({ config: cfg.descriptor, layers: [layer.descriptor] });
  m1 = manifest({ config: cfg.descriptor, layers: [layer.descriptor], annotations: { n: '1' } });
  await putManifest(admin, repo, 'tagtest0', m0);
  await putManifest(admin, repo, m1.digest, m1);
});
afterAll(() => s.stop());

describe('pulling blobs', () => {
  // "If the blob is not found in the registry, the response code MUST be 404 Not Found."
  it('answers HEAD and GET of a blob that is not there with 404 BLOB_UNKNOWN', async () => {
    const head = await admin.fetch(`/v2/${repo}/blobs/${missing}`, { method: 'HEAD' });
    expect(head.status).toBe(404);
    expect(await head.text()).toBe('');
    const get = await admin.fetch(`/v2/${repo}/blobs/${missing}`);
    expect(get.status).toBe(404);
    expect((await errorsOf(get))[0]!.code).toBe('BLOB_UNKNOWN');
  });

  // "A HEAD request to an existing blob or manifest URL MUST return 200 OK. A successful
  // response SHOULD contain the digest of the uploaded blob in the header Docker-Content-Digest."
  it('answers HEAD with 200, the size in Content-Length, the digest, and no body', async () => {
    const res = await admin.fetch(`/v2/${repo}/blobs/${layer.digest}`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-content-digest')).toBe(layer.digest);
    expect(res.headers.get('content-length')).toBe(String(layer.bytes.length));
    expect((await res.arrayBuffer()).byteLength).toBe(0);
  });

  // "A GET request to an existing blob URL MUST provide the expected blob, with a response code
  // that MUST be 200 OK. ... If present, the value of this header MUST be a digest matching that
  // of the response body."
  it('answers GET with 200 and exactly the bytes whose digest it names', async () => {
    const res = await admin.fetch(`/v2/${repo}/blobs/${layer.digest}`);
    expect(res.status).toBe(200);
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.equals(layer.bytes)).toBe(true);
    expect(digest(body)).toBe(res.headers.get('docker-content-digest'));
    expect(res.headers.get('content-length')).toBe(String(layer.bytes.length));
  });

  // "The client SHOULD ... use http Range requests" (Resumable Pull); conformance2 "range requests".
  it.each([
    ['bytes=500-1499', 500, 1499],
    ['bytes=500-', 500, 2047],
    ['bytes=-500', 1548, 2047],
    ['bytes=2000-5000', 2000, 2047],
  ])('serves %s as 206 with Content-Range', async (range, start, end) => {
    const res = await admin.fetch(`/v2/${repo}/blobs/${layer.digest}`, { headers: { range } });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes ${start}-${end}/2048`);
    expect(res.headers.get('content-length')).toBe(String(end - start + 1));
    expect(Buffer.from(await res.arrayBuffer()).equals(layer.bytes.subarray(start, end + 1))).toBe(true);
  });

  it.each(['bytes=500-0', 'bytes=5000-10000', 'bytes=-0', 'bytes=x-1'])('refuses the unsatisfiable range %s with 416', async (range) => {
    const res = await admin.fetch(`/v2/${repo}/blobs/${layer.digest}`, { headers: { range } });
    expect(res.status).toBe(416);
    expect(res.headers.get('content-range')).toBe('bytes */2048');
  });

  // RFC 9110 §14.2: "An origin server MUST ignore a Range header field that contains a range
  // unit it does not understand"; a multi-range request may be answered with the whole blob.
  it.each(['items=1-2', 'bytes=0-1,5-6'])('answers the range %s it does not serve with the whole blob', async (range) => {
    const res = await admin.fetch(`/v2/${repo}/blobs/${layer.digest}`, { headers: { range } });
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(layer.bytes)).toBe(true);
  });
});

describe('pulling manifests', () => {
  // "If the manifest is not found in the registry, the response code MUST be 404 Not Found."
  // (the suite asks for `.INVALID_MANIFEST_NAME`, which cannot be a tag at all)
  it.each(['.INVALID_MANIFEST_NAME', 'missing-tag', digest('no manifest')])('answers HEAD and GET of %s with 404 MANIFEST_UNKNOWN', async (ref) => {
    const head = await admin.fetch(`/v2/${repo}/manifests/${ref}`, { method: 'HEAD' });
    expect(head.status).toBe(404);
    const get = await admin.fetch(`/v2/${repo}/manifests/${ref}`);
    expect(get.status).toBe(404);
    expect((await errorsOf(get))[0]!.code).toBe('MANIFEST_UNKNOWN');
  });

  // "A GET request to an existing manifest URL MUST provide the expected manifest, with a
  // response code that MUST be 200 OK." conformance2 also checks Content-Type and Content-Length.
  it('returns the pushed bytes by digest and by tag, with its media type, length and digest', async () => {
    for (const [ref, m] of [
      [m0.digest, m0],
      ['tagtest0', m0],
      [m1.digest, m1],
    ] as const) {
      const res = await admin.fetch(`/v2/${repo}/manifests/${ref}`, { headers: { accept: `${OCI_INDEX}, ${OCI_MANIFEST}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe(OCI_MANIFEST);
      expect(res.headers.get('content-length')).toBe(String(m.bytes.length));
      expect(res.headers.get('docker-content-digest')).toBe(m.digest);
      expect(Buffer.from(await res.arrayBuffer()).equals(m.bytes)).toBe(true);
    }
  });

  it('answers HEAD of a manifest with its headers and no body', async () => {
    const res = await admin.fetch(`/v2/${repo}/manifests/tagtest0`, { method: 'HEAD', headers: { accept: OCI_MANIFEST } });
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-content-digest')).toBe(m0.digest);
    expect(res.headers.get('content-type')).toBe(OCI_MANIFEST);
    expect(res.headers.get('content-length')).toBe(String(m0.bytes.length));
    expect((await res.arrayBuffer()).byteLength).toBe(0);
  });

  // "<reference> MUST be either (a) the digest of the manifest or (b) a tag name"; a malformed
  // digest is a 400 whose body carries a spec error code (01_pull "Error codes").
  it('answers a malformed digest reference with 400 and an OCI error body', async () => {
    const res = await admin.fetch(`/v2/${repo}/manifests/sha256:totallywrong`, {
      headers: { 'content-type': OCI_MANIFEST },
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const [e] = await errorsOf(res);
    expect(e!.code).toBe('DIGEST_INVALID');
    expect(typeof e!.message).toBe('string');
  });

  // Pulling a manifest also works when the bytes are fetched as a blob (Docker clients do this
  // for manifests of an index).
  it('serves a manifest as a blob of its repository', async () => {
    const res = await admin.fetch(`/v2/${repo}/blobs/${m0.digest}`);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(m0.bytes)).toBe(true);
  });
});

describe('anonymous pulls', () => {
  // Harbor: public projects can be pulled without credentials; private ones answer 401 with a
  // Bearer challenge so the client can authenticate.
  it('pulls from the public library project without credentials', async () => {
    const l = randomLayer();
    const c = config();
    await putBlob(admin, 'library/pub', c);
    await putBlob(admin, 'library/pub', l);
    const m = manifest({ config: c.descriptor, layers: [l.descriptor] });
    await putManifest(admin, 'library/pub', 'v1', m);
    const res = await anon.fetch('/v2/library/pub/manifests/v1', { headers: { accept: OCI_MANIFEST } });
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-content-digest')).toBe(m.digest);
    const b = await anon.fetch(`/v2/library/pub/blobs/${l.digest}`);
    expect(b.status).toBe(200);
    expect(Buffer.from(await b.arrayBuffer()).equals(l.bytes)).toBe(true);
  });

  it('asks anonymous callers of a private project to authenticate, without telling what is there', async () => {
    for (const path of [`/v2/${repo}/manifests/tagtest0`, `/v2/${repo}/manifests/nothing-here`, `/v2/conf/none/blobs/${missing}`]) {
      const res = await anon.fetch(path);
      expect(res.status, path).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="[^"]+\/service\/token",service="berth",scope="repository:conf\/[a-z]+:pull"$/);
      expect((await errorsOf(res))[0]!.code).toBe('UNAUTHORIZED');
    }
  });
});
