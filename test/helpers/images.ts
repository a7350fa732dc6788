import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SCRIPT = join(REPO_ROOT, 'scripts/build-test-image.sh');

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

/** The tags scripts/build-test-image.sh puts in its layout. */
export type TestImageTag = 'bookworm' | 'multilayer' | 'multiarch';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string; variant?: string };
  annotations?: Record<string, string>;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

export interface TestImages {
  /** the OCI image layout folder */
  layout: string;
  /** a skopeo/podman transport reference: `oci:<layout>:<tag>` */
  ref(tag: TestImageTag): string;
  /** the descriptor index.json gives the tag */
  descriptor(tag: TestImageTag): Promise<Descriptor>;
  /** the exact bytes of a blob (manifests, configs; layers are large: prefer blobPath) */
  blob(digest: string): Promise<Buffer>;
  blobPath(digest: string): string;
  /** a tagged image manifest, parsed, with its digest and bytes */
  manifest(tag: Exclude<TestImageTag, 'multiarch'>): Promise<{ digest: string; body: Buffer; manifest: ImageManifest }>;
}

/**
 * The real Debian images of the end-to-end tests. The first call on a machine runs
 * scripts/build-test-image.sh (debootstrap + umoci, about a minute); the layout is kept under
 * .cache/images/<hash of the script>/ so later runs, and other test workers, reuse it. The
 * script locks and renames, so concurrent callers never see a half-built layout.
 */
export async function testImages(): Promise<TestImages> {
  const hash = createHash('sha256').update(await readFile(SCRIPT)).digest('hex').slice(0, 16);
  const layout = join(REPO_ROOT, '.cache/images', hash);
  if (!(await exists(join(layout, 'index.json')))) {
    await run('bash', [SCRIPT, layout], { maxBuffer: 16 * 1024 * 1024 });
  }
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  const blobPath = (digest: string) => join(layout, 'blobs', ...digest.split(':'));
  const descriptor = async (tag: TestImageTag) => {
    const d = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
    if (!d) throw new Error(`the test image layout has no tag ${tag}`);
    return d;
  };
  const blob = (digest: string) => readFile(blobPath(digest));
  return {
    layout,
    ref: (tag) => `oci:${layout}:${tag}`,
    descriptor,
    blob,
    blobPath,
    async manifest(tag) {
      const d = await descriptor(tag);
      const body = await blob(d.digest);
      return { digest: d.digest, body, manifest: JSON.parse(body.toString('utf8')) as ImageManifest };
    },
  };
}

/** sha256 of a file, streamed */
export async function fileDigest(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path, { highWaterMark: 1024 * 1024 })) h.update(c as Buffer);
  return `sha256:${h.digest('hex')}`;
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

/** sha256 of a response body, streamed */
export async function bodyDigest(body: ReadableStream<Uint8Array> | null): Promise<{ digest: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  if (body) {
    for await (const c of body) {
      h.update(c);
      size += c.length;
    }
  }
  return { digest: `sha256:${h.digest('hex')}`, size };
}
