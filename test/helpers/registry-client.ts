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

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses a `WWW-Authenticate` value as the conformance suites do: `scheme key="value",…`. */
export function parseChallenge(header: string): Challenge {
  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const params: Record<string, string> = {};
  for (const m of header.matchAll(/([a-zA-Z_]+)="([^"]*)"/g)) params[m[1]!.toLowerCase()] = m[2]!;
  return { scheme, params };
}

type Body = string | Uint8Array | undefined;

/**
 * A client that authenticates the way the OCI conformance suites (reggie, conformance2) do:
 * every request goes out without credentials; on a 401 with a Bearer challenge it GETs the
 * realm with Basic credentials, `service` and the challenge's `scope`, then repeats the request
 * once with the token. Bodies must be replayable, so only strings and byte arrays are taken.
 */
export class ChallengeClient {
  /** the challenges answered, in order, for assertions on the scope the registry asked for */
  readonly challenges: Challenge[] = [];
  /** token endpoint answers that were not 200 */
  readonly tokenFailures: number[] = [];

  constructor(
    readonly base: string,
    readonly username?: string,
    readonly password?: string,
  ) {}

  async fetch(path: string, init: { method?: string; body?: Body; headers?: Record<string, string> } = {}): Promise<Response> {
    const url = new URL(path, this.base);
    const send = (authorization?: string) =>
      fetch(url, {
        method: init.method ?? 'GET',
        ...(init.body !== undefined ? { body: init.body } : {}),
        headers: { ...(init.headers ?? {}), ...(authorization ? { authorization } : {}) },
        redirect: 'manual',
      });
    const first = await send();
    const header = first.headers.get('www-authenticate');
    if (first.status !== 401 || !header || this.username === undefined) return first;
    await first.arrayBuffer();
    const c = parseChallenge(header);
    this.challenges.push(c);
    const basic = `Basic ${Buffer.from(`${this.username}:${this.password ?? ''}`).toString('base64')}`;
    if (c.scheme === 'basic') return send(basic);
    const realm = new URL(c.params['realm'] ?? '', url);
    realm.searchParams.set('service', c.params['service'] ?? '');
    if (c.params['scope']) realm.searchParams.set('scope', c.params['scope']);
    const tokenRes = await fetch(realm, { headers: { authorization: basic, accept: 'application/json' } });
    if (tokenRes.status !== 200) {
      this.tokenFailures.push(tokenRes.status);
      return first;
    }
    const body = (await tokenRes.json()) as { token?: string; access_token?: string };
    return send(`Bearer ${body.access_token || body.token}`);
  }
}

/** Creates a project through the Harbor API as the given Basic credentials. */
export async function createProject(base: string, authorization: string, name: string, isPublic = false): Promise<void> {
  const res = await fetch(new URL('/api/v2.0/projects', base), {
    method: 'POST',
    body: JSON.stringify({ project_name: name, public: isPublic }),
    headers: { 'content-type': 'application/json', authorization },
  });
  if (res.status !== 201) throw new Error(`project ${name}: ${res.status} ${await res.text()}`);
}

/** `{"errors":[…]}` of a response, for assertions on the first code. */
export async function errorsOf(res: Response): Promise<{ code: string; message: string; detail?: unknown }[]> {
  const body = (await res.json()) as { errors?: { code: string; message: string; detail?: unknown }[] };
  return body.errors ?? [];
}
