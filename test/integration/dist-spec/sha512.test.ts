import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProject, errorsOf, RegistryClient } from '../../helpers/registry-client.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { blob, type Content, config, digest, manifest, OCI_EMPTY, OCI_MANIFEST, randomLayer } from './oci-fixtures.js';

// sha512 content: image-spec "Registered algorithms" (sha256, sha512); dist-spec "When pushing a
// blob with a digest algorithm other than sha256, the post request SHOULD include the
// digest-algorithm parameter ... If the client provided digest ... uses an unsupported
// algorithm, the registry SHOULD respond with ... 400 Bad Request"; conformance2 runs every
// blob API once per algorithm ("blobs-sha512") and pushes manifests by their sha512 digest.

let s: TestServer;
let admin: RegistryClient;
const repo = 'conf/sha512';

beforeAll(async () => {
  s = await startTestServer();
  admin = new RegistryClient(s.url, s.adminBasic);
  await createProject(s.url, s.adminBasic, 'conf');
});
afterAll(() => s.stop());

const layer512 = (size = 3000) => randomLayer(size, 'sha512');

async function expectBlob(c: Content, r = repo): Promise<void> {
  const head = await admin.fetch(`/v2/${r}/blobs/${c.digest}`, { method: 'HEAD' });
  expect(head.status).toBe(200);
  expect(head.headers.get('docker-content-digest')).toBe(c.digest);
  expect(head.headers.get('content-length')).toBe(String(c.bytes.length));
  const get = await admin.fetch(`/v2/${r}/blobs/${c.digest}`);
  expect(get.status).toBe(200);
  expect(Buffer.from(await get.arrayBuffer()).equals(c.bytes)).toBe(true);
}

async function post(query = ''): Promise<string> {
  const res = await admin.fetch(`/v2/${repo}/blobs/uploads/${query}`, { method: 'POST', headers: { 'content-length': '0' } });
  expect(res.status).toBe(202);
  return res.headers.get('location')!;
}

function streamPatch(location: string, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const u = new URL(location, s.url);
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'PATCH', headers: { authorization: s.adminBasic } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.write(body);
    req.end();
  });
}

describe('sha512 blobs', () => {
  it('takes a single POST with a sha512 ?digest=', async () => {
    const c = layer512();
    expect(c.digest).toMatch(/^sha512:[0-9a-f]{128}$/);
    const res = await admin.fetch(`/v2/${repo}/blobs/uploads/?digest=${c.digest}`, { method: 'POST', body: c.bytes });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/v2/${repo}/blobs/${c.digest}`);
    expect(res.headers.get('docker-content-digest')).toBe(c.digest);
    await expectBlob(c);
  });

  it('takes POST then PUT with a sha512 digest, with and without the digest-algorithm hint', async () => {
    for (const q of ['', '?digest-algorithm=sha512']) {
      const c = layer512();
      const loc = await post(q);
      const res = await admin.fetch(`${loc}?digest=${c.digest}`, { method: 'PUT', body: c.bytes });
      expect(res.status, q).toBe(201);
      await expectBlob(c);
    }
  });

  it('takes chunks hashed as sha512 from the start (digest-algorithm) and without the hint', async () => {
    for (const q of ['?digest-algorithm=sha512', '']) {
      const c = layer512(2500);
      const loc = await post(q);
      for (const [start, end] of [
        [0, 999],
        [1000, 1999],
      ] as const) {
        const res = await admin.fetch(loc, { method: 'PATCH', body: c.bytes.subarray(start, end + 1), headers: { 'content-range': `${start}-${end}` } });
        expect(res.status).toBe(202);
      }
      const done = await admin.fetch(`${loc}?digest=${c.digest}`, { method: 'PUT', body: c.bytes.subarray(2000), headers: { 'content-range': '2000-2499' } });
      expect(done.status, q).toBe(201);
      await expectBlob(c);
    }
  });

  it('takes a streamed sha512 upload', async () => {
    const c = layer512(50_000);
    const loc = await post('?digest-algorithm=sha512');
    expect(await streamPatch(loc, c.bytes)).toBe(202);
    expect((await admin.fetch(`${loc}?digest=${c.digest}`, { method: 'PUT' })).status).toBe(201);
    await expectBlob(c);
  });

  // the hint says what the client intends; a closing sha256 digest is still verified correctly
  it('verifies a closing digest of another algorithm than the hint', async () => {
    const c = randomLayer(1500);
    const loc = await post('?digest-algorithm=sha512');
    expect((await admin.fetch(loc, { method: 'PATCH', body: c.bytes, headers: { 'content-range': '0-1499' } })).status).toBe(202);
    expect((await admin.fetch(`${loc}?digest=${c.digest}`, { method: 'PUT' })).status).toBe(201);
    await expectBlob(c);
  });

  it.each(['md5', 'blake3', 'SHA512', 'sha256+x'])('refuses digest-algorithm=%s with 400 DIGEST_INVALID', async (alg) => {
    const res = await admin.fetch(`/v2/${repo}/blobs/uploads/?digest-algorithm=${encodeURIComponent(alg)}`, { method: 'POST' });
    expect(res.status).toBe(400);
    expect((await errorsOf(res))[0]!.code).toBe('DIGEST_INVALID');
    expect(res.headers.get('location')).toBeNull();
  });

  it('refuses a sha512 digest that does not match, and keeps nothing', async () => {
    const c = layer512();
    const claimed = digest(Buffer.concat([c.bytes, Buffer.from('oh no')]), 'sha512');
    const res = await admin.fetch(`/v2/${repo}/blobs/uploads/?digest=${claimed}`, { method: 'POST', body: c.bytes });
    expect(res.status).toBe(400);
    expect((await errorsOf(res))[0]!.code).toBe('DIGEST_INVALID');
    expect((await admin.fetch(`/v2/${repo}/blobs/${claimed}`, { method: 'HEAD' })).status).toBe(404);
    expect((await admin.fetch(`/v2/${repo}/blobs/${c.digest}`, { method: 'HEAD' })).status).toBe(404);
  });

  it('serves byte ranges and mounts of sha512 blobs, and deletes them', async () => {
    const c = layer512(2048);
    expect((await admin.fetch(`/v2/${repo}/blobs/uploads/?digest=${c.digest}`, { method: 'POST', body: c.bytes })).status).toBe(201);
    const part = await admin.fetch(`/v2/${repo}/blobs/${c.digest}`, { headers: { range: 'bytes=500-1499' } });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer()).equals(c.bytes.subarray(500, 1500))).toBe(true);
    const mounted = await admin.fetch(`/v2/conf/sha512-copy/blobs/uploads/?mount=${c.digest}&from=${repo}`, { method: 'POST' });
    expect(mounted.status).toBe(201);
    expect(mounted.headers.get('location')).toBe(`/v2/conf/sha512-copy/blobs/${c.digest}`);
    const anonymousMount = await admin.fetch(`/v2/conf/sha512-copy2/blobs/uploads/?mount=${c.digest}`, { method: 'POST' });
    expect(anonymousMount.status).toBe(201);
    await expectBlob(c, 'conf/sha512-copy2');
    expect((await admin.fetch(`/v2/${repo}/blobs/${c.digest}`, { method: 'DELETE' })).status).toBe(202);
    expect((await admin.fetch(`/v2/${repo}/blobs/${c.digest}`, { method: 'HEAD' })).status).toBe(404);
  });
});

describe('sha512 manifests', () => {
  async function image(): Promise<Content> {
    const cfg = config({}, 'sha512');
    const l = layer512(700);
    for (const b of [cfg, l]) {
      expect((await admin.fetch(`/v2/${repo}/blobs/uploads/?digest=${b.digest}`, { method: 'POST', body: b.bytes })).status).toBe(201);
    }
    return manifest({ config: cfg.descriptor, layers: [l.descriptor], algorithm: 'sha512' });
  }

  // "The Docker-Content-Digest header returns the canonical digest of the uploaded blob, and
  // MUST be equal to the client provided digest" — for a push by a sha512 digest, that digest.
  it('stores a manifest pushed by its sha512 digest and serves it by that digest', async () => {
    const m = await image();
    const put = await admin.fetch(`/v2/${repo}/manifests/${m.digest}`, { method: 'PUT', body: m.bytes, headers: { 'content-type': OCI_MANIFEST } });
    expect(put.status).toBe(201);
    expect(put.headers.get('docker-content-digest')).toBe(m.digest);
    expect(put.headers.get('location')).toBe(`/v2/${repo}/manifests/${m.digest}`);
    const get = await admin.fetch(put.headers.get('location')!, { headers: { accept: OCI_MANIFEST } });
    expect(get.status).toBe(200);
    expect(get.headers.get('docker-content-digest')).toBe(m.digest);
    expect(Buffer.from(await get.arrayBuffer()).equals(m.bytes)).toBe(true);
    const head = await admin.fetch(`/v2/${repo}/manifests/${m.digest}`, { method: 'HEAD' });
    expect(head.headers.get('content-length')).toBe(String(m.bytes.length));
  });

  // A tag push digests with sha256; `?tag=` on a push by digest is how a sha512 manifest is
  // tagged (dist-spec "Pushing Manifests with tags").
  it('tags a sha512 manifest with ?tag= and serves the tag with the sha512 digest', async () => {
    const m = await image();
    const put = await admin.fetch(`/v2/${repo}/manifests/${m.digest}?tag=sha512-tag`, { method: 'PUT', body: m.bytes, headers: { 'content-type': OCI_MANIFEST } });
    expect(put.status).toBe(201);
    expect(put.headers.get('oci-tag')).toBe('sha512-tag');
    const byTag = await admin.fetch(`/v2/${repo}/manifests/sha512-tag`, { headers: { accept: OCI_MANIFEST } });
    expect(byTag.headers.get('docker-content-digest')).toBe(m.digest);
    expect(Buffer.from(await byTag.arrayBuffer()).equals(m.bytes)).toBe(true);
  });

  it('refuses a push by sha512 digest whose bytes differ', async () => {
    const m = await image();
    const res = await admin.fetch(`/v2/${repo}/manifests/${m.digest}`, {
      method: 'PUT',
      body: Buffer.concat([m.bytes, Buffer.from('  ')]),
      headers: { 'content-type': OCI_MANIFEST },
    });
    expect(res.status).toBe(400);
    expect((await errorsOf(res))[0]!.code).toBe('DIGEST_INVALID');
  });

  it('lists referrers of a sha512 subject and deletes a sha512 manifest', async () => {
    const subject = await image();
    expect((await admin.fetch(`/v2/${repo}/manifests/${subject.digest}`, { method: 'PUT', body: subject.bytes, headers: { 'content-type': OCI_MANIFEST } })).status).toBe(201);
    const empty = blob('{}', OCI_EMPTY, 'sha512');
    expect((await admin.fetch(`/v2/${repo}/blobs/uploads/?digest=${empty.digest}`, { method: 'POST', body: empty.bytes })).status).toBe(201);
    const sig = manifest({ artifactType: 'application/vnd.example.sig', config: empty.descriptor, layers: [empty.descriptor], subject: subject.descriptor, algorithm: 'sha512' });
    const put = await admin.fetch(`/v2/${repo}/manifests/${sig.digest}`, { method: 'PUT', body: sig.bytes, headers: { 'content-type': OCI_MANIFEST } });
    expect(put.status).toBe(201);
    expect(put.headers.get('oci-subject')).toBe(subject.digest);
    const refs = await admin.fetch(`/v2/${repo}/referrers/${subject.digest}`);
    expect(((await refs.json()) as { manifests: { digest: string; artifactType: string }[] }).manifests).toEqual([
      { mediaType: OCI_MANIFEST, digest: sig.digest, size: sig.bytes.length, artifactType: 'application/vnd.example.sig' },
    ]);
    expect((await admin.fetch(`/v2/${repo}/manifests/${sig.digest}`, { method: 'DELETE' })).status).toBe(202);
    expect((await admin.fetch(`/v2/${repo}/manifests/${sig.digest}`, { method: 'HEAD' })).status).toBe(404);
  });
});
