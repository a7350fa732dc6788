import { createHash } from 'node:crypto';
import { type Kysely, type Selectable, sql } from 'kysely';
import type { AuditEvent, AuditFilter, AuditRecord, AuditRepo } from '../../ports/audit-repo.js';
import type { Page } from '../../ports/metadata.js';
import type { Dialect } from '../dialect.js';
import type { AuditLogsTable, DB } from '../schema.js';

export const AUDIT_GENESIS = '0'.repeat(64);

/** The hashed form of a record: every field, in a fixed order, JSON-encoded. */
export function auditHash(prevHash: string, r: Omit<Selectable<AuditLogsTable>, 'id' | 'hash' | 'prev_hash'>): string {
  const canonical = JSON.stringify([r.op_time, r.username, r.operation, r.resource_type, r.resource, r.project_id, r.source_ip, r.result, r.detail]);
  return createHash('sha256').update(prevHash).update('\n').update(canonical).digest('hex');
}

const toRecord = (r: Selectable<AuditLogsTable>): AuditRecord => ({
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

export class KyselyAuditRepo implements AuditRepo {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly dialect: Dialect,
  ) {}

  async append(e: AuditEvent): Promise<void> {
    // the chain needs one writer at a time: PostgreSQL serialises appends with a transaction
    // advisory lock (call append inside the change's transaction); SQLite has one writer anyway
    if (this.dialect === 'postgres') await sql`select pg_advisory_xact_lock(7419032011)`.execute(this.db);
    const last = await this.db.selectFrom('audit_logs').select('hash').orderBy('id', 'desc').limit(1).executeTakeFirst();
    const prev = last?.hash ?? AUDIT_GENESIS;
    const row = {
      op_time: e.at,
      username: e.operator,
      operation: e.operation,
      resource_type: e.resourceType,
      resource: e.resource,
      project_id: e.projectId ?? 0,
      source_ip: e.sourceIp ?? '',
      result: e.result,
      detail: e.detail === undefined ? null : JSON.stringify(e.detail),
    };
    await this.db
      .insertInto('audit_logs')
      .values({ ...row, prev_hash: prev, hash: auditHash(prev, row) })
      .execute();
  }

  async list(f: AuditFilter, page: { beforeId?: number; offset?: number; limit: number; withTotal?: boolean }): Promise<Page<AuditRecord>> {
    let q = this.db.selectFrom('audit_logs');
    if (f.operator !== undefined) q = q.where('username', '=', f.operator);
    if (f.operation !== undefined) q = q.where('operation', '=', f.operation);
    if (f.resourceType !== undefined) q = q.where('resource_type', '=', f.resourceType);
    if (f.resource !== undefined) q = q.where('resource', 'like', `%${f.resource.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    if (f.projectId !== undefined) q = q.where('project_id', '=', f.projectId);
    if (f.from !== undefined) q = q.where('op_time', '>=', f.from);
    if (f.to !== undefined) q = q.where('op_time', '<=', f.to);
    const total = page.withTotal ? Number((await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n) : -1;
    let rows = q.selectAll().orderBy('id', 'desc').limit(page.limit);
    if (page.beforeId !== undefined) rows = rows.where('id', '<', page.beforeId);
    else if (page.offset) rows = rows.offset(page.offset);
    return { items: (await rows.execute()).map(toRecord), total };
  }
}
