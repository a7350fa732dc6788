import { createHash } from 'node:crypto';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ChildServer, ensureBuilt, runTool, startChildServer, ToolError } from '../helpers/child-server.js';
import { bodyDigest, type Descriptor, fileDigest, type ImageManifest, OCI_INDEX, OCI_MANIFEST, type TestImages, testImages } from '../helpers/images.js';
import { RegistryClient, sha256 } from '../helpers/registry-client.js';

let images: TestImages;
let server: ChildServer;
let admin: RegistryClient;
const temps: string[] = [];

beforeAll(async () => {
  await Promise.all([ensureBuilt(), testImages().then((i) => (images = i))]);
}, 900_000);

beforeEach(async () => {
  server = await startChildServer();
  admin = new RegistryClient(server.url, server.adminBasic);
});

afterEach(async () => {
  const { code, signal } = await server.stop();
  await rm(server.dataDir, { recursive: true, force: true });
  expect({ code, signal }, server.output()).toEqual({ code: 0, signal: null });
});

afterAll(async () => {
  await Promise.all(temps.map((t) => rm(t, { recursive: true, force: true })));
});

async function tempDir(prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  temps.push(d);
  return d;
}

const creds = () => `admin:${server.password}`;
const docker = (path: string) => `docker://${server.host}/${path}`;

function skopeoPush(src: string, dest: string, extra: string[] = []): Promise<string> {
  return runTool('skopeo', ['copy', ...extra, '--dest-tls-verify=false', '--dest-creds', creds(), src, docker(dest)]);
}

function skopeoPull(src: string, dest: string, extra: string[] = []): Promise<string> {
  return runTool('skopeo', ['copy', ...extra, '--src-tls-verify=false', '--src-creds', creds(), docker(src), dest]);
}

function inspectRaw(ref: string, auth: 'admin' | 'anonymous' = 'admin', extra: string[] = []): Promise<string> {
  const a = auth === 'admin' ? ['--creds', creds()] : ['--no-creds'];
  return runTool('skopeo', ['inspect', '--raw', '--tls-verify=false', ...a, ...extra, docker(ref)]);
}

/** The descriptor a layout's index.json gives `tag`. */
async function layoutTag(layout: string, tag: string): Promise<Descriptor> {
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  const d = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (!d) throw new Error(`no ${tag} in ${layout}`);
  return d;
}

/** Every blob of an image manifest is in `layout` and hashes to its digest. */
async function expectImageInLayout(layout: string, manifest: ImageManifest): Promise<void> {
  for (const d of [manifest.config, ...manifest.layers]) {
    expect(await fileDigest(join(layout, 'blobs', ...d.digest.split(':')))).toBe(d.digest);
  }
}

describe('skopeo', () => {
  it('pushes the Debian images and copies them back out with identical manifests and blobs', async () => {
    await skopeoPush(images.ref('bookworm'), 'library/debian:bookworm');
    await skopeoPush(images.ref('multilayer'), 'library/debian:multilayer');
    const out = join(await tempDir('berth-e2e-out-'), 'layout');
    for (const tag of ['bookworm', 'multilayer'] as const) {
      const src = await images.manifest(tag);
      await skopeoPull(`library/debian:${tag}`, `oci:${out}:${tag}`);
      expect((await layoutTag(out, tag)).digest).toBe(src.digest);
      await expectImageInLayout(out, src.manifest);
      // byte for byte what was pushed
      expect(await inspectRaw(`library/debian:${tag}`)).toBe(src.body.toString('utf8'));
    }
    const tags = (await (await admin.fetch('/v2/library/debian/tags/list')).json()) as { tags: string[] };
    expect(tags.tags.sort()).toEqual(['bookworm', 'multilayer']);
  });

  it('copies a multi-arch index with --all and pulls it back identical', async () => {
    const index = await images.descriptor('multiarch');
    const indexBody = await images.blob(index.digest);
    const children = (JSON.parse(indexBody.toString('utf8')) as { manifests: Descriptor[] }).manifests;
    expect(children.map((c) => c.platform?.architecture)).toEqual(['amd64', 'arm64']);

    await skopeoPush(images.ref('multiarch'), 'library/multi:1', ['--all']);
    expect(await inspectRaw('library/multi:1')).toBe(indexBody.toString('utf8'));
    const res = await admin.fetch('/v2/library/multi/manifests/1', { method: 'HEAD', headers: { accept: OCI_INDEX } });
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-content-digest')).toBe(index.digest);

    const out = join(await tempDir('berth-e2e-out-'), 'layout');
    await skopeoPull('library/multi:1', `oci:${out}:multiarch`, ['--all']);
    expect((await layoutTag(out, 'multiarch')).digest).toBe(index.digest);
    for (const c of children) {
      const body = await readFile(join(out, 'blobs', ...c.digest.split(':')));
      expect(sha256(body)).toBe(c.digest);
      await expectImageInLayout(out, JSON.parse(body.toString('utf8')) as ImageManifest);
    }
  });
});

describe('podman and buildah', () => {
  /** containers storage of its own under a temp folder, so the machine's is never touched */
  async function storageFlags(): Promise<string[]> {
    const d = await tempDir('berth-e2e-storage-');
    return ['--root', join(d, 'root'), '--runroot', join(d, 'run'), '--storage-driver', 'vfs'];
  }

  it('podman pulls the Debian image anonymously from the public library project', async () => {
    await skopeoPush(images.ref('bookworm'), 'library/debian:bookworm');
    const src = await images.manifest('bookworm');
    const store = await storageFlags();
    await runTool('podman', [...store, 'pull', '--tls-verify=false', `${server.host}/library/debian:bookworm`]);
    const digest = (await runTool('podman', [...store, 'image', 'inspect', '--format', '{{.Digest}}', `${server.host}/library/debian:bookworm`])).trim();
    expect(digest).toBe(src.digest);
    await runTool('podman', [...store, 'rmi', '--all', '--force']);
    expect((await runTool('podman', [...store, 'images', '--quiet'])).trim()).toBe('');
  });

  it('buildah builds on the image and pushes the result as a Docker schema 2 manifest', async () => {
    const store = await storageFlags();
    const [root, runroot] = [store[1]!, store[3]!];
    // into buildah's storage straight from the layout (buildah pull names a path image after
    // its folder, and `.cache` is no valid reference component)
    await runTool('skopeo', ['copy', images.ref('multilayer'), `containers-storage:[vfs@${root}+${runroot}]localhost/berth/base:1`]);
    const ctr = (await runTool('buildah', [...store, 'from', '--pull-never', 'localhost/berth/base:1'])).trim();
    const added = join(await tempDir('berth-e2e-add-'), 'added.txt');
    await writeFile(added, `built by buildah ${Date.now()}\n`);
    await runTool('buildah', [...store, 'copy', ctr, added, '/etc/berth/added.txt']);
    await runTool('buildah', [...store, 'commit', ctr, 'localhost/berth/built:1']);
    await runTool('buildah', [...store, 'push', '--format', 'v2s2', '--tls-verify=false', '--creds', creds(), 'localhost/berth/built:1', docker('library/built:v2s2')]);

    const raw = JSON.parse(await inspectRaw('library/built:v2s2')) as ImageManifest;
    expect(raw.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(raw.layers).toHaveLength(5);
    // buildah recompresses, so layer digests differ; the uncompressed content of the base must not
    const pushedConfig = JSON.parse(await inspectRaw('library/built:v2s2', 'admin', ['--config'])) as { rootfs: { diff_ids: string[] } };
    const src = await images.manifest('multilayer');
    const srcConfig = JSON.parse((await images.blob(src.manifest.config.digest)).toString('utf8')) as { rootfs: { diff_ids: string[] } };
    expect(pushedConfig.rootfs.diff_ids.slice(0, 4)).toEqual(srcConfig.rootfs.diff_ids);
    for (const l of [raw.config, ...raw.layers]) {
      const res = await admin.fetch(`/v2/library/built/blobs/${l.digest}`);
      expect(res.status).toBe(200);
      expect(await bodyDigest(res.body)).toEqual({ digest: l.digest, size: l.size });
    }
    await runTool('buildah', [...store, 'rm', '--all']);
    await runTool('buildah', [...store, 'rmi', '--all', '--force']);
  });
});

describe('a private project', () => {
  it('hides its images from anonymous clients and serves them with credentials', async () => {
    const res = await admin.fetch('/api/v2.0/projects', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ project_name: 'secret', metadata: { public: 'false' } }),
    });
    expect(res.status).toBe(201);
    await skopeoPush(images.ref('bookworm'), 'secret/debian:bookworm');
    await skopeoPush(images.ref('bookworm'), 'library/debian:bookworm');
    const src = await images.manifest('bookworm');

    const denied = await inspectRaw('secret/debian:bookworm', 'anonymous').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(denied).toBeInstanceOf(ToolError);
    expect((denied as ToolError).stderr).toMatch(/unauthorized|authentication required|denied/i);
    // the same anonymous client reads the public project, so the failure above is the privacy
    expect(await inspectRaw('library/debian:bookworm', 'anonymous')).toBe(src.body.toString('utf8'));
    expect(await inspectRaw('secret/debian:bookworm')).toBe(src.body.toString('utf8'));
    const anon = await fetch(`${server.url}/v2/secret/debian/manifests/bookworm`);
    expect(anon.status).toBe(401);
  });
});

/** A dist-spec chunked push with fetch: POST, a PATCH per chunk with Content-Range, PUT ?digest=. */
async function pushChunked(client: RegistryClient, repo: string, file: string, digest: string, chunkBytes: number, lastChunkInPut: boolean): Promise<void> {
  const start = await client.fetch(`/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: { 'content-length': '0' } });
  expect(start.status).toBe(202);
  let location = new URL(start.headers.get('location')!, client.base).toString();
  const fh = await open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    let offset = 0;
    let chunks = 0;
    while (offset < size) {
      const len = Math.min(chunkBytes, size - offset);
      const buf = Buffer.alloc(len);
      await fh.read(buf, 0, len, offset);
      const range = `${offset}-${offset + len - 1}`;
      const last = offset + len === size;
      if (last && lastChunkInPut) {
        const u = new URL(location);
        u.searchParams.set('digest', digest);
        const put = await client.fetch(u.toString(), {
          method: 'PUT',
          body: buf,
          headers: { 'content-type': 'application/octet-stream', 'content-range': range, 'content-length': String(len) },
        });
        expect(put.status, await put.clone().text()).toBe(201);
        expect(put.headers.get('docker-content-digest')).toBe(digest);
        return;
      }
      const patch = await client.fetch(location, {
        method: 'PATCH',
        body: buf,
        headers: { 'content-type': 'application/octet-stream', 'content-range': range, 'content-length': String(len) },
      });
      expect(patch.status, await patch.clone().text()).toBe(202);
      expect(patch.headers.get('range')).toBe(`0-${offset + len - 1}`);
      location = new URL(patch.headers.get('location')!, client.base).toString();
      offset += len;
      chunks++;
      if (chunks === 1) {
        const status = await client.fetch(location);
        expect(status.status).toBe(204);
        expect(status.headers.get('range')).toBe(`0-${offset - 1}`);
      }
    }
  } finally {
    await fh.close();
  }
  const u = new URL(location);
  u.searchParams.set('digest', digest);
  const put = await client.fetch(u.toString(), { method: 'PUT', headers: { 'content-length': '0' } });
  expect(put.status, await put.clone().text()).toBe(201);
  expect(put.headers.get('docker-content-digest')).toBe(digest);
}

describe('a chunked push written with fetch', () => {
  it('uploads the real layer tarballs in chunks, and skopeo pulls the image back identical', async () => {
    const src = await images.manifest('multilayer');
    const blobs = [src.manifest.config, ...src.manifest.layers];
    for (const [i, d] of blobs.entries()) {
      // 3 MiB chunks make ~19 PATCHes of the base layer; tiny blobs go in 2 chunks
      const chunk = d.size > 6 * 1024 * 1024 ? 3 * 1024 * 1024 : Math.max(1, Math.ceil(d.size / 2));
      await pushChunked(admin, 'library/chunked', images.blobPath(d.digest), d.digest, chunk, i % 2 === 1);
    }
    const put = await admin.pushManifest('library/chunked', 'v1', src.body.toString('utf8'), OCI_MANIFEST);
    expect(put.status).toBe(201);
    expect(put.headers.get('docker-content-digest')).toBe(src.digest);

    const out = join(await tempDir('berth-e2e-out-'), 'layout');
    await skopeoPull('library/chunked:v1', `oci:${out}:v1`);
    expect((await layoutTag(out, 'v1')).digest).toBe(src.digest);
    await expectImageInLayout(out, src.manifest);
  });
});

describe('an OCI artifact with a subject', () => {
  it('is found through the referrers API, filtered by artifactType, and skopeo reads it', async () => {
    await skopeoPush(images.ref('bookworm'), 'library/debian:bookworm');
    const subject = await images.manifest('bookworm');
    const subjectDesc = { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.body.length };

    const empty = Buffer.from('{}');
    await admin.pushBlob('library/debian', empty);
    const pushArtifact = async (artifactType: string, content: unknown) => {
      const layer = Buffer.from(JSON.stringify(content));
      await admin.pushBlob('library/debian', layer);
      const body = JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType,
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: 2, data: 'e30=' },
        layers: [{ mediaType: artifactType, digest: sha256(layer), size: layer.length }],
        subject: subjectDesc,
        annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' },
      });
      const digest = sha256(body);
      const res = await admin.pushManifest('library/debian', digest, body, OCI_MANIFEST);
      expect(res.status, await res.clone().text()).toBe(201);
      expect(res.headers.get('oci-subject')).toBe(subject.digest);
      return { digest, body };
    };
    const sbom = await pushArtifact('application/vnd.example.sbom+json', {
      spdxVersion: 'SPDX-2.3',
      name: 'debian-bookworm',
      packages: [{ name: 'openssl', versionInfo: '3.0' }, { name: 'ca-certificates' }],
    });
    const sig = await pushArtifact('application/vnd.example.signature', { signature: createHash('sha256').update('x').digest('base64') });

    type Index = { mediaType: string; manifests: (Descriptor & { artifactType?: string })[] };
    const all = await admin.fetch(`/v2/library/debian/referrers/${subject.digest}`);
    expect(all.status).toBe(200);
    expect(all.headers.get('content-type')).toBe(OCI_INDEX);
    const allIndex = (await all.json()) as Index;
    expect(allIndex.mediaType).toBe(OCI_INDEX);
    expect(allIndex.manifests.map((m) => m.digest).sort()).toEqual([sbom.digest, sig.digest].sort());
    const sbomDesc = allIndex.manifests.find((m) => m.digest === sbom.digest)!;
    expect(sbomDesc).toMatchObject({
      mediaType: OCI_MANIFEST,
      size: sbom.body.length,
      artifactType: 'application/vnd.example.sbom+json',
      annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' },
    });

    const filtered = await admin.fetch(`/v2/library/debian/referrers/${subject.digest}?artifactType=${encodeURIComponent('application/vnd.example.sbom+json')}`);
    expect(filtered.headers.get('oci-filters-applied')).toBe('artifactType');
    expect(((await filtered.json()) as Index).manifests.map((m) => m.digest)).toEqual([sbom.digest]);
    const none = await admin.fetch(`/v2/library/debian/referrers/${subject.digest}?artifactType=application%2Fvnd.example.none`);
    expect(((await none.json()) as Index).manifests).toEqual([]);

    expect(await inspectRaw(`library/debian@${sbom.digest}`)).toBe(sbom.body);
  });
});
