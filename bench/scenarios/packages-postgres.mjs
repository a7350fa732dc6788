// Inventory search on PostgreSQL: the same index as bench/scenarios/packages.mjs (N artifacts x M
// packages, half the projects public), seeded server-side with generate_series into a schema of
// its own on BENCH_POSTGRES_URL (default: the test database on 127.0.0.1), then asked through
// Berth's app in this process (Fastify inject: routing, auth, the service, the SQL; no socket).
// Skipped, with a note, when that PostgreSQL cannot be reached.
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { median, percentile } from '../lib/measure.mjs';
import { DATA_BASE } from '../lib/servers.mjs';

const URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const PASSWORD = 'Bench-Admin-1';

export async function packageSearchPostgres(ctx, { root, artifacts, packages, projects, queries }) {
  const c = new pg.Client({ connectionString: URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
  } catch (e) {
    process.stdout.write(`   skipped: no PostgreSQL at ${URL} (${e.message})\n`);
    return;
  }
  const schema = `berth_pkgbench_${process.pid}_${Date.now()}`;
  const dataDir = await mkdtemp(join(DATA_BASE, 'berth-pkgbench-'));
  let berth;
  try {
    await c.query(`create schema ${schema}`);
    const { loadConfig } = await import(join(root, 'dist/config/load.js'));
    const { compose } = await import(join(root, 'dist/compose.js'));
    const env = { BERTH_DATA_DIR: dataDir, BERTH_LOG_LEVEL: 'silent', BERTH_LISTEN: '127.0.0.1:0', BERTH_DATABASE_DRIVER: 'postgres', BERTH_DATABASE_URL: URL, BERTH_DATABASE_SCHEMA: schema };
    berth = await compose(loadConfig({ env, cwd: dataDir }));
    await berth.users.bootstrapAdmin(PASSWORD);
    const t0 = performance.now();
    await seed(c, schema, { artifacts, packages, projects });
    const seedSeconds = (performance.now() - t0) / 1000;
    process.stdout.write(`   seeded ${artifacts} x ${packages} rows on PostgreSQL in ${seedSeconds.toFixed(1)} s (then VACUUM ANALYZE)\n`);
    await berth.app.ready();
    const admin = { authorization: 'Basic ' + Buffer.from(`admin:${PASSWORD}`).toString('base64') };
    const cases = [
      ['common package, range, page of 100', `/api/v2.0/packages?purl=pkg:deb/debian/openssl&version=${encodeURIComponent('>=3.0.5,<3.0.15')}&page_size=100`],
      ['common package, no range, page of 10', '/api/v2.0/packages?purl=pkg:deb/debian/openssl'],
      ['rare package', '/api/v2.0/packages?purl=pkg:deb/debian/rarepkg&version=%3C2.0'],
    ];
    for (const [name, url] of cases) {
      for (const [who, headers] of [['anonymous', {}], ['admin', admin]]) {
        const times = [];
        let total;
        for (let i = 0; i < queries; i++) {
          const start = performance.now();
          const res = await berth.app.inject({ method: 'GET', url, headers });
          times.push(performance.now() - start);
          if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body.slice(0, 300)}`);
          total = res.headers['x-total-count'];
        }
        const title = `package search on PostgreSQL ${artifacts}x${packages}, ${name}, ${who} (${total} hits)`;
        ctx.report.add({ title: `${title}, median`, unit: 'ms', higher: false, values: { berth: [median(times)] } });
        ctx.report.add({ title: `${title}, p99`, unit: 'ms', higher: false, values: { berth: [percentile(times, 99)] } });
      }
    }
  } finally {
    await berth?.close();
    await c.query(`drop schema if exists ${schema} cascade`).catch((e) => process.stdout.write(`   could not drop schema ${schema}: ${e.message}\n`));
    await c.end();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function seed(c, schema, { artifacts, packages, projects }) {
  const now = Date.now();
  await c.query(`set search_path = ${schema}`);
  await c.query(`insert into projects (name, public, created_at, updated_at) select 'pkgbench-'||p, (p % 2 = 0)::int, ${now}, ${now} from generate_series(0, ${projects - 1}) p`);
  await c.query(`insert into repositories (project_id, name, created_at, updated_at)
    select (select id from projects where name = 'pkgbench-'||(a % ${projects})), 'pkgbench-'||(a % ${projects})||'/app-'||a, ${now}, ${now} from generate_series(0, ${artifacts - 1}) a`);
  await c.query(`insert into manifests (repository_id, digest, media_type, size, content, created_at)
    select r.id, 'sha256:'||lpad(to_hex(r.id), 64, '0'), 'application/vnd.oci.image.manifest.v1+json', 2, '\\x7b7d', ${now} from repositories r where r.name like 'pkgbench-%'`);
  await c.query(`insert into tags (repository_id, name, manifest_id, created_at, updated_at) select m.repository_id, 'v1', m.id, ${now}, ${now} from manifests m`);
  await c.query(`create temp table bench_a as select m.id as mid, r.id as rid, r.project_id as pid, row_number() over (order by m.id) - 1 as a
    from manifests m join repositories r on r.id = m.repository_id`);
  const rows = (name, version, from = '') =>
    c.query(`insert into artifact_packages (manifest_id, repository_id, project_id, type, namespace, name, version, purl, layer_digest, path)
      select mid, rid, pid, 'deb', 'debian', ${name}, ${version}, 'pkg:deb/debian/'||${name}||'@'||${version}||'?arch=amd64&distro=debian-12', 'sha256:${'c'.repeat(64)}', 'var/lib/dpkg/status'
      from bench_a ${from}`);
  // the same shape as the SQLite scenario: openssl everywhere, a rare package in 1 of 1000, the rest from 2000 names
  await rows(`'openssl'`, `'3.0.'||(a % 20)||'-1~deb12u'||(a % 3)`);
  await rows(`'rarepkg'`, `'1.'||(a / 1000)`, 'where a % 1000 = 0');
  await rows(`'pkg'||((a * 7 + k * 13) % 2000)`, `(1 + a % 5)||'.'||k||'-'||(a % 7)`, `cross join generate_series(1, ${packages - 1}) k`);
  // what autovacuum would have done by the time anyone searches: index-only scans need the visibility map
  await c.query('vacuum analyze artifact_packages');
  await c.query('analyze');
}
