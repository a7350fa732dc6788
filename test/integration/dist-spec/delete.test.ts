import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProject, errorsOf, RegistryClient } from '../../helpers/registry-client.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { type Content, config, digest, index, manifest, pushImage, putBlob, putManifest, randomLayer } from './oci-fixtures.js';

// OCI Distribution Spec v1.1, "Content Management"; conformance 04_management and conformance2
// TestDelete (tags, then manifests in reverse push order, then blobs; each delete checked
// with a HEAD that must be 404 at once: the "atomic" variants).

let s: TestServer;
let admin: RegistryClient;
const repo = 'conf/delete';

beforeAll(async () => {
  s = await startTestServer();
  admin = new RegistryClient(s.url, s.adminBasic);
  await createProject(s.url, s.adminBasic, 'conf');
});
afterAll(() => s.stop());

const head = async (path: string) => (await admin.fetch(path, { method: 'HEAD' })).status;
const del = (path: string) => admin.fetch(path, { method: 'DELETE' });

describe('deleting', () => {
  // "To delete a tag ... Upon success, the registry MUST respond with a 202 Accepted code ...
  // Once deleted, a GET to /v2/<name>/manifests/<tag> will return a 404."
  it('deletes a tag and leaves the manifest', async () => {
    const { manifest: m } = await pushImage(admin, repo, 'tagtest0');
    const res = await del(`/v2/${repo}/manifests/tagtest0`);
    expect(res.status).toBe(202);
    expect(await head(`/v2/${repo}/manifests/tagtest0`)).toBe(404);
    expect((await admin.fetch(`/v2/${repo}/manifests/tagtest0`)).status).toBe(404);
    expect(await head(`/v2/${repo}/manifests/${m.digest}`)).toBe(200);
    const again = await del(`/v2/${repo}/manifests/tagtest0`);
    expect(again.status).toBe(404);
    expect((await errorsOf(again))[0]!.code).toBe('MANIFEST_UNKNOWN');
  });

  // "To delete a manifest ... Upon success, the registry MUST respond with a 202 Accepted code.
  // ... Once deleted, a GET to /v2/<name>/manifests/<digest> and any tag pointing to that digest
  // will return a 404."
  it('deletes a manifest by digest, and the tags pointing at it with it', async () => {
    const { manifest: m } = await pushImage(admin, repo, 'one');
    await putManifest(admin, repo, 'two', m);
    expect((await del(`/v2/${repo}/manifests/${m.digest}`)).status).toBe(202);
    for (const ref of [m.digest, 'one', 'two']) expect(await head(`/v2/${repo}/manifests/${ref}`), ref).toBe(404);
    expect((await admin.fetch(`/v2/${repo}/manifests/${m.digest}`)).status).toBe(404);
    // the manifest's bytes are no longer a blob of the repository either
    expect(await head(`/v2/${repo}/blobs/${m.digest}`)).toBe(404);
    const tags = (await (await admin.fetch(`/v2/${repo}/tags/list`)).json()) as { tags: string[] };
    expect(tags.tags).not.toContain('one');
    expect((await del(`/v2/${repo}/manifests/${m.digest}`)).status).toBe(404);
  });

  // "To delete a blob ... Upon success, the registry MUST respond with code 202 Accepted. If the
  // blob is not found, a 404 Not Found code MUST be returned."
  it('deletes a blob from the repository, and a second delete is 404 BLOB_UNKNOWN', async () => {
    const c = randomLayer();
    await putBlob(admin, repo, c);
    await putBlob(admin, 'conf/keeper', c);
    expect((await del(`/v2/${repo}/blobs/${c.digest}`)).status).toBe(202);
    expect(await head(`/v2/${repo}/blobs/${c.digest}`)).toBe(404);
    expect((await admin.fetch(`/v2/${repo}/blobs/${c.digest}`)).status).toBe(404);
    const again = await del(`/v2/${repo}/blobs/${c.digest}`);
    expect(again.status).toBe(404);
    expect((await errorsOf(again))[0]!.code).toBe('BLOB_UNKNOWN');
    // other repositories keep their link to the same content
    const kept = await admin.fetch(`/v2/conf/keeper/blobs/${c.digest}`);
    expect(kept.status).toBe(200);
    expect(Buffer.from(await kept.arrayBuffer()).equals(c.bytes)).toBe(true);
  });

  // "If the repository does not exist, the response MUST return 404 Not Found."
  it('answers deletes in a repository that does not exist with 404 NAME_UNKNOWN', async () => {
    for (const path of [`/v2/conf/nothing/manifests/${digest('x')}`, '/v2/conf/nothing/manifests/latest', `/v2/conf/nothing/blobs/${digest('x')}`]) {
      const res = await del(path);
      expect(res.status, path).toBe(404);
      expect((await errorsOf(res))[0]!.code).toBe('NAME_UNKNOWN');
    }
  });

  // conformance2 TestDelete on an index data set: tag, then the index, then its children, then
  // the blobs; every step is visible to the next HEAD.
  it('takes an index apart in the order conformance2 uses', async () => {
    const children: { m: Content; blobs: Content[] }[] = [];
    for (let i = 0; i < 2; i++) {
      const cfg = config();
      const l = randomLayer();
      await putBlob(admin, repo, cfg);
      await putBlob(admin, repo, l);
      const m = manifest({ config: cfg.descriptor, layers: [l.descriptor] });
      await putManifest(admin, repo, m.digest, m);
      children.push({ m, blobs: [cfg, l] });
    }
    const idx = index({ manifests: children.map((c) => c.m.descriptor) });
    await putManifest(admin, repo, 'index', idx);
    expect((await del(`/v2/${repo}/manifests/index`)).status).toBe(202);
    expect(await head(`/v2/${repo}/manifests/index`)).toBe(404);
    for (const d of [idx.digest, ...children.map((c) => c.m.digest).reverse()]) {
      expect((await del(`/v2/${repo}/manifests/${d}`)).status).toBe(202);
      expect(await head(`/v2/${repo}/manifests/${d}`)).toBe(404);
    }
    for (const b of children.flatMap((c) => c.blobs)) {
      expect((await del(`/v2/${repo}/blobs/${b.digest}`)).status).toBe(202);
      expect(await head(`/v2/${repo}/blobs/${b.digest}`)).toBe(404);
    }
  });
});
