// Bounded memory: a 2 GiB blob pushed and pulled while Berth's RSS is sampled every 100 ms.
// The bytes are made on the fly (BlobMaker repeats one random MiB); nothing holds 2 GiB.
import { performance } from 'node:perf_hooks';
import { rssBytes } from '../lib/servers.mjs';

const MiB = 1024 * 1024;

export async function memory(ctx, { mib }) {
  const t = ctx.berth.basic;
  const pid = ctx.berth.server.pid;
  const blob = ctx.blobs.make(mib);
  const start = await rssBytes(pid);
  const sampler = sample(pid);
  const t0 = performance.now();
  await t.pushChunked('library/bench-memory', blob);
  const pushS = (performance.now() - t0) / 1000;
  const afterPush = sampler.peak();
  const t1 = performance.now();
  const got = await t.download(`/v2/library/bench-memory/blobs/${blob.digest}`);
  const pullS = (performance.now() - t1) / 1000;
  const all = await sampler.stop();
  if (got.bytes !== blob.size) throw new Error(`2 GiB pull returned ${got.bytes} bytes`);
  const row = (title, v, target) => ctx.report.add({ title, unit: 'MiB', higher: false, values: { [t.label]: [v / MiB] }, ...(target ? { target } : {}) });
  row(`RSS at start (${mib / 1024} GiB push+pull)`, start);
  row('RSS peak during push', afterPush);
  row('RSS peak during pull', all.peak);
  row('RSS peak - start', all.peak - start, { max: 100 });
  ctx.report.add({ title: `${mib / 1024} GiB push (while sampling)`, unit: 'MB/s', higher: true, values: { [t.label]: [blob.size / 1e6 / pushS] } });
  ctx.report.add({ title: `${mib / 1024} GiB pull (while sampling)`, unit: 'MB/s', higher: true, values: { [t.label]: [blob.size / 1e6 / pullS] } });
  ctx.extra.rssSamples = { everyMs: 100, mib: all.samples.map((b) => Math.round(b / MiB)) };
}

function sample(pid) {
  const samples = [];
  let peak = 0;
  let reading = Promise.resolve();
  const timer = setInterval(() => {
    reading = rssBytes(pid).then((b) => {
      samples.push(b);
      peak = Math.max(peak, b);
    });
  }, 100);
  return {
    peak: () => peak,
    async stop() {
      clearInterval(timer);
      await reading;
      samples.push(await rssBytes(pid));
      peak = Math.max(peak, ...samples);
      return { peak, samples };
    },
  };
}
