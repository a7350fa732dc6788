import { createHash } from 'node:crypto';
import { RegistryError } from '../../domain/errors.js';
import type { RegistryPuller, RegistrySession } from '../../ports/external-scanner.js';
import { discard, type HttpResponse, parseJson, readBody, send } from './http-client.js';

const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_REDIRECTS = 5;
const HASHES: Record<string, string> = { sha256: 'sha256', sha512: 'sha512' };

export interface PullOptions {
  idleTimeoutMs: number;
}

/** Parses `Bearer realm="…",service="…",scope="…"`. */
function bearerChallenge(header: string | undefined): { realm: string; service?: string; scope?: string } | undefined {
  if (!header || !/^bearer\s/i.test(header)) return undefined;
  const params: Record<string, string> = {};
  for (const m of header.matchAll(/([a-zA-Z_]+)="([^"]*)"/g)) params[m[1]!.toLowerCase()] = m[2]!;
  if (!params['realm']) return undefined;
  return { realm: params['realm'], ...(params['service'] ? { service: params['service'] } : {}), ...(params['scope'] ? { scope: params['scope'] } : {}) };
}

function hasherFor(digest: string) {
  const colon = digest.indexOf(':');
  const algo = HASHES[digest.slice(0, colon)];
  if (colon <= 0 || !algo || !/^[a-f0-9]{64,128}$/.test(digest.slice(colon + 1))) {
    throw new RegistryError('DIGEST_INVALID', `unsupported or malformed digest ${digest.slice(0, 80)}`);
  }
  return createHash(algo);
}

/**
 * A dist-spec pull client (manifests by digest, blobs streamed), for the built-in adapter: the
 * source can be this Berth, another one, Harbor or any registry. `authorization` from the scan
 * request goes out as is; on a Bearer challenge it is exchanged for a token at the challenge's
 * realm (a Basic credential, as Harbor sends a robot's), or used as the token when it already
 * is one. Blob redirects are followed without the credentials (object storage).
 */
export class OciPullClient implements RegistryPuller {
  constructor(private readonly opts: PullOptions = { idleTimeoutMs: 30_000 }) {}

  session(registryUrl: string, authorization: string | undefined, repository: string): RegistrySession {
    return new PullSession(new URL(registryUrl.replace(/\/+$/, '') + '/'), authorization, repository, this.opts);
  }
}

class PullSession implements RegistrySession {
  private token: string | undefined;

  constructor(
    private readonly base: URL,
    private readonly authorization: string | undefined,
    private readonly repository: string,
    private readonly opts: PullOptions,
  ) {
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new RegistryError('BAD_REQUEST', 'the registry URL must be http or https');
    if (authorization?.toLowerCase().startsWith('bearer ')) this.token = authorization.slice(7).trim();
  }

  async manifest(digest: string, accept: readonly string[], signal?: AbortSignal): Promise<{ mediaType: string; body: Uint8Array }> {
    const hash = hasherFor(digest);
    const what = `registry ${this.base.host}: GET manifest ${this.repository}@${digest.slice(0, 80)}`;
    const res = await this.get(`v2/${this.repository}/manifests/${digest}`, { accept: accept.join(', ') }, what, signal);
    const body = await readBody(res, MAX_MANIFEST_BYTES, what);
    if (`${digest.split(':')[0]}:${hash.update(body).digest('hex')}` !== digest) throw new RegistryError('DIGEST_INVALID', `${what}: the content does not match the digest`);
    const ct = String(res.headers['content-type'] ?? '').split(';')[0]!.trim();
    const declared = (parseJson(body, what) as { mediaType?: unknown })?.mediaType;
    return { mediaType: typeof declared === 'string' ? declared : ct, body };
  }

  async *blob(digest: string, signal?: AbortSignal): AsyncIterable<Uint8Array> {
    const hash = hasherFor(digest);
    const what = `registry ${this.base.host}: GET blob ${digest.slice(0, 80)}`;
    const res = await this.get(`v2/${this.repository}/blobs/${digest}`, {}, what, signal);
    try {
      for await (const c of res.message) {
        hash.update(c as Buffer);
        yield c as Buffer;
      }
    } catch (e) {
      throw new RegistryError('UNAVAILABLE', `${what}: the download was cut: ${(e as Error).message}`);
    } finally {
      res.message.destroy();
    }
    if (`${digest.split(':')[0]}:${hash.digest('hex')}` !== digest) throw new RegistryError('DIGEST_INVALID', `${what}: the content does not match the digest`);
  }

  /** GET with the session's credentials, one token exchange on a challenge, redirects followed. */
  private async get(path: string, headers: Record<string, string>, what: string, signal?: AbortSignal): Promise<HttpResponse> {
    let url = new URL(path, this.base);
    let res = await this.once(url, headers, true, what, signal);
    if (res.status === 401) {
      const challenge = bearerChallenge(res.headers['www-authenticate'] as string | undefined);
      discard(res);
      const usedToken = this.token !== undefined;
      if (!challenge || (usedToken && !this.authorization?.toLowerCase().startsWith('basic '))) {
        throw new RegistryError('UNAUTHORIZED', `${what}: the registry refused the scan request's authorization (401)`);
      }
      this.token = await this.exchange(challenge, what, signal);
      res = await this.once(url, headers, true, what, signal);
    }
    for (let hops = 0; res.status >= 300 && res.status < 400 && res.headers.location; hops++) {
      discard(res);
      if (hops >= MAX_REDIRECTS) throw new RegistryError('UNAVAILABLE', `${what}: too many redirects`);
      const next = new URL(res.headers.location, url);
      // credentials stay with the registry; a redirect elsewhere (object storage) is presigned
      const sameOrigin = next.origin === this.base.origin;
      url = next;
      res = await this.once(url, headers, sameOrigin, what, signal);
    }
    if (res.status === 200) return res;
    discard(res);
    if (res.status === 401 || res.status === 403) throw new RegistryError('UNAUTHORIZED', `${what}: the registry refused the scan request's authorization (${res.status})`);
    if (res.status === 404) throw new RegistryError('NOT_FOUND', `${what}: not found (404)`);
    throw new RegistryError('UNAVAILABLE', `${what}: unexpected status ${res.status}`);
  }

  private once(url: URL, headers: Record<string, string>, withAuth: boolean, what: string, signal?: AbortSignal): Promise<HttpResponse> {
    const auth = withAuth ? (this.token !== undefined ? `Bearer ${this.token}` : this.authorization) : undefined;
    return send(url, { headers: { ...headers, ...(auth ? { authorization: auth } : {}) }, idleTimeoutMs: this.opts.idleTimeoutMs, ...(signal ? { signal } : {}) }, what);
  }

  /** Docker token flow: GET realm?service&scope with the Basic credential (or none). */
  private async exchange(c: { realm: string; service?: string; scope?: string }, what: string, signal?: AbortSignal): Promise<string> {
    const realm = new URL(c.realm, this.base);
    if (realm.protocol !== 'http:' && realm.protocol !== 'https:') throw new RegistryError('UNAVAILABLE', `${what}: the token realm is not http(s)`);
    if (c.service) realm.searchParams.set('service', c.service);
    realm.searchParams.set('scope', c.scope ?? `repository:${this.repository}:pull`);
    const basic = this.authorization?.toLowerCase().startsWith('basic ') ? this.authorization : undefined;
    const res = await send(realm, { headers: basic ? { authorization: basic } : {}, idleTimeoutMs: this.opts.idleTimeoutMs, ...(signal ? { signal } : {}) }, `${what}: token`);
    if (res.status !== 200) {
      discard(res);
      throw new RegistryError('UNAUTHORIZED', `${what}: the token service refused the scan request's authorization (${res.status})`);
    }
    const doc = parseJson(await readBody(res, 64 * 1024, `${what}: token`), `${what}: token`) as { token?: unknown; access_token?: unknown };
    const token = typeof doc?.token === 'string' ? doc.token : typeof doc?.access_token === 'string' ? doc.access_token : undefined;
    if (!token) throw new RegistryError('UNAUTHORIZED', `${what}: the token service gave no token`);
    return token;
  }
}
