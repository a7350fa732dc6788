// Deep pages of a large repository through Harbor's artifact API (issue 3): page 5,000 of a
// 1,000,000-artifact repository should cost what page 1 does (keyset pagination with per-block
// counts underneath). The artifacts are written straight into the running server's SQLite file
// (pushing a million manifests over HTTP would take the whole bench), then listed over HTTP as
// any Harbor client would.
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { basic } from '../lib/client.mjs';
import { median, percentile } from '../lib/measure.mjs';
import { ADMIN_PASSWORD } from '../lib/servers.mjs';
import { imageBase } from './manifests.mjs';

const digest = (s) => `sha256:${createHash('sha256').update(s).digest('hex')}`;

export async function deepListing(ctx, { artifacts, pageSize, requests }) {
  const admin = ctx.berth.anon.as('berth admin', basic('admin', ADMIN_PASSWORD));
  // the repository through the API (a first manifest), the rest in one SQLite transaction: the
  // schema's own triggers keep the per-block counts that the listing reads
  const first = await imageBase(admin, 'library/bench-deep');
  await admin.putManifest('library/bench-deep', 'first', first(0));
  const t0 = performance.now();
  const db = new Database(join(ctx.berth.server.dir, 'berth.db'));
  try {
    db.pragma('busy_timeout = 30000');
    const repo = db.prepare('select id from repositories where name = ?').get('library/bench-deep');
    const insert = db.prepare(
      'insert into manifests (repository_id, digest, media_type, artifact_type, size, subject_digest, annotations, content, created_at) values (?, ?, ?, null, ?, null, null, ?, ?)',
    );
    const content = Buffer.from('{"schemaVersion":2}');
    const batch = db.transaction((from, to) => {
      for (let i = from; i < to; i++) insert.run(repo.id, digest(`deep ${i}`), 'application/vnd.oci.image.manifest.v1+json', content.length, content, 1_700_000_000_000 + i);
    });
    for (let i = 1; i < artifacts; i += 50_000) batch(i, Math.min(artifacts, i + 50_000));
  } finally {
    db.close();
  }
  process.stdout.write(`   wrote ${artifacts} artifacts in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);

  const last = Math.floor(artifacts / pageSize);
  const pages = [1, Math.floor(last / 2), last];
  const values = {};
  const detail = {};
  for (const page of pages) {
    const path = `/api/v2.0/projects/library/repositories/bench-deep/artifacts?page=${page}&page_size=${pageSize}&with_tag=false`;
    const res = await admin.request('GET', path);
    if (JSON.parse(res.body.toString('utf8')).length !== pageSize) throw new Error(`page ${page}: not ${pageSize} artifacts`);
    if (Number(res.headers['x-total-count']) !== artifacts) throw new Error(`X-Total-Count ${res.headers['x-total-count']}, wanted ${artifacts}`);
    const ms = [];
    for (let i = 0; i < requests; i++) {
      const t = performance.now();
      await admin.request('GET', path);
      ms.push(performance.now() - t);
    }
    values[`page ${page}`] = ms;
    detail[`page ${page}`] = { median: median(ms), p99: percentile(ms, 99) };
  }
  ctx.report.add({
    title: `artifact list of a ${artifacts.toLocaleString('en')}-artifact repository, page_size ${pageSize}: deep pages against page 1`,
    unit: 'ms/page',
    higher: false,
    baseline: 'page 1',
    values,
    target: { ratio: 0.5 },
    note: 'ratio page 1 / deep page: 1 means the same cost; the target allows a deep page twice the first',
  });
  ctx.extra['deep listing'] = detail;
}
