import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/ports/audit-repo.js';
import { createProject, RegistryClient, sha256 } from '../helpers/registry-client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/**
 * What the services record, through the real HTTP API and /v2: every change in the transaction
 * of the change, pulls through the buffer, failed sign-ins once each.
 */
describe('audit recording', () => {
  let s: TestServer;
  let reg: RegistryClient;
  const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

  /** Records written since `afterId`, oldest first (after the pull buffer is flushed). */
  async function recordsAfter(afterId: number): Promise<AuditRecord[]> {
    await s.server.berth.audit.flush();
    const page = await s.server.berth.metadata.audit.list({}, { afterId, limit: 1000, ascending: true });
    return page.items;
  }
  async function lastId(): Promise<number> {
    await s.server.berth.audit.flush();
    const page = await s.server.berth.metadata.audit.list({}, { limit: 1 });
    return page.items[0]?.id ?? 0;
  }

  beforeAll(async () => {
    s = await startTestServer();
    reg = new RegistryClient(s.url, s.adminBasic);
    await createProject(s.url, s.adminBasic, 'team-a');
  });
  afterAll(() => s.stop());

  it('records a project creation with the operator and the source address', async () => {
    const from = await lastId();
    await createProject(s.url, s.adminBasic, 'team-b');
    const [r, ...rest] = await recordsAfter(from);
    expect(rest).toEqual([]);
    expect(r).toMatchObject({ operator: 'admin', operation: 'create', resourceType: 'project', resource: 'team-b', sourceIp: '127.0.0.1', result: 'success' });
    const project = await s.server.berth.projects.find('team-b', false);
    expect(r!.projectId).toBe(project.id);
  });

  it('records a push as Harbor does: create artifact, resource repository:tag', async () => {
    const from = await lastId();
    const { digest } = await reg.pushImage('team-a/app', '1.0');
    const records = await recordsAfter(from);
    // blob uploads are not audited (Harbor does not either); the manifest PUT is
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ operator: 'admin', operation: 'create', resourceType: 'artifact', resource: 'team-a/app:1.0', sourceIp: '127.0.0.1' });
    expect(records[0]!.detail).toMatchObject({ digest });
  });

  it('names the digest of a push by digest', async () => {
    const from = await lastId();
    const body = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: await reg.pushBlob('team-a/bydigest', Buffer.from('{}')), size: 2 },
      layers: [],
    });
    const digest = sha256(body);
    const res = await reg.pushManifest('team-a/bydigest', digest, body);
    expect(res.status).toBe(201);
    const records = await recordsAfter(from);
    expect(records.map((r) => r.resource)).toEqual([`team-a/bydigest@${digest}`]);
  });

  it('records nothing for a refused push: the record and the change commit together or not at all', async () => {
    const from = await lastId();
    const manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256('never pushed'), size: 12 },
      layers: [],
    };
    const res = await reg.pushManifest('team-a/app', 'broken', manifest);
    expect(res.status).toBe(400);
    expect(await recordsAfter(from)).toEqual([]);
  });

  it('rolls the change back when its record cannot be written', async () => {
    const metadata = s.server.berth.metadata;
    const original = metadata.transaction;
    metadata.transaction = ((fn) =>
      original((tx) =>
        fn({
          ...tx,
          audit: {
            ...tx.audit,
            append: async () => {
              throw new Error('audit log unavailable');
            },
          },
        }),
      )) as typeof metadata.transaction;
    try {
      await expect(reg.pushImage('team-a/atomic', 'v1')).rejects.toThrow(/manifest push failed: 500/);
    } finally {
      metadata.transaction = original;
    }
    expect((await reg.fetch('/v2/team-a/atomic/manifests/v1')).status).toBe(404);
  });

  it('records a manifest GET as a pull, but not a HEAD', async () => {
    await reg.pushImage('team-a/pulled', 'v1');
    const from = await lastId();
    const head = await reg.fetch('/v2/team-a/pulled/manifests/v1', { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    expect(head.status).toBe(200);
    expect(await recordsAfter(from)).toEqual([]);
    const get = await reg.fetch('/v2/team-a/pulled/manifests/v1', { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    expect(get.status).toBe(200);
    const digest = get.headers.get('docker-content-digest')!;
    const byDigest = await reg.fetch(`/v2/team-a/pulled/manifests/${digest}`);
    expect(byDigest.status).toBe(200);
    const records = await recordsAfter(from);
    expect(records.map((r) => [r.operation, r.resourceType, r.resource, r.operator])).toEqual([
      ['pull', 'artifact', 'team-a/pulled:v1', 'admin'],
      ['pull', 'artifact', `team-a/pulled@${digest}`, 'admin'],
    ]);
  });

  it('records an anonymous pull from a public project as anonymous', async () => {
    await reg.pushImage('library/open', 'latest');
    const from = await lastId();
    const anon = new RegistryClient(s.url);
    // an anonymous client gets a token first (dist-spec token flow)
    const tokenRes = await fetch(new URL('/service/token?service=berth&scope=repository:library/open:pull', s.url));
    const { token } = (await tokenRes.json()) as { token: string };
    const res = await anon.fetch('/v2/library/open/manifests/latest', { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const records = await recordsAfter(from);
    expect(records.map((r) => [r.operation, r.operator, r.resource])).toEqual([['pull', 'anonymous', 'library/open:latest']]);
  });

  it('records a tag delete as delete tag and a digest delete as delete artifact', async () => {
    const { digest } = await reg.pushImage('team-a/del', 'old');
    const from = await lastId();
    expect((await reg.fetch('/v2/team-a/del/manifests/old', { method: 'DELETE' })).status).toBe(202);
    expect((await reg.fetch(`/v2/team-a/del/manifests/${digest}`, { method: 'DELETE' })).status).toBe(202);
    // a delete of what is not there changes nothing and records nothing
    expect((await reg.fetch(`/v2/team-a/del/manifests/${digest}`, { method: 'DELETE' })).status).toBe(404);
    const records = await recordsAfter(from);
    expect(records.map((r) => [r.operation, r.resourceType, r.resource, r.operator])).toEqual([
      ['delete', 'tag', 'team-a/del:old', 'admin'],
      ['delete', 'artifact', `team-a/del@${digest}`, 'admin'],
    ]);
  });

  it('records a blob delete', async () => {
    const digest = await reg.pushBlob('team-a/blobs', Buffer.from('a blob to delete'));
    const from = await lastId();
    expect((await reg.fetch(`/v2/team-a/blobs/blobs/${digest}`, { method: 'DELETE' })).status).toBe(202);
    const records = await recordsAfter(from);
    expect(records.map((r) => [r.operation, r.resourceType, r.resource])).toEqual([['delete', 'blob', `team-a/blobs@${digest}`]]);
  });

  it('records a project update and delete through the Harbor API', async () => {
    await createProject(s.url, s.adminBasic, 'short-lived');
    const from = await lastId();
    const headers = { authorization: s.adminBasic, 'content-type': 'application/json' };
    const put = await fetch(new URL('/api/v2.0/projects/short-lived', s.url), { method: 'PUT', headers, body: JSON.stringify({ metadata: { public: 'true' } }) });
    expect(put.status).toBe(200);
    const del = await fetch(new URL('/api/v2.0/projects/short-lived', s.url), { method: 'DELETE', headers: { authorization: s.adminBasic } });
    expect(del.status).toBe(200);
    const records = await recordsAfter(from);
    expect(records.map((r) => [r.operation, r.resourceType, r.resource, r.operator, r.sourceIp])).toEqual([
      ['update', 'project', 'short-lived', 'admin', '127.0.0.1'],
      ['delete', 'project', 'short-lived', 'admin', '127.0.0.1'],
    ]);
    expect(records[0]!.detail).toEqual({ public: true });
  });

  it('records a failed Basic sign-in on /v2 and on /service/token once each, never the password', async () => {
    const from = await lastId();
    const v2 = await fetch(new URL('/v2/', s.url), { headers: { authorization: basic('mallory', 'guess-1') } });
    expect(v2.status).toBe(401);
    const token = await fetch(new URL('/service/token?service=berth&scope=repository:team-a/app:pull', s.url), { headers: { authorization: basic('mallory', 'guess-2') } });
    expect(token.status).toBe(401);
    const form = await fetch(new URL('/service/token', s.url), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=password&service=berth&username=admin&password=wrong-3&scope=repository:team-a/app:pull',
    });
    expect(form.status).toBe(401);
    const records = await recordsAfter(from);
    expect(records.map((r) => [r.operation, r.resourceType, r.resource, r.result, r.sourceIp])).toEqual([
      ['login', 'user', 'mallory', 'failure', '127.0.0.1'],
      ['login', 'user', 'mallory', 'failure', '127.0.0.1'],
      ['login', 'user', 'admin', 'failure', '127.0.0.1'],
    ]);
    expect(JSON.stringify(records)).not.toMatch(/guess-|wrong-3/);
  });

  it('does not record token issuance or successful Basic sign-ins', async () => {
    const from = await lastId();
    const res = await fetch(new URL('/service/token?service=berth&scope=repository:team-a/app:pull', s.url), { headers: { authorization: s.adminBasic } });
    expect(res.status).toBe(200);
    expect((await fetch(new URL('/v2/', s.url), { headers: { authorization: s.adminBasic } })).status).toBe(200);
    expect(await recordsAfter(from)).toEqual([]);
  });

  it('keeps the chain intact across all of it', async () => {
    const r = await s.server.berth.audit.verify();
    expect(r).toMatchObject({ ok: true, anchorKnown: true });
    expect(r.checked).toBeGreaterThan(10);
  });
});

describe('the pull buffer', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(() => s.stop());

  it('writes buffered pulls on shutdown', async () => {
    const reg = new RegistryClient(s.url, s.adminBasic);
    await reg.pushImage('library/shut', 'x');
    for (let i = 0; i < 5; i++) expect((await reg.fetch('/v2/library/shut/manifests/x')).status).toBe(200);
    // no flush: close() must write what is still in memory before the database closes
    const metadata = s.server.berth.metadata;
    let pulls = -1;
    const close = metadata.close.bind(metadata);
    metadata.close = async () => {
      pulls = (await metadata.audit.list({ operation: 'pull' }, { limit: 100 })).items.length;
      await close();
    };
    await s.server.stop();
    expect(pulls).toBe(5);
  });

  it('holds at most bufferMax records while a flush runs and counts what it drops', async () => {
    const s2 = await startTestServer();
    try {
      const { AuditService } = await import('../../src/services/audit.service.js');
      const metadata = s2.server.berth.metadata;
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      // a transaction that waits: the flush it belongs to stays in flight until released
      const slow = {
        ...metadata,
        transaction: (async (fn) => {
          await gate;
          return metadata.transaction(fn);
        }) as typeof metadata.transaction,
      };
      const audit = new AuditService({ metadata: slow, clock: { now: () => Date.now() }, config: { bufferMax: 10, flushIntervalMs: 60_000 } });
      const before = (await metadata.audit.list({}, { limit: 1 })).items[0]?.id ?? 0;
      for (let i = 0; i < 10; i++) audit.pulled(undefined, `library/x:${i}`, 0);
      // the 11th starts a flush of the first 10 and is buffered; 12th to 20th fill the buffer
      // again; while that flush is in flight the last 5 find it full and are dropped
      for (let i = 10; i < 25; i++) audit.pulled(undefined, `library/x:${i}`, 0);
      expect(audit.dropped).toBe(5);
      release();
      await audit.close();
      const written = await metadata.audit.list({}, { afterId: before, limit: 100, ascending: true });
      expect(written.items.map((r) => r.resource)).toEqual(Array.from({ length: 20 }, (_, i) => `library/x:${i}`));
    } finally {
      await s2.stop();
    }
  });
});
