import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { addAbortSignal, Readable } from 'node:stream';
import type { Config } from '../../config/schema.js';
import {
  type FileInfo,
  type FileWriter,
  PathNotFoundError,
  type ReadOptions,
  type StorageDriver,
  type WriterOptions,
} from '../../ports/storage-driver.js';
import { type PartLimits, planConcat, S3_LIMITS, type SourceObject } from './s3-concat-plan.js';
import { isInvalidRange, isNoSuchUpload, isNotFound } from './s3-errors.js';
import { assemble, copySource } from './s3-multipart-copy.js';
import { s3Writer } from './s3-writer.js';

export type S3Config = Config['storage']['s3'];

export interface S3DriverOptions {
  /** S3's part limits; tests lower `maxPart` to reach the > 5 GiB code paths with small objects */
  limits?: Partial<Omit<PartLimits, 'partSize'>>;
}

/** DeleteObjects takes at most 1,000 keys (AWS S3 API, DeleteObjects) */
const DELETE_BATCH = 1000;

/**
 * Objects in one bucket under a key prefix (`prefix + path`). S3 has no directories: a
 * "directory" is the set of keys that start with `path/`.
 */
export class S3Driver implements StorageDriver {
  readonly name = 's3';
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly partSize: number;
  private readonly limits: Omit<PartLimits, 'partSize'>;

  constructor(c: S3Config, opts: S3DriverOptions = {}) {
    if (!c.bucket) throw new Error('storage.s3.bucket (BERTH_STORAGE_S3_BUCKET) is required for the s3 driver');
    this.bucket = c.bucket;
    const p = c.prefix.replace(/^\/+|\/+$/g, '');
    this.prefix = p ? `${p}/` : '';
    this.partSize = c.partSizeBytes;
    this.limits = { ...S3_LIMITS, ...opts.limits };
    this.client = new S3Client({
      region: c.region,
      forcePathStyle: c.forcePathStyle,
      ...(c.endpoint ? { endpoint: c.endpoint } : {}),
      ...(c.accessKeyId && c.secretAccessKey ? { credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey } } : {}),
      // Ceph radosgw 16 rejects the aws-chunked bodies with trailing checksums that the SDK
      // sends by default since 3.729; MD5/CRC only where an operation requires one
      requestChecksumCalculation: 'WHEN_REQUIRED',
      // no socket timeout: a GET body waits as long as the registry's client reads slowly
      requestHandler: { connectionTimeout: 10_000 },
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  private key(path: string): string {
    return this.prefix + path.replace(/^\/+/, '');
  }

  /** the key prefix of the "directory" `path` */
  private dir(path: string): string {
    const p = path.replace(/^\/+|\/+$/g, '');
    return p ? `${this.prefix}${p}/` : this.prefix;
  }

  private path(key: string): string {
    return key.slice(this.prefix.length);
  }

  async stat(path: string, signal?: AbortSignal): Promise<FileInfo | undefined> {
    if (path.replace(/^\/+|\/+$/g, '') !== '') {
      try {
        const h = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(path) }), opt(signal));
        return { path, size: h.ContentLength ?? 0, modifiedAt: h.LastModified ?? new Date(0), isDirectory: false };
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    const r = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.dir(path), MaxKeys: 1000 }), opt(signal));
    if (!r.Contents?.length) return undefined;
    // the newest key below stands for a directory's mtime (upload folders are swept by age)
    const newest = Math.max(...r.Contents.map((o) => o.LastModified?.getTime() ?? 0));
    return { path, size: 0, modifiedAt: new Date(newest), isDirectory: true };
  }

  async reader(path: string, opts: ReadOptions = {}): Promise<Readable> {
    const offset = opts.offset ?? 0;
    if (opts.length === 0) {
      // S3 cannot express an empty range; the object must still exist
      await this.sizeOf(path, opts.signal);
      return Readable.from([]);
    }
    const range = offset > 0 || opts.length !== undefined ? `bytes=${offset}-${opts.length !== undefined ? offset + opts.length - 1 : ''}` : undefined;
    let body: Readable;
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(path), ...(range ? { Range: range } : {}) }), opt(opts.signal));
      body = r.Body as Readable;
    } catch (e) {
      if (isNotFound(e)) throw new PathNotFoundError(path);
      // RFC 9110 §14.1.2: a range starting at or past the end is unsatisfiable; as a file, empty
      if (isInvalidRange(e)) return Readable.from([]);
      throw e;
    }
    // a read cancelled mid-body fails with an AbortError, as a file stream's does (the SDK's
    // own handler only resets the socket)
    return opts.signal ? addAbortSignal(opts.signal, body) : body;
  }

  async writer(path: string, opts: WriterOptions = {}): Promise<FileWriter> {
    return s3Writer({
      client: this.client,
      bucket: this.bucket,
      key: this.key(path),
      partSizeBytes: this.partSize,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  }

  async getContent(path: string, signal?: AbortSignal): Promise<Buffer> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(path) }), opt(signal));
      const bytes = await r.Body!.transformToByteArray();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (e) {
      if (isNotFound(e)) throw new PathNotFoundError(path);
      throw e;
    }
  }

  async putContent(path: string, content: Uint8Array, signal?: AbortSignal): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: this.key(path), Body: content, ContentLength: content.byteLength }),
      opt(signal),
    );
  }

  async list(path: string, signal?: AbortSignal): Promise<string[]> {
    const prefix = this.dir(path);
    const out: string[] = [];
    let token: string | undefined;
    do {
      const r = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, Delimiter: '/', ...(token ? { ContinuationToken: token } : {}) }),
        opt(signal),
      );
      for (const cp of r.CommonPrefixes ?? []) if (cp.Prefix) out.push(this.path(cp.Prefix.slice(0, -1)));
      for (const o of r.Contents ?? []) if (o.Key && o.Key !== prefix) out.push(this.path(o.Key));
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async move(from: string, to: string, signal?: AbortSignal): Promise<void> {
    const size = await this.sizeOf(from, signal);
    await this.copy({ key: this.key(from), size }, this.key(to), signal);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(from) }), opt(signal));
  }

  async concat(sources: readonly string[], to: string, signal?: AbortSignal): Promise<void> {
    if (sources.length === 1) return this.move(sources[0]!, to, signal);
    const objects = await Promise.all(sources.map(async (s) => ({ key: this.key(s), size: await this.sizeOf(s, signal) })));
    const total = objects.reduce((a, o) => a + o.size, 0);
    const nonEmpty = objects.filter((o) => o.size > 0);
    if (total === 0) await this.putContent(to, new Uint8Array(0), signal);
    else if (nonEmpty.length === 1) await this.copy(nonEmpty[0]!, this.key(to), signal);
    else await this.assemble(objects, this.key(to), signal);
    await this.deleteKeys(objects.map((o) => o.key), signal);
  }

  async delete(path: string, signal?: AbortSignal): Promise<void> {
    if (path.replace(/^\/+|\/+$/g, '') !== '') {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(path) }), opt(signal));
    }
    let token: string | undefined;
    do {
      const r = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.dir(path), MaxKeys: DELETE_BATCH, ...(token ? { ContinuationToken: token } : {}) }),
        opt(signal),
      );
      await this.deleteKeys((r.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : [])), signal);
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
  }

  async redirectUrl(path: string, opts: { expiresInSeconds: number; signal?: AbortSignal }): Promise<string> {
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: this.key(path) }), { expiresIn: opts.expiresInSeconds });
  }

  /** Aborts multipart uploads under the prefix started before the cutoff (writers that died). */
  async sweepTemporary(olderThanMs: number): Promise<number> {
    const cutoff = Date.now() - olderThanMs;
    let removed = 0;
    let keyMarker: string | undefined;
    let idMarker: string | undefined;
    do {
      const r = await this.client.send(
        new ListMultipartUploadsCommand({
          Bucket: this.bucket,
          Prefix: this.prefix,
          ...(keyMarker ? { KeyMarker: keyMarker } : {}),
          ...(idMarker ? { UploadIdMarker: idMarker } : {}),
        }),
      );
      for (const u of r.Uploads ?? []) {
        if (!u.Key || !u.UploadId || (u.Initiated?.getTime() ?? 0) >= cutoff) continue;
        try {
          await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.Key, UploadId: u.UploadId }));
          removed++;
        } catch (e) {
          if (!isNoSuchUpload(e)) throw e;
        }
      }
      const more = r.IsTruncated === true;
      keyMarker = more ? r.NextKeyMarker : undefined;
      idMarker = more ? r.NextUploadIdMarker : undefined;
    } while (keyMarker);
    return removed;
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private async sizeOf(path: string, signal?: AbortSignal): Promise<number> {
    try {
      const h = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(path) }), opt(signal));
      return h.ContentLength ?? 0;
    } catch (e) {
      if (isNotFound(e)) throw new PathNotFoundError(path);
      throw e;
    }
  }

  /** Server-side copy; CopyObject stops at 5 GiB, beyond that ranges of UploadPartCopy. */
  private async copy(src: SourceObject, to: string, signal?: AbortSignal): Promise<void> {
    if (src.size <= this.limits.maxPart) {
      await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: to, CopySource: copySource(this.bucket, src.key) }), opt(signal));
      return;
    }
    await this.assemble([src], to, signal);
  }

  private async assemble(objects: readonly SourceObject[], to: string, signal?: AbortSignal): Promise<void> {
    const plan = planConcat(objects, { ...this.limits, partSize: this.partSize });
    await assemble({ client: this.client, bucket: this.bucket, key: to, ...(signal ? { signal } : {}) }, plan);
  }

  private async deleteKeys(keys: readonly string[], signal?: AbortSignal): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      const r = await this.client.send(
        new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
        opt(signal),
      );
      const failed = (r.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length) throw new Error(`DeleteObjects failed for ${failed.length} keys, e.g. ${failed[0]?.Key}: ${failed[0]?.Code} ${failed[0]?.Message}`);
    }
  }
}

function opt(signal: AbortSignal | undefined): { abortSignal?: AbortSignal } {
  return signal ? { abortSignal: signal } : {};
}

export async function makeS3Driver(config: S3Config, opts: S3DriverOptions = {}): Promise<S3Driver> {
  return new S3Driver(config, opts);
}
