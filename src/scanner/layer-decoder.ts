import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import type { ScanWarning } from '../domain/sbom.js';
import type { ScanLimits } from './scan-limits.js';
import { ZstdFrameGuard, ZstdGuardError } from './zstd-frame-guard.js';

/** The layer cannot be read further; `warning` says why. Never escapes the layer scanner. */
export class LayerStop extends Error {
  constructor(readonly warning: ScanWarning) {
    super(warning.message);
  }
}

/** An error of the byte source itself (storage, network): not the layer's fault, so it propagates. */
class SourceError extends Error {
  constructor(readonly original: unknown) {
    super('layer source failed');
  }
}

export type Compression = 'gzip' | 'zstd' | 'none';

export interface DecodedLayer {
  compression: Compression;
  chunks: AsyncIterable<Buffer>;
  /** Compressed bytes consumed and decompressed bytes produced so far. */
  readonly stats: { bytesIn: number; bytesOut: number };
}

// image-spec media types allow gzip and zstd; the magic bytes decide, not the media type,
// since a client may label a layer wrongly (RFC 1952 §2.3.1, RFC 8878 §3.1.1)
const GZIP = [0x1f, 0x8b];
const ZSTD = [0x28, 0xb5, 0x2f, 0xfd];

// fzstd decodes synchronously all it is given: a small slice bounds what one push can emit
// (at most 128 KiB per 4-byte RLE block, so 32 MiB for 1 KiB)
const ZSTD_SLICE = 1024;

export async function decodeLayer(source: AsyncIterable<Uint8Array>, limits: ScanLimits): Promise<DecodedLayer> {
  const stats = { bytesIn: 0, bytesOut: 0 };
  const it = counted(source, stats)[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  let done = false;
  while (head.length < 4 && !done) {
    const r = await it.next().catch(unwrapSource);
    if (r.done) done = true;
    else head = Buffer.concat([head, r.value]);
  }
  const rest: AsyncIterable<Buffer> = {
    async *[Symbol.asyncIterator]() {
      if (head.length > 0) yield head;
      if (done) return;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    },
  };
  const compression: Compression = startsWith(head, GZIP) ? 'gzip' : startsWith(head, ZSTD) ? 'zstd' : 'none';
  const bounded = (out: number): void => {
    stats.bytesOut += out;
    if (stats.bytesOut > limits.maxLayerBytes) {
      throw new LayerStop({ code: 'decompression-limit', message: `layer exceeds ${limits.maxLayerBytes} bytes once decompressed` });
    }
    if (compression !== 'none' && stats.bytesOut > limits.ratioGraceBytes && stats.bytesOut > stats.bytesIn * limits.maxCompressionRatio) {
      throw new LayerStop({
        code: 'decompression-ratio',
        message: `layer decompresses more than ${limits.maxCompressionRatio}x (${stats.bytesIn} bytes gave ${stats.bytesOut})`,
      });
    }
  };
  const chunks = compression === 'gzip' ? gunzip(rest, bounded) : compression === 'zstd' ? unzstd(rest, bounded, limits) : plain(rest, bounded);
  return { compression, chunks: rethrowSource(chunks), stats };
}

function startsWith(b: Buffer, magic: number[]): boolean {
  return b.length >= magic.length && magic.every((m, i) => b[i] === m);
}

async function* counted(source: AsyncIterable<Uint8Array>, stats: { bytesIn: number }): AsyncGenerator<Buffer> {
  try {
    for await (const c of source) {
      stats.bytesIn += c.length;
      yield Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.length);
    }
  } catch (e) {
    throw new SourceError(e);
  }
}

function unwrapSource(e: unknown): never {
  throw e instanceof SourceError ? e.original : e;
}

async function* rethrowSource(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  try {
    yield* chunks;
  } catch (e) {
    unwrapSource(e);
  }
}

async function* plain(input: AsyncIterable<Buffer>, bounded: (n: number) => void): AsyncGenerator<Buffer> {
  for await (const c of input) {
    bounded(c.length);
    yield c;
  }
}

async function* gunzip(input: AsyncIterable<Buffer>, bounded: (n: number) => void): AsyncGenerator<Buffer> {
  const z = createGunzip();
  const src = Readable.from(input, { objectMode: false });
  src.on('error', (e) => z.destroy(e));
  src.pipe(z);
  try {
    for await (const c of z as AsyncIterable<Buffer>) {
      bounded(c.length);
      yield c;
    }
  } catch (e) {
    if (e instanceof LayerStop || e instanceof SourceError) throw e;
    const code = (e as { code?: string }).code;
    // zlib reports input that ends before the gzip trailer as Z_BUF_ERROR "unexpected end of file"
    throw new LayerStop(
      code === 'Z_BUF_ERROR'
        ? { code: 'truncated', message: 'gzip stream ends early' }
        : { code: 'corrupt-stream', message: `gzip: ${(e as Error).message}` },
    );
  } finally {
    src.unpipe(z);
    src.destroy();
    z.destroy();
  }
}

async function* unzstd(input: AsyncIterable<Buffer>, bounded: (n: number) => void, limits: ScanLimits): AsyncGenerator<Buffer> {
  const guard = new ZstdFrameGuard(limits.maxZstdWindowBytes);
  let out: Buffer[] = [];
  const d = new Decompress((data) => {
    if (data.length === 0) return;
    bounded(data.length);
    out.push(Buffer.from(data.buffer, data.byteOffset, data.length));
  });
  const push = (c: Uint8Array, final: boolean): void => {
    try {
      d.push(c, final);
    } catch (e) {
      if (e instanceof LayerStop) throw e;
      // fzstd ZstdErrorCode 5 is UnexpectedEOF
      const code = (e as { code?: number }).code;
      throw new LayerStop(code === 5 ? { code: 'truncated', message: 'zstd stream ends early' } : { code: 'corrupt-stream', message: `zstd: ${(e as Error).message}` });
    }
  };
  for await (const c of input) {
    try {
      guard.check(c);
    } catch (e) {
      if (!(e instanceof ZstdGuardError)) throw e;
      throw new LayerStop({ code: e.kind === 'window' ? 'decompression-limit' : 'corrupt-stream', message: e.message });
    }
    for (let i = 0; i < c.length; i += ZSTD_SLICE) {
      push(c.subarray(i, i + ZSTD_SLICE), false);
      if (out.length > 0) {
        const ready = out;
        out = [];
        yield* ready;
      }
    }
  }
  push(new Uint8Array(0), true);
  yield* out;
}
