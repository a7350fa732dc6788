import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProject, errorsOf, RegistryClient } from '../../helpers/registry-client.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { type Content, digest, randomLayer } from './oci-fixtures.js';

// OCI Distribution Spec v1.1, "Pushing a blob in chunks"; conformance 02_push "Blob Upload
// Chunked" and conformance2 "chunked single/multi", "… and put chunk", "… out-of-order".

let s: TestServer;
let admin: RegistryClient;
const repo = 'conf/chunked';
const MIN = 1024;

beforeAll(async () => {
  // the suites read OCI-Chunk-Min-Length and size their chunks from it
  s = await startTestServer({ BERTH_UPLOADS_CHUNK_MIN_LENGTH: String(MIN) });
  admin = new RegistryClient(s.url, s.adminBasic);
  await createProject(s.url, s.adminBasic, 'conf');
});
afterAll(() => s.stop());

/** "the post request MUST include the following header: Content-Length: 0" */
async function open(): Promise<{ location: string; min: string | null }> {
  const res = await admin.fetch(`/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: { 'content-length': '0' } });
  expect(res.status).toBe(202);
  return { location: res.headers.get('location')!, min: res.headers.get('oci-chunk-min-length') };
}

function patch(location: string, c: Content, start: number, end: number): Promise<Response> {
  return admin.fetch(location, {
    method: 'PATCH',
    body: c.bytes.subarray(start, end + 1),
    headers: { 'content-type': 'application/octet-stream', 'content-range': `${start}-${end}`, 'content-length': String(end - start + 1) },
  });
}

function put(location: string, d: string, body?: { c: Content; start: number; end: number }): Promise<Response> {
  return admin.fetch(`${location}?digest=${encodeURIComponent(d)}`, {
    method: 'PUT',
    ...(body
      ? {
          body: body.c.bytes.subarray(body.start, body.end + 1),
          headers: { 'content-type': 'application/octet-stream', 'content-range': `${body.start}-${body.end}`, 'content-length': String(body.end - body.start + 1) },
        }
      : { headers: { 'content-type': 'application/octet-stream', 'content-length': '0' } }),
  });
}

async function expectBlob(c: Content): Promise<void> {
  const res = await admin.fetch(`/v2/${repo}/blobs/${c.digest}`);
  expect(res.status).toBe(200);
  expect(Buffer.from(await res.arrayBuffer()).equals(c.bytes)).toBe(true);
}

describe('chunked upload', () => {
  it('advertises OCI-Chunk-Min-Length on the session', async () => {
    // "the registry MAY include a OCI-Chunk-Min-Length header ... with a value of the minimum
    // size in bytes of a chunk"
    expect((await open()).min).toBe(String(MIN));
  });

  // "Each successful chunk upload MUST have a 202 Accepted response code, and MUST have the
  // following header: Location <location>" and "The <range> refers to the byte range of the
  // chunk, and MUST be inclusive on both ends."
  it('takes chunks in order, reports the Range after each, and closes with an empty PUT', async () => {
    const c = randomLayer(MIN * 3 - 5);
    let { location } = await open();
    for (let start = 0; start < c.bytes.length; start += MIN) {
      const end = Math.min(start + MIN, c.bytes.length) - 1;
      const res = await patch(location, c, start, end);
      expect(res.status).toBe(202);
      expect(res.headers.get('range')).toBe(`0-${end}`);
      location = res.headers.get('location')!;
      expect(location).toMatch(/^\/v2\/conf\/chunked\/blobs\/uploads\//);
    }
    const done = await put(location, c.digest);
    expect(done.status).toBe(201);
    expect(done.headers.get('location')).toBe(`/v2/${repo}/blobs/${c.digest}`);
    await expectBlob(c);
  });

  // "The final chunk MAY be uploaded using a PATCH request or it MAY be uploaded in the closing
  // PUT request."
  it('takes the last chunk in the closing PUT', async () => {
    const c = randomLayer(MIN * 2 + 100);
    const { location } = await open();
    expect((await patch(location, c, 0, MIN - 1)).status).toBe(202);
    expect((await patch(location, c, MIN, 2 * MIN - 1)).status).toBe(202);
    const done = await put(location, c.digest, { c, start: 2 * MIN, end: c.bytes.length - 1 });
    expect(done.status).toBe(201);
    await expectBlob(c);
  });

  // "If a chunk is uploaded out of order, the registry MUST respond with a 416 Requested Range
  // Not Satisfiable code." A 416 carries where the upload stands (Range, Location) so the
  // client can resume; the conformance suite also retries the previous chunk and expects 416.
  it('refuses out-of-order chunks with 416 and Range/Location, and the upload goes on afterwards', async () => {
    const c = randomLayer(MIN * 3 - 5);
    const { location } = await open();
    const ahead = await patch(location, c, MIN, 2 * MIN - 1);
    expect(ahead.status).toBe(416);
    expect(ahead.headers.get('range')).toBe('0-0');
    expect(ahead.headers.get('location')).toBe(location);
    expect((await errorsOf(ahead))[0]!.code).toBe('RANGE_NOT_SATISFIABLE');

    expect((await patch(location, c, 0, MIN - 1)).status).toBe(202);
    const again = await patch(location, c, 0, MIN - 1);
    expect(again.status).toBe(416);
    expect(again.headers.get('range')).toBe(`0-${MIN - 1}`);

    // "Get on stale blob upload should return 204 with a range and location"
    const status = await admin.fetch(location);
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe(`0-${MIN - 1}`);
    expect(status.headers.get('location')).toBe(location);

    expect((await patch(location, c, MIN, 2 * MIN - 1)).status).toBe(202);
    // an out-of-order closing PUT is refused the same way and does not end the session
    const badPut = await put(location, c.digest, { c, start: 0, end: MIN - 1 });
    expect(badPut.status).toBe(416);
    expect(badPut.headers.get('range')).toBe(`0-${2 * MIN - 1}`);
    expect((await admin.fetch(`/v2/${repo}/blobs/${c.digest}`, { method: 'HEAD' })).status).toBe(404);
    const done = await put(location, c.digest, { c, start: 2 * MIN, end: c.bytes.length - 1 });
    expect(done.status).toBe(201);
    await expectBlob(c);
  });

  it('refuses a closing PUT whose digest does not match the chunks with 400, and keeps nothing', async () => {
    const c = randomLayer(MIN + 10);
    const claimed = digest(Buffer.concat([c.bytes, Buffer.from('oh no')]));
    const { location } = await open();
    expect((await patch(location, c, 0, MIN - 1)).status).toBe(202);
    const res = await put(location, claimed, { c, start: MIN, end: c.bytes.length - 1 });
    expect(res.status).toBe(400);
    expect((await errorsOf(res))[0]!.code).toBe('DIGEST_INVALID');
    expect((await admin.fetch(`/v2/${repo}/blobs/${claimed}`, { method: 'HEAD' })).status).toBe(404);
    // the failed session is over
    expect((await admin.fetch(location)).status).toBe(404);
  });

  // "DELETE <location>" cancels an upload (conformance2 "post cancel": 204, then it is gone).
  it('cancels a session with DELETE', async () => {
    const c = randomLayer(100);
    const { location } = await open();
    expect((await patch(location, c, 0, 99)).status).toBe(202);
    const del = await admin.fetch(location, { method: 'DELETE', headers: { 'content-length': '0' } });
    expect(del.status).toBe(204);
    const after = await admin.fetch(location);
    expect(after.status).toBe(404);
    expect((await errorsOf(after))[0]!.code).toBe('BLOB_UPLOAD_UNKNOWN');
    expect((await put(location, c.digest)).status).toBe(404);
  });
});
