import type { Page } from './page.js';

/** One audited operation, in Harbor's audit-log vocabulary. */
export interface AuditEvent {
  /** the username, robot name or `anonymous` */
  operator: string;
  /** create, delete, update, pull, push, login, logout, login_failed, … */
  operation: string;
  /** artifact, repository, tag, project, member, robot, user, configuration, session, … */
  resourceType: string;
  /** e.g. `library/app:1.0`, `library/app@sha256:…`, a project or user name */
  resource: string;
  projectId?: number;
  sourceIp?: string;
  result: 'success' | 'failure';
  detail?: Record<string, unknown>;
  at: number;
}

export interface AuditRecord extends Required<Omit<AuditEvent, 'detail'>> {
  id: number;
  detail: Record<string, unknown> | null;
  /** sha256 of the previous record's hash and this record: a chain that shows any tampering */
  hash: string;
  prevHash: string;
}

export interface AuditFilter {
  operator?: string;
  operation?: string;
  resourceType?: string;
  /** substring of the resource */
  resource?: string;
  projectId?: number;
  from?: number;
  to?: number;
}

/** The result of walking the hash chain (oldest to newest). */
export interface AuditChainReport {
  ok: boolean;
  /** records whose hash and link were checked */
  checked: number;
  firstId: number | null;
  lastId: number | null;
  /**
   * prev_hash of the first record walked: the genesis hash, the hash of the record before
   * `fromId`, or (after a retention purge) the hash of the last purged record
   */
  anchor: string | null;
  /** hash of the last record walked: compare it with an exported copy to detect a cut tail */
  head: string | null;
  /** the first broken link: a record whose hash does not match its content, or whose prev_hash is not its predecessor's hash */
  broken?: { id: number; reason: 'hash' | 'link'; expected: string; actual: string };
}

/**
 * The append-only audit log. `append` runs in the transaction of the change it records, so a
 * change and its record commit together or not at all.
 */
export interface AuditRepo {
  append(e: AuditEvent): Promise<void>;
  /** several events, chained in their order, in one statement */
  appendMany(events: readonly AuditEvent[]): Promise<void>;
  /**
   * Newest first (`ascending` for oldest first); `beforeId` / `afterId` are keyset cursors (the
   * last id of the previous page). `offset` is only for a cold jump to a deep page.
   */
  list(
    filter: AuditFilter,
    page: { beforeId?: number; afterId?: number; offset?: number; limit: number; withTotal?: boolean; ascending?: boolean },
  ): Promise<Page<AuditRecord>>;
  get(id: number): Promise<AuditRecord | undefined>;
  /** the id at 0-based position `offset` of the newest-first listing, read from an index only */
  idAt(filter: AuditFilter, offset: number, ascending?: boolean): Promise<number | undefined>;
  /** matching records counted exactly up to `cap`; `cap + 1` means "more than cap" */
  countUpTo(filter: AuditFilter, cap: number): Promise<number>;
  /** the planner's row estimate of the whole table (PostgreSQL statistics, SQLite id span) */
  estimateTotal(): Promise<number>;
  /** oldest first by (op_time, id), after the cursor: the export walk */
  scanByTime(range: { from?: number; to?: number }, after: { at: number; id: number } | undefined, limit: number): Promise<AuditRecord[]>;
  /** walks the chain in id order between the bounds (inclusive), reading `batch` records at a time */
  verify(range: { fromId?: number; toId?: number }, batch?: number): Promise<AuditChainReport>;
  /**
   * Deletes up to `limit` of the oldest records, in id order, stopping at the first one whose
   * op_time is not before `before`: only a prefix of the chain is ever removed, so what
   * remains stays verifiable. `anchor` is the prev_hash of the record that is now the oldest.
   */
  deleteOldest(before: number, limit: number): Promise<{ deleted: number; throughId: number | null; anchor: string | null }>;
}
