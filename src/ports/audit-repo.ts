import type { Page } from './metadata.js';

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

/**
 * The append-only audit log. `append` runs in the transaction of the change it records, so a
 * change and its record commit together or not at all.
 */
export interface AuditRepo {
  append(e: AuditEvent): Promise<void>;
  /** newest first; `beforeId` is the keyset cursor (the last id of the previous page) */
  list(filter: AuditFilter, page: { beforeId?: number; offset?: number; limit: number; withTotal?: boolean }): Promise<Page<AuditRecord>>;
}
