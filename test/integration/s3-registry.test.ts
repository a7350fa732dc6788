import { createHash, randomBytes } from 'node:crypto';
import { ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient, sha256 } from '../helpers/registry-client.js';
import { type RgwBucket, useRgwBucket } from '../helpers/rgw.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const MiB = 1024 * 1024;
const REPO = 'library/s3-app';

let rgw: RgwBucket;
beforeAll(async () => {
  rgw = await useRgwBucket();
});
afterAll(() => rgw?.release());

function s3Env(prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    BERTH_STORAGE_DRIVER: 's3',
    BERTH_STORAGE_S3_ENDPOINT: rgw.endpoint,
    BERTH_STORAGE_S3_BUCKET: rgw.bucket,
    BERTH_STORAGE_S3_PREFIX: prefix,
    BERTH_STORAGE_S3_ACCESS_KEY_ID: rgw.accessKeyId,
    BERTH_STORAGE_S3_SECRET_ACCESS_KEY: rgw.secretAccessKey,
    ...extra,
  };
}

async function keysUnder(prefix: string): Promise<string[]> {
  const r = await rgw.client.send(new ListObjectsV2Command({ Bucket: rgw.bucket, Prefix: prefix }));
  return (r.Contents ?? []).map((o) => o.Key!);
}

/** dist-spec chunked upload: POST, one PATCH per chunk with Content-Range, PUT ?digest= with the last. */
async function pushChunked(c: RegistryClient, repo: string, chunks: Buffer[], last: Buffer): Promise<string> {
  const digest = sha256(Buffer.concat([...chunks, last]));
  const post = await c.fetch(`/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  expect(post.status).toBe(202);
  let location = post.headers.get('location')!;
  let offset = 0;
  for (const chunk of chunks) {
    const res = await c.fetch(location, {
      method: 'PATCH',
      body: chunk,
      headers: {
        'content-type': 'application/octet-stream',
        'content-range': `${offset}-${offset + chunk.length - 1}`,
        'content-length': String(chunk.length),
      },
    });
    expect(res.status).toBe(202);
    offset += chunk.length;
    expect(res.headers.get('range')).toBe(`0-${offset - 1}`);
    location = res.headers.get('location')!;
  }
  const url = new URL(location, c.base);
  url.searchParams.set('digest', digest);
  const put = await c.fetch(url.pathname + url.search, {
    method: 'PUT',
    body: last,
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(last.length) },
  });
  expect(put.status, await put.clone().text()).toBe(201);
  expect(put.headers.get('docker-content-digest')).toBe(digest);
  return digest;
}

async function getBlob(c: RegistryClient, repo: string, digest: string, headers: Record<string, string> = {}): Promise<Response> {
  return c.fetch(`/v2/${repo}/blobs/${digest}`, { headers });
}

const sha = (b: ArrayBuffer | Buffer) => `sha256:${createHash('sha256').update(Buffer.from(b as ArrayBuffer)).digest('hex')}`;

describe('Berth on S3 storage (radosgw)', () => {
  let s: TestServer;
  let c: RegistryClient;
  beforeAll(async () => {
    s = await startTestServer(s3Env('registry'));
    c = new RegistryClient(s.url, s.adminBasic);
  });
  afterAll(() => s?.stop());

  // chunks below and above S3's 5 MiB minimum part size, and a short last one in the PUT
  const chunks = [randomBytes(1 * MiB), randomBytes(3 * MiB + 17), randomBytes(7 * MiB), randomBytes(2 * MiB)];
  const last = randomBytes(4096);
  const chunked = Buffer.concat([...chunks, last]);
  const bigMonolithic = randomBytes(20 * MiB + 3);

  it('takes an image pushed monolithically and in chunks, and gives it back', async () => {
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
    const configDigest = await c.pushBlob(REPO, config);
    const bigDigest = await c.pushBlob(REPO, bigMonolithic);
    const chunkedDigest = await pushChunked(c, REPO, chunks, last);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: bigDigest, size: bigMonolithic.length },
        { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: chunkedDigest, size: chunked.length },
      ],
    });
    const put = await c.pushManifest(REPO, 'v1', manifest);
    expect(put.status).toBe(201);

    const got = await c.fetch(`/v2/${REPO}/manifests/v1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    expect(got.status).toBe(200);
    expect(await got.text()).toBe(manifest);
    for (const [digest, size] of [
      [configDigest, config.length],
      [bigDigest, bigMonolithic.length],
      [chunkedDigest, chunked.length],
    ] as const) {
      const res = await getBlob(c, REPO, digest);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-length')).toBe(String(size));
      expect(sha(await res.arrayBuffer())).toBe(digest);
    }
    // the blobs sit at their content address under the prefix; no upload segment is left over
    expect(await keysUnder(`registry/blobs/sha256/${chunkedDigest.slice(7, 9)}/${chunkedDigest.slice(7)}`)).toHaveLength(1);
    expect(await keysUnder('registry/uploads/')).toEqual([]);
    const mp = await rgw.client.send(new ListMultipartUploadsCommand({ Bucket: rgw.bucket, Prefix: 'registry/' }));
    expect(mp.Uploads ?? []).toEqual([]);
  });

  it('serves byte ranges of a blob assembled from chunks', async () => {
    const digest = sha256(chunked);
    for (const [range, start, end] of [
      ['bytes=0-0', 0, 0],
      [`bytes=${MiB - 5}-${5 * MiB + 5}`, MiB - 5, 5 * MiB + 5],
      [`bytes=${chunked.length - 100}-`, chunked.length - 100, chunked.length - 1],
      ['bytes=-10', chunked.length - 10, chunked.length - 1],
    ] as const) {
      const res = await getBlob(c, REPO, digest, { range });
      expect(res.status).toBe(206);
      expect(res.headers.get('content-range')).toBe(`bytes ${start}-${end}/${chunked.length}`);
      expect(Buffer.from(await res.arrayBuffer()).equals(chunked.subarray(start, end + 1))).toBe(true);
    }
    const beyond = await getBlob(c, REPO, digest, { range: `bytes=${chunked.length}-` });
    expect(beyond.status).toBe(416);
  });
});

describe('Berth on S3 storage with redirects', () => {
  let s: TestServer;
  let c: RegistryClient;
  beforeAll(async () => {
    s = await startTestServer(s3Env('redirecting', { BERTH_STORAGE_REDIRECT: 'true' }));
    c = new RegistryClient(s.url, s.adminBasic);
  });
  afterAll(() => s?.stop());

  it('answers a blob GET with 307 to a presigned URL that serves the blob', async () => {
    const layer = randomBytes(6 * MiB + 1);
    const digest = await c.pushBlob(REPO, layer);
    const res = await getBlob(c, REPO, digest);
    expect(res.status).toBe(307);
    const location = res.headers.get('location')!;
    expect(location.startsWith(`${rgw.endpoint}/${rgw.bucket}/redirecting/blobs/sha256/`)).toBe(true);
    expect(new URL(location).searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    const direct = await fetch(location);
    expect(direct.status).toBe(200);
    expect(sha(await direct.arrayBuffer())).toBe(digest);
  });

  it('still streams a range itself', async () => {
    const layer = randomBytes(100_000);
    const digest = await c.pushBlob(REPO, layer);
    const res = await getBlob(c, REPO, digest, { range: 'bytes=10-99' });
    expect(res.status).toBe(206);
    expect(Buffer.from(await res.arrayBuffer()).equals(layer.subarray(10, 100))).toBe(true);
  });
});
