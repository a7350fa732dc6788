import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryError } from '../../src/domain/errors.js';
import type { Metadata, NewManifest } from '../../src/ports/metadata.js';

/** What a test file gives the suite: a fresh, migrated, empty database per call. */
export interface OpenedMetadata {
  metadata: Metadata;
  cleanup: () => Promise<void>;
  /**
   * The edges a manifest row owns, read from the tables directly: the port has no reader for
   * them yet (garbage collection will), so the suite asks the adapter's test file.
   */
  edges?: (manifestId: number) => Promise<{ blobs: string[]; children: string[] }>;
}

const GiB = 1024 ** 3;
const T0 = 1_700_000_000_000; // epoch ms: already beyond 2^32, as every stored time is

const digestOf = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;
/** byte order, the order of tags/list and _catalog (dist-spec: "lexical order") */
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

async function expectConflict(p: Promise<unknown>): Promise<void> {
  const e: unknown = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(RegistryError);
  expect((e as RegistryError).code).toBe('CONFLICT');
}

/**
 * The one conformance suite of the metadata port (src/ports/metadata.ts). Every adapter's test
 * file is `describeMetadata('<dialect>', open)`. Each group opens its own database, so that
 * global listings (catalog, project totals) see only what the group made.
 */
export function describeMetadata(name: string, open: () => Promise<OpenedMetadata>): void {
  describe(`metadata port on ${name}`, () => {
    /** a fresh database for the enclosing describe block */
    function useDatabase(): { md: () => Metadata; opened: () => OpenedMetadata } {
      let opened: OpenedMetadata | undefined;
      beforeAll(async () => {
        opened = await open();
      });
      afterAll(async () => {
        await opened?.cleanup();
      });
      return {
        md: () => opened!.metadata,
        opened: () => opened!,
      };
    }

    let seq = 0;
    const unique = (prefix: string) => `${prefix}-${++seq}-${randomUUID().slice(0, 8)}`;

    async function newRepository(md: Metadata, projectName = unique('p')) {
      const project = await md.projects.create({ name: projectName, public: false, ownerId: null, now: T0 });
      const repo = await md.repositories.ensure(project.id, `${projectName}/app`, T0);
      return { project, repo };
    }

    function manifest(repositoryId: number, body: string, more: Partial<NewManifest> = {}): NewManifest {
      const content = Buffer.from(body);
      return {
        repositoryId,
        digest: digestOf(body),
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        artifactType: null,
        size: content.length,
        subjectDigest: null,
        annotations: null,
        content,
        blobDigests: [],
        childDigests: [],
        now: T0,
        ...more,
      };
    }

    describe('basics', () => {
      const { md } = useDatabase();
      it('answers a ping and names its dialect', async () => {
        await expect(md().ping()).resolves.toBeUndefined();
        expect(md().dialect).toBe(name);
      });
    });

    describe('projects', () => {
      const { md } = useDatabase();

      it('creates a project and finds it by name and by id', async () => {
        const owner = await md().users.create({ username: unique('owner'), passwordHash: 'h', sysadmin: false, now: T0 });
        const p = await md().projects.create({ name: 'alpha', public: true, ownerId: owner.id, now: T0 });
        expect(p).toEqual({ id: expect.any(Number), name: 'alpha', public: true, ownerId: owner.id, createdAt: T0, updatedAt: T0 });
        expect(await md().projects.getByName('alpha')).toEqual(p);
        expect(await md().projects.getById(p.id)).toEqual(p);
        expect(await md().projects.getByName('Alpha')).toBeUndefined();
        expect(await md().projects.getById(p.id + 10_000)).toBeUndefined();
      });

      it('refuses a second project of the same name with CONFLICT and keeps the first', async () => {
        const first = await md().projects.create({ name: 'dup', public: false, ownerId: null, now: T0 });
        await expectConflict(md().projects.create({ name: 'dup', public: true, ownerId: null, now: T0 + 1 }));
        expect(await md().projects.getByName('dup')).toEqual(first);
      });

      it('updates visibility and the update time; a patch without public keeps it', async () => {
        const p = await md().projects.create({ name: 'upd', public: false, ownerId: null, now: T0 });
        await md().projects.update(p.id, { public: true, now: T0 + 5 });
        expect(await md().projects.getById(p.id)).toMatchObject({ public: true, createdAt: T0, updatedAt: T0 + 5 });
        await md().projects.update(p.id, { now: T0 + 9 });
        expect(await md().projects.getById(p.id)).toMatchObject({ public: true, updatedAt: T0 + 9 });
      });

      it('deletes an empty project but refuses one that holds a repository', async () => {
        const full = await md().projects.create({ name: 'full', public: false, ownerId: null, now: T0 });
        await md().repositories.ensure(full.id, 'full/app', T0);
        await md().repositories.ensure(full.id, 'full/other', T0);
        expect(await md().projects.repositoryCount(full.id)).toBe(2);
        expect(await md().projects.deleteIfEmpty(full.id)).toBe(false);
        expect(await md().projects.getById(full.id)).toBeDefined();
        expect(await md().repositories.getByName('full/app')).toBeDefined();

        const empty = await md().projects.create({ name: 'empty', public: false, ownerId: null, now: T0 });
        expect(await md().projects.repositoryCount(empty.id)).toBe(0);
        expect(await md().projects.deleteIfEmpty(empty.id)).toBe(true);
        expect(await md().projects.getById(empty.id)).toBeUndefined();
        expect(await md().projects.deleteIfEmpty(empty.id)).toBe(false);
        // the name is free again
        await md().projects.create({ name: 'empty', public: false, ownerId: null, now: T0 });
      });
    });

    describe('project listing', () => {
      const { md } = useDatabase();
      const ids = new Map<string, number>();
      // byte order: digits < upper case < '_' < lower case
      const NAMES = ['a_b', 'axb', 'a%b', 'aab', 'a\\b', 'Zeta', 'zeta', '_under', '10', '9', 'public-one', 'public-two'];
      const PUBLIC = new Set(['public-one', 'public-two', 'axb']);

      beforeAll(async () => {
        for (const n of NAMES) {
          const p = await md().projects.create({ name: n, public: PUBLIC.has(n), ownerId: null, now: T0 });
          ids.set(n, p.id);
        }
      });
      const names = (items: { name: string }[]) => items.map((p) => p.name);
      const all = { offset: 0, limit: 100 };

      it('lists every project in byte order of names with the total', async () => {
        const page = await md().projects.list({}, all);
        expect(names(page.items)).toEqual([...NAMES].sort(byteOrder));
        expect(page.total).toBe(NAMES.length);
      });

      it('pages with offset and limit while the total counts every match', async () => {
        const sorted = [...NAMES].sort(byteOrder);
        const seen: string[] = [];
        for (let offset = 0; offset < NAMES.length; offset += 5) {
          const page = await md().projects.list({}, { offset, limit: 5 });
          expect(page.total).toBe(NAMES.length);
          seen.push(...names(page.items));
        }
        expect(seen).toEqual(sorted);
        const beyond = await md().projects.list({}, { offset: 100, limit: 5 });
        expect(beyond).toEqual({ items: [], total: NAMES.length });
      });

      it('filters by exact name', async () => {
        const page = await md().projects.list({ name: 'axb' }, all);
        expect(names(page.items)).toEqual(['axb']);
        expect(page.total).toBe(1);
        expect(await md().projects.list({ name: 'ax' }, all)).toEqual({ items: [], total: 0 });
      });

      it('matches nameLike as a literal substring: % and _ and \\ in the input match only themselves', async () => {
        expect(names((await md().projects.list({ nameLike: '_' }, all)).items)).toEqual(['_under', 'a_b']);
        expect(names((await md().projects.list({ nameLike: '%' }, all)).items)).toEqual(['a%b']);
        expect(names((await md().projects.list({ nameLike: 'a_b' }, all)).items)).toEqual(['a_b']);
        expect(names((await md().projects.list({ nameLike: 'a%b' }, all)).items)).toEqual(['a%b']);
        expect(names((await md().projects.list({ nameLike: '\\' }, all)).items)).toEqual(['a\\b']);
        const sub = await md().projects.list({ nameLike: 'ub' }, all);
        expect(names(sub.items)).toEqual(['public-one', 'public-two']);
        expect(sub.total).toBe(2);
        expect((await md().projects.list({ nameLike: '' }, all)).total).toBe(NAMES.length);
      });

      it('matches nameLike without regard to ASCII case, on every dialect', async () => {
        expect(names((await md().projects.list({ nameLike: 'ZET' }, all)).items)).toEqual(['Zeta', 'zeta']);
      });

      it('filters by visibility, and combines filters', async () => {
        const pub = await md().projects.list({ public: true }, all);
        expect(names(pub.items)).toEqual([...PUBLIC].sort(byteOrder));
        expect(pub.total).toBe(PUBLIC.size);
        const priv = await md().projects.list({ public: false }, all);
        expect(priv.total).toBe(NAMES.length - PUBLIC.size);
        expect(names(priv.items).some((n) => PUBLIC.has(n))).toBe(false);
        const both = await md().projects.list({ public: true, nameLike: 'public' }, { offset: 1, limit: 10 });
        expect(both).toEqual({ items: [expect.objectContaining({ name: 'public-two' })], total: 2 });
      });

      it('shows public projects and the listed ones to a non-admin viewer', async () => {
        const none = await md().projects.list({ visibleTo: { projectIds: [] } }, all);
        expect(names(none.items)).toEqual([...PUBLIC].sort(byteOrder));
        const some = await md().projects.list({ visibleTo: { projectIds: [ids.get('zeta')!, ids.get('9')!] } }, all);
        expect(names(some.items)).toEqual(['9', 'axb', 'public-one', 'public-two', 'zeta']);
        expect(some.total).toBe(5);
        const narrowed = await md().projects.list({ visibleTo: { projectIds: [ids.get('zeta')!] }, nameLike: 'zeta' }, all);
        expect(names(narrowed.items)).toEqual(['zeta']);
      });
    });

    describe('users', () => {
      const { md } = useDatabase();

      it('creates a user with defaults for the optional fields and finds it', async () => {
        const u = await md().users.create({ username: 'alice', passwordHash: '$argon2id$x', sysadmin: false, now: T0 });
        expect(u).toEqual({ id: expect.any(Number), username: 'alice', email: '', realname: '', comment: '', sysadmin: false, createdAt: T0, updatedAt: T0, authSource: 'db', externalId: null });
        expect(await md().users.getByUsername('alice')).toEqual(u);
        expect(await md().users.getById(u.id)).toEqual(u);
        expect(await md().users.getByUsername('ALICE')).toBeUndefined();
        expect(await md().users.getById(u.id + 10_000)).toBeUndefined();
        // the hash never travels with the user record
        expect(Object.keys(u)).not.toContain('passwordHash');
        expect(await md().users.passwordHash(u.id)).toBe('$argon2id$x');
        expect(await md().users.passwordHash(u.id + 10_000)).toBeUndefined();
        expect(await md().users.getWithPasswordHash('alice')).toEqual({ user: u, passwordHash: '$argon2id$x' });
        expect(await md().users.getWithPasswordHash('nobody')).toBeUndefined();
      });

      it('keeps every field of a full record', async () => {
        const u = await md().users.create({ username: 'root', passwordHash: 'h', email: 'r@example.org', realname: 'Rü Öt', comment: 'admin', sysadmin: true, now: T0 });
        expect(await md().users.getById(u.id)).toMatchObject({ email: 'r@example.org', realname: 'Rü Öt', comment: 'admin', sysadmin: true });
      });

      it('refuses a taken username with CONFLICT', async () => {
        await md().users.create({ username: 'bob', passwordHash: 'h1', sysadmin: false, now: T0 });
        await expectConflict(md().users.create({ username: 'bob', passwordHash: 'h2', sysadmin: true, now: T0 }));
        const bob = await md().users.getByUsername('bob');
        expect(bob?.sysadmin).toBe(false);
        expect(await md().users.passwordHash(bob!.id)).toBe('h1');
      });

      it('sets a new password and the update time', async () => {
        const u = await md().users.create({ username: 'carol', passwordHash: 'old', sysadmin: false, now: T0 });
        await md().users.setPassword(u.id, 'new', T0 + 7);
        expect(await md().users.passwordHash(u.id)).toBe('new');
        // a prepared lookup sees the change (no stale compiled result)
        expect((await md().users.getWithPasswordHash('carol'))?.passwordHash).toBe('new');
        expect(await md().users.getById(u.id)).toMatchObject({ createdAt: T0, updatedAt: T0 + 7 });
      });
    });

    describe('user listing and administration', () => {
      const { md } = useDatabase();
      const make = (username: string, more: { email?: string; sysadmin?: boolean; now?: number } = {}) =>
        md().users.create({ username, passwordHash: 'h', email: more.email ?? '', sysadmin: more.sysadmin ?? false, now: more.now ?? T0 });

      beforeAll(async () => {
        await make('Anna', { email: 'anna@Example.org', now: T0 + 3 });
        await make('ben_1', { email: 'ben@example.org', now: T0 + 1 });
        await make('ben%x', { email: 'benx@other.net', now: T0 + 2 });
        await make('chief', { email: 'chief@example.org', sysadmin: true, now: T0 + 4 });
      });

      it('lists by username with the total, pages, and sorts by name, times or id', async () => {
        const all = await md().users.list({}, { offset: 0, limit: 10 });
        expect(all.total).toBe(4);
        expect(all.items.map((u) => u.username)).toEqual(['Anna', 'ben%x', 'ben_1', 'chief']);
        const page = await md().users.list({}, { offset: 1, limit: 2 });
        expect(page).toMatchObject({ total: 4 });
        expect(page.items.map((u) => u.username)).toEqual(['ben%x', 'ben_1']);
        const newest = await md().users.list({}, { offset: 0, limit: 10, sort: { by: 'createdAt', desc: true } });
        expect(newest.items.map((u) => u.username)).toEqual(['chief', 'Anna', 'ben%x', 'ben_1']);
        const byId = await md().users.list({}, { offset: 0, limit: 10, sort: { by: 'id', desc: false } });
        expect(byId.items.map((u) => u.username)).toEqual(['Anna', 'ben_1', 'ben%x', 'chief']);
      });

      it('filters by exact and case-insensitive substring username and email; % and _ are literal', async () => {
        const names = async (f: Parameters<Metadata['users']['list']>[0]) => (await md().users.list(f, { offset: 0, limit: 10 })).items.map((u) => u.username);
        expect(await names({ username: 'anna' })).toEqual([]);
        expect(await names({ username: 'Anna' })).toEqual(['Anna']);
        expect(await names({ usernameLike: 'ANN' })).toEqual(['Anna']);
        expect(await names({ usernameLike: 'ben' })).toEqual(['ben%x', 'ben_1']);
        expect(await names({ usernameLike: '%' })).toEqual(['ben%x']);
        expect(await names({ usernameLike: '_' })).toEqual(['ben_1']);
        expect(await names({ emailLike: 'EXAMPLE.ORG' })).toEqual(['Anna', 'ben_1', 'chief']);
        expect(await names({ email: 'ben@example.org' })).toEqual(['ben_1']);
        expect(await names({ usernameLike: 'ben', emailLike: 'other' })).toEqual(['ben%x']);
        expect((await md().users.list({ usernameLike: 'ben' }, { offset: 0, limit: 1 })).total).toBe(2);
      });

      it('updates the profile fields given, and the update time', async () => {
        const u = await make('editable', { email: 'e@example.org' });
        expect(await md().users.update(u.id, { realname: 'Ed It', now: T0 + 9 })).toBe(true);
        expect(await md().users.getById(u.id)).toMatchObject({ email: 'e@example.org', realname: 'Ed It', comment: '', updatedAt: T0 + 9 });
        expect(await md().users.update(u.id + 10_000, { comment: 'x', now: T0 })).toBe(false);
        expect(await md().users.emailTaken('E@EXAMPLE.ORG')).toBe(true);
        expect(await md().users.emailTaken('e@example.org', u.id)).toBe(false);
        expect(await md().users.emailTaken('nobody@example.org')).toBe(false);
      });

      it('counts and locks the administrators, and deletes a user with its memberships', async () => {
        const admin2 = await make('admin2', { sysadmin: true });
        expect(await md().users.count({ sysadmin: true })).toBe(2);
        expect(await md().users.setSysadmin(admin2.id, false, T0 + 5)).toBe(true);
        expect(await md().users.count({ sysadmin: true })).toBe(1);
        expect(await md().users.setSysadmin(admin2.id + 10_000, true, T0)).toBe(false);
        const chief = (await md().users.getByUsername('chief'))!;
        expect(await md().transaction((tx) => tx.users.lockSysadmins())).toEqual([chief.id]);
        // the no-op lock changes nothing
        expect(await md().users.getById(chief.id)).toMatchObject({ sysadmin: true, updatedAt: T0 + 4 });

        const project = await md().projects.create({ name: unique('members-of'), public: false, ownerId: admin2.id, now: T0 });
        await md().members.add({ projectId: project.id, entityType: 'u', entityId: admin2.id, role: 'developer', now: T0 });
        expect(await md().users.delete(admin2.id)).toBe(true);
        expect(await md().users.getById(admin2.id)).toBeUndefined();
        expect(await md().members.rolesOf(project.id, admin2.id, [])).toEqual([]);
        expect((await md().projects.getById(project.id))?.ownerId).toBeNull();
        expect(await md().users.delete(admin2.id)).toBe(false);
      });
    });

    describe('repositories and the catalog', () => {
      const { md } = useDatabase();
      // byte order differs from any locale's order here
      const NAMES = ['lib/A', 'lib/a', 'lib/B', 'lib/_x', 'lib/1.10', 'lib/1.9', 'lib-x/a', 'lib.x/a', 'lib/a/b', 'lib/a-b', 'Lib/z'];

      it('creates a repository once and returns the same one after', async () => {
        const p = await md().projects.create({ name: 'once', public: false, ownerId: null, now: T0 });
        const r = await md().repositories.ensure(p.id, 'once/app', T0);
        expect(r).toEqual({ id: expect.any(Number), projectId: p.id, name: 'once/app', createdAt: T0, updatedAt: T0 });
        expect(await md().repositories.ensure(p.id, 'once/app', T0 + 100)).toEqual(r);
        expect(await md().repositories.getByName('once/app')).toEqual(r);
        expect(await md().repositories.getByName('once/APP')).toBeUndefined();
      });

      it('creates exactly one repository when first pushes race', async () => {
        const p = await md().projects.create({ name: 'race', public: false, ownerId: null, now: T0 });
        const all = await Promise.all(Array.from({ length: 10 }, () => md().repositories.ensure(p.id, 'race/app', T0)));
        expect(new Set(all.map((r) => r.id)).size).toBe(1);
        expect(await md().projects.repositoryCount(p.id)).toBe(1);
      });

      it('touches the update time only', async () => {
        const p = await md().projects.create({ name: 'touch', public: false, ownerId: null, now: T0 });
        const r = await md().repositories.ensure(p.id, 'touch/app', T0);
        await md().repositories.touch(r.id, T0 + 42);
        expect(await md().repositories.getByName('touch/app')).toEqual({ ...r, updatedAt: T0 + 42 });
      });

      it('lists names in byte order and pages with last', async () => {
        const p = await md().projects.create({ name: 'lib', public: false, ownerId: null, now: T0 });
        for (const n of NAMES) await md().repositories.ensure(p.id, n, T0);
        const everything = [...NAMES, 'once/app', 'race/app', 'touch/app'].sort(byteOrder);
        expect(await md().repositories.listNames({ limit: 1000 })).toEqual(everything);

        const paged: string[] = [];
        let last: string | undefined;
        for (;;) {
          const page = await md().repositories.listNames({ limit: 4, ...(last !== undefined ? { last } : {}) });
          expect(page.length).toBeLessThanOrEqual(4);
          if (page.length === 0) break;
          paged.push(...page);
          last = page.at(-1);
        }
        expect(paged).toEqual(everything);
        // `last` need not be a stored name
        expect(await md().repositories.listNames({ last: 'lib/1', limit: 2 })).toEqual(['lib/1.10', 'lib/1.9']);
        expect(await md().repositories.listNames({ last: 'touch/app', limit: 5 })).toEqual([]);
      });
    });

    describe('blobs', () => {
      const { md } = useDatabase();

      it('records a blob once: a second put of the digest changes nothing', async () => {
        const d = digestOf('blob-once');
        await md().blobs.put(d, 10, T0);
        await md().blobs.put(d, 99, T0 + 1);
        expect(await md().blobs.get(d)).toEqual({ digest: d, size: 10, createdAt: T0 });
        expect(await md().blobs.get(digestOf('never'))).toBeUndefined();
      });

      it('keeps sizes beyond 2^32 exact and as numbers', async () => {
        const d = digestOf('five-gib');
        await md().blobs.put(d, 5 * GiB, T0);
        const b = await md().blobs.get(d);
        expect(typeof b?.size).toBe('number');
        expect(b?.size).toBe(5 * GiB);
        expect(typeof b?.createdAt).toBe('number');
        const big = digestOf('2^53-1');
        await md().blobs.put(big, Number.MAX_SAFE_INTEGER, T0);
        expect((await md().blobs.get(big))?.size).toBe(Number.MAX_SAFE_INTEGER);
      });

      it('links a blob into a repository, idempotently, and unlinks it', async () => {
        const { repo } = await newRepository(md());
        const { repo: other } = await newRepository(md());
        const d = digestOf('linked');
        await md().blobs.put(d, 3 * GiB, T0);
        expect(await md().blobs.getInRepository(repo.id, d)).toBeUndefined();
        await md().blobs.link(repo.id, d, T0);
        await md().blobs.link(repo.id, d, T0 + 1);
        expect(await md().blobs.getInRepository(repo.id, d)).toEqual({ digest: d, size: 3 * GiB, createdAt: T0 });
        expect(await md().blobs.getInRepository(other.id, d)).toBeUndefined();
        expect(await md().blobs.unlink(repo.id, d)).toBe(true);
        expect(await md().blobs.unlink(repo.id, d)).toBe(false);
        expect(await md().blobs.getInRepository(repo.id, d)).toBeUndefined();
        // the blob itself stays: other repositories may hold it, GC decides
        expect(await md().blobs.get(d)).toBeDefined();
      });

      it('reports the digests missing from a repository across query batches', async () => {
        const { repo } = await newRepository(md());
        const digests = Array.from({ length: 1234 }, (_, i) => digestOf(`batch-${i}`));
        const linked = new Set(digests.filter((_, i) => i % 3 !== 0));
        for (const d of digests) await md().blobs.put(d, 1, T0);
        await md().transaction(async (tx) => {
          for (const d of linked) await tx.blobs.link(repo.id, d, T0);
        });
        const asked = [...digests, ...digests.slice(0, 50)]; // duplicates are asked once
        const missing = await md().blobs.missingInRepository(repo.id, asked);
        expect(missing).toEqual(digests.filter((d) => !linked.has(d)));
        expect(missing.length).toBe(412);
        expect(await md().blobs.missingInRepository(repo.id, [])).toEqual([]);
        expect(await md().blobs.missingInRepository(repo.id, [...linked])).toEqual([]);
        const strangers = Array.from({ length: 600 }, (_, i) => digestOf(`stranger-${i}`));
        expect(await md().blobs.missingInRepository(repo.id, strangers)).toEqual(strangers);
      });

      it('names the repositories that hold a blob, in byte order, up to the limit', async () => {
        const p = await md().projects.create({ name: 'holders', public: false, ownerId: null, now: T0 });
        const d = digestOf('shared-layer');
        await md().blobs.put(d, 1, T0);
        for (const n of ['holders/b', 'holders/B', 'holders/a', 'holders/_c']) {
          const r = await md().repositories.ensure(p.id, n, T0);
          await md().blobs.link(r.id, d, T0);
        }
        await md().repositories.ensure(p.id, 'holders/none', T0);
        expect(await md().blobs.repositoriesHolding(d, 10)).toEqual(['holders/B', 'holders/_c', 'holders/a', 'holders/b']);
        expect(await md().blobs.repositoriesHolding(d, 2)).toEqual(['holders/B', 'holders/_c']);
        expect(await md().blobs.repositoriesHolding(digestOf('unheld'), 10)).toEqual([]);
      });
    });

    describe('manifests and tags', () => {
      const { md, opened } = useDatabase();

      it('stores a manifest and reads it back with its bytes', async () => {
        const { repo } = await newRepository(md());
        const body = '{"schemaVersion":2,"note":"ünïcode and \\u0000 bytes"}';
        const m = manifest(repo.id, body, { annotations: { 'org.opencontainers.image.title': 'x', empty: '' }, artifactType: 'application/vnd.example+type' });
        const rec = await md().manifests.put(m);
        expect(rec).toEqual({
          id: expect.any(Number),
          repositoryId: repo.id,
          digest: m.digest,
          mediaType: m.mediaType,
          artifactType: 'application/vnd.example+type',
          size: Buffer.byteLength(body),
          subjectDigest: null,
          annotations: { 'org.opencontainers.image.title': 'x', empty: '' },
          createdAt: T0,
        });
        expect(await md().manifests.stat(repo.id, m.digest)).toEqual(rec);
        const got = await md().manifests.get(repo.id, m.digest);
        expect(got).toMatchObject(rec);
        expect(Buffer.isBuffer(got?.content)).toBe(true);
        expect(got?.content.equals(Buffer.from(body))).toBe(true);
        expect(await md().manifests.get(repo.id, digestOf('absent'))).toBeUndefined();
        expect(await md().manifests.stat(repo.id, digestOf('absent'))).toBeUndefined();
      });

      it('keeps every byte value of the content', async () => {
        const { repo } = await newRepository(md());
        const content = Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256));
        const m = { ...manifest(repo.id, 'binary'), content, size: content.length };
        await md().manifests.put(m);
        expect((await md().manifests.get(repo.id, m.digest))?.content.equals(content)).toBe(true);
      });

      it('keeps a manifest larger than 2^32 bytes as a number', async () => {
        const { repo } = await newRepository(md());
        const m = { ...manifest(repo.id, 'huge'), size: 6 * GiB };
        expect((await md().manifests.put(m)).size).toBe(6 * GiB);
        expect((await md().manifests.stat(repo.id, m.digest))?.size).toBe(6 * GiB);
      });

      it('stores a digest once per repository: a second put returns the first row', async () => {
        const { repo } = await newRepository(md());
        const { repo: other } = await newRepository(md());
        const m = manifest(repo.id, 'idempotent', { blobDigests: [digestOf('l1')] });
        const first = await md().manifests.put(m);
        const again = await md().manifests.put({ ...m, mediaType: 'application/vnd.docker.distribution.manifest.v2+json', now: T0 + 1, blobDigests: [digestOf('l2')] });
        expect(again).toEqual(first);
        if (opened().edges) expect((await opened().edges!(first.id)).blobs).toEqual([digestOf('l1')]);
        const elsewhere = await md().manifests.put({ ...m, repositoryId: other.id });
        expect(elsewhere.id).not.toBe(first.id);
        expect(elsewhere.repositoryId).toBe(other.id);
      });

      it('records the blob and child edges of a manifest, each once', async () => {
        const { repo } = await newRepository(md());
        const [l1, l2, cfg] = [digestOf('e-l1'), digestOf('e-l2'), digestOf('e-cfg')];
        const image = await md().manifests.put(manifest(repo.id, 'edges-image', { blobDigests: [cfg, l1, l2, l1] }));
        const child = manifest(repo.id, 'edges-child');
        await md().manifests.put(child);
        const index = await md().manifests.put(
          manifest(repo.id, 'edges-index', { mediaType: 'application/vnd.oci.image.index.v1+json', childDigests: [digestOf('edges-image'), child.digest, child.digest] }),
        );
        const edges = opened().edges;
        if (edges) {
          expect((await edges(image.id)).blobs.sort()).toEqual([cfg, l1, l2].sort());
          expect((await edges(image.id)).children).toEqual([]);
          expect((await edges(index.id)).children.sort()).toEqual([digestOf('edges-image'), child.digest].sort());
          expect((await edges(index.id)).blobs).toEqual([]);
        }
        expect(await md().manifests.delete(repo.id, image.digest)).toBe(true);
        expect(await md().manifests.delete(repo.id, index.digest)).toBe(true);
        if (edges) {
          expect(await edges(image.id)).toEqual({ blobs: [], children: [] });
          expect(await edges(index.id)).toEqual({ blobs: [], children: [] });
        }
      });

      it('reports the manifests missing from a repository across query batches', async () => {
        const { repo } = await newRepository(md());
        const bodies = Array.from({ length: 700 }, (_, i) => `m-${i}`);
        await md().transaction(async (tx) => {
          for (const b of bodies.filter((_, i) => i % 2 === 0)) await tx.manifests.put(manifest(repo.id, b));
        });
        const missing = await md().manifests.missingInRepository(repo.id, bodies.map(digestOf));
        expect(missing).toEqual(bodies.filter((_, i) => i % 2 === 1).map(digestOf));
        expect(await md().manifests.missingInRepository(repo.id, [])).toEqual([]);
      });

      it('resolves a tag to its manifest and moves the tag when it is put again', async () => {
        const { repo } = await newRepository(md());
        const a = await md().manifests.put(manifest(repo.id, 'tag-a'));
        const b = await md().manifests.put(manifest(repo.id, 'tag-b'));
        await md().tags.put(repo.id, 'latest', a.id, T0);
        expect(await md().manifests.statByTag(repo.id, 'latest')).toEqual(a);
        const got = await md().manifests.getByTag(repo.id, 'latest');
        expect(got?.digest).toBe(a.digest);
        expect(got?.content.toString()).toBe('tag-a');

        await md().tags.put(repo.id, 'latest', b.id, T0 + 1);
        expect((await md().manifests.statByTag(repo.id, 'latest'))?.digest).toBe(b.digest);
        expect((await md().manifests.getByTag(repo.id, 'latest'))?.content.toString()).toBe('tag-b');
        expect(await md().tags.list(repo.id, { limit: 10 })).toEqual(['latest']);
        // the old manifest stays, untagged
        expect(await md().manifests.stat(repo.id, a.digest)).toEqual(a);

        expect(await md().manifests.statByTag(repo.id, 'nope')).toBeUndefined();
        expect(await md().manifests.getByTag(repo.id, 'nope')).toBeUndefined();
        expect(await md().manifests.statByTag(repo.id, 'LATEST')).toBeUndefined();
      });

      it('keeps tags per repository', async () => {
        const { repo } = await newRepository(md());
        const { repo: other } = await newRepository(md());
        const a = await md().manifests.put(manifest(repo.id, 'per-repo'));
        await md().tags.put(repo.id, 'v1', a.id, T0);
        expect(await md().manifests.statByTag(other.id, 'v1')).toBeUndefined();
        expect(await md().tags.list(other.id, { limit: 10 })).toEqual([]);
      });

      it('lists tags in byte order, not locale order, and pages with last', async () => {
        const { repo } = await newRepository(md());
        const m = await md().manifests.put(manifest(repo.id, 'many-tags'));
        const TAGS = ['A', 'a', 'B', '_x', '1.0', '1.10', '1.9', 'latest', 'Latest', 'v1.0.0-rc1', 'v1.0.0', 'z', 'Z', '9', '0_0', 'a.b', 'a-b', 'a_b'];
        for (const t of TAGS) await md().tags.put(repo.id, t, m.id, T0);
        const expected = [...TAGS].sort(byteOrder);
        expect(expected.slice(0, 8)).toEqual(['0_0', '1.0', '1.10', '1.9', '9', 'A', 'B', 'Latest']);
        expect(await md().tags.list(repo.id, { limit: 100 })).toEqual(expected);
        expect(await md().tags.list(repo.id, { limit: 3 })).toEqual(expected.slice(0, 3));
        expect(await md().tags.list(repo.id, { last: 'B', limit: 4 })).toEqual(expected.slice(expected.indexOf('B') + 1, expected.indexOf('B') + 5));
        expect(await md().tags.list(repo.id, { last: '1.5', limit: 2 })).toEqual(['1.9', '9']);
        expect(await md().tags.list(repo.id, { last: 'z', limit: 10 })).toEqual([]);

        const paged: string[] = [];
        let last: string | undefined;
        for (;;) {
          const page = await md().tags.list(repo.id, { limit: 5, ...(last !== undefined ? { last } : {}) });
          if (page.length === 0) break;
          paged.push(...page);
          last = page.at(-1);
        }
        expect(paged).toEqual(expected);
      });

      it('deletes a tag and leaves its manifest', async () => {
        const { repo } = await newRepository(md());
        const m = await md().manifests.put(manifest(repo.id, 'tag-del'));
        await md().tags.put(repo.id, 'gone', m.id, T0);
        expect(await md().tags.delete(repo.id, 'gone')).toBe(true);
        expect(await md().tags.delete(repo.id, 'gone')).toBe(false);
        expect(await md().manifests.statByTag(repo.id, 'gone')).toBeUndefined();
        expect(await md().manifests.stat(repo.id, m.digest)).toBeDefined();
      });

      it('deletes a manifest together with the tags that point at it', async () => {
        const { repo } = await newRepository(md());
        const doomed = await md().manifests.put(manifest(repo.id, 'doomed', { blobDigests: [digestOf('d-layer')] }));
        const kept = await md().manifests.put(manifest(repo.id, 'kept'));
        await md().tags.put(repo.id, 'one', doomed.id, T0);
        await md().tags.put(repo.id, 'two', doomed.id, T0);
        await md().tags.put(repo.id, 'stay', kept.id, T0);
        expect(await md().manifests.delete(repo.id, doomed.digest)).toBe(true);
        expect(await md().manifests.stat(repo.id, doomed.digest)).toBeUndefined();
        expect(await md().manifests.get(repo.id, doomed.digest)).toBeUndefined();
        expect(await md().tags.list(repo.id, { limit: 10 })).toEqual(['stay']);
        expect(await md().manifests.statByTag(repo.id, 'one')).toBeUndefined();
        expect(await md().manifests.delete(repo.id, doomed.digest)).toBe(false);
        // a deleted digest may be pushed again, as a new row
        const back = await md().manifests.put(manifest(repo.id, 'doomed'));
        expect(back.id).not.toBe(doomed.id);
      });

      it('lists referrers of a subject, filtered by artifactType when asked', async () => {
        const { repo } = await newRepository(md());
        const { repo: other } = await newRepository(md());
        const subject = await md().manifests.put(manifest(repo.id, 'subject'));
        const sbom = await md().manifests.put(
          manifest(repo.id, 'sbom', { artifactType: 'application/spdx+json', subjectDigest: subject.digest, annotations: { 'org.example.k': 'v' } }),
        );
        const sig = await md().manifests.put(manifest(repo.id, 'sig', { artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json', subjectDigest: subject.digest }));
        const plain = await md().manifests.put(manifest(repo.id, 'plain', { subjectDigest: subject.digest, mediaType: 'application/vnd.oci.artifact.manifest.v1+json' }));
        const sbom2 = await md().manifests.put(manifest(repo.id, 'sbom2', { artifactType: 'application/spdx+json', subjectDigest: subject.digest, size: 5 * GiB }));
        // another repository's referrer of the same digest, and a referrer of another subject
        await md().manifests.put(manifest(other.id, 'foreign', { artifactType: 'application/spdx+json', subjectDigest: subject.digest }));
        await md().manifests.put(manifest(repo.id, 'unrelated', { artifactType: 'application/spdx+json', subjectDigest: digestOf('other-subject') }));

        const all = await md().manifests.referrers(repo.id, subject.digest);
        expect(all).toEqual([
          { mediaType: sbom.mediaType, digest: sbom.digest, size: sbom.size, artifactType: 'application/spdx+json', annotations: { 'org.example.k': 'v' } },
          { mediaType: sig.mediaType, digest: sig.digest, size: sig.size, artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json' },
          { mediaType: 'application/vnd.oci.artifact.manifest.v1+json', digest: plain.digest, size: plain.size },
          { mediaType: sbom2.mediaType, digest: sbom2.digest, size: 5 * GiB, artifactType: 'application/spdx+json' },
        ]);
        expect(Object.keys(all[2]!)).not.toContain('artifactType');
        expect(Object.keys(all[2]!)).not.toContain('annotations');
        expect((await md().manifests.referrers(repo.id, subject.digest, 'application/spdx+json')).map((d) => d.digest)).toEqual([sbom.digest, sbom2.digest]);
        expect(await md().manifests.referrers(repo.id, subject.digest, 'application/none')).toEqual([]);
        expect(await md().manifests.referrers(repo.id, digestOf('no-subject'))).toEqual([]);

        await md().manifests.delete(repo.id, sig.digest);
        expect((await md().manifests.referrers(repo.id, subject.digest)).map((d) => d.digest)).toEqual([sbom.digest, plain.digest, sbom2.digest]);
      });
    });

    describe('upload sessions', () => {
      const { md } = useDatabase();
      const seg = (path: string, size: number) => ({ path, size });

      it('creates a session and reads it back', async () => {
        const { repo } = await newRepository(md());
        const id = randomUUID();
        const s = await md().uploads.create({ id, repositoryId: repo.id, now: T0, expiresAt: T0 + 1000 });
        expect(s).toEqual({ id, repositoryId: repo.id, size: 0, segments: [], createdAt: T0, updatedAt: T0, expiresAt: T0 + 1000 });
        expect(await md().uploads.get(id)).toEqual(s);
        expect(await md().uploads.get(randomUUID())).toBeUndefined();
      });

      it('appends segments when the expected size matches, and refuses a stale one', async () => {
        const { repo } = await newRepository(md());
        const id = randomUUID();
        await md().uploads.create({ id, repositoryId: repo.id, now: T0, expiresAt: T0 + 1000 });
        expect(await md().uploads.append(id, 0, seg('uploads/x/0', 10), T0 + 1, T0 + 2000)).toBe(true);
        expect(await md().uploads.append(id, 10, seg('uploads/x/1', 4 * GiB), T0 + 2, T0 + 3000)).toBe(true);
        expect(await md().uploads.append(id, 10, seg('uploads/x/stale', 1), T0 + 3, T0 + 4000)).toBe(false);
        expect(await md().uploads.append(id, 0, seg('uploads/x/stale', 1), T0 + 3, T0 + 4000)).toBe(false);
        expect(await md().uploads.get(id)).toEqual({
          id,
          repositoryId: repo.id,
          size: 10 + 4 * GiB,
          segments: [seg('uploads/x/0', 10), seg('uploads/x/1', 4 * GiB)],
          createdAt: T0,
          updatedAt: T0 + 2,
          expiresAt: T0 + 3000,
        });
        expect(await md().uploads.append(randomUUID(), 0, seg('p', 1), T0, T0)).toBe(false);
      });

      it('keeps inline chunks with their session, in order, and deletes them with it', async () => {
        const { repo } = await newRepository(md());
        const id = randomUUID();
        await md().uploads.create({ id, repositoryId: repo.id, now: T0, expiresAt: T0 + 1000 });
        const a = Buffer.from('first chunk');
        const b = Buffer.from([0, 255, 1, 254]);
        expect(await md().transaction((tx) => tx.uploads.appendInline(id, 0, a, T0 + 1, T0 + 2000))).toBe(true);
        expect(await md().transaction((tx) => tx.uploads.appendInline(id, 0, b, T0 + 1, T0 + 2000))).toBe(false);
        expect(await md().transaction((tx) => tx.uploads.appendInline(id, a.length, b, T0 + 2, T0 + 2000))).toBe(true);
        expect((await md().uploads.get(id))?.segments).toEqual([
          { path: '', size: a.length, inline: true },
          { path: '', size: b.length, inline: true },
        ]);
        const data = await md().uploads.inlineData(id);
        expect([...data.keys()]).toEqual([0, 1]);
        expect(data.get(0)).toEqual(a);
        expect(data.get(1)).toEqual(b);
        expect(await md().uploads.delete(id)).toBe(true);
        expect((await md().uploads.inlineData(id)).size).toBe(0);
      });

      it('lets exactly one of two racing appends with the same expected size win', async () => {
        const { repo } = await newRepository(md());
        for (let round = 0; round < 5; round++) {
          const id = randomUUID();
          await md().uploads.create({ id, repositoryId: repo.id, now: T0, expiresAt: T0 + 1000 });
          const results = await Promise.all([
            md().uploads.append(id, 0, seg('first', 5), T0 + 1, T0 + 2000),
            md().uploads.append(id, 0, seg('second', 7), T0 + 1, T0 + 2000),
          ]);
          expect(results.filter(Boolean)).toHaveLength(1);
          const s = await md().uploads.get(id);
          const winner = results[0] ? seg('first', 5) : seg('second', 7);
          expect(s?.segments).toEqual([winner]);
          expect(s?.size).toBe(winner.size);
        }
      });

      it('loses no segment when empty appends race: the session state, not the size alone, is compared', async () => {
        // an empty segment leaves the size as it was, so both may legitimately win when one
        // finishes before the other reads; what must never happen is a win whose segment is gone
        const { repo } = await newRepository(md());
        for (let round = 0; round < 5; round++) {
          const id = randomUUID();
          await md().uploads.create({ id, repositoryId: repo.id, now: T0, expiresAt: T0 + 1000 });
          const results = await Promise.all([md().uploads.append(id, 0, seg('e1', 0), T0, T0), md().uploads.append(id, 0, seg('e2', 0), T0, T0)]);
          const won = [seg('e1', 0), seg('e2', 0)].filter((_, i) => results[i]);
          expect(won.length).toBeGreaterThanOrEqual(1);
          expect(new Set((await md().uploads.get(id))?.segments.map((x) => x.path))).toEqual(new Set(won.map((x) => x.path)));
        }
      });

      it('deletes a session', async () => {
        const { repo } = await newRepository(md());
        const id = randomUUID();
        await md().uploads.create({ id, repositoryId: repo.id, now: T0, expiresAt: T0 + 1000 });
        expect(await md().uploads.delete(id)).toBe(true);
        expect(await md().uploads.delete(id)).toBe(false);
        expect(await md().uploads.get(id)).toBeUndefined();
      });

      it('lists sessions that expired before now, soonest first, up to the limit', async () => {
        const { repo } = await newRepository(md());
        // before every other session of this database expires
        const now = T0 - 1_000_000;
        const ids: Record<string, string> = {};
        for (const [label, expiresAt] of [
          ['late', now - 10],
          ['early', now - 1000],
          ['exactly-now', now],
          ['future', now + 1],
          ['middle', now - 500],
        ] as const) {
          ids[label] = randomUUID();
          await md().uploads.create({ id: ids[label]!, repositoryId: repo.id, now: T0, expiresAt });
        }
        const expired = await md().uploads.listExpired(now, 10);
        expect(expired.map((s) => s.id)).toEqual([ids['early'], ids['middle'], ids['late']]);
        expect(expired[0]).toMatchObject({ repositoryId: repo.id, size: 0, segments: [], expiresAt: now - 1000 });
        expect((await md().uploads.listExpired(now, 2)).map((s) => s.id)).toEqual([ids['early'], ids['middle']]);
        expect(await md().uploads.listExpired(now - 1000, 10)).toEqual([]);
      });
    });

    describe('transactions', () => {
      const { md } = useDatabase();

      it('commits what the function wrote and returns its result', async () => {
        const result = await md().transaction(async (tx) => {
          const p = await tx.projects.create({ name: 'committed', public: false, ownerId: null, now: T0 });
          const r = await tx.repositories.ensure(p.id, 'committed/app', T0);
          // reads inside the transaction see its writes
          expect(await tx.repositories.getByName('committed/app')).toEqual(r);
          return r.id;
        });
        expect((await md().repositories.getByName('committed/app'))?.id).toBe(result);
      });

      it('rolls back everything when the function throws, and rethrows its error', async () => {
        const boom = new Error('boom');
        const { repo } = await newRepository(md());
        const uploadId = randomUUID();
        await md().uploads.create({ id: uploadId, repositoryId: repo.id, now: T0, expiresAt: T0 + 1 });
        const d = digestOf('rolled-back');
        const err = await md()
          .transaction(async (tx) => {
            const p = await tx.projects.create({ name: 'ghost', public: false, ownerId: null, now: T0 });
            const r = await tx.repositories.ensure(p.id, 'ghost/app', T0);
            await tx.users.create({ username: 'ghost', passwordHash: 'h', sysadmin: false, now: T0 });
            await tx.blobs.put(d, 1, T0);
            await tx.blobs.link(r.id, d, T0);
            const m = await tx.manifests.put(manifest(r.id, 'ghost-manifest', { blobDigests: [d] }));
            await tx.tags.put(r.id, 'latest', m.id, T0);
            await tx.tags.put(repo.id, 'ghost-tag', (await tx.manifests.put(manifest(repo.id, 'ghost-m2'))).id, T0);
            expect(await tx.uploads.delete(uploadId)).toBe(true);
            throw boom;
          })
          .catch((e: unknown) => e);
        expect(err).toBe(boom);
        expect(await md().projects.getByName('ghost')).toBeUndefined();
        expect(await md().repositories.getByName('ghost/app')).toBeUndefined();
        expect(await md().users.getByUsername('ghost')).toBeUndefined();
        expect(await md().blobs.get(d)).toBeUndefined();
        expect(await md().tags.list(repo.id, { limit: 10 })).toEqual([]);
        expect(await md().manifests.stat(repo.id, digestOf('ghost-m2'))).toBeUndefined();
        expect(await md().uploads.get(uploadId)).toBeDefined();
        // and the database is still usable
        await md().projects.create({ name: 'ghost', public: false, ownerId: null, now: T0 });
      });

      it('rolls back when a repository method fails inside the transaction', async () => {
        await md().projects.create({ name: 'taken', public: false, ownerId: null, now: T0 });
        await expectConflict(
          md().transaction(async (tx) => {
            await tx.projects.create({ name: 'half-done', public: false, ownerId: null, now: T0 });
            await tx.projects.create({ name: 'taken', public: false, ownerId: null, now: T0 });
          }),
        );
        expect(await md().projects.getByName('half-done')).toBeUndefined();
      });

      it('leaves one consistent state after 20 concurrent manifest+tag transactions on one tag', async () => {
        const { repo } = await newRepository(md());
        const digests = Array.from({ length: 20 }, (_, i) => digestOf(`concurrent-${i}`));
        const ids = await Promise.all(
          digests.map((_, i) =>
            md().transaction(async (tx) => {
              const layer = digestOf(`concurrent-layer-${i}`);
              await tx.blobs.put(layer, 1, T0);
              await tx.blobs.link(repo.id, layer, T0);
              const m = await tx.manifests.put(manifest(repo.id, `concurrent-${i}`, { blobDigests: [layer] }));
              await tx.blobs.put(m.digest, m.size, T0);
              await tx.blobs.link(repo.id, m.digest, T0);
              await tx.tags.put(repo.id, 'latest', m.id, T0 + i);
              return m.id;
            }),
          ),
        );
        expect(new Set(ids).size).toBe(20);
        expect(await md().manifests.missingInRepository(repo.id, digests)).toEqual([]);
        expect(await md().tags.list(repo.id, { limit: 10 })).toEqual(['latest']);
        const tagged = await md().manifests.statByTag(repo.id, 'latest');
        expect(digests).toContain(tagged?.digest);
        expect(ids).toContain(tagged?.id);
      });

      it('stores one row when 20 transactions put the same manifest under different tags', async () => {
        const { repo } = await newRepository(md());
        const m = manifest(repo.id, 'same-everywhere');
        const ids = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            md().transaction(async (tx) => {
              const row = await tx.manifests.put(m);
              await tx.tags.put(repo.id, `t${String(i).padStart(2, '0')}`, row.id, T0);
              return row.id;
            }),
          ),
        );
        expect(new Set(ids).size).toBe(1);
        expect(await md().tags.list(repo.id, { limit: 100 })).toHaveLength(20);
        for (const t of ['t00', 't19']) expect((await md().manifests.statByTag(repo.id, t))?.id).toBe(ids[0]);
      });
    });
  });
}
