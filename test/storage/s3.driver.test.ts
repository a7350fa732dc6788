import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HeadObjectCommand, ListMultipartUploadsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PathNotFoundError } from '../../src/ports/storage-driver.js';
import { makeS3Driver, type S3Driver } from '../../src/storage/s3/s3.driver.js';
import { type RgwBucket, useRgwBucket } from '../helpers/rgw.js';
import { describeStorageDriver } from '../suites/storage-driver.suite.js';

const MiB = 1024 * 1024;

// one radosgw for the whole file (each describe below takes its own bucket on it)
let keepAlive: RgwBucket;
beforeAll(async () => {
  keepAlive = await useRgwBucket();
});
afterAll(() => keepAlive?.release());

// 6 MiB parts: the suite's 13 MiB writes span three parts, none aligned with 5 MiB
describeStorageDriver('s3 (Ceph radosgw)', async () => {
  const rgw = await useRgwBucket();
  const driver = await makeS3Driver(rgw.s3Config({ partSizeBytes: 6 * MiB, prefix: 'berth/' }));
  return {
    driver,
    async cleanup() {
      await driver.close();
      await rgw.release();
    },
  };
});

/** What only S3 has: multipart uploads, ETags, key prefixes, CopyObject's 5 GiB limit. */
describe('s3 driver on radosgw, beyond the port contract', () => {
  let rgw: RgwBucket;
  let d: S3Driver;
  beforeAll(async () => {
    rgw = await useRgwBucket();
    d = await makeS3Driver(rgw.s3Config({ partSizeBytes: 6 * MiB, prefix: '/tenant/' }));
  });
  afterAll(async () => {
    await d?.close();
    await rgw?.release();
  });

  const etag = async (key: string) => (await rgw.client.send(new HeadObjectCommand({ Bucket: rgw.bucket, Key: key }))).ETag;
  const uploadsOf = async (key: string) =>
    ((await rgw.client.send(new ListMultipartUploadsCommand({ Bucket: rgw.bucket, Prefix: key }))).Uploads ?? []).length;

  it('keeps every key under its prefix and lists nothing outside it', async () => {
    await d.putContent('a/b', Buffer.from('x'));
    await rgw.client.send(new PutObjectCommand({ Bucket: rgw.bucket, Key: 'outside', Body: 'o' }));
    expect(await etag('tenant/a/b')).toBeDefined();
    expect(await d.list('')).toEqual(['a']);
    expect(await d.stat('outside')).toBeUndefined();
  });

  it('sends a large write as a multipart upload of partSizeBytes parts and a small one in one PUT', async () => {
    for (const [size, parts] of [
      [13 * MiB, '-3'],
      [12 * MiB, '-2'],
    ] as const) {
      const w = await d.writer(`mp/${size}`);
      await pipeline(Readable.from([randomBytes(size)]), w.stream);
      expect(await uploadsOf(`tenant/mp/${size}`)).toBe(1);
      await w.commit();
      expect(await etag(`tenant/mp/${size}`)).toMatch(new RegExp(`${parts}"$`));
      expect(await uploadsOf(`tenant/mp/${size}`)).toBe(0);
    }
    const w = await d.writer('mp/small');
    await pipeline(Readable.from([randomBytes(6 * MiB - 1)]), w.stream);
    await w.commit();
    expect(await etag('tenant/mp/small')).toMatch(/^"[0-9a-f]{32}"$/);
  });

  it('aborts the multipart upload on cancel', async () => {
    const w = await d.writer('mp/cancelled');
    await pipeline(Readable.from([randomBytes(7 * MiB)]), w.stream);
    expect(await uploadsOf('tenant/mp/cancelled')).toBe(1);
    await w.cancel();
    expect(await uploadsOf('tenant/mp/cancelled')).toBe(0);
  });

  it('copies beyond the CopyObject limit with ranged UploadPartCopy (limit lowered to 12 MiB)', async () => {
    const small = await makeS3Driver(rgw.s3Config({ partSizeBytes: 6 * MiB, prefix: 'tenant' }), { limits: { maxPart: 12 * MiB } });
    try {
      const data = randomBytes(30 * MiB + 5);
      await d.putContent('big/src', data);
      await small.move('big/src', 'big/moved');
      expect(await etag('tenant/big/moved')).toMatch(/-3"$/);
      expect((await d.getContent('big/moved')).equals(data)).toBe(true);
      expect(await d.stat('big/src')).toBeUndefined();

      const tail = randomBytes(MiB);
      await d.putContent('big/tail', tail);
      await small.concat(['big/moved', 'big/tail'], 'big/joined');
      expect((await d.getContent('big/joined')).equals(Buffer.concat([data, tail]))).toBe(true);
    } finally {
      await small.close();
    }
  });

  it('does not mistake a missing bucket for a missing file', async () => {
    const lost = await makeS3Driver(rgw.s3Config({ bucket: `${rgw.bucket}-missing` }));
    try {
      await expect(lost.stat('a')).rejects.toThrow();
      await expect(lost.reader('a')).rejects.not.toBeInstanceOf(PathNotFoundError);
      await expect(lost.getContent('a')).rejects.not.toBeInstanceOf(PathNotFoundError);
    } finally {
      await lost.close();
    }
  });
});
