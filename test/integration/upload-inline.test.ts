import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INLINE_CHUNK_MAX, INLINE_SESSION_MAX } from '../../src/services/blob-upload.service.js';
import { RegistryClient, sha256 } from '../helpers/registry-client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/**
 * Small chunks of known length are kept in the database with their session (no storage file
 * until the verified final write); these tests pin down that the bytes are the same whatever
 * holds them, and that nothing is left behind.
 */
let s: TestServer;
let c: RegistryClient;
beforeAll(async () => {
  s = await startTestServer();
  c = new RegistryClient(s.url, s.adminBasic);
});
afterAll(() => s.stop());

const segmentFiles = async (id: string) => (await s.server.berth.storage.list('uploads')).filter((p) => p.startsWith(`uploads/${id}.`));

async function open(repo: string, query = ''): Promise<{ loc: string; id: string }> {
  const post = await c.fetch(`/v2/${repo}/blobs/uploads/${query}`, { method: 'POST' });
  expect(post.status).toBe(202);
  const loc = post.headers.get('location')!;
  return { loc, id: loc.split('/').pop()! };
}

async function patch(loc: string, bytes: Buffer, start: number): Promise<Response> {
  return c.fetch(loc, { method: 'PATCH', body: bytes, headers: { 'content-range': `${start}-${start + bytes.length - 1}`, 'content-type': 'application/octet-stream' } });
}

async function pulled(repo: string, digest: string): Promise<Buffer> {
  const res = await c.fetch(`/v2/${repo}/blobs/${digest}`);
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

describe('inline upload chunks', () => {
  it('keeps small chunks out of storage until the verified write, and leaves nothing behind', async () => {
    const parts = [randomBytes(1000), randomBytes(1), randomBytes(INLINE_CHUNK_MAX)];
    const whole = Buffer.concat(parts);
    const { loc, id } = await open('library/inline');
    let at = 0;
    for (const p of parts) {
      const res = await patch(loc, p, at);
      expect(res.status).toBe(202);
      at += p.length;
      expect(res.headers.get('range')).toBe(`0-${at - 1}`);
    }
    expect(await segmentFiles(id)).toEqual([]);
    expect((await s.server.berth.metadata.uploads.inlineData(id)).size).toBe(3);
    const put = await c.fetch(`${loc}?digest=${sha256(whole)}`, { method: 'PUT' });
    expect(put.status).toBe(201);
    expect(await pulled('library/inline', sha256(whole))).toEqual(whole);
    expect(await s.server.berth.metadata.uploads.get(id)).toBeUndefined();
    expect((await s.server.berth.metadata.uploads.inlineData(id)).size).toBe(0);
  });

  it('mixes inline chunks with a storage segment once the session outgrows the inline limit', async () => {
    const small = randomBytes(5000);
    const big = randomBytes(INLINE_SESSION_MAX);
    const tail = randomBytes(10);
    const whole = Buffer.concat([small, big, tail]);
    const { loc, id } = await open('library/mixed');
    expect((await patch(loc, small, 0)).status).toBe(202);
    expect((await patch(loc, big, small.length)).status).toBe(202);
    // a small chunk after a storage segment is a storage segment too: order is kept
    expect((await patch(loc, tail, small.length + big.length)).status).toBe(202);
    expect(await segmentFiles(id)).toHaveLength(2);
    expect((await c.fetch(`${loc}?digest=${sha256(whole)}`, { method: 'PUT' })).status).toBe(201);
    expect(await pulled('library/mixed', sha256(whole))).toEqual(whole);
    expect(await segmentFiles(id)).toEqual([]);
  });

  it('re-reads inline chunks when the final digest uses another algorithm than was hashed', async () => {
    const data = randomBytes(3000);
    const d512 = `sha512:${createHash('sha512').update(data).digest('hex')}`;
    const { loc } = await open('library/inline512');
    expect((await patch(loc, data, 0)).status).toBe(202);
    expect((await c.fetch(`${loc}?digest=${d512}`, { method: 'PUT' })).status).toBe(201);
    expect(await pulled('library/inline512', d512)).toEqual(data);
  });

  it('refuses a wrong digest and drops the session with its inline bytes', async () => {
    const data = randomBytes(2000);
    const { loc, id } = await open('library/inline-bad');
    expect((await patch(loc, data, 0)).status).toBe(202);
    const put = await c.fetch(`${loc}?digest=${sha256(Buffer.from('other'))}`, { method: 'PUT' });
    expect(put.status).toBe(400);
    expect((await c.fetch(`/v2/library/inline-bad/blobs/${sha256(data)}`, { method: 'HEAD' })).status).toBe(404);
    expect((await s.server.berth.metadata.uploads.inlineData(id)).size).toBe(0);
  });

  it('cancel removes the inline bytes', async () => {
    const { loc, id } = await open('library/inline-cancel');
    expect((await patch(loc, randomBytes(100), 0)).status).toBe(202);
    expect((await c.fetch(loc, { method: 'DELETE' })).status).toBe(204);
    expect((await s.server.berth.metadata.uploads.inlineData(id)).size).toBe(0);
    expect((await c.fetch(loc)).status).toBe(404);
  });

  it('a chunk cut short is not kept, and the same chunk can be sent again', async () => {
    const data = randomBytes(4000);
    const { loc, id } = await open('library/inline-cut');
    // Content-Range says 4000 bytes, the body has 3999: refused, the session unchanged
    const short = await c.fetch(loc, { method: 'PATCH', body: data.subarray(1), headers: { 'content-range': '0-3999' } });
    expect(short.status).toBe(400);
    expect((await c.fetch(loc)).headers.get('range')).toBe('0-0');
    expect((await s.server.berth.metadata.uploads.inlineData(id)).size).toBe(0);
    expect((await patch(loc, data, 0)).status).toBe(202);
    expect((await c.fetch(`${loc}?digest=${sha256(data)}`, { method: 'PUT' })).status).toBe(201);
  });
});
