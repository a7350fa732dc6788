// Inventory search: GET /api/v2.0/packages over a package index of N artifacts x M packages,
// seeded straight into the running Berth's SQLite file (the scan pipeline would write the same
// rows), then asked over HTTP as an anonymous caller (public projects only) and as the admin.
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { basic } from '../lib/client.mjs';
import { median, percentile } from '../lib/measure.mjs';
import { ADMIN_PASSWORD } from '../lib/servers.mjs';

const LAYER = 'sha256:' + 'c'.repeat(64);

export async function packageSearch(ctx, { artifacts, packages, projects, queries }) {
  const t0 = performance.now();
  seed(join(ctx.berth.server.dir, 'berth.db'), { artifacts, packages, projects });
  const seedSeconds = (performance.now() - t0) / 1000;
  process.stdout.write(`   seeded ${artifacts} artifacts x ${packages} packages (${artifacts * packages} rows) in ${seedSeconds.toFixed(1)} s\n`);
  ctx.extra['package search seed'] = { artifacts, packages, rows: artifacts * packages, seconds: seedSeconds };

  const anon = ctx.berth.anon;
  const admin = anon.as('berth admin', basic('admin', ADMIN_PASSWORD));
  const cases = [
    // in every artifact: the worst case, every artifact's row read and compared
    { name: 'common package, range, page of 100', path: `/api/v2.0/packages?purl=pkg:deb/debian/openssl&version=${encodeURIComponent('>=3.0.5,<3.0.15')}&page_size=100` },
    { name: 'common package, no range, page of 10', path: '/api/v2.0/packages?purl=pkg:deb/debian/openssl' },
    // in 1 of 1000 artifacts
    { name: 'rare package', path: '/api/v2.0/packages?purl=pkg:deb/debian/rarepkg&version=%3C2.0' },
  ];
  for (const c of cases) {
    for (const [who, client] of [['anonymous', anon], ['admin', admin]]) {
      const times = [];
      let total;
      for (let i = 0; i < queries; i++) {
        const start = performance.now();
        const res = await client.request('GET', c.path);
        times.push(performance.now() - start);
        if (res.status !== 200) throw new Error(`${c.path}: ${res.status} ${res.body.toString('utf8').slice(0, 300)}`);
        total = res.headers['x-total-count'];
      }
      const title = `package search ${artifacts}x${packages}, ${c.name}, ${who} (${total} hits)`;
      ctx.report.add({ title: `${title}, median`, unit: 'ms', higher: false, values: { 'berth': [median(times)] } });
      ctx.report.add({ title: `${title}, p99`, unit: 'ms', higher: false, values: { 'berth': [percentile(times, 99)] } });
      ctx.extra[`package search ${c.name} ${who} ms`] = times;
    }
  }
}

/** Projects (every other one public), one repository and one tagged manifest per artifact, and its package rows. */
function seed(file, { artifacts, packages, projects }) {
  const db = new Database(file);
  db.pragma('busy_timeout = 10000');
  const now = Date.now();
  const insertProject = db.prepare('insert into projects (name, public, owner_id, created_at, updated_at) values (?, ?, null, ?, ?)');
  const insertRepo = db.prepare('insert into repositories (project_id, name, created_at, updated_at) values (?, ?, ?, ?)');
  const insertManifest = db.prepare(
    "insert into manifests (repository_id, digest, media_type, size, content, created_at) values (?, ?, 'application/vnd.oci.image.manifest.v1+json', 2, ?, ?)",
  );
  const insertTag = db.prepare('insert into tags (repository_id, name, manifest_id, created_at, updated_at) values (?, ?, ?, ?, ?)');
  const insertRow = db.prepare(
    "insert into artifact_packages (manifest_id, repository_id, project_id, type, namespace, name, version, purl, layer_digest, path) values (?, ?, ?, 'deb', 'debian', ?, ?, ?, ?, 'var/lib/dpkg/status')",
  );
  const content = Buffer.from('{}');
  db.transaction(() => {
    const projectIds = [];
    for (let p = 0; p < projects; p++) projectIds.push(Number(insertProject.run(`pkgbench-${p}`, p % 2 === 0 ? 1 : 0, now, now).lastInsertRowid));
    for (let a = 0; a < artifacts; a++) {
      const projectId = projectIds[a % projects];
      const repoId = Number(insertRepo.run(projectId, `pkgbench-${a % projects}/app-${a}`, now, now).lastInsertRowid);
      const digest = 'sha256:' + a.toString(16).padStart(64, '0');
      const manifestId = Number(insertManifest.run(repoId, digest, content, now).lastInsertRowid);
      insertTag.run(repoId, 'v1', manifestId, now, now);
      const row = (name, version) => insertRow.run(manifestId, repoId, projectId, name, version, `pkg:deb/debian/${name}@${encodeURIComponent(version)}?arch=amd64&distro=debian-12`, LAYER);
      row('openssl', `3.0.${a % 20}-1~deb12u${a % 3}`);
      if (a % 1000 === 0) row('rarepkg', `1.${a / 1000}`);
      // the rest from a pool of 2000 names, so that each name is in about a tenth of the artifacts
      for (let k = 1; k < packages; k++) {
        const n = (a * 7 + k * 13) % 2000;
        row(`pkg${n}`, `${1 + (a % 5)}.${k}-${a % 7}`);
      }
    }
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}
