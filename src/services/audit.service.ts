import { badRequest, notFound } from '../domain/errors.js';
import { type Principal, principalName } from '../domain/permission.js';
import type { AuditChainReport, AuditEvent, AuditFilter, AuditRecord } from '../ports/audit-repo.js';
import type { Clock } from '../ports/clock.js';
import type { Metadata, MetadataRepos } from '../ports/metadata.js';
import { TtlCache } from './ttl-cache.js';

/** Who did it and from where: what a route passes into a service call that is audited. */
export interface Actor {
  principal: Principal;
  /** the source address (req.ip) */
  ip?: string;
}

/** The operator and source address columns of a record, from an actor (none: the system). */
export function actorFields(actor: Actor | undefined): { operator: string; sourceIp?: string } {
  if (!actor) return { operator: SYSTEM_OPERATOR };
  return { operator: principalName(actor.principal), ...(actor.ip ? { sourceIp: actor.ip } : {}) };
}

/** The operator of what Berth does by itself (retention). `#` cannot begin a username. */
export const SYSTEM_OPERATOR = '#system';

/** Harbor's configuration key for how long audit records are kept; 0 keeps them forever. */
export const RETENTION_KEY = 'audit_log_retention_hours';

/** How often the retention task looks for expired records (retention is counted in hours). */
export const RETENTION_INTERVAL_MS = 10 * 60_000;

export interface AuditConfig {
  /** how long a pull or failed-login record may wait in memory before it is written */
  flushIntervalMs: number;
  /** records held in memory at most; past it a flush starts at once and, while it runs, new records are dropped (and counted) */
  bufferMax: number;
  /** records deleted per retention transaction */
  purgeBatch: number;
  /** an exact X-Total-Count up to this many matches; beyond it an estimate */
  countCap: number;
}

export const DEFAULT_AUDIT_CONFIG: AuditConfig = { flushIntervalMs: 1000, bufferMax: 10_000, purgeBatch: 5_000, countCap: 10_000 };

export interface AuditQuery extends AuditFilter {
  page: number;
  pageSize: number;
  ascending: boolean;
  /** Berth's keyset cursor: only records with a smaller id (larger, when ascending) */
  cursor?: number;
}

export interface AuditPage {
  items: AuditRecord[];
  total: number;
  /** `total` is an estimate (more than `countCap` matches) */
  estimated: boolean;
  /** more records follow this page */
  more: boolean;
}

export interface VerifyReport extends AuditChainReport {
  /** the anchor is the genesis hash or the one a recorded retention purge left behind */
  anchorKnown: boolean;
}

export interface PurgeRun {
  id: number;
  at: number;
  deleted: number;
  before: number;
  anchor: string | null;
  throughId: number | null;
}

/**
 * Page boundaries remembered per filter, page size and page. A walk through the pages is a walk
 * through one snapshot of the boundaries; after a few minutes page N means page N again.
 */
const BOUNDARY_CACHE = 2_000;
const BOUNDARY_TTL_MS = 5 * 60_000;

/**
 * The audit log: listing, export, verification and retention of what the services record, and
 * the in-memory buffer for records that are not changes (pulls, failed logins).
 *
 * Changes are recorded by the services themselves, with `tx.audit.append` in the transaction of
 * the change. Pulls are frequent and change nothing, so a manifest GET does not wait for a write:
 * `later` buffers the record and a flush writes the buffer in one transaction at most
 * `flushIntervalMs` later (and on shutdown). A crash therefore loses at most the last second of
 * pull and failed-login records; never a record of a change.
 */
export class AuditService {
  private buffer: AuditEvent[] = [];
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly config: AuditConfig;
  /** page-boundary ids of recent listings, so that page N+1 is a seek from page N */
  private readonly boundaries: TtlCache<string, number>;
  /** records dropped because the buffer was full while a flush ran */
  dropped = 0;

  constructor(
    private readonly deps: {
      metadata: Metadata;
      clock: Clock;
      logger?: { warn(o: object, m: string): void; error(o: object, m: string): void };
      config?: Partial<AuditConfig>;
    },
  ) {
    this.config = { ...DEFAULT_AUDIT_CONFIG, ...deps.config };
    this.boundaries = new TtlCache(BOUNDARY_CACHE, () => deps.clock.now());
  }

  // --- recording what is not a change -------------------------------------------------------

  /** Buffers a record (a pull, a failed login) to be written within `flushIntervalMs`. */
  later(e: AuditEvent): void {
    if (this.buffer.length >= this.config.bufferMax) {
      if (this.flushing) {
        this.dropped++;
        return;
      }
      void this.flush();
    }
    this.buffer.push(e);
    if (!this.timer && !this.flushing) {
      this.timer = setTimeout(() => void this.flush(), this.config.flushIntervalMs);
      this.timer.unref();
    }
  }

  /** A pull of a manifest (Harbor records GETs, not HEADs). */
  pulled(actor: Actor | undefined, resource: string, projectId: number): void {
    this.later({ ...actorFields(actor), operation: 'pull', resourceType: 'artifact', resource, projectId, result: 'success', at: this.deps.clock.now() });
  }

  /** A failed sign-in with Basic credentials (/v2, /service/token); the password is never recorded. */
  loginFailed(username: string, ip: string | undefined, via: string): void {
    const name = username.slice(0, 255);
    this.later({
      operator: name === '' ? 'anonymous' : name,
      operation: 'login',
      resourceType: 'user',
      resource: name,
      ...(ip ? { sourceIp: ip } : {}),
      result: 'failure',
      detail: { via },
      at: this.deps.clock.now(),
    });
  }

  /** Writes what is buffered; concurrent calls share one write. */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.flushing) return this.flushing.then(() => (this.buffer.length ? this.flush() : undefined));
    if (this.buffer.length === 0) return Promise.resolve();
    const batch = this.buffer;
    this.buffer = [];
    this.flushing = this.deps.metadata
      .transaction((tx) => tx.audit.appendMany(batch))
      .catch((err: unknown) => {
        // the records are lost, not the requests that caused them: say so loudly
        this.dropped += batch.length;
        this.deps.logger?.error({ err, records: batch.length }, 'audit flush failed; buffered records dropped');
      })
      .finally(() => {
        this.flushing = undefined;
        if (this.buffer.length && !this.timer) {
          this.timer = setTimeout(() => void this.flush(), this.config.flushIntervalMs);
          this.timer.unref();
        }
      });
    return this.flushing;
  }

  /** Flushes and stops the timer (shutdown). */
  async close(): Promise<void> {
    await this.flush();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  // --- reading --------------------------------------------------------------------------------

  /**
   * Harbor's page/page_size over keyset pagination: the boundary of the previous page, when this
   * process served it recently, turns page N into a seek by id; a cold deep page finds its
   * boundary on the index (no row is read) and then seeks.
   */
  async list(q: AuditQuery): Promise<AuditPage> {
    const { page, pageSize, ascending } = q;
    const filter = filterOf(q);
    const key = `${JSON.stringify(filter)}|${pageSize}|${ascending ? 'a' : 'd'}`;
    let cursor = q.cursor;
    if (cursor === undefined && page > 1) {
      cursor = this.boundaries.get(`${key}|${page - 1}`);
      if (cursor === undefined) {
        const boundary = await this.deps.metadata.audit.idAt(filter, (page - 1) * pageSize - 1, ascending);
        if (boundary === undefined) return { items: [], total: await this.count(filter).then((c) => c.total), estimated: false, more: false };
        cursor = boundary;
      }
    }
    const rows = await this.deps.metadata.audit.list(filter, {
      limit: pageSize + 1,
      ascending,
      ...(cursor === undefined ? {} : ascending ? { afterId: cursor } : { beforeId: cursor }),
    });
    const more = rows.items.length > pageSize;
    const items = rows.items.slice(0, pageSize);
    const last = items[items.length - 1];
    if (last && q.cursor === undefined) this.boundaries.set(`${key}|${page}`, last.id, BOUNDARY_TTL_MS);
    const { total, estimated } = await this.count(filter);
    return { items, total, estimated, more };
  }

  /** Exact up to `countCap`; past it the table estimate (no filter) or the cap (a filter), marked estimated. */
  private async count(filter: AuditFilter): Promise<{ total: number; estimated: boolean }> {
    const cap = this.config.countCap;
    const n = await this.deps.metadata.audit.countUpTo(filter, cap);
    if (n <= cap) return { total: n, estimated: false };
    const unfiltered = Object.keys(filter).length === 0;
    return { total: unfiltered ? Math.max(cap + 1, await this.deps.metadata.audit.estimateTotal()) : cap + 1, estimated: true };
  }

  get(id: number): Promise<AuditRecord | undefined> {
    return this.deps.metadata.audit.get(id);
  }

  /** Oldest first, in (op_time, id) order, `batch` records per read: memory stays bounded however long the range. */
  async *export(range: { from?: number; to?: number }, batch = 1000): AsyncGenerator<AuditRecord> {
    let after: { at: number; id: number } | undefined;
    for (;;) {
      const rows = await this.deps.metadata.audit.scanByTime(range, after, batch);
      yield* rows;
      if (rows.length < batch) return;
      const last = rows[rows.length - 1]!;
      after = { at: last.at, id: last.id };
    }
  }

  /**
   * Walks the chain. From the oldest record, its prev_hash must be the genesis hash or the
   * anchor that the last retention purge recorded; otherwise records were removed from the
   * start of the log by something other than retention.
   */
  async verify(range: { fromId?: number; toId?: number } = {}): Promise<VerifyReport> {
    await this.flush();
    const report = await this.deps.metadata.audit.verify(range);
    if (range.fromId !== undefined || report.anchor === null) return { ...report, anchorKnown: report.anchor === null || range.fromId !== undefined };
    const anchorKnown = /^0{64}$/.test(report.anchor) || (await this.purgeRuns(10_000)).some((r) => r.anchor === report.anchor);
    return { ...report, anchorKnown, ok: report.ok && anchorKnown };
  }

  // --- retention ------------------------------------------------------------------------------

  async retentionHours(): Promise<number> {
    const v = await this.deps.metadata.config.get(RETENTION_KEY);
    const n = typeof v === 'string' ? Number(v) : v;
    return typeof n === 'number' && Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
  }

  /** Sets Harbor's audit_log_retention_hours (0: keep forever); the change itself is audited. */
  async setRetentionHours(hours: number, actor: Actor): Promise<void> {
    if (!Number.isInteger(hours) || hours < 0) throw badRequest('audit_retention_hour must be a non-negative integer (0 keeps records forever)');
    const now = this.deps.clock.now();
    await this.deps.metadata.transaction(async (tx) => {
      await tx.config.set({ [RETENTION_KEY]: hours }, now);
      await tx.audit.append({
        ...actorFields(actor),
        operation: 'update',
        resourceType: 'configuration',
        resource: RETENTION_KEY,
        result: 'success',
        detail: { [RETENTION_KEY]: hours },
        at: now,
      });
    });
  }

  /**
   * Deletes records older than the retention period, oldest first, one batch per transaction;
   * each batch records itself (operation `purge`) with the anchor it leaves, in the same
   * transaction, so the chain stays verifiable from its new start.
   */
  async purgeExpired(): Promise<{ deleted: number }> {
    const hours = await this.retentionHours();
    if (hours === 0) return { deleted: 0 };
    await this.flush();
    const before = this.deps.clock.now() - hours * 3_600_000;
    let total = 0;
    for (;;) {
      const n = await this.deps.metadata.transaction(async (tx) => purgeBatch(tx, before, this.config.purgeBatch, this.deps.clock.now()));
      total += n;
      if (n < this.config.purgeBatch) return { deleted: total };
    }
  }

  /** The retention purges still in the log, newest first (Harbor's purge history). */
  async purgeRuns(limit = 100, beforeId?: number): Promise<PurgeRun[]> {
    const page = await this.deps.metadata.audit.list(
      { operator: SYSTEM_OPERATOR, operation: 'purge' },
      { limit, ...(beforeId !== undefined ? { beforeId } : {}) },
    );
    return page.items.map(purgeRun);
  }

  async purgeRun(id: number): Promise<PurgeRun> {
    const r = await this.deps.metadata.audit.get(id);
    if (!r || r.operator !== SYSTEM_OPERATOR || r.operation !== 'purge') throw notFound(`purge ${id} not found`);
    return purgeRun(r);
  }
}

async function purgeBatch(tx: MetadataRepos, before: number, limit: number, now: number): Promise<number> {
  const r = await tx.audit.deleteOldest(before, limit);
  if (r.deleted === 0) return 0;
  await tx.audit.append({
    operator: SYSTEM_OPERATOR,
    operation: 'purge',
    resourceType: 'audit_log',
    resource: `audit_logs up to #${r.throughId}`,
    result: 'success',
    detail: { deleted: r.deleted, before: new Date(before).toISOString(), through_id: r.throughId, anchor: r.anchor },
    at: now,
  });
  return r.deleted;
}

function purgeRun(r: AuditRecord): PurgeRun {
  const d = r.detail ?? {};
  return {
    id: r.id,
    at: r.at,
    deleted: Number(d['deleted'] ?? 0),
    before: Date.parse(String(d['before'] ?? '')) || 0,
    anchor: typeof d['anchor'] === 'string' ? d['anchor'] : null,
    throughId: typeof d['through_id'] === 'number' ? d['through_id'] : null,
  };
}

function filterOf(q: AuditQuery): AuditFilter {
  const f: AuditFilter = {};
  if (q.operator !== undefined) f.operator = q.operator;
  if (q.operation !== undefined) f.operation = q.operation;
  if (q.resourceType !== undefined) f.resourceType = q.resourceType;
  if (q.resource !== undefined) f.resource = q.resource;
  if (q.projectId !== undefined) f.projectId = q.projectId;
  if (q.from !== undefined) f.from = q.from;
  if (q.to !== undefined) f.to = q.to;
  return f;
}
