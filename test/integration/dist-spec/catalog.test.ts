import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChallengeClient, createProject, errorsOf, RegistryClient } from '../../helpers/registry-client.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../../helpers/server.js';
import { putBlob, randomLayer } from './oci-fixtures.js';

// The catalog (`GET /v2/_catalog`, Docker Registry API; not part of OCI v1.1 but served by
// Harbor and Distribution with the same n/last/Link paging as tags/list). Only system admins
// may list every repository (Harbor's rule).

let s: TestServer;
let admin: RegistryClient;
const REPOS = ['conf/b', 'conf/a', 'library/z', 'conf/a/deep', 'conf/a-b'];
const SORTED = ['conf/a', 'conf/a-b', 'conf/a/deep', 'conf/b', 'library/z'];

beforeAll(async () => {
  s = await startTestServer();
  admin = new RegistryClient(s.url, s.adminBasic);
  await createProject(s.url, s.adminBasic, 'conf');
  for (const r of REPOS) await putBlob(admin, r, randomLayer(32));
  await s.server.berth.users.create({ username: 'alice', password: 'Alice12345' });
});
afterAll(() => s.stop());

describe('GET /v2/_catalog', () => {
  it('lists repositories in byte order', async () => {
    const res = await admin.fetch('/v2/_catalog');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ repositories: SORTED });
  });

  it('pages with n and last and a Link to the next page', async () => {
    const res = await admin.fetch('/v2/_catalog?n=2');
    expect(((await res.json()) as { repositories: string[] }).repositories).toEqual(SORTED.slice(0, 2));
    expect(res.headers.get('link')).toBe(`</v2/_catalog?n=2&last=${encodeURIComponent('conf/a-b')}>; rel="next"`);
    const next = await admin.fetch(/^<([^>]+)>/.exec(res.headers.get('link')!)![1]!);
    expect(((await next.json()) as { repositories: string[] }).repositories).toEqual(SORTED.slice(2, 4));
    const last = await admin.fetch(`/v2/_catalog?last=conf/b`);
    expect(((await last.json()) as { repositories: string[] }).repositories).toEqual(['library/z']);
    expect(last.headers.get('link')).toBeNull();
  });

  it('asks anonymous callers to authenticate for registry:catalog:*', async () => {
    const res = await fetch(`${s.url}/v2/_catalog`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('scope="registry:catalog:*"');
  });

  it('lists for an admin token obtained through the challenge, and refuses other users', async () => {
    const client = new ChallengeClient(s.url, 'admin', ADMIN_PASSWORD);
    const res = await client.fetch('/v2/_catalog');
    expect(res.status).toBe(200);
    expect(((await res.json()) as { repositories: string[] }).repositories).toEqual(SORTED);
    const aliceBasic = new RegistryClient(s.url, `Basic ${Buffer.from('alice:Alice12345').toString('base64')}`);
    const denied = await aliceBasic.fetch('/v2/_catalog');
    expect(denied.status).toBe(403);
    expect((await errorsOf(denied))[0]!.code).toBe('DENIED');
    const aliceToken = await new ChallengeClient(s.url, 'alice', 'Alice12345').fetch('/v2/_catalog');
    expect(aliceToken.status).toBe(401);
    expect(aliceToken.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
  });
});
