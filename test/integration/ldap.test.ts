import { createServer, type Server, type Socket } from 'node:net';
import { Attribute, Change, Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP_TYPES } from '../../src/ports/identity-repos.js';
import { ChallengeClient, createProject, RegistryClient, sha256 } from '../helpers/registry-client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { LDAP_GROUPS, LDAP_ROOT, LDAP_SEARCH, LDAP_USERS, type Slapd, startSlapd } from '../helpers/slapd.js';

let ldap: Slapd;
let s: TestServer;
let admin: RegistryClient;

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
const json = (method: string, body: unknown) => ({ method, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

/** Harbor's settings, through PUT /configurations (its listener hands them to the LDAP service). */
async function configure(values: Record<string, unknown>): Promise<void> {
  const res = await admin.fetch('/api/v2.0/configurations', json('PUT', values));
  expect(res.status, await res.clone().text()).toBe(200);
}

/** An authenticated /api call (the user-group search is open to every signed-in user). */
function apiAs(username: string, password: string): Promise<Response> {
  return fetch(new URL('/api/v2.0/usergroups/search?groupname=x', s.url), { headers: { authorization: basic(username, password) } });
}

function v2As(username: string, password: string): Promise<Response> {
  return fetch(new URL('/v2/', s.url), { headers: { authorization: basic(username, password) } });
}

/** Changes the directory behind Berth's back, as its administrator. */
async function directory<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ url: ldap.url });
  try {
    await c.bind(LDAP_ROOT.dn, LDAP_ROOT.password);
    return await fn(c);
  } finally {
    await c.unbind();
  }
}

const replace = (type: string, values: string[]) => new Change({ operation: 'replace', modification: new Attribute({ type, values }) });

beforeAll(async () => {
  ldap = await startSlapd();
  s = await startTestServer();
  admin = new RegistryClient(s.url, s.adminBasic);
  await configure(ldap.settings());
});
afterAll(async () => {
  await s?.stop();
  await ldap?.stop();
});

describe('POST /api/v2.0/ldap/ping', () => {
  const ping = (body?: unknown) => admin.fetch('/api/v2.0/ldap/ping', body === undefined ? { method: 'POST' } : json('POST', body));

  it('binds with the saved settings when the body is empty', async () => {
    const res = await ping();
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ success: true });
  });

  it('tries the settings of the body, with the saved password for the saved server and DN', async () => {
    const res = await ping({ ldap_url: ldap.url, ldap_search_dn: LDAP_SEARCH.dn, ldap_base_dn: 'ou=people,dc=berth,dc=test' });
    expect(await res.json()).toMatchObject({ success: true });
  });

  it('reports a wrong search password without echoing it', async () => {
    const res = await ping({ ldap_url: ldap.url, ldap_search_dn: LDAP_SEARCH.dn, ldap_search_password: 'Wrong-secret-42' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { success: boolean; message: string };
    expect(body.success).toBe(false);
    expect(body.message).toMatch(/invalid credentials/i);
    expect(JSON.stringify(body)).not.toContain('Wrong-secret-42');
  });

  it('never sends the saved password to another server', async () => {
    const res = await ping({ ldap_url: ldap.tlsUrl, ldap_search_dn: LDAP_SEARCH.dn, ldap_verify_cert: false });
    const body = (await res.json()) as { success: boolean; message: string };
    expect(body).toMatchObject({ success: false });
    expect(body.message).toMatch(/no password/);
  });

  it('reports an unreachable server', async () => {
    const closed = await freePort();
    const body = (await (await ping({ ldap_url: `ldap://127.0.0.1:${closed}`, ldap_search_password: 'x' })).json()) as { success: boolean; message: string };
    expect(body.success).toBe(false);
    expect(body.message).toMatch(/cannot reach/);
  });

  it('gives up on a server that accepts the connection and never answers (ldap_connection_timeout)', async () => {
    const mute = await muteServer();
    try {
      const res = await ping({ ldap_url: `ldap://127.0.0.1:${mute.port}`, ldap_search_dn: LDAP_SEARCH.dn, ldap_search_password: 'x', ldap_connection_timeout: 1 });
      const body = (await res.json()) as { success: boolean; message: string };
      expect(body.success).toBe(false);
      expect(body.message).toMatch(/did not answer in time/);
    } finally {
      await mute.close();
    }
  });

  it('verifies the certificate of an ldaps:// server unless ldap_verify_cert is false', async () => {
    const conf = { ldap_url: ldap.tlsUrl, ldap_search_dn: LDAP_SEARCH.dn, ldap_search_password: LDAP_SEARCH.password };
    const verified = (await (await ping({ ...conf, ldap_verify_cert: true })).json()) as { success: boolean; message: string };
    expect(verified.success).toBe(false);
    expect(verified.message).toMatch(/TLS/);
    expect(await (await ping({ ...conf, ldap_verify_cert: false })).json()).toMatchObject({ success: true });
  });

  it('reports a base DN search with a broken filter', async () => {
    const body = (await (await ping({ ldap_filter: '(objectClass=person' })).json()) as { success: boolean; message: string };
    expect(body.success).toBe(false);
    expect(body.message).toMatch(/not an LDAP filter/);
  });

  it('is for system administrators only, and refuses unknown fields', async () => {
    expect((await fetch(new URL('/api/v2.0/ldap/ping', s.url), { method: 'POST' })).status).toBe(401);
    await s.server.berth.users.create({ username: 'local-dev', password: 'Local12345' });
    const res = await fetch(new URL('/api/v2.0/ldap/ping', s.url), { method: 'POST', headers: { authorization: basic('local-dev', 'Local12345') } });
    expect(res.status).toBe(403);
    expect((await ping({ ldap_url: ldap.url, colour: 'red' })).status).toBe(400);
  });
});

describe('signing in with a directory password', () => {
  it('onboards alice at her first Basic sign-in on /v2 (auth_source ldap, external_id = DN, profile from the directory)', async () => {
    expect(await s.server.berth.users.get('alice')).toBeUndefined();
    expect((await v2As('alice', LDAP_USERS.alice.password)).status).toBe(200);
    const alice = await s.server.berth.users.get('alice');
    expect(alice).toMatchObject({ username: 'alice', authSource: 'ldap', externalId: LDAP_USERS.alice.dn, email: 'alice@berth.test', realname: 'Alice L.', sysadmin: false });
    // a password hash nobody knows: not even the directory password opens it as a local account
    const hash = await s.server.berth.metadata.users.passwordHash(alice!.id);
    expect(hash).toMatch(/^\$argon2/);
    expect(await argonVerify(hash!, LDAP_USERS.alice.password)).toBe(false);
    expect((await apiAs('alice', LDAP_USERS.alice.password)).status).toBe(200);
    const created = await s.server.berth.metadata.audit.list({ operation: 'create', resourceType: 'user', resource: 'alice' }, { limit: 10 });
    expect(created.items).toHaveLength(1);
    expect(created.items[0]).toMatchObject({ operator: 'alice', result: 'success' });
  });

  it('refreshes the profile from the directory at a later sign-in', async () => {
    await directory((c) => c.modify(LDAP_USERS.alice.dn, [replace('mail', ['alice@wonderland.test'])]));
    s.server.berth.ldap.configurationChanged(); // drops the short cache of verified sign-ins
    expect((await apiAs('alice', LDAP_USERS.alice.password)).status).toBe(200);
    const alice = await s.server.berth.users.get('alice');
    expect(alice?.email).toBe('alice@wonderland.test');
    const users = await s.server.berth.metadata.audit.list({ resourceType: 'user', resource: 'alice' }, { limit: 10 });
    expect(users.items.map((r) => r.operation).sort()).toEqual(['create', 'update']);
  });

  it('refuses a wrong password, and an empty one even though this slapd takes unauthenticated binds', async () => {
    expect((await v2As('alice', 'Alice-pass-2')).status).toBe(401);
    expect((await apiAs('alice', 'Alice-pass-2')).status).toBe(401);
    expect((await v2As('alice', '')).status).toBe(401);
    expect((await v2As('nobody', 'whatever')).status).toBe(401);
  });

  it('refuses a user outside the filter and one outside the base DN', async () => {
    expect((await v2As('carol', LDAP_USERS.carol.password)).status).toBe(200);
    await configure({ ldap_filter: '(&(objectClass=inetOrgPerson)(!(employeeType=disabled)))' });
    expect((await v2As('carol', LDAP_USERS.carol.password)).status).toBe(401);
    expect((await v2As('dave', LDAP_USERS.dave.password)).status).toBe(401);
    expect(await s.server.berth.users.get('dave')).toBeUndefined();
  });

  it('keeps filter values literal: wildcards and filter syntax in the username match nobody', async () => {
    for (const u of ['al*', '*', '*)(uid=*', 'alice)(uid=*', 'alice)(|(uid=*', 'ali\\2a']) {
      expect((await v2As(u, LDAP_USERS.alice.password)).status, u).toBe(401);
    }
    expect(await s.server.berth.users.get('al*')).toBeUndefined();
  });

  it('signs in a user whose DN holds filter syntax (the group search escapes it)', async () => {
    expect((await v2As('eve(ops)', LDAP_USERS.eve.password)).status).toBe(200);
    const eve = await s.server.berth.users.get('eve(ops)');
    const groups = await s.server.berth.metadata.groups.groupIdsOf(eve!.id);
    const names = await Promise.all(groups.map(async (id) => (await s.server.berth.metadata.groups.get(id))?.name));
    expect(names).toEqual(['developers']);
  });

  it('lets the local admin sign in with its database password in ldap_auth mode', async () => {
    expect((await admin.fetch('/v2/')).status).toBe(200);
    expect((await apiAs('admin', 'wrong')).status).toBe(401);
  });

  it('never lets a directory entry take over a local user of the same name', async () => {
    await directory((c) =>
      c.add('uid=local-dev,ou=people,dc=berth,dc=test', { objectClass: ['inetOrgPerson'], uid: 'local-dev', cn: 'Impostor', sn: 'I', userPassword: 'Impostor-1' }),
    );
    expect((await v2As('local-dev', 'Impostor-1')).status).toBe(401);
    expect((await s.server.berth.users.get('local-dev'))?.authSource).toBe('db');
  });
});

describe('directory groups', () => {
  const ldapGroup = async (dn: string) => (await s.server.berth.metadata.groups.list({ type: GROUP_TYPES.ldap, ldapGroupDn: dn }, { offset: 0, limit: 10 })).items;

  it('maps alice groups to Berth LDAP groups (type 1): memberOf and the group search', async () => {
    const alice = (await s.server.berth.users.get('alice'))!;
    const dev = await ldapGroup(LDAP_GROUPS.developers);
    const auditors = await ldapGroup(LDAP_GROUPS.auditors);
    expect(dev).toHaveLength(1);
    expect(dev[0]).toMatchObject({ name: 'developers', type: 1, ldapGroupDn: LDAP_GROUPS.developers });
    // groupOfUniqueNames: the memberof overlay does not track it, the search of the group base does
    expect(auditors).toHaveLength(1);
    expect((await s.server.berth.metadata.groups.groupIdsOf(alice.id)).sort()).toEqual([dev[0]!.id, auditors[0]!.id].sort());
  });

  it('lets alice push to a private project where her LDAP group is developer (token flow, as skopeo does)', async () => {
    await createProject(s.url, s.adminBasic, 'ldap-team');
    const client = new ChallengeClient(s.url, 'alice', LDAP_USERS.alice.password);
    const layer = Buffer.from('a layer pushed by alice');
    const denied = await client.fetch(`/v2/ldap-team/app/blobs/uploads/?digest=${sha256(layer)}`, { method: 'POST', body: layer });
    expect(denied.status).toBe(401);

    const add = await admin.fetch(
      '/api/v2.0/projects/ldap-team/members',
      json('POST', { role_id: 2, member_group: { group_type: 1, ldap_group_dn: LDAP_GROUPS.developers } }),
    );
    expect(add.status).toBe(201);
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
    for (const blob of [layer, config]) {
      const res = await client.fetch(`/v2/ldap-team/app/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: blob });
      expect(res.status).toBe(201);
    }
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
    });
    const put = await client.fetch('/v2/ldap-team/app/manifests/1.0', { method: 'PUT', body: manifest, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
    expect(put.status).toBe(201);
    expect((await client.fetch('/v2/ldap-team/app/manifests/1.0')).status).toBe(200);
  });

  it('makes a member of ldap_group_admin_dn a system administrator, and takes it back when the group drops him', async () => {
    const bobApi = () => fetch(new URL('/api/v2.0/ldap/users/search?username=bob', s.url), { headers: { authorization: basic('bob', LDAP_USERS.bob.password) } });
    expect((await bobApi()).status).toBe(200);
    expect((await s.server.berth.users.get('bob'))?.sysadmin).toBe(true);

    await directory((c) => c.modify(LDAP_GROUPS.registryAdmins, [replace('member', [LDAP_USERS.eve.dn])]));
    s.server.berth.ldap.configurationChanged();
    expect((await bobApi()).status).toBe(403);
    expect((await s.server.berth.users.get('bob'))?.sysadmin).toBe(false);
    const updates = await s.server.berth.metadata.audit.list({ operation: 'update', resourceType: 'user', resource: 'bob' }, { limit: 10 });
    expect(updates.items[0]?.detail).toMatchObject({ sysadmin: false });
  });

  it('leaves alone a sysadmin flag that an administrator set by hand', async () => {
    const alice = (await s.server.berth.users.get('alice'))!;
    await s.server.berth.metadata.users.setSysadmin(alice.id, true, Date.now());
    s.server.berth.ldap.configurationChanged();
    expect((await v2As('alice', LDAP_USERS.alice.password)).status).toBe(200);
    expect((await s.server.berth.users.get('alice'))?.sysadmin).toBe(true);
    await s.server.berth.metadata.users.setSysadmin(alice.id, false, Date.now());
  });

  it('reads only memberOf when no group base DN is set, and maps nothing outside it when one is', async () => {
    const alice = (await s.server.berth.users.get('alice'))!;
    await configure({ ldap_group_base_dn: '' });
    expect((await v2As('alice', LDAP_USERS.alice.password)).status).toBe(200);
    const dev = (await ldapGroup(LDAP_GROUPS.developers))[0]!;
    expect(await s.server.berth.metadata.groups.groupIdsOf(alice.id)).toEqual([dev.id]);

    await configure({ ldap_group_base_dn: 'ou=nowhere,dc=berth,dc=test' });
    expect((await v2As('alice', LDAP_USERS.alice.password)).status).toBe(200);
    expect(await s.server.berth.metadata.groups.groupIdsOf(alice.id)).toEqual([]);
    await configure({ ldap_group_base_dn: 'ou=groups,dc=berth,dc=test' });
  });
});

describe('LDAP user search, import and group search', () => {
  it('finds a user by uid, every user of the filter without one, and nobody for a wildcard', async () => {
    const one = await admin.fetch('/api/v2.0/ldap/users/search?username=alice');
    expect(one.status).toBe(200);
    expect(await one.json()).toEqual([{ username: 'alice', realname: 'Alice L.', email: 'alice@wonderland.test' }]);
    const all = (await (await admin.fetch('/api/v2.0/ldap/users/search')).json()) as { username: string }[];
    // carol is filtered out, dave lives outside the base DN
    expect(all.map((u) => u.username).sort()).toEqual(['alice', 'bob', 'eve(ops)', 'local-dev']);
    expect(await (await admin.fetch('/api/v2.0/ldap/users/search?username=*')).json()).toEqual([]);
    expect((await fetch(new URL('/api/v2.0/ldap/users/search', s.url), { headers: { authorization: basic('alice', LDAP_USERS.alice.password) } })).status).toBe(403);
  });

  it('imports directory users and answers 404 with the ones that failed, as Harbor', async () => {
    await directory((c) =>
      c.add('uid=gina,ou=people,dc=berth,dc=test', { objectClass: ['inetOrgPerson'], uid: 'gina', cn: 'Gina Import', sn: 'Import', mail: 'gina@berth.test' }),
    );
    const ok = await admin.fetch('/api/v2.0/ldap/users/import', json('POST', { ldap_uid_list: ['gina'] }));
    expect(ok.status).toBe(200);
    expect(await s.server.berth.users.get('gina')).toMatchObject({ authSource: 'ldap', email: 'gina@berth.test', realname: 'Gina Import', sysadmin: false });

    const mixed = await admin.fetch('/api/v2.0/ldap/users/import', json('POST', { ldap_uid_list: ['alice', 'nobody', 'carol', '*'] }));
    expect(mixed.status).toBe(404);
    const failed = (await mixed.json()) as { uid: string; error: string }[];
    expect(failed.map((f) => f.uid).sort()).toEqual(['*', 'alice', 'carol', 'nobody']);
    expect(failed.find((f) => f.uid === 'alice')?.error).toMatch(/already exists/);
    expect(failed.find((f) => f.uid === 'nobody')?.error).toMatch(/not found/);
    expect(await s.server.berth.users.get('carol')).toMatchObject({ authSource: 'ldap' }); // signed in earlier

    const audit = await s.server.berth.metadata.audit.list({ operation: 'create', resourceType: 'user', resource: 'gina' }, { limit: 10 });
    expect(audit.items[0]).toMatchObject({ operator: 'admin', sourceIp: '127.0.0.1' });
    expect((await admin.fetch('/api/v2.0/ldap/users/import', json('POST', { uids: ['x'] }))).status).toBe(400);
  });

  it('searches groups by name below the group base DN and by DN', async () => {
    const byName = await admin.fetch('/api/v2.0/ldap/groups/search?groupname=developers');
    expect(byName.status).toBe(200);
    expect(await byName.json()).toEqual([{ group_name: 'developers', group_type: 1, ldap_group_dn: LDAP_GROUPS.developers }]);
    const byDn = await admin.fetch(`/api/v2.0/ldap/groups/search?groupdn=${encodeURIComponent('CN=Auditors, OU=groups,dc=berth,dc=test')}`);
    expect(await byDn.json()).toEqual([{ group_name: 'auditors', group_type: 1, ldap_group_dn: LDAP_GROUPS.auditors }]);
    expect(await (await admin.fetch('/api/v2.0/ldap/groups/search?groupname=*')).json()).toEqual([]);
    expect((await admin.fetch('/api/v2.0/ldap/groups/search')).status).toBe(400);
  });

  it('answers 503 when the directory is down, and the sign-in of a directory user fails closed', async () => {
    await configure({ ldap_url: `ldap://127.0.0.1:${await freePort()}` });
    const res = await admin.fetch('/api/v2.0/ldap/users/search?username=alice');
    expect(res.status).toBe(503);
    expect((await v2As('alice', LDAP_USERS.alice.password)).status).toBe(401);
    await configure({ ldap_url: ldap.url });
    expect((await v2As('alice', LDAP_USERS.alice.password)).status).toBe(200);
  });

  it('stops asking the directory when auth_mode leaves ldap_auth', async () => {
    // Harbor's API refuses to change auth_mode once users other than admins exist: straight into the store
    const authMode = async (mode: string) => {
      await s.server.berth.metadata.config.set({ auth_mode: mode }, Date.now());
      s.server.berth.ldap.configurationChanged();
    };
    await authMode('db_auth');
    expect((await v2As('alice', LDAP_USERS.alice.password)).status).toBe(401);
    await authMode('ldap_auth');
    expect((await v2As('alice', LDAP_USERS.alice.password)).status).toBe(200);
  });
});

async function argonVerify(hash: string, password: string): Promise<boolean> {
  const argon2 = await import('argon2');
  return argon2.verify(hash, password);
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** A TCP server that takes connections and never says a word. */
async function muteServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets: Socket[] = [];
  const srv: Server = createServer((sock) => sockets.push(sock));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as { port: number }).port,
    close: () =>
      new Promise<void>((r) => {
        for (const sock of sockets) sock.destroy();
        srv.close(() => r());
      }),
  };
}
