import type { Config } from '../config/schema.js';
import { compose } from '../compose.js';

/**
 * `berth worker`: runs queued jobs (scans, scan-all and its schedule, CVE exports) and the
 * vulnerability database's mirror updates, without serving HTTP. Beside `berth serve` instances
 * started with `jobs.inProcess: false` on the same database and storage, it takes the slow work
 * off them; several workers share the queue through its leases. Stops on SIGTERM or SIGINT,
 * handing running jobs back to the queue.
 */
export async function commandWorker(config: Config): Promise<number> {
  const berth = await compose({ ...config, jobs: { ...config.jobs, inProcess: true } });
  const log = berth.logger;
  log.info({ concurrency: config.jobs.concurrency, database: berth.metadata.dialect, storage: berth.storage.name }, 'berth worker running queued jobs');
  await new Promise<void>((resolve) => {
    const onSignal = (signal: string) => {
      log.info({ signal }, 'worker stopping: running jobs go back to the queue');
      resolve();
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  await berth.close();
  return 0;
}
