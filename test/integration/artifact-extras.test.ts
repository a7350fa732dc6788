import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTool } from '../helpers/child-server.js';
import { RegistryClient } from '../helpers/registry-client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** Harbor's build_history addition and accessory listing, through the HTTP API. */

let s: TestServer;
let registry: RegistryClient;
let imageDigest: string;
const HISTORY = [
  { created: '2026-01-02T03:04:05Z', created_by: '/bin/sh -c #(nop) ADD file:abc in /' },
  { created: '2026-01-02T03:04:06Z', created_by: '/bin/sh -c #(nop) CMD ["bash"]', empty_layer: true },
];
const sha = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const api = (path: string, authorization = s.adminBasic) => fetch(new URL(`/api/v2.0/projects/hist/repositories/app${path}`, s.url), { headers: { authorization } });

beforeAll(async () => {
  s = await startTestServer();
  registry = new RegistryClient(s.url, s.adminBasic);
  await registry.fetch('/api/v2.0/projects', { method: 'POST', body: JSON.stringify({ project_name: 'hist' }), headers: { 'content-type': 'application/json' } });
  const layer = Buffer.from(`layer ${Date.now()}`);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha(layer)] }, history: HISTORY }));
  await registry.pushBlob('hist/app', layer);
  await registry.pushBlob('hist/app', config);
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(layer), size: layer.length }],
  };
  const res = await registry.pushManifest('hist/app', 'v1', manifest);
  expect(res.status).toBe(201);
  imageDigest = res.headers.get('docker-content-digest')!;
  // a signature-like accessory: an artifact whose subject is the image
  const sig = Buffer.from('signature');
  const empty = Buffer.from('{}');
  await registry.pushBlob('hist/app', sig);
  await registry.pushBlob('hist/app', empty);
  const accessory = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha(empty), size: empty.length },
    layers: [{ mediaType: 'application/octet-stream', digest: sha(sig), size: sig.length }],
    subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: imageDigest, size: Buffer.byteLength(JSON.stringify(manifest)) },
  };
  expect((await registry.pushManifest('hist/app', sha(Buffer.from(JSON.stringify(accessory))), accessory)).status).toBe(201);
});
afterAll(() => s.stop());

describe('GET …/artifacts/{ref}/additions/build_history', () => {
  it("answers the image config's history, by tag and by digest", async () => {
    const byTag = await api('/artifacts/v1/additions/build_history');
    expect(byTag.status).toBe(200);
    expect(await byTag.json()).toEqual(HISTORY);
    expect(await (await api(`/artifacts/${imageDigest}/additions/build_history`)).json()).toEqual(HISTORY);
  });

  it('refuses unknown additions, chart additions of an image, and a missing artifact', async () => {
    expect((await api('/artifacts/v1/additions/colour')).status).toBe(400);
    expect((await api('/artifacts/v1/additions/values.yaml')).status).toBe(404);
    expect((await api('/artifacts/nope/additions/build_history')).status).toBe(404);
  });

  it('is refused to anonymous callers of a private project', async () => {
    expect((await fetch(new URL('/api/v2.0/projects/hist/repositories/app/artifacts/v1/additions/build_history', s.url))).status).toBe(401);
  });
});

describe('Helm chart additions', () => {
  const VALUES = 'replicaCount: 2\nimage:\n  repository: nginx\n';
  const README = '# mychart\n\nA chart for the test.\n';
  const DEPS = [{ name: 'redis', version: '17.x.x', repository: 'oci://registry.example/charts' }];

  beforeAll(async () => {
    // a chart as `helm package` lays it out: one top directory holding Chart.yaml, values.yaml, README.md
    const dir = await mkdtemp(join(tmpdir(), 'berth-chart-'));
    await mkdir(join(dir, 'mychart', 'templates'), { recursive: true });
    await writeFile(join(dir, 'mychart', 'Chart.yaml'), 'apiVersion: v2\nname: mychart\nversion: 0.1.0\n');
    await writeFile(join(dir, 'mychart', 'values.yaml'), VALUES);
    await writeFile(join(dir, 'mychart', 'README.md'), README);
    await writeFile(join(dir, 'mychart', 'templates', 'values.yaml'), 'not the chart values\n');
    const tgz = join(dir, 'mychart-0.1.0.tgz');
    await runTool('tar', ['-czf', tgz, '-C', dir, 'mychart']);
    const content = await readFile(tgz);
    const config = Buffer.from(JSON.stringify({ apiVersion: 'v2', name: 'mychart', version: '0.1.0', dependencies: DEPS }));
    await registry.pushBlob('hist/mychart', content);
    await registry.pushBlob('hist/mychart', config);
    const res = await registry.pushManifest('hist/mychart', '0.1.0', {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.cncf.helm.config.v1+json', digest: sha(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip', digest: sha(content), size: content.length }],
    });
    expect(res.status).toBe(201);
    await rm(dir, { recursive: true, force: true });
  });

  const chart = (addition: string) => fetch(new URL(`/api/v2.0/projects/hist/repositories/mychart/artifacts/0.1.0/additions/${addition}`, s.url), { headers: { authorization: s.adminBasic } });

  it("serves values.yaml and the README from the chart's top directory, and the dependencies from its config", async () => {
    const values = await chart('values.yaml');
    expect(values.status).toBe(200);
    expect(await values.text()).toBe(VALUES);
    const readme = await chart('readme.md');
    expect(readme.headers.get('content-type')).toMatch(/^text\/markdown/);
    expect(await readme.text()).toBe(README);
    expect(await (await chart('dependencies')).json()).toEqual(DEPS);
  });

  it('answers 404, not a failure, for a chart whose tarball is garbage or cut', async () => {
    const config = Buffer.from(JSON.stringify({ apiVersion: 'v2', name: 'broken', version: '1.0.0' }));
    await registry.pushBlob('hist/broken', config);
    for (const [tag, content] of [
      ['garbage', Buffer.from('this is not a gzip stream at all')],
      ['cut', Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x01, 0x02])],
    ] as const) {
      await registry.pushBlob('hist/broken', content);
      const res = await registry.pushManifest('hist/broken', tag, {
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.cncf.helm.config.v1+json', digest: sha(config), size: config.length },
        layers: [{ mediaType: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip', digest: sha(content), size: content.length }],
      });
      expect(res.status).toBe(201);
      const values = await fetch(new URL(`/api/v2.0/projects/hist/repositories/broken/artifacts/${tag}/additions/values.yaml`, s.url), { headers: { authorization: s.adminBasic } });
      expect(values.status).toBe(404);
    }
  });

  it("has an empty build history (a chart's config has none)", async () => {
    const res = await chart('build_history');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([]);
  });
});

describe('GET …/artifacts/{ref}/accessories', () => {
  it('lists the artifact’s accessories in Harbor’s shape, with paging headers and a type filter', async () => {
    const res = await api('/artifacts/v1/accessories');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-total-count')).toBe('1');
    const list = (await res.json()) as { subject_artifact_digest: string; type: string; digest: string }[];
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ subject_artifact_digest: imageDigest, subject_artifact_repo: 'hist/app', type: 'signature.cosign' });
    expect(await (await api('/artifacts/v1/accessories?q=type%3Dsignature.cosign')).json()).toHaveLength(1);
    expect(await (await api('/artifacts/v1/accessories?q=type%3Dsubject.harbor')).json()).toHaveLength(0);
    expect((await api('/artifacts/v1/accessories?q=colour%3Dblue')).status).toBe(400);
  });
});
