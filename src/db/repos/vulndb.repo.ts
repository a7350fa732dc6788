import { type Insertable, type Kysely, type Selectable, sql } from 'kysely';
import type { OsvRange } from '../../domain/osv-range.js';
import { isSeverity, type CvssVersion } from '../../domain/severity.js';
import type {
  Advisory,
  AdvisoryRecord,
  AffectedMatch,
  EpssScore,
  VulnBatchWriter,
  VulndbRepo,
  VulnSource,
  VulnSourceKind,
} from '../../ports/vulndb-repo.js';
import type { Dialect } from '../dialect.js';
import type { DB, VulndbAdvisoriesTable, VulndbAffectedTable, VulndbSourcesTable } from '../schema.js';

// rows per multi-row INSERT: well under SQLite's 32766 and PostgreSQL's 65535 bound parameters
const ADVISORY_ROWS = 500;
const SMALL_ROWS = 2000;
// names per IN list of a lookup
const IN_CHUNK = 500;

const toSource = (r: Selectable<VulndbSourcesTable>): VulnSource => ({
  name: r.name,
  kind: r.kind as VulnSourceKind,
  records: Number(r.records),
  skipped: Number(r.skipped),
  ...(r.batch !== null && r.updated_at !== null ? { updatedAt: Number(r.updated_at) } : {}),
  ...(r.checked_at !== null ? { checkedAt: Number(r.checked_at) } : {}),
  ...(r.url !== null ? { url: r.url } : {}),
  ...(r.etag !== null ? { etag: r.etag } : {}),
  ...(r.last_modified !== null ? { lastModified: r.last_modified } : {}),
  ...(r.last_error !== null ? { lastError: r.last_error } : {}),
});

const toAdvisory = (r: Selectable<VulndbAdvisoriesTable>): Advisory => ({
  id: r.id,
  aliases: JSON.parse(r.aliases) as string[],
  summary: r.summary,
  details: r.details,
  ...(r.modified !== null ? { modified: r.modified } : {}),
  ...(r.published !== null ? { published: r.published } : {}),
  ...(r.withdrawn !== null ? { withdrawn: r.withdrawn } : {}),
  severity: isSeverity(r.severity) ? r.severity : 'Unknown',
  ...(r.cvss_vector !== null && r.cvss_version !== null && r.cvss_score !== null
    ? { cvss: { version: r.cvss_version as CvssVersion, vector: r.cvss_vector, baseScore: Number(r.cvss_score) } }
    : {}),
  references: JSON.parse(r.refs) as string[],
});

function chunks<T>(xs: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

export class KyselyVulndbRepo implements VulndbRepo {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly dialect: Dialect,
  ) {}

  async generation(): Promise<number> {
    const r = await this.db.selectFrom('vulndb_state').select('generation').where('id', '=', 1).executeTakeFirst();
    return Number(r?.generation ?? 0);
  }

  async sources(): Promise<VulnSource[]> {
    return (await this.db.selectFrom('vulndb_sources').selectAll().orderBy('name').execute()).map(toSource);
  }

  async source(name: string): Promise<VulnSource | undefined> {
    const r = await this.db.selectFrom('vulndb_sources').selectAll().where('name', '=', name).executeTakeFirst();
    return r && toSource(r);
  }

  private async ensureSource(name: string, kind: VulnSourceKind): Promise<void> {
    await this.db
      .insertInto('vulndb_sources')
      .values({ name, kind, batch: null, updated_at: null, checked_at: null, url: null, etag: null, last_modified: null, last_error: null })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
  }

  async beginBatch(source: string, kind: VulnSourceKind, now: number): Promise<VulnBatchWriter> {
    await this.ensureSource(source, kind);
    const { id } = await this.db.insertInto('vulndb_batches').values({ source, created_at: now }).returning('id').executeTakeFirstOrThrow();
    return new KyselyBatchWriter(this.db, this.dialect, source, Number(id));
  }

  async noteCheck(source: string, kind: VulnSourceKind, check: { now: number; url: string; error?: string }): Promise<void> {
    await this.ensureSource(source, kind);
    await this.db
      .updateTable('vulndb_sources')
      .set({ checked_at: check.now, url: check.url, last_error: check.error ?? null })
      .where('name', '=', source)
      .execute();
  }

  async removeStaleBatches(before: number): Promise<number> {
    const stale = await this.db
      .selectFrom('vulndb_batches as b')
      .select('b.id')
      .where('b.created_at', '<', before)
      .where((eb) => eb.not(eb.exists(eb.selectFrom('vulndb_sources as s').select('s.name').whereRef('s.batch', '=', 'b.id'))))
      .execute();
    for (const { id } of stale) await deleteBatch(this.db, Number(id));
    return stale.length;
  }

  async affected(ecosystem: string, names: readonly string[]): Promise<AffectedMatch[]> {
    const unique = [...new Set(names)];
    const out: AffectedMatch[] = [];
    for (const part of chunks(unique, IN_CHUNK)) {
      const rows = await this.db
        .selectFrom('vulndb_affected as a')
        .innerJoin('vulndb_sources as s', 's.batch', 'a.batch')
        .select(['a.batch', 'a.advisory_id', 'a.ecosystem', 'a.name', 'a.data', 's.name as source'])
        .where('a.ecosystem', '=', ecosystem)
        .where('a.name', 'in', part)
        .execute();
      for (const r of rows) {
        const d = JSON.parse(r.data) as { r?: OsvRange[]; v?: string[] };
        out.push({ batch: Number(r.batch), advisoryId: r.advisory_id, source: r.source, ecosystem: r.ecosystem, name: r.name, ranges: d.r ?? [], versions: d.v ?? [] });
      }
    }
    return out;
  }

  async advisories(batch: number, ids: readonly string[]): Promise<Advisory[]> {
    const out: Advisory[] = [];
    for (const part of chunks([...new Set(ids)], IN_CHUNK)) {
      const rows = await this.db.selectFrom('vulndb_advisories').selectAll().where('batch', '=', batch).where('id', 'in', part).execute();
      out.push(...rows.map(toAdvisory));
    }
    return out;
  }

  private async activeBatch(kind: VulnSourceKind): Promise<number[]> {
    const rows = await this.db.selectFrom('vulndb_sources').select('batch').where('kind', '=', kind).where('batch', 'is not', null).execute();
    return rows.map((r) => Number(r.batch));
  }

  async kev(cves: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    const batches = await this.activeBatch('kev');
    if (batches.length === 0 || cves.length === 0) return out;
    for (const part of chunks([...new Set(cves)], IN_CHUNK)) {
      const rows = await this.db.selectFrom('vulndb_kev').select('cve').where('batch', 'in', batches).where('cve', 'in', part).execute();
      for (const r of rows) out.add(r.cve);
    }
    return out;
  }

  async epss(cves: readonly string[]): Promise<Map<string, EpssScore>> {
    const out = new Map<string, EpssScore>();
    const batches = await this.activeBatch('epss');
    if (batches.length === 0 || cves.length === 0) return out;
    for (const part of chunks([...new Set(cves)], IN_CHUNK)) {
      const rows = await this.db.selectFrom('vulndb_epss').select(['cve', 'score', 'percentile']).where('batch', 'in', batches).where('cve', 'in', part).execute();
      for (const r of rows) out.set(r.cve, { cve: r.cve, score: Number(r.score), percentile: Number(r.percentile) });
    }
    return out;
  }
}

async function deleteBatch(db: Kysely<DB>, batch: number): Promise<void> {
  await db.deleteFrom('vulndb_affected').where('batch', '=', batch).execute();
  await db.deleteFrom('vulndb_advisories').where('batch', '=', batch).execute();
  await db.deleteFrom('vulndb_kev').where('batch', '=', batch).execute();
  await db.deleteFrom('vulndb_epss').where('batch', '=', batch).execute();
  await db.deleteFrom('vulndb_batches').where('id', '=', batch).execute();
}

/**
 * Buffers rows and writes them in multi-row INSERTs, each flush in one transaction (on SQLite a
 * commit per statement would dominate the import).
 */
class KyselyBatchWriter implements VulnBatchWriter {
  private advisories: Insertable<VulndbAdvisoriesTable>[] = [];
  private affected: Insertable<VulndbAffectedTable>[] = [];
  private kevRows: { batch: number; cve: string }[] = [];
  private epssRows: { batch: number; cve: string; score: number; percentile: number }[] = [];
  private readonly ids = new Set<string>();
  private readonly kevSeen = new Set<string>();
  private readonly epssSeen = new Set<string>();
  private done = false;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly dialect: Dialect,
    private readonly source: string,
    private readonly batch: number,
  ) {}

  async addAdvisory(record: AdvisoryRecord & { lookupNames: string[] }): Promise<boolean> {
    const a = record.advisory;
    if (this.ids.has(a.id)) return false;
    this.ids.add(a.id);
    this.advisories.push({
      batch: this.batch,
      id: a.id,
      aliases: JSON.stringify(a.aliases),
      summary: a.summary,
      details: a.details,
      modified: a.modified ?? null,
      published: a.published ?? null,
      withdrawn: a.withdrawn ?? null,
      severity: a.severity,
      cvss_version: a.cvss?.version ?? null,
      cvss_vector: a.cvss?.vector ?? null,
      cvss_score: a.cvss?.baseScore ?? null,
      refs: JSON.stringify(a.references),
    });
    record.affected.forEach((e, i) => {
      this.affected.push({
        batch: this.batch,
        advisory_id: a.id,
        ecosystem: e.ecosystem,
        name: record.lookupNames[i] ?? e.name,
        data: JSON.stringify({ ...(e.ranges.length ? { r: e.ranges } : {}), ...(e.versions.length ? { v: e.versions } : {}) }),
      });
    });
    if (this.advisories.length >= ADVISORY_ROWS || this.affected.length >= SMALL_ROWS) await this.flush();
    return true;
  }

  async addKev(cve: string): Promise<boolean> {
    if (this.kevSeen.has(cve)) return false;
    this.kevSeen.add(cve);
    this.kevRows.push({ batch: this.batch, cve });
    if (this.kevRows.length >= SMALL_ROWS) await this.flush();
    return true;
  }

  async addEpss(row: EpssScore): Promise<boolean> {
    if (this.epssSeen.has(row.cve)) return false;
    this.epssSeen.add(row.cve);
    this.epssRows.push({ batch: this.batch, ...row });
    if (this.epssRows.length >= SMALL_ROWS * 5) await this.flush();
    return true;
  }

  private async flush(): Promise<void> {
    const advisories = this.advisories;
    const affected = this.affected;
    const kev = this.kevRows;
    const epss = this.epssRows;
    this.advisories = [];
    this.affected = [];
    this.kevRows = [];
    this.epssRows = [];
    if (!advisories.length && !affected.length && !kev.length && !epss.length) return;
    await this.db.transaction().execute(async (trx) => {
      for (const part of chunks(advisories, ADVISORY_ROWS)) await trx.insertInto('vulndb_advisories').values(part).execute();
      for (const part of chunks(affected, SMALL_ROWS)) await trx.insertInto('vulndb_affected').values(part).execute();
      for (const part of chunks(kev, SMALL_ROWS)) await trx.insertInto('vulndb_kev').values(part).execute();
      for (const part of chunks(epss, SMALL_ROWS)) await trx.insertInto('vulndb_epss').values(part).execute();
    });
  }

  async commit(info: { records: number; skipped: number; now: number; url?: string; etag?: string; lastModified?: string }): Promise<number> {
    if (this.done) throw new Error('vulndb batch already finished');
    await this.flush();
    this.done = true;
    const { old, generation } = await this.db.transaction().execute(async (trx) => {
      // the source row is locked first: two imports of one source switch one after the other
      // (SQLite has one writer at a time and no FOR UPDATE)
      const q = trx.selectFrom('vulndb_sources').select('batch').where('name', '=', this.source);
      const prev = await (this.dialect === 'postgres' ? q.forUpdate() : q).executeTakeFirst();
      await trx
        .updateTable('vulndb_sources')
        .set({
          batch: this.batch,
          records: info.records,
          skipped: info.skipped,
          updated_at: info.now,
          ...(info.url !== undefined ? { url: info.url, checked_at: info.now, last_error: null } : {}),
          etag: info.etag ?? null,
          last_modified: info.lastModified ?? null,
        })
        .where('name', '=', this.source)
        .execute();
      const g = await trx
        .updateTable('vulndb_state')
        .set({ generation: sql`generation + 1` })
        .where('id', '=', 1)
        .returning('generation')
        .executeTakeFirstOrThrow();
      return { old: prev?.batch ?? null, generation: Number(g.generation) };
    });
    // readers no longer see the old copy: removing it can take its time outside the switch
    if (old !== null && Number(old) !== this.batch) await deleteBatch(this.db, Number(old));
    return generation;
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.advisories = [];
    this.affected = [];
    this.kevRows = [];
    this.epssRows = [];
    await deleteBatch(this.db, this.batch);
  }
}
