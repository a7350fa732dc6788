// Tag listing: 10,000 tags in one repository, read in pages of 100 (?n=100&last=).
import { performance } from 'node:perf_hooks';
import { interleaved, median, percentile, pool } from '../lib/measure.mjs';
import { fmt, PEER } from '../lib/report.mjs';
import { imageBase } from './manifests.mjs';

const REPO = 'library/bench-tags';

export async function tagList(ctx, { tags, pageSize, concurrency, runs }) {
  const targets = [ctx.berth.basic, ctx.peer];
  const makers = new Map();
  for (const t of targets) makers.set(t, await imageBase(t, REPO));
  const name = (i) => `t${String(i).padStart(5, '0')}`;

  // filling the repository is itself a figure: one manifest, a new tag each time, in batches
  // that alternate between the two registries
  const batches = 10;
  const per = tags / batches;
  const fill = await interleaved(targets, batches, async (t, b) => {
    const manifest = makers.get(t)(0);
    const start = performance.now();
    await pool(per, concurrency, (i) => t.putManifest(REPO, name(b * per + i), manifest));
    return per / ((performance.now() - start) / 1000);
  });
  ctx.report.add({
    title: `manifest PUT, one manifest, new tag each, c=${concurrency}`,
    unit: 'puts/s',
    higher: true,
    values: { [targets[0].label]: fill[0], [PEER]: fill[1] },
  });

  const pageTimes = targets.map(() => []);
  const pageCounts = targets.map(() => []);
  const walks = await interleaved(targets, runs, async (t) => {
    const { times, seen } = await walk(t, pageSize);
    if (seen.length !== tags || new Set(seen).size !== tags) throw new Error(`${t.label}: tag list gave ${seen.length} tags, expected ${tags}`);
    pageTimes[targets.indexOf(t)].push(...times);
    pageCounts[targets.indexOf(t)].push(times.length);
    return times.reduce((a, b) => a + b, 0);
  });
  const peerPages = pageCounts[1][0];
  const paged = peerPages === tags / pageSize;
  // Distribution 2.8 ignores n on tags/list and answers every tag at once: its "page" is then
  // the whole list, so the per-page rows compare with it only when it did paginate
  const perPage = (stat) => ({ [targets[0].label]: [stat(pageTimes[0])], ...(paged ? { [PEER]: [stat(pageTimes[1])] } : {}) });
  const note = paged ? undefined : `peer ignores n: ${peerPages} page of ${tags} tags in ${fmt(median(pageTimes[1]))} ms`;
  ctx.report.add({ title: `tag list ${tags} tags, n=${pageSize}, median page`, unit: 'ms', higher: false, values: perPage(median), target: { max: 5 }, note });
  ctx.report.add({ title: `tag list ${tags} tags, n=${pageSize}, p99 page`, unit: 'ms', higher: false, values: perPage((xs) => percentile(xs, 99)), target: { max: 5 }, note });
  ctx.report.add({
    title: `tag list ${tags} tags, whole walk (Berth ${tags / pageSize} pages, peer ${peerPages})`,
    unit: 'ms',
    higher: false,
    values: { [targets[0].label]: walks[0], [PEER]: walks[1] },
  });
  ctx.extra['tag list pages per walk'] = { [targets[0].label]: pageCounts[0], [PEER]: pageCounts[1] };
  ctx.extra['tag list page ms'] = { [targets[0].label]: pageTimes[0], [PEER]: pageTimes[1] };
}

/** Follows the Link header from the first page to the last, timing each request. */
async function walk(t, n) {
  const times = [];
  const seen = [];
  let path = `/v2/${REPO}/tags/list?n=${n}`;
  for (let guard = 0; guard < 10_000; guard++) {
    const start = performance.now();
    const res = await t.request('GET', path);
    times.push(performance.now() - start);
    const body = JSON.parse(res.body.toString('utf8'));
    seen.push(...(body.tags ?? []));
    const link = res.headers.link;
    if (!link) return { times, seen };
    const m = /<([^>]+)>/.exec(link);
    if (!m) throw new Error(`${t.label}: malformed Link ${link}`);
    const u = new URL(m[1], t.base);
    path = u.pathname + u.search;
  }
  throw new Error(`${t.label}: tag list did not end`);
}
