/**
 * The job queue: rows in the metadata database, written in the transaction of the change that
 * causes them (an outbox), claimed under a lease so that exactly one instance runs each job and a
 * crashed instance's jobs are picked up again when their lease expires.
 */

/** Every job kind and its payload; the runner's handler map is checked against this. */
export interface JobPayloads {
  /** Scan one artifact (an index: through its children). */
  'scan.artifact': { manifestId: number };
  /** Enqueue a scan of every artifact (scan-all); `runId` is the scan_all_runs row. */
  'scan.all': { runId: number };
  /** Write the CSV of a requested CVE export (the cve_exports row). */
  'cve.export': { exportId: number };
}
export type JobKind = keyof JobPayloads;

export type JobState = 'pending' | 'running' | 'done' | 'failed' | 'cancelled';

export interface NewJob<K extends JobKind = JobKind> {
  kind: K;
  payload: JobPayloads[K];
  /** At most one pending or running job per key: a second enqueue joins the first. */
  dedupeKey?: string;
  /** ms since epoch; now when absent */
  runAt?: number;
  maxAttempts?: number;
  batchId?: number;
}

export interface Job<K extends JobKind = JobKind> {
  id: number;
  kind: K;
  payload: JobPayloads[K];
  dedupeKey: string | null;
  state: JobState;
  /** claims so far, this one included */
  attempts: number;
  maxAttempts: number;
  runAt: number;
  leaseOwner: string | null;
  leaseUntil: number | null;
  lastError: string | null;
  batchId: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface JobRepo {
  /** The new job, or the live job with the same dedupe key (`created: false`). */
  enqueue(job: NewJob, now: number): Promise<{ id: number; created: boolean }>;
  /**
   * Claims up to `limit` jobs that are due (pending with run_at <= now) or whose lease expired
   * (a crashed runner's), in one statement; each claim counts as an attempt.
   */
  claim(opts: { owner: string; now: number; leaseMs: number; limit: number; kinds?: readonly JobKind[] }): Promise<Job[]>;
  /** Extends the lease; false when the job is no longer this owner's running job (cancelled, reclaimed). */
  renew(id: number, owner: string, leaseUntil: number, now: number): Promise<boolean>;
  complete(id: number, owner: string, now: number): Promise<boolean>;
  /** `retryAt` set: back to pending at that time; unset: failed for good. */
  fail(id: number, owner: string, error: string, retryAt: number | undefined, now: number): Promise<boolean>;
  /** Cancels a pending or running job; a running one's handler learns it at its next renewal. */
  cancel(id: number, now: number): Promise<boolean>;
  get(id: number): Promise<Job | undefined>;
  /** the live (pending or running) job of a dedupe key */
  live(dedupeKey: string): Promise<Job | undefined>;
  /** jobs of a batch by state */
  countsByState(batchId: number): Promise<Partial<Record<JobState, number>>>;
  /** the pending or running jobs of a batch, in id order after `afterId` */
  liveInBatch(batchId: number, afterId: number, limit: number): Promise<Job[]>;
  /** removes finished jobs (done, failed, cancelled) last changed before `before` */
  purgeFinished(before: number, limit: number): Promise<number>;
}
