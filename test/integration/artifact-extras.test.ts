import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

  it('refuses unknown additions, says chart additions are not served, 404 for a missing artifact', async () => {
    expect((await api('/artifacts/v1/additions/colour')).status).toBe(400);
    const chart = await api('/artifacts/v1/additions/values.yaml');
    expect(chart.status).toBe(501);
    expect(((await chart.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('NOT_IMPLEMENTED');
    expect((await api('/artifacts/nope/additions/build_history')).status).toBe(404);
  });

  it('is refused to anonymous callers of a private project', async () => {
    expect((await fetch(new URL('/api/v2.0/projects/hist/repositories/app/artifacts/v1/additions/build_history', s.url))).status).toBe(401);
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
