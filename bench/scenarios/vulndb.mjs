// Vulnerability database import: `berth vulndb import` of the project's OSV data (Go, PyPI,
// crates.io all.zip, ~12,600 records) into a fresh SQLite database, run as the real CLI under
// /usr/bin/time for wall time and peak RSS; then KEV and EPSS (360k rows) the same way.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Runs the CLI once; `/usr/bin/time` reports on stderr, which execFileSync hands back only on failure. */
function measure(root, paths) {
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-vulndb-'));
  try {
    const script = `${JSON.stringify(process.execPath)} ${JSON.stringify(join(root, 'dist/cli/main.js'))} vulndb import ${paths.map((p) => JSON.stringify(p)).join(' ')}`;
    const out = execFileSync('/bin/sh', ['-c', `/usr/bin/time -f 'TIME %e %M' ${script} 2>&1`], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', BERTH_DATA_DIR: dir, BERTH_LOG_LEVEL: 'silent' },
      encoding: 'utf8',
    });
    const m = /TIME ([\d.]+) (\d+)/.exec(out);
    if (!m) throw new Error(`no timing in: ${out}`);
    const records = [...out.matchAll(/: (\d+) records imported/g)].reduce((n, x) => n + Number(x[1]), 0);
    return { seconds: Number(m[1]), rssMiB: Number(m[2]) / 1024, records, out };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function vulndbImport(ctx, { root, runs }) {
  const shared = process.env.BENCH_VULNDATA ?? join(root, '..', 'shared', 'vulndata');
  const osv = existsSync(join(shared, 'osv')) ? join(shared, 'osv') : join(root, 'test/fixtures/vulndata/osv-bulk');
  const seconds = [];
  const rss = [];
  let records = 0;
  for (let i = 0; i < runs; i++) {
    const r = measure(root, [osv]);
    seconds.push(r.seconds);
    rss.push(r.rssMiB);
    records = r.records;
  }
  process.stdout.write(`   OSV from ${osv}: ${records} records, ${seconds.join(' / ')} s, peak RSS ${rss.map((x) => x.toFixed(0)).join(' / ')} MiB\n`);
  ctx.report.add({ title: `vulndb import, all OSV data (${records} records)`, unit: 's', higher: false, values: { berth: seconds }, target: { max: 20 } });
  ctx.report.add({ title: 'vulndb import, all OSV data, peak RSS', unit: 'MiB', higher: false, values: { berth: rss } });
  ctx.extra['vulndb import osv'] = { path: osv, records, seconds, rssMiB: rss };

  const kev = join(shared, 'kev/known_exploited_vulnerabilities.json');
  const epss = join(shared, 'epss/epss_scores.csv.gz');
  if (existsSync(kev) && existsSync(epss)) {
    const r = measure(root, [kev, epss]);
    process.stdout.write(`   KEV + EPSS: ${r.records} records, ${r.seconds} s, peak RSS ${r.rssMiB.toFixed(0)} MiB\n`);
    ctx.report.add({ title: `vulndb import, KEV + EPSS (${r.records} records)`, unit: 's', higher: false, values: { berth: [r.seconds] } });
    ctx.extra['vulndb import kev+epss'] = { records: r.records, seconds: r.seconds, rssMiB: r.rssMiB };
  }
}
