import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestSchema, queryPostgres, type TestSchema } from '../helpers/postgres.js';
import { RegistryClient, sha256 } from '../helpers/registry-client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { MIGRATION_NAMES } from '../../src/db/migrator.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

let schema: TestSchema;
let s: TestServer;
let admin: RegistryClient;
beforeAll(async () => {
  schema = await createTestSchema({ create: false });
  s = await startTestServer({ BERTH_DATABASE_DRIVER: 'postgres', BERTH_DATABASE_URL: schema.url, BERTH_DATABASE_SCHEMA: schema.schema });
  admin = new RegistryClient(s.url, s.adminBasic);
});
afterAll(async () => {
  await s?.stop();
  await schema?.drop();
});

describe('Berth on PostgreSQL', () => {
  it('keeps its metadata in the configured schema', async () => {
    expect(s.server.berth.metadata.dialect).toBe('postgres');
    const rows = await queryPostgres<{ name: string; public: number }>(`select name, public from "${schema.schema}".projects`);
    expect(rows).toEqual([{ name: 'library', public: 1 }]);
  });

  it('pulls a pushed image back byte for byte, by tag and by digest, with its blobs', async () => {
    const layer = Buffer.alloc(300_000, 7);
    const { digest, body, manifest } = await admin.pushImage('library/pg-app', 'v1', layer);
    for (const ref of ['v1', digest]) {
      const res = await admin.fetch(`/v2/library/pg-app/manifests/${ref}`, { headers: { accept: OCI_MANIFEST } });
      expect(res.status).toBe(200);
      expect(res.headers.get('docker-content-digest')).toBe(digest);
      expect(await res.text()).toBe(body);
    }
    const layerDigest = (manifest['layers'] as { digest: string }[])[0]!.digest;
    const blob = await admin.fetch(`/v2/library/pg-app/blobs/${layerDigest}`);
    expect(blob.status).toBe(200);
    const bytes = Buffer.from(await blob.arrayBuffer());
    expect(sha256(bytes)).toBe(layerDigest);
    expect(bytes.length).toBe(layer.length);
    const rows = await queryPostgres<{ size: string }>(`select size from "${schema.schema}".blobs where digest = $1`, [layerDigest]);
    expect(rows).toEqual([{ size: String(layer.length) }]);
  });

  it('lists tags in byte order, page by page through the Link header', async () => {
    const repo = 'library/pg-tags';
    const { digest, body } = await admin.pushImage(repo, 'seed');
    const tags = ['A', 'a', 'B', '_x', '1.0', '1.10', '1.9', 'seed', 'latest'];
    for (const t of tags.filter((t) => t !== 'seed')) {
      const res = await admin.pushManifest(repo, t, body);
      expect(res.status).toBe(201);
      expect(res.headers.get('docker-content-digest')).toBe(digest);
    }
    const expected = [...tags].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));

    const all = await admin.fetch(`/v2/${repo}/tags/list`);
    expect(await all.json()).toEqual({ name: repo, tags: expected });

    const seen: string[] = [];
    let next: string | undefined = `/v2/${repo}/tags/list?n=4`;
    let pages = 0;
    while (next) {
      const res = await admin.fetch(next);
      expect(res.status).toBe(200);
      const page = (await res.json()) as { tags: string[] };
      expect(page.tags.length).toBeLessThanOrEqual(4);
      seen.push(...page.tags);
      pages++;
      next = /^<([^>]+)>;\s*rel="next"$/.exec(res.headers.get('link') ?? '')?.[1];
    }
    expect(seen).toEqual(expected);
    expect(pages).toBeGreaterThanOrEqual(3);

    const after = await admin.fetch(`/v2/${repo}/tags/list?n=2&last=${encodeURIComponent('1.10')}`);
    expect(((await after.json()) as { tags: string[] }).tags).toEqual(['1.9', 'A']);
  });

  it('creates, lists, refuses a duplicate of, and deletes a project through /api/v2.0/projects', async () => {
    const create = await admin.fetch('/api/v2.0/projects', {
      method: 'POST',
      body: JSON.stringify({ project_name: 'pg_team-1', metadata: { public: 'false' } }),
      headers: { 'content-type': 'application/json' },
    });
    expect(create.status).toBe(201);
    const location = create.headers.get('location');
    expect(location).toMatch(/^\/api\/v2\.0\/projects\/\d+$/);

    const dup = await admin.fetch('/api/v2.0/projects', {
      method: 'POST',
      body: JSON.stringify({ project_name: 'pg_team-1' }),
      headers: { 'content-type': 'application/json' },
    });
    expect(dup.status).toBe(409);

    // `_` in the name filter is literal, not LIKE's any-character
    const list = await admin.fetch('/api/v2.0/projects?name=g_t');
    expect(list.status).toBe(200);
    expect(list.headers.get('x-total-count')).toBe('1');
    expect(((await list.json()) as { name: string }[]).map((p) => p.name)).toEqual(['pg_team-1']);
    const none = await admin.fetch('/api/v2.0/projects?name=gxt');
    expect(await none.json()).toEqual([]);

    const got = await admin.fetch(location!);
    expect(await got.json()).toMatchObject({ name: 'pg_team-1', metadata: { public: 'false' }, repo_count: 0 });

    await admin.pushImage('pg_team-1/app', 'v1');
    const refused = await admin.fetch('/api/v2.0/projects/pg_team-1', { method: 'DELETE' });
    expect(refused.status).toBe(412);

    const fresh = await admin.fetch('/api/v2.0/projects', {
      method: 'POST',
      body: JSON.stringify({ project_name: 'pg-empty' }),
      headers: { 'content-type': 'application/json' },
    });
    expect(fresh.status).toBe(201);
    const del = await admin.fetch('/api/v2.0/projects/pg-empty', { method: 'DELETE' });
    expect(del.status).toBe(200);
    expect((await admin.fetch('/api/v2.0/projects/pg-empty')).status).toBe(404);
    expect(await queryPostgres(`select 1 from "${schema.schema}".projects where name = 'pg-empty'`)).toEqual([]);
  });
});

describe('two Berth instances starting at the same moment on one PostgreSQL schema', () => {
  let shared: TestSchema;
  let storageRoot: string;
  const servers: TestServer[] = [];
  beforeAll(async () => {
    shared = await createTestSchema({ create: false });
    storageRoot = await mkdtemp(join(tmpdir(), 'berth-shared-storage-'));
  });
  afterAll(async () => {
    await Promise.all(servers.map((x) => x.stop()));
    await shared?.drop();
    if (storageRoot) await rm(storageRoot, { recursive: true, force: true });
  });

  it('both come up, migrate once, and serve the same registry', async () => {
    // one database and one blob store, as N stateless instances share them in a cluster
    const env = {
      BERTH_DATABASE_DRIVER: 'postgres',
      BERTH_DATABASE_URL: shared.url,
      BERTH_DATABASE_SCHEMA: shared.schema,
      BERTH_STORAGE_FILESYSTEM_ROOT: storageRoot,
    };
    const started = await Promise.allSettled([startTestServer(env), startTestServer(env)]);
    for (const r of started) if (r.status === 'fulfilled') servers.push(r.value);
    expect(started.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))).toEqual(['ok', 'ok']);

    const ran = await queryPostgres<{ name: string }>(`select name from "${shared.schema}".berth_migration`);
    expect(ran.map((r) => r.name)).toEqual(MIGRATION_NAMES);
    expect(await queryPostgres(`select username from "${shared.schema}".users`)).toEqual([{ username: 'admin' }]);

    const [one, two] = servers.map((x) => new RegistryClient(x.url, x.adminBasic)) as [RegistryClient, RegistryClient];
    const layer = Buffer.from('a layer pushed through one instance');
    const { digest, body } = await one.pushImage('library/shared', 'v1', layer);
    const res = await two.fetch('/v2/library/shared/manifests/v1', { headers: { accept: OCI_MANIFEST } });
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-content-digest')).toBe(digest);
    expect(await res.text()).toBe(body);
    const blob = await two.fetch(`/v2/library/shared/blobs/${sha256(layer)}`);
    expect(blob.status).toBe(200);
    expect(Buffer.from(await blob.arrayBuffer()).equals(layer)).toBe(true);
  });

});
