import type { Role } from '../../src/domain/permission.js';
import { RegistryClient, sha256 } from '../helpers/registry-client.js';
import type { TestServer } from '../helpers/server.js';

export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const IMAGE_CONFIG = 'application/vnd.oci.image.config.v1+json';

export const json = (method: string, body: unknown) => ({ method, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

/** A local user with a role in a project (decisions are dropped so that it applies at once). */
export async function member(s: TestServer, username: string, project: string, role: Role | undefined): Promise<RegistryClient> {
  const password = `${username}-Pass1234`;
  const berth = s.server.berth;
  const user = await berth.users.create({ username, password });
  if (role) {
    const p = await berth.metadata.projects.getByName(project);
    await berth.metadata.members.add({ projectId: p!.id, entityType: 'u', entityId: user.id, role, now: Date.now() });
    berth.access.forgetDecisions();
  }
  return new RegistryClient(s.url, `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`);
}

/** An image manifest pushed by digest (no tag), with its own config and layer. */
export async function pushUntagged(c: RegistryClient, repo: string, arch: string, extra: Record<string, unknown> = {}): Promise<{ digest: string; size: number; body: string }> {
  const config = Buffer.from(JSON.stringify({ architecture: arch, os: 'linux', created: '2024-01-02T03:04:05Z', author: 'berth', rootfs: { type: 'layers', diff_ids: [] }, ...extra }));
  const layer = Buffer.from(`layer of ${arch} ${Math.random()}`);
  const configDigest = await c.pushBlob(repo, config);
  const layerDigest = await c.pushBlob(repo, layer);
  const body = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: IMAGE_CONFIG, digest: configDigest, size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: layer.length }],
  });
  const digest = sha256(body);
  const res = await c.pushManifest(repo, digest, body);
  if (res.status !== 201) throw new Error(`push ${repo}@${digest}: ${res.status} ${await res.text()}`);
  return { digest, size: body.length + config.length + layer.length, body };
}

/** A two-platform index tagged `tag`, with its children pushed by digest. */
export async function pushIndex(c: RegistryClient, repo: string, tag: string): Promise<{ digest: string; children: string[] }> {
  const amd = await pushUntagged(c, repo, 'amd64');
  const arm = await pushUntagged(c, repo, 'arm64');
  const body = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [
      { mediaType: OCI_MANIFEST, digest: amd.digest, size: amd.body.length, platform: { architecture: 'amd64', os: 'linux' } },
      { mediaType: OCI_MANIFEST, digest: arm.digest, size: arm.body.length, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
    ],
  });
  const res = await c.pushManifest(repo, tag, body, OCI_INDEX);
  if (res.status !== 201) throw new Error(`push index ${repo}:${tag}: ${res.status} ${await res.text()}`);
  return { digest: sha256(body), children: [amd.digest, arm.digest] };
}

/** A referrer (an accessory in Harbor's words) of `subject`, e.g. a signature. */
export async function pushReferrer(c: RegistryClient, repo: string, subject: { digest: string; size: number }, artifactType: string): Promise<string> {
  const empty = Buffer.from('{}');
  const emptyDigest = await c.pushBlob(repo, empty);
  const body = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType,
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: emptyDigest, size: 2 },
    layers: [{ mediaType: 'application/vnd.oci.empty.v1+json', digest: emptyDigest, size: 2 }],
    subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.size },
  });
  const digest = sha256(body);
  const res = await c.pushManifest(repo, digest, body);
  if (res.status !== 201) throw new Error(`push referrer: ${res.status} ${await res.text()}`);
  return digest;
}

export async function body<T>(res: Response): Promise<T> {
  if (res.status >= 300) throw new Error(`${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}
