import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../helpers/registry-client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let s: TestServer;
let admin: RegistryClient;
const aliceBasic = `Basic ${Buffer.from('alice:Alice12345').toString('base64')}`;

beforeAll(async () => {
  s = await startTestServer();
  admin = new RegistryClient(s.url, s.adminBasic);
  await s.server.berth.users.create({ username: 'alice', password: 'Alice12345' });
  await admin.fetch('/api/v2.0/projects', { method: 'POST', body: JSON.stringify({ project_name: 'private1' }), headers: { 'content-type': 'application/json' } });
  await admin.pushImage('library/pub', 'v1');
  await admin.pushImage('private1/app', 'v1');
});
afterAll(() => s.stop());

async function token(scopes: string[], authorization?: string): Promise<{ token: string; access: { type: string; name: string; actions: string[] }[] }> {
  const q = new URLSearchParams({ service: 'berth' });
  for (const sc of scopes) q.append('scope', sc);
  const res = await fetch(`${s.url}/service/token?${q}`, { headers: authorization ? { authorization } : {} });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { token: string; access_token: string; expires_in: number; issued_at: string };
  expect(body.access_token).toBe(body.token);
  expect(body.expires_in).toBeGreaterThanOrEqual(60);
  return { token: body.token, access: (decodeJwt(body.token) as { access: { type: string; name: string; actions: string[] }[] }).access };
}

describe('Docker token service', () => {
  it('signs ES256 tokens for the berth audience', async () => {
    const { token: t } = await token([], s.adminBasic);
    expect(decodeProtectedHeader(t).alg).toBe('ES256');
    const claims = decodeJwt(t);
    expect(claims.aud).toBe('berth');
    expect(claims.sub).toBe('admin');
  });

  it('grants the intersection of what was asked and what is allowed', async () => {
    expect((await token(['repository:private1/app:pull,push,delete'], s.adminBasic)).access).toEqual([
      { type: 'repository', name: 'private1/app', actions: ['pull', 'push', 'delete'] },
    ]);
    expect((await token(['repository:library/pub:pull,push'], aliceBasic)).access).toEqual([{ type: 'repository', name: 'library/pub', actions: ['pull'] }]);
    expect((await token(['repository:private1/app:pull'], aliceBasic)).access).toEqual([{ type: 'repository', name: 'private1/app', actions: [] }]);
    expect((await token(['repository:library/pub:pull,push'])).access).toEqual([{ type: 'repository', name: 'library/pub', actions: ['pull'] }]);
    expect((await token(['repository:library/pub:*'], s.adminBasic)).access[0]!.actions).toEqual(['pull', 'push', 'delete']);
    expect((await token(['registry:catalog:*'], aliceBasic)).access).toEqual([{ type: 'registry', name: 'catalog', actions: [] }]);
    expect((await token(['registry:catalog:*'], s.adminBasic)).access).toEqual([{ type: 'registry', name: 'catalog', actions: ['*'] }]);
  });

  it('merges several scopes, space-separated or repeated', async () => {
    const { access } = await token(['repository:library/pub:pull repository:private1/app:pull', 'repository:library/pub:push'], s.adminBasic);
    expect(access).toEqual([
      { type: 'repository', name: 'library/pub', actions: ['pull', 'push'] },
      { type: 'repository', name: 'private1/app', actions: ['pull'] },
    ]);
  });

  it('refuses bad credentials and a foreign service', async () => {
    const bad = await fetch(`${s.url}/service/token?service=berth`, { headers: { authorization: `Basic ${Buffer.from('admin:wrong').toString('base64')}` } });
    expect(bad.status).toBe(401);
    const nobody = await fetch(`${s.url}/service/token?service=berth`, { headers: { authorization: `Basic ${Buffer.from('nobody:wrong').toString('base64')}` } });
    expect(nobody.status).toBe(401);
    expect(await nobody.text()).toBe(await bad.text().catch(() => ''));
    expect((await fetch(`${s.url}/service/token?service=other`)).status).toBe(400);
  });

  it('issues tokens through the OAuth2 POST form (containerd)', async () => {
    const res = await fetch(`${s.url}/service/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', username: 'admin', password: 'Admin12345', service: 'berth', scope: 'repository:library/pub:pull', client_id: 'test' }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { access_token: string };
    expect((decodeJwt(body.access_token) as { access: unknown[] }).access).toEqual([{ type: 'repository', name: 'library/pub', actions: ['pull'] }]);
    const wrong = await fetch(`${s.url}/service/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', username: 'admin', password: 'nope', service: 'berth' }),
    });
    expect(wrong.status).toBe(401);
  });

  it('is bound by its grants on /v2: a pull token cannot push, a forged or expired token is refused', async () => {
    const { token: t } = await token(['repository:private1/app:pull'], s.adminBasic);
    const bearer = new RegistryClient(s.url, `Bearer ${t}`);
    expect((await bearer.fetch('/v2/private1/app/manifests/v1', { method: 'HEAD' })).status).toBe(200);
    const push = await bearer.fetch('/v2/private1/app/blobs/uploads/', { method: 'POST' });
    expect(push.status).toBe(401);
    expect(push.headers.get('www-authenticate')).toContain('scope="repository:private1/app:pull,push"');
    expect(push.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    // another repository is not covered by the token, even for an admin
    expect((await bearer.fetch('/v2/library/pub/manifests/v1', { method: 'HEAD' })).status).toBe(401);
    const [h, p] = t.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...decodeJwt(t), access: [{ type: 'repository', name: 'private1/app', actions: ['push'] }] })).toString('base64url')}.${t.split('.')[2]}`;
    expect(p).toBeDefined();
    const res = await new RegistryClient(s.url, `Bearer ${forged}`).fetch('/v2/private1/app/manifests/v1', { method: 'HEAD' });
    expect(res.status).toBe(401);
  });
});
