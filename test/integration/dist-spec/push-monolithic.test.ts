import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProject, errorsOf, RegistryClient } from '../../helpers/registry-client.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { blob, type Content, digest, randomLayer } from './oci-fixtures.js';

// OCI Distribution Spec v1.1, "Pushing a blob monolithically"; conformance 02_push "Blob Upload
// Monolithic" and conformance2 "post only", "post+put", "empty", "emptyJSON", "bad digest …".

let s: TestServer;
let admin: RegistryClient;
const repo = 'conf/mono';
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

beforeAll(async () => {
  s = await startTestServer();
  admin = new RegistryClient(s.url, s.adminBasic);
  await createProject(s.url, s.adminBasic, 'conf');
});
afterAll(() => s.stop());

async function pullBack(location: string, c: Content): Promise<void> {
  const res = await admin.fetch(location);
  expect(res.status).toBe(200);
  expect(Buffer.from(await res.arrayBuffer()).equals(c.bytes)).toBe(true);
}

async function postPut(c: Content, uploadDigest = c.digest): Promise<Response> {
  const post = await admin.fetch(`/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  expect(post.status).toBe(202);
  const loc = new URL(post.headers.get('location')!, s.url);
  loc.searchParams.set('digest', uploadDigest);
  return admin.fetch(loc.pathname + loc.search, {
    method: 'PUT',
    body: c.bytes,
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(c.bytes.length) },
  });
}

async function postOnly(c: Content, uploadDigest = c.digest): Promise<Response> {
  return admin.fetch(`/v2/${repo}/blobs/uploads/?digest=${encodeURIComponent(uploadDigest)}`, {
    method: 'POST',
    body: c.bytes,
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(c.bytes.length) },
  });
}

describe('POST then PUT', () => {
  // "Upon success, the response MUST have a code of 202 Accepted, and MUST include the following
  // header: Location: <location>. The <location> MUST contain a UUID representing a unique
  // session ID for the upload to follow."
  it('opens a session whose Location carries a UUID', async () => {
    const res = await admin.fetch(`/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    expect(res.status).toBe(202);
    const loc = res.headers.get('location')!;
    expect(loc).toMatch(new RegExp(`^/v2/${repo}/blobs/uploads/${UUID.source}$`));
    expect(res.headers.get('docker-upload-uuid')).toBe(loc.split('/').pop());
    expect(res.headers.get('range')).toBe('0-0');
  });

  // "Upon successful completion of the request, the response MUST have code 201 Created and MUST
  // have the following header: Location: <blob-location> With <blob-location> being a pullable
  // blob URL."
  it('takes the whole blob in the PUT and answers 201 with a pullable Location', async () => {
    const c = randomLayer(4096);
    const res = await postPut(c);
    expect(res.status).toBe(201);
    expect(res.headers.get('docker-content-digest')).toBe(c.digest);
    const location = res.headers.get('location')!;
    expect(location).toBe(`/v2/${repo}/blobs/${c.digest}`);
    await pullBack(location, c);
  });

  it('accepts a blob it already holds again (content addressing)', async () => {
    const c = randomLayer();
    expect((await postPut(c)).status).toBe(201);
    expect((await postPut(c)).status).toBe(201);
    await pullBack(`/v2/${repo}/blobs/${c.digest}`, c);
  });
});

describe('single POST', () => {
  // "Successful completion of the request MUST return a 201 Created and MUST include the
  // following header: Location: <blob-location>"
  it('takes a blob in one POST with ?digest=', async () => {
    const c = randomLayer(1000);
    const res = await postOnly(c);
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/v2/${repo}/blobs/${c.digest}`);
    await pullBack(res.headers.get('location')!, c);
  });
});

describe('well-known contents', () => {
  // conformance2 "empty" and "emptyJSON": the zero-length blob and `{}` (the OCI empty
  // descriptor's content, sha256:44136fa3…) push, HEAD and pull like any other.
  it.each([
    ['the empty blob', ''],
    ['the empty JSON blob', '{}'],
  ])('stores %s', async (_label, text) => {
    for (const push of [postOnly, postPut]) {
      const c = blob(text);
      if (text === '{}') expect(c.digest).toBe('sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
      expect((await push(c)).status).toBe(201);
      const head = await admin.fetch(`/v2/${repo}/blobs/${c.digest}`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe(String(c.bytes.length));
      await pullBack(`/v2/${repo}/blobs/${c.digest}`, c);
      expect((await admin.fetch(`/v2/${repo}/blobs/${c.digest}`, { method: 'DELETE' })).status).toBe(202);
    }
  });
});

describe('a digest that does not match the bytes', () => {
  // "Likewise, the <digest> MUST match the blob's digest." conformance2 "bad digest post only" /
  // "bad digest post+put" expect 400, and the blob must not be there afterwards.
  it.each([
    ['single POST', postOnly],
    ['POST then PUT', postPut],
  ])('is refused with 400 DIGEST_INVALID on a %s, and nothing becomes visible', async (_label, push) => {
    const c = randomLayer(3000);
    const claimed = digest(Buffer.concat([c.bytes, Buffer.from('oh no')]));
    const res = await push(c, claimed);
    expect(res.status).toBe(400);
    expect((await errorsOf(res))[0]!.code).toBe('DIGEST_INVALID');
    for (const d of [claimed, c.digest]) {
      expect((await admin.fetch(`/v2/${repo}/blobs/${d}`, { method: 'HEAD' })).status).toBe(404);
    }
  });

  // "PUT <location>?digest=<digest>": closing a session needs the digest.
  it('closes no session without ?digest=', async () => {
    const post = await admin.fetch(`/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    const res = await admin.fetch(post.headers.get('location')!, { method: 'PUT', body: 'abc' });
    expect(res.status).toBe(400);
    expect((await errorsOf(res))[0]!.code).toBe('DIGEST_INVALID');
    // the session is still there and can be completed
    const c = blob('abc');
    const put = await admin.fetch(`${post.headers.get('location')!}?digest=${c.digest}`, { method: 'PUT', body: c.bytes });
    expect(put.status).toBe(201);
  });
});
