import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChildServer, ensureBuilt, startChildServer } from '../helpers/child-server.js';
import { RegistryClient } from '../helpers/registry-client.js';

const MiB = 1024 * 1024;
const SIZE = 200 * MiB;

/** 200 MiB of reproducible noise, streamed: AES-CTR over zeros. */
function noise(seed: Buffer): Readable {
  const cipher = createCipheriv('aes-128-ctr', seed, Buffer.alloc(16));
  const zeros = Buffer.alloc(MiB);
  let left = SIZE;
  return new Readable({
    read() {
      if (left === 0) return void this.push(null);
      const n = Math.min(MiB, left);
      left -= n;
      this.push(cipher.update(zeros.subarray(0, n)));
    },
  });
}

let server: ChildServer | undefined;

beforeAll(async () => {
  await ensureBuilt();
}, 600_000);

afterAll(async () => {
  await server?.kill();
  if (server) await rm(server.dataDir, { recursive: true, force: true });
});

describe('SIGTERM', () => {
  it('lets an in-flight 200 MiB download finish, then exits 0', async () => {
    server = await startChildServer();
    const client = new RegistryClient(server.url, server.adminBasic);
    const statusOf = async (field: 'VmRSS' | 'VmHWM') => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(await readFile(`/proc/${server!.pid}/status`, 'utf8'))?.[1]) * 1024;
    // what the started server holds before the blob: code, caches, the database
    expect((await client.fetch('/v2/')).status).toBe(200);
    const baseline = await statusOf('VmRSS');
    const seed = randomBytes(16);
    const h = createHash('sha256');
    for await (const c of noise(seed)) h.update(c as Buffer);
    const digest = `sha256:${h.digest('hex')}`;

    // a streamed monolithic upload: POST ?digest= with the whole body
    const put = await client.fetch(`/v2/library/big/blobs/uploads/?digest=${digest}`, {
      method: 'POST',
      body: Readable.toWeb(noise(seed)) as ReadableStream<Uint8Array>,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(SIZE) },
      duplex: 'half',
    } as RequestInit & { duplex: 'half'; headers: Record<string, string> });
    expect(put.status, await put.clone().text()).toBe(201);

    const res = await client.fetch(`/v2/library/big/blobs/${digest}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(SIZE));
    const reader = res.body!.getReader();
    const got = createHash('sha256');
    let received = 0;
    const readUntil = async (limit: number) => {
      while (received < limit) {
        const { done, value } = await reader.read();
        if (done) break;
        got.update(value);
        received += value.length;
      }
    };
    await readUntil(16 * MiB);

    // the 200 MiB went in and is coming out as streams: the server's peak memory grows by far
    // less than the blob's size, which it would if it held the blob whole at any point
    const hwm = await statusOf('VmHWM');
    expect(baseline).toBeGreaterThan(0);
    expect(hwm - baseline).toBeLessThan(SIZE / 2);

    let exitedEarly = false;
    void server.exited.then(() => (exitedEarly = received < SIZE));
    process.kill(server.pid, 'SIGTERM');
    // the reader is stalled: the server must be waiting for it, not gone
    await new Promise((r) => setTimeout(r, 1500));
    expect(exitedEarly).toBe(false);

    await readUntil(Number.POSITIVE_INFINITY);
    expect(received).toBe(SIZE);
    expect(`sha256:${got.digest('hex')}`).toBe(digest);
    const exit = await server.exited;
    expect(exit, server.output()).toEqual({ code: 0, signal: null });
    expect(exitedEarly).toBe(false);
  });
});
