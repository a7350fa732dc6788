import { type Kysely, type Selectable, type SqlBool, sql } from 'kysely';
import type { Job, JobKind, JobRepo, JobState, NewJob } from '../../ports/job-queue.js';
import type { Dialect } from '../dialect.js';
import type { DB, JobsTable } from '../schema.js';

const LIVE: JobState[] = ['pending', 'running'];
const DEFAULT_MAX_ATTEMPTS = 5;

function toJob(r: Selectable<JobsTable>): Job {
  return {
    id: Number(r.id),
    kind: r.kind as JobKind,
    payload: JSON.parse(r.payload) as Job['payload'],
    dedupeKey: r.dedupe_key,
    state: r.state as JobState,
    attempts: Number(r.attempts),
    maxAttempts: Number(r.max_attempts),
    runAt: Number(r.run_at),
    leaseOwner: r.lease_owner,
    leaseUntil: r.lease_until === null ? null : Number(r.lease_until),
    lastError: r.last_error,
    batchId: r.batch_id === null ? null : Number(r.batch_id),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

export class KyselyJobRepo implements JobRepo {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly dialect: Dialect,
  ) {}

  async enqueue(job: NewJob, now: number): Promise<{ id: number; created: boolean }> {
    // ON CONFLICT rather than catching the violation: on PostgreSQL a failed statement would
    // abort the caller's transaction (the change that causes the job)
    const inserted = await this.db
      .insertInto('jobs')
      .values({
        kind: job.kind,
        payload: JSON.stringify(job.payload),
        dedupe_key: job.dedupeKey ?? null,
        state: 'pending',
        max_attempts: job.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
        run_at: job.runAt ?? now,
        batch_id: job.batchId ?? null,
        created_at: now,
        updated_at: now,
      })
      // the index predicate spelled as the index is, literally: PostgreSQL infers the partial
      // unique index from it, and cannot from bound parameters
      .onConflict((oc) => oc.column('dedupe_key').where(sql<SqlBool>`state in ('pending', 'running')`).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (inserted) return { id: Number(inserted.id), created: true };
    const live = job.dedupeKey === undefined ? undefined : await this.live(job.dedupeKey);
    if (!live) throw new Error(`job ${job.kind} was neither inserted nor found live`);
    return { id: live.id, created: false };
  }

  async claim(opts: { owner: string; now: number; leaseMs: number; limit: number; kinds?: readonly JobKind[] }): Promise<Job[]> {
    const { owner, now, leaseMs, limit } = opts;
    if (limit <= 0) return [];
    const kinds = opts.kinds?.length ? sql` and kind in (${sql.join(opts.kinds.map((k) => sql`${k}`))})` : sql``;
    // PostgreSQL: concurrent claimers skip each other's locked rows instead of waiting, so two
    // instances never claim one job. SQLite has one writer: the single statement is atomic.
    const lock = this.dialect === 'postgres' ? sql` for update skip locked` : sql``;
    const { rows } = await sql<Selectable<JobsTable>>`
      update jobs set state = 'running', lease_owner = ${owner}, lease_until = ${now + leaseMs},
        attempts = attempts + 1, updated_at = ${now}
      where id in (
        select id from jobs
        where ((state = 'pending' and run_at <= ${now}) or (state = 'running' and lease_until < ${now}))${kinds}
        order by run_at, id limit ${limit}${lock})
      returning *`.execute(this.db);
    return rows.map(toJob).sort((a, b) => a.runAt - b.runAt || a.id - b.id);
  }

  async renew(id: number, owner: string, leaseUntil: number, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('jobs')
      .set({ lease_until: leaseUntil, updated_at: now })
      .where('id', '=', id)
      .where('state', '=', 'running')
      .where('lease_owner', '=', owner)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async complete(id: number, owner: string, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('jobs')
      .set({ state: 'done', lease_owner: null, lease_until: null, last_error: null, updated_at: now })
      .where('id', '=', id)
      .where('state', '=', 'running')
      .where('lease_owner', '=', owner)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async fail(id: number, owner: string, error: string, retryAt: number | undefined, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('jobs')
      .set({
        state: retryAt === undefined ? 'failed' : 'pending',
        run_at: retryAt ?? now,
        lease_owner: null,
        lease_until: null,
        last_error: error.slice(0, 2000),
        updated_at: now,
      })
      .where('id', '=', id)
      .where('state', '=', 'running')
      .where('lease_owner', '=', owner)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async cancel(id: number, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('jobs')
      .set({ state: 'cancelled', lease_owner: null, lease_until: null, updated_at: now })
      .where('id', '=', id)
      .where('state', 'in', LIVE)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async liveInBatch(batchId: number, afterId: number, limit: number): Promise<Job[]> {
    const rows = await this.db
      .selectFrom('jobs')
      .selectAll()
      .where('batch_id', '=', batchId)
      .where('state', 'in', LIVE)
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map(toJob);
  }

  async get(id: number): Promise<Job | undefined> {
    const r = await this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toJob(r);
  }

  async live(dedupeKey: string): Promise<Job | undefined> {
    const r = await this.db.selectFrom('jobs').selectAll().where('dedupe_key', '=', dedupeKey).where('state', 'in', LIVE).executeTakeFirst();
    return r && toJob(r);
  }

  async countsByState(batchId: number): Promise<Partial<Record<JobState, number>>> {
    const rows = await this.db
      .selectFrom('jobs')
      .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
      .where('batch_id', '=', batchId)
      .groupBy('state')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
  }

  async purgeFinished(before: number, limit: number): Promise<number> {
    const r = await this.db
      .deleteFrom('jobs')
      .where('id', 'in', (eb) =>
        eb.selectFrom('jobs').select('id').where('state', 'in', ['done', 'failed', 'cancelled']).where('updated_at', '<', before).limit(limit),
      )
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
