import { createHash } from 'node:crypto';
import { type Kysely, type Selectable, type SelectQueryBuilder, sql } from 'kysely';
import type { AuditChainReport, AuditEvent, AuditFilter, AuditRecord, AuditRepo } from '../../ports/audit-repo.js';
import type { Page } from '../../ports/metadata.js';
import type { Dialect } from '../dialect.js';
import type { AuditLogsTable, DB } from '../schema.js';

export const AUDIT_GENESIS = '0'.repeat(64);

/** One key for every appender on every instance: the chain has exactly one tail. */
const CHAIN_LOCK = 7419032011;

type Row = Selectable<AuditLogsTable>;
type Content = Omit<Row, 'id' | 'hash' | 'prev_hash'>;

/** The hashed form of a record: every field, in a fixed order, JSON-encoded. */
export function auditHash(prevHash: string, r: Content): string {
  const canonical = JSON.stringify([r.op_time, r.username, r.operation, r.resource_type, r.resource, r.project_id, r.source_ip, r.result, r.detail]);
  return createHash('sha256').update(prevHash).update('\n').update(canonical).digest('hex');
}

const toRecord = (r: Row): AuditRecord => ({
  id: r.id,
  at: r.op_time,
  operator: r.username,
  operation: r.operation,
  resourceType: r.resource_type,
  resource: r.resource,
  projectId: r.project_id,
  sourceIp: r.source_ip,
  result: r.result === 'failure' ? 'failure' : 'success',
  detail: r.detail === null ? null : (JSON.parse(r.detail) as Record<string, unknown>),
  hash: r.hash,
  prevHash: r.prev_hash,
});

const toContent = (e: AuditEvent): Content => ({
  op_time: e.at,
  username: e.operator,
  operation: e.operation,
  resource_type: e.resourceType,
  resource: e.resource,
  project_id: e.projectId ?? 0,
  source_ip: e.sourceIp ?? '',
  result: e.result,
  detail: e.detail === undefined ? null : JSON.stringify(e.detail),
});

/** Rows per multi-row INSERT: 11 bound values each, well under SQLite's 32766 and PostgreSQL's 65535. */
const INSERT_CHUNK = 500;

/**
 * The append-only, hash-chained audit log. Every record carries the hash of its predecessor, so
 * a changed, inserted or removed record breaks the chain from that point on.
 *
 * Appends are serialised: on PostgreSQL by a transaction advisory lock held until the change's
 * transaction commits (so call `append` last in the transaction, the lock is held from there to
 * the commit); on SQLite by the single writer. An append outside a transaction opens one, since
 * reading the tail and inserting after it must be one unit.
 */
export class KyselyAuditRepo implements AuditRepo {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly dialect: Dialect,
  ) {}

  append(e: AuditEvent): Promise<void> {
    return this.appendMany([e]);
  }

  async appendMany(events: readonly AuditEvent[]): Promise<void> {
    if (events.length === 0) return;
    if (!this.db.isTransaction) {
      await this.db.transaction().execute((trx) => new KyselyAuditRepo(trx, this.dialect).appendMany(events));
      return;
    }
    if (this.dialect === 'postgres') await sql`select pg_advisory_xact_lock(${CHAIN_LOCK})`.execute(this.db);
    const last = await this.db.selectFrom('audit_logs').select('hash').orderBy('id', 'desc').limit(1).executeTakeFirst();
    let prev = last?.hash ?? AUDIT_GENESIS;
    const rows = events.map((e) => {
      const content = toContent(e);
      const hash = auditHash(prev, content);
      const row = { ...content, prev_hash: prev, hash };
      prev = hash;
      return row;
    });
    // one statement per chunk; ids are assigned in VALUES order on both dialects
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      await this.db.insertInto('audit_logs').values(rows.slice(i, i + INSERT_CHUNK)).execute();
    }
  }

  private filtered<O>(q: SelectQueryBuilder<DB, 'audit_logs', O>, f: AuditFilter): SelectQueryBuilder<DB, 'audit_logs', O> {
    if (f.operator !== undefined) q = q.where('username', '=', f.operator);
    if (f.operation !== undefined) q = q.where('operation', '=', f.operation);
    if (f.resourceType !== undefined) q = q.where('resource_type', '=', f.resourceType);
    // ESCAPE is explicit: SQLite has no default escape character for LIKE
    if (f.resource !== undefined) q = q.where(sql<boolean>`resource like ${`%${escapeLike(f.resource)}%`} escape '\\'`);
    if (f.projectId !== undefined) q = q.where('project_id', '=', f.projectId);
    if (f.from !== undefined) q = q.where('op_time', '>=', f.from);
    if (f.to !== undefined) q = q.where('op_time', '<=', f.to);
    return q;
  }

  async list(
    f: AuditFilter,
    page: { beforeId?: number; afterId?: number; offset?: number; limit: number; withTotal?: boolean; ascending?: boolean },
  ): Promise<Page<AuditRecord>> {
    const base = this.filtered(this.db.selectFrom('audit_logs'), f);
    const total = page.withTotal ? Number((await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n) : -1;
    let rows = base.selectAll().orderBy('id', page.ascending ? 'asc' : 'desc').limit(page.limit);
    if (page.beforeId !== undefined) rows = rows.where('id', '<', page.beforeId);
    if (page.afterId !== undefined) rows = rows.where('id', '>', page.afterId);
    if (page.beforeId === undefined && page.afterId === undefined && page.offset) rows = rows.offset(page.offset);
    return { items: (await rows.execute()).map(toRecord), total };
  }

  async get(id: number): Promise<AuditRecord | undefined> {
    const r = await this.db.selectFrom('audit_logs').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toRecord(r);
  }

  async idAt(f: AuditFilter, offset: number, ascending = false): Promise<number | undefined> {
    const r = await this.filtered(this.db.selectFrom('audit_logs'), f)
      .select('id')
      .orderBy('id', ascending ? 'asc' : 'desc')
      .limit(1)
      .offset(offset)
      .executeTakeFirst();
    return r?.id;
  }

  async countUpTo(f: AuditFilter, cap: number): Promise<number> {
    const inner = this.filtered(this.db.selectFrom('audit_logs'), f)
      .select(sql<number>`1`.as('one'))
      .limit(cap + 1);
    const r = await this.db
      .selectFrom(inner.as('capped'))
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async estimateTotal(): Promise<number> {
    if (this.dialect === 'postgres') {
      // the statistics of the table in the current schema; -1 before the first ANALYZE
      const r = await sql<{ n: number }>`select reltuples::bigint as n from pg_class where oid = 'audit_logs'::regclass`.execute(this.db);
      const n = Number(r.rows[0]?.n ?? -1);
      if (n >= 0) return n;
    }
    const r = await this.db
      .selectFrom('audit_logs')
      .select((eb) => [eb.fn.min('id').as('lo'), eb.fn.max('id').as('hi')])
      .executeTakeFirstOrThrow();
    return r.lo === null || r.hi === null ? 0 : Number(r.hi) - Number(r.lo) + 1;
  }

  async scanByTime(range: { from?: number; to?: number }, after: { at: number; id: number } | undefined, limit: number): Promise<AuditRecord[]> {
    let q = this.db.selectFrom('audit_logs').selectAll();
    if (range.from !== undefined) q = q.where('op_time', '>=', range.from);
    if (range.to !== undefined) q = q.where('op_time', '<=', range.to);
    // a row-value comparison walks the (op_time, id) index on both dialects
    if (after) q = q.where(sql<boolean>`(op_time, id) > (${after.at}, ${after.id})`);
    const rows = await q.orderBy('op_time', 'asc').orderBy('id', 'asc').limit(limit).execute();
    return rows.map(toRecord);
  }

  async verify(range: { fromId?: number; toId?: number }, batch = 5000): Promise<AuditChainReport> {
    const report: AuditChainReport = { ok: true, checked: 0, firstId: null, lastId: null, anchor: null, head: null };
    let expectedPrev: string | undefined;
    if (range.fromId !== undefined) {
      // a walk that starts inside the chain checks the link into its first record too
      const before = await this.db.selectFrom('audit_logs').select('hash').where('id', '<', range.fromId).orderBy('id', 'desc').limit(1).executeTakeFirst();
      expectedPrev = before?.hash;
    }
    let cursor = range.fromId === undefined ? undefined : range.fromId - 1;
    for (;;) {
      let q = this.db.selectFrom('audit_logs').selectAll().orderBy('id', 'asc').limit(batch);
      if (cursor !== undefined) q = q.where('id', '>', cursor);
      if (range.toId !== undefined) q = q.where('id', '<=', range.toId);
      const rows = await q.execute();
      for (const r of rows) {
        if (report.firstId === null) {
          report.firstId = r.id;
          report.anchor = r.prev_hash;
        }
        if (expectedPrev !== undefined && r.prev_hash !== expectedPrev) {
          return { ...report, ok: false, broken: { id: r.id, reason: 'link', expected: expectedPrev, actual: r.prev_hash } };
        }
        const computed = auditHash(r.prev_hash, r);
        if (computed !== r.hash) return { ...report, ok: false, broken: { id: r.id, reason: 'hash', expected: computed, actual: r.hash } };
        expectedPrev = r.hash;
        report.checked++;
        report.lastId = r.id;
        report.head = r.hash;
      }
      if (rows.length < batch) return report;
      cursor = rows[rows.length - 1]!.id;
    }
  }

  async deleteOldest(before: number, limit: number): Promise<{ deleted: number; throughId: number | null; anchor: string | null }> {
    const head = await this.db.selectFrom('audit_logs').select(['id', 'op_time']).orderBy('id', 'asc').limit(limit).execute();
    let n = 0;
    while (n < head.length && head[n]!.op_time < before) n++;
    if (n === 0) return { deleted: 0, throughId: null, anchor: null };
    const throughId = head[n - 1]!.id;
    const res = await this.db.deleteFrom('audit_logs').where('id', '<=', throughId).executeTakeFirst();
    const next = await this.db.selectFrom('audit_logs').select('prev_hash').orderBy('id', 'asc').limit(1).executeTakeFirst();
    return { deleted: Number(res.numDeletedRows), throughId, anchor: next?.prev_hash ?? null };
  }
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}
