import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP_TYPES } from '../../src/ports/identity-repos.js';
import { selfSignedCert, startOidcProvider, TestBrowser, type TestOidcProvider } from '../helpers/oidc-provider.js';
import { createTestSchema, type TestSchema } from '../helpers/postgres.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const jwtPayload = (t: string) => JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;

describe.each(['sqlite', 'postgres'] as const)('OIDC sign-in on %s against a real OpenID provider', (driver) => {
  let s: TestServer;
  let op: TestOidcProvider;
  let schema: TestSchema | undefined;
  const accounts: Record<string, Record<string, unknown>> = {
    alice: { name: 'alice', preferred_username: 'alice.p', email: 'alice@example.com', groups: ['dev', 'ops'] },
    root: { name: 'root', email: 'root@example.com', groups: ['berth-admins', 'dev'] },
    bob: { name: 'Bob Builder', email: 'bob@example.com', groups: ['dev'] },
    carol: { name: 'Carol Smith', email: 'carol@example.com' },
    dave: { name: 'dave', email: 'dave@example.com' },
    mallory: { name: 'mallory', email: 'mallory@example.com' },
    frank: { name: 'frank' },
    grace: { name: 'grace' },
  };

  const setConfig = (values: Record<string, unknown>) => s.server.berth.metadata.config.set(values, Date.now());
  const userNamed = (name: string) => s.server.berth.metadata.users.getByUsername(name);
  const audit = (filter: { operator?: string; operation?: string }) => s.server.berth.metadata.audit.list(filter, { limit: 100 }).then((p) => p.items);

  /** the whole sign-in in a new browser; returns the browser (holding the session) and the final answer */
  async function signIn(account: string, opts: { loginQuery?: string } = {}) {
    const browser = new TestBrowser();
    const callback = await browser.authorize(s.url, op, account, opts);
    const res = await browser.get(callback);
    return { browser, res, callback };
  }

  async function current(browser: TestBrowser) {
    return browser.get(`${s.url}/api/v2.0/users/current`);
  }

  beforeAll(async () => {
    if (driver === 'postgres') schema = await createTestSchema();
    s = await startTestServer(
      schema ? { BERTH_DATABASE_DRIVER: 'postgres', BERTH_DATABASE_URL: schema.url, BERTH_DATABASE_SCHEMA: schema.schema } : {},
    );
    expect(s.server.berth.metadata.dialect).toBe(driver);
    op = await startOidcProvider({ redirectUris: [`${s.url}/c/oidc/callback`], accounts });
    await setConfig({
      auth_mode: 'oidc_auth',
      oidc_name: 'test provider',
      oidc_endpoint: op.issuer,
      oidc_client_id: op.clientId,
      oidc_client_secret: op.clientSecret,
      oidc_scope: 'openid,profile,email,groups',
      oidc_verify_cert: true,
      oidc_auto_onboard: true,
      oidc_groups_claim: 'groups',
      oidc_admin_group: 'berth-admins',
    });
  });

  afterAll(async () => {
    await op?.stop();
    await s?.stop();
    await schema?.drop();
  });

  it('sends the browser to the provider with response_type=code, PKCE S256, state and nonce', async () => {
    const browser = new TestBrowser();
    const res = await browser.get(`${s.url}/c/oidc/login`);
    expect(res.status).toBe(302);
    const to = new URL(res.headers.get('location')!);
    expect(to.origin).toBe(op.issuer);
    expect(to.searchParams.get('response_type')).toBe('code');
    expect(to.searchParams.get('client_id')).toBe(op.clientId);
    expect(to.searchParams.get('redirect_uri')).toBe(`${s.url}/c/oidc/callback`);
    expect(to.searchParams.get('code_challenge_method')).toBe('S256');
    expect(to.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(to.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(to.searchParams.get('scope')!.split(' ')).toEqual(['openid', 'profile', 'email', 'groups']);
    // the browser keeps the state: the callback must come back to the browser that started
    const state = to.searchParams.get('state');
    expect(state).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(browser.cookie(new URL(s.url).host, 'berth_oidc_state')).toBe(state);
    // two sign-ins never share a state
    const again = new URL((await new TestBrowser().get(`${s.url}/c/oidc/login`)).headers.get('location')!);
    expect(again.searchParams.get('state')).not.toBe(state);
  });

  it('signs a user in, onboards them once, and the session cookie works on /api/v2.0/users/current', async () => {
    const first = await signIn('alice');
    expect(first.res.status).toBe(302);
    expect(first.res.headers.get('location')).toBe('/');
    const setCookies = first.res.headers.getSetCookie();
    const sid = setCookies.find((c) => c.startsWith('sid='))!;
    expect(sid).toMatch(/HttpOnly/);
    expect(sid).toMatch(/SameSite=Lax/);
    expect(sid).toMatch(/Path=\//);

    const me = await current(first.browser);
    expect(me.status).toBe(200);
    const body = (await me.json()) as Record<string, unknown>;
    expect(body['username']).toBe('alice');
    expect(body['email']).toBe('alice@example.com');
    const user = await userNamed('alice');
    expect(user).toMatchObject({ authSource: 'oidc', externalId: `${op.issuer}|alice`, sysadmin: false });

    const second = await signIn('alice');
    expect(second.res.status).toBe(302);
    expect((await userNamed('alice'))!.id).toBe(user!.id);
    const created = await audit({ operator: 'alice', operation: 'create' });
    expect(created.filter((e) => e.resourceType === 'user' && e.resource === 'alice')).toHaveLength(1);
  });

  it('shows the CLI secret in oidc_user_meta to the user themself', async () => {
    const { browser } = await signIn('alice');
    const body = (await (await current(browser)).json()) as { oidc_user_meta?: Record<string, unknown> };
    expect(body.oidc_user_meta).toMatchObject({ subiss: `${op.issuer}|alice` });
    expect(body.oidc_user_meta!['secret']).toMatch(/^.{20,}$/);
    // an administrator looking at the user does not see it
    const id = (await userNamed('alice'))!.id;
    const asAdmin = await fetch(`${s.url}/api/v2.0/users/${id}`, { headers: { authorization: s.adminBasic } });
    expect(asAdmin.status).toBe(200);
    const adminView = (await asAdmin.json()) as { oidc_user_meta?: Record<string, unknown> };
    expect(adminView.oidc_user_meta?.['secret']).toBeUndefined();
  });

  it('the groups claim becomes OIDC group memberships, refreshed at each sign-in, and grants project rights', async () => {
    await signIn('alice');
    const alice = (await userNamed('alice'))!;
    const groups = await s.server.berth.metadata.groups.list({ type: GROUP_TYPES.oidc }, { offset: 0, limit: 100 });
    const byName = new Map(groups.items.map((g) => [g.name, g.id]));
    expect([...byName.keys()]).toEqual(expect.arrayContaining(['dev', 'ops']));
    expect((await s.server.berth.metadata.groups.groupIdsOf(alice.id)).sort()).toEqual([byName.get('dev'), byName.get('ops')].sort());

    // the group `dev` is a developer of a private project: alice may push there through it
    await s.server.berth.projects.ensure('oidc-team', false);
    const project = (await s.server.berth.metadata.projects.getByName('oidc-team'))!;
    await s.server.berth.metadata.members.add({ projectId: project.id, entityType: 'g', entityId: byName.get('dev')!, role: 'developer', now: Date.now() });
    s.server.berth.access.forgetDecisions();
    const secret = (await setSecret(alice.id, s.adminBasic)).secret;
    const token = await fetch(`${s.url}/service/token?service=berth&scope=repository:oidc-team/app:pull,push`, { headers: { authorization: basic('alice', secret) } });
    expect(token.status).toBe(200);
    const access = jwtPayload(((await token.json()) as { token: string }).token)['access'];
    expect(access).toEqual([{ type: 'repository', name: 'oidc-team/app', actions: expect.arrayContaining(['pull', 'push']) }]);

    // the provider drops alice from dev: the next sign-in drops the membership and the right
    accounts['alice']!['groups'] = ['ops'];
    try {
      await signIn('alice');
      expect(await s.server.berth.metadata.groups.groupIdsOf(alice.id)).toEqual([byName.get('ops')]);
      const after = await fetch(`${s.url}/service/token?service=berth&scope=repository:oidc-team/app:pull,push`, { headers: { authorization: basic('alice', secret) } });
      expect(jwtPayload(((await after.json()) as { token: string }).token)['access']).toEqual([{ type: 'repository', name: 'oidc-team/app', actions: [] }]);
    } finally {
      accounts['alice']!['groups'] = ['dev', 'ops'];
    }
  });

  it('the admin group grants sysadmin, and takes back only what it granted', async () => {
    const { browser } = await signIn('root');
    expect(((await (await current(browser)).json()) as Record<string, unknown>)['sysadmin_flag']).toBe(true);
    const root = (await userNamed('root'))!;
    expect(root.sysadmin).toBe(true);
    // a sysadmin's session may read what only administrators may
    expect((await browser.get(`${s.url}/api/v2.0/users`)).status).toBe(200);

    accounts['root']!['groups'] = ['dev'];
    try {
      const again = await signIn('root');
      expect((await userNamed('root'))!.sysadmin).toBe(false);
      expect((await again.browser.get(`${s.url}/api/v2.0/users`)).status).toBe(403);
      // the session opened while root was an admin ended with the demotion
      expect((await browser.get(`${s.url}/api/v2.0/users`)).status).toBe(401);
    } finally {
      accounts['root']!['groups'] = ['berth-admins', 'dev'];
    }

    // alice was made an administrator by hand: signing in without the admin group keeps it
    const alice = (await userNamed('alice'))!;
    const promote = await fetch(`${s.url}/api/v2.0/users/${alice.id}/sysadmin`, {
      method: 'PUT',
      headers: { authorization: s.adminBasic, 'content-type': 'application/json' },
      body: JSON.stringify({ sysadmin_flag: true }),
    });
    expect(promote.status).toBe(200);
    await signIn('alice');
    expect((await userNamed('alice'))!.sysadmin).toBe(true);
    await fetch(`${s.url}/api/v2.0/users/${alice.id}/sysadmin`, {
      method: 'PUT',
      headers: { authorization: s.adminBasic, 'content-type': 'application/json' },
      body: JSON.stringify({ sysadmin_flag: false }),
    });
  });

  it('refuses a callback in another browser, or with a state that is not the browser\'s', async () => {
    const browser = new TestBrowser();
    const callback = await browser.authorize(s.url, op, 'frank');
    // login CSRF: the link of someone else's sign-in opened in a victim's browser
    const elsewhere = await new TestBrowser().get(callback);
    expect(elsewhere.status).toBe(400);
    expect(((await elsewhere.json()) as { errors: { message: string }[] }).errors[0]!.message).toMatch(/state/);

    const forged = new URL(callback);
    forged.searchParams.set('state', 'A'.repeat(43));
    const host = new URL(s.url).host;
    const withForgedState = await fetch(forged, { redirect: 'manual', headers: { cookie: `berth_oidc_state=${'A'.repeat(43)}` } });
    expect(withForgedState.status).toBe(400);
    expect(await userNamed('frank')).toBeUndefined();

    // the browser that started it completes it
    expect(browser.cookie(host, 'berth_oidc_state')).toBe(new URL(callback).searchParams.get('state'));
    const ok = await browser.get(callback);
    expect(ok.status).toBe(302);
    expect((await userNamed('frank'))?.authSource).toBe('oidc');
  });

  it('refuses a replayed callback: the state is single-use, and no second session is opened', async () => {
    const browser = new TestBrowser();
    const callback = await browser.authorize(s.url, op, 'grace');
    const state = new URL(callback).searchParams.get('state')!;
    const first = await browser.get(callback);
    expect(first.status).toBe(302);
    const redeemed = op.codesRedeemed;
    // the same code and state, with the state cookie the first request had
    const replay = await fetch(callback, { redirect: 'manual', headers: { cookie: `berth_oidc_state=${state}` } });
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as { errors: { message: string }[] }).errors[0]!.message).toMatch(/already used|unknown|expired/);
    expect(replay.headers.getSetCookie().some((c) => c.startsWith('sid='))).toBe(false);
    // Berth did not even try the code again
    expect(op.codesRedeemed).toBe(redeemed);
  });

  it('refuses a sign-in the provider refused, and creates nothing', async () => {
    const browser = new TestBrowser();
    const callback = await browser.authorize(s.url, op, 'dave', { deny: true });
    expect(new URL(callback).searchParams.get('error')).toBe('access_denied');
    const res = await browser.get(callback);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { errors: { message: string }[] }).errors[0]!.message).toMatch(/access_denied/);
    expect(res.headers.getSetCookie().some((c) => c.startsWith('sid='))).toBe(false);
    expect(await userNamed('dave')).toBeUndefined();
    const failed = await audit({ operation: 'login_failed' });
    expect(failed.some((e) => e.detail?.['channel'] === 'oidc' && String(e.detail['reason']).includes('access_denied'))).toBe(true);
  });

  it('refuses an ID token whose signature does not verify against the provider\'s JWKS', async () => {
    const browser = new TestBrowser();
    const callback = await browser.authorize(s.url, op, 'mallory');
    op.tamperNextIdToken();
    const res = await browser.get(callback);
    expect(res.status).toBe(401);
    expect(res.headers.getSetCookie().some((c) => c.startsWith('sid='))).toBe(false);
    expect(await userNamed('mallory')).toBeUndefined();
    // the same account signs in fine with an untouched token
    expect((await signIn('mallory')).res.status).toBe(302);
  });

  it('refuses to onboard a username that is not valid or is taken by a local user, and creates nothing', async () => {
    // "Carol Smith" (the name claim) has a space
    const carol = await signIn('carol');
    expect(carol.res.status).toBe(400);
    expect(await s.server.berth.metadata.users.getByUsername('Carol Smith')).toBeUndefined();

    await s.server.berth.users.create({ username: 'dave', password: 'Dave12345' });
    const dave = await signIn('dave');
    expect(dave.res.status).toBe(409);
    expect((await userNamed('dave'))!.authSource).toBe('db');
  });

  it('without automatic onboarding, the user chooses a username with POST /c/oidc/onboard', async () => {
    await setConfig({ oidc_auto_onboard: false });
    try {
      const browser = new TestBrowser();
      const callback = await browser.authorize(s.url, op, 'bob', { loginQuery: '?redirect_url=/harbor/projects' });
      const res = await browser.get(callback);
      expect(res.status).toBe(302);
      const to = new URL(res.headers.get('location')!, s.url);
      expect(to.pathname).toBe('/oidc-onboard');
      expect(to.searchParams.get('username')).toBe('Bob_Builder');
      expect(res.headers.getSetCookie().some((c) => c.startsWith('sid='))).toBe(false);
      expect(await userNamed('Bob_Builder')).toBeUndefined();

      const onboard = (username: string) =>
        browser.request(`${s.url}/c/oidc/onboard`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username }) });
      expect((await onboard('bad name')).status).toBe(400);
      // a taken name: the sign-in waits for another choice
      expect((await onboard('dave')).status).toBe(409);
      const token = browser.cookie(new URL(s.url).host, 'berth_oidc_onboard')!;
      const ok = await onboard('bob');
      expect(ok.status).toBe(200);
      expect(ok.headers.getSetCookie().some((c) => c.startsWith('sid='))).toBe(true);
      const bob = (await userNamed('bob'))!;
      expect(bob).toMatchObject({ authSource: 'oidc', externalId: `${op.issuer}|bob`, email: 'bob@example.com' });
      expect(((await (await current(browser)).json()) as Record<string, unknown>)['username']).toBe('bob');
      // the pending onboarding is spent
      const replay = await fetch(`${s.url}/c/oidc/onboard`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie: `berth_oidc_onboard=${token}` },
        body: JSON.stringify({ username: 'bob2' }),
      });
      expect(replay.status).toBe(400);
      expect(await userNamed('bob2')).toBeUndefined();

      // once onboarded, bob signs straight in
      const again = await signIn('bob');
      expect(again.res.status).toBe(302);
      expect(again.res.headers.get('location')).toBe('/');
    } finally {
      await setConfig({ oidc_auto_onboard: true });
    }
  });

  it('returns to the page the sign-in started from, and never to another site', async () => {
    const back = await signIn('alice', { loginQuery: '?redirect_url=/harbor/projects?page=2' });
    expect(back.res.headers.get('location')).toBe('/harbor/projects?page=2');
    for (const evil of ['https://evil.example/', '//evil.example/', '/\\evil.example']) {
      const r = await signIn('alice', { loginQuery: `?redirect_url=${encodeURIComponent(evil)}` });
      expect(r.res.headers.get('location')).toBe('/');
    }
  });

  async function setSecret(userId: number, authorization: string, secret?: string) {
    const res = await fetch(`${s.url}/api/v2.0/users/${userId}/cli_secret`, {
      method: 'PUT',
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify(secret === undefined ? {} : { secret }),
    });
    return { status: res.status, ...((await res.json().catch(() => ({}))) as { secret: string }) };
  }

  it('the CLI secret is the password for /v2 and /service/token; nothing else is', async () => {
    const { browser } = await signIn('alice');
    const secret = ((await (await current(browser)).json()) as { oidc_user_meta: { secret: string } }).oidc_user_meta.secret;
    const v2 = await fetch(`${s.url}/v2/`, { headers: { authorization: basic('alice', secret) } });
    expect(v2.status).toBe(200);
    const token = await fetch(`${s.url}/service/token?service=berth&scope=repository:library/x:pull`, { headers: { authorization: basic('alice', secret) } });
    expect(token.status).toBe(200);
    expect(jwtPayload(((await token.json()) as { token: string }).token)['sub']).toBe('alice');
    // an OIDC user has no Berth password: neither a made-up one nor an empty one works
    for (const password of ['Alice12345', '']) {
      expect((await fetch(`${s.url}/v2/`, { headers: { authorization: basic('alice', password) } })).status).toBe(401);
    }
    expect((await fetch(`${s.url}/service/token?service=berth`, { headers: { authorization: basic('alice', 'Alice12345') } })).status).toBe(401);
  });

  it('regenerating the CLI secret invalidates the old one at once; only the user or an admin may', async () => {
    const { browser } = await signIn('alice');
    const csrf = (await current(browser)).headers.get('x-harbor-csrf-token')!;
    const alice = (await userNamed('alice'))!;
    const old = ((await (await current(browser)).json()) as { oidc_user_meta: { secret: string } }).oidc_user_meta.secret;
    expect((await fetch(`${s.url}/v2/`, { headers: { authorization: basic('alice', old) } })).status).toBe(200);

    // the user themself, from the UI session (with its CSRF token)
    const regen = await browser.request(`${s.url}/api/v2.0/users/${alice.id}/cli_secret`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'x-harbor-csrf-token': csrf },
      body: '{}',
    });
    expect(regen.status).toBe(200);
    const fresh = ((await regen.json()) as { secret: string }).secret;
    expect(fresh).not.toBe(old);
    expect((await fetch(`${s.url}/v2/`, { headers: { authorization: basic('alice', old) } })).status).toBe(401);
    expect((await fetch(`${s.url}/v2/`, { headers: { authorization: basic('alice', fresh) } })).status).toBe(200);
    expect(((await (await current(browser)).json()) as { oidc_user_meta: { secret: string } }).oidc_user_meta.secret).toBe(fresh);

    // a chosen secret must meet the password policy
    expect((await setSecret(alice.id, basic('alice', fresh), 'short')).status).toBe(400);
    expect((await setSecret(alice.id, basic('alice', fresh), 'Chosen-Secret-42')).status).toBe(200);
    expect((await fetch(`${s.url}/v2/`, { headers: { authorization: basic('alice', 'Chosen-Secret-42') } })).status).toBe(200);
    expect((await fetch(`${s.url}/v2/`, { headers: { authorization: basic('alice', fresh) } })).status).toBe(401);

    // another user may not; an administrator may; a local user has no CLI secret
    const frank = (await userNamed('frank'))!;
    const frankSecret = (await setSecret(frank.id, s.adminBasic)).secret;
    expect((await setSecret(alice.id, basic('frank', frankSecret))).status).toBe(403);
    expect((await setSecret(alice.id, s.adminBasic)).status).toBe(200);
    expect((await setSecret((await userNamed('admin'))!.id, s.adminBasic)).status).toBe(412);
    expect((await setSecret(999_999, s.adminBasic)).status).toBe(404);

    const changes = await audit({ operation: 'update' });
    expect(changes.filter((e) => e.resource === 'alice' && e.detail?.['field'] === 'cli_secret').map((e) => e.operator)).toEqual(
      expect.arrayContaining(['alice', 'admin']),
    );
  });

  it('records each sign-in in the audit log', async () => {
    const before = (await audit({ operator: 'frank', operation: 'login' })).length;
    await signIn('frank');
    const logins = await audit({ operator: 'frank', operation: 'login' });
    expect(logins).toHaveLength(before + 1);
    expect(logins[0]).toMatchObject({ resourceType: 'user', resource: 'frank', result: 'success', sourceIp: '127.0.0.1' });
    expect(logins[0]!.detail).toMatchObject({ channel: 'oidc' });
  });

  it('reads claims from UserInfo when the ID token carries only the subject', async () => {
    const conforming = await startOidcProvider({
      redirectUris: [`${s.url}/c/oidc/callback`],
      accounts: { erin: { name: 'erin', email: 'erin@example.com', groups: ['userinfo-group'] } },
      conformIdTokenClaims: true,
    });
    try {
      await setConfig({ oidc_endpoint: conforming.issuer, oidc_client_id: conforming.clientId, oidc_client_secret: conforming.clientSecret });
      const browser = new TestBrowser();
      const res = await browser.get(await browser.authorize(s.url, conforming, 'erin'));
      expect(res.status).toBe(302);
      const erin = (await userNamed('erin'))!;
      expect(erin).toMatchObject({ email: 'erin@example.com', externalId: `${conforming.issuer}|erin` });
      const ids = await s.server.berth.metadata.groups.groupIdsOf(erin.id);
      expect(await Promise.all(ids.map(async (id) => (await s.server.berth.metadata.groups.get(id))?.name))).toEqual(['userinfo-group']);
    } finally {
      await setConfig({ oidc_endpoint: op.issuer, oidc_client_id: op.clientId, oidc_client_secret: op.clientSecret });
      await conforming.stop();
    }
  });

  it('POST /api/v2.0/system/oidc/ping checks discovery, for administrators only', async () => {
    const ping = (body: unknown, authorization?: string) =>
      fetch(`${s.url}/api/v2.0/system/oidc/ping`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body: JSON.stringify(body),
      });
    expect((await ping({ url: op.issuer, verify_cert: true }, s.adminBasic)).status).toBe(200);
    // nothing listens there / not an issuer / not a URL
    expect((await ping({ url: 'http://127.0.0.1:1', verify_cert: true }, s.adminBasic)).status).toBe(400);
    expect((await ping({ url: `${s.url}/api/v2.0`, verify_cert: true }, s.adminBasic)).status).toBe(400);
    expect((await ping({ url: 'not a url' }, s.adminBasic)).status).toBe(400);
    expect((await ping({ url: op.issuer })).status).toBe(401);
    const frank = (await userNamed('frank'))!;
    const frankSecret = (await setSecret(frank.id, s.adminBasic)).secret;
    expect((await ping({ url: op.issuer }, basic('frank', frankSecret))).status).toBe(403);
  });

  it('with oidc_verify_cert false a provider with a self-signed certificate works; with true it is refused', async () => {
    const tls = await startOidcProvider({ redirectUris: [`${s.url}/c/oidc/callback`], accounts: { heidi: { name: 'heidi' } }, tls: await selfSignedCert() });
    const ping = (verify: boolean) =>
      fetch(`${s.url}/api/v2.0/system/oidc/ping`, {
        method: 'POST',
        headers: { authorization: s.adminBasic, 'content-type': 'application/json' },
        body: JSON.stringify({ url: tls.issuer, verify_cert: verify }),
      });
    try {
      const refused = await ping(true);
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { errors: { message: string }[] }).errors[0]!.message).toMatch(/certificate/);
      expect((await ping(false)).status).toBe(200);

      await setConfig({ oidc_endpoint: tls.issuer, oidc_client_id: tls.clientId, oidc_client_secret: tls.clientSecret, oidc_verify_cert: true });
      expect((await fetch(`${s.url}/c/oidc/login`, { redirect: 'manual' })).status).toBe(412);
      expect(await userNamed('heidi')).toBeUndefined();

      // discovery, token, JWKS and UserInfo requests all go through the unverified TLS client
      await setConfig({ oidc_verify_cert: false });
      const browser = new TestBrowser();
      const res = await browser.get(await browser.authorize(s.url, tls, 'heidi'));
      expect(res.status).toBe(302);
      expect((await userNamed('heidi'))?.externalId).toBe(`${tls.issuer}|heidi`);
    } finally {
      await setConfig({ oidc_endpoint: op.issuer, oidc_client_id: op.clientId, oidc_client_secret: op.clientSecret, oidc_verify_cert: true });
      await tls.stop();
    }
  });

  it('pending sign-ins are single-use, expire, and only the newest are kept', async () => {
    const repo = s.server.berth.metadata.oidc;
    const now = Date.now();
    for (let i = 0; i < 5; i++) {
      await repo.putPending({ id: `bound-${i}`, kind: 'onboard', data: `d${i}`, expiresAt: now + 1000 + i, now, keep: 3 });
    }
    expect(await repo.takePending('bound-0', 'onboard', now)).toBeUndefined();
    expect(await repo.takePending('bound-1', 'onboard', now)).toBeUndefined();
    expect(await repo.takePending('bound-4', 'state', now)).toBeUndefined();
    expect(await repo.takePending('bound-4', 'onboard', now)).toBe('d4');
    expect(await repo.takePending('bound-4', 'onboard', now)).toBeUndefined();
    // expired: refused, and gone
    expect(await repo.takePending('bound-3', 'onboard', now + 1003)).toBeUndefined();
    expect(await repo.takePending('bound-3', 'onboard', now)).toBeUndefined();
    expect(await repo.takePending('bound-2', 'onboard', now)).toBe('d2');
  });

  it('answers 412 when OIDC is not the authentication mode', async () => {
    await setConfig({ auth_mode: 'db_auth' });
    try {
      const res = await fetch(`${s.url}/c/oidc/login`, { redirect: 'manual' });
      expect(res.status).toBe(412);
    } finally {
      await setConfig({ auth_mode: 'oidc_auth' });
    }
  });
});
