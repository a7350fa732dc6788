import type { ScanAllService } from '../services/scan-all.service.js';
import type { RunnerLog } from './runner.js';

/** Looks at the scan-all schedule periodically; the instance that advances it first runs it. */
export function startScanAllScheduler(scanAll: ScanAllService, opts: { intervalMs: number; log?: RunnerLog }): { stop(): void } {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    scanAll
      .tick()
      .catch((err: unknown) => opts.log?.error({ err }, 'scan-all schedule check failed'))
      .finally(() => (busy = false));
  }, opts.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
