import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { MirrorClient, MirrorFetch } from '../../ports/vulndb-repo.js';

/**
 * Conditional GET of a mirror file (RFC 9110 §13: If-None-Match, If-Modified-Since) streamed to
 * a temporary file, never held in memory.
 */
export class HttpMirrorClient implements MirrorClient {
  constructor(private readonly opts: { maxBytes: number; timeoutMs: number; tmpDir?: string }) {}

  async fetch(url: string, cond: { etag?: string; lastModified?: string; signal?: AbortSignal }): Promise<MirrorFetch> {
    const shown = (() => {
      try {
        const u = new URL(url);
        u.username = '';
        u.password = '';
        return u.toString();
      } catch {
        throw new Error('mirror URL is not a valid URL');
      }
    })();
    const u = new URL(url);
    const headers: Record<string, string> = { 'user-agent': 'berth-vulndb' };
    // credentials in the URL go as Basic authentication: fetch() refuses them in the URL
    if (u.username || u.password) {
      headers['authorization'] = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
      u.username = '';
      u.password = '';
    }
    if (cond.etag) headers['if-none-match'] = cond.etag;
    if (cond.lastModified) headers['if-modified-since'] = cond.lastModified;
    const signals = [AbortSignal.timeout(this.opts.timeoutMs), ...(cond.signal ? [cond.signal] : [])];
    let res: Response;
    try {
      res = await fetch(u, { headers, redirect: 'follow', signal: AbortSignal.any(signals) });
    } catch (e) {
      throw new Error(`GET ${shown}: ${e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e)}`, { cause: e });
    }
    if (res.status === 304) {
      await res.body?.cancel();
      return { status: 'not-modified' };
    }
    if (res.status < 200 || res.status > 299 || !res.body) {
      await res.body?.cancel();
      throw new Error(`GET ${shown}: HTTP ${res.status}`);
    }
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (Number.isFinite(declared) && declared > this.opts.maxBytes) {
      await res.body.cancel();
      throw new Error(`GET ${shown}: ${declared} bytes is more than the ${this.opts.maxBytes} allowed`);
    }
    const dir = await mkdtemp(join(this.opts.tmpDir ?? tmpdir(), 'berth-vulndb-'));
    const path = join(dir, 'feed');
    const max = this.opts.maxBytes;
    let seen = 0;
    const limit = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        seen += chunk.length;
        if (seen > max) cb(new Error(`more than the ${max} bytes allowed`));
        else cb(null, chunk);
      },
    });
    try {
      await pipeline(Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>), limit, createWriteStream(path));
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      throw new Error(`GET ${shown}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    const etag = res.headers.get('etag');
    const lastModified = res.headers.get('last-modified');
    return {
      status: 'fetched',
      path,
      ...(etag ? { etag } : {}),
      ...(lastModified ? { lastModified } : {}),
      dispose: () => rm(dir, { recursive: true, force: true }),
    };
  }
}
