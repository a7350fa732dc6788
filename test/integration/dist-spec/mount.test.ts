import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChallengeClient, createProject, errorsOf, RegistryClient } from '../../helpers/registry-client.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../../helpers/server.js';
import { type Content, digest, putBlob, randomLayer } from './oci-fixtures.js';

// OCI Distribution Spec v1.1, "Mounting a blob from another repository"; conformance 02_push
// "Cross-Repository Blob Mount" and conformance2 "mount", "mount anonymous", "mount missing".

let s: TestServer;
let admin: RegistryClient;
let c: Content;
const source = 'conf/source';

beforeAll(async () => {
  s = await startTestServer();
  admin = new RegistryClient(s.url, s.adminBasic);
  await createProject(s.url, s.adminBasic, 'conf');
  await createProject(s.url, s.adminBasic, 'other');
  c = randomLayer(2000);
  await putBlob(admin, source, c);
});
afterAll(() => s.stop());

async function expectPullable(client: RegistryClient | ChallengeClient, location: string, content: Content): Promise<void> {
  const res = await client.fetch(location);
  expect(res.status).toBe(200);
  expect(Buffer.from(await res.arrayBuffer()).equals(content.bytes)).toBe(true);
}

describe('cross-repository mount', () => {
  // "If the registry supports cross-repository mounting, a successful response MUST have the 201
  // Created status and MUST include the following header: Location: <blob-location>"
  it('mounts a blob from a named repository with 201 and the blob Location', async () => {
    const res = await admin.fetch(`/v2/conf/target1/blobs/uploads/?mount=${c.digest}&from=${source}`, { method: 'POST' });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/v2/conf/target1/blobs/${c.digest}`);
    expect(res.headers.get('docker-content-digest')).toBe(c.digest);
    await expectPullable(admin, res.headers.get('location')!, c);
  });

  // "Alternatively, if a registry supports automatic content discovery, the `from` parameter MAY
  // be omitted and the registry SHOULD find the blob" (OCI_AUTOMATIC_CROSSMOUNT=1: 201).
  it('finds the source itself when `from` is left out (automatic content discovery)', async () => {
    const res = await admin.fetch(`/v2/other/target2/blobs/uploads/?mount=${c.digest}`, { method: 'POST' });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/v2/other/target2/blobs/${c.digest}`);
    await expectPullable(admin, res.headers.get('location')!, c);
  });

  // "If the registry does not support cross-repository mounting or is unable to mount the
  // requested blob, it SHOULD return a 202. This indicates that the upload session has begun and
  // that the client MAY proceed with the upload."
  it.each([
    ['a blob nobody holds, without from', `mount=${digest('hello world')}`],
    ['a blob the named source does not hold', `mount=${digest('hello world')}&from=${source}`],
    ['a blob from a repository that does not exist', `mount=placeholder&from=conf/nowhere`],
  ])('falls back to an upload session for %s', async (_label, q) => {
    const query = q.replace('placeholder', c.digest);
    const res = await admin.fetch(`/v2/conf/target3/blobs/uploads/?${query}`, { method: 'POST' });
    expect(res.status).toBe(202);
    const location = res.headers.get('location')!;
    expect(location).toMatch(/^\/v2\/conf\/target3\/blobs\/uploads\/[0-9a-f-]{36}$/);
    // the session is a normal one: conformance2 completes it with a PUT
    const fresh = randomLayer(64);
    const put = await admin.fetch(`${location}?digest=${fresh.digest}`, { method: 'PUT', body: fresh.bytes });
    expect(put.status).toBe(201);
  });

  it('answers a mount into a project that does not exist with 404 NAME_UNKNOWN', async () => {
    const res = await admin.fetch(`/v2/nosuchproject/x/blobs/uploads/?mount=${c.digest}&from=${source}`, { method: 'POST' });
    expect(res.status).toBe(404);
    const [e] = await errorsOf(res);
    expect(e!.code).toBe('NAME_UNKNOWN');
    expect(e!.message).toContain('project nosuchproject does not exist');
  });
});

describe('cross-repository mount with token auth, as the conformance suites authenticate', () => {
  // The suites ask for a token with exactly the challenge's scope, which names only the target
  // repository; the mount source is authorised on the token's subject (admin may pull it).
  it('mounts with `from` and without it', async () => {
    const client = new ChallengeClient(s.url, 'admin', ADMIN_PASSWORD);
    const d = randomLayer(300);
    await putBlob(admin, 'conf/source2', d);
    const withFrom = await client.fetch(`/v2/conf/tok1/blobs/uploads/?mount=${d.digest}&from=conf/source2`, { method: 'POST' });
    expect(withFrom.status).toBe(201);
    expect(client.challenges.at(-1)!.params['scope']).toBe('repository:conf/tok1:pull,push');
    await expectPullable(client, withFrom.headers.get('location')!, d);
    const without = await client.fetch(`/v2/conf/tok2/blobs/uploads/?mount=${d.digest}`, { method: 'POST' });
    expect(without.status).toBe(201);
    await expectPullable(client, `/v2/conf/tok2/blobs/${d.digest}`, d);
  });
});
