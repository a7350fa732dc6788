import type { Config } from '../config/schema.js';
import { makeVulndbService, openDatabase } from '../compose.js';
import type { VulndbService } from '../services/vulndb.service.js';

const USAGE = `usage: berth vulndb import PATH...   OSV zips or folders (osv.dev's <Ecosystem>/all.zip layout), KEV .json, EPSS .csv[.gz]
       berth vulndb status           sources, record counts, last update, generation
       berth vulndb update           fetch changed feeds from the configured mirror now
`;

const when = (ms: number | undefined): string => (ms === undefined ? 'never' : new Date(ms).toISOString());

async function status(vulndb: VulndbService): Promise<number> {
  const s = await vulndb.status();
  process.stdout.write(`generation ${s.generation}\n`);
  if (s.sources.length === 0) process.stdout.write('no sources imported\n');
  for (const src of s.sources) {
    process.stdout.write(
      `${src.name.padEnd(24)} ${String(src.records).padStart(8)} records ${String(src.skipped).padStart(6)} skipped  updated ${when(src.updatedAt)}${src.url ? `  from ${src.url}` : ''}${src.lastError ? `  last error: ${src.lastError}` : ''}\n`,
    );
  }
  process.stdout.write(s.mirror.url ? `mirror ${s.mirror.url}, every ${s.mirror.updateIntervalSeconds || '(never)'} s\n` : 'no mirror configured\n');
  return 0;
}

/**
 * `berth vulndb import|status|update`: runs beside a server on the same database; a server sees
 * an import once it is complete (each source switches in one transaction).
 */
export async function commandVulndb(config: Config, sub: string | undefined, args: string[]): Promise<number> {
  if (sub !== 'import' && sub !== 'status' && sub !== 'update') {
    process.stderr.write(USAGE);
    return 2;
  }
  if (sub === 'import' && args.length === 0) {
    process.stderr.write(USAGE);
    return 2;
  }
  const metadata = await openDatabase(config);
  const vulndb = makeVulndbService(config, metadata);
  try {
    if (sub === 'status') return await status(vulndb);
    if (sub === 'update') {
      const r = await vulndb.update();
      for (const f of r.feeds) {
        process.stdout.write(`${f.source}: ${f.status}${f.status === 'updated' ? ` (${f.records} records, ${f.skipped} skipped)` : f.status === 'failed' ? ` (${f.error})` : ''}\n`);
      }
      process.stdout.write(`generation ${r.generation}\n`);
      return r.feeds.some((f) => f.status === 'failed') ? 1 : 0;
    }
    const started = Date.now();
    const results = await vulndb.import(args);
    for (const r of results) {
      process.stdout.write(`${r.source}: ${r.records} records imported, ${r.skipped} skipped\n`);
      for (const s of r.skippedSamples) process.stdout.write(`  skipped ${s.where}: ${s.reason}\n`);
    }
    process.stdout.write(`generation ${results.at(-1)?.generation ?? '-'} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`berth vulndb ${sub}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  } finally {
    await metadata.close();
  }
}
