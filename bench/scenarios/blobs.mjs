// Blob push (large, streamed; small, three request shapes) and blob pull.
import { smallBlob } from '../lib/client.mjs';
import { interleaved, loadCount, loadFor, timed } from '../lib/measure.mjs';
import { PEER } from '../lib/report.mjs';

const MB = 1e6;

/** 64 MiB pushed as POST + one streaming PATCH + PUT ?digest=, by 1 and by 8 clients at once. */
export async function largePush(ctx, streams, runs) {
  const targets = ctx.pushTargets();
  const mib = 64;
  // warm-up: JIT, sockets, the repository row
  for (const t of targets) await t.pushChunked('library/bench-large', ctx.blobs.make(1));
  const values = await interleaved(targets, runs, async (t) => {
    const blobs = Array.from({ length: streams }, () => ctx.blobs.make(mib));
    const s = await timed(() => Promise.all(blobs.map((b) => t.pushChunked('library/bench-large', b))));
    const mb = (streams * mib * 1024 * 1024) / MB;
    return { value: mb / s, ops: mb / 1000 };
  });
  ctx.report.add({
    title: `blob push ${mib} MiB, ${streams} stream${streams > 1 ? 's' : ''}`,
    unit: 'MB/s',
    higher: true,
    values: byLabel(targets, values),
    cpu: cpuByLabel(targets, values, 1000, 'ms/GB'),
    target: { ratio: 1.5 },
  });
}

/** 1 KiB blobs at `concurrency`: POST+PATCH+PUT, POST ?digest=, POST+PUT(body). */
export async function smallPush(ctx, { concurrency, seconds, runs }) {
  const targets = ctx.pushTargets();
  const shapes = [
    { name: 'POST+PATCH+PUT', push: (t, b) => t.pushChunked('library/bench-small', b) },
    // Distribution 2.8 ignores ?digest= on POST (it opens a session and drops the body), so
    // its fastest monolithic form, POST then PUT with the body, stands in for it
    { name: 'monolithic (Berth POST ?digest=, peer POST+PUT)', push: (t, b) => (t.label === PEER ? t.pushPostPut('library/bench-small', b) : t.pushPostDigest('library/bench-small', b)) },
    { name: 'POST+PUT(body)', push: (t, b) => t.pushPostPut('library/bench-small', b) },
  ];
  for (const shape of shapes) {
    for (const t of targets) await loadFor(300, concurrency, () => shape.push(t, smallBlob()));
    const values = await interleaved(targets, runs, (t) => loadCount(seconds * 1000, concurrency, () => shape.push(t, smallBlob())));
    ctx.report.add({
      title: `1 KiB blob push, ${shape.name}, c=${concurrency}`,
      unit: 'pushes/s',
      higher: true,
      values: byLabel(targets, values),
      cpu: cpuByLabel(targets, values, 1e6, 'µs/push'),
      target: { ratio: 2 },
    });
  }
}

/** GET of a 64 MiB blob, streamed and hashed by the client. */
export async function largePull(ctx, runs) {
  const targets = ctx.pushTargets();
  const blob = ctx.blobs.make(64);
  for (const t of targets) await t.pushChunked('library/bench-pull', blob);
  const path = `/v2/library/bench-pull/blobs/${blob.digest}`;
  for (const t of targets) {
    const got = await t.download(path, { verify: true });
    if (got.bytes !== blob.size || got.digest !== blob.digest) throw new Error(`${t.label}: blob GET returned other bytes`);
  }
  // timed runs only count bytes: a client-side hash would cap the figure on 2 cores; each run
  // is 4 GETs in a row so that the server CPU (10 ms ticks) is read over a few hundred ms
  const values = await interleaved(targets, runs, async (t) => {
    let bytes = 0;
    const s = await timed(async () => {
      for (let i = 0; i < 4; i++) bytes += (await t.download(path)).bytes;
    });
    if (bytes !== 4 * blob.size) throw new Error(`${t.label}: blob GET returned ${bytes / 4} bytes`);
    return { value: bytes / MB / s, ops: bytes / 1e9 };
  });
  ctx.report.add({
    title: 'blob GET 64 MiB, 1 stream (4 in a row)',
    unit: 'MB/s',
    higher: true,
    values: byLabel(targets, values),
    cpu: cpuByLabel(targets, values, 1000, 'ms/GB'),
  });
}

export function byLabel(targets, values) {
  return Object.fromEntries(targets.map((t, i) => [t.label, values[i]]));
}

/** Server CPU per op from `interleaved`, scaled (e.g. 1e6 for µs) and labelled with its unit. */
export function cpuByLabel(targets, values, scale, unit) {
  return { unit, values: Object.fromEntries(targets.map((t, i) => [t.label, values.cpuPerOp[i].map((x) => x * scale)])) };
}
