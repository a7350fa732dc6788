import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProject, RegistryClient } from '../../helpers/registry-client.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { config, digest, manifest, OCI_MANIFEST, pushImage, putBlob, randomLayer } from './oci-fixtures.js';

// OCI Distribution Spec v1.1, "Error Codes" and "API Version Check"; conformance 01_pull
// "Error codes" (a 4xx body must carry a code from the spec's table).

let s: TestServer;
let admin: RegistryClient;
let alice: RegistryClient;
let anon: RegistryClient;
const repo = 'conf/errors';
let upload: string;

beforeAll(async () => {
  s = await startTestServer();
  admin = new RegistryClient(s.url, s.adminBasic);
  anon = new RegistryClient(s.url);
  await createProject(s.url, s.adminBasic, 'conf');
  await s.server.berth.users.create({ username: 'alice', password: 'Alice12345' });
  alice = new RegistryClient(s.url, `Basic ${Buffer.from('alice:Alice12345').toString('base64')}`);
  await pushImage(admin, repo, 'v1');
  upload = (await admin.fetch(`/v2/${repo}/blobs/uploads/`, { method: 'POST' })).headers.get('location')!;
});
afterAll(() => s.stop());

/** A PATCH whose chunked body is shorter than its Content-Range says. */
function shortChunk(location: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(location, s.url);
    const req = request(
      { host: u.hostname, port: u.port, path: u.pathname, method: 'PATCH', headers: { authorization: s.adminBasic, 'content-range': '0-9' } },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      },
    );
    req.on('error', reject);
    // written before end(), so Node sends it chunked, without a Content-Length
    req.write('12345');
    req.end();
  });
}

describe('error responses', () => {
  // "The error codes encountered via the API are enumerated in the following table" with
  // {"errors":[{"code","message","detail"}]}; each is reached here the way a client would.
  const cases: [string, number, () => Promise<Response>][] = [
    ['BLOB_UNKNOWN', 404, () => admin.fetch(`/v2/${repo}/blobs/${digest('none')}`)],
    [
      'BLOB_UPLOAD_INVALID',
      400,
      () => admin.fetch(upload, { method: 'PATCH', body: 'abc', headers: { 'content-range': '0-9', 'content-length': '3' } }),
    ],
    ['BLOB_UPLOAD_UNKNOWN', 404, () => admin.fetch(`/v2/${repo}/blobs/uploads/00000000-0000-4000-8000-000000000000`)],
    ['DIGEST_INVALID', 400, () => admin.fetch(`/v2/${repo}/blobs/sha256:xyz`)],
    [
      'MANIFEST_BLOB_UNKNOWN',
      400,
      async () => {
        const cfg = config();
        await putBlob(admin, repo, cfg);
        const m = manifest({ config: cfg.descriptor, layers: [randomLayer().descriptor] });
        return admin.fetch(`/v2/${repo}/manifests/x`, { method: 'PUT', body: m.bytes, headers: { 'content-type': OCI_MANIFEST } });
      },
    ],
    ['MANIFEST_INVALID', 400, () => admin.fetch(`/v2/${repo}/manifests/x`, { method: 'PUT', body: 'blablabla', headers: { 'content-type': OCI_MANIFEST } })],
    ['MANIFEST_UNKNOWN', 404, () => admin.fetch(`/v2/${repo}/manifests/nope`)],
    ['NAME_INVALID', 400, () => admin.fetch('/v2/Conf/Upper/tags/list')],
    ['NAME_UNKNOWN', 404, () => admin.fetch('/v2/conf/unknown/tags/list')],
    ['UNAUTHORIZED', 401, () => anon.fetch(`/v2/${repo}/blobs/uploads/`, { method: 'POST' })],
    ['DENIED', 403, () => alice.fetch(`/v2/${repo}/tags/list`)],
    ['UNSUPPORTED', 405, () => admin.fetch(`/v2/${repo}/manifests/v1`, { method: 'PATCH', body: '{}' })],
  ];
  it.each(cases)('%s is %i with the spec body', async (code, status, send) => {
    const res = await send();
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    const body = (await res.json()) as { errors: { code: string; message: string; detail?: unknown }[] };
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0]!.code).toBe(code);
    expect(body.errors[0]!.message).toEqual(expect.any(String));
    expect(body.errors[0]!.message.length).toBeGreaterThan(0);
  });

  it('SIZE_INVALID is 400 when a chunk is shorter than its Content-Range, and the upload does not grow', async () => {
    const res = await shortChunk(upload);
    expect(res.status).toBe(400);
    expect((JSON.parse(res.body) as { errors: { code: string }[] }).errors[0]!.code).toBe('SIZE_INVALID');
    expect((await admin.fetch(upload)).headers.get('range')).toBe('0-0');
  });

  it('answers HEAD errors with the status and no body', async () => {
    const res = await admin.fetch(`/v2/${repo}/manifests/nope`, { method: 'HEAD' });
    expect(res.status).toBe(404);
    expect(await res.text()).toBe('');
  });
});

describe('API version check', () => {
  // "If a 200 OK response is returned, the registry implements the V2(.1) registry API ... If a
  // 401 Unauthorized response is returned, the client SHOULD take action based on the contents
  // of the WWW-Authenticate header ... the Docker-Distribution-API-Version header SHOULD be set
  // to registry/2.0."
  it('answers GET /v2/ with 401 and a challenge, then 200 with credentials', async () => {
    const res = await anon.fetch('/v2/');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="http:\/\/127\.0\.0\.1:\d+\/service\/token",service="berth"$/);
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    const ok = await admin.fetch('/v2/');
    expect(ok.status).toBe(200);
    expect(ok.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    expect(await ok.json()).toEqual({});
  });
});
