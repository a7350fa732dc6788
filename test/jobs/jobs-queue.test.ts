import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMetadata } from '../../src/db/metadata.js';
import { JobRunner, type JobHandlers } from '../../src/jobs/runner.js';
import type { Metadata } from '../../src/ports/metadata.js';
import { systemClock } from '../../src/ports/clock.js';
import { openTestMetadata } from '../helpers/metadata.js';

/** The job queue on both dialects: dedupe, leases, crash recovery, retries, concurrent claims. */
function describeQueue(name: string, open: () => Promise<{ metadata: Metadata; second: () => Promise<Metadata>; cleanup(): Promise<void> }>) {
  describe(`job queue on ${name}`, () => {
    let md: Metadata;
    let env: Awaited<ReturnType<typeof open>>;
    beforeAll(async () => {
      env = await open();
      md = env.metadata;
    });
    afterAll(() => env.cleanup());

    const noop: JobHandlers = { 'scan.artifact': async () => undefined, 'scan.all': async () => undefined, 'cve.export': async () => undefined };

    it('keeps one live job per dedupe key, enqueued in the caller’s transaction', async () => {
      const a = await md.transaction((tx) => tx.jobs.enqueue({ kind: 'scan.artifact', payload: { manifestId: 1 }, dedupeKey: 'k1' }, 1000));
      const b = await md.transaction((tx) => tx.jobs.enqueue({ kind: 'scan.artifact', payload: { manifestId: 1 }, dedupeKey: 'k1' }, 1001));
      expect(a.created).toBe(true);
      expect(b).toEqual({ id: a.id, created: false });
      // a rolled-back transaction leaves no job
      await expect(
        md.transaction(async (tx) => {
          await tx.jobs.enqueue({ kind: 'scan.artifact', payload: { manifestId: 2 }, dedupeKey: 'k2' }, 1000);
          throw new Error('rollback');
        }),
      ).rejects.toThrow('rollback');
      expect(await md.jobs.live('k2')).toBeUndefined();
      const [claimed] = await md.jobs.claim({ owner: 'A', now: 2000, leaseMs: 100, limit: 10 });
      expect(claimed).toMatchObject({ id: a.id, state: 'running', attempts: 1, leaseOwner: 'A', leaseUntil: 2100 });
      // still live while running: joins it
      expect((await md.jobs.enqueue({ kind: 'scan.artifact', payload: { manifestId: 1 }, dedupeKey: 'k1' }, 2001)).created).toBe(false);
      expect(await md.jobs.complete(a.id, 'A', 2050)).toBe(true);
      // done: a new one may start
      expect((await md.jobs.enqueue({ kind: 'scan.artifact', payload: { manifestId: 1 }, dedupeKey: 'k1' }, 2060)).created).toBe(true);
      await md.jobs.claim({ owner: 'X', now: 3000, leaseMs: 10, limit: 100 }).then((js) => Promise.all(js.map((j) => md.jobs.complete(j.id, 'X', 3001))));
    });

    it('gives a crashed owner’s job to another once its lease expires, and not before', async () => {
      const { id } = await md.jobs.enqueue({ kind: 'scan.artifact', payload: { manifestId: 3 } }, 10_000);
      expect((await md.jobs.claim({ owner: 'crashed', now: 10_000, leaseMs: 500, limit: 1 })).map((j) => j.id)).toEqual([id]);
      expect(await md.jobs.claim({ owner: 'B', now: 10_400, leaseMs: 500, limit: 1 })).toEqual([]);
      const [again] = await md.jobs.claim({ owner: 'B', now: 10_501, leaseMs: 500, limit: 1 });
      expect(again).toMatchObject({ id, leaseOwner: 'B', attempts: 2 });
      // the crashed owner comes back: its lease is gone
      expect(await md.jobs.complete(id, 'crashed', 10_600)).toBe(false);
      expect(await md.jobs.renew(id, 'crashed', 11_000, 10_600)).toBe(false);
      expect(await md.jobs.complete(id, 'B', 10_600)).toBe(true);
    });

    it('retries later, then fails for good', async () => {
      const { id } = await md.jobs.enqueue({ kind: 'scan.artifact', payload: { manifestId: 4 }, maxAttempts: 2 }, 20_000);
      await md.jobs.claim({ owner: 'A', now: 20_000, leaseMs: 1000, limit: 1 });
      expect(await md.jobs.fail(id, 'A', 'boom', 25_000, 20_001)).toBe(true);
      expect(await md.jobs.claim({ owner: 'A', now: 24_999, leaseMs: 1000, limit: 1 })).toEqual([]);
      const [j] = await md.jobs.claim({ owner: 'A', now: 25_000, leaseMs: 1000, limit: 1 });
      expect(j).toMatchObject({ id, attempts: 2, lastError: 'boom' });
      expect(await md.jobs.fail(id, 'A', 'boom again', undefined, 25_001)).toBe(true);
      expect(await md.jobs.get(id)).toMatchObject({ state: 'failed', lastError: 'boom again' });
    });

    it('never gives one job to two claimers at once', async () => {
      const other = await env.second();
      try {
        const ids = [];
        for (let i = 0; i < 40; i++) ids.push((await md.jobs.enqueue({ kind: 'scan.artifact', payload: { manifestId: 100 + i } }, 30_000)).id);
        const claims = await Promise.all(
          Array.from({ length: 8 }, (_, i) => (i % 2 ? other : md).jobs.claim({ owner: `c${i}`, now: 30_000, leaseMs: 60_000, limit: 5 })),
        );
        const got = claims.flat().map((j) => j.id);
        expect(new Set(got).size).toBe(got.length);
        expect(got.sort((a, b) => a - b)).toEqual(ids);
      } finally {
        await other.close();
      }
    });

    it('runs jobs with bounded concurrency, retries a failure with backoff, and picks up an expired lease', async () => {
      // a job left running by a "crashed" runner whose lease has run out
      const crashed = await md.jobs.enqueue({ kind: 'scan.all', payload: { runId: 7 } }, Date.now());
      expect((await md.jobs.claim({ owner: 'dead-instance', now: Date.now(), leaseMs: 1, limit: 1, kinds: ['scan.all'] })).map((j) => j.id)).toEqual([crashed.id]);
      const flaky = await md.jobs.enqueue({ kind: 'scan.artifact', payload: { manifestId: 999 }, maxAttempts: 3 }, Date.now());
      for (let i = 0; i < 6; i++) await md.jobs.enqueue({ kind: 'scan.artifact', payload: { manifestId: 1000 + i } }, Date.now());
      let running = 0;
      let peak = 0;
      let flakyRuns = 0;
      const ranAll: number[] = [];
      const handlers: JobHandlers = {
        ...noop,
        'scan.artifact': async (p) => {
          running++;
          peak = Math.max(peak, running);
          await new Promise((r) => setTimeout(r, 20));
          running--;
          if (p.manifestId === 999 && ++flakyRuns < 3) throw new Error('transient');
        },
        'scan.all': async (p) => {
          ranAll.push(p.runId);
        },
      };
      const runner = new JobRunner({ jobs: md.jobs, handlers, clock: systemClock, options: { concurrency: 2, leaseMs: 5000, pollMs: 20, backoffBaseMs: 10 } });
      runner.start();
      try {
        for (let i = 0; i < 500; i++) {
          const f = await md.jobs.get(flaky.id);
          const c = await md.jobs.get(crashed.id);
          if (f?.state === 'done' && c?.state === 'done') break;
          await new Promise((r) => setTimeout(r, 20));
        }
      } finally {
        await runner.stop();
      }
      expect(await md.jobs.get(flaky.id)).toMatchObject({ state: 'done', attempts: 3 });
      expect(await md.jobs.get(crashed.id)).toMatchObject({ state: 'done', attempts: 2 });
      expect(ranAll).toEqual([7]);
      expect(peak).toBeLessThanOrEqual(2);
    });
  });
}

/** The queue on one database; `second` opens another connection to it (another instance), which its test closes. */
async function queueOn(dialect: 'sqlite' | 'postgres') {
  const t = await openTestMetadata(dialect, { poolSize: 8 });
  return { metadata: t.metadata, second: () => openMetadata(t.options), cleanup: () => t.cleanup() };
}

describeQueue('sqlite', () => queueOn('sqlite'));
describeQueue('postgres', () => queueOn('postgres'));
