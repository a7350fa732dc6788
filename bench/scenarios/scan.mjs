// Scan pipeline: a cold scan of the test Debian image with four layers (~64 MB compressed,
// test/helpers/images.ts `multilayer`), a warm re-scan of the same layers under another
// manifest (every layer inventory known), and the re-evaluation of 1,000 stored inventories
// after a vulnerability-database import. Each phase runs in a child process of its own
// (`node bench/scenarios/scan.mjs --child`) with Berth composed in it, so that its peak RSS
// (sampled every 5 ms) is the phase's alone.
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

export async function scanPipeline(ctx, { runs }) {
  const layout = imageLayout();
  if (!layout) {
    process.stdout.write('   scan: no test image layout under .cache/images (run the scan tests once); skipped\n');
    return;
  }
  const results = [];
  for (let i = 0; i < runs; i++) {
    const out = execFileSync(process.execPath, [join(here, 'scan.mjs'), '--child', layout], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024, env: { ...process.env, BERTH_LOG_LEVEL: 'silent' } });
    results.push(JSON.parse(out.trim().split('\n').at(-1)));
  }
  const pick = (k) => results.map((r) => r[k]);
  const r0 = results[0];
  process.stdout.write(
    `   scan: cold ${pick('coldMs').join(' / ')} ms (${r0.layers} layers, ${r0.mib} MiB, ${r0.packages} packages), warm ${pick('warmMs').join(' / ')} ms, ` +
      `re-evaluation of ${r0.sboms} SBOMs ${pick('reevalMs').join(' / ')} ms (${r0.findingsPerSbom} findings each); peak RSS cold ${pick('coldRssMiB').join(' / ')} MiB, ` +
      `warm ${pick('warmRssMiB').join(' / ')} MiB, re-evaluation ${pick('reevalRssMiB').join(' / ')} MiB\n`,
  );
  ctx.report.add({ title: `scan, cold (${r0.layers} layers, ${r0.mib} MiB)`, unit: 'ms', higher: false, values: { berth: pick('coldMs') }, target: { max: 3000 } });
  ctx.report.add({ title: 'scan, warm re-scan (layers known)', unit: 'ms', higher: false, values: { berth: pick('warmMs') }, target: { max: 100 } });
  ctx.report.add({ title: `scan, re-evaluation of ${r0.sboms} stored SBOMs`, unit: 'ms', higher: false, values: { berth: pick('reevalMs') }, target: { max: 5000 } });
  ctx.report.add({ title: 'scan, cold, peak RSS', unit: 'MiB', higher: false, values: { berth: pick('coldRssMiB') } });
  ctx.report.add({ title: 'scan, warm, peak RSS', unit: 'MiB', higher: false, values: { berth: pick('warmRssMiB') } });
  ctx.report.add({ title: 'scan, re-evaluation, peak RSS', unit: 'MiB', higher: false, values: { berth: pick('reevalRssMiB') } });
  ctx.extra['scan pipeline'] = results;
}

function imageLayout() {
  const base = join(root, '.cache/images');
  if (!existsSync(base)) return undefined;
  for (const d of execFileSync('ls', [base], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
    if (existsSync(join(base, d, 'index.json'))) return join(base, d);
  }
  return undefined;
}

/** Peak RSS while `fn` runs, sampled every 5 ms. */
async function peak(fn) {
  let max = process.memoryUsage().rss;
  const timer = setInterval(() => (max = Math.max(max, process.memoryUsage().rss)), 5);
  const t0 = performance.now();
  try {
    const value = await fn();
    return { ms: Math.round(performance.now() - t0), rssMiB: Math.round(Math.max(max, process.memoryUsage().rss) / 1048576), value };
  } finally {
    clearInterval(timer);
  }
}

async function child(layout) {
  const { loadConfig } = await import(join(root, 'dist/config/load.js'));
  const { compose } = await import(join(root, 'dist/compose.js'));
  const { ScanService } = await import(join(root, 'dist/services/scan.service.js'));
  const { builtinLayerAnalyzer } = await import(join(root, 'dist/scanner/layer-analyzer.adapter.js'));
  const { VulndbMatcher } = await import(join(root, 'dist/services/vulndb-matcher.js'));
  const { systemClock } = await import(join(root, 'dist/ports/clock.js'));
  const dir = mkdtempSync(join(process.env.BENCH_TMPDIR ?? (existsSync('/var/tmp') ? '/var/tmp' : tmpdir()), 'berth-bench-scan-'));
  try {
    const config = loadConfig({ env: { BERTH_DATA_DIR: dir, BERTH_LOG_LEVEL: 'silent', BERTH_JOBS_IN_PROCESS: 'false' }, cwd: dir });
    const berth = await compose(config);
    const { metadata, storage } = berth;
    const now = Date.now();
    const project = await metadata.projects.create({ name: 'bench', public: false, ownerId: null, now });

    // the layout's blobs go into storage as a push would leave them; the bench measures the scan
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
    const desc = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === 'multilayer');
    const body = readFileSync(join(layout, 'blobs', ...desc.digest.split(':')));
    const manifest = JSON.parse(body.toString('utf8'));
    let bytes = 0;
    for (const b of [manifest.config, ...manifest.layers]) {
      const w = await storage.writer(`blobs/sha256/${b.digest.slice(7, 9)}/${b.digest.slice(7)}`);
      await pipeline(createReadStream(join(layout, 'blobs', ...b.digest.split(':'))), w.stream);
      await w.commit();
      await metadata.blobs.put(b.digest, b.size, now);
      bytes += b.size;
    }
    const putManifest = async (repoName) => {
      const repo = await metadata.repositories.ensure(project.id, repoName, now);
      for (const b of [manifest.config, ...manifest.layers]) await metadata.blobs.link(repo.id, b.digest, now);
      return metadata.manifests.put({
        repositoryId: repo.id,
        digest: desc.digest,
        mediaType: desc.mediaType,
        artifactType: manifest.config.mediaType,
        size: body.length,
        subjectDigest: null,
        annotations: null,
        content: body,
        blobDigests: [manifest.config.digest, ...manifest.layers.map((l) => l.digest)],
        childDigests: [],
        now,
      });
    };

    // the Debian fixture and, when present, the project's OSV data: the matcher has real work
    const shared = join(root, '..', 'shared', 'vulndata', 'osv');
    await berth.vulndb.import([join(root, 'test/fixtures/vulndata/debian/debian12-changelog-fixture-osv.json'), ...(existsSync(shared) ? [shared] : [])]);

    const scans = new ScanService({ metadata, storage, analyzer: builtinLayerAnalyzer, clock: systemClock, matcher: new VulndbMatcher({ repo: metadata.vulndb }) });
    const run = { jobId: 0, attempt: 1, maxAttempts: 1, signal: new globalThis.AbortController().signal };

    const m1 = await putManifest('bench/cold');
    const cold = await peak(() => scans.runScanJob({ manifestId: m1.id }, run));
    const m2 = await putManifest('bench/warm');
    const warm = await peak(() => scans.runScanJob({ manifestId: m2.id }, run));
    const inv = await metadata.scans.inventory(m1.id);
    const findings = (await metadata.scans.findings(m1.id)) ?? [];

    // 1,000 stored SBOMs matched against an older generation (as after an import)
    const SBOMS = 1000;
    const repo = await metadata.repositories.ensure(project.id, 'bench/many', now);
    for (let i = 0; i < SBOMS; i += 100) {
      await metadata.transaction(async (tx) => {
        for (let j = i; j < i + 100; j++) {
          const content = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: desc.mediaType, config: manifest.config, layers: manifest.layers, annotations: { n: String(j) } }));
          const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
          const row = await tx.manifests.put({ repositoryId: repo.id, digest, mediaType: desc.mediaType, artifactType: manifest.config.mediaType, size: content.length, subjectDigest: null, annotations: null, content, blobDigests: [], childDigests: [], now });
          await tx.scans.putInventory({ ...inv, manifestId: row.id });
          await tx.scans.saveResult(row.id, { scanner: 'Berth', generation: -1, findings: [], summary: { total: 0, fixable: 0, summary: {}, highest: 'None' }, startedAt: now, endedAt: now });
        }
      });
    }
    const reeval = await peak(() => scans.reevaluateAll());
    if (reeval.value.matched < SBOMS) throw new Error(`re-evaluation matched ${reeval.value.matched} of ${SBOMS}`);
    await berth.close();
    process.stdout.write(
      `${JSON.stringify({
        layers: manifest.layers.length,
        mib: Math.round((bytes / 1048576) * 10) / 10,
        packages: inv.inventory.packages.length,
        coldMs: cold.ms,
        coldRssMiB: cold.rssMiB,
        layersRead: scans.stats.layersRead,
        warmMs: warm.ms,
        warmRssMiB: warm.rssMiB,
        sboms: reeval.value.matched,
        findingsPerSbom: findings.length,
        reevalMs: reeval.ms,
        reevalRssMiB: reeval.rssMiB,
      })}\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await child(process.argv[3]);
