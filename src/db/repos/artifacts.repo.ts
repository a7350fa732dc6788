import { type Expression, type Kysely, sql, type SqlBool } from 'kysely';
import { KNOWN_ARTIFACT_TYPES, type TypeSelector } from '../../domain/artifact.js';
import { conflict } from '../../domain/errors.js';
import { MediaType } from '../../domain/media-types.js';
import type { ManifestRecord, ManifestWithContent } from '../../domain/records.js';
import type { ArtifactFilter, ArtifactRepo, ArtifactSortKey, NameMatch, SeekPlan, SortBy, TagRecord } from '../../ports/catalog-repos.js';
import type { Page } from '../../ports/metadata.js';
import type { Dialect } from '../dialect.js';
import { isUniqueViolation } from '../errors.js';
import { ARTIFACT_BLOCK_BITS } from '../migrations/006-catalog.js';
import { containsPattern, nameMatches } from '../name-match.js';
import { listed, type ManifestEB, RECORD, toRecord } from './manifest-rows.js';
import type { DB } from '../schema.js';

const BLOCK = 2 ** ARTIFACT_BLOCK_BITS;
const INDEX_TYPES = [MediaType.OciIndex, MediaType.DockerManifestList];
type MEB = ManifestEB;

function typeMatches(eb: MEB, s: TypeSelector): Expression<SqlBool> {
  const any: Expression<SqlBool>[] = [];
  if (s.exact.length) any.push(eb('m.artifact_type', 'in', s.exact));
  if (s.prefix) {
    any.push(eb.and([eb('m.artifact_type', 'like', `${s.prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`), eb('m.artifact_type', 'not in', [...KNOWN_ARTIFACT_TYPES])]));
  }
  if (s.indexWithoutArtifactType) any.push(eb.and([eb('m.artifact_type', 'is', null), eb('m.media_type', 'in', INDEX_TYPES)]));
  if (s.unknown) {
    any.push(eb.and([eb('m.artifact_type', 'is', null), eb('m.media_type', 'not in', INDEX_TYPES)]));
    any.push(eb.and([eb('m.artifact_type', 'is not', null), eb('m.artifact_type', 'not like', 'application/vnd._%.%'), eb('m.artifact_type', 'not in', [...KNOWN_ARTIFACT_TYPES])]));
  }
  return any.length ? eb.or(any) : sql<SqlBool>`1 = 0`;
}

const isPlain = (f: ArtifactFilter) =>
  !f.all && !f.digests && !f.mediaTypes && !f.types && !f.tags && !f.labelsAll && !f.labelsAny && f.pushedFrom === undefined && f.pushedTo === undefined;

export class KyselyArtifactRepo implements ArtifactRepo {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly dialect: Dialect,
  ) {}

  private base(repositoryId: number) {
    return this.db.selectFrom('manifests as m').where('m.repository_id', '=', repositoryId);
  }

  async list(repositoryId: number, f: ArtifactFilter, order: SortBy<ArtifactSortKey>, page: { offset: number; limit: number }): Promise<Page<ManifestWithContent>> {
    const dir = order.desc ? 'desc' : 'asc';
    if (isPlain(f) && order.key === 'id') {
      // push order without filters: a seek into the block that holds the page's first row
      const plan = await this.seekPlan(repositoryId, page.offset, order.desc);
      if (plan.fromId === undefined) return { items: [], total: plan.total };
      const rows = await this.base(repositoryId)
        .where(listed)
        .where('m.id', order.desc ? '<' : '>=', plan.fromId)
        .select([...RECORD, 'm.content'])
        .orderBy('m.id', dir)
        .limit(page.limit)
        .offset(plan.skip)
        .execute();
      return { items: rows.map((r) => ({ ...toRecord(r), content: r.content })), total: plan.total };
    }
    const q = this.base(repositoryId).where((eb) => this.filter(eb, f));
    const [rows, count] = await Promise.all([
      (order.key === 'digest' ? q.orderBy('m.digest', dir) : q)
        .select([...RECORD, 'm.content'])
        .orderBy('m.id', dir)
        .limit(page.limit)
        .offset(page.offset)
        .execute(),
      q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { items: rows.map((r) => ({ ...toRecord(r), content: r.content })), total: Number(count.n) };
  }

  private filter(eb: MEB, f: ArtifactFilter): Expression<SqlBool> {
    const all: Expression<SqlBool>[] = [];
    if (!f.all) all.push(listed(eb));
    if (f.digests) all.push(f.digests.length ? eb('m.digest', 'in', f.digests) : sql<SqlBool>`1 = 0`);
    if (f.mediaTypes) {
      all.push(f.mediaTypes.length ? eb(eb.fn.coalesce('m.artifact_type', 'm.media_type'), 'in', f.mediaTypes) : sql<SqlBool>`1 = 0`);
    }
    if (f.types) all.push(eb.or(f.types.map((t) => typeMatches(eb, t))));
    if (f.pushedFrom !== undefined) all.push(eb('m.created_at', '>=', f.pushedFrom));
    if (f.pushedTo !== undefined) all.push(eb('m.created_at', '<=', f.pushedTo));
    const tags = f.tags;
    if (tags) {
      let t = eb.selectFrom('tags as t').select(sql.lit(1).as('x')).whereRef('t.manifest_id', '=', 'm.id');
      if ('none' in tags) {
        all.push(eb.not(eb.exists(t)));
      } else {
        if ('exact' in tags) t = t.where('t.name', 'in', tags.exact.length ? tags.exact : ['\u0000']);
        if ('fuzzy' in tags) t = t.where(sql<SqlBool>`lower(t.name) like lower(${containsPattern(tags.fuzzy)}) escape '\\'`);
        all.push(eb.exists(t));
      }
    }
    for (const id of f.labelsAll ?? []) {
      all.push(eb.exists(eb.selectFrom('artifact_labels as al').select(sql.lit(1).as('x')).whereRef('al.manifest_id', '=', 'm.id').where('al.label_id', '=', id)));
    }
    if (f.labelsAny) {
      const ids = f.labelsAny.length ? f.labelsAny : [-1];
      all.push(eb.exists(eb.selectFrom('artifact_labels as al').select(sql.lit(1).as('x')).whereRef('al.manifest_id', '=', 'm.id').where('al.label_id', 'in', ids)));
    }
    return all.length ? eb.and(all) : sql<SqlBool>`1 = 1`;
  }

  /**
   * Sums the repository's block counts in list order up to the block that holds position
   * `offset`: one row per 1024 manifest ids, never the manifests themselves.
   */
  async seekPlan(repositoryId: number, offset: number, desc: boolean): Promise<SeekPlan> {
    const order = desc ? sql`desc` : sql`asc`;
    const { rows } = await sql<{ block: number; n: number; cum: number; total: number }>`
      select block, n, cum, total from (
        select block, n,
               cast(sum(n) over (order by block ${order} rows between unbounded preceding and current row) as bigint) as cum,
               cast(sum(n) over () as bigint) as total
        from artifact_blocks where repository_id = ${repositoryId}
      ) t where cum > ${offset} order by block ${order} limit 1`.execute(this.db);
    const hit = rows[0];
    if (!hit) {
      const t = await this.db
        .selectFrom('artifact_blocks')
        .select(sql<number>`cast(coalesce(sum(n), 0) as bigint)`.as('total'))
        .where('repository_id', '=', repositoryId)
        .executeTakeFirstOrThrow();
      return { total: Number(t.total), skip: 0 };
    }
    const block = Number(hit.block);
    return {
      total: Number(hit.total),
      fromId: desc ? (block + 1) * BLOCK : block * BLOCK,
      skip: offset - (Number(hit.cum) - Number(hit.n)),
    };
  }

  async countListed(repositoryIds: readonly number[]): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    for (let i = 0; i < repositoryIds.length; i += 500) {
      const rows = await this.db
        .selectFrom('artifact_blocks')
        .select(['repository_id', sql<number>`cast(sum(n) as bigint)`.as('n')])
        .where('repository_id', 'in', repositoryIds.slice(i, i + 500))
        .groupBy('repository_id')
        .execute();
      for (const r of rows) out.set(r.repository_id, Number(r.n));
    }
    return out;
  }

  async blobBytes(manifestIds: readonly number[]): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    for (let i = 0; i < manifestIds.length; i += 500) {
      const rows = await this.db
        .selectFrom('manifest_blobs as mb')
        .innerJoin('blobs as b', 'b.digest', 'mb.digest')
        .select(['mb.manifest_id', sql<number>`cast(sum(b.size) as bigint)`.as('bytes')])
        .where('mb.manifest_id', 'in', manifestIds.slice(i, i + 500))
        .groupBy('mb.manifest_id')
        .execute();
      for (const r of rows) out.set(r.manifest_id, Number(r.bytes));
    }
    return out;
  }

  /** Harbor's tag id: SQLite's rowid, PostgreSQL's id column (migration 006) */
  private tagColumns() {
    const id = this.dialect === 'sqlite' ? sql<number>`t.rowid` : sql<number>`t.id`;
    return [id.as('id'), 't.repository_id', 't.manifest_id', 't.name', 't.created_at', 't.updated_at'] as const;
  }

  async tagsOf(manifestIds: readonly number[]): Promise<Map<number, TagRecord[]>> {
    const out = new Map<number, TagRecord[]>();
    for (let i = 0; i < manifestIds.length; i += 500) {
      const rows = await this.db
        .selectFrom('tags as t')
        .select(this.tagColumns())
        .where('t.manifest_id', 'in', manifestIds.slice(i, i + 500))
        .orderBy('t.name')
        .execute();
      for (const r of rows) {
        const list = out.get(r.manifest_id) ?? [];
        list.push(toTag(r));
        out.set(r.manifest_id, list);
      }
    }
    return out;
  }

  async listTags(manifestId: number, f: { name?: NameMatch }, order: SortBy<'name' | 'push_time' | 'id'>, page: { offset: number; limit: number }): Promise<Page<TagRecord>> {
    let q = this.db.selectFrom('tags as t').where('t.manifest_id', '=', manifestId);
    const name = f.name;
    if (name) q = q.where((eb) => nameMatches(eb, sql.ref<string>('t.name'), name));
    const dir = order.desc ? 'desc' : 'asc';
    const sorted = order.key === 'push_time' ? q.orderBy('t.updated_at', dir).orderBy('t.name', dir) : order.key === 'id' ? q.orderBy(sql`id`, dir) : q.orderBy('t.name', dir);
    const [rows, count] = await Promise.all([
      sorted.select(this.tagColumns()).limit(page.limit).offset(page.offset).execute(),
      q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { items: rows.map(toTag), total: Number(count.n) };
  }

  async createTag(repositoryId: number, manifestId: number, name: string, now: number): Promise<TagRecord> {
    try {
      await this.db.insertInto('tags').values({ repository_id: repositoryId, name, manifest_id: manifestId, created_at: now, updated_at: now }).execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`the tag ${name} exists already in the repository`, { tag: name });
      throw e;
    }
    const r = await this.db.selectFrom('tags as t').select(this.tagColumns()).where('t.repository_id', '=', repositoryId).where('t.name', '=', name).executeTakeFirstOrThrow();
    return toTag(r);
  }

  async manifestIds(repositoryId: number, digests: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (let i = 0; i < digests.length; i += 500) {
      const rows = await this.base(repositoryId).select(['m.digest', 'm.id']).where('m.digest', 'in', digests.slice(i, i + 500)).execute();
      for (const r of rows) out.set(r.digest, r.id);
    }
    return out;
  }

  async parentsOf(repositoryId: number, digest: string): Promise<number[]> {
    const rows = await this.db
      .selectFrom('manifest_children as pc')
      .crossJoin('manifests as pm')
      .whereRef('pm.id', '=', 'pc.manifest_id')
      .select('pm.id')
      .where('pc.child_digest', '=', digest)
      .where('pm.repository_id', '=', repositoryId)
      .orderBy('pm.id')
      .execute();
    return rows.map((r) => r.id);
  }

  async accessoriesOf(repositoryId: number, subjectDigests: readonly string[]): Promise<ManifestRecord[]> {
    const out: ManifestRecord[] = [];
    for (let i = 0; i < subjectDigests.length; i += 500) {
      const rows = await this.base(repositoryId)
        .select(RECORD)
        .where('m.subject_digest', 'in', subjectDigests.slice(i, i + 500))
        .orderBy('m.id')
        .execute();
      out.push(...rows.map(toRecord));
    }
    return out;
  }
}

function toTag(r: { id: number; repository_id: number; manifest_id: number; name: string; created_at: number; updated_at: number }): TagRecord {
  return { id: Number(r.id), repositoryId: r.repository_id, manifestId: r.manifest_id, name: r.name, createdAt: r.created_at, updatedAt: r.updated_at };
}
