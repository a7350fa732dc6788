import { randomUUID } from 'node:crypto';
import { CronError, nextCronTime, parseCron } from '../domain/cron.js';
import { badRequest, RegistryError } from '../domain/errors.js';
import type { Clock } from '../ports/clock.js';
import type { JobPayloads, JobState } from '../ports/job-queue.js';
import type { Metadata } from '../ports/metadata.js';
import type { ScanAllRun, ScanSchedule } from '../ports/scan-repo.js';
import type { JobRun } from './scan.service.js';

const SCHEDULE = 'scan_all';
const PAGE = 500;

/** Harbor's ScheduleObj types and the cron each fixed type stands for (Harbor's own values). */
const FIXED_CRONS: Record<string, string> = { Hourly: '0 0 * * * *', Daily: '0 0 0 * * *', Weekly: '0 0 0 * * 0' };

export interface ScheduleInput {
  type: 'None' | 'Hourly' | 'Daily' | 'Weekly' | 'Custom' | 'Manual' | 'Schedule';
  cron?: string;
}

export interface ScanAllMetrics {
  total: number;
  completed: number;
  metrics: Record<string, number>;
  ongoing: boolean;
  trigger: string;
  run?: ScanAllRun;
}

/** Scan-all: on demand (Harbor's `Manual`) or on a cron schedule; one job enqueues the scans. */
export class ScanAllService {
  constructor(
    private readonly deps: {
      metadata: Metadata;
      clock: Clock;
      onEnqueued?: () => void;
    },
  ) {}

  async schedule(): Promise<ScanSchedule | undefined> {
    return this.deps.metadata.scans.schedule(SCHEDULE);
  }

  /** POST/PUT: a schedule type (and cron), or `Manual` for a run now. */
  async setSchedule(input: ScheduleInput): Promise<void> {
    if (input.type === 'Manual') {
      await this.trigger('Manual');
      return;
    }
    const now = this.deps.clock.now();
    if (input.type === 'None') {
      await this.deps.metadata.scans.putSchedule(SCHEDULE, { type: 'None', cron: '', nextRunAt: null, updatedAt: now });
      return;
    }
    const type = input.type === 'Schedule' ? 'Custom' : input.type;
    const cron = type === 'Custom' ? (input.cron ?? '').trim() : FIXED_CRONS[type]!;
    if (!cron) throw badRequest('a Custom schedule needs a cron expression');
    let next: number | undefined;
    try {
      next = nextCronTime(parseCron(cron), now);
    } catch (e) {
      if (e instanceof CronError) throw badRequest(`invalid cron ${JSON.stringify(cron.slice(0, 100))}: ${e.message}`);
      throw e;
    }
    if (next === undefined) throw badRequest(`the cron ${JSON.stringify(cron)} never fires`);
    await this.deps.metadata.scans.putSchedule(SCHEDULE, { type, cron, nextRunAt: next, updatedAt: now });
  }

  /** Starts a scan-all run: its job enqueues a scan of every image in the registry. */
  async trigger(trigger: ScanAllRun['trigger']): Promise<ScanAllRun> {
    const now = this.deps.clock.now();
    const latest = await this.deps.metadata.scans.latestScanAllRun();
    if (latest?.status === 'Running' && trigger === 'Manual') {
      const m = await this.metrics(latest);
      if (m.ongoing) throw new RegistryError('PRECONDITION', 'a scan-all is already running');
    }
    const run = await this.deps.metadata.transaction(async (tx) => {
      const r = await tx.scans.createScanAllRun(trigger, now);
      await tx.jobs.enqueue({ kind: 'scan.all', payload: { runId: r.id }, dedupeKey: `scan-all:${r.id}` }, now);
      return r;
    });
    setImmediate(() => this.deps.onEnqueued?.());
    return run;
  }

  /**
   * Harbor's scanAll/stop: the running scan-all enqueues nothing more, and its scans that are
   * still queued or running are cancelled (each artifact's scan reads "Stopped"). 400 when no
   * scan-all is running.
   */
  async stop(): Promise<{ stopped: number }> {
    const { metadata, clock } = this.deps;
    const run = await metadata.scans.latestScanAllRun();
    if (!run || run.status !== 'Running') throw badRequest('no scan-all is running');
    const now = clock.now();
    const enqueuer = await metadata.jobs.live(`scan-all:${run.id}`);
    if (enqueuer) await metadata.jobs.cancel(enqueuer.id, now);
    let after = 0;
    let stopped = 0;
    for (;;) {
      const jobs = await metadata.jobs.liveInBatch(run.id, after, PAGE);
      if (jobs.length === 0) break;
      after = jobs[jobs.length - 1]!.id;
      await metadata.transaction(async (tx) => {
        for (const j of jobs) {
          if (!(await tx.jobs.cancel(j.id, now))) continue;
          stopped++;
          const manifestId = (j.payload as { manifestId?: unknown }).manifestId;
          if (typeof manifestId === 'number') await tx.scans.markFailed(manifestId, 'stopped', 'scan-all stopped by request', now);
        }
      });
    }
    await metadata.scans.updateScanAllRun(run.id, { status: 'Stopped', endedAt: now });
    return { stopped };
  }

  /** Fires the schedule when it is due; the first instance to move next_run_at runs it. */
  async tick(): Promise<boolean> {
    const s = await this.schedule();
    const now = this.deps.clock.now();
    if (!s || s.nextRunAt === null || s.nextRunAt > now || s.type === 'None') return false;
    let next: number | null;
    try {
      next = nextCronTime(parseCron(s.cron), now) ?? null;
    } catch {
      next = null;
    }
    if (!(await this.deps.metadata.scans.advanceSchedule(SCHEDULE, s.nextRunAt, next, now))) return false;
    await this.trigger('Schedule');
    return true;
  }

  /** The `scan.all` handler: enqueues one scan per image (joining those already queued). */
  async runScanAll(payload: JobPayloads['scan.all'], run: JobRun): Promise<void> {
    const { metadata, clock } = this.deps;
    let after = 0;
    let total = 0;
    for (;;) {
      run.signal.throwIfAborted();
      const ids = await metadata.scans.scannableManifests(after, PAGE);
      if (ids.length === 0) break;
      after = ids[ids.length - 1]!;
      const now = clock.now();
      await metadata.transaction(async (tx) => {
        for (const id of ids) {
          const { id: jobId, created } = await tx.jobs.enqueue({ kind: 'scan.artifact', payload: { manifestId: id }, dedupeKey: `scan:${id}`, batchId: payload.runId }, now);
          if (created) await tx.scans.markPending(id, jobId, randomUUID(), now);
        }
      });
      total += ids.length;
      this.deps.onEnqueued?.();
    }
    await metadata.scans.updateScanAllRun(payload.runId, { total });
  }

  /** Harbor's Stats of the latest run (of a trigger): counts of its scans by Harbor's status words. */
  async metrics(run?: ScanAllRun, trigger?: ScanAllRun['trigger']): Promise<ScanAllMetrics> {
    const r = run ?? (await this.deps.metadata.scans.latestScanAllRun(trigger));
    if (!r) return { total: 0, completed: 0, metrics: {}, ongoing: false, trigger: trigger ?? 'Manual' };
    const counts = await this.deps.metadata.jobs.countsByState(r.id);
    const word: Record<JobState, string> = { pending: 'Pending', running: 'Running', done: 'Success', failed: 'Error', cancelled: 'Stopped' };
    const metrics: Record<string, number> = {};
    let total = 0;
    let completed = 0;
    for (const [state, n] of Object.entries(counts) as [JobState, number][]) {
      metrics[word[state]] = (metrics[word[state]] ?? 0) + n;
      total += n;
      if (state !== 'pending' && state !== 'running') completed += n;
    }
    const scanAllJob = await this.deps.metadata.jobs.live(`scan-all:${r.id}`);
    const ongoing = scanAllJob !== undefined || completed < total;
    if (!ongoing && r.status === 'Running') {
      const status = (metrics['Error'] ?? 0) > 0 ? 'Error' : (metrics['Stopped'] ?? 0) > 0 ? 'Stopped' : 'Success';
      await this.deps.metadata.scans.updateScanAllRun(r.id, { status, endedAt: this.deps.clock.now() });
      r.status = status;
    }
    return { total, completed, metrics, ongoing, trigger: r.trigger, run: r };
  }
}
