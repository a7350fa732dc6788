import { createHash, randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { RegistryClient } from '../../helpers/registry-client.js';

/** Content built the way the conformance suites build it: random bytes, then the exact JSON. */

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';

export type Algorithm = 'sha256' | 'sha512';

export function digest(bytes: Uint8Array | string, algorithm: Algorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: { os: string; architecture: string };
  [extra: string]: unknown;
}

export interface Content {
  bytes: Buffer;
  digest: string;
  descriptor: Descriptor;
}

export function blob(bytes: Uint8Array | string, mediaType = OCI_LAYER, algorithm: Algorithm = 'sha256'): Content {
  const b = Buffer.from(bytes);
  const d = digest(b, algorithm);
  return { bytes: b, digest: d, descriptor: { mediaType, digest: d, size: b.length } };
}

export const randomLayer = (size = 512, algorithm: Algorithm = 'sha256') => blob(randomBytes(size), OCI_LAYER, algorithm);

/** An image config with a random author, so that every one is a new blob (as the suites do). */
export function config(extra: Record<string, unknown> = {}, algorithm: Algorithm = 'sha256'): Content {
  const json = JSON.stringify(
    { architecture: 'amd64', os: 'linux', author: randomBytes(8).toString('hex'), rootfs: { type: 'layers', diff_ids: [] }, ...extra },
    null,
    '\t',
  );
  return blob(json, OCI_CONFIG, algorithm);
}

export interface ManifestOptions {
  config: Descriptor;
  layers: Descriptor[];
  /** omit the `mediaType` field (the conformance suite's "no layers" manifest has none) */
  noMediaType?: boolean;
  artifactType?: string;
  subject?: Descriptor;
  annotations?: Record<string, string>;
  extra?: Record<string, unknown>;
  algorithm?: Algorithm;
}

export function manifest(o: ManifestOptions): Content {
  const doc: Record<string, unknown> = {
    schemaVersion: 2,
    ...(o.noMediaType ? {} : { mediaType: OCI_MANIFEST }),
    ...(o.artifactType ? { artifactType: o.artifactType } : {}),
    config: o.config,
    layers: o.layers,
    ...(o.subject ? { subject: o.subject } : {}),
    ...(o.annotations ? { annotations: o.annotations } : {}),
    ...(o.extra ?? {}),
  };
  const c = blob(JSON.stringify(doc, null, '\t'), OCI_MANIFEST, o.algorithm);
  if (o.artifactType) c.descriptor.artifactType = o.artifactType;
  return c;
}

export interface IndexOptions {
  manifests: Descriptor[];
  artifactType?: string;
  subject?: Descriptor;
  annotations?: Record<string, string>;
  extra?: Record<string, unknown>;
  algorithm?: Algorithm;
}

export function index(o: IndexOptions): Content {
  const doc: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    ...(o.artifactType ? { artifactType: o.artifactType } : {}),
    manifests: o.manifests,
    ...(o.subject ? { subject: o.subject } : {}),
    ...(o.annotations ? { annotations: o.annotations } : {}),
    ...(o.extra ?? {}),
  };
  const c = blob(JSON.stringify(doc, null, '\t'), OCI_INDEX, o.algorithm);
  if (o.artifactType) c.descriptor.artifactType = o.artifactType;
  return c;
}

/** POST then PUT, the way `Populate registry with test blob` does it; expects 201. */
export async function putBlob(client: RegistryClient, repo: string, c: Content): Promise<void> {
  const post = await client.fetch(`/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  expect(post.status, await bodyText(post)).toBe(202);
  const loc = new URL(post.headers.get('location')!, client.base);
  loc.searchParams.set('digest', c.digest);
  const put = await client.fetch(loc.pathname + loc.search, {
    method: 'PUT',
    body: c.bytes,
    headers: { 'content-type': 'application/octet-stream' },
  });
  expect(put.status, await bodyText(put)).toBe(201);
}

/** PUT of a manifest with the Content-Type of its own mediaType; expects 201. */
export async function putManifest(client: RegistryClient, repo: string, reference: string, c: Content, mediaType?: string): Promise<Response> {
  const res = await client.fetch(`/v2/${repo}/manifests/${reference}`, {
    method: 'PUT',
    body: c.bytes,
    headers: { 'content-type': mediaType ?? c.descriptor.mediaType },
  });
  expect(res.status, await bodyText(res)).toBe(201);
  return res;
}

/** An image (config + layers + manifest) pushed in full; the manifest by tag when given. */
export async function pushImage(client: RegistryClient, repo: string, tag?: string, layerCount = 1): Promise<{ config: Content; layers: Content[]; manifest: Content }> {
  const cfg = config();
  const layers = Array.from({ length: layerCount }, () => randomLayer());
  for (const b of [cfg, ...layers]) await putBlob(client, repo, b);
  const m = manifest({ config: cfg.descriptor, layers: layers.map((l) => l.descriptor) });
  await putManifest(client, repo, tag ?? m.digest, m);
  return { config: cfg, layers, manifest: m };
}

/** The body as text without consuming it for later reads of the same Response. */
async function bodyText(res: Response): Promise<string> {
  return res.clone().text();
}
