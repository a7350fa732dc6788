import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMetadata } from '../../src/db/metadata.js';
import type { Metadata } from '../../src/ports/metadata.js';
import { FileFeedReader } from '../../src/scanner/vulndb/feed-reader.js';
import { HttpMirrorClient } from '../../src/scanner/vulndb/mirror-client.js';
import { VulndbService } from '../../src/services/vulndb.service.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const FIX = resolve('test/fixtures/vulndata');

interface Served {
  body: Buffer;
  etag?: string;
  lastModified?: string;
  fail?: number;
}

/** A mirror over real HTTP: answers 304 on a matching validator, or the status it is told to fail with. */
async function startMirror(files: Map<string, Served>): Promise<{ url: string; seen: IncomingMessage[]; close(): Promise<void> }> {
  const seen: IncomingMessage[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(req);
    const f = files.get(req.url ?? '');
    if (!f) return res.writeHead(404).end();
    if (f.fail) return res.writeHead(f.fail).end('mirror trouble');
    if ((f.etag && req.headers['if-none-match'] === f.etag) || (!f.etag && f.lastModified && req.headers['if-modified-since'] === f.lastModified)) return res.writeHead(304).end();
    res.writeHead(200, { 'content-length': f.body.length, ...(f.etag ? { etag: f.etag } : {}), ...(f.lastModified ? { 'last-modified': f.lastModified } : {}) });
    res.end(f.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, seen, close: () => new Promise((r) => server.close(() => r())) };
}

describe('vulndb mirror update', () => {
  let m: Metadata;
  let mirror: Awaited<ReturnType<typeof startMirror>>;
  const files = new Map<string, Served>();
  let svc: VulndbService;
  const changes: number[] = [];
  beforeAll(async () => {
    files.set('/osv/Go/all.zip', { body: await readFile(join(FIX, 'osv-bulk/Go/all.zip')), etag: '"go-1"' });
    files.set('/osv/crates.io/all.zip', { body: await readFile(join(FIX, 'osv-bulk/crates.io/all.zip')), etag: '"crates-1"' });
    files.set('/kev.json', { body: await readFile(join(FIX, 'kev/known_exploited_vulnerabilities.json')), lastModified: 'Mon, 25 Aug 2025 17:04:19 GMT' });
    mirror = await startMirror(files);
    m = await openMetadata({ driver: 'sqlite', path: ':memory:' });
    svc = new VulndbService({
      repo: m.vulndb,
      feeds: new FileFeedReader(),
      mirror: new HttpMirrorClient({ maxBytes: 64 << 20, timeoutMs: 30_000 }),
      clock: { now: () => Date.now() },
      config: { mirrorUrl: `${mirror.url}/osv/`, ecosystems: ['Go', 'crates.io'], kevUrl: `${mirror.url}/kev.json`, updateIntervalSeconds: 0 },
      onChange: (g) => void changes.push(g),
    });
  });
  afterAll(async () => {
    await m.close();
    await mirror.close();
  });

  it('downloads every feed once and keeps its validators', async () => {
    const r = await svc.update();
    expect(r.feeds.map((f) => [f.source, f.status])).toEqual([['osv:Go', 'updated'], ['osv:crates.io', 'updated'], ['kev', 'updated']]);
    expect(changes).toEqual([r.generation]);
    expect(await m.vulndb.source('osv:Go')).toMatchObject({ records: 4291, etag: '"go-1"', url: `${mirror.url}/osv/Go/all.zip` });
    expect(await m.vulndb.source('kev')).toMatchObject({ records: 1404, lastModified: 'Mon, 25 Aug 2025 17:04:19 GMT' });
  });

  it('asks with If-None-Match / If-Modified-Since and changes nothing on 304', async () => {
    const g = await m.vulndb.generation();
    mirror.seen.length = 0;
    const r = await svc.update();
    expect(r.feeds.map((f) => f.status)).toEqual(['not-modified', 'not-modified', 'not-modified']);
    expect(mirror.seen.map((q) => [q.url, q.headers['if-none-match'], q.headers['if-modified-since']])).toEqual([
      ['/osv/Go/all.zip', '"go-1"', undefined],
      ['/osv/crates.io/all.zip', '"crates-1"', undefined],
      ['/kev.json', undefined, 'Mon, 25 Aug 2025 17:04:19 GMT'],
    ]);
    expect(await m.vulndb.generation()).toBe(g);
    expect(changes).toHaveLength(1);
  });

  it('imports a changed feed and keeps the old data of a failing one', async () => {
    const crates = await m.vulndb.source('osv:crates.io');
    const go = files.get('/osv/Go/all.zip')!;
    // the Go feed now holds the PyPI subset's records
    files.set('/osv/Go/all.zip', { body: await readFile(join(FIX, 'osv-bulk/PyPI/all.zip')), etag: '"go-2"' });
    files.get('/osv/crates.io/all.zip')!.fail = 500;
    const r = await svc.update();
    expect(r.feeds.map((f) => [f.source, f.status])).toEqual([['osv:Go', 'updated'], ['osv:crates.io', 'failed'], ['kev', 'not-modified']]);
    expect(r.feeds[1]).toMatchObject({ error: expect.stringContaining('HTTP 500') });
    expect(await m.vulndb.source('osv:Go')).toMatchObject({ records: 596, etag: '"go-2"' });
    const after = await m.vulndb.source('osv:crates.io');
    expect(after).toMatchObject({ records: crates!.records, etag: crates!.etag, updatedAt: crates!.updatedAt, lastError: expect.stringContaining('HTTP 500') });
    expect((await m.vulndb.affected('crates.io', ['hyper'])).length).toBeGreaterThan(0);
    expect(changes).toHaveLength(2);
    files.set('/osv/Go/all.zip', go);
  });

  it('a download that is not a feed fails its source only', async () => {
    files.set('/osv/crates.io/all.zip', { body: Buffer.from('<html>captive portal</html>'), etag: '"html"' });
    const before = await m.vulndb.source('osv:crates.io');
    const r = await svc.update();
    expect(r.feeds.find((f) => f.source === 'osv:crates.io')).toMatchObject({ status: 'failed', error: expect.stringMatching(/zip/) });
    expect(await m.vulndb.source('osv:crates.io')).toMatchObject({ records: before!.records, etag: before!.etag });
    expect(await m.vulndb.removeStaleBatches(Number.MAX_SAFE_INTEGER)).toBe(0);
  });
});

describe('vulndb API', () => {
  let t: TestServer;
  let mirror: Awaited<ReturnType<typeof startMirror>>;
  beforeAll(async () => {
    mirror = await startMirror(new Map([['/kev.json', { body: await readFile(join(FIX, 'kev/known_exploited_vulnerabilities.json')), etag: '"k1"' }]]));
    t = await startTestServer({ BERTH_VULNDB_KEV_URL: `${mirror.url}/kev.json` });
    const res = await fetch(`${t.url}/api/v2.0/users`, {
      method: 'POST',
      headers: { authorization: t.adminBasic, 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'dev', email: 'dev@example.test', realname: 'Dev', password: 'Dev12345678' }),
    });
    expect(res.status).toBe(201);
  });
  afterAll(async () => {
    await t.stop();
    await mirror.close();
  });
  const dev = `Basic ${Buffer.from('dev:Dev12345678').toString('base64')}`;

  it('shows the database to signed-in users only', async () => {
    expect((await fetch(`${t.url}/api/v2.0/vulndb`)).status).toBe(401);
    const res = await fetch(`${t.url}/api/v2.0/vulndb`, { headers: { authorization: dev } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ generation: 0, sources: [], mirror: { update_interval_seconds: 0, updating: false } });
  });

  it('lets only system administrators trigger a mirror update', async () => {
    expect((await fetch(`${t.url}/api/v2.0/vulndb/update`, { method: 'POST', headers: { authorization: dev } })).status).toBe(403);
    const res = await fetch(`${t.url}/api/v2.0/vulndb/update`, { method: 'POST', headers: { authorization: t.adminBasic } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ generation: 1, feeds: [{ source: 'kev', status: 'updated', url: `${mirror.url}/kev.json`, records: 1404, skipped: 0 }] });
    const status = (await (await fetch(`${t.url}/api/v2.0/vulndb`, { headers: { authorization: dev } })).json()) as { generation: number; sources: unknown[] };
    expect(status.generation).toBe(1);
    expect(status.sources).toEqual([expect.objectContaining({ name: 'kev', kind: 'kev', records: 1404, skipped: 0, etag: '"k1"', update_time: expect.any(String) })]);
  });
});
