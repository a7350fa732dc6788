import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { appendFile, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChildServer, ensureBuilt, runTool, startChildServer } from '../helpers/child-server.js';
import { bodyDigest, type ImageManifest, OCI_MANIFEST, type TestImages, testImages } from '../helpers/images.js';
import { RegistryClient, sha256 } from '../helpers/registry-client.js';

const MiB = 1024 * 1024;
const BIG = 200 * MiB;
const CHUNK = 8 * MiB;
/**
 * When SIGKILL lands: `start` rounds count milliseconds from the start of the pushes (from
 * "just connected" to "nearly done"); `put` rounds count fractions of a measured commit, from
 * the moment the big upload's closing PUT is sent, to hit the commit itself (digest check,
 * concatenation, rename, database).
 */
const KILLS: ({ after: 'start'; ms: number } | { after: 'put'; fraction: number })[] = [
  ...[80, 300, 700, 1200, 1800, 2600, 3600, 5000].map((ms) => ({ after: 'start' as const, ms })),
  ...[0.05, 0.3, 0.55, 0.8, 0.95].map((fraction) => ({ after: 'put' as const, fraction })),
];
const describeKill = (k: (typeof KILLS)[number]) => (k.after === 'start' ? `start+${k.ms}ms` : `put+${Math.round(k.fraction * 100)}% of a commit`);

/**
 * A 200 MiB blob whose bytes are a function of (seed, chunk index), so an interrupted upload
 * can be resumed after the crash without the test holding the blob in memory.
 */
class BigBlob {
  readonly seed = randomBytes(16);
  readonly chunks: number;
  readonly digest: string;

  constructor(readonly size = BIG) {
    this.chunks = Math.ceil(size / CHUNK);
    const h = createHash('sha256');
    for (let i = 0; i < this.chunks; i++) h.update(this.chunk(i));
    this.digest = `sha256:${h.digest('hex')}`;
  }

  chunk(i: number): Buffer {
    const iv = Buffer.alloc(16);
    iv.writeUInt32BE(i, 12);
    const len = Math.min(CHUNK, this.size - i * CHUNK);
    return createCipheriv('aes-128-ctr', this.seed, iv).update(Buffer.alloc(len));
  }
}

/** What the raw pusher of one round got acknowledged before the crash. */
interface BigPush {
  blob: BigBlob;
  /** the upload session's path (Location) once POST answered */
  location?: string;
  /** bytes the server acknowledged with 202 */
  acked: number;
  /** length of a PATCH that was sent but not answered */
  inflight: number;
  /** called when the closing PUT is sent */
  onPut?: () => void;
  blobCommitted: boolean;
  manifest?: { tag: string; digest: string; body: string };
  manifestCommitted: boolean;
}

/** POST, a PATCH per 8 MiB chunk, PUT ?digest=, then a manifest tagging the blob. */
async function pushBig(client: RegistryClient, repo: string, tag: string, state: BigPush): Promise<void> {
  const { blob } = state;
  await openUpload(client, repo, state);
  await resumeBig(client, state);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [blob.digest] }, tag }));
  await client.pushBlob(repo, config);
  const body = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: blob.digest, size: blob.size }],
  });
  state.manifest = { tag, digest: sha256(body), body };
  const res = await client.pushManifest(repo, tag, body);
  if (res.status !== 201) throw new Error(`manifest PUT ${res.status}: ${await res.text()}`);
  state.manifestCommitted = true;
}

async function openUpload(client: RegistryClient, repo: string, state: BigPush): Promise<void> {
  const start = await client.fetch(`/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: { 'content-length': '0' } });
  if (start.status !== 202) throw new Error(`POST ${start.status}`);
  state.location = relative(start.headers.get('location')!, client);
}

/** Sends the chunks from `state.acked` on (whole chunks only) and closes the session. */
async function resumeBig(client: RegistryClient, state: BigPush): Promise<void> {
  await sendChunks(client, state);
  await closeUpload(client, state);
}

async function sendChunks(client: RegistryClient, state: BigPush): Promise<void> {
  const { blob } = state;
  for (let i = state.acked / CHUNK; i < blob.chunks; i++) {
    const data = blob.chunk(i);
    state.inflight = data.length;
    const res = await client.fetch(state.location!, {
      method: 'PATCH',
      body: data,
      headers: { 'content-type': 'application/octet-stream', 'content-range': `${state.acked}-${state.acked + data.length - 1}`, 'content-length': String(data.length) },
    });
    if (res.status !== 202) throw new Error(`PATCH ${res.status}: ${await res.text()}`);
    state.acked += data.length;
    state.inflight = 0;
    state.location = relative(res.headers.get('location')!, client);
  }
}

async function closeUpload(client: RegistryClient, state: BigPush): Promise<void> {
  const { blob } = state;
  const u = new URL(state.location!, client.base);
  u.searchParams.set('digest', blob.digest);
  const sent = client.fetch(relative(u.toString(), client), { method: 'PUT', headers: { 'content-length': '0' } });
  state.onPut?.();
  const put = await sent;
  if (put.status !== 201) throw new Error(`PUT ${put.status}: ${await put.text()}`);
  state.blobCommitted = true;
}

/** A Location as a path, so it still works against the restarted server on another port. */
function relative(location: string, client: RegistryClient): string {
  const u = new URL(location, client.base);
  return u.pathname + u.search;
}

/** Streams a blob from the registry and returns its digest and size. */
async function download(client: RegistryClient, repo: string, digest: string): Promise<{ status: number; digest?: string; size?: number }> {
  const res = await client.fetch(`/v2/${repo}/blobs/${digest}`);
  if (res.status !== 200) {
    await res.body?.cancel();
    return { status: res.status };
  }
  return { status: 200, ...(await bodyDigest(res.body)) };
}

/**
 * Checks that `repo` serves `digest` whole. Each digest is downloaded and hashed once (bytes
 * are shared by content address); other repositories holding it answer a HEAD for it.
 */
function blobChecker(client: RegistryClient) {
  const downloaded = new Set<string>();
  return async (repo: string, digest: string, size: number) => {
    if (!downloaded.has(digest)) {
      expect(await download(client, repo, digest), `${repo} ${digest}`).toEqual({ status: 200, digest, size });
      downloaded.add(digest);
      return;
    }
    const head = await client.fetch(`/v2/${repo}/blobs/${digest}`, { method: 'HEAD' });
    expect([head.status, head.headers.get('docker-content-digest'), head.headers.get('content-length')], `${repo} ${digest}`).toEqual([200, digest, String(size)]);
  };
}

let images: TestImages;
let server: ChildServer | undefined;
let dataDir: string | undefined;
const dataDirs = new Set<string>();

beforeAll(async () => {
  await Promise.all([ensureBuilt(), testImages().then((i) => (images = i))]);
}, 900_000);

afterAll(async () => {
  await server?.kill();
  for (const d of dataDirs) await rm(d, { recursive: true, force: true });
});

describe('kill -9 during pushes', () => {
  it('never leaves a half-visible blob, manifest, tag or upload, and the registry works after restart', async () => {
    const multilayer = await images.manifest('multilayer');
    /** onDisk: the big blob's file existed right after the kill; after: what the restart showed */
    const rounds: { skopeo: 'pushed' | 'failed'; big: BigPush; repo: string; atKill?: string; onDisk?: boolean; after?: string }[] = [];

    // a push that no crash interrupts: it must survive all of them, and it times a commit
    server = await startChildServer();
    dataDir = server.dataDir;
    dataDirs.add(dataDir);
    const before: BigPush = { blob: new BigBlob(), acked: 0, inflight: 0, blobCommitted: false, manifestCommitted: false };
    let putAt = 0;
    before.onPut = () => (putAt = performance.now());
    await pushBig(new RegistryClient(server.url, server.adminBasic), 'library/big', 'before', before);
    const commitMs = performance.now() - putAt;
    await server.kill();

    for (const [round, kill] of KILLS.entries()) {
      server = await startChildServer(dataDir ? { dataDir } : {});
      dataDir = server.dataDir;
      const client = new RegistryClient(server.url, server.adminBasic);
      const repo = `library/crash-${round}`;
      const big: BigPush = { blob: new BigBlob(), acked: 0, inflight: 0, blobCommitted: false, manifestCommitted: false };
      const entry: (typeof rounds)[number] = { skopeo: 'failed', big, repo };
      rounds.push(entry);
      const putSent = new Promise<void>((resolve) => (big.onPut = resolve));

      const skopeo = runTool('skopeo', ['copy', '--dest-tls-verify=false', '--dest-creds', `admin:${server.password}`, images.ref('multilayer'), `docker://${server.host}/${repo}:r${round}`]).then(
        () => (entry.skopeo = 'pushed'),
        () => undefined,
      );
      const raw = pushBig(client, 'library/big', `r${round}`, big).catch(() => undefined);
      if (kill.after === 'put') await Promise.race([putSent, raw]);
      const wait = kill.after === 'start' ? kill.ms + Math.random() * 150 : kill.fraction * commitMs;
      await new Promise((r) => setTimeout(r, wait));
      await server.kill();
      await Promise.all([skopeo, raw]);
      entry.atKill = big.manifestCommitted ? 'tagged' : big.blobCommitted ? 'blob committed' : `${big.acked / MiB} MiB acked`;
      entry.onDisk = await stat(join(dataDir, 'blobs', 'sha256', big.blob.digest.slice(7, 9), big.blob.digest.slice(7))).then(
        () => true,
        () => false,
      );
    }
    server = await startChildServer({ dataDir: dataDir! });
    const client = new RegistryClient(server.url, server.adminBasic);
    const served = blobChecker(client);

    // 1. no partial file under blobs/: every file is named after its content
    const blobRoot = join(dataDir!, 'blobs', 'sha256');
    for (const prefix of await readdir(blobRoot).catch(() => [] as string[])) {
      for (const hex of await readdir(join(blobRoot, prefix))) {
        const h = createHash('sha256');
        for await (const c of createReadStream(join(blobRoot, prefix, hex), { highWaterMark: MiB })) h.update(c as Buffer);
        expect(h.digest('hex'), `blobs/sha256/${prefix}/${hex}`).toBe(hex);
        expect(hex.startsWith(prefix)).toBe(true);
      }
    }

    // 2. every tag that is listed resolves, and every blob its manifest references downloads
    //    whole with the right digest
    const catalog = (await (await client.fetch('/v2/_catalog?n=1000')).json()) as { repositories: string[] };
    for (const repo of catalog.repositories) {
      const { tags } = (await (await client.fetch(`/v2/${repo}/tags/list?n=1000`)).json()) as { tags: string[] };
      for (const tag of tags ?? []) {
        const res = await client.fetch(`/v2/${repo}/manifests/${tag}`, { headers: { accept: OCI_MANIFEST } });
        expect(res.status, `${repo}:${tag}`).toBe(200);
        const body = Buffer.from(await res.arrayBuffer());
        expect(sha256(body)).toBe(res.headers.get('docker-content-digest'));
        const m = JSON.parse(body.toString('utf8')) as ImageManifest;
        for (const d of [m.config, ...m.layers]) {
          await served(repo, d.digest, d.size);
        }
      }
    }

    // 3. what a client saw acknowledged survived; what it did not see is absent or complete
    for (const [i, r] of rounds.entries()) {
      if (r.skopeo === 'pushed') {
        const res = await client.fetch(`/v2/${r.repo}/manifests/r${i}`, { method: 'HEAD', headers: { accept: OCI_MANIFEST } });
        expect(res.headers.get('docker-content-digest'), `${r.repo}:r${i}`).toBe(multilayer.digest);
      }
      for (const d of [multilayer.manifest.config, ...multilayer.manifest.layers]) {
        const head = await client.fetch(`/v2/${r.repo}/blobs/${d.digest}`, { method: 'HEAD' });
        expect([200, 404]).toContain(head.status);
        if (head.status === 200) await served(r.repo, d.digest, d.size);
      }
      const big = r.big;
      if (big.manifestCommitted) {
        const res = await client.fetch(`/v2/library/big/manifests/r${i}`, { headers: { accept: OCI_MANIFEST } });
        expect(await res.text()).toBe(big.manifest!.body);
      }
      const head = await client.fetch(`/v2/library/big/blobs/${big.blob.digest}`, { method: 'HEAD' });
      if (big.blobCommitted) expect(head.status, `round ${i}: acknowledged blob`).toBe(200);
      if (head.status === 200) {
        r.after = 'recorded';
        await served('library/big', big.blob.digest, BIG);
        continue;
      }
      expect(head.status).toBe(404);
      r.after = 'absent';
      if (!big.location) continue;
      // the session holds exactly the acknowledged chunks, or one more whose 202 was lost
      const status = await client.fetch(big.location);
      expect(status.status, `round ${i}: upload session after the crash`).toBe(204);
      const end = Number(/^0-(\d+)$/.exec(status.headers.get('range') ?? '')?.[1] ?? -1);
      // `0-0` is how an empty session reports itself; chunks are 8 MiB, so no 1-byte ambiguity
      const size = end === 0 ? 0 : end + 1;
      expect([big.acked, big.acked + big.inflight], `round ${i}: session size`).toContain(size);
      // resuming it proves the stored prefix is the right data: the digest is checked on PUT
      big.acked = size;
      big.inflight = 0;
      big.location = relative(status.headers.get('location')!, client);
      r.after = `resumed from ${size / MiB} MiB`;
      await resumeBig(client, big);
      await served('library/big', big.blob.digest, BIG);
    }

    console.log(
      `crash rounds (a commit of ${BIG / MiB} MiB took ${Math.round(commitMs)} ms):\n` +
        rounds
          .map((r, i) => `  #${i} kill at ${describeKill(KILLS[i]!)}: skopeo ${r.skopeo}; big ${r.atKill}, file ${r.onDisk ? 'present' : 'absent'}, after restart ${r.after}`)
          .join('\n'),
    );

    expect(await (await client.fetch('/v2/library/big/manifests/before', { headers: { accept: OCI_MANIFEST } })).text()).toBe(before.manifest!.body);
    await served('library/big', before.blob.digest, BIG);

    // 4. a fresh push of everything works, and the registry is healthy
    await runTool('skopeo', ['copy', '--dest-tls-verify=false', '--dest-creds', `admin:${server.password}`, images.ref('multilayer'), `docker://${server.host}/library/crash-final:1`]);
    const raw = await runTool('skopeo', ['inspect', '--raw', '--tls-verify=false', '--creds', `admin:${server.password}`, `docker://${server.host}/library/crash-final:1`]);
    expect(raw).toBe(multilayer.body.toString('utf8'));
    for (const d of multilayer.manifest.layers) await served('library/crash-final', d.digest, d.size);
    const fresh: BigPush = { blob: new BigBlob(), acked: 0, inflight: 0, blobCommitted: false, manifestCommitted: false };
    await pushBig(client, 'library/big', 'final', fresh);
    expect(await download(client, 'library/big', fresh.blob.digest)).toEqual({ status: 200, digest: fresh.blob.digest, size: BIG });
    const health = await client.fetch('/api/v2.0/health');
    expect(health.status).toBe(200);
    expect(((await health.json()) as { status: string }).status).toBe('healthy');

    const exit = await server.stop();
    expect(exit, server.output()).toEqual({ code: 0, signal: null });
    server = undefined;
  }, 600_000);

  /**
   * The commit of an upload puts the bytes at their content address (concatenation or rename,
   * which consumes the segments) and only then records the blob. SIGKILL between the two
   * leaves that exact state; random kills rarely land in the gap, so the test makes it: it
   * kills the server with an upload whose chunks are all acknowledged, then does to the data
   * folder what `concat` (many segments) and `move` (one segment) do before the record.
   */
  it('completes an upload that was killed after its bytes moved into place but before they were recorded', async () => {
    server = await startChildServer();
    dataDir = server.dataDir;
    dataDirs.add(dataDir);
    let client = new RegistryClient(server.url, server.adminBasic);
    const uploads = [new BigBlob(3 * CHUNK - 12345), new BigBlob(CHUNK / 2)].map((blob) => ({ blob, acked: 0, inflight: 0, blobCommitted: false, manifestCommitted: false }) as BigPush);
    for (const u of uploads) {
      await openUpload(client, 'library/gap', u);
      await sendChunks(client, u);
    }
    await server.kill();

    for (const u of uploads) {
      const uuid = u.location!.split('/').pop()!.split('?')[0]!;
      const dir = join(dataDir, 'uploads');
      const segments = (await readdir(dir)).filter((f) => f.startsWith(`${uuid}.`)).sort();
      expect(segments).toHaveLength(u.blob.chunks);
      const hex = u.blob.digest.slice(7);
      const dest = join(dataDir, 'blobs', 'sha256', hex.slice(0, 2), hex);
      await mkdir(dirname(dest), { recursive: true });
      if (segments.length === 1) {
        await rename(join(dir, segments[0]!), dest);
      } else {
        const tmp = `${dest}.tmp`;
        for (const seg of segments) await appendFile(tmp, await readFile(join(dir, seg)));
        await rename(tmp, dest);
        for (const seg of segments) await rm(join(dir, seg));
      }
    }

    server = await startChildServer({ dataDir });
    client = new RegistryClient(server.url, server.adminBasic);
    for (const u of uploads) {
      const head = await client.fetch(`/v2/library/gap/blobs/${u.blob.digest}`, { method: 'HEAD' });
      expect(head.status).toBe(404);
      const status = await client.fetch(u.location!);
      expect(status.status).toBe(204);
      expect(status.headers.get('range')).toBe(`0-${u.blob.size - 1}`);
      // the client retries its PUT, as it would after a lost answer
      await closeUpload(client, u);
      expect(await download(client, 'library/gap', u.blob.digest)).toEqual({ status: 200, digest: u.blob.digest, size: u.blob.size });
    }
    const exit = await server.stop();
    expect(exit, server.output()).toEqual({ code: 0, signal: null });
    server = undefined;
  });
});
