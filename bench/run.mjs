#!/usr/bin/env node
// npm run bench: Berth and Debian's docker-registry (CNCF Distribution 2.8.2) side by side, in
// one run, driven by the same client; prints each figure, a closing table with ratios, and
// writes bench/results/latest.json. Exits non-zero on errors only, never on a missed target.
//
// BENCH_ONLY=large,small,...  run some scenarios (names below); BENCH_QUICK=1  shorter runs
// BENCH_BERTH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"  extra node flags for Berth
// BENCH_TMPDIR=DIR  where the data folders go (default /var/tmp)
// BENCH_SERVER_LOG_DIR=DIR  keep each server's stdout there (with --trace-gc, say)
import { execFileSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { basic, BlobMaker, Registry } from './lib/client.mjs';
import { PEER, Report } from './lib/report.mjs';
import { ADMIN_PASSWORD, DATA_BASE, startBerth, startPeer } from './lib/servers.mjs';
import { access } from './scenarios/access.mjs';
import { deepListing } from './scenarios/listing.mjs';
import { largePull, largePush, smallPush } from './scenarios/blobs.mjs';
import { manifestPut, manifestReads } from './scenarios/manifests.mjs';
import { memory } from './scenarios/memory.mjs';
import { tagList } from './scenarios/tags.mjs';
import { vulndbImport } from './scenarios/vulndb.mjs';
import { packageSearch } from './scenarios/packages.mjs';
import { packageSearchPostgres } from './scenarios/packages-postgres.mjs';
import { scanPipeline } from './scenarios/scan.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.env.BENCH_QUICK === '1';
const runs = quick ? 2 : 3;
const seconds = quick ? 1 : 2;

const REPOS = ['bench-large', 'bench-small', 'bench-pull', 'bench-manifest', 'bench-read', 'bench-tags', 'bench-memory'].map((r) => `library/${r}`);

const SCENARIOS = {
  large: (ctx) => largePush(ctx, 1, quick ? 3 : 5),
  large8: (ctx) => largePush(ctx, 8, runs),
  small: (ctx) => smallPush(ctx, { concurrency: 8, seconds: quick ? 1 : 1.5, runs }),
  manifestPut: (ctx) => manifestPut(ctx, { concurrency: 8, seconds, runs }),
  manifestRead: (ctx) => manifestReads(ctx, { connections: 32, seconds, runs }),
  access: (ctx) => access(ctx, { connections: 32, seconds, runs }),
  deepListing: (ctx) => deepListing(ctx, { artifacts: quick ? 100_000 : 1_000_000, pageSize: 100, requests: quick ? 20 : 50 }),
  pull: (ctx) => largePull(ctx, quick ? 3 : 5),
  tags: (ctx) => tagList(ctx, { tags: 10_000, pageSize: 100, concurrency: 8, runs }),
  packages: (ctx) => packageSearch(ctx, { artifacts: 10_000, packages: 200, projects: 100, queries: quick ? 50 : 200 }),
  packagesPg: (ctx) => packageSearchPostgres(ctx, { root, artifacts: 10_000, packages: 200, projects: 100, queries: quick ? 50 : 200 }),
  vulndb: (ctx) => vulndbImport(ctx, { root, runs: quick ? 1 : runs }),
  scan: (ctx) => scanPipeline(ctx, { runs: quick ? 1 : runs }),
  memory: (ctx) => memory(ctx, { mib: quick ? 512 : 2048 }),
};

async function main() {
  const only = process.env.BENCH_ONLY?.split(',').filter(Boolean);
  for (const o of only ?? []) if (!(o in SCENARIOS)) throw new Error(`BENCH_ONLY: no scenario ${o}; known: ${Object.keys(SCENARIOS).join(', ')}`);
  const report = new Report();
  const started = Date.now();
  let berth;
  let peer;
  try {
    berth = await startBerth(root);
    peer = await startPeer();
    process.stdout.write(`berth ${berth.url} (pid ${berth.pid}), distribution ${peer.url} (pid ${peer.pid}), data under ${DATA_BASE}\n`);
    process.stdout.write(`load average ${loadText()} on ${cpus().length} cores${loadavg()[0] > cpus().length ? ' (busy machine: throughput is noisy; server CPU per op is the steadier figure)' : ''}\n`);
    const loadAtStart = loadavg();
    const anon = new Registry(berth.url, { label: 'berth anon', pid: berth.pid });
    const basicAuth = basic('admin', ADMIN_PASSWORD);
    // one token for every repository the bench touches, fetched once and reused
    const scopes = REPOS.map((r) => `scope=${encodeURIComponent(`repository:${r}:pull,push`)}`).join('&');
    const tokenRes = await anon.request('GET', `/service/token?service=berth&${scopes}`, { headers: { authorization: basicAuth } });
    const token = JSON.parse(tokenRes.body.toString('utf8')).token;
    const ctx = {
      berth: { server: berth, anon, basic: anon.as('berth basic', basicAuth), bearer: anon.as('berth bearer', `Bearer ${token}`) },
      peer: new Registry(peer.url, { label: PEER, pid: peer.pid }),
      blobs: new BlobMaker(),
      report,
      extra: {},
      pushTargets() {
        return [this.berth.basic, this.berth.bearer, this.peer];
      },
      readTargets() {
        return [this.berth.anon, this.berth.basic, this.berth.bearer, this.peer];
      },
    };
    for (const [name, fn] of Object.entries(SCENARIOS)) {
      if (only && !only.includes(name)) continue;
      const t = performance.now();
      process.stdout.write(`== ${name}\n`);
      await fn(ctx);
      process.stdout.write(`   (${((performance.now() - t) / 1000).toFixed(1)} s)\n`);
    }
    report.print();
    process.stdout.write(`load average at start ${loadAtStart.map((x) => x.toFixed(1)).join(' ')}, at end ${loadText()}\n`);
    const file = join(root, 'bench/results/latest.json');
    await report.write(file, {
      date: new Date(started).toISOString(),
      seconds: Math.round((Date.now() - started) / 1000),
      commit: gitCommit(),
      node: process.version,
      cpus: cpus().length,
      cpu: cpus()[0]?.model,
      peer: 'docker-registry (Distribution 2.8.2, Debian), filesystem, blobdescriptor cache inmemory',
      quick,
      dataBase: DATA_BASE,
      loadAverage: { start: loadAtStart, end: loadavg() },
      extra: ctx.extra,
    });
    process.stdout.write(`wrote ${file} (${Math.round((Date.now() - started) / 1000)} s)\n`);
  } finally {
    await Promise.allSettled([berth?.stop(), peer?.stop()]);
  }
}

function loadText() {
  return loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');
}

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
