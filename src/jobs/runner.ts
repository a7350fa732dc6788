import { randomUUID } from 'node:crypto';
import type { Clock } from '../ports/clock.js';
import type { Job, JobKind, JobPayloads, JobRepo } from '../ports/job-queue.js';

export interface JobContext {
  jobId: number;
  /** this claim's attempt number, from 1 */
  attempt: number;
  maxAttempts: number;
  /** aborted when the job is cancelled, its lease is lost, or the runner stops */
  signal: AbortSignal;
}

export type JobHandler<K extends JobKind> = (payload: JobPayloads[K], ctx: JobContext) => Promise<void>;
/** One handler per job kind, checked complete by the compiler. */
export type JobHandlers = { [K in JobKind]: JobHandler<K> };

export interface RunnerOptions {
  /** jobs run at once by this runner */
  concurrency: number;
  /** a claimed job is this runner's for this long, renewed while it runs */
  leaseMs: number;
  /** how often the queue is looked at when nothing wakes the runner */
  pollMs: number;
  /** delay before retry n (1-based): base * 2^(n-1), capped */
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export const DEFAULT_RUNNER_OPTIONS: RunnerOptions = { concurrency: 2, leaseMs: 60_000, pollMs: 1000, backoffBaseMs: 2000, backoffMaxMs: 10 * 60_000 };

export interface RunnerLog {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * Runs queued jobs in this process: claims due jobs (and jobs whose lease expired: a crashed
 * instance's) up to its concurrency, renews their leases while they run, completes them, or
 * schedules a retry with exponential backoff until their attempts are used up.
 */
export class JobRunner {
  readonly owner = `${process.pid}-${randomUUID().slice(0, 8)}`;
  private running = false;
  private readonly active = new Map<number, AbortController>();
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private kicked = false;
  private readonly opts: RunnerOptions;

  constructor(
    private readonly deps: { jobs: JobRepo; handlers: JobHandlers; clock: Clock; log?: RunnerLog; options?: Partial<RunnerOptions> },
  ) {
    this.opts = { ...DEFAULT_RUNNER_OPTIONS, ...deps.options };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Looks at the queue now (a job was just enqueued). */
  kick(): void {
    this.kicked = true;
    this.wakeUp?.();
  }

  /** Stops claiming, aborts the running jobs and waits for their handlers to return. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wakeUp?.();
    for (const c of this.active.values()) c.abort(new Error('the job runner is stopping'));
    await this.loop;
  }

  get activeCount(): number {
    return this.active.size;
  }

  private async run(): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    while (this.running) {
      this.kicked = false;
      const free = this.opts.concurrency - this.active.size;
      let claimed: Job[] = [];
      if (free > 0) {
        try {
          claimed = await this.deps.jobs.claim({ owner: this.owner, now: this.deps.clock.now(), leaseMs: this.opts.leaseMs, limit: free });
        } catch (err) {
          this.deps.log?.error({ err }, 'job claim failed');
        }
      }
      for (const job of claimed) {
        const p = this.execute(job).finally(() => {
          inFlight.delete(p);
          this.wakeUp?.();
        });
        inFlight.add(p);
      }
      if (!this.running) break;
      // a full batch may mean more are due; otherwise wait for a kick, a finished job or the poll
      if (claimed.length > 0 && claimed.length === free) continue;
      if (this.kicked) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.opts.pollMs);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = undefined;
    }
    await Promise.allSettled(inFlight);
  }

  private async execute(job: Job): Promise<void> {
    const { jobs, clock, log } = this.deps;
    const controller = new AbortController();
    this.active.set(job.id, controller);
    // renew the lease well before it runs out; a failed renewal (cancelled, reclaimed) aborts
    const renew = setInterval(() => {
      jobs.renew(job.id, this.owner, clock.now() + this.opts.leaseMs, clock.now()).then(
        (ok) => {
          if (!ok) controller.abort(new Error('the job was cancelled or its lease was lost'));
        },
        (err: unknown) => log?.warn({ err, job: job.id }, 'job lease renewal failed'),
      );
    }, Math.max(50, Math.floor(this.opts.leaseMs / 3)));
    try {
      const handler = this.deps.handlers[job.kind] as JobHandler<JobKind>;
      await handler(job.payload, { jobId: job.id, attempt: job.attempts, maxAttempts: job.maxAttempts, signal: controller.signal });
      clearInterval(renew);
      await jobs.complete(job.id, this.owner, clock.now());
    } catch (err) {
      clearInterval(renew);
      const message = err instanceof Error ? err.message : String(err);
      // a job stopped with the runner goes back to the queue at once, for another instance or
      // the next start (a crash leaves it to its lease instead)
      if (!this.running && controller.signal.aborted) {
        await jobs.fail(job.id, this.owner, message, clock.now(), clock.now()).catch(() => undefined);
        return;
      }
      if (controller.signal.aborted) {
        await jobs.fail(job.id, this.owner, message, undefined, clock.now()).catch(() => undefined);
        return;
      }
      const retry = job.attempts < job.maxAttempts;
      const delay = Math.min(this.opts.backoffMaxMs, this.opts.backoffBaseMs * 2 ** (job.attempts - 1));
      log?.warn({ job: job.id, kind: job.kind, attempt: job.attempts, retry, err: message }, 'job failed');
      await jobs.fail(job.id, this.owner, message, retry ? clock.now() + delay : undefined, clock.now()).catch((e: unknown) => log?.error({ err: e, job: job.id }, 'recording a job failure failed'));
    } finally {
      this.active.delete(job.id);
    }
  }
}
