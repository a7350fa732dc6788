// Manifest PUT (distinct manifests over blobs already pushed) and manifest HEAD/GET by tag.
import { imageManifest, OCI_MANIFEST, smallBlob } from '../lib/client.mjs';
import { interleaved, loadCount, loadFor } from '../lib/measure.mjs';
import { ab, wrk } from '../lib/http-load.mjs';
import { byLabel, cpuByLabel } from './blobs.mjs';

// what docker 24 sends when it pulls by tag
const ACCEPT = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.index.v1+json',
  OCI_MANIFEST,
].join(', ');

/** Pushes a config and a layer to `repo` and returns a factory of distinct manifests over them. */
export async function imageBase(t, repo) {
  const config = smallBlob(512);
  const layer = smallBlob(1024);
  await t.pushPostPut(repo, config);
  await t.pushPostPut(repo, layer);
  return (n) => imageManifest(config, layer, n);
}

export async function manifestPut(ctx, { concurrency, seconds, runs }) {
  const repo = 'library/bench-manifest';
  const targets = ctx.pushTargets();
  const makers = new Map();
  for (const t of targets) makers.set(t, await imageBase(t, repo));
  let n = 0;
  const put = (t) => {
    const i = n++;
    return t.putManifest(repo, `m${i}`, makers.get(t)(i));
  };
  for (const t of targets) await loadFor(300, concurrency, () => put(t));
  const values = await interleaved(targets, runs, (t) => loadCount(seconds * 1000, concurrency, () => put(t)));
  ctx.report.add({
    title: `manifest PUT by tag, distinct manifests, c=${concurrency}`,
    unit: 'puts/s',
    higher: true,
    values: byLabel(targets, values),
    cpu: cpuByLabel(targets, values, 1e6, 'µs/put'),
    target: { ratio: 2 },
  });
}

export async function manifestReads(ctx, { connections, seconds, runs }) {
  const repo = 'library/bench-read';
  for (const t of [ctx.berth.basic, ctx.peer]) {
    const make = await imageBase(t, repo);
    await t.putManifest(repo, 'latest', make(0));
  }
  const targets = [...ctx.readTargets()];
  for (const method of ['HEAD', 'GET']) {
    const tool = method === 'HEAD' ? ab : wrk;
    const load = (t, s) =>
      tool({
        url: `${t.base}/v2/${repo}/manifests/latest`,
        method,
        headers: { Accept: ACCEPT, ...(t.authorization ? { Authorization: t.authorization } : {}) },
        connections,
        seconds: s,
      });
    for (const t of targets) await load(t, 1);
    const details = targets.map(() => []);
    const values = await interleaved(targets, runs, async (t) => {
      const r = await load(t, seconds);
      details[targets.indexOf(t)].push(r);
      return { value: r.rps, ops: r.requests };
    });
    ctx.report.add({
      title: `manifest ${method} by tag, ${method === 'HEAD' ? 'ab' : 'wrk'} c=${connections}`,
      unit: 'req/s',
      higher: true,
      values: byLabel(targets, values),
      cpu: cpuByLabel(targets, values, 1e6, 'µs/req'),
      target: { ratio: 4 },
    });
    ctx.extra[`manifest ${method} latency`] = Object.fromEntries(targets.map((t, i) => [t.label, details[i]]));
  }
}
