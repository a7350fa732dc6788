import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileFeedReader } from '../../src/scanner/vulndb/feed-reader.js';
import { VulndbService } from '../../src/services/vulndb.service.js';
import { runTool } from '../helpers/child-server.js';
import { OCI_MANIFEST, testImages } from '../helpers/images.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.js';

/**
 * Harbor's pluggable scanner API end to end, Berth on both sides: Berth A serves its scanner as
 * an adapter (/api/v1), Berth B holds a real Debian image pushed by skopeo and has A registered
 * as a scanner. B's client drives A through a scan: A pulls the image from B over HTTP with the
 * short-lived pull token B minted, analyses the layers, matches them and answers Harbor's report.
 */

const KEY = 'adapter-key-0123456789abcdef';
let a: TestServer;
let b: TestServer;
let work: string;
let digest: string;
let projectId: number;

const api = (s: TestServer, method: string, path: string, body?: unknown) =>
  fetch(`${s.url}/api/v2.0${path}`, {
    method,
    headers: { authorization: s.adminBasic, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

async function errorMessage(res: Response): Promise<string> {
  const body = (await res.json()) as { errors: { message: string }[] };
  return body.errors[0]!.message;
}

/** A stand-in third-party adapter, for the answers Berth's own never gives. */
async function stubAdapter(behaviour: { consumes: string[]; pending: number }): Promise<{ url: string; polls: () => number; close(): Promise<void> }> {
  let polls = 0;
  const server: Server = createServer((req, res) => {
    if (req.headers['x-scanneradapter-api-key'] !== 'stub-key') {
      res.writeHead(401, { 'content-type': 'application/vnd.scanner.adapter.error+json; version=1.0' }).end(JSON.stringify({ error: { message: 'bad key' } }));
      return;
    }
    if (req.url === '/api/v1/metadata') {
      res.writeHead(200, { 'content-type': 'application/vnd.scanner.adapter.metadata+json; version=1.0' }).end(
        JSON.stringify({
          scanner: { name: 'Stub', vendor: 'Tests', version: '1' },
          capabilities: [{ consumes_mime_types: behaviour.consumes, produces_mime_types: ['application/vnd.security.vulnerability.report; version=1.1'] }],
        }),
      );
    } else if (req.url === '/api/v1/scan' && req.method === 'POST') {
      req.resume();
      req.on('end', () => res.writeHead(202, { 'content-type': 'application/vnd.scanner.adapter.scan.response+json; version=1.0' }).end('{"id":"stub-1"}'));
    } else if (req.url === '/api/v1/scan/stub-1/report') {
      polls++;
      if (polls <= behaviour.pending) res.writeHead(302, { 'refresh-after': '0' }).end();
      else
        res.writeHead(200, { 'content-type': 'application/vnd.security.vulnerability.report; version=1.1' }).end(
          JSON.stringify({
            vulnerabilities: [
              {
                id: 'CVE-2024-0001',
                package: 'openssl',
                version: '3.0.11-1',
                fix_version: '3.0.13-1',
                severity: 'High',
                preferred_cvss: { score_v3: 7.5, vector_v3: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H' },
                links: ['https://security-tracker.debian.org/tracker/CVE-2024-0001'],
              },
            ],
          }),
        );
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, polls: () => polls, close: () => new Promise((r) => server.close(() => r())) };
}

beforeAll(async () => {
  [a, b] = await Promise.all([
    startTestServer({ BERTH_SCANNER_ADAPTER_ENABLED: 'true', BERTH_SCANNER_ADAPTER_API_KEY: KEY }),
    startTestServer(),
  ]);
  work = await mkdtemp(join(tmpdir(), 'berth-scanner-adapter-'));
  // one advisory that every Debian 12 image is affected by: base-files below version 99
  const feed = join(work, 'berth-test.json');
  await writeFile(
    feed,
    JSON.stringify([
      {
        schema_version: '1.6.0',
        id: 'BERTH-TEST-0001',
        modified: '2026-01-01T00:00:00Z',
        aliases: ['CVE-2099-0001'],
        summary: 'test advisory',
        details: 'every base-files before 99 is affected',
        affected: [{ package: { ecosystem: 'Debian:12', name: 'base-files' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '99' }] }] }],
        severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
      },
    ]),
  );
  const vulndb = new VulndbService({ repo: a.server.berth.metadata.vulndb, feeds: new FileFeedReader(), clock: { now: () => Date.now() }, config: { ecosystems: [], updateIntervalSeconds: 0 } });
  await vulndb.import([feed]);

  const images = await testImages();
  await runTool('skopeo', ['copy', '--dest-tls-verify=false', '--dest-creds', `admin:${ADMIN_PASSWORD}`, images.ref('bookworm'), `docker://${b.host}/library/debian:12`]);
  const head = await fetch(`${b.url}/v2/library/debian/manifests/12`, { method: 'HEAD', headers: { authorization: b.adminBasic, accept: OCI_MANIFEST } });
  digest = head.headers.get('docker-content-digest')!;
  projectId = ((await (await api(b, 'GET', '/projects/library')).json()) as { project_id: number }).project_id;
}, 300_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

describe('a Berth scanner adapter registered in another Berth', () => {
  let uuid: string;

  it('answers the adapter API only with its key', async () => {
    expect((await fetch(`${a.url}/api/v1/metadata`)).status).toBe(401);
    const res = await fetch(`${a.url}/api/v1/metadata`, { headers: { 'x-scanneradapter-api-key': KEY } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/vnd.scanner.adapter.metadata+json');
    const m = (await res.json()) as { scanner: { name: string }; capabilities: { consumes_mime_types: string[]; produces_mime_types: string[] }[] };
    expect(m.scanner.name).toBe('Berth');
    expect(m.capabilities[0]!.consumes_mime_types).toContain(OCI_MANIFEST);
    expect(m.capabilities[0]!.produces_mime_types).toContain('application/vnd.security.vulnerability.report; version=1.1');
  });

  it('pings, refuses a wrong key with a clear message, then registers', async () => {
    const settings = { name: 'berth-a', url: a.url, auth: 'X-ScannerAdapter-API-Key', access_credential: KEY };
    expect((await api(b, 'POST', '/scanners/ping', settings)).status).toBe(200);
    const wrong = await api(b, 'POST', '/scanners', { ...settings, access_credential: 'not-the-key-at-all' });
    expect(wrong.status).toBe(400);
    expect(await errorMessage(wrong)).toMatch(/refused Berth's credentials \(401\)/);
    const created = await api(b, 'POST', '/scanners', { ...settings, description: 'the other Berth' });
    expect(created.status).toBe(201);
    uuid = created.headers.get('location')!.split('/').pop()!;
    expect((await api(b, 'POST', '/scanners', settings)).status).toBe(409);
  });

  it('lists the built-in scanner as default beside the registration, never with the credential', async () => {
    const res = await api(b, 'GET', '/scanners');
    expect(res.headers.get('x-total-count')).toBe('2');
    const text = await res.text();
    expect(text).not.toContain(KEY);
    expect(text).not.toContain('access_credential');
    const list = JSON.parse(text) as { name: string; is_default: boolean; uuid: string; auth: string }[];
    expect(list.map((s) => [s.name, s.is_default])).toEqual([
      ['Berth', true],
      ['berth-a', false],
    ]);
    expect(list[1]!.auth).toBe('X-ScannerAdapter-API-Key');
    const one = (await (await api(b, 'GET', `/scanners/${uuid}`)).json()) as Record<string, unknown>;
    expect(one).toMatchObject({ name: 'berth-a', health: 'healthy', adapter: 'Berth', url: a.url });
    expect(one).not.toHaveProperty('access_credential');
    const meta = (await (await api(b, 'GET', `/scanners/${uuid}/metadata`)).json()) as { scanner: { name: string } };
    expect(meta.scanner.name).toBe('Berth');
  });

  it('is used by a project that chooses it, and the report comes back from a real scan', async () => {
    expect((await b.server.berth.scanners.scannerFor(projectId)).kind).toBe('builtin');
    expect((await api(b, 'PUT', '/projects/library/scanner', { uuid })).status).toBe(200);
    const chosen = (await (await api(b, 'GET', '/projects/library/scanner')).json()) as { name: string; health: string };
    expect(chosen).toMatchObject({ name: 'berth-a', health: 'healthy' });

    const choice = await b.server.berth.scanners.scannerFor(projectId);
    expect(choice.kind).toBe('adapter');
    if (choice.kind !== 'adapter') return;
    const findings = await choice.scan({ projectId, repository: 'library/debian', digest, mediaType: OCI_MANIFEST, tag: '12' });
    const f = findings.find((x) => x.id === 'BERTH-TEST-0001');
    expect(f).toBeDefined();
    expect(f).toMatchObject({ package: 'base-files', packageType: 'deb', fixVersions: ['99'], severity: 'Critical', aliases: ['CVE-2099-0001'] });
    expect(f!.purl).toMatch(/^pkg:deb\/debian\/base-files@/);
    expect(f!.layerDigest).toMatch(/^sha256:/);
    expect(f!.cvss?.baseScore).toBe(9.8);
  }, 120_000);

  it('reports the inventory it saw, polled through 302 answers', async () => {
    const token = await b.server.berth.access.issueInternalPullToken('berth-scanner', 'library/debian', 120);
    const post = await fetch(`${a.url}/api/v1/scan`, {
      method: 'POST',
      headers: { 'x-scanneradapter-api-key': KEY, 'content-type': 'application/vnd.scanner.adapter.scan.request+json; version=1.0' },
      body: JSON.stringify({ registry: { url: b.url, authorization: `Bearer ${token.token}` }, artifact: { repository: 'library/debian', digest, mime_type: OCI_MANIFEST } }),
    });
    expect(post.status).toBe(202);
    const { id } = (await post.json()) as { id: string };
    let report: Record<string, unknown> | undefined;
    for (let i = 0; i < 600 && !report; i++) {
      const r = await fetch(`${a.url}/api/v1/scan/${id}/report`, { headers: { 'x-scanneradapter-api-key': KEY, accept: 'application/vnd.security.vulnerability.report; version=1.1' }, redirect: 'manual' });
      if (r.status === 302) {
        expect(r.headers.get('refresh-after')).toBe('1');
        await new Promise((res) => setTimeout(res, 200));
        continue;
      }
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('application/vnd.security.vulnerability.report; version=1.1');
      report = (await r.json()) as Record<string, unknown>;
    }
    expect(report).toMatchObject({ artifact: { repository: 'library/debian', digest }, scanner: { name: 'Berth' }, severity: 'Critical' });
    const va = report!['vendor_attributes'] as { packages: number; distro: { id: string } };
    expect(va.packages).toBeGreaterThan(50);
    expect(va.distro.id).toBe('debian');
    expect(report!['vulnerabilities']).toEqual(expect.arrayContaining([expect.objectContaining({ id: 'BERTH-TEST-0001', package: 'base-files', fix_version: '99', severity: 'Critical' })]));
    const unsupported = await fetch(`${a.url}/api/v1/scan/${id}/report`, { headers: { 'x-scanneradapter-api-key': KEY, accept: 'application/spdx+json' } });
    expect(unsupported.status).toBe(501);
  }, 120_000);

  it('refuses a pull token for another repository, and answers the failure as the report', async () => {
    const token = await b.server.berth.access.issueInternalPullToken('berth-scanner', 'library/other', 120);
    const post = await fetch(`${a.url}/api/v1/scan`, {
      method: 'POST',
      headers: { 'x-scanneradapter-api-key': KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ registry: { url: b.url, authorization: `Bearer ${token.token}` }, artifact: { repository: 'library/debian', digest, mime_type: OCI_MANIFEST } }),
    });
    const { id } = (await post.json()) as { id: string };
    let r: Response;
    do {
      await new Promise((res) => setTimeout(res, 100));
      r = await fetch(`${a.url}/api/v1/scan/${id}/report`, { headers: { 'x-scanneradapter-api-key': KEY }, redirect: 'manual' });
    } while (r.status === 302);
    expect(r.status).toBe(500);
    expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(/refused the scan request's authorization/);
  });

  it('validates scan requests field by field', async () => {
    const bad = await fetch(`${a.url}/api/v1/scan`, {
      method: 'POST',
      headers: { 'x-scanneradapter-api-key': KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ registry: { url: b.url }, artifact: { repository: 'library/debian', digest, mime_type: 'application/vnd.oci.image.index.v1+json' } }),
    });
    expect(bad.status).toBe(422);
    expect(bad.headers.get('content-type')).toContain('application/vnd.scanner.adapter.error+json');
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/mime_type .* is not supported/);
  });

  it('falls back to the built-in scanner when the registration goes', async () => {
    expect((await api(b, 'PATCH', `/scanners/${uuid}`, { is_default: true })).status).toBe(200);
    const builtin = ((await (await api(b, 'GET', '/scanners?q=name%3DBerth')).json()) as { uuid: string; is_default: boolean }[])[0]!;
    expect(builtin.is_default).toBe(false);
    expect((await api(b, 'DELETE', `/scanners/${builtin.uuid}`)).status).toBe(403);
    const del = await api(b, 'DELETE', `/scanners/${uuid}`);
    expect(del.status).toBe(200);
    expect(((await del.json()) as { name: string }).name).toBe('berth-a');
    expect((await b.server.berth.scanners.scannerFor(projectId)).kind).toBe('builtin');
    const again = ((await (await api(b, 'GET', `/scanners/${builtin.uuid}`)).json()) as { is_default: boolean }).is_default;
    expect(again).toBe(true);
  });
});

describe('scanner adapter failures seen from the registry', () => {
  it('says clearly that an adapter is down', async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const { port } = dead.address() as AddressInfo;
    await new Promise((r) => dead.close(r));
    const res = await api(b, 'POST', '/scanners/ping', { name: 'dead', url: `http://127.0.0.1:${port}` });
    expect(res.status).toBe(503);
    expect(await errorMessage(res)).toBe(`scanner adapter http://127.0.0.1:${port}: GET /api/v1/metadata: http://127.0.0.1:${port} is unreachable (connection refused)`);
  });

  it('polls a report through 302 answers, and refuses artifacts the adapter does not consume', async () => {
    const stub = await stubAdapter({ consumes: [OCI_MANIFEST], pending: 3 });
    const picky = await stubAdapter({ consumes: ['application/vnd.docker.distribution.manifest.v2+json'], pending: 0 });
    try {
      for (const [name, s] of [['stub', stub], ['picky', picky]] as const) {
        expect((await api(b, 'POST', '/scanners', { name, url: s.url, auth: 'X-ScannerAdapter-API-Key', access_credential: 'stub-key' })).status).toBe(201);
      }
      const list = (await (await api(b, 'GET', '/scanners?page_size=100')).json()) as { name: string; uuid: string }[];
      const uuidOf = (n: string) => list.find((x) => x.name === n)!.uuid;

      expect((await api(b, 'PUT', '/projects/library/scanner', { uuid: uuidOf('stub') })).status).toBe(200);
      const choice = await b.server.berth.scanners.scannerFor(projectId);
      if (choice.kind !== 'adapter') throw new Error('expected the stub adapter');
      const findings = await choice.scan({ projectId, repository: 'library/debian', digest, mediaType: OCI_MANIFEST });
      expect(stub.polls()).toBe(4);
      expect(findings).toEqual([
        expect.objectContaining({ id: 'CVE-2024-0001', package: 'openssl', fixVersions: ['3.0.13-1'], severity: 'High', purl: 'pkg:generic/openssl@3.0.11-1', source: 'stub', cvss: { version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H', baseScore: 7.5 } }),
      ]);

      expect((await api(b, 'PUT', '/projects/library/scanner', { uuid: uuidOf('picky') })).status).toBe(200);
      const p = await b.server.berth.scanners.scannerFor(projectId);
      if (p.kind !== 'adapter') throw new Error('expected the picky adapter');
      await expect(p.scan({ projectId, repository: 'library/debian', digest, mediaType: OCI_MANIFEST })).rejects.toThrow(
        `scanner picky can not scan artifacts of type ${OCI_MANIFEST}`,
      );
    } finally {
      await Promise.all([stub.close(), picky.close()]);
    }
  });
});
