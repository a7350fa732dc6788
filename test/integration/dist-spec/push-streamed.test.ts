import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProject, errorsOf, RegistryClient } from '../../helpers/registry-client.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { type Content, digest, randomLayer } from './oci-fixtures.js';

// Streamed upload: conformance 02_push "Blob Upload Streamed" and conformance2 "stream" — one
// PATCH carrying the whole blob without Content-Range (and here without Content-Length: the
// body is sent with Transfer-Encoding: chunked, as Go's client does for a body of unknown size),
// then a PUT ?digest= with no body.

let s: TestServer;
let admin: RegistryClient;
const repo = 'conf/streamed';

beforeAll(async () => {
  s = await startTestServer();
  admin = new RegistryClient(s.url, s.adminBasic);
  await createProject(s.url, s.adminBasic, 'conf');
});
afterAll(() => s.stop());

/** A PATCH whose body goes out in pieces with Transfer-Encoding: chunked. */
function streamPatch(location: string, pieces: Buffer[]): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const u = new URL(location, s.url);
    const req = request(
      { host: u.hostname, port: u.port, path: u.pathname, method: 'PATCH', headers: { authorization: s.adminBasic, 'content-type': 'application/octet-stream' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers }));
      },
    );
    req.on('error', reject);
    for (const p of pieces) req.write(p);
    req.end();
  });
}

async function open(): Promise<string> {
  const res = await admin.fetch(`/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  expect(res.status).toBe(202);
  return res.headers.get('location')!;
}

function pieces(c: Content, n: number): Buffer[] {
  const size = Math.ceil(c.bytes.length / n);
  return Array.from({ length: n }, (_, i) => c.bytes.subarray(i * size, (i + 1) * size));
}

describe('streamed upload', () => {
  // "PATCH request with blob in body should yield 202 response"; "PUT request to session URL with
  // digest should yield 201 response"
  it('takes the whole blob in one PATCH without Content-Range and closes with PUT ?digest=', async () => {
    const c = randomLayer(256 * 1024);
    const location = await open();
    const res = await streamPatch(location, pieces(c, 16));
    expect(res.status).toBe(202);
    expect(res.headers['range']).toBe(`0-${c.bytes.length - 1}`);
    const next = res.headers['location'] as string;
    const done = await admin.fetch(`${next}?digest=${c.digest}`, { method: 'PUT', headers: { 'content-length': '0' } });
    expect(done.status).toBe(201);
    expect(done.headers.get('location')).toBe(`/v2/${repo}/blobs/${c.digest}`);
    const get = await admin.fetch(done.headers.get('location')!);
    expect(Buffer.from(await get.arrayBuffer()).equals(c.bytes)).toBe(true);
  });

  it('takes several streamed PATCHes in a row', async () => {
    const c = randomLayer(30_000);
    const location = await open();
    const parts = pieces(c, 3);
    for (const [i, p] of parts.entries()) {
      const res = await streamPatch(location, [p]);
      expect(res.status, `part ${i}`).toBe(202);
    }
    const done = await admin.fetch(`${location}?digest=${c.digest}`, { method: 'PUT' });
    expect(done.status).toBe(201);
  });

  // conformance2 "bad digest stream": the closing PUT answers 400 and nothing is stored.
  it('refuses a closing digest that does not match the streamed bytes', async () => {
    const c = randomLayer(5000);
    const claimed = digest(Buffer.concat([c.bytes, Buffer.from('oh no')]));
    const location = await open();
    expect((await streamPatch(location, pieces(c, 2))).status).toBe(202);
    const done = await admin.fetch(`${location}?digest=${claimed}`, { method: 'PUT' });
    expect(done.status).toBe(400);
    expect((await errorsOf(done))[0]!.code).toBe('DIGEST_INVALID');
    expect((await admin.fetch(`/v2/${repo}/blobs/${c.digest}`, { method: 'HEAD' })).status).toBe(404);
  });
});
