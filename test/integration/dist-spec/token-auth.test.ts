import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChallengeClient, createProject, errorsOf, parseChallenge, RegistryClient } from '../../helpers/registry-client.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../../helpers/server.js';
import { config, index, manifest, OCI_INDEX, OCI_MANIFEST, pushImage, randomLayer } from './oci-fixtures.js';

// How the conformance suites authenticate (reggie's retryRequestWithAuth and conformance2's
// getAuthHeader): every request goes out without credentials; a 401 carries
// `WWW-Authenticate: Bearer realm=…,service=…,scope=…`; the suite GETs the realm with Basic
// credentials and that scope, and repeats the request with the token. Docker token spec:
// "the registry ... responds with a 401 Unauthorized ... and a WWW-Authenticate header that
// details how to authenticate"; the granted scope is what was asked, cut to what is allowed.

let s: TestServer;
let admin: RegistryClient;
let anon: RegistryClient;
let suite: ChallengeClient;
const aliceBasic = `Basic ${Buffer.from('alice:Alice12345').toString('base64')}`;

beforeAll(async () => {
  s = await startTestServer();
  admin = new RegistryClient(s.url, s.adminBasic);
  anon = new RegistryClient(s.url);
  suite = new ChallengeClient(s.url, 'admin', ADMIN_PASSWORD);
  await createProject(s.url, s.adminBasic, 'conf');
  await s.server.berth.users.create({ username: 'alice', password: 'Alice12345' });
  await pushImage(admin, 'library/public', 'v1');
  await pushImage(admin, 'conf/private', 'v1');
});
afterAll(() => s.stop());

function lastScope(c: ChallengeClient): string | undefined {
  return c.challenges.at(-1)?.params['scope'];
}

describe('the challenge', () => {
  it('names the realm, the service and the scope the request needs', async () => {
    const cases: [string, string, string][] = [
      ['GET', '/v2/conf/private/manifests/v1', 'repository:conf/private:pull'],
      ['HEAD', '/v2/conf/private/blobs/sha256:' + '0'.repeat(64), 'repository:conf/private:pull'],
      ['POST', '/v2/conf/new/blobs/uploads/', 'repository:conf/new:pull,push'],
      ['PUT', '/v2/library/public/manifests/v2', 'repository:library/public:pull,push'],
      ['DELETE', '/v2/conf/private/manifests/v1', 'repository:conf/private:delete'],
      ['GET', '/v2/_catalog', 'registry:catalog:*'],
    ];
    for (const [method, path, scope] of cases) {
      const res = await anon.fetch(path, { method });
      expect(res.status, `${method} ${path}`).toBe(401);
      const c = parseChallenge(res.headers.get('www-authenticate')!);
      expect(c.scheme).toBe('bearer');
      expect(c.params).toEqual({ realm: `${s.url}/service/token`, service: 'berth', scope });
    }
  });

  // Harbor: anonymous users pull public projects; they never push.
  it('lets anonymous callers pull from the public library project but not push to it', async () => {
    const pull = await anon.fetch('/v2/library/public/manifests/v1', { headers: { accept: OCI_MANIFEST } });
    expect(pull.status).toBe(200);
    const push = await anon.fetch('/v2/library/public/blobs/uploads/', { method: 'POST' });
    expect(push.status).toBe(401);
    expect(push.headers.get('www-authenticate')).toContain('scope="repository:library/public:pull,push"');
    expect((await errorsOf(push))[0]!.code).toBe('UNAUTHORIZED');
  });

  // An anonymous token (no credentials at the realm) carries what anonymous users may do.
  it('issues anonymous tokens that pull public content and no more', async () => {
    const tokenRes = await fetch(`${s.url}/service/token?service=berth&scope=repository:library/public:pull,push`);
    const { token } = (await tokenRes.json()) as { token: string };
    const bearer = new RegistryClient(s.url, `Bearer ${token}`);
    expect((await bearer.fetch('/v2/library/public/manifests/v1')).status).toBe(200);
    const push = await bearer.fetch('/v2/library/public/blobs/uploads/', { method: 'POST' });
    expect(push.status).toBe(401);
    expect(push.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
  });
});

describe('the conformance suites\u2019 token flow as admin', () => {
  it('pushes blobs (POST+PUT, chunks, single POST) and manifests, pulls, lists and deletes', async () => {
    const repo = 'conf/flow';
    const cfg = config();
    const layer = randomLayer(3000);
    const small = randomLayer(100);
    // POST then PUT
    const post = await suite.fetch(`/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    expect(post.status).toBe(202);
    expect(lastScope(suite)).toBe(`repository:${repo}:pull,push`);
    const put = await suite.fetch(`${post.headers.get('location')}?digest=${cfg.digest}`, { method: 'PUT', body: cfg.bytes });
    expect(put.status).toBe(201);
    // chunked: every PATCH body is sent twice (once unauthenticated), the upload grows once
    const post2 = await suite.fetch(`/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: { 'content-length': '0' } });
    let loc = post2.headers.get('location')!;
    for (const [a, b] of [
      [0, 1499],
      [1500, 2999],
    ] as const) {
      const res = await suite.fetch(loc, { method: 'PATCH', body: layer.bytes.subarray(a, b + 1), headers: { 'content-range': `${a}-${b}` } });
      expect(res.status).toBe(202);
      expect(res.headers.get('range')).toBe(`0-${b}`);
      loc = res.headers.get('location')!;
    }
    expect((await suite.fetch(`${loc}?digest=${layer.digest}`, { method: 'PUT' })).status).toBe(201);
    // single POST
    expect((await suite.fetch(`/v2/${repo}/blobs/uploads/?digest=${small.digest}`, { method: 'POST', body: small.bytes })).status).toBe(201);

    const m = manifest({ config: cfg.descriptor, layers: [layer.descriptor, small.descriptor] });
    const mput = await suite.fetch(`/v2/${repo}/manifests/tagtest0`, { method: 'PUT', body: m.bytes, headers: { 'content-type': OCI_MANIFEST } });
    expect(mput.status).toBe(201);
    const idx = index({ manifests: [m.descriptor] });
    expect((await suite.fetch(`/v2/${repo}/manifests/${idx.digest}`, { method: 'PUT', body: idx.bytes, headers: { 'content-type': OCI_INDEX } })).status).toBe(201);

    const get = await suite.fetch(`/v2/${repo}/manifests/tagtest0`, { headers: { accept: OCI_MANIFEST } });
    expect(get.status).toBe(200);
    expect(lastScope(suite)).toBe(`repository:${repo}:pull`);
    expect(Buffer.from(await get.arrayBuffer()).equals(m.bytes)).toBe(true);
    const blob = await suite.fetch(`/v2/${repo}/blobs/${layer.digest}`);
    expect(Buffer.from(await blob.arrayBuffer()).equals(layer.bytes)).toBe(true);
    const tags = await suite.fetch(`/v2/${repo}/tags/list`);
    expect(await tags.json()).toEqual({ name: repo, tags: ['tagtest0'] });
    const refs = await suite.fetch(`/v2/${repo}/referrers/${m.digest}`);
    expect(refs.status).toBe(200);

    expect((await suite.fetch(`/v2/${repo}/manifests/tagtest0`, { method: 'DELETE' })).status).toBe(202);
    expect(lastScope(suite)).toBe(`repository:${repo}:delete`);
    expect((await suite.fetch(`/v2/${repo}/manifests/${idx.digest}`, { method: 'DELETE' })).status).toBe(202);
    expect((await suite.fetch(`/v2/${repo}/manifests/${m.digest}`, { method: 'DELETE' })).status).toBe(202);
    expect((await suite.fetch(`/v2/${repo}/blobs/${cfg.digest}`, { method: 'DELETE' })).status).toBe(202);
    expect((await suite.fetch(`/v2/${repo}/blobs/${cfg.digest}`, { method: 'HEAD' })).status).toBe(404);
    expect(suite.tokenFailures).toEqual([]);
  });

  it('refuses a token for one repository on another with insufficient_scope', async () => {
    const tokenRes = await fetch(`${s.url}/service/token?service=berth&scope=repository:conf/private:pull`, { headers: { authorization: s.adminBasic } });
    const { token } = (await tokenRes.json()) as { token: string };
    const bearer = new RegistryClient(s.url, `Bearer ${token}`);
    expect((await bearer.fetch('/v2/conf/private/manifests/v1')).status).toBe(200);
    const other = await bearer.fetch('/v2/conf/flow-other/blobs/uploads/', { method: 'POST' });
    expect(other.status).toBe(401);
    expect(parseChallenge(other.headers.get('www-authenticate')!).params).toMatchObject({ scope: 'repository:conf/flow-other:pull,push', error: 'insufficient_scope' });
  });

  it('answers a token that is not ours with 401 invalid_token', async () => {
    const res = await new RegistryClient(s.url, 'Bearer not-a-token').fetch('/v2/library/public/manifests/v1');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });
});

describe('a user who is not an admin', () => {
  // Harbor's rules before project roles: a signed-in user pulls public projects only.
  it('is refused a push with 403 DENIED when using Basic, and may pull public content', async () => {
    const alice = new RegistryClient(s.url, aliceBasic);
    const push = await alice.fetch('/v2/library/public/blobs/uploads/', { method: 'POST' });
    expect(push.status).toBe(403);
    expect((await errorsOf(push))[0]!.code).toBe('DENIED');
    expect(push.headers.get('www-authenticate')).toBeNull();
    expect((await alice.fetch('/v2/library/public/manifests/v1')).status).toBe(200);
    const priv = await alice.fetch('/v2/conf/private/manifests/v1');
    expect(priv.status).toBe(403);
    expect((await errorsOf(priv))[0]!.code).toBe('DENIED');
  });

  it('gets a token without push through the challenge flow, and the push is refused', async () => {
    const c = new ChallengeClient(s.url, 'alice', 'Alice12345');
    const push = await c.fetch('/v2/library/public/blobs/uploads/', { method: 'POST' });
    expect(push.status).toBe(401);
    expect(push.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    expect((await c.fetch('/v2/conf/private/manifests/v1')).status).toBe(401);
  });

  it('is refused a token for wrong credentials', async () => {
    const c = new ChallengeClient(s.url, 'alice', 'wrong');
    const res = await c.fetch('/v2/conf/private/manifests/v1');
    expect(res.status).toBe(401);
    expect(c.tokenFailures).toEqual([401]);
  });
});
