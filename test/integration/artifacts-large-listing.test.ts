import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MetadataRepos } from '../../src/ports/metadata.js';
import { createTestSchema, type TestSchema } from '../helpers/postgres.js';
import { RegistryClient } from '../helpers/registry-client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { body, OCI_INDEX, OCI_MANIFEST } from './catalog-fixtures.js';

/**
 * Deep pages of a large repository, on both dialects: 20,000 manifests written straight
 * through the repositories (with index children, accessories, deletes and another
 * repository's rows interleaved, so that ids and blocks have holes), then pages far into the
 * list compared with the list the test kept itself. The seek plan shows the bound on the work:
 * never more than one block (1024 rows) stepped over, whatever the page.
 */
const N = 20_000;
const BLOCK = 1024;

const digest = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;
const CONTENT = Buffer.from('{"schemaVersion":2}');

async function fill(s: TestServer): Promise<{ listed: number[]; all: number }> {
  const md = s.server.berth.metadata;
  const project = await md.projects.create({ name: 'big', public: false, ownerId: null, now: 1 });
  const repo = await md.repositories.ensure(project.id, 'big/many', 1);
  const other = await md.repositories.ensure(project.id, 'big/other', 1);
  const listed: { id: number; digest: string; children: number[] }[] = [];
  let all = 0;
  const put = async (tx: MetadataRepos, repositoryId: number, d: string, opts: { children?: string[]; subject?: string } = {}) =>
    (
      await tx.manifests.put({
        repositoryId,
        digest: d,
        mediaType: opts.children ? OCI_INDEX : OCI_MANIFEST,
        artifactType: opts.children ? null : 'application/vnd.oci.image.config.v1+json',
        size: CONTENT.length,
        subjectDigest: opts.subject ?? null,
        annotations: null,
        content: CONTENT,
        blobDigests: [],
        childDigests: opts.children ?? [],
        now: 1_700_000_000_000,
      })
    ).id;
  for (let start = 0; start < N; start += 1000) {
    await md.transaction(async (tx) => {
      for (let i = start; i < start + 1000; i++) {
        if (i % 10 === 0) await put(tx, other.id, digest(`other ${i}`));
        if (i % 100 === 0) {
          // an index: its two children are not listed, the index is
          const kids = [digest(`child a ${i}`), digest(`child b ${i}`)];
          const children = [await put(tx, repo.id, kids[0]!), await put(tx, repo.id, kids[1]!)];
          const d = digest(`index ${i}`);
          listed.push({ id: await put(tx, repo.id, d, { children: kids }), digest: d, children });
          all += 3;
        } else if (i % 50 === 25) {
          // an accessory of the previous artifact: not listed
          await put(tx, repo.id, digest(`sig ${i}`), { subject: digest(`m ${i - 1}`) });
          all += 1;
        } else {
          const d = digest(`m ${i}`);
          listed.push({ id: await put(tx, repo.id, d), digest: d, children: [] });
          all += 1;
        }
      }
    });
  }
  // holes: every 7th listed artifact goes, and a run of 2,500 (whole blocks emptied); a
  // deleted index leaves its children, which are listed again
  const gone = listed.filter((_, i) => i % 7 === 3 || (i >= 5000 && i < 7500));
  await md.transaction(async (tx) => {
    for (const g of gone) expect(await tx.manifests.delete(repo.id, g.digest)).toBe(true);
  });
  const goneIds = new Set(gone.map((g) => g.id));
  const remaining = [...listed.filter((l) => !goneIds.has(l.id)).map((l) => l.id), ...gone.flatMap((g) => g.children)].sort((a, b) => a - b);
  return { listed: remaining, all: all - gone.length };
}

function largeListing(dialect: 'sqlite' | 'postgres') {
  describe(`a repository of ${N} artifacts on ${dialect}`, () => {
    let s: TestServer;
    let schema: TestSchema | undefined;
    let admin: RegistryClient;
    let expected: { listed: number[]; all: number };
    const path = '/api/v2.0/projects/big/repositories/many/artifacts';

    beforeAll(async () => {
      if (dialect === 'postgres') schema = await createTestSchema({ create: false });
      s = await startTestServer(
        schema ? { BERTH_DATABASE_DRIVER: 'postgres', BERTH_DATABASE_URL: schema.url, BERTH_DATABASE_SCHEMA: schema.schema } : {},
      );
      admin = new RegistryClient(s.url, s.adminBasic);
      expected = await fill(s);
    });
    afterAll(async () => {
      await s?.stop();
      await schema?.drop();
    });

    const ids = async (query: string) => {
      const res = await admin.fetch(`${path}?${query}`);
      return { total: Number(res.headers.get('x-total-count')), ids: (await body<{ id: number }[]>(res)).map((a) => a.id) };
    };

    it('counts the listed artifacts from the block counts', async () => {
      expect((await ids('page_size=1')).total).toBe(expected.listed.length);
      const repo = await body<{ artifact_count: number }>(await admin.fetch('/api/v2.0/projects/big/repositories/many'));
      expect(repo.artifact_count).toBe(expected.listed.length);
    });

    it('serves deep pages in push order, both ways, equal to the expected list', async () => {
      const asc = expected.listed;
      const desc = [...asc].reverse();
      const lastPage = Math.ceil(asc.length / 100);
      for (const page of [1, 2, 57, 100, lastPage - 1, lastPage]) {
        expect((await ids(`sort=push_time&page=${page}&page_size=100`)).ids, `asc page ${page}`).toEqual(asc.slice((page - 1) * 100, page * 100));
        expect((await ids(`page=${page}&page_size=100`)).ids, `desc page ${page}`).toEqual(desc.slice((page - 1) * 100, page * 100));
      }
      for (const page of [1, 9, 16]) {
        expect((await ids(`sort=push_time&page=${page}&page_size=1000`)).ids).toEqual(asc.slice((page - 1) * 1000, page * 1000));
      }
      expect((await ids(`page=${lastPage + 1}&page_size=100`)).ids).toEqual([]);
    });

    it('walks the whole list page by page without a gap or a repeat', async () => {
      const seen: number[] = [];
      for (let page = 1; ; page++) {
        const r = await ids(`sort=push_time&page=${page}&page_size=997`);
        seen.push(...r.ids);
        if (r.ids.length < 997) break;
      }
      expect(seen).toEqual(expected.listed);
    });

    it('never steps over more than one block to reach a page', async () => {
      const md = s.server.berth.metadata;
      const repo = (await md.repositories.getByName('big/many'))!;
      for (const offset of [0, 1, 1023, 1024, 5_000, 9_999, expected.listed.length - 1]) {
        for (const desc of [false, true]) {
          const plan = await md.artifacts.seekPlan(repo.id, offset, desc);
          expect(plan.total).toBe(expected.listed.length);
          expect(plan.skip).toBeGreaterThanOrEqual(0);
          expect(plan.skip).toBeLessThan(BLOCK);
          // the block the plan seeks into holds the artifact at that position
          const target = desc ? [...expected.listed].reverse()[offset]! : expected.listed[offset]!;
          if (desc) expect(target).toBeLessThan(plan.fromId!);
          else expect(target).toBeGreaterThanOrEqual(plan.fromId!);
          expect(Math.abs(Math.floor(target / BLOCK) - Math.floor((desc ? plan.fromId! - 1 : plan.fromId!) / BLOCK))).toBe(0);
        }
      }
      const beyond = await md.artifacts.seekPlan(repo.id, expected.listed.length, false);
      expect(beyond.fromId).toBeUndefined();
    });

    it('pages filtered lists (an offset scan) correctly too', async () => {
      const all = await ids('q=base%3D*&page=3&page_size=1000');
      expect(all.total).toBe(expected.all);
      expect(all.ids.length).toBe(1000);
      const nil = await ids('q=tags%3Dnil&sort=push_time&page=5&page_size=100');
      expect(nil.total).toBe(expected.listed.length);
      expect(nil.ids).toEqual(expected.listed.slice(400, 500));
    });
  });
}

largeListing('sqlite');
largeListing('postgres');
