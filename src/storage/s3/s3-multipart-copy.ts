import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  type CompletedPart,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  type S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import type { Piece, PlannedPart } from './s3-concat-plan.js';

export interface AssembleTarget {
  client: S3Client;
  bucket: string;
  key: string;
  signal?: AbortSignal;
}

/** parts worked on at once; each merged part holds its bytes in memory while it uploads */
const CONCURRENCY = 3;

/**
 * Carries out a concat plan as one multipart upload: server-side range copies where it can,
 * merged uploads where it must. Nothing appears at the key unless every part succeeded.
 */
export async function assemble(t: AssembleTarget, plan: readonly PlannedPart[]): Promise<void> {
  const { client, bucket, key } = t;
  const opts = t.signal ? { abortSignal: t.signal } : {};
  const created = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }), opts);
  const UploadId = created.UploadId;
  if (!UploadId) throw new Error('CreateMultipartUpload returned no UploadId');
  try {
    const parts: CompletedPart[] = new Array(plan.length);
    let next = 0;
    const worker = async () => {
      while (next < plan.length) {
        const i = next++;
        const part = plan[i]!;
        const PartNumber = i + 1;
        if (part.kind === 'copy') {
          const r = await client.send(
            new UploadPartCopyCommand({
              Bucket: bucket,
              Key: key,
              UploadId,
              PartNumber,
              CopySource: copySource(bucket, part.piece.key),
              CopySourceRange: `bytes=${part.piece.start}-${part.piece.end - 1}`,
            }),
            opts,
          );
          parts[i] = { PartNumber, ETag: r.CopyPartResult?.ETag };
        } else {
          const body = await readPieces(t, part.pieces, part.size);
          const r = await client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber, Body: body, ContentLength: body.length }), opts);
          parts[i] = { PartNumber, ETag: r.ETag };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, plan.length) }, worker));
    await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }), opts);
  } catch (e) {
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId })).catch(() => undefined);
    throw e;
  }
}

/** x-amz-copy-source: bucket/key, URL-encoded (AWS S3 API, CopyObject). */
export function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

async function readPieces(t: AssembleTarget, pieces: readonly Piece[], size: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(size);
  let at = 0;
  for (const p of pieces) {
    const r = await t.client.send(
      new GetObjectCommand({ Bucket: t.bucket, Key: p.key, Range: `bytes=${p.start}-${p.end - 1}` }),
      t.signal ? { abortSignal: t.signal } : {},
    );
    const want = p.end - p.start;
    let got = 0;
    for await (const chunk of r.Body as Readable) {
      const c = chunk as Buffer;
      if (got + c.length > want) throw new Error(`${p.key}: more bytes than the range asked for`);
      c.copy(buf, at + got);
      got += c.length;
    }
    if (got !== want) throw new Error(`${p.key}: got ${got} of ${want} bytes`);
    at += want;
  }
  return buf;
}
