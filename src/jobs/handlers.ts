import type { CveExportService } from '../services/cve-export.service.js';
import type { ScanAllService } from '../services/scan-all.service.js';
import type { ScanService } from '../services/scan.service.js';
import type { JobHandlers } from './runner.js';

/** The handler map: every job kind Berth enqueues, and the service method that runs it. */
export function jobHandlers(deps: { scans: ScanService; scanAll: ScanAllService; cveExports: CveExportService }): JobHandlers {
  return {
    'scan.artifact': (payload, ctx) => deps.scans.runScanJob(payload, ctx),
    'scan.all': (payload, ctx) => deps.scanAll.runScanAll(payload, ctx),
    'cve.export': (payload, ctx) => deps.cveExports.run(payload, ctx),
  };
}
