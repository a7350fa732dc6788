import { createHash } from 'node:crypto';

/** A minimal dist-spec client for tests: raw fetch with Basic auth, no hidden retries. */
export class RegistryClient {
  constructor(
    readonly base: string,
    readonly authorization?: string,
  ) {}

  fetch(path: string, init: RequestInit & { headers?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = { ...(init.headers ?? {}) };
    if (this.authorization && headers['authorization'] === undefined) headers['authorization'] = this.authorization;
    return fetch(new URL(path, this.base), { ...init, headers, redirect: 'manual' });
  }

  /** POST ?digest= monolithic upload */
  async pushBlob(repo: string, data: Uint8Array): Promise<string> {
    const digest = sha256(data);
    const res = await this.fetch(`/v2/${repo}/blobs/uploads/?digest=${digest}`, {
      method: 'POST',
      body: data,
      headers: { 'content-type': 'application/octet-stream' },
    });
    if (res.status !== 201) throw new Error(`blob push failed: ${res.status} ${await res.text()}`);
    return digest;
  }

  async pushManifest(repo: string, reference: string, manifest: unknown, mediaType = 'application/vnd.oci.image.manifest.v1+json'): Promise<Response> {
    return this.fetch(`/v2/${repo}/manifests/${reference}`, {
      method: 'PUT',
      body: typeof manifest === 'string' ? manifest : JSON.stringify(manifest),
      headers: { 'content-type': mediaType },
    });
  }

  /** Pushes a config and one layer, then an OCI image manifest; returns the manifest digest. */
  async pushImage(repo: string, tag: string, layer: Uint8Array = Buffer.from(`layer ${Math.random()}`)): Promise<{ digest: string; manifest: Record<string, unknown>; body: string }> {
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
    const configDigest = await this.pushBlob(repo, config);
    const layerDigest = await this.pushBlob(repo, layer);
    const manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: layer.length }],
    };
    const body = JSON.stringify(manifest);
    const res = await this.pushManifest(repo, tag, body);
    if (res.status !== 201) throw new Error(`manifest push failed: ${res.status} ${await res.text()}`);
    return { digest: sha256(Buffer.from(body)), manifest, body };
  }
}

export function sha256(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function sha512(data: Uint8Array | string): string {
  return `sha512:${createHash('sha512').update(data).digest('hex')}`;
}
