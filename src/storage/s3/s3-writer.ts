import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  type CompletedPart,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Writable } from 'node:stream';
import type { FileWriter } from '../../ports/storage-driver.js';
import { isNoSuchUpload } from './s3-errors.js';
import { S3_LIMITS } from './s3-concat-plan.js';

export interface WriterTarget {
  client: S3Client;
  bucket: string;
  key: string;
  partSizeBytes: number;
  signal?: AbortSignal;
}

/** parts uploading while the next one fills: memory stays near (1 + this) × part size */
const IN_FLIGHT = 2;

/**
 * A writer whose bytes go into a multipart upload, one part per `partSizeBytes`; an object smaller
 * than one part is sent by a single PutObject at commit. Either way S3 shows nothing at the key
 * until commit (an incomplete multipart upload is invisible to GET and LIST).
 */
export function s3Writer(t: WriterTarget): FileWriter {
  const { client, bucket, key } = t;
  const opts = t.signal ? { abortSignal: t.signal } : {};
  let pending: Buffer[] = [];
  let pendingSize = 0;
  let size = 0;
  let partCount = 0;
  const parts: CompletedPart[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  let uploadId: Promise<string> | undefined;
  let done = false;

  const ensureUpload = () =>
    (uploadId ??= client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }), opts).then((r) => {
      if (!r.UploadId) throw new Error('CreateMultipartUpload returned no UploadId');
      return r.UploadId;
    }));

  // S3 allows 10,000 parts: past each 1,000 the part size doubles, so an object of unknown
  // length can still grow to hundreds of GiB
  const partSize = (n: number) => Math.min(t.partSizeBytes * 2 ** Math.floor(n / 1000), S3_LIMITS.maxPart);

  const send = (body: Buffer) => {
    const n = ++partCount;
    const p = (async () => {
      const UploadId = await ensureUpload();
      const r = await client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: n, Body: body, ContentLength: body.length }), opts);
      parts[n - 1] = { PartNumber: n, ETag: r.ETag };
    })();
    const tracked = p.catch((e: unknown) => {
      failure ??= e;
    });
    inFlight.add(tracked);
    void tracked.finally(() => inFlight.delete(tracked));
  };

  const takePart = (n: number): Buffer => {
    const all = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingSize);
    const part = all.subarray(0, n);
    // copy the remainder so the part's memory is not held by it after the upload
    const rest = all.length > n ? Buffer.from(all.subarray(n)) : undefined;
    pending = rest ? [rest] : [];
    pendingSize = rest?.length ?? 0;
    return part;
  };

  const settle = async () => {
    while (inFlight.size > 0) await Promise.all([...inFlight]);
    if (failure !== undefined) throw failure;
  };

  const stream = new Writable({
    highWaterMark: 1024 * 1024,
    write(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      pending.push(chunk);
      pendingSize += chunk.length;
      while (pendingSize >= partSize(partCount)) send(takePart(partSize(partCount)));
      if (failure !== undefined) return cb(failure as Error);
      if (inFlight.size < IN_FLIGHT) return cb();
      Promise.race(inFlight).then(
        () => cb(failure as Error | undefined),
        (e: unknown) => cb(e as Error),
      );
    },
    final(cb) {
      if (partCount > 0 && pendingSize > 0) send(takePart(pendingSize));
      settle().then(() => cb(), (e: unknown) => cb(e as Error));
    },
  });
  const onAbort = () => stream.destroy(t.signal?.reason as Error);
  t.signal?.addEventListener('abort', onAbort, { once: true });
  stream.once('close', () => t.signal?.removeEventListener('abort', onAbort));

  const abortUpload = async () => {
    if (!uploadId) return;
    const id = await uploadId.catch(() => undefined);
    if (!id) return;
    try {
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: id }));
    } catch (e) {
      if (!isNoSuchUpload(e)) throw e;
    }
  };

  return {
    stream,
    get size() {
      return size;
    },
    async commit() {
      if (!stream.writableFinished) throw new Error('commit before the stream finished');
      if (done) return;
      if (partCount === 0) {
        const body = takePart(pendingSize);
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: body.length }), opts);
      } else {
        try {
          await client.send(
            new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: await ensureUpload(), MultipartUpload: { Parts: parts } }),
            opts,
          );
        } catch (e) {
          await abortUpload().catch(() => undefined);
          done = true;
          throw e;
        }
      }
      done = true;
    },
    async cancel() {
      stream.destroy();
      pending = [];
      pendingSize = 0;
      if (done) return;
      done = true;
      await Promise.allSettled([...inFlight]);
      await abortUpload();
    },
  };
}
