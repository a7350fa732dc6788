import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProject, RegistryClient } from '../helpers/registry-client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { body, member, pushIndex } from './catalog-fixtures.js';

interface SearchResult {
  project: { name: string; project_id: number; metadata: { public: string } }[];
  repository: { project_id: number; project_name: string; project_public: boolean; repository_name: string; pull_count: number; artifact_count: number }[];
}

let s: TestServer;
let admin: RegistryClient;
let anon: RegistryClient;
let alice: RegistryClient;
let bob: RegistryClient;

beforeAll(async () => {
  s = await startTestServer();
  admin = new RegistryClient(s.url, s.adminBasic);
  anon = new RegistryClient(s.url);
  await createProject(s.url, s.adminBasic, 'rocket-private', false);
  await createProject(s.url, s.adminBasic, 'rocket-public', true);
  await createProject(s.url, s.adminBasic, 'other-private', false);
  alice = await member(s, 'alice4', 'rocket-private', 'guest');
  bob = await member(s, 'bob4', 'rocket-private', undefined);
  await admin.pushImage('rocket-private/engine', 'v1');
  await admin.pushImage('rocket-public/rocket-app', 'v1');
  await pushIndex(admin, 'rocket-public/rocket-app', 'multi');
  await admin.pushImage('other-private/rocket-secret', 'v1');
  await admin.pushImage('library/plain', 'v1');
});
afterAll(() => s.stop());

describe('search', () => {
  it('finds projects and repositories whose names contain q, among those the caller may see', async () => {
    const a = await body<SearchResult>(await admin.fetch('/api/v2.0/search?q=rocket'));
    expect(a.project.map((p) => p.name).sort()).toEqual(['rocket-private', 'rocket-public']);
    expect(a.repository.map((r) => r.repository_name)).toEqual(['other-private/rocket-secret', 'rocket-private/engine', 'rocket-public/rocket-app']);
    const pub = a.repository.find((r) => r.repository_name === 'rocket-public/rocket-app')!;
    const project = await body<{ project_id: number }>(await admin.fetch('/api/v2.0/projects/rocket-public'));
    expect(pub).toEqual({ project_id: project.project_id, project_name: 'rocket-public', project_public: true, repository_name: 'rocket-public/rocket-app', pull_count: 0, artifact_count: 2 });

    const mine = await body<SearchResult>(await alice.fetch('/api/v2.0/search?q=ROCKET'));
    expect(mine.project.map((p) => p.name).sort()).toEqual(['rocket-private', 'rocket-public']);
    expect(mine.repository.map((r) => r.repository_name)).toEqual(['rocket-private/engine', 'rocket-public/rocket-app']);

    const theirs = await body<SearchResult>(await bob.fetch('/api/v2.0/search?q=rocket'));
    expect(theirs.project.map((p) => p.name)).toEqual(['rocket-public']);
    expect(theirs.repository.map((r) => r.repository_name)).toEqual(['rocket-public/rocket-app']);

    const nobody = await body<SearchResult>(await anon.fetch('/api/v2.0/search?q=rocket'));
    expect(nobody.repository.map((r) => r.repository_name)).toEqual(['rocket-public/rocket-app']);
  });

  it('matches literally: % and _ are not wildcards', async () => {
    expect((await body<SearchResult>(await admin.fetch('/api/v2.0/search?q=%25'))).repository).toEqual([]);
    expect((await body<SearchResult>(await admin.fetch('/api/v2.0/search?q=_'))).repository).toEqual([]);
  });

  it('needs q', async () => {
    expect((await admin.fetch('/api/v2.0/search')).status).toBe(400);
    expect((await admin.fetch('/api/v2.0/search?q=')).status).toBe(400);
  });
});

describe('statistics', () => {
  it('gives admins every count, the totals and the storage used', async () => {
    const st = await body<Record<string, number>>(await admin.fetch('/api/v2.0/statistics'));
    // library (public) is there from the first start
    expect(st).toMatchObject({
      public_project_count: 2,
      private_project_count: 2,
      total_project_count: 4,
      public_repo_count: 2,
      private_repo_count: 2,
      total_repo_count: 4,
    });
    const db = new Database(join(s.dataDir, 'berth.db'), { readonly: true });
    const stored = db.prepare('select sum(size) as bytes from blobs').get() as { bytes: number };
    db.close();
    expect(st['total_storage_consumption']).toBe(stored.bytes);
    expect(st['total_storage_consumption']).toBeGreaterThan(0);
  });

  it('gives users the public counts and their own private ones, without totals', async () => {
    expect(await body(await alice.fetch('/api/v2.0/statistics'))).toEqual({
      public_project_count: 2,
      private_project_count: 1,
      public_repo_count: 2,
      private_repo_count: 1,
      total_project_count: 0,
      total_repo_count: 0,
      total_storage_consumption: 0,
    });
    expect(await body(await bob.fetch('/api/v2.0/statistics'))).toMatchObject({ private_project_count: 0, private_repo_count: 0, public_repo_count: 2 });
  });

  it('is for signed-in callers only', async () => {
    expect((await anon.fetch('/api/v2.0/statistics')).status).toBe(401);
  });
});
