import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../helpers/registry-client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let s: TestServer;
let admin: RegistryClient;
let anon: RegistryClient;

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const put = (json: unknown) => admin.fetch('/api/v2.0/configurations', { method: 'PUT', body: JSON.stringify(json), headers: { 'content-type': 'application/json' } });
const errorOf = async (res: Response) => ((await res.json()) as { errors: { code: string; message: string }[] }).errors[0]!;
type Items = Record<string, { value: unknown; editable: boolean }>;
const config = async () => (await (await admin.fetch('/api/v2.0/configurations')).json()) as Items;

beforeAll(async () => {
  s = await startTestServer({ BERTH_AUTH_SESSION_TIMEOUT_SECONDS: '1800', BERTH_AUTH_TOKEN_TTL_SECONDS: '600' });
  admin = new RegistryClient(s.url, s.adminBasic);
  anon = new RegistryClient(s.url);
});
afterAll(() => s.stop());

// the order matters: auth_mode may change only before the first non-admin user exists
describe('Harbor configurations (/api/v2.0/configurations)', () => {
  it('answers {value, editable} items with Harbor’s defaults, and the deployment’s fixed values', async () => {
    const res = await admin.fetch('/api/v2.0/configurations');
    expect(res.status).toBe(200);
    const c = (await res.json()) as Items;
    expect(c['auth_mode']).toEqual({ value: 'db_auth', editable: true });
    expect(c['project_creation_restriction']).toEqual({ value: 'everyone', editable: true });
    expect(c['self_registration']).toEqual({ value: false, editable: false });
    expect(c['robot_token_duration']).toEqual({ value: 30, editable: true });
    expect(c['robot_name_prefix']).toEqual({ value: 'robot$', editable: false });
    // minutes, from auth.tokenTtlSeconds and auth.sessionTimeoutSeconds
    expect(c['token_expiration']).toEqual({ value: 10, editable: false });
    expect(c['session_timeout']).toEqual({ value: 30, editable: false });
    expect(c['ldap_scope']).toEqual({ value: 2, editable: true });
    expect(c['ldap_uid']).toEqual({ value: 'cn', editable: true });
    expect(c['ldap_verify_cert']).toEqual({ value: true, editable: true });
    expect(c['oidc_scope']).toEqual({ value: 'openid,offline_access', editable: true });
    expect(c['oidc_auto_onboard']).toEqual({ value: false, editable: true });
    // write-only
    expect(c).not.toHaveProperty('ldap_search_password');
    expect(c).not.toHaveProperty('oidc_client_secret');
  });

  it('is for system administrators only: 401 anonymous, 403 for a user', async () => {
    expect((await anon.fetch('/api/v2.0/configurations')).status).toBe(401);
    expect((await anon.fetch('/api/v2.0/configurations', { method: 'PUT', body: '{}', headers: { 'content-type': 'application/json' } })).status).toBe(401);
  });

  it('changes auth_mode while only administrators exist, and refuses local users in a directory mode', async () => {
    expect((await put({ auth_mode: 'ldap_auth' })).status).toBe(200);
    expect((await config())['auth_mode']).toEqual({ value: 'ldap_auth', editable: true });
    const info = (await (await anon.fetch('/api/v2.0/systeminfo')).json()) as { auth_mode: string };
    expect(info.auth_mode).toBe('ldap_auth');
    const create = await admin.fetch('/api/v2.0/users', { method: 'POST', body: JSON.stringify({ username: 'local1', password: 'Passw0rdX' }), headers: { 'content-type': 'application/json' } });
    expect(create.status).toBe(403);
    expect((await put({ auth_mode: 'db_auth' })).status).toBe(200);
  });

  it('refuses to change auth_mode once other users exist (Harbor’s rule), and says it is not editable', async () => {
    await s.server.berth.users.create({ username: 'alice', password: 'Alice12345' });
    expect((await config())['auth_mode']).toEqual({ value: 'db_auth', editable: false });
    const res = await put({ auth_mode: 'oidc_auth' });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toMatch(/auth mode cannot be modified/);
    expect((await config())['auth_mode']!.value).toBe('db_auth');
    // repeating the current value changes nothing and is no error
    expect((await put({ auth_mode: 'db_auth' })).status).toBe(200);
    const alice = new RegistryClient(s.url, basic('alice', 'Alice12345'));
    expect((await alice.fetch('/api/v2.0/configurations')).status).toBe(403);
    expect((await alice.fetch('/api/v2.0/configurations', { method: 'PUT', body: JSON.stringify({ robot_token_duration: 5 }), headers: { 'content-type': 'application/json' } })).status).toBe(403);
  });

  it('applies project_creation_restriction at once, and /systeminfo reports it', async () => {
    const alice = new RegistryClient(s.url, basic('alice', 'Alice12345'));
    const create = (name: string) => alice.fetch('/api/v2.0/projects', { method: 'POST', body: JSON.stringify({ project_name: name }), headers: { 'content-type': 'application/json' } });
    expect((await create('by-alice-1')).status).toBe(201);
    expect((await put({ project_creation_restriction: 'adminonly' })).status).toBe(200);
    expect((await create('by-alice-2')).status).toBe(403);
    const info = (await (await anon.fetch('/api/v2.0/systeminfo')).json()) as { project_creation_restriction: string; self_registration: boolean };
    expect(info).toMatchObject({ project_creation_restriction: 'adminonly', self_registration: false });
    expect((await put({ project_creation_restriction: 'everyone' })).status).toBe(200);
    expect((await create('by-alice-3')).status).toBe(201);
  });

  it('validates every key’s type and allowed values, reports all problems at once and stores nothing then', async () => {
    const res = await put({ robot_token_duration: 7, ldap_scope: 7, auth_mode: 5, nonsense_key: true, ldap_url: 'http://ldap.example', oidc_verify_cert: 'yes' });
    expect(res.status).toBe(400);
    const { code, message } = await errorOf(res);
    expect(code).toBe('BAD_REQUEST');
    for (const k of ['ldap_scope', 'auth_mode', 'nonsense_key: unknown configuration key', 'ldap_url', 'oidc_verify_cert']) expect(message).toContain(k);
    expect(message).not.toContain('robot_token_duration');
    expect((await config())['robot_token_duration']!.value).toBe(30);

    const bad: Record<string, unknown>[] = [
      { robot_token_duration: 0 },
      { robot_token_duration: 1.5 },
      { robot_token_duration: '30' },
      { project_creation_restriction: 'nobody' },
      { ldap_filter: 'uid=*' },
      { ldap_timeout: 0 },
      { oidc_endpoint: 'ftp://idp.example' },
      { oidc_scope: 'profile,email' },
      { oidc_extra_redirect_parms: '{"a":1}' },
      { oidc_group_filter: '(' },
      { email_host: 'smtp.example' },
      { ldap_base_dn: 'x'.repeat(5000) },
    ];
    for (const b of bad) expect((await put(b)).status, JSON.stringify(b).slice(0, 80)).toBe(400);
    expect((await admin.fetch('/api/v2.0/configurations', { method: 'PUT', body: '[1]', headers: { 'content-type': 'application/json' } })).status).toBe(400);
  });

  it('refuses to change what the deployment fixes, but takes its current value back', async () => {
    for (const b of [{ self_registration: true }, { token_expiration: 99 }, { session_timeout: 5 }, { robot_name_prefix: 'bot-' }]) {
      const res = await put(b);
      expect(res.status, JSON.stringify(b)).toBe(400);
      expect((await errorOf(res)).message).toMatch(/not editable/);
    }
    expect((await put({ self_registration: false, token_expiration: 10, session_timeout: 30, robot_name_prefix: 'robot$' })).status).toBe(200);
  });

  it('stores the LDAP and OIDC settings for their services; secrets are write-only', async () => {
    const res = await put({
      ldap_url: 'ldaps://ldap.example.org:636',
      ldap_search_dn: 'cn=reader,dc=example,dc=org',
      ldap_search_password: 'S3cret-bind-pw',
      ldap_base_dn: 'ou=people,dc=example,dc=org',
      ldap_filter: '(objectClass=person)',
      ldap_scope: 1,
      oidc_endpoint: 'https://idp.example.org',
      oidc_client_secret: 'oidc-Client-S3cret',
      oidc_extra_redirect_parms: '{"prompt":"login"}',
      robot_token_duration: 90,
    });
    expect(res.status).toBe(200);
    const c = await config();
    expect(c['ldap_url']!.value).toBe('ldaps://ldap.example.org:636');
    expect(c['ldap_scope']!.value).toBe(1);
    expect(c['robot_token_duration']!.value).toBe(90);
    const raw = JSON.stringify(c);
    expect(raw).not.toContain('S3cret-bind-pw');
    expect(raw).not.toContain('oidc-Client-S3cret');
    expect(c).not.toHaveProperty('ldap_search_password');
    // the services read them
    const all = await s.server.berth.settings.all();
    expect(all.ldap_search_password).toBe('S3cret-bind-pw');
    expect(all.oidc_client_secret).toBe('oidc-Client-S3cret');
    expect(await s.server.berth.settings.get('ldap_base_dn')).toBe('ou=people,dc=example,dc=org');
  });

  it('audits every change, naming the keys and hiding secret values', async () => {
    expect((await put({ ldap_search_password: 'An0ther-secret', ldap_uid: 'uid' })).status).toBe(200);
    const page = await s.server.berth.metadata.audit.list({ resourceType: 'configuration' }, { limit: 50 });
    const last = page.items[0]!;
    expect(last).toMatchObject({ operator: 'admin', operation: 'update', resourceType: 'configuration', sourceIp: '127.0.0.1', result: 'success' });
    expect(last.resource.split(',').sort()).toEqual(['ldap_search_password', 'ldap_uid']);
    expect(last.detail).toEqual({ changed: { ldap_search_password: '[secret]', ldap_uid: 'uid' } });
    const everything = JSON.stringify(page.items);
    expect(everything).not.toContain('An0ther-secret');
    expect(everything).not.toContain('S3cret-bind-pw');
    expect(everything).not.toContain('oidc-Client-S3cret');
    // a PUT that changes nothing is not a change
    const before = page.items.length;
    expect((await put({ ldap_uid: 'uid' })).status).toBe(200);
    expect((await s.server.berth.metadata.audit.list({ resourceType: 'configuration' }, { limit: 50 })).items).toHaveLength(before);
  });
});
