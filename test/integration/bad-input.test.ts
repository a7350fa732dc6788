import { request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProject, errorsOf, RegistryClient } from '../helpers/registry-client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { blob, type Content, config, digest, index, manifest, OCI_INDEX, OCI_MANIFEST, pushImage, putBlob, putManifest, randomLayer } from './dist-spec/oci-fixtures.js';

// Hostile and broken input on /v2: each case asserts the exact status and error code, and that
// nothing became visible afterwards (no blob, manifest, tag, repository or grown upload).

let s: TestServer;
let admin: RegistryClient;
const repo = 'conf/bad';

beforeAll(async () => {
  s = await startTestServer();
  admin = new RegistryClient(s.url, s.adminBasic);
  await createProject(s.url, s.adminBasic, 'conf');
  await pushImage(admin, repo, 'v1');
});
afterAll(() => s.stop());

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request whose path goes out byte for byte (fetch would resolve `..` and `%2e`). */
function raw(method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<RawResponse> {
  const u = new URL(s.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method, headers: { authorization: s.adminBasic, ...headers } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const codeOf = (r: RawResponse) => (JSON.parse(r.body) as { errors: { code: string; message: string }[] }).errors[0]!;

/**
 * Sends a request head and part of a body on a raw socket, then closes it (a FIN with `end`, an
 * RST with `reset`), the way a client that dies mid-upload does. Resolves once the socket is
 * closed; whatever the server wrote back is returned.
 */
function cutShort(head: string, body: Buffer, how: 'end' | 'reset'): Promise<string> {
  const u = new URL(s.url);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(u.port), u.hostname);
    let got = '';
    sock.on('data', (c) => (got += c.toString()));
    sock.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? undefined : reject(e)));
    sock.on('close', () => resolve(got));
    sock.on('connect', () => {
      sock.write(head);
      sock.write(body, () => {
        if (how === 'end') sock.end();
        else sock.resetAndDestroy();
      });
    });
  });
}

function headOf(method: string, path: string, headers: Record<string, string>): string {
  const u = new URL(s.url);
  const lines = [`${method} ${path} HTTP/1.1`, `Host: ${u.host}`, `Authorization: ${s.adminBasic}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** Repeats `probe` until `done` holds; for work the server finishes after a client went away. */
async function eventually<T>(probe: () => Promise<T>, done: (v: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = await probe();
    if (done(v)) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`never happened: ${what}`);
}

async function catalog(): Promise<string[]> {
  return ((await (await admin.fetch('/v2/_catalog')).json()) as { repositories: string[] }).repositories;
}

async function openUpload(r = repo): Promise<string> {
  const res = await admin.fetch(`/v2/${r}/blobs/uploads/`, { method: 'POST', headers: { 'content-length': '0' } });
  expect(res.status).toBe(202);
  return res.headers.get('location')!;
}

describe('repository names', () => {
  // dist-spec: <name> MUST match [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*
  it.each([
    ['uppercase', '/v2/Conf/App/tags/list'],
    ['one component (Berth names start with a project)', '/v2/justone/tags/list'],
    ['an empty component', '/v2/conf//app/tags/list'],
    ['a leading separator', '/v2/conf/-app/tags/list'],
    ['a trailing separator', '/v2/conf/app-/tags/list'],
    ['a dot component', '/v2/conf/./app/tags/list'],
    ['parent traversal', '/v2/conf/../library/app/tags/list'],
    ['encoded traversal %2e%2e', '/v2/conf/%2e%2e/library/tags/list'],
    ['encoded slash ..%2f', '/v2/conf/..%2flibrary/tags/list'],
    ['an encoded letter', '/v2/conf/%61pp/tags/list'],
    ['a name over 255 characters', `/v2/conf/${'a'.repeat(260)}/tags/list`],
  ])('refuses %s with 400 NAME_INVALID', async (_label, path) => {
    const r = await raw('GET', path);
    expect(r.status).toBe(400);
    expect(codeOf(r).code).toBe('NAME_INVALID');
  });

  it('creates nothing when a push names an invalid repository', async () => {
    const before = await catalog();
    for (const path of ['/v2/conf/../evil/blobs/uploads/', '/v2/Conf/Evil/blobs/uploads/', '/v2/conf/%2e%2e%2fevil/blobs/uploads/']) {
      const r = await raw('POST', path, '', { 'content-length': '0' });
      expect(r.status, path).toBe(400);
      expect(codeOf(r).code).toBe('NAME_INVALID');
    }
    const c = randomLayer();
    const m = await raw('PUT', `/v2/conf/../evil/manifests/v1`, c.bytes, { 'content-type': OCI_MANIFEST });
    expect(m.status).toBe(400);
    expect(await catalog()).toEqual(before);
  });

  it('answers a push into a project that does not exist with 404 NAME_UNKNOWN and says what to do', async () => {
    const res = await admin.fetch('/v2/noproject/app/blobs/uploads/', { method: 'POST' });
    expect(res.status).toBe(404);
    const [e] = await errorsOf(res);
    expect(e!.code).toBe('NAME_UNKNOWN');
    expect(e!.message).toBe('project noproject does not exist; create it first (POST /api/v2.0/projects) or push to an existing project');
    const valid = manifest({ config: config().descriptor, layers: [] });
    const m = await admin.fetch('/v2/noproject/app/manifests/v1', { method: 'PUT', body: valid.bytes, headers: { 'content-type': OCI_MANIFEST } });
    expect(m.status).toBe(404);
    expect((await errorsOf(m))[0]!.code).toBe('NAME_UNKNOWN');
    expect((await catalog()).some((r) => r.startsWith('noproject/'))).toBe(false);
    expect((await admin.fetch('/api/v2.0/projects/noproject')).status).toBe(404);
  });
});

describe('references and digests', () => {
  it.each([
    ['short', 'sha256:abc'],
    ['uppercase hex', `sha256:${'A'.repeat(64)}`],
    ['an unknown algorithm', `md5:${'0'.repeat(32)}`],
    ['sha512 with a sha256 length', `sha512:${'0'.repeat(64)}`],
    ['traversal', 'sha256:..%2f..%2fetc%2fpasswd'],
  ])('refuses a blob digest that is %s with 400 DIGEST_INVALID', async (_label, d) => {
    for (const method of ['GET', 'DELETE']) {
      const r = await raw(method, `/v2/${repo}/blobs/${d}`);
      expect(r.status, method).toBe(400);
      expect(codeOf(r).code).toBe('DIGEST_INVALID');
    }
  });

  it('treats a reference that cannot be a tag as unknown on reads and invalid on writes', async () => {
    for (const ref of ['..%2f..%2fv1', '%2e%2e', '-dash', 'a'.repeat(129)]) {
      const get = await raw('GET', `/v2/${repo}/manifests/${ref}`);
      expect(get.status, ref).toBe(404);
      expect(codeOf(get).code).toBe('MANIFEST_UNKNOWN');
      const put = await raw('PUT', `/v2/${repo}/manifests/${ref}`, '{}', { 'content-type': OCI_MANIFEST });
      expect(put.status, ref).toBe(400);
      expect(codeOf(put).code).toBe('MANIFEST_INVALID');
    }
  });

  it('refuses a closing ?digest= that is malformed and keeps the session', async () => {
    const loc = await openUpload();
    const c = blob('some bytes');
    for (const d of ['garbage', 'sha256:zz', `sha1:${'0'.repeat(40)}`]) {
      const res = await admin.fetch(`${loc}?digest=${encodeURIComponent(d)}`, { method: 'PUT', body: c.bytes });
      expect(res.status, d).toBe(400);
      expect((await errorsOf(res))[0]!.code).toBe('DIGEST_INVALID');
    }
    expect((await admin.fetch(`${loc}?digest=${c.digest}`, { method: 'PUT', body: c.bytes })).status).toBe(201);
  });

  it('keeps nothing of a blob whose bytes do not match the digest', async () => {
    const c = randomLayer(4000);
    const claimed = digest('something else');
    const res = await admin.fetch(`/v2/${repo}/blobs/uploads/?digest=${claimed}`, { method: 'POST', body: c.bytes });
    expect(res.status).toBe(400);
    expect((await errorsOf(res))[0]!.code).toBe('DIGEST_INVALID');
    expect((await admin.fetch(`/v2/${repo}/blobs/${claimed}`, { method: 'HEAD' })).status).toBe(404);
    expect((await admin.fetch(`/v2/${repo}/blobs/${c.digest}`, { method: 'HEAD' })).status).toBe(404);
  });
});

describe('manifests', () => {
  async function validImage(): Promise<{ cfg: Content; layer: Content }> {
    const cfg = config();
    const layer = randomLayer();
    await putBlob(admin, repo, cfg);
    await putBlob(admin, repo, layer);
    return { cfg, layer };
  }

  // dist-spec: "Registries SHOULD enforce a maximum manifest size ... SHOULD respond with 413"
  // and "Clients and registries SHOULD support manifests of at least 4 MiB".
  it('takes a manifest of exactly 4 MiB and refuses one byte more with 413', async () => {
    const { cfg, layer } = await validImage();
    const base = manifest({ config: cfg.descriptor, layers: [layer.descriptor], annotations: { pad: '' } });
    const pad = 4 * 1024 * 1024 - base.bytes.length;
    const exact = manifest({ config: cfg.descriptor, layers: [layer.descriptor], annotations: { pad: 'a'.repeat(pad) } });
    expect(exact.bytes.length).toBe(4 * 1024 * 1024);
    await putManifest(admin, repo, 'four-mib', exact);
    const over = manifest({ config: cfg.descriptor, layers: [layer.descriptor], annotations: { pad: 'a'.repeat(pad + 1) } });
    const res = await admin.fetch(`/v2/${repo}/manifests/too-big`, { method: 'PUT', body: over.bytes, headers: { 'content-type': OCI_MANIFEST } });
    expect(res.status).toBe(413);
    expect((await errorsOf(res))[0]!.code).toBe('PAYLOAD_TOO_LARGE');
    // sent without a Content-Length the limit holds as well
    const chunked = await new Promise<number>((resolve, reject) => {
      const u = new URL(s.url);
      const req = request({ host: u.hostname, port: u.port, path: `/v2/${repo}/manifests/too-big`, method: 'PUT', headers: { authorization: s.adminBasic, 'content-type': OCI_MANIFEST } }, (r) => {
        r.resume();
        resolve(r.statusCode!);
      });
      req.on('error', reject);
      req.write(over.bytes);
      req.end();
    });
    expect(chunked).toBe(413);
    expect((await admin.fetch(`/v2/${repo}/manifests/too-big`, { method: 'HEAD' })).status).toBe(404);
    expect((await admin.fetch(`/v2/${repo}/manifests/${over.digest}`, { method: 'HEAD' })).status).toBe(404);
  });

  it('follows limits.manifestMaxBytes (BERTH_LIMITS_MANIFEST_MAX_BYTES)', async () => {
    const small = await startTestServer({ BERTH_LIMITS_MANIFEST_MAX_BYTES: '2048' });
    try {
      const c = new RegistryClient(small.url, small.adminBasic);
      const cfg = config();
      const layer = randomLayer();
      await putBlob(c, 'library/limit', cfg);
      await putBlob(c, 'library/limit', layer);
      const fits = manifest({ config: cfg.descriptor, layers: [layer.descriptor] });
      expect(fits.bytes.length).toBeLessThan(2048);
      await putManifest(c, 'library/limit', 'fits', fits);
      const big = manifest({ config: cfg.descriptor, layers: [layer.descriptor], annotations: { pad: 'x'.repeat(2048) } });
      const res = await c.fetch('/v2/library/limit/manifests/big', { method: 'PUT', body: big.bytes, headers: { 'content-type': OCI_MANIFEST } });
      expect(res.status).toBe(413);
      expect((await errorsOf(res))[0]!.message).toContain('2048');
    } finally {
      await small.stop();
    }
  });

  it.each([
    ['not JSON', 'blablabla', OCI_MANIFEST],
    ['truncated JSON', '{"schemaVersion": 2, "mediaType": ', OCI_MANIFEST],
    ['a JSON array', '[]', OCI_MANIFEST],
    ['schemaVersion 1', JSON.stringify({ schemaVersion: 1, mediaType: OCI_MANIFEST, config: {}, layers: [] }), OCI_MANIFEST],
    ['a descriptor without a digest', JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'x/y', size: 1 }, layers: [] }), OCI_MANIFEST],
    ['a negative size', JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'x/y', digest: digest('x'), size: -1 }, layers: [] }), OCI_MANIFEST],
    ['an unsupported media type', JSON.stringify({ schemaVersion: 2, mediaType: 'text/plain' }), 'text/plain'],
  ])('refuses %s with 400 MANIFEST_INVALID', async (_label, body, ct) => {
    const res = await admin.fetch(`/v2/${repo}/manifests/broken`, { method: 'PUT', body, headers: { 'content-type': ct } });
    expect(res.status).toBe(400);
    expect((await errorsOf(res))[0]!.code).toBe('MANIFEST_INVALID');
    expect((await admin.fetch(`/v2/${repo}/manifests/broken`, { method: 'HEAD' })).status).toBe(404);
  });

  // dist-spec: "If a manifest includes a mediaType field, clients MUST set the Content-Type
  // header to the value specified by the mediaType field."
  it('refuses a Content-Type that disagrees with the manifest mediaType', async () => {
    const { cfg, layer } = await validImage();
    const m = manifest({ config: cfg.descriptor, layers: [layer.descriptor] });
    const res = await admin.fetch(`/v2/${repo}/manifests/mismatch`, { method: 'PUT', body: m.bytes, headers: { 'content-type': OCI_INDEX } });
    expect(res.status).toBe(400);
    const [e] = await errorsOf(res);
    expect(e!.code).toBe('MANIFEST_INVALID');
    expect(e!.detail).toEqual({ contentType: OCI_INDEX, mediaType: OCI_MANIFEST });
    expect((await admin.fetch(`/v2/${repo}/manifests/${m.digest}`, { method: 'HEAD' })).status).toBe(404);
  });

  // dist-spec: "When a manifest is rejected for these reasons, it MUST result in one or more
  // MANIFEST_BLOB_UNKNOWN errors" — layers and, for an index, child manifests.
  it('refuses a manifest whose layer was never pushed, and an index with an unknown child', async () => {
    const { cfg } = await validImage();
    const ghost = randomLayer();
    const m = manifest({ config: cfg.descriptor, layers: [ghost.descriptor] });
    const res = await admin.fetch(`/v2/${repo}/manifests/ghost`, { method: 'PUT', body: m.bytes, headers: { 'content-type': OCI_MANIFEST } });
    expect(res.status).toBe(400);
    expect(await errorsOf(res)).toEqual([expect.objectContaining({ code: 'MANIFEST_BLOB_UNKNOWN', detail: { digest: ghost.digest } })]);
    const idx = index({ manifests: [m.descriptor] });
    const res2 = await admin.fetch(`/v2/${repo}/manifests/ghost-index`, { method: 'PUT', body: idx.bytes, headers: { 'content-type': OCI_INDEX } });
    expect(res2.status).toBe(400);
    expect((await errorsOf(res2))[0]!.code).toBe('MANIFEST_BLOB_UNKNOWN');
    for (const ref of ['ghost', 'ghost-index', m.digest, idx.digest]) expect((await admin.fetch(`/v2/${repo}/manifests/${ref}`, { method: 'HEAD' })).status, ref).toBe(404);
    // nothing of the refused manifests reached storage either
    const stored = await s.server.berth.storage.stat(`blobs/sha256/${m.digest.slice(7, 9)}/${m.digest.slice(7)}`);
    expect(stored).toBeUndefined();
  });
});

describe('broken uploads', () => {
  const statusRange = async (loc: string) => (await admin.fetch(loc)).headers.get('range');

  it('keeps nothing of a single POST whose body is shorter than its Content-Length (client closes)', async () => {
    const sessions = async () => (await s.server.berth.metadata.uploads.listExpired(Number.MAX_SAFE_INTEGER, 10_000)).length;
    const before = await sessions();
    const c = randomLayer(10_000);
    for (const how of ['end', 'reset'] as const) {
      await cutShort(headOf('POST', `/v2/${repo}/blobs/uploads/?digest=${c.digest}`, { 'Content-Length': String(c.bytes.length) }), c.bytes.subarray(0, 4000), how);
      expect((await admin.fetch(`/v2/${repo}/blobs/${c.digest}`, { method: 'HEAD' })).status, how).toBe(404);
    }
    // the sessions the aborted POSTs opened are gone once the server let go of them
    await eventually(sessions, (n) => n === before, 'the aborted single POSTs left no session');
  });

  it('leaves an upload as it was when the client disconnects mid-chunk, and the chunk can be sent again', async () => {
    const c = randomLayer(8000);
    const loc = await openUpload();
    expect((await admin.fetch(loc, { method: 'PATCH', body: c.bytes.subarray(0, 2000), headers: { 'content-range': '0-1999' } })).status).toBe(202);
    for (const how of ['end', 'reset'] as const) {
      await cutShort(
        headOf('PATCH', loc, { 'Content-Range': '2000-7999', 'Content-Length': '6000', 'Content-Type': 'application/octet-stream' }),
        c.bytes.subarray(2000, 5000),
        how,
      );
      expect(await statusRange(loc), how).toBe('0-1999');
    }
    // the server may still be letting go of the dead request: the retry succeeds once it has
    const retry = await eventually(
      () => admin.fetch(loc, { method: 'PATCH', body: c.bytes.subarray(2000), headers: { 'content-range': '2000-7999' } }),
      (r) => r.status !== 416,
      'the aborted chunk released the upload',
    );
    expect(retry.status).toBe(202);
    expect(retry.headers.get('range')).toBe('0-7999');
    expect((await admin.fetch(`${loc}?digest=${c.digest}`, { method: 'PUT' })).status).toBe(201);
  });

  it('refuses a Content-Range that disagrees with Content-Length, and the upload does not grow', async () => {
    const loc = await openUpload();
    const res = await admin.fetch(loc, { method: 'PATCH', body: 'abcdef', headers: { 'content-range': '0-9', 'content-length': '6' } });
    expect(res.status).toBe(400);
    expect((await errorsOf(res))[0]!.code).toBe('BLOB_UPLOAD_INVALID');
    expect(await statusRange(loc)).toBe('0-0');
    const backwards = await admin.fetch(loc, { method: 'PATCH', body: 'a', headers: { 'content-range': '0-9x' } });
    expect(backwards.status).toBe(416);
  });

  it('refuses out-of-order chunks with 416, Range and Location, and keeps the bytes it has', async () => {
    const c = randomLayer(3000);
    const loc = await openUpload();
    expect((await admin.fetch(loc, { method: 'PATCH', body: c.bytes.subarray(0, 1000), headers: { 'content-range': '0-999' } })).status).toBe(202);
    for (const [a, b] of [
      [1500, 2999],
      [0, 999],
      [999, 1999],
    ] as const) {
      const res = await admin.fetch(loc, { method: 'PATCH', body: c.bytes.subarray(a, b + 1), headers: { 'content-range': `${a}-${b}` } });
      expect(res.status, `${a}-${b}`).toBe(416);
      expect(res.headers.get('range')).toBe('0-999');
      expect(res.headers.get('location')).toBe(loc);
    }
    expect(await statusRange(loc)).toBe('0-999');
  });

  it('answers unknown, foreign and traversing upload ids with 404 BLOB_UPLOAD_UNKNOWN', async () => {
    const mine = await openUpload('conf/bad-a');
    const id = mine.split('/').pop()!;
    const paths = [
      `/v2/${repo}/blobs/uploads/3f1c2a4e-0000-4000-8000-000000000000`,
      `/v2/${repo}/blobs/uploads/${id}`, // foreign: the session belongs to conf/bad-a
      `/v2/${repo}/blobs/uploads/..%2f..%2fblobs`,
      `/v2/${repo}/blobs/uploads/%2e%2e`,
      `/v2/${repo}/blobs/uploads/${id}%2f..%2f..`,
      `/v2/${repo}/blobs/uploads/not-a-uuid`,
    ];
    for (const p of paths) {
      for (const method of ['GET', 'PATCH', 'PUT', 'DELETE']) {
        const r = await raw(method, method === 'PUT' ? `${p}?digest=${digest('x')}` : p, method === 'PATCH' || method === 'PUT' ? 'x' : undefined);
        expect(r.status, `${method} ${p}`).toBe(404);
        expect(codeOf(r).code).toBe('BLOB_UPLOAD_UNKNOWN');
      }
    }
    // none of that touched the real session
    expect(await statusRange(mine)).toBe('0-0');
    const c = blob('still fine');
    expect((await admin.fetch(`${mine}?digest=${c.digest}`, { method: 'PUT', body: c.bytes })).status).toBe(201);
  });
});

describe('at the same moment', () => {
  it('stores one blob when two clients push the same bytes at once', async () => {
    const c = randomLayer(200_000);
    const results = await Promise.all([
      admin.fetch(`/v2/${repo}/blobs/uploads/?digest=${c.digest}`, { method: 'POST', body: c.bytes }),
      admin.fetch(`/v2/${repo}/blobs/uploads/?digest=${c.digest}`, { method: 'POST', body: c.bytes }),
      admin.fetch(`/v2/conf/bad-b/blobs/uploads/?digest=${c.digest}`, { method: 'POST', body: c.bytes }),
    ]);
    expect(results.map((r) => r.status)).toEqual([201, 201, 201]);
    for (const r of [repo, 'conf/bad-b']) {
      const get = await admin.fetch(`/v2/${r}/blobs/${c.digest}`);
      expect(Buffer.from(await get.arrayBuffer()).equals(c.bytes)).toBe(true);
    }
  });

  it('points a tag at one of two manifests pushed to it at once', async () => {
    const cfg = config();
    const layer = randomLayer();
    await putBlob(admin, repo, cfg);
    await putBlob(admin, repo, layer);
    const a = manifest({ config: cfg.descriptor, layers: [layer.descriptor], annotations: { who: 'a' } });
    const b = manifest({ config: cfg.descriptor, layers: [layer.descriptor], annotations: { who: 'b' } });
    const put = (m: Content) => admin.fetch(`/v2/${repo}/manifests/race`, { method: 'PUT', body: m.bytes, headers: { 'content-type': OCI_MANIFEST } });
    const results = await Promise.all([put(a), put(b), put(a), put(b)]);
    expect(results.map((r) => r.status)).toEqual([201, 201, 201, 201]);
    const got = await admin.fetch(`/v2/${repo}/manifests/race`, { headers: { accept: OCI_MANIFEST } });
    const d = got.headers.get('docker-content-digest');
    expect([a.digest, b.digest]).toContain(d);
    expect(digest(Buffer.from(await got.arrayBuffer()))).toBe(d);
    for (const m of [a, b]) expect((await admin.fetch(`/v2/${repo}/manifests/${m.digest}`, { method: 'HEAD' })).status).toBe(200);
    const tags = ((await (await admin.fetch(`/v2/${repo}/tags/list`)).json()) as { tags: string[] }).tags;
    expect(tags.filter((t) => t === 'race')).toHaveLength(1);
  });

  it('takes a chunk once when two requests send it into one session at once', async () => {
    const c = randomLayer(100_000);
    const loc = await openUpload();
    const send = () => admin.fetch(loc, { method: 'PATCH', body: c.bytes, headers: { 'content-range': `0-${c.bytes.length - 1}` } });
    const results = await Promise.all([send(), send()]);
    expect(results.map((r) => r.status).sort()).toEqual([202, 416]);
    expect(await (async () => (await admin.fetch(loc)).headers.get('range'))()).toBe(`0-${c.bytes.length - 1}`);
    expect((await admin.fetch(`${loc}?digest=${c.digest}`, { method: 'PUT' })).status).toBe(201);
  });
});

describe('upload sessions that expire', () => {
  // dist-spec (cancel): "If this request fails or is not called, the server SHOULD eventually
  // timeout unfinished uploads." Berth: uploads.sessionTtlSeconds, then sweep().
  it('stops answering for an idle session after the TTL and sweeps its data', async () => {
    const short = await startTestServer({ BERTH_UPLOADS_SESSION_TTL_SECONDS: '1' });
    try {
      const c = new RegistryClient(short.url, short.adminBasic);
      const post = await c.fetch('/v2/library/ttl/blobs/uploads/', { method: 'POST' });
      const loc = post.headers.get('location')!;
      const id = loc.split('/').pop()!;
      // larger than INLINE_CHUNK_MAX, so the chunk is a storage segment
      const chunk = randomLayer(300 * 1024);
      expect((await c.fetch(loc, { method: 'PATCH', body: chunk.bytes, headers: { 'content-range': `0-${300 * 1024 - 1}` } })).status).toBe(202);
      expect((await short.server.berth.storage.list('uploads')).filter((p) => p.startsWith(`uploads/${id}.`))).toHaveLength(1);
      // the session expires one idle second after its last chunk
      const gone = await eventually(
        () => c.fetch(loc),
        (r) => r.status === 404,
        'the session expired',
      );
      expect((await errorsOf(gone))[0]!.code).toBe('BLOB_UPLOAD_UNKNOWN');
      expect((await c.fetch(`${loc}?digest=${chunk.digest}`, { method: 'PUT' })).status).toBe(404);
      expect(await short.server.berth.uploads.sweep()).toBeGreaterThanOrEqual(1);
      expect((await short.server.berth.storage.list('uploads')).filter((p) => p.startsWith(`uploads/${id}.`))).toEqual([]);
      expect(await short.server.berth.metadata.uploads.get(id)).toBeUndefined();
      expect((await c.fetch(`/v2/library/ttl/blobs/${chunk.digest}`, { method: 'HEAD' })).status).toBe(404);
    } finally {
      await short.stop();
    }
  });
});
