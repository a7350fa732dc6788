// The one dist-spec client that drives both registries: node:http with keep-alive, bodies
// streamed with backpressure, every status checked (a failed request fails the bench).
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';

const MiB = 1024 * 1024;
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

export class Registry {
  /**
   * @param {string} base e.g. http://127.0.0.1:5000
   * @param {{ label: string, authorization?: string, pid?: number }} opts pid: the server's, for CPU accounting
   */
  constructor(base, { label, authorization, pid }) {
    this.base = base;
    this.label = label;
    this.pid = pid;
    this.authorization = authorization;
    const u = new URL(base);
    this.host = u.hostname;
    this.port = Number(u.port);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  }

  /** Same server and agent, other credentials. */
  as(label, authorization) {
    const r = Object.create(this);
    r.label = label;
    r.authorization = authorization;
    return r;
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {{ headers?: Record<string,string>, body?: Buffer, chunks?: Iterable<Buffer>, length?: number, expect?: number[], sink?: (b: Buffer) => void }} [o]
   */
  request(method, path, o = {}) {
    const headers = { ...(o.headers ?? {}) };
    if (this.authorization) headers.authorization = this.authorization;
    if (o.body) headers['content-length'] = String(o.body.length);
    else if (o.chunks) headers['content-length'] = String(o.length);
    else if (method === 'PUT' || method === 'POST' || method === 'PATCH') headers['content-length'] = '0';
    return new Promise((resolve, reject) => {
      const req = http.request({ host: this.host, port: this.port, method, path, headers, agent: this.agent }, (res) => {
        const parts = [];
        let bytes = 0;
        res.on('data', (c) => {
          bytes += c.length;
          if (o.sink) o.sink(c);
          else parts.push(c);
        });
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(parts);
          const ok = o.expect ? o.expect.includes(res.statusCode) : res.statusCode < 300;
          if (!ok) {
            reject(new Error(`${this.label}: ${method} ${path.slice(0, 120)} -> ${res.statusCode} ${body.toString('utf8').slice(0, 300)}`));
          } else {
            resolve({ status: res.statusCode, headers: res.headers, body, bytes });
          }
        });
      });
      req.on('error', reject);
      if (o.body) req.end(o.body);
      else if (o.chunks) writeAll(req, o.chunks).catch((e) => req.destroy(e));
      else req.end();
    });
  }

  /** The path of a Location header, which may be absolute (Distribution) or relative (Berth). */
  locationOf(res) {
    const loc = res.headers.location;
    if (!loc) throw new Error(`${this.label}: no Location header`);
    const u = new URL(loc, this.base);
    return u.pathname + u.search;
  }

  /** POST, one PATCH streaming the whole body, PUT ?digest= (what docker and skopeo do). */
  async pushChunked(repo, blob) {
    const post = await this.request('POST', `/v2/${repo}/blobs/uploads/`, { expect: [202] });
    const patch = await this.request('PATCH', this.locationOf(post), {
      headers: { 'content-type': 'application/octet-stream' },
      ...(blob.body ? { body: blob.body } : { chunks: blob.chunks(), length: blob.size }),
      expect: [202],
    });
    await this.request('PUT', withQuery(this.locationOf(patch), 'digest', blob.digest), { expect: [201] });
  }

  /** dist-spec monolithic POST ?digest= with the body: one request. */
  async pushPostDigest(repo, blob) {
    await this.request('POST', `/v2/${repo}/blobs/uploads/?digest=${blob.digest}`, {
      headers: { 'content-type': 'application/octet-stream' },
      body: blob.body,
      expect: [201],
    });
  }

  /** The older monolithic form: POST, then PUT ?digest= carrying the body. */
  async pushPostPut(repo, blob) {
    const post = await this.request('POST', `/v2/${repo}/blobs/uploads/`, { expect: [202] });
    await this.request('PUT', withQuery(this.locationOf(post), 'digest', blob.digest), {
      headers: { 'content-type': 'application/octet-stream' },
      body: blob.body,
      expect: [201],
    });
  }

  async putManifest(repo, reference, body, mediaType = OCI_MANIFEST) {
    await this.request('PUT', `/v2/${repo}/manifests/${reference}`, { headers: { 'content-type': mediaType }, body, expect: [201] });
  }

  /** GET streamed to nowhere; returns the byte count, and the digest when `verify`. */
  async download(path, { verify = false } = {}) {
    const h = verify ? createHash('sha256') : undefined;
    const r = await this.request('GET', path, { sink: (c) => h?.update(c) });
    return { bytes: r.bytes, digest: h ? `sha256:${h.digest('hex')}` : undefined };
  }

  close() {
    this.agent.destroy();
  }
}

function withQuery(path, key, value) {
  return `${path}${path.includes('?') ? '&' : '?'}${key}=${encodeURIComponent(value)}`;
}

async function writeAll(req, chunks) {
  for (const c of chunks) {
    if (!req.write(c)) await new Promise((r) => req.once('drain', r));
  }
  req.end();
}

/**
 * Large blobs generated on the fly: (n-1) copies of one random MiB, then a last MiB that starts
 * with a fresh nonce, so every blob is distinct (neither registry may skip the write because the
 * digest exists) while the sha256 of the shared prefix is computed once per size.
 */
export class BlobMaker {
  constructor() {
    this.block = randomBytes(MiB);
    /** @type {Map<number, import('node:crypto').Hash>} */
    this.prefixes = new Map();
  }

  /** @param {number} mib size in MiB */
  make(mib) {
    if (!this.prefixes.has(mib)) {
      const h = createHash('sha256');
      for (let i = 0; i < mib - 1; i++) h.update(this.block);
      this.prefixes.set(mib, h);
    }
    const last = Buffer.from(this.block);
    randomBytes(32).copy(last, 0);
    const digest = `sha256:${this.prefixes.get(mib).copy().update(last).digest('hex')}`;
    const block = this.block;
    return {
      size: mib * MiB,
      digest,
      *chunks() {
        for (let i = 0; i < mib - 1; i++) yield block;
        yield last;
      },
    };
  }
}

export function smallBlob(bytes = 1024) {
  const body = randomBytes(bytes);
  return { body, size: bytes, digest: `sha256:${createHash('sha256').update(body).digest('hex')}` };
}

export function sha256(buf) {
  return `sha256:${createHash('sha256').update(buf).digest('hex')}`;
}

/** An OCI image manifest over existing blobs; `n` makes each one distinct. */
export function imageManifest(config, layer, n) {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: config.size },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layer.digest, size: layer.size }],
      annotations: { 'org.example.bench': String(n) },
    }),
  );
}

export const basic = (user, password) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
