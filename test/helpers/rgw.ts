import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import type { Config } from '../../src/config/schema.js';

const run = promisify(execFile);
// the SDK's notice that its 2027 releases will need Node 22 is noise in test output
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
const SCRIPT = fileURLToPath(new URL('../../scripts/rgw.sh', import.meta.url));
const PORT = Number(process.env['BERTH_TEST_RGW_PORT'] ?? 17480);
const DIR = `/tmp/berth-rgw-${PORT}`;
/** who uses the instance: one file per user, named by its pid (dead users are pruned) */
const LEASES = `${DIR}.leases`;
/** present while the instance is one this helper started (and so may stop) */
const STARTED = `${LEASES}/.started`;
const LOCK = `${DIR}.lock`;
const ENV = { ...process.env, RGW_PORT: String(PORT), RGW_DIR: DIR, RGW_ACCESS_KEY: 'berth', RGW_SECRET_KEY: 'berth-secret' };

export interface RgwBucket {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** a client for looking behind the driver's back (multipart uploads left, raw keys) */
  client: S3Client;
  /** how long starting radosgw took, when this call started it */
  startedInMs?: number;
  s3Config(overrides?: Partial<Config['storage']['s3']>): Config['storage']['s3'];
  /** empties and deletes the bucket, and stops radosgw when no one else uses it */
  release(): Promise<void>;
}

/**
 * A bucket of its own on a throwaway radosgw (scripts/rgw.sh) on 127.0.0.1:17480. The first user
 * starts radosgw; test files running at the same time, in this vitest run or another, share it
 * through lease files, and the last one to leave stops it. A radosgw already listening that this
 * helper did not start (e.g. `scripts/rgw.sh start` by hand) is used and left running.
 */
export async function useRgwBucket(): Promise<RgwBucket> {
  const endpoint = `http://127.0.0.1:${PORT}`;
  const lease = `${LEASES}/${process.pid}-${randomBytes(4).toString('hex')}`;
  let startedInMs: number | undefined;
  await locked(async () => {
    await mkdir(LEASES, { recursive: true });
    await pruneLeases();
    if (!(await listening(endpoint))) {
      const t0 = performance.now();
      await run(SCRIPT, ['start'], { env: ENV });
      startedInMs = performance.now() - t0;
      await writeFile(STARTED, DIR);
    }
    await writeFile(lease, String(process.pid));
  });
  const accessKeyId = ENV.RGW_ACCESS_KEY;
  const secretAccessKey = ENV.RGW_SECRET_KEY;
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const bucket = `berth-test-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    endpoint,
    bucket,
    accessKeyId,
    secretAccessKey,
    client,
    ...(startedInMs !== undefined ? { startedInMs } : {}),
    s3Config: (o = {}) => ({
      endpoint,
      region: 'us-east-1',
      bucket,
      prefix: '',
      accessKeyId,
      secretAccessKey,
      forcePathStyle: true,
      partSizeBytes: 16 * 1024 * 1024,
      ...o,
    }),
    async release() {
      try {
        await emptyBucket(client, bucket);
        await client.send(new DeleteBucketCommand({ Bucket: bucket }));
      } finally {
        client.destroy();
        await locked(async () => {
          await rm(lease, { force: true });
          await pruneLeases();
          const users = (await readdir(LEASES).catch(() => [])).filter((n) => n !== '.started');
          if (users.length === 0 && (await readFile(STARTED, 'utf8').catch(() => undefined)) !== undefined) {
            await run(SCRIPT, ['stop'], { env: ENV });
            await rm(STARTED, { force: true });
          }
        });
      }
    },
  };
}

async function emptyBucket(client: S3Client, bucket: string): Promise<void> {
  for (;;) {
    const r = await client.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1000 }));
    const keys = (r.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
    if (keys.length === 0) break;
    await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
  }
  const u = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  for (const up of u.Uploads ?? []) {
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: up.Key, UploadId: up.UploadId }));
  }
}

async function listening(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(endpoint, { signal: AbortSignal.timeout(2000) });
    return (await res.text()).includes('ListAllMyBucketsResult');
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function pruneLeases(): Promise<void> {
  for (const name of await readdir(LEASES).catch(() => [] as string[])) {
    const pid = Number(name.split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && !alive(pid)) await rm(`${LEASES}/${name}`, { force: true });
  }
}

/**
 * A cross-process mutex: a folder holding its owner's pid, put in place by one rename (which
 * fails onto a non-empty folder), so the lock never exists without its owner. A lock whose
 * owner died is taken over.
 */
async function locked<T>(fn: () => Promise<T>): Promise<T> {
  const mine = `${LOCK}.${process.pid}-${randomBytes(4).toString('hex')}`;
  await mkdir(mine, { recursive: true });
  await writeFile(`${mine}/owner`, String(process.pid));
  for (let i = 0; ; i++) {
    try {
      await rename(mine, LOCK);
      break;
    } catch (e) {
      if (!['EEXIST', 'ENOTEMPTY'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
      const owner = Number(await readFile(`${LOCK}/owner`, 'utf8').catch(() => '0'));
      if (owner > 0 && !alive(owner)) {
        await rename(LOCK, `${mine}.stale`).catch(() => undefined);
        await rm(`${mine}.stale`, { recursive: true, force: true });
      }
      else if (i > 1200) {
        await rm(mine, { recursive: true, force: true });
        throw new Error(`${LOCK} is held by pid ${owner} for more than two minutes`, { cause: e });
      } else await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await fn();
  } finally {
    // away in one step first: a recursive rm leaves a moment when the folder is empty, and
    // another process's rename would land in it
    await rename(LOCK, `${mine}.done`);
    await rm(`${mine}.done`, { recursive: true, force: true });
  }
}
